"""Exams and attempts over JSON: the exam page uses this API, and so can a mobile or OA client.

Everything about time and score is decided on the server: a client-sent score or deadline is ignored.
Another person's attempt answers 404. Nothing here holds a correct answer or the original option order.
"""

from __future__ import annotations

from functools import wraps

from flask import current_app, g, request
from flask_login import current_user
from flask_smorest import abort
from sqlalchemy import select
from sqlalchemy.orm import joinedload

from exam.api import api_blueprint, bearer_token
from exam.core.access import EXAMINEE, login_required, roles_required
from exam.core.timeutil import utcnow
from exam.errors import unauthorized
from exam.exams import hot, reject_out_of_range_ids
from exam.exams import operations as ops
from exam.exams.models import Attempt, Exam
from exam.exams.schemas import (
    EventSchema,
    ExamJsonSchema,
    ExamOutSchema,
    ExtraTimeSchema,
    IgnoreBodySchema,
    SaveSchema,
)
from exam.extensions import db, login_manager

blp = api_blueprint("api_exams", __name__, "Exams")
blp.url_value_preprocessor(reject_out_of_range_ids)

# A save carries one answer (a case analysis is at most 20,000 characters): anything much larger is refused
# before it is parsed. Exam definitions may be larger.
MAX_ATTEMPT_BODY = 128 * 1024
MAX_EXAM_BODY = 1024 * 1024


@blp.before_request
def _cap_body():
    if request.method in {"POST", "PUT"}:
        limit = MAX_ATTEMPT_BODY if request.path.startswith("/api/v1/attempts") else MAX_EXAM_BODY
        if request.content_length is not None and request.content_length > limit:
            abort(413, message="The request is too large.")


def iso(value) -> str | None:
    return value.isoformat(timespec="seconds") + "Z" if value is not None else None


def attempt_result(attempt: Attempt, now) -> dict:
    """Score fields appear only when the exam's policy shows results now."""
    body = {"status": attempt.status, "finished_by": attempt.finished_by}
    if ops.results_visible(attempt, now):
        body.update(score=attempt.score, max_score=attempt.max_score, passed=attempt.passed, band=attempt.band)
    return body


def attempt_body(attempt: Attempt, now) -> dict:
    items = getattr(attempt, "fresh_items", None)
    if items is None:
        items = ops.items_with_versions(attempt)
    hot.remember_paper(attempt, items)  # the saves that follow need not read the items again
    body = {
        "id": attempt.id, "exam_id": attempt.exam_id, "exam_title": attempt.exam.title, "number": attempt.number,
        "status": attempt.status, "started_at": iso(attempt.started_at), "deadline": iso(attempt.deadline),
        "server_time": iso(now), "remaining_seconds": attempt.remaining_seconds(now),
        "focus_losses": attempt.focus_losses, "focus_loss_limit": attempt.exam.focus_loss_limit,
        "items": ops.paper_items(attempt, items),
    }
    if attempt.is_finished:
        body.update(attempt_result(attempt, now))
    return body


def exam_day_route(view):
    """Any signed-in examinee, as ``login_required``, for the exam day's hot routes (autosave, submit).

    With a bearer token nothing is loaded up front: the view gets ``owner`` and the statements of
    ``exam.exams.hot`` check the token with the attempt (no separate token query, no session). With the browser
    session the signed-in user is the owner, as on every other route."""

    @wraps(view)
    def checked(*args, **kwargs):
        token = bearer_token()
        if token is not None:
            g.api_token_auth = True
            return view(*args, owner=hot.Owner.from_token(token), **kwargs)
        if not current_user.is_authenticated:
            return login_manager.unauthorized()
        return view(*args, owner=hot.Owner(user_id=current_user.id), **kwargs)

    checked.access = frozenset({EXAMINEE})
    return checked


def _owner_attempt(owner: hot.Owner, attempt_id: int):
    """The ordinary path after the hot statement found nothing: 401 for a bad token, 404 for another person's
    attempt (or the attempt when it is the owner's: the caller decides)."""
    user = current_user if owner.user_id is not None else hot.owner_user(owner)
    if user is None:
        return None, unauthorized()
    return ops.get_attempt_for(attempt_id, user), None


def _own_attempt(attempt_id: int) -> Attempt:
    return ops.get_attempt_for(attempt_id, current_user)


def _exam(exam_id: int) -> Exam:
    exam = db.session.get(Exam, exam_id)
    if exam is None:
        abort(404, message="No such exam.")
    return exam


@blp.route("/exams", methods=["POST"])
@roles_required("legal")
@blp.arguments(ExamJsonSchema)
@blp.response(201, ExamOutSchema)
def create_exam(data):
    """Create a draft exam from the exam JSON (the same format as the export)."""
    exam = ops.create_exam(data, current_user)
    db.session.commit()
    return exam


@blp.route("/exams/<int:exam_id>", methods=["GET"])
@roles_required("legal")
@blp.response(200)
def export_exam(exam_id):
    """The exam in the JSON format, to import it again (e.g. next year)."""
    exam = _exam(exam_id)
    return dict(ops.export_exam(exam), id=exam.id, status=exam.status)


@blp.route("/exams/<int:exam_id>/publish", methods=["POST"])
@roles_required("legal")
@blp.response(200, ExamOutSchema)
def publish_exam(exam_id):
    """Publish: 422 with ``details`` naming each short section and by how much."""
    exam = _exam(exam_id)
    ops.publish_exam(exam)
    db.session.commit()
    return exam


@blp.route("/exams/<int:exam_id>/attempts", methods=["POST"])
@login_required
@blp.arguments(IgnoreBodySchema)
@blp.response(201)
def start_attempt(_ignored, exam_id):
    """Start an attempt, or resume the one in progress. Returns the attempt."""
    exam = db.session.get(Exam, exam_id)
    if exam is None or exam.status == "draft":
        abort(404, message="No such exam.")
    now = utcnow()
    attempt = ops.start_attempt(exam, current_user, now)
    body = attempt_body(attempt, now)  # before the commit expires what was just loaded
    db.session.commit()
    return body


@blp.route("/exams/<int:exam_id>/attempts", methods=["GET"])
@roles_required("legal")
@blp.response(200)
def list_attempts(exam_id):
    """All attempts of an exam with status and score (finishes any past their deadline first)."""
    exam = _exam(exam_id)
    now = utcnow()
    attempts = db.session.scalars(
        select(Attempt).options(joinedload(Attempt.user), joinedload(Attempt.exam))
        .where(Attempt.exam_id == exam.id).order_by(Attempt.id)
    ).all()
    if any(ops.finalize_if_expired(a, now) for a in list(attempts)):
        db.session.commit()
    return [{"id": a.id, "user": a.user.username, "name": a.user.name, "number": a.number, "status": a.status,
             "started_at": iso(a.started_at), "deadline": iso(a.deadline), "finished_at": iso(a.finished_at),
             "finished_by": a.finished_by, "remaining_seconds": a.remaining_seconds(now),
             "last_saved_at": iso(a.last_saved_at), "focus_losses": a.focus_losses, "score": a.score,
             "max_score": a.max_score, "passed": a.passed, "band": a.band} for a in attempts]


@blp.route("/attempts/<int:attempt_id>", methods=["GET"])
@login_required
@blp.response(200)
def get_attempt(attempt_id):
    """The paper with the person's answers and the real time left (finished at once when past the deadline)."""
    attempt = _own_attempt(attempt_id)
    now = utcnow()
    finished = ops.finalize_if_expired(attempt, now)
    body = attempt_body(attempt, now)
    if finished:
        db.session.commit()
    return body


@blp.route("/attempts/<int:attempt_id>/items/<int:position>", methods=["PUT"])
@exam_day_route
@blp.arguments(SaveSchema)
@blp.response(200)
def save_item(data, attempt_id, position, owner):
    """Save one answer ``{response, seq}``; a seq not above the stored one is not applied (``saved: false``)."""
    now = utcnow()
    result = hot.save(owner, attempt_id, position, data["response"], data["seq"], flagged=data.get("flagged"),
                      now=now)
    if result is None:
        _attempt, refused = _owner_attempt(owner, attempt_id)
        if refused is not None:
            return refused
        raise ops.missing_position(position)
    return save_answer(result, now)


def save_answer(result: hot.Saved, now) -> dict:
    """The answer to a save (this route and the exam day's fast path, exam.api.fastpath)."""
    return {"position": result.position, "seq": result.seq, "saved": result.saved,
            "saved_at": iso(result.saved_at), "server_time": iso(now),
            "remaining_seconds": max(0, int((result.deadline - now).total_seconds()))}


@blp.route("/attempts/<int:attempt_id>/submit", methods=["POST"])
@exam_day_route
@blp.arguments(IgnoreBodySchema)
@blp.response(200)
def submit_attempt(_ignored, attempt_id, owner):
    """Finish the attempt (once, however many submits arrive). Score fields only when results are shown now."""
    now = utcnow()
    body = hot.submit(owner, attempt_id, now)
    if body is not None:
        return body
    attempt, refused = _owner_attempt(owner, attempt_id)
    if refused is not None:
        return refused
    ops.finish_attempt(attempt, by="examinee", now=now)
    body = attempt_result(attempt, now)
    db.session.commit()
    return body


@blp.route("/attempts/<int:attempt_id>/events", methods=["POST"])
@login_required
@blp.arguments(EventSchema)
@blp.response(200)
def focus_event(data, attempt_id):
    """A focus loss (切屏); past the exam's limit (when above 0) the attempt is submitted."""
    attempt = _own_attempt(attempt_id)
    now = utcnow()
    ops.record_focus_loss(attempt, data["kind"], now)
    db.session.commit()
    return {"focus_losses": attempt.focus_losses, "focus_loss_limit": attempt.exam.focus_loss_limit,
            "status": attempt.status}


@blp.route("/attempts/<int:attempt_id>/extra-time", methods=["POST"])
@roles_required("legal")
@blp.arguments(ExtraTimeSchema)
@blp.response(200)
def extra_time(data, attempt_id):
    """Give one person extra minutes (capped by the window's close). Audited."""
    attempt = db.session.get(Attempt, attempt_id)
    if attempt is None:
        abort(404, message="No such attempt.")
    ops.grant_extra_time(attempt, data["minutes"])
    db.session.commit()
    now = utcnow()
    return {"id": attempt.id, "deadline": iso(attempt.deadline), "remaining_seconds": attempt.remaining_seconds(now),
            "grace_seconds": int(attempt.grace(current_app.config["EXAM_SUBMIT_GRACE_SECONDS"]).total_seconds())}
