"""The kept report aggregates: updated on every stored result, they equal a rebuild and a count from raw rows."""

from __future__ import annotations

import math

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select, update

from exam.accounts.models import User
from exam.exams import operations as ops
from exam.exams.models import Attempt, Exam
from exam.extensions import db
from exam.reports import item_stats
from exam.reports import stats as reports
from exam.reports.models import ExamItemStat, ExamResult
from question_bank.models import Question
from tests.reports import factories as rf
from tests.reports import raw

RESPONSES = {"single": ["A", "B", "C", None], "multiple": [["A", "C"], ["B"], ["A"], None],
             "true_false": [True, False, None]}


def _kept(exam_id: int):
    """The kept rows and item sums, the marked results' sums added first (``item_stats.fold``)."""
    item_stats.fold(db.session, exam_id)
    results = sorted(tuple(r) for r in db.session.execute(
        select(ExamResult.user_id, ExamResult.department_id, ExamResult.staff, ExamResult.attempts,
               ExamResult.auto, ExamResult.attempt_id, ExamResult.score, ExamResult.passed, ExamResult.band,
               ExamResult.bin).where(ExamResult.exam_id == exam_id)))
    items = {}  # (version, choice) -> its shards summed (exam.reports.item_stats.shards)
    for r in db.session.scalars(select(ExamItemStat).where(ExamItemStat.exam_id == exam_id)):
        values = (r.n, r.blank, r.awarded, r.points, r.position, r.sx, r.sy, r.sxy, r.sxx, r.syy)
        kept = items.get((r.question_version_id, r.choice))
        items[r.question_version_id, r.choice] = values if kept is None else tuple(
            min(a, b) if i == 4 else a + b for i, (a, b) in enumerate(zip(kept, values, strict=True)))
    return results, {key: values for key, values in items.items() if values[0] != 0}


def _same_sums(a: dict, b: dict) -> None:
    assert a.keys() == b.keys()
    for key in a:
        assert a[key][:5] == b[key][:5], key  # counts, points and position exactly
        for x, y in zip(a[key][5:], b[key][5:], strict=True):
            assert math.isclose(x, y, rel_tol=1e-9, abs_tol=1e-9), key


def _same_items(kept, counted) -> None:
    assert [(i.version_id, i.responses, i.unanswered, [(o.key, o.count) for o in i.options]) for i in kept] == \
           [(i.version_id, i.responses, i.unanswered, [(o.key, o.count) for o in i.options]) for i in counted]
    for a, b in zip(kept, counted, strict=True):
        for x, y in ((a.facility, b.facility), (a.discrimination, b.discrimination)):
            assert (x is None) == (y is None) and (x is None or math.isclose(x, y, abs_tol=1e-9))


step = st.tuples(st.integers(0, 3),  # who
                 st.sampled_from(["finish", "finish_at_deadline", "start", "regrade_counting", "move"]),
                 st.lists(st.integers(0, 3), min_size=8, max_size=8))  # responses per item


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(steps=st.lists(step, min_size=1, max_size=12), counting=st.sampled_from(["best", "last"]),
       built_first=st.booleans())
def test_kept_aggregates_equal_a_rebuild_and_a_count_from_raw_rows(app, make_user, steps, counting, built_first):
    """Random finishes, resits, deadline finishes, hand regrades of counted answers and people moving or
    leaving; on a new exam (its first finished attempt starts the aggregates) or one built by a rebuild."""
    people = [make_user(name=f"考生{i}", department="执法局/一科" if i % 2 else "执法局/二科").id for i in range(4)]
    make_user(name="无科室考生", department=None)  # never takes part: absent, outside every department
    with app.test_request_context(method="POST"):
        questions = getattr(app, "_report_paper", None)
        if questions is None:  # one question bank for all examples
            questions = app._report_paper = [q.id for q in rf.paper(rf.bank())]
            db.session.commit()
        papers = [db.session.get(Question, qid) for qid in questions]
        exam = rf.exam(counting_attempt=counting, max_attempts=20)
        if built_first:
            item_stats.rebuild([exam.id])
        db.session.commit()
        numbers = dict.fromkeys(people, 0)
        for who, action, picks in steps:
            user_id = people[who]
            if action == "move":  # another department and status: the trigger keeps the copies current
                db.session.execute(update(User).where(User.id == user_id).values(
                    department_id=db.session.get(User, people[(who + 1) % 4]).department_id,
                    employment_status="left" if picks[0] == 0 else "active"))
                db.session.commit()
                continue
            if action == "regrade_counting":
                counted = db.session.scalar(select(ExamResult.attempt_id).where(
                    ExamResult.exam_id == exam.id, ExamResult.user_id == user_id))
                if counted is not None:
                    attempt = db.session.get(Attempt, counted)
                    item = attempt.items[picks[1] % len(attempt.items)]
                    ops.grade_item(item, 0.0 if item.awarded else item.points, "复核", db.session.get(User, user_id))
                    db.session.commit()
                continue
            numbers[user_id] += 1
            answers = [(q, RESPONSES[q.type][p % len(RESPONSES[q.type])], None) for q, p in zip(papers, picks,
                                                                                               strict=True)]
            attempt = rf.attempt(exam, user_id, answers, number=numbers[user_id], status="in_progress")
            db.session.commit()
            if action != "start":
                ops.finish_attempt(db.session.get(Attempt, attempt.id), by="deadline" if action == "finish_at_deadline"
                                   else "examinee")
                db.session.commit()

        exam = db.session.get(Exam, exam.id)
        kept_stats = reports.exam_stats(exam)  # (the marked results' sums counted by the reader)
        _same_as_a_rebuild(exam.id)

        counted = reports.raw_exam_stats(exam)
        try:
            expected = raw.figures(exam)
        except (ZeroDivisionError, ValueError):  # nobody in the audience took it, or no graded score
            expected = {}
        for result in (kept_stats, counted):
            assert result.figures.as_dict() == pytest.approx(counted.figures.as_dict())
            for key, value in expected.items():
                if key in ("absent", "outside"):
                    assert sorted(p.id for p in getattr(result, key)) == value, key
                elif key == "median":
                    assert result.median == pytest.approx(value), key
                else:
                    assert getattr(result.figures, key) == pytest.approx(value), key
            assert result.bands == counted.bands and result.histogram == counted.histogram
            assert {p.id for p in result.absent} == {p.id for p in counted.absent}
            assert {p.id for p in result.outside} == {p.id for p in counted.outside}
            assert result.median == counted.median
        _same_items(kept_stats.items, counted.items)



def test_the_rebuild_command_builds_the_aggregates_the_report_then_reads(app, make_user):
    from tests.reports.conftest import build_scenario

    scenario = build_scenario(make_user, app)  # written past the hooks: no aggregates yet
    with app.app_context():
        exam = db.session.get(Exam, scenario.exam_id)
        assert not item_stats.is_fresh(db.session, exam)
        before = reports.exam_stats(exam)
    result = app.test_cli_runner().invoke(args=["reports", "rebuild-item-stats", "--exam", str(scenario.exam_id)])
    assert result.exit_code == 0 and "1 exam(s)" in result.output
    with app.app_context():
        exam = db.session.get(Exam, scenario.exam_id)
        assert item_stats.is_fresh(db.session, exam)
        after = reports.exam_stats(exam)
        assert after.figures.as_dict() == pytest.approx(before.figures.as_dict())
        assert (after.bands, after.histogram, after.median) == (before.bands, before.histogram, before.median)
        _same_items(after.items, before.items)


def test_a_person_moving_department_or_leaving_moves_them_in_the_report(app, make_user):
    from tests.reports.conftest import build_scenario, keep_aggregates

    scenario = build_scenario(make_user, app)
    keep_aggregates(app)
    with app.app_context():
        mover = db.session.get(User, scenario.users["a1"])
        outsider = db.session.get(User, scenario.users["outsider"])
        mover.employment_status = "left"  # no longer assigned: now outside the audience
        outsider.department_id = db.session.get(User, scenario.users["a2"]).department_id  # now in the audience
        db.session.commit()
        exam = db.session.get(Exam, scenario.exam_id)
        kept, counted = reports.exam_stats(exam), reports.raw_exam_stats(exam)
        assert item_stats.is_fresh(db.session, exam)
        assert scenario.users["a1"] in {p.id for p in kept.outside}
        assert scenario.users["outsider"] not in {p.id for p in kept.outside}
        assert kept.figures.as_dict() == pytest.approx(counted.figures.as_dict())
        assert [(d.department_id, d.took, d.passed) for d in kept.departments] == \
               [(d.department_id, d.took, d.passed) for d in counted.departments]


def test_the_aggregates_writes_are_compiled_once_per_database_and_refuse_a_missing_parameter(app, make_user):
    """SQLAlchemy does not cache INSERT ... ON CONFLICT: the finish's upserts are compiled once and reused (a
    finish recompiling them cost half a submit), and a call without one of its bound values is refused rather
    than run with NULL."""
    people = [make_user(name=f"考生{i}").id for i in range(3)]
    with app.app_context():
        postgresql = db.engine.dialect.name == "postgresql"
    # a person's first result: PostgreSQL writes the row, marked for its item sums to be added later
    writes = ({"result, marked": item_stats._upsert_results_pending} if postgresql else
              {"result": item_stats._upsert_result, "items": item_stats._add_attempt_items})
    for write in writes.values():
        write._compiled.clear()  # compiled again on first use
    with app.test_request_context(method="POST"):
        papers = rf.paper(rf.bank())
        exam = rf.exam()
        db.session.commit()
        seen = []
        for user_id in people:
            answers = [(q, RESPONSES[q.type][0], None) for q in papers]
            attempt = rf.attempt(exam, user_id, answers, number=1, status="in_progress")
            db.session.commit()
            ops.finish_attempt(db.session.get(Attempt, attempt.id), by="examinee")
            db.session.commit()
            seen.append({name: dict(write._compiled) for name, write in writes.items()})
        for name in writes:
            assert len(seen[0][name]) == 1, name  # compiled by the first finish, for this database
            assert all(s[name] == seen[0][name] for s in seen), name  # and the same compiled form every time
        assert len(_kept(exam.id)[0]) == len(people)  # every finish wrote its person's result row
        with pytest.raises(TypeError, match="user_id"):
            item_stats._upsert_result(db.session, exam_id=exam.id)
        db.session.rollback()


def test_sums_kept_before_the_shards_still_add_up_when_a_resit_takes_their_place(app, make_user):
    """Migration 0013 keeps the item sums written before the shards as shard 0; when a resit replaces the counted
    attempt, its answers are subtracted in the attempt's own shard, which may go negative: summed, the shards still
    equal a rebuild (only a shard whose count is 0 is removed)."""
    user_id = make_user(name="考生").id
    with app.test_request_context(method="POST"):
        count = item_stats.shards(db.engine.dialect.name)
        if count == 1:
            pytest.skip("one shard on this database (SQLite): nothing is kept in another")
        papers = rf.paper(rf.bank())
        exam = rf.exam(counting_attempt="last", max_attempts=5)
        db.session.commit()
        attempts = []
        for number in (1, 2):
            answers = [(q, RESPONSES[q.type][number % 2], None) for q in papers]
            attempt = rf.attempt(exam, user_id, answers, number=number, status="in_progress")
            db.session.commit()
            if number == 1:
                ops.finish_attempt(db.session.get(Attempt, attempt.id), by="examinee")
                item_stats.fold(db.session, exam.id)  # its sums kept (PostgreSQL marks a first result)
                db.session.commit()
                assert attempt.id % count != 0  # (else this test would not move anything)
                db.session.execute(update(ExamItemStat).where(ExamItemStat.exam_id == exam.id).values(shard=0))
                db.session.commit()  # as kept before the shards
            attempts.append(attempt.id)
        ops.finish_attempt(db.session.get(Attempt, attempts[1]), by="examinee")  # the last counts now
        db.session.commit()
        shards = db.session.scalars(select(ExamItemStat.shard).where(ExamItemStat.exam_id == exam.id,
                                                                     ExamItemStat.n < 0)).all()
        assert set(shards) == {attempts[0] % count}  # the first attempt subtracted in its own shard
        _same_as_a_rebuild(exam.id)


def _finish_first(exam, user_id, papers, pick: int = 0, number: int = 1) -> int:
    answers = [(q, RESPONSES[q.type][(pick + i) % len(RESPONSES[q.type])], None) for i, q in enumerate(papers)]
    attempt = rf.attempt(exam, user_id, answers, number=number, status="in_progress")
    db.session.commit()
    ops.finish_attempt(db.session.get(Attempt, attempt.id), by="examinee")
    db.session.commit()
    return attempt.id


def _same_as_a_rebuild(exam_id: int) -> None:
    """The kept rows and item sums (the marked results' added first) equal those a rebuild from the raw rows gives."""
    incremental = _kept(exam_id)
    item_stats.rebuild([exam_id])
    db.session.commit()
    rebuilt = _kept(exam_id)
    assert incremental[0] == rebuilt[0]
    _same_sums(incremental[1], rebuilt[1])


def _marking_exam(**exam):
    """A paper and an exam on a database that marks first results (PostgreSQL; the test is skipped on SQLite, which
    adds a first result's item sums with it), this process's count of marked results cleared."""
    if db.engine.dialect.name != "postgresql":
        pytest.skip("SQLite adds a first result's item sums with it: one writer at a time, one shard")
    papers = rf.paper(rf.bank())
    exam = rf.exam(**exam)
    db.session.commit()
    item_stats._marked.clear()
    return papers, exam


def _marked_count(exam_id: int) -> int:
    return len(db.session.scalars(select(ExamResult.user_id).where(ExamResult.exam_id == exam_id,
                                                                   ExamResult.sums_pending)).all())


def _kept_rows(exam_id: int) -> int:
    return len(db.session.scalars(select(ExamItemStat.n).where(ExamItemStat.exam_id == exam_id)).all())


def _reader_counts_the_answers(exam_id: int) -> None:
    exam = db.session.get(Exam, exam_id)
    assert item_stats.is_fresh(db.session, exam)
    _same_items(reports.item_analysis(exam), reports.raw_item_analysis(exam))


def test_first_results_on_postgresql_are_marked_and_their_item_sums_added_in_bulk(app, make_user, monkeypatch):
    """PostgreSQL: a person's first result marks its row instead of adding its answers to the item sums (the exam
    day's submits no longer update the sums one person at a time); every FOLD_EVERY marked first results the
    process adds the marked rows' sums at once. Meanwhile the report's item analysis counts the marked rows'
    answers beside the kept sums: always the same as a count from the raw rows."""
    people = [make_user(name=f"考生{i}").id for i in range(4)]
    monkeypatch.setattr(item_stats, "FOLD_EVERY", 3)
    with app.test_request_context(method="POST"):
        papers, exam = _marking_exam()
        for done, user_id in enumerate(people, start=1):
            _finish_first(exam, user_id, papers, pick=done)
            expected_marked = done % 3  # the third's transaction added the three marked rows' sums
            assert _marked_count(exam.id) == expected_marked, done
            assert (_kept_rows(exam.id) > 0) is (done >= 3), done
            _reader_counts_the_answers(exam.id)
        item_stats.fold(db.session, exam.id)  # the fourth's
        assert _marked_count(exam.id) == 0
        _same_as_a_rebuild(exam.id)


def test_a_resit_after_a_marked_first_result_counts_each_attempt_once(app, make_user):
    """The first attempt's row is marked (PostgreSQL) when the resit finishes and becomes the counted one: the
    marked sums are added first, then the first attempt's are moved out and the resit's in, as a rebuild gives."""
    user_id = make_user(name="考生").id
    other = make_user(name="考生乙").id
    with app.test_request_context(method="POST"):
        papers = rf.paper(rf.bank())
        exam = rf.exam(counting_attempt="last", max_attempts=3)
        db.session.commit()
        item_stats._marked.clear()
        _finish_first(exam, other, papers, pick=2)
        _finish_first(exam, user_id, papers, pick=0)
        _finish_first(exam, user_id, papers, pick=1, number=2)  # the resit: the last counts
        assert _marked_count(exam.id) == 0  # (PostgreSQL: added before the counted attempt moved)
        _reader_counts_the_answers(exam.id)
        _same_as_a_rebuild(exam.id)


def test_two_folds_at_once_add_each_marked_result_once(app, make_user):
    """Two transactions adding an exam's marked sums at the same time (two workers' submits, or a resit beside a
    fold): the second waits for the rows the first unmarks and skips them, so each answer is counted once."""
    import threading

    from sqlalchemy.orm import Session

    people = [make_user(name=f"考生{i}").id for i in range(3)]
    with app.test_request_context(method="POST"):
        papers, exam = _marking_exam()
        for i, user_id in enumerate(people):
            _finish_first(exam, user_id, papers, pick=i)
        assert _marked_count(exam.id) == len(people)
        first, second = Session(db.engine), Session(db.engine)
        try:
            item_stats.fold(first, exam.id)  # holds the marked rows until it commits
            folded = threading.Event()

            def fold_second():
                item_stats.fold(second, exam.id)
                second.commit()
                folded.set()

            thread = threading.Thread(target=fold_second)
            thread.start()
            assert not folded.wait(0.5)  # waiting for the first
            first.commit()
            thread.join(10)
            assert folded.is_set()
        finally:
            first.close()
            second.close()
        db.session.expire_all()
        assert _marked_count(exam.id) == 0
        answers = len(people) * len(papers)
        assert sum(db.session.scalars(select(ExamItemStat.n).where(ExamItemStat.exam_id == exam.id))) == answers
        _same_as_a_rebuild(exam.id)


def test_sums_subtracted_from_another_shard_than_the_fold_added_them_to_still_add_up(app, make_user, monkeypatch):
    """PostgreSQL: a fold puts a person's first attempt in one shard; another fold puts someone else's in the shard
    the first attempt's own id names; when a resit replaces the first attempt its sums are subtracted from that
    own shard. There a (version, choice) answered alike by both holds no answer but the other person's percentage
    less the first attempt's: the row is kept (deleting it at a count of nil would lose the other's sums)."""
    user_id = make_user(name="考生").id
    other = make_user(name="考生乙").id
    with app.test_request_context(method="POST"):
        papers, exam = _marking_exam(counting_attempt="last", max_attempts=2)
        first = _finish_first(exam, user_id, papers, pick=0)
        own = first % item_stats.SHARDS
        shards = iter([(own + 1) % item_stats.SHARDS, own])
        monkeypatch.setattr(item_stats, "_fold_shard", lambda: next(shards, 0))
        item_stats.fold(db.session, exam.id)  # the first attempt: into another shard than its own
        db.session.commit()
        _finish_first(exam, other, papers, pick=4)  # the same choices but for the true/false items
        _finish_first(exam, user_id, papers, pick=1, number=2)  # the resit: folds the other's into `own` first
        kept_rows = db.session.execute(select(ExamItemStat.n, ExamItemStat.sy).where(
            ExamItemStat.exam_id == exam.id, ExamItemStat.shard == own)).all()
        assert any(n == 0 and abs(sy) > 1e-9 for n, sy in kept_rows), kept_rows  # (what this test is about)
        _reader_counts_the_answers(exam.id)
        _same_as_a_rebuild(exam.id)
