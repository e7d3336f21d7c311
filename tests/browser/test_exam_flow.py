"""The exam page in Chromium: end to end, reload and resume, offline and back, the timer running out."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from playwright.sync_api import expect

from exam.core.timeutil import utcnow
from exam.exams import operations as ops
from exam.exams.models import Attempt
from exam.extensions import db
from tests.exams import factories as f


def _sign_in(page, username):
    page.goto("/login")
    page.get_by_label("工号").fill(username)
    page.get_by_label("密码").fill("Passw0rd2026")
    page.get_by_role("button", name="登录").click()
    page.wait_for_url("**/")


@pytest.fixture
def exam_id(app):
    with app.app_context():
        f.standard_bank()
        exam = f.published_exam(show_answers="immediately", grace_seconds=0)
        db.session.commit()
        return exam.id


def _start(page, exam_id) -> int:
    page.goto("/exams/")
    page.get_by_role("button", name="开始考试").click()
    page.wait_for_url(re.compile(r".*/attempts/\d+$"))
    expect(page.locator("#save-status")).to_have_text("已保存")
    return int(page.url.rstrip("/").split("/")[-1])


def _key(app, attempt_id):
    with app.app_context():
        attempt = db.session.get(Attempt, attempt_id)
        return {i.position: (i.version.type, ops.to_displayed(i, i.version.answer) if i.version.options
                             else i.version.answer) for i in ops.items_with_versions(attempt)}


def _answer(page, position, kind, answer):
    if kind == "multiple":
        for key in answer:
            page.check(f"#q{position}-{key}")
    elif kind == "true_false":
        page.check(f"#q{position}-{'true' if answer else 'false'}")
    else:
        page.check(f"#q{position}-{answer}")


def _stored(app, attempt_id):
    with app.app_context():
        attempt = db.session.get(Attempt, attempt_id)
        return attempt.status, {i.position: i.response for i in attempt.items}


def test_take_an_exam_end_to_end(page, app, make_user, exam_id):
    make_user("E0001")
    _sign_in(page, "E0001")
    attempt_id = _start(page, exam_id)
    key = _key(app, attempt_id)
    for position, (kind, answer) in key.items():
        if position != 8:
            _answer(page, position, kind, answer)
    expect(page.locator("#save-status")).to_have_text("已保存")
    expect(page.locator("#nav-1")).to_have_class(re.compile("answered"))
    page.check("#f2")
    expect(page.locator("#nav-2")).to_have_class(re.compile("flagged"))
    page.get_by_role("button", name="交卷", exact=True).click()
    expect(page.locator("#confirm-unanswered")).to_contain_text("8")
    page.get_by_role("button", name="继续答题").click()
    kind, answer = key[8]
    _answer(page, 8, kind, answer)
    page.get_by_role("button", name="交卷", exact=True).click()
    expect(page.locator("#confirm-unanswered")).to_have_text("所有题目均已作答。")
    page.get_by_role("button", name="确认交卷").click()
    page.wait_for_url(f"**/attempts/{attempt_id}/result")
    expect(page.locator("#attempt-score")).to_have_text("10 / 10")
    assert _stored(app, attempt_id)[0] == "submitted"


def test_reload_mid_exam_resumes_with_answers_and_the_real_time_left(page, app, make_user, exam_id):
    make_user("E0002")
    _sign_in(page, "E0002")
    attempt_id = _start(page, exam_id)
    key = _key(app, attempt_id)
    _answer(page, 1, *key[1])
    _answer(page, 7, *key[7])
    expect(page.locator("#save-status")).to_have_text("已保存")
    with app.app_context():  # as if the person had started 20 minutes ago
        attempt = db.session.get(Attempt, attempt_id)
        attempt.started_at -= timedelta(minutes=20)
        attempt.deadline -= timedelta(minutes=20)
        db.session.commit()
    page.reload()
    expect(page.locator(f"#q1-{key[1][1]}")).to_be_checked()
    expect(page.locator(f"#q7-{'true' if key[7][1] else 'false'}")).to_be_checked()
    expect(page.locator("#timer-value")).to_have_text(re.compile(r"^0:(39|40):\d\d$"))
    page.goto("/exams/")
    page.get_by_role("link", name="继续答题").click()
    expect(page.locator(f"#q1-{key[1][1]}")).to_be_checked()


def test_going_offline_keeps_answers_and_saves_them_when_back(page, app, make_user, exam_id):
    make_user("E0003")
    _sign_in(page, "E0003")
    attempt_id = _start(page, exam_id)
    key = _key(app, attempt_id)
    _answer(page, 1, *key[1])
    expect(page.locator("#save-status")).to_have_text("已保存")
    page.context.set_offline(True)
    _answer(page, 2, *key[2])
    expect(page.locator("#offline-warning")).to_be_visible()
    expect(page.locator("#offline-warning")).to_contain_text("网络连接已中断")
    assert _stored(app, attempt_id)[1][2] is None
    page.context.set_offline(False)
    expect(page.locator("#save-status")).to_have_text("已保存", timeout=15_000)
    expect(page.locator("#offline-warning")).to_be_hidden()
    assert _stored(app, attempt_id)[1][2] is not None


def test_when_the_timer_runs_out_the_attempt_is_finished_with_its_answers(page, app, make_user, exam_id):
    make_user("E0004")
    _sign_in(page, "E0004")
    attempt_id = _start(page, exam_id)
    key = _key(app, attempt_id)
    _answer(page, 1, *key[1])
    expect(page.locator("#save-status")).to_have_text("已保存")
    with app.app_context():
        attempt = db.session.get(Attempt, attempt_id)
        attempt.deadline = utcnow() + timedelta(seconds=4)
        db.session.commit()
    page.reload()
    page.wait_for_url(f"**/attempts/{attempt_id}/result", timeout=20_000)
    status, responses = _stored(app, attempt_id)
    assert status == "expired" and responses[1] is not None and responses[2] is None
    expect(page.locator("#attempt-status")).to_have_text("到时自动交卷")
    expect(page.locator("#attempt-score")).to_have_text("1 / 10")


def test_extra_time_granted_during_the_exam_keeps_the_page_open(page, app, make_user, exam_id):
    make_user("E0005")
    _sign_in(page, "E0005")
    attempt_id = _start(page, exam_id)
    with app.app_context():
        attempt = db.session.get(Attempt, attempt_id)
        attempt.deadline = utcnow() + timedelta(seconds=3)
        db.session.commit()
    page.reload()
    expect(page.locator("#timer-value")).to_have_text(re.compile(r"^0:00:0[0-3]$"))
    with app.app_context():  # the legal department gives ten more minutes while the page counts down
        attempt = db.session.get(Attempt, attempt_id)
        ops.grant_extra_time(attempt, 10)
        db.session.commit()
    # the deadline is recomputed: start + 60 minutes + 10 extra
    expect(page.locator("#timer-value")).to_have_text(re.compile(r"^1:(09|10):\d\d$"), timeout=15_000)
    assert _stored(app, attempt_id)[0] == "in_progress"
