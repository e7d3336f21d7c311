from __future__ import annotations

import io
import json
from datetime import timedelta

from sqlalchemy import select

from exam.accounts.models import User
from exam.core.audit import AuditLog
from exam.core.timeutil import utcnow
from exam.exams import operations as ops
from exam.exams.models import Attempt, Exam
from exam.extensions import db
from tests.exams import factories as f


def _json(**overrides) -> str:
    data = f.exam_data(**overrides)
    for key in ("opens_at", "closes_at"):
        data[key] = data[key].isoformat() + "+00:00"
    return json.dumps(data, ensure_ascii=False)


def test_legal_creates_an_exam_from_json_and_export_imports_back_the_same(app, client, make_user):
    client.login_as(make_user(roles=["legal"]))
    with app.app_context():
        f.standard_bank()
        db.session.commit()
    created = client.post_form("/exams/new", {"text": _json()})
    assert created.status_code == 302
    exam_id = int(created.headers["Location"].split("/")[-2])
    exported = client.get(f"/exams/{exam_id}/export.json")
    assert exported.headers["Content-Disposition"].startswith("attachment")
    again = client.post_form("/exams/new", {"file": (io.BytesIO(exported.data), "exam.json")},
                             content_type="multipart/form-data")
    assert again.status_code == 302
    second_id = int(again.headers["Location"].split("/")[-2])
    assert client.get(f"/exams/{second_id}/export.json").json == exported.json


def test_a_bad_json_import_lists_the_problems_and_stores_nothing(app, client, make_user):
    client.login_as(make_user(roles=["legal"]))
    for text in ("{not json", json.dumps([1]), _json(purpose="party"), _json()):  # the last: no such category
        response = client.post_form("/exams/new", {"text": text})
        assert response.status_code == 422
        assert 'role="alert"' in response.get_data(as_text=True)
    with app.app_context():
        assert db.session.scalar(select(Exam.id)) is None


def test_publishing_from_the_page_names_the_short_section(app, client, make_user):
    client.login_as(make_user(roles=["legal"]))
    with app.app_context():
        f.standard_bank(single=1, multiple=4, true_false=4)
        exam_id = ops.create_exam(f.exam_data(), None).id
        db.session.commit()
    page = client.get(f"/exams/{exam_id}/manage").get_data(as_text=True)
    assert "单项选择题" in page and "缺3道题" in page
    response = client.post_form(f"/exams/{exam_id}/publish")
    assert response.status_code == 422 and "缺3道题" in response.get_data(as_text=True)
    with app.app_context():
        assert db.session.get(Exam, exam_id).status == "draft"


def test_live_view_shows_progress_and_grants_extra_time(app, client, make_user):
    examinee = make_user(name="王执法")
    legal = make_user(roles=["legal"])
    with app.app_context():
        f.standard_bank()
        exam = f.published_exam()
        attempt = ops.start_attempt(exam, db.session.get(User, examinee.id))
        ops.save_response(attempt, 1, "A", seq=1)
        ops.record_focus_loss(attempt, "hidden")
        db.session.commit()
        exam_id, attempt_id, deadline = exam.id, attempt.id, attempt.deadline
    client.login_as(legal)
    page = client.get(f"/exams/{exam_id}/live").get_data(as_text=True)
    assert "王执法" in page and "答题中" in page and "0:59:" in page
    assert client.post_form(f"/attempts/{attempt_id}/extra-time", {"minutes": "15"}).status_code == 302
    with app.app_context():
        assert db.session.get(Attempt, attempt_id).deadline == deadline + timedelta(minutes=15)
        assert db.session.scalar(select(AuditLog.id).where(AuditLog.action == "attempt.extra_time"))


def test_grading_queue_page_grades_a_case_analysis_answer(app, client, make_user):
    examinee = make_user()
    legal = make_user(roles=["legal"])
    with app.app_context():
        cat = f.category("公共法律知识")
        f.bank(cat, case_analysis=1)
        exam = f.published_exam(sections=[{"title": "案例", "type": "case_analysis", "count": 1, "points": 10,
                                           "categories": ["公共法律知识"]}], pass_mark=6)
        attempt = ops.start_attempt(exam, db.session.get(User, examinee.id))
        ops.save_response(attempt, 1, "应当先立案调查", seq=1)
        ops.finish_attempt(attempt)
        db.session.commit()
        attempt_id, item_id = attempt.id, attempt.items[0].id
    client.login_as(legal)
    page = client.get("/exams/grading").get_data(as_text=True)
    assert "应当先立案调查" in page and "定性" in page  # the answer and the scoring points
    assert client.post_form(f"/attempt-items/{item_id}/grade", {"awarded": "11"}).status_code == 422
    assert client.post_form(f"/attempt-items/{item_id}/grade", {"awarded": "7", "comment": "较好"}).status_code == 302
    with app.app_context():
        attempt = db.session.get(Attempt, attempt_id)
        assert (attempt.score, attempt.passed, attempt.items[0].comment) == (7, True, "较好")
    assert "应当先立案调查" not in client.get("/exams/grading").get_data(as_text=True)


def test_regrade_page_dry_run_then_apply(app, client, make_user):
    examinee = make_user()
    legal = make_user(roles=["legal"])
    with app.app_context():
        cat = f.category("公共法律知识")
        q = f.question("true_false", cat=cat, answer=True)
        exam = f.published_exam(sections=[{"title": "判断", "type": "true_false", "count": 1, "points": 10,
                                           "categories": ["公共法律知识"]}], pass_mark=6)
        attempt = ops.start_attempt(exam, db.session.get(User, examinee.id))
        ops.save_response(attempt, 1, False, seq=1)
        ops.finish_attempt(attempt)
        f.new_version(q, answer=False)
        db.session.commit()
        question_id, attempt_id = q.id, attempt.id
    client.login_as(legal)
    dry = client.post_form("/exams/regrade", {"question_id": question_id, "action": "dry_run"})
    assert dry.status_code == 200 and 'id="regrade-changes"' in dry.get_data(as_text=True)
    with app.app_context():
        assert db.session.get(Attempt, attempt_id).score == 0
    client.post_form("/exams/regrade", {"question_id": question_id, "action": "apply"})
    with app.app_context():
        attempt = db.session.get(Attempt, attempt_id)
        assert attempt.score == 10 and attempt.passed is True


def test_cli_finalize_expired_and_rebuild_paper(app, make_user):
    user = make_user()
    with app.app_context():
        f.standard_bank()
        exam = f.published_exam()
        attempt = ops.start_attempt(exam, db.session.get(User, user.id))
        attempt.deadline = utcnow() - timedelta(minutes=5)
        db.session.commit()
        attempt_id = attempt.id
    runner = app.test_cli_runner()
    result = runner.invoke(args=["exams", "rebuild-paper", str(attempt_id)])
    assert result.exit_code == 0 and "matches the stored paper (8 items)" in result.output
    result = runner.invoke(args=["exams", "finalize-expired"])
    assert result.exit_code == 0 and "finished 1 attempt" in result.output
    with app.app_context():
        assert db.session.get(Attempt, attempt_id).status == "expired"
        db.session.get(Attempt, attempt_id).items[0].question_version_id = \
            db.session.get(Attempt, attempt_id).items[1].question_version_id
        db.session.commit()
    result = runner.invoke(args=["exams", "rebuild-paper", str(attempt_id)])
    assert result.exit_code == 1 and "does NOT match" in result.output
    assert runner.invoke(args=["exams", "rebuild-paper", "987654"]).exit_code == 1


def test_a_draft_is_edited_through_its_json_and_a_published_one_is_frozen(app, client, make_user):
    client.login_as(make_user(roles=["legal"]))
    with app.app_context():
        f.standard_bank()
        draft = ops.create_exam(f.exam_data(), None)
        published = f.published_exam()
        db.session.commit()
        draft_id, published_id = draft.id, published.id
    form = client.get(f"/exams/{draft_id}/edit").get_data(as_text=True)
    assert "单项选择题" in form
    assert client.post_form(f"/exams/{draft_id}/edit", {"text": _json(title="改过的考试")}).status_code == 302
    assert client.post_form(f"/exams/{published_id}/edit", {"text": _json(title="不能改")}).status_code == 409
    with app.app_context():
        assert db.session.get(Exam, draft_id).title == "改过的考试"
        assert db.session.get(Exam, published_id).title == "测试考试"
