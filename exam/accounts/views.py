from __future__ import annotations

import io

from flask import flash, g, redirect, render_template, request, send_file, session, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_user, logout_user
from sqlalchemy import or_, select

from exam.accounts import bp
from exam.accounts import operations as ops
from exam.accounts.forms import (
    ChangePasswordForm,
    ConfirmForm,
    DepartmentForm,
    LanguageForm,
    LoginForm,
    RosterImportForm,
    UserForm,
)
from exam.accounts.models import ROLE_LABELS, Department, User
from exam.accounts.roster import import_roster, template_workbook
from exam.core import audit
from exam.core.access import login_required, public, roles_required
from exam.core.errors import DomainError, ImportRejected
from exam.core.timeutil import utcnow
from exam.core.web import commit_or_flash, next_or, page_arg
from exam.extensions import db, limiter


def _login_failed(_response) -> bool:
    return bool(g.get("login_failed"))


def _login_limit() -> str:
    from flask import current_app

    return current_app.config["LOGIN_FAILURE_LIMIT"]


@bp.route("/login", methods=["GET", "POST"])
@public
@limiter.limit(_login_limit, methods=["POST"], deduct_when=_login_failed)
def login():
    if current_user.is_authenticated:
        return redirect(next_or("main.index"))
    form = LoginForm()
    if form.validate_on_submit():
        user = ops.authenticate(form.username.data, form.password.data)
        if user is None:
            g.login_failed = True
            audit.record("login.failed", None, actor_username=form.username.data.strip()[:64])
            db.session.commit()
            flash(_("Wrong staff number or password, or the account is disabled."), "danger")
            return render_template("accounts/login.html", form=form), 200
        target = next_or("main.index")
        session.clear()  # a fresh session on login: nothing set before it survives (fixation)
        login_user(user)
        user.last_login_at = utcnow()
        audit.record("login", user, actor=user)
        db.session.commit()
        if user.language:
            session["language"] = user.language
        return redirect(target)
    return render_template("accounts/login.html", form=form)


@bp.route("/logout", methods=["POST"])
@login_required
def logout():
    logout_user()
    session.clear()
    flash(_("You have signed out."), "info")
    return redirect(url_for("accounts.login"))


@bp.route("/account/password", methods=["GET", "POST"])
@login_required
def change_password():
    form = ChangePasswordForm()
    if form.validate_on_submit():
        try:
            ops.change_password(current_user, form.current.data, form.new.data)
        except DomainError as exc:
            db.session.rollback()
            flash(exc.message, "danger")
        else:
            db.session.commit()
            login_user(current_user._get_current_object())  # keep this session, under the new version
            flash(_("Your password has been changed."), "success")
            return redirect(url_for("main.index"))
    return render_template("accounts/password.html", form=form)


@bp.route("/language", methods=["POST"])
@public
def set_language():
    form = LanguageForm()
    if form.validate_on_submit():
        session["language"] = form.language.data
        if current_user.is_authenticated:
            current_user.language = form.language.data
            db.session.commit()
    return redirect(next_or("main.index"))


# --- administration: users ---------------------------------------------------------------------------

def _department_choices(blank: bool = True) -> list[tuple[int, str]]:
    departments = db.session.scalars(select(Department).order_by(Department.sort_order, Department.name)).all()
    choices = sorted(((d.id, d.path) for d in departments), key=lambda c: c[1])
    return ([(0, "—")] if blank else []) + choices


@bp.route("/admin/users")
@roles_required("hr", "admin")
def users():
    q = request.args.get("q", "").strip()[:64]
    stmt = select(User).order_by(User.username)
    if q:
        like = f"%{q}%"
        stmt = stmt.outerjoin(Department).where(
            or_(User.username.ilike(like), User.name.ilike(like), Department.name.ilike(like))
        )
    page = db.paginate(stmt, page=page_arg(), per_page=50, error_out=False)
    return render_template("accounts/users.html", page=page, q=q, confirm=ConfirmForm(), role_labels=ROLE_LABELS)


def _user_data(form: UserForm) -> ops.UserData:
    department = db.session.get(Department, form.department_id.data) if form.department_id.data else None
    return ops.UserData(
        username=form.username.data.strip(),
        name=form.name.data,
        department=department,
        post=form.post.data,
        employment_status=form.employment_status.data,
        is_leader=form.is_leader.data,
        roles=set(form.roles.data or []),
        language=form.language.data or None,
    )


@bp.route("/admin/users/new", methods=["GET", "POST"])
@roles_required("hr", "admin")
def user_new():
    form = UserForm()
    form.department_id.choices = _department_choices()
    if form.validate_on_submit():
        data = _user_data(form)
        if not current_user.has_role("admin"):
            data.roles = set()  # only administrators assign roles
        try:
            user, password = ops.create_user(data)
        except DomainError as exc:
            db.session.rollback()
            flash(exc.message, "danger")
        else:
            db.session.commit()
            return render_template("accounts/password_once.html", accounts=[(user, password)])
    return render_template("accounts/user_form.html", form=form, user=None)


@bp.route("/admin/users/<int:user_id>/edit", methods=["GET", "POST"])
@roles_required("hr", "admin")
def user_edit(user_id: int):
    user = db.get_or_404(User, user_id)
    form = UserForm(obj=user)
    form.department_id.choices = _department_choices()
    if request.method == "GET":
        form.roles.data = sorted(user.roles - {"examinee"})
        form.department_id.data = user.department_id or 0
        form.language.data = user.language or ""
    form.username.data = user.username  # the staff number is the key; it does not change here
    if form.validate_on_submit():
        data = _user_data(form)
        is_admin = current_user.has_role("admin")
        if not is_admin:
            data.roles = user.roles - {"examinee"}
        try:
            ops.require_single_admin_left(user, data.roles)
            ops.update_user(user, data, can_grant_admin=is_admin)
        except DomainError as exc:
            db.session.rollback()
            flash(exc.message, "danger")
        else:
            db.session.commit()
            flash(_("Saved."), "success")
            return redirect(url_for("accounts.users"))
    return render_template("accounts/user_form.html", form=form, user=user)


@bp.route("/admin/users/<int:user_id>/active", methods=["POST"])
@roles_required("hr", "admin")
def user_set_active(user_id: int):
    user = db.get_or_404(User, user_id)
    form = ConfirmForm()
    if form.validate_on_submit():
        activate = request.form.get("active") == "1"

        def change():
            if not activate:
                ops.require_single_admin_left(user, set())
            ops.set_active(user, activate, by=current_user)

        commit_or_flash(change, _("Saved."))
    return redirect(url_for("accounts.users"))


@bp.route("/admin/users/<int:user_id>/reset-password", methods=["POST"])
@roles_required("hr", "admin")
def user_reset_password(user_id: int):
    user = db.get_or_404(User, user_id)
    form = ConfirmForm()
    if not form.validate_on_submit():
        return redirect(url_for("accounts.users"))
    if user.has_role("admin") and not current_user.has_role("admin"):
        flash(_("Only an administrator may reset an administrator's password."), "danger")
        return redirect(url_for("accounts.users"))
    password = ops.generate_password()
    ops.set_password(user, password, must_change=True)
    db.session.commit()
    return render_template("accounts/password_once.html", accounts=[(user, password)])


# --- administration: departments ----------------------------------------------------------------------

@bp.route("/admin/departments")
@roles_required("hr", "admin")
def departments():
    roots = db.session.scalars(
        select(Department).where(Department.parent_id.is_(None)).order_by(Department.sort_order, Department.name)
    ).all()
    return render_template("accounts/departments.html", roots=roots)


@bp.route("/admin/departments/new", methods=["GET", "POST"])
@bp.route("/admin/departments/<int:dept_id>/edit", methods=["GET", "POST"])
@roles_required("hr", "admin")
def department_edit(dept_id: int | None = None):
    dept = db.get_or_404(Department, dept_id) if dept_id else None
    form = DepartmentForm(obj=dept)
    form.parent_id.choices = [c for c in _department_choices() if not dept or c[0] != dept.id]
    if request.method == "GET" and dept:
        form.parent_id.data = dept.parent_id or 0
    if form.validate_on_submit():
        parent = db.session.get(Department, form.parent_id.data) if form.parent_id.data else None
        if commit_or_flash(lambda: ops.save_department(dept, name=form.name.data, code=form.code.data, parent=parent,
                                                       sort_order=form.sort_order.data or 0), _("Saved.")):
            return redirect(url_for("accounts.departments"))
    return render_template("accounts/department_form.html", form=form, dept=dept)


# --- roster import -------------------------------------------------------------------------------------

@bp.route("/admin/roster", methods=["GET", "POST"])
@roles_required("hr", "admin")
def roster_import():
    form = RosterImportForm()
    errors, rejected = [], False
    if form.validate_on_submit():
        try:
            result = import_roster(
                form.file.data.read(), importer=current_user, create_departments=form.create_departments.data
            )
        except ImportRejected as exc:
            db.session.rollback()
            flash(exc.message, "danger")
            errors, rejected = exc.details, True
        else:
            audit.record(
                "roster.import",
                None,
                after={"created": len(result.created), "updated": len(result.updated), "unchanged": result.unchanged},
            )
            db.session.commit()
            flash(
                _(
                    "Roster imported: %(c)d new, %(u)d updated, %(n)d unchanged.",
                    c=len(result.created),
                    u=len(result.updated),
                    n=result.unchanged,
                ),
                "success",
            )
            return render_template("accounts/password_once.html", accounts=result.created, roster=True)
    return render_template("accounts/roster.html", form=form, errors=errors), (422 if rejected else 200)


@bp.route("/admin/roster/template.xlsx")
@roles_required("hr", "admin")
def roster_template():
    return send_file(
        io.BytesIO(template_workbook()),
        mimetype="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        as_attachment=True,
        download_name="人员名册模板.xlsx",
    )
