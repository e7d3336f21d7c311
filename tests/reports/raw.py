"""Expected figures counted directly from the raw rows, in plain Python, independently of exam.reports."""

from __future__ import annotations

import statistics

from sqlalchemy import select

from exam.accounts.models import Department, User
from exam.exams.models import Attempt, Exam, exam_departments, exam_users
from exam.extensions import db


def _subtree(root_ids: set[int]) -> set[int]:
    departments = db.session.scalars(select(Department)).all()
    result = set(root_ids)
    changed = True
    while changed:
        changed = False
        for d in departments:
            if d.parent_id in result and d.id not in result:
                result.add(d.id)
                changed = True
    return result


def assigned_ids(exam: Exam) -> set[int]:
    staff = [u for u in db.session.scalars(select(User)) if u.active and u.employment_status in ("active", "seconded")]
    if exam.audience_everyone:
        return {u.id for u in staff}
    depts = _subtree({r.department_id for r in db.session.execute(
        select(exam_departments).where(exam_departments.c.exam_id == exam.id))})
    named = {r.user_id for r in db.session.execute(select(exam_users).where(exam_users.c.exam_id == exam.id))}
    return {u.id for u in staff if u.department_id in depts or u.id in named}


def counting(exam: Exam) -> dict[int, Attempt]:
    by_user: dict[int, list[Attempt]] = {}
    for a in db.session.scalars(select(Attempt).where(Attempt.exam_id == exam.id)):
        if a.status != "in_progress" and a.passed is not None:
            by_user.setdefault(a.user_id, []).append(a)
    if exam.counting_attempt == "best":
        return {u: max(items, key=lambda a: (a.score, a.number)) for u, items in by_user.items()}
    return {u: max(items, key=lambda a: a.number) for u, items in by_user.items()}


def figures(exam: Exam) -> dict:
    assigned = assigned_ids(exam)
    finished = {a.user_id for a in db.session.scalars(select(Attempt).where(Attempt.exam_id == exam.id))
                if a.status != "in_progress"}
    count = counting(exam)
    took = assigned & finished
    scores = [count[u].score for u in took if u in count]
    passed = [u for u in took if u in count and count[u].passed]
    return {
        "assigned": len(assigned), "took": len(took), "passed": len(passed),
        "absent": sorted(assigned - finished), "outside": sorted(finished - assigned),
        "participation_rate": len(took) / len(assigned), "pass_rate": len(passed) / len(took),
        "mean": statistics.fmean(scores), "median": statistics.median(scores), "stdev": statistics.pstdev(scores),
        "highest": max(scores), "lowest": min(scores),
    }
