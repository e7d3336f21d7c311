"""Exam pages: my exams, taking an exam (JavaScript autosave, plain-form fallback), results and review."""

from __future__ import annotations

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select

from exam.core.access import login_required
from exam.core.timeutil import utcnow
from exam.exams import bp
from exam.exams import operations as ops
from exam.exams.models import Attempt, Exam
from exam.extensions import db


@bp.route("/exams/")
@login_required
def my_exams():
    now = utcnow()
    exams = ops.exams_for(current_user)
    attempts = db.session.scalars(
        select(Attempt).where(Attempt.user_id == current_user.id).order_by(Attempt.exam_id, Attempt.number)
    ).all()
    finished_now = [a for a in attempts if ops.finalize_if_expired(a, now)]
    if finished_now:
        db.session.commit()
    by_exam: dict[int, list[Attempt]] = {}
    for attempt in attempts:
        by_exam.setdefault(attempt.exam_id, []).append(attempt)
    return render_template("exams/my_exams.html", exams=[e for e in exams if e.purpose != "practice"],
                           practice_sets=[e for e in exams if e.purpose == "practice"], by_exam=by_exam, now=now,
                           results_visible=ops.results_visible)


@bp.route("/exams/<int:exam_id>/start", methods=["POST"])
@login_required
def start(exam_id):
    exam = db.session.get(Exam, exam_id)
    if exam is None or exam.status == "draft":
        abort(404)
    attempt = ops.start_attempt(exam, current_user)
    db.session.commit()
    return redirect(url_for("exams.take", attempt_id=attempt.id))


@bp.route("/attempts/<int:attempt_id>")
@login_required
def take(attempt_id):
    attempt = ops.get_attempt_for(attempt_id, current_user)
    now = utcnow()
    if ops.finalize_if_expired(attempt, now):
        db.session.commit()
    if attempt.is_finished:
        return redirect(url_for("exams.result", attempt_id=attempt.id))
    items = ops.items_with_versions(attempt)
    return render_template("exams/take.html", attempt=attempt, exam=attempt.exam, items=ops.paper_items(attempt, items),
                           remaining=attempt.remaining_seconds(now))


@bp.route("/attempts/<int:attempt_id>/save", methods=["POST"])
@login_required
def save_form(attempt_id):
    """The plain-form fallback: saves every answer on the page, and submits when asked."""
    attempt = ops.get_attempt_for(attempt_id, current_user)
    responses, flags = ops.responses_from_form(ops.items_with_versions(attempt), request.form)
    ops.save_form(attempt, responses, flags)
    if request.form.get("action") == "submit":
        ops.finish_attempt(attempt, by="examinee")
        db.session.commit()
        flash(_("Your paper has been handed in."), "success")
        return redirect(url_for("exams.result", attempt_id=attempt.id))
    db.session.commit()
    flash(_("Saved"), "success")
    return redirect(url_for("exams.take", attempt_id=attempt.id))


@bp.route("/attempts/<int:attempt_id>/result")
@login_required
def result(attempt_id):
    attempt = ops.get_attempt_for(attempt_id, current_user)
    now = utcnow()
    if ops.finalize_if_expired(attempt, now):
        db.session.commit()
    if not attempt.is_finished:
        return redirect(url_for("exams.take", attempt_id=attempt.id))
    show_answers = ops.answers_visible(attempt, now)
    return render_template("exams/result.html", attempt=attempt, exam=attempt.exam,
                           show_results=ops.results_visible(attempt, now), show_answers=show_answers,
                           review=ops.review_items(attempt) if show_answers else None)
