from __future__ import annotations

from datetime import timedelta

import pytest

from exam.core.timeutil import utcnow
from exam.exams import operations as ops
from exam.exams.models import Attempt
from exam.extensions import db
from tests.exams import factories as f


@pytest.fixture
def exam_id(app):
    with app.app_context():
        f.standard_bank()
        exam = f.published_exam(show_answers="immediately")
        db.session.commit()
        return exam.id


def _displayed_key(app, attempt_id):
    with app.app_context():
        attempt = db.session.get(Attempt, attempt_id)
        return {i.position: (i.version.type, ops.to_displayed(i, i.version.answer) if i.version.options
                             else i.version.answer) for i in ops.items_with_versions(attempt)}


def _form_for(key):
    data = {"action": "save"}
    for position, (kind, answer) in key.items():
        if kind == "true_false":
            data[f"q{position}"] = "true" if answer else "false"
        else:
            data[f"q{position}"] = answer
    return data


def test_the_exam_page_works_as_a_plain_form_without_javascript(app, client, make_user, exam_id):
    client.login_as(make_user())
    started = client.post_form(f"/exams/{exam_id}/start")
    assert started.status_code == 302
    attempt_id = int(started.headers["Location"].rstrip("/").split("/")[-1])
    page = client.get(f"/attempts/{attempt_id}").get_data(as_text=True)
    assert 'method="post"' in page and 'name="q1"' in page and "exam.js" in page
    assert "<script>" not in page and " style=" not in page  # CSP: no inline script or style
    key = _displayed_key(app, attempt_id)
    data = _form_for(key)
    data["f3"] = "1"
    saved = client.post_form(f"/attempts/{attempt_id}/save", data)
    assert saved.status_code == 302 and saved.headers["Location"].endswith(f"/attempts/{attempt_id}")
    with app.app_context():
        attempt = db.session.get(Attempt, attempt_id)
        assert all(i.response is not None for i in attempt.items) and attempt.items[2].flagged
    data["action"] = "submit"
    done = client.post_form(f"/attempts/{attempt_id}/save", data, follow_redirects=True)
    text = done.get_data(as_text=True)
    assert "10 / 10" in text and "优秀" in text and "解析" in text


def test_a_bad_form_answer_stores_nothing(app, client, make_user, exam_id):
    client.login_as(make_user())
    attempt_id = int(client.post_form(f"/exams/{exam_id}/start").headers["Location"].split("/")[-1])
    data = _form_for(_displayed_key(app, attempt_id))
    data["q1"] = "Z"
    assert client.post_form(f"/attempts/{attempt_id}/save", data).status_code == 422
    with app.app_context():
        assert all(i.response is None for i in db.session.get(Attempt, attempt_id).items)


def test_the_exam_page_holds_no_answers_or_explanations(app, client, make_user, exam_id):
    client.login_as(make_user())
    attempt_id = int(client.post_form(f"/exams/{exam_id}/start").headers["Location"].split("/")[-1])
    page = client.get(f"/attempts/{attempt_id}").get_data(as_text=True)
    assert "解析" not in page and "正确答案" not in page
    assert "依法作答" not in page  # the explanation text of every factory question
    api = client.get(f"/api/v1/attempts/{attempt_id}").get_data(as_text=True)
    assert "依法作答" not in api and '"answer"' not in api and "option_order" not in api


def test_another_persons_attempt_pages_are_404(app, client, make_user, exam_id):
    client.login_as(make_user())
    attempt_id = int(client.post_form(f"/exams/{exam_id}/start").headers["Location"].split("/")[-1])
    client.login_as(make_user())
    assert client.get(f"/attempts/{attempt_id}").status_code == 404
    assert client.get(f"/attempts/{attempt_id}/result").status_code == 404
    assert client.post_form(f"/attempts/{attempt_id}/save", {"action": "submit"}).status_code == 404


def test_answers_are_not_reviewed_before_the_window_closes_when_the_policy_says_so(app, client, make_user):
    with app.app_context():
        f.standard_bank()
        exam_id = f.published_exam(show_answers="after_close", show_results="never").id
        db.session.commit()
    client.login_as(make_user())
    attempt_id = int(client.post_form(f"/exams/{exam_id}/start").headers["Location"].split("/")[-1])
    text = client.post_form(f"/attempts/{attempt_id}/save", {"action": "submit"}, follow_redirects=True).get_data(
        as_text=True)
    assert "成绩暂未公布" in text and "依法作答" not in text and "正确答案" not in text


def test_my_exams_lists_open_exams_and_finishes_expired_attempts(app, client, make_user, exam_id):
    user = make_user()
    client.login_as(user)
    attempt_id = int(client.post_form(f"/exams/{exam_id}/start").headers["Location"].split("/")[-1])
    with app.app_context():
        attempt = db.session.get(Attempt, attempt_id)
        attempt.deadline = utcnow() - timedelta(minutes=5)
        db.session.commit()
    text = client.get("/exams/").get_data(as_text=True)
    assert "测试考试" in text
    with app.app_context():
        assert db.session.get(Attempt, attempt_id).status == "expired"
