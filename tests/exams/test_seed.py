from __future__ import annotations

from sqlalchemy import select

from exam.core.timeutil import utcnow
from exam.exams import operations as ops
from exam.exams.models import Attempt, Exam
from exam.extensions import db


def test_seed_demo_adds_a_finished_annual_exam_an_open_qualification_exam_and_a_practice_set(app):
    result = app.test_cli_runner().invoke(args=["seed-demo"])
    assert result.exit_code == 0, result.output
    with app.app_context():
        now = utcnow()
        all_exams = list(db.session.scalars(select(Exam).order_by(Exam.id)))
        assert {e.purpose for e in all_exams} == {"annual", "qualification", "practice"}
        # the open qualification exam of this seed (the certificates seed adds a past one too)
        exams = {e.purpose: e for e in all_exams if e.purpose != "qualification" or e.is_open_at(now)}
        assert exams["annual"].status == "closed"
        assert exams["qualification"].is_open_at(utcnow())
        assert exams["qualification"].certificate_category == "质量技术监督"
        assert exams["practice"].is_open_at(utcnow())
        counted = ops.counting_attempts(purpose="annual")
        assert len(counted) >= 30 and all(a.passed is not None and a.band for a in counted)
        assert {a.passed for a in counted} == {True, False}
        attempt = db.session.scalar(select(Attempt).limit(1))
        assert ops.rebuild_paper(attempt).matches
