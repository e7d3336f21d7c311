from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from exam.accounts.models import User
from exam.core.audit import AuditLog
from exam.core.errors import Conflict, NotFound
from exam.core.timeutil import utcnow
from exam.exams import drawing
from exam.exams import operations as ops
from exam.exams.models import Attempt, AttemptItem
from exam.extensions import db
from question_bank.models import Law
from tests.exams import factories as f


def _user(make_user, *args, **kwargs) -> User:
    db.session.commit()  # make_user writes in its own session
    return db.session.get(User, make_user(*args, **kwargs).id)


def _answer_key(attempt: Attempt) -> dict[int, object]:
    """The correct response for each position, in displayed keys (what a perfect examinee sends)."""
    result = {}
    for item in ops.items_with_versions(attempt):
        answer = item.version.answer
        if item.version.type in ("single", "multiple"):
            answer = ops.to_displayed(item, answer)
        elif item.version.type == "fill_blank":
            answer = [blank[0] for blank in answer]
        elif item.version.type == "case_analysis":
            answer = "我的分析"
        result[item.position] = answer
    return result


def test_the_same_seed_draws_the_same_paper_and_rebuild_matches(ctx, make_user):
    f.standard_bank()
    exam = f.published_exam()
    user = _user(make_user)
    attempt = ops.start_attempt(exam, user)
    db.session.commit()
    day = utcnow().date()
    one, _ = ops.draw_paper(exam, attempt.seed, set(), day)
    two, _ = ops.draw_paper(exam, attempt.seed, set(), day)
    assert [(i.question_id, i.option_order) for i in one] == [(i.question_id, i.option_order) for i in two]
    result = ops.rebuild_paper(attempt)
    assert result.matches, result.differences
    other, _ = ops.draw_paper(exam, attempt.seed + 1, set(), day)
    assert [i.question_id for i in other] != [i.question_id for i in one] or \
        [i.option_order for i in other] != [i.option_order for i in one]


def test_rebuild_reports_a_tampered_paper(ctx, make_user):
    f.standard_bank()
    exam = f.published_exam()
    attempt = ops.start_attempt(exam, _user(make_user))
    db.session.commit()
    item = attempt.items[0]
    item.option_order = list(reversed(item.option_order))
    db.session.commit()
    result = ops.rebuild_paper(attempt)
    assert not result.matches and "item 1" in result.differences[0]


def test_paper_has_section_counts_points_and_no_repeats(ctx, make_user):
    f.standard_bank()
    exam = f.published_exam()
    attempt = ops.start_attempt(exam, _user(make_user))
    items = ops.items_with_versions(attempt)
    types = [i.version.type for i in items]
    assert types == ["single"] * 4 + ["multiple"] * 2 + ["true_false"] * 2
    assert len({i.question_id for i in items}) == len(items)
    assert attempt.max_score == 4 * 1 + 2 * 2 + 2 * 1
    assert [i.position for i in items] == list(range(1, 9))
    for item in items:
        if item.version.type in ("single", "multiple"):
            assert sorted(item.option_order) == ["A", "B", "C", "D"]


def test_second_attempt_prefers_questions_not_seen_before(ctx, make_user):
    f.standard_bank(single=8, multiple=4, true_false=4)
    exam = f.published_exam()
    user = _user(make_user)
    first = ops.start_attempt(exam, user)
    ops.finish_attempt(first)
    second = ops.start_attempt(exam, user)
    assert second.number == 2
    assert not {i.question_id for i in first.items} & {i.question_id for i in second.items}


def test_drawing_skips_draft_retired_review_and_amended_law_questions_and_includes_subcategories(ctx):
    root = f.category("公共法律知识")
    sub = f.category("行政处罚法", parent=root)
    amended = Law(name="旧法", amended_on=utcnow().date() - timedelta(days=1))
    future = Law(name="新修法", amended_on=utcnow().date() + timedelta(days=30))
    db.session.add_all([amended, future])
    good = [f.question("single", cat=sub), f.question("single", cat=root), f.question("single", cat=sub, law=future)]
    f.question("single", cat=sub, status="draft")
    f.question("single", cat=sub, status="retired")
    f.question("single", cat=sub, needs_review=True)
    f.question("single", cat=sub, law=amended)
    f.question("single", cat=f.category("其他"))
    f.question("multiple", cat=sub)
    pool = drawing.drawable_ids("single", drawing.resolve_filters({"categories": ["公共法律知识"]}), utcnow().date())
    assert pool == sorted(q.id for q in good)


def test_publish_names_each_short_section_and_by_how_much(ctx):
    f.standard_bank(single=3, multiple=4, true_false=1)
    exam = ops.create_exam(f.exam_data(), None)
    with pytest.raises(ops.ExamError) as caught:
        ops.publish_exam(exam)
    details = {d["title"]: d["short_by"] for d in caught.value.details}
    assert details == {"单项选择题": 1, "判断题": 1}
    assert exam.status == "draft"


def test_a_published_blueprint_is_frozen(ctx):
    f.standard_bank()
    exam = f.published_exam()
    with pytest.raises(Conflict):
        ops.update_exam(exam, f.exam_data(title="改名"))


def test_deadline_is_start_plus_limit_capped_by_window_close(ctx):
    f.standard_bank()
    exam = f.published_exam()
    start = utcnow()
    assert ops.deadline_for(exam, start) == start + timedelta(minutes=60)
    exam.closes_at = start + timedelta(minutes=30)
    assert ops.deadline_for(exam, start) == exam.closes_at
    assert ops.deadline_for(exam, start, extra_seconds=600) == exam.closes_at


def test_extra_time_moves_the_deadline_and_is_audited(ctx, make_user):
    f.standard_bank()
    exam = f.published_exam()
    attempt = ops.start_attempt(exam, _user(make_user))
    before = attempt.deadline
    ops.grant_extra_time(attempt, 15)
    assert attempt.deadline == before + timedelta(minutes=15)
    assert db.session.scalar(select(AuditLog).where(AuditLog.action == "attempt.extra_time"))


def test_start_is_refused_before_and_after_the_window_and_beyond_attempts(ctx, make_user):
    f.standard_bank()
    exam = f.published_exam(max_attempts=1)
    user = _user(make_user)
    with pytest.raises(ops.ExamError) as caught:
        ops.start_attempt(exam, user, now=exam.opens_at - timedelta(minutes=1))
    assert caught.value.code == "not_open_yet"
    with pytest.raises(ops.ExamError) as caught:
        ops.start_attempt(exam, user, now=exam.closes_at)
    assert caught.value.code == "closed"
    attempt = ops.start_attempt(exam, user)
    assert ops.start_attempt(exam, user) is attempt  # resume
    ops.finish_attempt(attempt)
    with pytest.raises(ops.ExamError) as caught:
        ops.start_attempt(exam, user)
    assert caught.value.code == "no_attempts_left"


def test_audience_by_department_includes_sub_departments_and_named_users(ctx, make_user):
    f.standard_bank()
    inside = _user(make_user, department="市局/稽查科/一队")
    named = _user(make_user, department="办公室")
    outside = _user(make_user, department="人事科")
    exam = f.published_exam(audience={"everyone": False, "departments": ["市局/稽查科"], "users": [named.username]})
    assert ops.in_audience(exam, inside) and ops.in_audience(exam, named)
    assert not ops.in_audience(exam, outside)
    with pytest.raises(ops.ExamError) as caught:
        ops.start_attempt(exam, outside)
    assert caught.value.code == "not_in_audience"


def test_full_marks_grade_every_objective_type(ctx, make_user):
    cat = f.category("公共法律知识")
    f.bank(cat, single=1, multiple=1, true_false=1, fill_blank=1)
    sections = [{"title": t, "type": t, "count": 1, "points": 2, "categories": ["公共法律知识"]}
                for t in ("single", "multiple", "true_false", "fill_blank")]
    exam = f.published_exam(sections=sections, pass_mark=6)
    attempt = ops.start_attempt(exam, _user(make_user))
    for position, answer in _answer_key(attempt).items():
        ops.save_response(attempt, position, answer, seq=1)
    ops.finish_attempt(attempt)
    assert (attempt.score, attempt.max_score, attempt.passed, attempt.band) == (8, 8, True, "优秀")
    assert all(i.awarded == 2 for i in attempt.items)


def test_wrong_answers_score_zero_and_fail(ctx, make_user):
    cat = f.category("公共法律知识")
    f.bank(cat, single=1, true_false=1)
    sections = [{"title": t, "type": t, "count": 1, "points": 5, "categories": ["公共法律知识"]}
                for t in ("single", "true_false")]
    exam = f.published_exam(sections=sections, pass_mark=6)
    attempt = ops.start_attempt(exam, _user(make_user))
    key = _answer_key(attempt)
    ops.save_response(attempt, 1, key[1], seq=1)
    ops.save_response(attempt, 2, not key[2], seq=1)
    ops.finish_attempt(attempt)
    assert (attempt.score, attempt.passed, attempt.band) == (5, False, "不合格")


def test_partial_credit_for_multiple_choice_when_the_exam_says_so(ctx, make_user):
    cat = f.category("公共法律知识")
    f.question("multiple", cat=cat, answer=["A", "B", "C"])
    sections = [{"title": "多选", "type": "multiple", "count": 1, "points": 3, "categories": ["公共法律知识"]}]
    exam = f.published_exam(sections=sections, pass_mark=1, multiple_scoring="partial")
    attempt = ops.start_attempt(exam, _user(make_user))
    item = ops.items_with_versions(attempt)[0]
    ops.save_response(attempt, 1, ops.to_displayed(item, ["A"]), seq=1)
    ops.finish_attempt(attempt)
    assert attempt.score == 1 and attempt.passed is True


def test_case_analysis_waits_for_a_hand_grade_before_the_result_is_final(ctx, make_user):
    cat = f.category("公共法律知识")
    f.bank(cat, single=1, case_analysis=1)
    sections = [{"title": "单选", "type": "single", "count": 1, "points": 2, "categories": ["公共法律知识"]},
                {"title": "案例", "type": "case_analysis", "count": 1, "points": 10, "categories": ["公共法律知识"]}]
    exam = f.published_exam(sections=sections, pass_mark=7)
    grader = _user(make_user, roles=["legal"])
    attempt = ops.start_attempt(exam, _user(make_user))
    for position, answer in _answer_key(attempt).items():
        ops.save_response(attempt, position, answer, seq=1)
    ops.finish_attempt(attempt)
    assert attempt.score == 2 and attempt.passed is None and attempt.band is None
    queue = ops.grading_queue(exam)
    assert [i.position for i in queue] == [2]
    with pytest.raises(ops.ExamError):
        ops.grade_item(queue[0], 11, "", grader)
    ops.grade_item(queue[0], 6, "要点基本正确", grader)
    assert attempt.score == 8 and attempt.passed is True and attempt.band == "合格"
    assert ops.grading_queue(exam) == []
    assert db.session.scalar(select(AuditLog).where(AuditLog.action == "attempt.grade"))


def test_a_stale_seq_does_not_overwrite_a_newer_answer(ctx, make_user):
    f.standard_bank()
    attempt = ops.start_attempt(f.published_exam(), _user(make_user))
    assert ops.save_response(attempt, 1, "B", seq=5).saved
    result = ops.save_response(attempt, 1, "C", seq=4)
    assert not result.saved and result.seq == 5
    item = ops.items_with_versions(attempt)[0]
    db.session.refresh(item)
    assert ops.to_displayed(item, item.response) == "B"


def test_bad_saves_are_refused_and_store_nothing(ctx, make_user):
    f.standard_bank()
    attempt = ops.start_attempt(f.published_exam(), _user(make_user))
    with pytest.raises(NotFound):
        ops.save_response(attempt, 99, "A", seq=1)
    with pytest.raises(ops.ExamError):
        ops.save_response(attempt, 1, "Z", seq=1)
    with pytest.raises(ops.ExamError):
        ops.save_response(attempt, 1, ["A"], seq=1)  # a list for a single choice
    with pytest.raises(ops.ExamError):
        ops.save_response(attempt, 5, ["A"] * 10_000, seq=1)
    with pytest.raises(ops.ExamError):
        ops.save_response(attempt, 7, "true", seq=1)
    assert all(i.response is None and i.response_seq == 0 for i in ops.items_with_versions(attempt))


def test_a_save_after_deadline_and_grace_is_refused_but_within_grace_accepted(ctx, make_user):
    f.standard_bank()
    attempt = ops.start_attempt(f.published_exam(), _user(make_user))
    assert ops.save_response(attempt, 1, "A", seq=1, now=attempt.deadline + timedelta(seconds=20)).saved
    with pytest.raises(Conflict):
        ops.save_response(attempt, 1, "B", seq=2, now=attempt.deadline + timedelta(seconds=31))


def test_finalize_expired_finishes_attempts_with_their_saved_answers(ctx, make_user):
    f.standard_bank()
    exam = f.published_exam()
    attempt = ops.start_attempt(exam, _user(make_user))
    key = _answer_key(attempt)
    ops.save_response(attempt, 1, key[1], seq=1)
    db.session.commit()
    assert ops.finalize_expired(now=attempt.deadline) == 0
    assert ops.finalize_expired(now=attempt.deadline + timedelta(minutes=1)) == 1
    assert attempt.status == "expired" and attempt.finished_by == "deadline"
    assert attempt.score == 1
    assert ops.finalize_expired(now=attempt.deadline + timedelta(minutes=2)) == 0


def test_finishing_twice_finishes_once(ctx, make_user):
    f.standard_bank()
    attempt = ops.start_attempt(f.published_exam(), _user(make_user))
    assert ops.finish_attempt(attempt) is True
    assert ops.finish_attempt(attempt) is False
    with pytest.raises(Conflict):
        ops.save_response(attempt, 1, "A", seq=1)


def test_focus_losses_past_the_limit_submit_the_attempt(ctx, make_user):
    f.standard_bank()
    attempt = ops.start_attempt(f.published_exam(focus_loss_limit=2), _user(make_user))
    assert ops.record_focus_loss(attempt, "hidden") is False
    assert ops.record_focus_loss(attempt, "blur") is False
    assert ops.record_focus_loss(attempt, "hidden") is True
    assert attempt.status == "submitted" and attempt.finished_by == "focus_limit" and attempt.focus_losses == 3


def test_regrade_dry_run_lists_changes_and_apply_changes_scores(ctx, make_user):
    cat = f.category("公共法律知识")
    q = f.question("single", cat=cat, answer="A")
    sections = [{"title": "单选", "type": "single", "count": 1, "points": 10, "categories": ["公共法律知识"]}]
    exam = f.published_exam(sections=sections, pass_mark=6)
    chose_b = ops.start_attempt(exam, _user(make_user))
    item = ops.items_with_versions(chose_b)[0]
    ops.save_response(chose_b, 1, ops.to_displayed(item, "B"), seq=1)
    ops.finish_attempt(chose_b)
    chose_c = ops.start_attempt(exam, _user(make_user))
    item = ops.items_with_versions(chose_c)[0]
    ops.save_response(chose_c, 1, ops.to_displayed(item, "C"), seq=1)
    ops.finish_attempt(chose_c)
    assert chose_b.score == 0
    fixed = f.new_version(q, answer="B")
    changes = ops.regrade_question(fixed, dry_run=True)
    assert [(c.attempt.id, c.new_score, c.new_passed) for c in changes] == [(chose_b.id, 10, True)]
    assert chose_b.score == 0
    ops.regrade_question(fixed, dry_run=False)
    assert chose_b.score == 10 and chose_b.passed is True
    actions = set(db.session.scalars(select(AuditLog.action)))
    assert {"question.regrade_dry_run", "question.regrade"} <= actions


def test_counting_attempts_takes_the_best_or_the_last(ctx, make_user):
    cat = f.category("公共法律知识")
    f.bank(cat, single=4)
    sections = [{"title": "单选", "type": "single", "count": 2, "points": 5, "categories": ["公共法律知识"]}]
    best = f.published_exam(sections=sections, counting_attempt="best", max_attempts=2)
    last = f.published_exam(sections=sections, counting_attempt="last", max_attempts=2, purpose="annual",
                            certificate_category=None)
    user = _user(make_user)
    scores = {}
    for exam in (best, last):
        first = ops.start_attempt(exam, user)
        for position, answer in _answer_key(first).items():
            ops.save_response(first, position, answer, seq=1)
        ops.finish_attempt(first)
        second = ops.start_attempt(exam, user)
        ops.finish_attempt(second)
        scores[exam.id] = (first, second)
    counted = {a.exam_id: a for a in ops.counting_attempts(user_ids=[user.id])}
    assert counted[best.id].id == scores[best.id][0].id and counted[best.id].score == 10
    assert counted[last.id].id == scores[last.id][1].id and counted[last.id].score == 0
    assert [a.exam_id for a in ops.counting_attempts(certificate_category="质量技术监督")] == [best.id]
    assert [a.exam_id for a in ops.counting_attempts(purpose="annual")] == [last.id]
    assert ops.counting_attempts(finished_since=utcnow() + timedelta(days=1)) == []


def test_the_paper_view_never_holds_answers_or_original_keys(ctx, make_user):
    f.standard_bank()
    attempt = ops.start_attempt(f.published_exam(), _user(make_user))
    items = ops.paper_items(attempt)
    assert all(set(i) <= {"position", "type", "stem", "options", "points", "response", "seq", "flagged",
                          "section", "blanks"} for i in items)
    assert all([o["key"] for o in i["options"]] == list("ABCD") for i in items if i["options"])
    assert db.session.scalar(select(AttemptItem.id).where(AttemptItem.attempt_id == attempt.id).limit(1))
