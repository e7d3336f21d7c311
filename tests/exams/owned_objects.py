"""Owned objects of the exams area (attempts and their results), for the authorisation matrix."""

from __future__ import annotations

from tests.security.owned import owned_object


def _attempt_of(app, owner, title: str) -> int:
    from exam.accounts.models import User
    from exam.exams import operations as ops
    from exam.extensions import db
    from tests.exams import factories

    with app.test_request_context(method="POST"):
        factories.standard_bank(f"题库-{title}")
        exam = factories.published_exam(title=title, categories=(f"题库-{title}",))
        attempt = ops.start_attempt(exam, db.session.get(User, owner.id))
        db.session.commit()
        return attempt.id


@owned_object("exams.take", "GET")
def take_page(app, owner):
    return f"/attempts/{_attempt_of(app, owner, 'take')}"


@owned_object("exams.save_form", "POST")
def save_form(app, owner):
    return f"/attempts/{_attempt_of(app, owner, 'save')}/save", {}


@owned_object("exams.result", "GET")
def result_page(app, owner):
    return f"/attempts/{_attempt_of(app, owner, 'result')}/result"


@owned_object("api_exams.get_attempt", "GET")
def api_attempt(app, owner):
    return f"/api/v1/attempts/{_attempt_of(app, owner, 'api-get')}"


@owned_object("api_exams.save_item", "PUT")
def api_save(app, owner):
    return f"/api/v1/attempts/{_attempt_of(app, owner, 'api-save')}/items/1", {"response": None, "seq": 1}


@owned_object("api_exams.submit_attempt", "POST")
def api_submit(app, owner):
    return f"/api/v1/attempts/{_attempt_of(app, owner, 'api-submit')}/submit", {}


@owned_object("api_exams.focus_event", "POST")
def api_focus(app, owner):
    return f"/api/v1/attempts/{_attempt_of(app, owner, 'api-focus')}/events", {"kind": "blur"}
