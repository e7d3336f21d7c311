"""Demo study data: the eight bulletins of this year, training sessions, and reading records."""

from __future__ import annotations

import random
from datetime import date, datetime, timedelta
from decimal import Decimal

from sqlalchemy import select

from exam.accounts.models import Department, User
from exam.core.timeutil import local_today, to_utc_naive
from exam.extensions import db
from exam.study import operations as ops
from exam.study.audience import assigned_users
from exam.study.models import ReadReceipt
from question_bank.models import Law

LAWS = {
    "行政处罚法": ("中华人民共和国行政处罚法", date(2021, 7, 15)),
    "行政复议法": ("中华人民共和国行政复议法", date(2024, 1, 1)),
    "特种设备安全法": ("中华人民共和国特种设备安全法", date(2014, 1, 1)),
    "计量法": ("中华人民共和国计量法", date(1986, 7, 1)),
    "产品质量法": ("中华人民共和国产品质量法", date(1993, 9, 1)),
    "标准化法": ("中华人民共和国标准化法", date(2018, 1, 1)),
    "行政强制法": ("中华人民共和国行政强制法", date(2012, 1, 1)),
    "特种设备安全监察条例": ("特种设备安全监察条例", date(2003, 6, 1)),
}

# (title, summary, body in Markdown, laws, departments or None for everyone, hours)
BULLETINS = [
    (
        "新修订《行政处罚法》重点条文解读",
        "梳理新修订《行政处罚法》关于首违不罚、行政处罚时效和执法人员资格的规定,明确基层执法中的适用要点。",
        "## 一、首违不罚\n\n"
        "《行政处罚法》第三十三条规定:初次违法且危害后果轻微并及时改正的,**可以不予行政处罚**。"
        "执法人员应当对当事人进行教育,并在案卷中记录教育情况。\n\n"
        "## 二、执法人员资格\n\n"
        "第四十二条规定,行政处罚应当由具有行政执法资格的执法人员实施,执法人员不得少于两人。"
        "未取得行政执法证的人员不得单独从事执法活动。\n\n"
        "## 三、追责时效\n\n"
        "违法行为在二年内未被发现的,不再给予行政处罚;涉及公民生命健康安全、金融安全且有危害后果的,上述期限延长至五年。",
        ["行政处罚法"], None, Decimal("2"),
    ),
    (
        "《行政复议法》修订要点及应诉工作提示",
        "新《行政复议法》扩大了复议范围,强化了复议前置,本期介绍复议案件办理流程和应诉材料准备要求。",
        "## 修订背景\n\n2023年修订的《行政复议法》自2024年1月1日起施行,行政复议作为化解行政争议的主渠道作用进一步凸显。\n\n"
        "## 对我局执法工作的影响\n\n"
        "1. 对当场作出的行政处罚决定不服的,应当先申请行政复议;\n"
        "2. 被申请人应当自收到复议申请书副本之日起十日内提出书面答复,并提交作出行政行为的证据、依据;\n"
        "3. 复议机关可以组织听证,承办科室应当指派熟悉案情的执法人员参加。\n\n"
        "各科室应当规范案卷归档,确保复议答复期限内材料齐全。",
        ["行政复议法"], None, Decimal("2"),
    ),
    (
        "电梯安全监管重点及典型案例分析",
        "结合近期电梯困人事故,解读《特种设备安全法》关于电梯使用单位、维保单位的法定义务和监督检查要点。",
        "## 电梯安全主体责任\n\n"
        "《特种设备安全法》第四十五条规定,电梯的维护保养应当由电梯制造单位或者依法取得许可的安装、改造、修理单位进行。"
        "电梯使用单位应当对电梯安全负责,设置特种设备安全管理机构或者配备安全管理人员。\n\n"
        "## 典型案例\n\n"
        "某小区电梯维保单位未按照安全技术规范的要求每十五日进行一次清洁、润滑、调整和检查,"
        "导致电梯困人。执法人员依据第八十八条对维保单位作出罚款决定。\n\n"
        "## 监督检查要点\n\n"
        "- 电梯是否在检验合格有效期内使用;\n- 维保记录是否真实完整;\n- 应急救援电话是否畅通。",
        ["特种设备安全法", "特种设备安全监察条例"], ["特种设备安全监察科", "东城分局", "西城分局"], Decimal("3"),
    ),
    (
        "《计量法》与民生计量监督检查",
        "围绕集贸市场、加油站、眼镜店等民生领域,介绍强制检定计量器具的监督检查和违法行为处理。",
        "## 强制检定\n\n"
        "《计量法》第九条规定,用于贸易结算、安全防护、医疗卫生、环境监测方面的列入强制检定目录的工作计量器具,实行强制检定。"
        "未按照规定申请检定或者检定不合格继续使用的,责令停止使用,可以并处罚款。\n\n"
        "## 检查方法\n\n"
        "检查集贸市场电子计价秤时,应当核对检定合格标志和检定证书,必要时使用标准砝码进行现场核查,并制作现场笔录。",
        ["计量法"], None, Decimal("1.5"),
    ),
    (
        "产品质量监督抽查与不合格产品后处理",
        "介绍《产品质量法》规定的监督抽查制度、抽样程序和不合格产品后处理工作规范。",
        "## 监督抽查制度\n\n"
        "《产品质量法》第十五条规定,国家对产品质量实行以抽查为主要方式的监督检查制度。"
        "监督抽查所需检验费用按照国务院规定列支,不得向被检查人收取。\n\n"
        "## 后处理\n\n"
        "对抽查不合格的生产者、销售者,责令其限期改正;逾期不改正的,予以公告;公告后经复查仍不合格的,责令停业,限期整顿。",
        ["产品质量法"], None, Decimal("1.5"),
    ),
    (
        "行政强制措施的实施程序",
        "查封、扣押是市场监管执法中常用的行政强制措施,本期梳理《行政强制法》规定的实施程序和期限。",
        "## 实施程序\n\n"
        "《行政强制法》第十八条规定,实施行政强制措施应当遵守下列规定:实施前须向行政机关负责人报告并经批准;"
        "由两名以上行政执法人员实施;出示执法身份证件;通知当事人到场;当场告知当事人采取行政强制措施的理由、依据以及当事人依法享有的权利、救济途径。\n\n"
        "## 期限\n\n查封、扣押的期限不得超过三十日;情况复杂的,经行政机关负责人批准,可以延长,但是延长期限不得超过三十日。",
        ["行政强制法"], None, Decimal("2"),
    ),
    (
        "《标准化法》与企业标准自我声明公开",
        "介绍企业标准自我声明公开和监督制度,以及对企业执行标准情况的监督检查。",
        "## 自我声明公开\n\n"
        "《标准化法》第二十七条规定,国家实行团体标准、企业标准自我声明公开和监督制度。"
        "企业应当公开其执行的强制性标准、推荐性标准、团体标准或者企业标准的编号和名称。\n\n"
        "## 监督检查\n\n执法人员在检查中发现企业生产的产品不符合其公开标准的技术要求的,依法承担民事责任并由市场监管部门责令改正。",
        ["标准化法"], None, Decimal("1"),
    ),
    (
        "执法文书制作规范与案卷评查常见问题",
        "总结年度案卷评查中发现的文书制作问题,对立案、调查取证、告知、决定等环节提出规范要求。",
        "## 常见问题\n\n"
        "1. 现场笔录未记载检查时间、地点,当事人拒绝签字时未注明原因;\n"
        "2. 行政处罚告知书未告知当事人陈述、申辩和要求听证的权利;\n"
        "3. 处罚决定书引用法律条文不完整,未写明具体条、款、项。\n\n"
        "## 规范要求\n\n各执法科室应当对照《行政处罚法》和市局执法文书格式范本,逐项自查,并于年底前完成整改。",
        ["行政处罚法"], None, Decimal("2"),
    ),
]

ISSUE_MONTHS = [1, 2, 3, 5, 6, 8, 9, 11]

SESSIONS = [
    ("全市市场监管系统行政执法人员培训班", "session", 3, 8, "市局法规科"),
    ("特种设备安全监察业务培训", "session", 6, 6, "特种设备安全监察科"),
    ("行政复议与行政诉讼应诉专题讲座", "lecture", 9, 3, "市司法局"),
    ("计量执法实务讲座", "lecture", 10, 2, "计量科"),
]


def _law(short: str) -> Law:
    name, effective = LAWS[short]
    law = db.session.scalar(select(Law).where(Law.name == name))
    if law is None:
        law = Law(name=name, short_name=short, effective_on=effective)
        db.session.add(law)
        db.session.flush()
    return law


def _local_moment(day: date, rng: random.Random) -> datetime:
    return to_utc_naive(datetime(day.year, day.month, day.day, rng.randint(8, 17), rng.randint(0, 59)))


def seed(rng: random.Random) -> list[str]:
    today = local_today()
    year = today.year
    departments = {d.name: d for d in db.session.scalars(select(Department))}
    published = []
    for number, (title, summary, body, law_names, dept_names, hours) in enumerate(BULLETINS, start=1):
        month = ISSUE_MONTHS[number - 1]
        issued_on = min(date(year, month, 5), today)
        chosen = [departments[n] for n in (dept_names or []) if n in departments]
        bulletin = ops.create_bulletin(
            ops.BulletinData(
                year=year, number=number, title=title, summary=summary, body_source=body, body_format="markdown",
                laws=[_law(n) for n in law_names], audience="departments" if chosen else "all",
                departments=chosen, required_by=issued_on + timedelta(days=30), hours=hours,
            ),
            by=None,
        )
        ops.publish_bulletin(bulletin)
        bulletin.published_at = _local_moment(issued_on, rng)
        published.append((bulletin, issued_on))

    staff = db.session.scalars(select(User).where(User.employment_status.in_(("active", "seconded")))).all()
    receipts = 0
    for bulletin, issued_on in published:
        for user in assigned_users(bulletin):
            if rng.random() > 0.7 or issued_on >= today:
                continue
            opened = issued_on + timedelta(days=rng.randint(0, 20))
            opened = min(opened, today)
            receipt = ReadReceipt(user_id=user.id, bulletin_id=bulletin.id,
                                  first_opened_at=_local_moment(opened, rng), hours_credited=Decimal("0"))
            if rng.random() < 0.8:
                receipt.confirmed_at = receipt.first_opened_at + timedelta(minutes=rng.randint(10, 90))
                receipt.hours_credited = bulletin.hours
            db.session.add(receipt)
            receipts += 1

    sessions = 0
    for title, kind, month, hours, organiser in SESSIONS:
        held_on = date(year, month, 18)
        if held_on > today:
            continue
        attendees = rng.sample(list(staff), k=min(len(staff), rng.randint(12, 30)))
        ops.create_training_session(
            ops.SessionData(title=title, kind=kind, held_on=held_on, hours=Decimal(hours), organiser=organiser),
            attendees, by=None,
        )
        sessions += 1
    db.session.flush()
    return [f"Study: {len(published)} bulletins of {year}, {sessions} training sessions, {receipts} reading records"]
