"""Bulletins for staff and for the legal department; training records for legal and HR."""

from __future__ import annotations

import io

from flask import abort, current_app, flash, redirect, render_template, request, send_file, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select

from exam.accounts.models import Department, User
from exam.core import uploads
from exam.core.access import login_required, roles_required
from exam.core.errors import DomainError, ImportRejected
from exam.core.timeutil import local_today
from exam.extensions import db
from exam.study import audience, bp, hours
from exam.study import operations as ops
from exam.study.content import excerpt, highlight
from exam.study.forms import BulletinForm, ConfirmForm, TrainingSessionForm
from exam.study.models import UPLOAD_FOLDER, Bulletin, TrainingSession
from question_bank.models import Law


def _search_arg() -> tuple[str, str | None]:
    """The search text, and a message when it is too short to search."""
    query = ops.normalise_query(request.args.get("q"))
    if not query:
        return "", None
    try:
        ops.check_query(query)
    except DomainError as exc:
        return "", exc.message
    return query, None


# --- staff -------------------------------------------------------------------------------------------

@bp.route("/study")
@login_required
def index():
    query, query_error = _search_arg()
    bulletins = ops.bulletins_for(current_user, query or None)
    receipts = ops.receipts_for(current_user, [b.id for b in bulletins])
    today = local_today()
    year_hours = hours.hours_for_year([current_user.id], today.year)[current_user.id]
    return render_template(
        "study/index.html", bulletins=bulletins, receipts=receipts, today=today, q=query,
        q_raw=request.args.get("q", "")[:100], query_error=query_error, highlight=highlight, excerpt=excerpt,
        year_hours=year_hours, required=hours.required_hours(),
    )


@bp.route("/study/<int:bulletin_id>")
@login_required
def read(bulletin_id: int):
    bulletin = ops.visible_bulletin(bulletin_id, current_user)
    receipt = ops.open_bulletin(bulletin, current_user)
    if receipt is not None:
        db.session.commit()
    return render_template("study/read.html", bulletin=bulletin, receipt=receipt, form=ConfirmForm(),
                           assigned=receipt is not None, today=local_today())


@bp.route("/study/<int:bulletin_id>/original")
@login_required
def original(bulletin_id: int):
    bulletin = ops.visible_bulletin(bulletin_id, current_user)
    if not bulletin.original_stored:
        abort(404)
    return uploads.send_stored(UPLOAD_FOLDER, bulletin.original_stored, mimetype=_mimetype(bulletin),
                               download_name=bulletin.original_name or "", inline=False)


@bp.route("/study/<int:bulletin_id>/original/view")
@login_required
def original_inline(bulletin_id: int):
    """The PDF for the embedded reader (same origin only)."""
    bulletin = ops.visible_bulletin(bulletin_id, current_user)
    if not bulletin.has_pdf:
        abort(404)
    return uploads.send_stored(UPLOAD_FOLDER, bulletin.original_stored, mimetype="application/pdf",
                               download_name=bulletin.original_name or "", inline=True)


def _mimetype(bulletin: Bulletin) -> str:
    return uploads.KINDS[bulletin.original_kind][1]


@bp.route("/study/<int:bulletin_id>/confirm", methods=["POST"])
@login_required
def confirm(bulletin_id: int):
    bulletin = ops.visible_bulletin(bulletin_id, current_user)
    form = ConfirmForm()
    if not form.validate_on_submit():
        abort(400)
    _receipt, newly = ops.confirm_bulletin(bulletin, current_user)
    db.session.commit()
    if newly:
        flash(_("Recorded: you have studied %(issue)s.", issue=bulletin.issue_label), "success")
    else:
        flash(_("You had already confirmed this bulletin; the hours are credited once."), "info")
    return redirect(url_for("study.read", bulletin_id=bulletin.id))


# --- legal department: bulletins ---------------------------------------------------------------------

@bp.route("/study/manage")
@roles_required("legal")
def manage():
    query, query_error = _search_arg()
    status = request.args.get("status", "")
    stmt = select(Bulletin).order_by(Bulletin.year.desc(), Bulletin.number.desc())
    if query:
        stmt = stmt.where(ops.search_condition(query))
    if status in {"draft", "published", "withdrawn"}:
        stmt = stmt.where(Bulletin.status == status)
    bulletins = db.session.scalars(stmt).all()
    return render_template("study/manage.html", bulletins=bulletins, q=query, status=status,
                           q_raw=request.args.get("q", "")[:100], query_error=query_error,
                           highlight=highlight, excerpt=excerpt, confirm=ConfirmForm())


def _bulletin_form(bulletin: Bulletin | None) -> BulletinForm:
    form = BulletinForm(obj=bulletin)
    form.law_ids.choices = [(law.id, law.name) for law in db.session.scalars(select(Law).order_by(Law.name))]
    departments = db.session.scalars(select(Department)).all()
    form.department_ids.choices = sorted(((d.id, d.path) for d in departments), key=lambda c: c[1])
    if request.method == "GET":
        if bulletin is None:
            form.year.data = local_today().year
            form.number.data = ops.suggest_number(form.year.data)
        else:
            form.law_ids.data = [law.id for law in bulletin.laws]
            form.department_ids.data = [d.id for d in bulletin.departments]
    return form


def _bulletin_data(form: BulletinForm) -> ops.BulletinData:
    law_ids = form.law_ids.data or []
    dept_ids = form.department_ids.data or []
    laws = db.session.scalars(select(Law).where(Law.id.in_(law_ids))).all() if law_ids else []
    depts = db.session.scalars(select(Department).where(Department.id.in_(dept_ids))).all() if dept_ids else []
    return ops.BulletinData(
        year=form.year.data, number=form.number.data, title=form.title.data, summary=form.summary.data or "",
        body_source=form.body_source.data or "", body_format=form.body_format.data, laws=list(laws),
        audience=form.audience.data, departments=list(depts), required_by=form.required_by.data,
        hours=form.hours.data if form.hours.data is not None else 0,
    )


def _checked_original(form: BulletinForm) -> uploads.CheckedFile | None:
    storage = form.original.data
    if storage is None or not getattr(storage, "filename", None):
        return None
    return uploads.check_upload(storage, ops.ORIGINAL_KINDS, current_app.config["STUDY_UPLOAD_MAX_BYTES"])


@bp.route("/study/manage/new", methods=["GET", "POST"])
@bp.route("/study/manage/<int:bulletin_id>/edit", methods=["GET", "POST"])
@roles_required("legal")
def edit(bulletin_id: int | None = None):
    bulletin = ops.get_bulletin(bulletin_id) if bulletin_id else None
    form = _bulletin_form(bulletin)
    status = 200
    if form.validate_on_submit():
        try:
            original = _checked_original(form)
            if bulletin is None:
                bulletin = ops.create_bulletin(_bulletin_data(form), by=current_user, original=original)
            else:
                ops.update_bulletin(bulletin, _bulletin_data(form), original=original,
                                    remove_original=form.remove_original.data)
        except DomainError as exc:
            db.session.rollback()
            uploads.discard_uncommitted(db.session)
            flash(exc.message, "danger")
            status = exc.status_code
            bulletin = ops.get_bulletin(bulletin_id) if bulletin_id else None
        else:
            db.session.commit()
            flash(_("Saved %(issue)s.", issue=bulletin.issue_label), "success")
            return redirect(url_for("study.manage"))
    elif request.method == "POST":
        status = 422
    return render_template("study/form.html", form=form, bulletin=bulletin), status


@bp.route("/study/manage/<int:bulletin_id>/publish", methods=["POST"])
@roles_required("legal")
def publish(bulletin_id: int):
    return _change_status(bulletin_id, ops.publish_bulletin, _("Published %(issue)s."))


@bp.route("/study/manage/<int:bulletin_id>/withdraw", methods=["POST"])
@roles_required("legal")
def withdraw(bulletin_id: int):
    return _change_status(bulletin_id, ops.withdraw_bulletin, _("Withdrew %(issue)s."))


def _change_status(bulletin_id: int, operation, message: str):
    bulletin = ops.get_bulletin(bulletin_id)
    if not ConfirmForm().validate_on_submit():
        abort(400)
    try:
        operation(bulletin)
    except DomainError as exc:
        db.session.rollback()
        flash(exc.message, "danger")
    else:
        db.session.commit()
        flash(message % {"issue": bulletin.issue_label}, "success")
    return redirect(url_for("study.manage"))


@bp.route("/study/manage/<int:bulletin_id>/readers")
@roles_required("legal")
def readers(bulletin_id: int):
    bulletin = ops.get_bulletin(bulletin_id)
    rows, by_department = ops.reading_report(bulletin)
    return render_template("study/readers.html", bulletin=bulletin, rows=rows, by_department=by_department,
                           overdue=[r for r in rows if r.overdue])


@bp.route("/study/manage/<int:bulletin_id>/readers.xlsx")
@roles_required("legal")
def readers_export(bulletin_id: int):
    bulletin = ops.get_bulletin(bulletin_id)
    rows, _summary = ops.reading_report(bulletin)
    return send_file(
        io.BytesIO(ops.reading_workbook(bulletin, rows)),
        mimetype=uploads.KINDS["xlsx"][1],
        as_attachment=True,
        download_name=f"{bulletin.issue_label}学习情况.xlsx",
    )


# --- training (legal and HR) -------------------------------------------------------------------------

@bp.route("/training")
@roles_required("legal", "hr")
def training():
    sessions = db.session.scalars(
        select(TrainingSession).order_by(TrainingSession.held_on.desc(), TrainingSession.id.desc()).limit(500)
    ).all()
    return render_template("study/training.html", sessions=sessions)


def _staff_choices() -> list[tuple[int, str]]:
    users = db.session.scalars(
        select(User).where(User.active.is_(True), User.employment_status.in_(audience.ASSIGNED_STATUSES))
        .order_by(User.username)
    ).all()
    return [(u.id, f"{u.username} {u.name}" + (f"({u.department.name})" if u.department else "")) for u in users]


@bp.route("/training/new", methods=["GET", "POST"])
@roles_required("legal", "hr")
def training_new():
    form = TrainingSessionForm()
    form.attendee_ids.choices = _staff_choices()
    errors, status = [], 200
    if form.validate_on_submit():
        try:
            attendees = list(db.session.scalars(select(User).where(User.id.in_(form.attendee_ids.data or []))))
            storage = form.attendance_file.data
            if storage is not None and getattr(storage, "filename", None):
                checked = uploads.check_upload(storage, {"xlsx"}, current_app.config["STUDY_UPLOAD_MAX_BYTES"])
                attendees += ops.parse_attendance(checked.data)
            session = ops.create_training_session(
                ops.SessionData(title=form.title.data, kind=form.kind.data, held_on=form.held_on.data,
                                hours=form.hours.data, organiser=form.organiser.data),
                attendees, by=current_user,
            )
        except DomainError as exc:
            db.session.rollback()
            flash(exc.message, "danger")
            errors = exc.details if isinstance(exc, ImportRejected) else []
            status = exc.status_code
        else:
            db.session.commit()
            flash(_("Saved; %(n)d attendees credited.", n=len(session.attendances)), "success")
            return redirect(url_for("study.training_detail", session_id=session.id))
    elif request.method == "POST":
        status = 422
    return render_template("study/training_form.html", form=form, errors=errors), status


@bp.route("/training/<int:session_id>")
@roles_required("legal", "hr")
def training_detail(session_id: int):
    session = db.get_or_404(TrainingSession, session_id)
    attendees = sorted((a.user for a in session.attendances), key=lambda u: u.username)
    return render_template("study/training_detail.html", session=session, attendees=attendees)


@bp.route("/training/template.xlsx")
@roles_required("legal", "hr")
def training_template():
    return send_file(io.BytesIO(ops.attendance_template()), mimetype=uploads.KINDS["xlsx"][1],
                     as_attachment=True, download_name="参训人员名单模板.xlsx")


@bp.route("/training/hours")
@roles_required("legal", "hr")
def hours_report():
    today = local_today()
    try:
        year = int(request.args.get("year", today.year))
    except ValueError:
        year = today.year
    if not 2000 <= year <= 2100:
        year = today.year
    dept_id = request.args.get("department", type=int)
    stmt = select(User).where(User.active.is_(True), User.employment_status.in_(audience.ASSIGNED_STATUSES))
    if dept_id:
        stmt = stmt.where(User.department_id.in_(audience.subtree_ids([dept_id])))
    people = db.session.scalars(stmt.order_by(User.username)).all()
    totals = hours.training_hours([u.id for u in people], *hours.year_range(year))
    departments = sorted(((d.id, d.path) for d in db.session.scalars(select(Department))), key=lambda c: c[1])
    return render_template("study/hours.html", people=people, totals=totals, year=year,
                           required=hours.required_hours(), departments=departments, dept_id=dept_id,
                           years=range(today.year, today.year - 6, -1))
