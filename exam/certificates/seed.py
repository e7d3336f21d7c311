"""Demo certificates: categories, holders from the paper register, and this year's applicants.

Holders issued before the platform are entered as they stand in the register (audited as an import). This
year's applicants go through the real gate: a qualification exam they sat, training they attended, the
bulletins they confirmed; some pass it and are issued, some fall short for each of the reasons.
"""

from __future__ import annotations

import random
from datetime import timedelta
from decimal import Decimal

from dateutil.relativedelta import relativedelta
from sqlalchemy import select

from exam.accounts.models import User
from exam.certificates import operations as ops
from exam.certificates.models import Certificate
from exam.core import audit
from exam.core.settings import setting
from exam.core.timeutil import local_today, utcnow
from exam.exams import operations as exam_ops
from exam.exams.seed import exam_data, sit
from exam.extensions import db
from exam.study import hours as study_hours
from exam.study import operations as study_ops

ZJ_POWER = "《中华人民共和国产品质量法》《中华人民共和国计量法》《中华人民共和国标准化法》等法律法规授权"
TS_POWER = "《中华人民共和国特种设备安全法》《特种设备安全监察条例》授权"


def _register_holder(user: User, category, issued_on, *, number: str, status: str = "valid",
                     reason: str | None = None, effective_on=None) -> Certificate:
    cert = Certificate(
        number=number, holder=user, category=category, enforcement_body=str(setting("CERT_ENFORCEMENT_BODY")),
        area=category.default_area, source_of_power=category.default_source_of_power, issued_on=issued_on,
        valid_until=issued_on + relativedelta(years=5) - relativedelta(days=1), status=status, status_reason=reason,
        status_effective_on=effective_on)
    db.session.add(cert)
    db.session.flush()
    audit.record("certificate.import", cert, after={"number": number, "holder": user.username, "status": status,
                                                    "source": "纸质台账"})
    return cert


def _train(users: list[User], hours: int, held_on, title: str) -> None:
    study_ops.create_training_session(
        study_ops.SessionData(title=title, held_on=held_on, hours=Decimal(hours), organiser="法规科"), users, by=None)


def _confirm_required(users: list[User], today) -> None:
    outstanding = study_hours.unconfirmed_required_bulletins([u.id for u in users], today)
    for user in users:
        for bulletin in outstanding.get(user.id, []):
            study_ops.confirm_bulletin(bulletin, user)


def seed(rng: random.Random) -> list[str]:
    today, now = local_today(), utcnow().replace(microsecond=0)
    zj = ops.ensure_category("质量技术监督", code="ZJ", area="本市行政区域", source_of_power=ZJ_POWER)
    ts = ops.ensure_category("特种设备安全监察", code="TS", area="本市行政区域", source_of_power=TS_POWER)
    staff = list(db.session.scalars(select(User).where(User.employment_status == "active", User.active.is_(True),
                                                       User.username.like("A%")).order_by(User.username)))
    rng.shuffle(staff)
    holders, applicants = staff[:20], staff[20:34]

    # Holders from the paper register: most valid, some due for renewal, one suspended, one revoked.
    for n, user in enumerate(holders, start=1):
        issued = today - relativedelta(years=rng.choice([1, 2, 3, 4])) - timedelta(days=rng.randint(0, 200))
        if n <= 4:  # renewal due: expiring within six months
            issued = today - relativedelta(years=5) + timedelta(days=rng.randint(20, 170))
        category = ts if n % 7 == 0 else zj
        status, reason, effective = "valid", None, None
        if n == 5:
            status, reason, effective = "suspended", "涉嫌违反执法程序,暂扣待查", today - timedelta(days=12)
        elif n == 6:
            status, reason, effective = "revoked", "违法实施行政处罚,依法吊销", today - relativedelta(months=8)
        _register_holder(user, category, issued, number=f"{category.code}{issued.year}9{n:04d}", status=status,
                         reason=reason, effective_on=effective)
    revoked_person = holders[5]

    # This year's qualification exam, held six weeks ago, sat by the applicants (and the revoked officer).
    legal = db.session.scalar(select(User).where(User.role_rows.any(role="legal")).limit(1))
    opens = now - timedelta(days=45)
    exam = exam_ops.create_exam(exam_data(f"{opens.year}年行政执法资格考试(公共法律知识)", "qualification", opens,
                                          opens + timedelta(days=2), certificate_category="质量技术监督",
                                          time_limit_minutes=90, max_attempts=2), legal)
    exam_ops.publish_exam(exam)
    sitters = [*applicants, revoked_person]
    for n, user in enumerate(sitters):
        start = opens + timedelta(hours=2, minutes=n)
        attempt = exam_ops.start_attempt(exam, user, now=start)
        skill = 0.35 if n in (10, 11) else 0.97  # two of them fail
        sit(attempt, rng, skill, start + timedelta(minutes=50))
    exam_ops.close_exam(exam)

    # Training and bulletins: most applicants complete them; two fall short on hours, one on bulletins.
    complete = applicants[:8]
    _train(complete + applicants[10:12] + [revoked_person], 40, today - timedelta(days=60), "行政执法人员岗前培训班")
    _train(applicants[8:9], 16, today - timedelta(days=50), "行政执法人员岗前培训班(补训)")
    _confirm_required(complete + applicants[8:10] + [revoked_person], today)

    # The gate: issue to the first five who pass it; the rest stay on the lists with their reasons.
    issued = []
    for user in complete[:5]:
        verdict = ops.check_eligibility([user], zj, today)[user.id]
        if verdict.eligible:
            issued.append(ops.issue_certificate(user, zj, issued_by=None, as_of=today))
    # someone seconded elsewhere is on HR's lists too, refused for not being employed on staff here
    away = db.session.scalar(select(User).where(User.employment_status == "seconded", User.username.like("A%"))
                             .order_by(User.username).limit(1))
    checked = [*sitters, *([away] if away else [])]
    verdicts = ops.check_eligibility(checked, zj, today)
    eligible_waiting = sum(1 for u in checked if verdicts[u.id].eligible)
    reasons = sorted({r.code for v in verdicts.values() for r in v.reasons})
    return [f"Certificates: {len(holders)} from the register (4 due for renewal, 1 suspended, 1 revoked), "
            f"{len(issued)} issued today through the gate, {eligible_waiting} more eligible to issue; "
            f"refusal reasons shown: {', '.join(reasons)}"]
