"""Pages for the legal department: exams, import/export, publishing, live view, grading, regrading."""

from __future__ import annotations

import json

from flask import Response, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import func, select

from exam.core.access import roles_required
from exam.core.errors import DomainError
from exam.core.timeutil import utcnow
from exam.exams import bp
from exam.exams import operations as ops
from exam.exams.forms import ConfirmForm, ExamImportForm, ExtraTimeForm, GradeForm, RegradeForm
from exam.exams.models import Attempt, AttemptItem, Exam
from exam.extensions import db
from question_bank.models import Question


def _exam_or_404(exam_id: int) -> Exam:
    exam = db.session.get(Exam, exam_id)
    if exam is None:
        abort(404)
    return exam


@bp.route("/exams/manage")
@roles_required("legal")
def manage():
    exams = db.session.scalars(select(Exam).order_by(Exam.opens_at.desc())).all()
    counts = dict(db.session.execute(select(Attempt.exam_id, func.count()).group_by(Attempt.exam_id)).all())
    pending = dict(db.session.execute(
        select(Attempt.exam_id, func.count()).join(AttemptItem, AttemptItem.attempt_id == Attempt.id)
        .where(AttemptItem.awarded.is_(None), Attempt.status != "in_progress").group_by(Attempt.exam_id)).all())
    return render_template("exams/manage.html", exams=exams, counts=counts, pending=pending)


@bp.route("/exams/new", methods=["GET", "POST"])
@roles_required("legal")
def new_exam():
    """Create an exam from the JSON format (pasted or uploaded), e.g. last year's export."""
    form = ExamImportForm()
    if form.validate_on_submit():
        text = form.text.data or ""
        if form.file.data:
            text = form.file.data.read(1_000_001).decode("utf-8-sig", errors="replace")
        if not text.strip():
            flash(_("Paste the exam JSON or choose a file."), "danger")
            return render_template("exams/new.html", form=form), 422
        try:
            exam = ops.import_exam_json(text, current_user)
        except DomainError as exc:
            db.session.rollback()
            return render_template("exams/new.html", form=form, error=exc), 422
        db.session.commit()
        flash(_("The exam was created as a draft."), "success")
        return redirect(url_for("exams.exam_detail", exam_id=exam.id))
    return render_template("exams/new.html", form=form)


@bp.route("/exams/<int:exam_id>/edit", methods=["GET", "POST"])
@roles_required("legal")
def edit_exam(exam_id):
    """Change a draft exam through its JSON (a published blueprint is frozen)."""
    exam = _exam_or_404(exam_id)
    form = ExamImportForm()
    if request.method == "GET":
        form.text.data = json.dumps(ops.export_exam(exam), ensure_ascii=False, indent=2)
    if form.validate_on_submit():
        text = form.text.data or ""
        if form.file.data:
            text = form.file.data.read(1_000_001).decode("utf-8-sig", errors="replace")
        try:
            ops.update_exam_json(exam, text)
        except DomainError as exc:
            db.session.rollback()
            return render_template("exams/new.html", form=form, error=exc, exam=exam), exc.status_code
        db.session.commit()
        flash(_("The exam was saved."), "success")
        return redirect(url_for("exams.exam_detail", exam_id=exam.id))
    return render_template("exams/new.html", form=form, exam=exam)


@bp.route("/exams/<int:exam_id>/manage")
@roles_required("legal")
def exam_detail(exam_id):
    exam = _exam_or_404(exam_id)
    shortages = ops.shortages(exam) if exam.status == "draft" else []
    return render_template("exams/detail.html", exam=exam, shortages=shortages, form=ConfirmForm())


@bp.route("/exams/<int:exam_id>/export.json")
@roles_required("legal")
def export_json(exam_id):
    exam = _exam_or_404(exam_id)
    body = json.dumps(ops.export_exam(exam), ensure_ascii=False, indent=2)
    return Response(body, mimetype="application/json",
                    headers={"Content-Disposition": f"attachment; filename=exam-{exam.id}.json"})


@bp.route("/exams/<int:exam_id>/publish", methods=["POST"])
@roles_required("legal")
def publish(exam_id):
    exam = _exam_or_404(exam_id)
    if not ConfirmForm().validate_on_submit():
        abort(400)
    ops.publish_exam(exam)
    db.session.commit()
    flash(_("The exam is published."), "success")
    return redirect(url_for("exams.exam_detail", exam_id=exam.id))


@bp.route("/exams/<int:exam_id>/close", methods=["POST"])
@roles_required("legal")
def close(exam_id):
    exam = _exam_or_404(exam_id)
    if not ConfirmForm().validate_on_submit():
        abort(400)
    ops.close_exam(exam)
    db.session.commit()
    flash(_("The exam is closed."), "success")
    return redirect(url_for("exams.exam_detail", exam_id=exam.id))


@bp.route("/exams/<int:exam_id>/live")
@roles_required("legal")
def live(exam_id):
    exam = _exam_or_404(exam_id)
    now = utcnow()
    attempts = ops.live_attempts(exam, now)
    db.session.commit()
    return render_template("exams/live.html", exam=exam, attempts=attempts, now=now, form=ExtraTimeForm())


@bp.route("/attempts/<int:attempt_id>/extra-time", methods=["POST"])
@roles_required("legal")
def extra_time(attempt_id):
    attempt = db.session.get(Attempt, attempt_id)
    if attempt is None:
        abort(404)
    form = ExtraTimeForm()
    if not form.validate_on_submit():
        flash(_("Extra time must be between 1 and 600 minutes."), "danger")
        return redirect(url_for("exams.live", exam_id=attempt.exam_id)), 303
    ops.grant_extra_time(attempt, form.minutes.data)
    db.session.commit()
    flash(_("%(name)s has %(n)s more minutes.", name=attempt.user.name, n=form.minutes.data), "success")
    return redirect(url_for("exams.live", exam_id=attempt.exam_id))


@bp.route("/exams/grading")
@roles_required("legal")
def grading():
    items = ops.grading_queue()
    return render_template("exams/grading.html", items=items, form=GradeForm())


@bp.route("/attempt-items/<int:item_id>/grade", methods=["POST"])
@roles_required("legal")
def grade(item_id):
    item = db.session.get(AttemptItem, item_id)
    if item is None:
        abort(404)
    form = GradeForm()
    if not form.validate_on_submit():
        flash(_("Enter the points awarded (a number from 0 to the question's points)."), "danger")
        return redirect(url_for("exams.grading"))
    ops.grade_item(item, float(form.awarded.data), form.comment.data, current_user)
    db.session.commit()
    flash(_("Grade saved."), "success")
    return redirect(url_for("exams.grading"))


@bp.route("/exams/regrade", methods=["GET", "POST"])
@roles_required("legal")
def regrade():
    """Regrade every finished answer to a question with its current (fixed) version: dry run, then apply."""
    form = RegradeForm()
    changes, question, applied = None, None, False
    if form.validate_on_submit():
        question = db.session.get(Question, form.question_id.data)
        if question is None:
            flash(_("There is no question with that number."), "danger")
            return render_template("exams/regrade.html", form=form), 404
        applied = request.form.get("action") == "apply"
        changes = ops.regrade_question(question.current, dry_run=not applied)
        db.session.commit()
        if applied:
            flash(_("Regraded: %(n)s attempts changed.", n=len(changes)), "success")
    return render_template("exams/regrade.html", form=form, changes=changes, question=question, applied=applied)
