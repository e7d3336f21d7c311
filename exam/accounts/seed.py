"""Demo bureau: a department tree, about sixty staff with Chinese names, one account per role."""

from __future__ import annotations

import random

from exam.accounts import operations as ops
from exam.accounts.models import Department
from exam.extensions import db

BUREAU = "市质量技术监督局"
DIVISIONS = [
    ("办公室", "BGS"), ("法规科", "FGK"), ("稽查科", "JCK"), ("特种设备安全监察科", "TZSB"), ("计量科", "JLK"),
    ("质量科", "ZLK"), ("标准化科", "BZH"), ("人事科", "RSK"),
]
BRANCHES = [("东城分局", "DC", ["综合股", "执法一队"]), ("西城分局", "XC", ["综合股", "执法二队"])]
SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘蔡蒋余杜叶程苏魏吕丁"
GIVEN = ["伟", "芳", "娜", "敏", "静", "丽", "强", "磊", "军", "洋", "勇", "艳", "杰", "娟", "涛", "明", "超", "秀英",
         "霞", "平", "刚", "桂英", "建华", "志强", "晓东", "海燕", "丽华", "国平", "文杰", "子涵", "俊杰", "嘉怡",
         "思远", "雨桐", "浩然", "晓明", "建国", "春梅", "志明", "永红"]
POSTS = ["科员", "科员", "科员", "副主任科员", "主任科员", "四级主办", "三级主办", "副科长", "科长"]
ROLE_ACCOUNTS = [
    ("admin", "系统管理员", "办公室", {"admin"}),
    ("legal01", "周法明", "法规科", {"legal"}),
    ("hr01", "吴人杰", "人事科", {"hr"}),
    ("staff01", "陈执法", "稽查科", set()),
]


def seed(rng: random.Random) -> list[str]:
    root = Department(name=BUREAU, code="SJ", sort_order=0)
    db.session.add(root)
    units: list[Department] = []
    for order, (name, code) in enumerate(DIVISIONS, start=1):
        dept = Department(name=name, code=code, parent=root, sort_order=order)
        units.append(dept)
    for order, (name, code, children) in enumerate(BRANCHES, start=20):
        branch = Department(name=name, code=code, parent=root, sort_order=order)
        for n, child in enumerate(children, start=1):
            units.append(Department(name=child, code=f"{code}{n}", parent=branch, sort_order=n))
    db.session.add_all(units)
    db.session.flush()
    by_name = {d.name: d for d in units}

    lines = ["Demo accounts (passwords are shown only now):"]
    for username, name, dept, roles in ROLE_ACCOUNTS:
        password = ops.generate_password()
        ops.create_user(
            ops.UserData(username=username, name=name, department=by_name[dept], post="科员", roles=roles),
            password=password,
            must_change=False,
        )
        lines.append(f"  {username:<10} {password}   {name} ({', '.join(sorted(roles)) or 'examinee'})")

    enforcement_units = [d for d in units if d.name not in {"办公室", "人事科"}]
    used: set[str] = {r[1] for r in ROLE_ACCOUNTS}
    statuses = ["active"] * 52 + ["seconded"] * 3 + ["left"] * 2 + ["retired"] * 2
    for number, status in enumerate(statuses, start=1):
        while True:
            name = rng.choice(SURNAMES) + rng.choice(GIVEN)
            if name not in used:
                used.add(name)
                break
        post = rng.choice(POSTS)
        ops.create_user(
            ops.UserData(
                username=f"A{number:04d}",
                name=name,
                department=rng.choice(enforcement_units),
                post=post,
                employment_status=status,
                is_leader=post in {"副科长", "科长"},
            ),
            password=ops.generate_password(),
            must_change=True,
        )
    lines.append(f"  and {len(statuses)} staff A0001–A{len(statuses):04d} (HR can reset their passwords)")
    return lines
