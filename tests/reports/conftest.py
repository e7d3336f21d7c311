"""A finished exam with every case the report must handle (see ``scenario``)."""

from __future__ import annotations

from dataclasses import dataclass, field

import pytest

from exam.extensions import db
from tests.reports import factories as rf


@dataclass
class Scenario:
    exam_id: int
    users: dict[str, int] = field(default_factory=dict)


def build_scenario(make_user, app, *, counting: str = "best", title: str = "2026年度学法考试") -> Scenario:
    """Audience: 执法局/一科 (with its sub-department 一组) plus the named person ``named`` of 二科.

    a1 passes (9); a2 resits (4 then 8); a3 is auto-submitted at the deadline (5, fails); a4 never starts;
    a5 is still in progress; gone (left the bureau, in 一科) is not assigned and did not take it; named (二科) passes
    with 6; outsider (二科, not named) took it (7); retired (一科, retired) took it (10) — both outside the audience.
    """
    specs = {
        "a1": ("执法局/一科", "active"), "a2": ("执法局/一科/一组", "active"), "a3": ("执法局/一科", "seconded"),
        "a4": ("执法局/一科/一组", "active"), "a5": ("执法局/一科", "active"), "gone": ("执法局/一科", "left"),
        "named": ("执法局/二科", "active"), "outsider": ("执法局/二科", "active"),
        "retired": ("执法局/一科", "retired"),
    }
    users = {key: make_user(f"{title[:4]}{key}", name=f"姓名{key}", department=dept, employment_status=status).id
             for key, (dept, status) in specs.items()}
    with app.test_request_context(method="POST"):
        questions = rf.paper(rf.bank())
        exam = rf.exam(title=title, counting_attempt=counting,
                       audience={"everyone": False, "departments": ["执法局/一科"],
                                 "users": [f"{title[:4]}named"]})
        rf.attempt(exam, users["a1"], rf.answers_for(questions, 9))
        rf.attempt(exam, users["a2"], rf.answers_for(questions, 4), number=1)
        rf.attempt(exam, users["a2"], rf.answers_for(questions, 8), number=2)
        rf.attempt(exam, users["a3"], rf.answers_for(questions, 5), status="expired", finished_by="deadline")
        rf.attempt(exam, users["a5"], rf.answers_for(questions, 3), status="in_progress")
        rf.attempt(exam, users["named"], rf.answers_for(questions, 6))
        rf.attempt(exam, users["outsider"], rf.answers_for(questions, 7))
        rf.attempt(exam, users["retired"], rf.answers_for(questions, 10))
        db.session.commit()
        return Scenario(exam.id, users)


def keep_aggregates(app) -> None:
    """Build the kept report aggregates (as the migration's backfill and the CLI do): reports then read them."""
    from exam.reports.item_stats import rebuild

    with app.app_context():
        rebuild()
        db.session.commit()


@pytest.fixture(params=["raw rows", "kept aggregates"])
def scenario(request, app, make_user) -> Scenario:
    """The scenario, reported once from the raw rows and once from the kept aggregates."""
    built = build_scenario(make_user, app)
    if request.param == "kept aggregates":
        keep_aggregates(app)
    return built
