"""Exam statistics from SQL aggregates agree with counts made from the raw rows."""

from __future__ import annotations

import math

import pytest
from sqlalchemy import event

from exam.exams.models import Exam
from exam.extensions import db
from exam.reports import stats
from tests.reports import factories as rf
from tests.reports import raw
from tests.reports.conftest import build_scenario


def test_exam_figures_agree_with_a_count_from_raw_rows(app, scenario):
    with app.app_context():
        exam = db.session.get(Exam, scenario.exam_id)
        result = stats.exam_stats(exam)
        expected = raw.figures(exam)
        f = result.figures
        assert (f.assigned, f.took, f.passed) == (expected["assigned"], expected["took"], expected["passed"])
        assert (f.assigned, f.took, f.passed) == (6, 4, 3)  # a1 a2 a3 a4 a5 named; a1 a2 a3 named; a1 a2 named
        assert f.participation_rate == pytest.approx(expected["participation_rate"])
        assert f.pass_rate == pytest.approx(expected["pass_rate"])
        assert f.mean == pytest.approx(expected["mean"]) and f.mean == pytest.approx(7.0)  # 9, 8 (resit), 5, 6
        assert result.median == pytest.approx(expected["median"])
        assert f.stdev == pytest.approx(expected["stdev"])
        assert (f.highest, f.lowest) == (expected["highest"], expected["lowest"])
        assert sorted(p.id for p in result.absent) == expected["absent"]
        assert {p.id for p in result.absent} == {scenario.users["a4"], scenario.users["a5"]}
        assert [p.in_progress for p in result.absent if p.id == scenario.users["a5"]] == [True]
        assert sorted(p.id for p in result.outside) == expected["outside"]
        assert {p.id for p in result.outside} == {scenario.users["outsider"], scenario.users["retired"]}
        assert f.auto_submitted == 1 and f.resat == 1 and result.in_progress == 1


def test_bands_histogram_and_departments_come_from_the_counting_attempts(app, scenario):
    with app.app_context():
        exam = db.session.get(Exam, scenario.exam_id)
        result = stats.exam_stats(exam, with_items=False)
        counting = raw.counting(exam)
        assigned = raw.assigned_ids(exam)
        expected_bands = {}
        expected_bins = [0] * 10
        for uid, attempt in counting.items():
            if uid in assigned:
                expected_bands[attempt.band] = expected_bands.get(attempt.band, 0) + 1
                expected_bins[min(9, math.floor(10 * attempt.score / attempt.max_score))] += 1
        assert {name: n for name, n in result.bands if n} == expected_bands
        assert dict(result.bands) == {"优秀": 1, "良好": 1, "合格": 1, "不合格": 1}
        assert [n for _label, n in result.histogram] == expected_bins
        by_dept = {d.department: d for d in result.departments}
        assert by_dept["执法局 / 一科"].assigned == 3 and by_dept["执法局 / 一科"].took == 2
        assert by_dept["执法局 / 一科 / 一组"].assigned == 2 and by_dept["执法局 / 一科 / 一组"].passed == 1
        assert by_dept["执法局 / 二科"].assigned == 1 and by_dept["执法局 / 二科"].passed == 1
        assert sum(d.assigned for d in result.departments) == result.figures.assigned
        assert sum(d.took for d in result.departments) == result.figures.took


def test_the_last_attempt_counts_when_the_exam_says_so(app, make_user):
    scenario = build_scenario(make_user, app, counting="last")
    with app.app_context():
        exam = db.session.get(Exam, scenario.exam_id)
        f = stats.exam_figures(exam)
        expected = raw.figures(exam)
        assert f.passed == expected["passed"] == 3  # a2's last attempt (8) passes anyway
        assert f.mean == pytest.approx(expected["mean"])


def test_the_last_attempt_counts_even_when_worse(app, make_user):
    ids = [make_user(f"L{i}", department="执法局/三科").id for i in range(2)]
    with app.test_request_context(method="POST"):
        questions = rf.paper(rf.bank())
        exam = rf.exam(counting_attempt="last")
        rf.attempt(exam, ids[0], rf.answers_for(questions, 9), number=1)
        rf.attempt(exam, ids[0], rf.answers_for(questions, 3), number=2)
        db.session.commit()
        f = stats.exam_figures(exam)
        assert (f.took, f.passed, f.highest) == (1, 0, 3.0)
        exam.counting_attempt = "best"
        db.session.commit()
        f = stats.exam_figures(exam)
        assert (f.took, f.passed, f.highest) == (1, 1, 9.0)


def _statements(app, exam_id: int) -> int:
    count = {"n": 0}

    def _count(*_args, **_kwargs):
        count["n"] += 1

    with app.app_context():
        engine = db.engine
        event.listen(engine, "before_cursor_execute", _count)
        try:
            db.session.expire_all()
            exam = db.session.get(Exam, exam_id)
            stats.exam_stats(exam, with_items=True)
        finally:
            event.remove(engine, "before_cursor_execute", _count)
    return count["n"]


def test_statement_count_does_not_grow_with_attempts(app, make_user):
    ids = [make_user(f"P{i:03d}", department="执法局/四科").id for i in range(50)]
    with app.test_request_context(method="POST"):
        questions = rf.paper(rf.bank())
        small = rf.exam(title="十人考试")
        large = rf.exam(title="五十人考试")
        for i, uid in enumerate(ids):
            score = [3, 5, 6, 8, 10][i % 5]
            if i < 10:
                rf.attempt(small, uid, rf.answers_for(questions, score))
            rf.attempt(large, uid, rf.answers_for(questions, score))
        db.session.commit()
        small_id, large_id = small.id, large.id
    assert _statements(app, small_id) == _statements(app, large_id)
