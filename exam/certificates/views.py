"""Certificate pages: HR workflow, the holder's own page, and the public verification pages."""

from __future__ import annotations

import io

from flask import Response, abort, current_app, flash, redirect, render_template, request, send_file, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import or_, select
from sqlalchemy.orm import selectinload

from exam.accounts.models import Department, User
from exam.certificates import bp, lists, printing
from exam.certificates import operations as ops
from exam.certificates.forms import (
    LIST_KINDS,
    ApplyForm,
    CategoryForm,
    IssueForm,
    ListForm,
    PhotoForm,
    ReviewForm,
    StatusForm,
    VerifyForm,
)
from exam.certificates.models import STATUSES, Certificate, EnforcementCategory, HolderPhoto, PrintedList
from exam.core.access import login_required, public, roles_required
from exam.core.errors import DomainError
from exam.core.timeutil import local_today
from exam.core.uploads import read_upload
from exam.core.web import commit_or_flash, page_arg
from exam.extensions import db, limiter


def _categories() -> list[EnforcementCategory]:
    return db.session.scalars(select(EnforcementCategory).where(EnforcementCategory.active)
                              .order_by(EnforcementCategory.name)).all()


def _category_choices(blank: bool = False) -> list[tuple[int, str]]:
    return ([(0, _("All enforcement categories"))] if blank else []) + [(c.id, c.name) for c in _categories()]


def _cert_or_404(cert_id: int) -> Certificate:
    return db.get_or_404(Certificate, cert_id)


# --- the holder ----------------------------------------------------------------------------------------

@bp.route("/certificates/mine")
@login_required
def mine():
    certs = db.session.scalars(select(Certificate).where(Certificate.holder_id == current_user.id)
                               .order_by(Certificate.issued_on.desc())).all()
    held = [c for c in certs if c.status in ("valid", "suspended")]
    renewal = ops.renewal_check(held) if held else {}
    today = local_today()
    review = {cert.id: reasons for cert, reasons in ops.annual_review(today.year) if cert.holder_id == current_user.id}
    verdicts = {}
    held_categories = {c.category_id for c in held}
    for category in _categories():
        if category.id not in held_categories:
            verdicts[category] = ops.check_eligibility([current_user], category)[current_user.id]
    return render_template("certificates/mine.html", certs=certs, renewal=renewal, review=review,
                           verdicts=verdicts, today=today, public_status=ops.public_status)


# --- HR: list, apply, issue ----------------------------------------------------------------------------

@bp.route("/certificates")
@roles_required("hr")
def manage():
    q = request.args.get("q", "").strip()[:64]
    status = request.args.get("status", "")
    stmt = (select(Certificate).join(Certificate.holder).options(selectinload(Certificate.holder),
                                                                 selectinload(Certificate.category))
            .order_by(Certificate.issued_on.desc(), Certificate.id.desc()))
    if q:
        like = f"%{q}%"
        stmt = stmt.where(or_(Certificate.number.ilike(like), User.name.ilike(like), User.username.ilike(like)))
    if status in STATUSES:
        stmt = stmt.where(Certificate.status == status)
    page = db.paginate(stmt, page=page_arg(), per_page=50, error_out=False)
    return render_template("certificates/manage.html", page=page, q=q, status=status, statuses=STATUSES)


def _people_for(form: ApplyForm) -> list[User]:
    stmt = select(User).options(selectinload(User.department)).where(User.active).order_by(User.username)
    names = [n.strip() for n in (form.usernames.data or "").split() if n.strip()]
    if names:
        stmt = stmt.where(User.username.in_(names[:5000]))
    elif form.department_id.data:
        dept = db.session.get(Department, form.department_id.data)
        ids = _subtree_ids(dept) if dept else []
        stmt = stmt.where(User.department_id.in_(ids))
    return db.session.scalars(stmt).all()


def _subtree_ids(dept: Department) -> list[int]:
    ids, todo = [], [dept]
    while todo:
        node = todo.pop()
        ids.append(node.id)
        todo.extend(node.children)
    return ids


@bp.route("/certificates/apply", methods=["GET", "POST"])
@roles_required("hr")
def apply():
    """申领 for one person or a batch: every person's eligibility with every reason."""
    form = ApplyForm()
    form.category_id.choices = _category_choices()
    departments = db.session.scalars(select(Department).order_by(Department.name)).all()
    form.department_id.choices = [(0, _("All departments"))] + sorted(((d.id, d.path) for d in departments),
                                                                       key=lambda c: c[1])
    verdicts, category = None, None
    if form.validate_on_submit():
        category = db.session.get(EnforcementCategory, form.category_id.data)
        if category is None:
            abort(404)
        verdicts = ops.check_eligibility(_people_for(form), category)
    return render_template("certificates/apply.html", form=form, verdicts=verdicts, category=category,
                           issue_form=IssueForm())


@bp.route("/certificates/issue", methods=["POST"])
@roles_required("hr")
def issue():
    """Issue to the chosen people; each is re-checked inside its own transaction step."""
    form = IssueForm()
    if not form.validate_on_submit():
        flash(_("The form was incomplete."), "danger")
        return redirect(url_for("certificates.apply"))
    category = db.get_or_404(EnforcementCategory, form.category_id.data)
    user_ids = [int(v) for v in request.form.getlist("user_id") if v.isdigit()][:5000]
    users = db.session.scalars(select(User).where(User.id.in_(user_ids)).order_by(User.username)).all()
    issued, refused = [], []
    for user in users:
        try:
            with db.session.begin_nested():
                issued.append(ops.issue_certificate(user, category, area=form.area.data,
                                                    source_of_power=form.source_of_power.data,
                                                    issued_by=current_user))
        except DomainError as exc:
            refused.append((user, exc.message))
    db.session.commit()
    return render_template("certificates/issued.html", issued=issued, refused=refused, category=category)


# --- HR: one certificate -------------------------------------------------------------------------------

@bp.route("/certificates/<int:cert_id>")
@roles_required("hr")
def detail(cert_id: int):
    cert = _cert_or_404(cert_id)
    return render_template("certificates/detail.html", cert=cert, status_form=StatusForm(), photo_form=PhotoForm(),
                           renewal=ops.renewal_check([cert])[cert.id], verify_url=printing.verify_url(cert),
                           public_status=ops.public_status(cert))


@bp.route("/certificates/<int:cert_id>/status", methods=["POST"])
@roles_required("hr")
def change_status(cert_id: int):
    cert = _cert_or_404(cert_id)
    form = StatusForm()
    if form.validate_on_submit():
        try:
            ops.change_status(cert, form.status.data, reason=form.reason.data, effective_on=form.effective_on.data,
                              by=current_user)
        except DomainError as exc:
            db.session.rollback()
            flash(exc.message, "danger")
        else:
            db.session.commit()
            flash(_("The certificate is now %(status)s.", status=cert.status_label), "success")
    else:
        flash(_("A reason is required."), "danger")
    return redirect(url_for("certificates.detail", cert_id=cert_id))


@bp.route("/certificates/<int:cert_id>/renew", methods=["POST"])
@roles_required("hr")
def renew(cert_id: int):
    cert = _cert_or_404(cert_id)  # CSRFProtect has already checked the token of this POST
    try:
        new = ops.renew_certificate(cert, renewed_by=current_user)
    except DomainError as exc:
        db.session.rollback()
        flash(exc.message, "danger")
        return redirect(url_for("certificates.detail", cert_id=cert_id))
    db.session.commit()
    flash(_("Renewed: the new certificate is %(number)s.", number=new.number), "success")
    return redirect(url_for("certificates.detail", cert_id=new.id))


@bp.route("/certificates/<int:cert_id>/card.pdf")
@roles_required("hr")
def card(cert_id: int):
    cert = _cert_or_404(cert_id)
    pdf = printing.certificate_card_pdf(cert)
    return send_file(io.BytesIO(pdf), mimetype="application/pdf", download_name=f"执法证-{cert.number}.pdf")


@bp.route("/certificates/people/<int:user_id>/photo", methods=["POST"])
@roles_required("hr")
def upload_photo(user_id: int):
    user = db.get_or_404(User, user_id)
    form = PhotoForm()
    if form.validate_on_submit():
        def save():
            # read at most the limit plus one byte: a huge file is refused without being held in memory
            data, _name = read_upload(form.photo.data, int(current_app.config["CERT_PHOTO_MAX_BYTES"]))
            return ops.set_photo(user, data, by=current_user)

        commit_or_flash(save, _("Photo saved."))
    return redirect(request.referrer if request.referrer and request.referrer.startswith(request.host_url)
                    else url_for("certificates.manage"))


@bp.route("/certificates/people/<int:user_id>/photo.jpg")
@login_required
def photo(user_id: int):
    if user_id != current_user.id and not current_user.has_role("hr"):
        abort(404)
    item = db.get_or_404(HolderPhoto, user_id)
    return Response(item.content, mimetype=item.mime, headers={"Cache-Control": "private, max-age=300"})


# --- HR: lists and annual review ------------------------------------------------------------------------

@bp.route("/certificates/lists", methods=["GET", "POST"])
@roles_required("hr")
def hr_lists():
    form = ListForm(request.values, meta={"csrf": request.method == "POST"})
    form.category_id.choices = _category_choices(blank=True)
    title = columns = rows = None
    if request.values.get("kind") in LIST_KINDS and form.validate():
        category = db.session.get(EnforcementCategory, form.category_id.data) if form.category_id.data else None
        try:
            if request.method == "POST":
                printed = lists.print_list(form.kind.data, category, by=current_user, year=form.year.data)
                db.session.commit()
                return redirect(url_for("certificates.printed_list", serial=printed.serial,
                                        fmt=request.form.get("fmt", "pdf")))
            title, columns, rows = lists.build_list(form.kind.data, category, year=form.year.data)
        except DomainError as exc:
            db.session.rollback()
            flash(exc.message, "danger")
    printed = db.session.scalars(select(PrintedList).order_by(PrintedList.id.desc()).limit(20)).all()
    return render_template("certificates/lists.html", form=form, title=title, columns=columns, rows=rows,
                           printed=printed)


@bp.route("/certificates/lists/<serial>.<fmt>")
@roles_required("hr")
def printed_list(serial: str, fmt: str):
    printed = db.session.scalar(select(PrintedList).where(PrintedList.serial == serial[:32]))
    if printed is None or fmt not in {"pdf", "xlsx"}:
        abort(404)
    if fmt == "xlsx":
        return send_file(io.BytesIO(lists.list_xlsx(printed)), as_attachment=True,
                         mimetype="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                         download_name=f"{printed.serial}.xlsx")
    return send_file(io.BytesIO(printing.list_pdf(printed)), mimetype="application/pdf",
                     download_name=f"{printed.serial}.pdf")


@bp.route("/certificates/review", methods=["GET", "POST"])
@roles_required("hr")
def review():
    form = ReviewForm(request.values, meta={"csrf": request.method == "POST"})
    form.category_id.choices = _category_choices(blank=True)
    if not form.year.data:
        form.year.data = local_today().year
    results = None
    if form.validate():
        category = db.session.get(EnforcementCategory, form.category_id.data) if form.category_id.data else None
        results = ops.annual_review(form.year.data, category)
        if request.method == "POST":
            count = ops.record_annual_review(form.year.data, results, current_user)
            db.session.commit()
            flash(_("Annual review recorded: %(n)d passed.", n=count), "success")
            return redirect(url_for("certificates.review", year=form.year.data, category_id=form.category_id.data))
    return render_template("certificates/review.html", form=form, results=results)


# --- admin: categories --------------------------------------------------------------------------------

@bp.route("/admin/certificate-categories", methods=["GET", "POST"])
@bp.route("/admin/certificate-categories/<int:category_id>", methods=["GET", "POST"])
@roles_required("admin")
def categories(category_id: int | None = None):
    category = db.get_or_404(EnforcementCategory, category_id) if category_id else None
    form = CategoryForm(obj=category)
    if request.method == "GET" and category:
        form.qualification_subjects.data = "、".join(r.subject for r in category.requirements
                                                     if r.purpose == "qualification" and r.subject)
        form.renewal_subjects.data = "、".join(r.subject for r in category.requirements
                                               if r.purpose == "renewal" and r.subject)
    if form.validate_on_submit():
        try:
            if category is not None and category.name != form.name.data.strip():
                category.name = form.name.data.strip()
            saved = ops.ensure_category(form.name.data, code=form.code.data, validity_years=form.validity_years.data,
                                        area=form.default_area.data or None,
                                        source_of_power=form.default_source_of_power.data or None)
            for purpose, text in (("qualification", form.qualification_subjects.data),
                                  ("renewal", form.renewal_subjects.data)):
                ops.set_requirements(saved, purpose, _split(text))
        except DomainError as exc:
            db.session.rollback()
            flash(exc.message, "danger")
        else:
            db.session.commit()
            flash(_("Saved."), "success")
            return redirect(url_for("certificates.categories"))
    return render_template("certificates/categories.html", form=form, category=category,
                           categories=_categories())


def _split(text: str | None) -> list[str]:
    import re

    return [s for s in (p.strip() for p in re.split(r"[,,、;;\n]+", text or "")) if s]


# --- public: verification and the list of officers -----------------------------------------------------

def _verify_limit() -> str:
    return current_app.config["VERIFY_RATE_LIMIT"]


@bp.route("/verify/<token>")
@public
@limiter.limit(_verify_limit)
def verify(token: str):
    try:
        cert = ops.by_token(token)
    except DomainError:
        return render_template("certificates/verify.html", cert=None, form=VerifyForm(), not_found=True), 404
    return render_template("certificates/verify.html", cert=cert, status=ops.public_status(cert), form=VerifyForm())


@bp.route("/verify", methods=["GET", "POST"])
@public
@limiter.limit(_verify_limit)
def verify_number():
    form = VerifyForm()
    cert, not_found = None, False
    if form.validate_on_submit():
        try:
            cert = ops.by_number(form.number.data)
        except DomainError:
            not_found = True
    return render_template("certificates/verify.html", cert=cert, form=form, not_found=not_found,
                           status=ops.public_status(cert) if cert else None), (404 if not_found else 200)


@bp.route("/officers")
@public
@limiter.limit(_verify_limit)
def officers():
    """执法人员公示: holders of valid certificates, by department. Names, units and numbers only."""
    today = local_today()
    certs = db.session.scalars(
        select(Certificate).options(selectinload(Certificate.holder).selectinload(User.department),
                                    selectinload(Certificate.category))
        .where(Certificate.status == "valid", Certificate.valid_until >= today)
        .order_by(Certificate.number)).all()
    groups: dict[str, list[Certificate]] = {}
    for cert in certs:
        groups.setdefault(cert.holder.department.path if cert.holder.department else "", []).append(cert)
    return render_template("certificates/officers.html", groups=sorted(groups.items()), today=today)


