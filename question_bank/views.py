"""Views of the question bank (legal role)."""

from __future__ import annotations

import io
import os
import secrets
import time
from pathlib import Path

from flask import abort, current_app, flash, redirect, render_template, request, send_file, session, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import func, select

from exam.core.access import roles_required
from exam.core.errors import DomainError, ImportRejected
from exam.core.timeutil import local_today
from exam.core.web import commit_or_flash, page_arg
from exam.extensions import db
from question_bank import bp
from question_bank import operations as ops
from question_bank.forms import (
    STATUS_LABELS,
    TYPE_LABELS,
    BulkForm,
    CategoryForm,
    ConfirmForm,
    ConfirmImportForm,
    ImportForm,
    LawForm,
    QuestionForm,
)
from question_bank.importer import export_questions, import_questions, load_for_export
from question_bank.models import QUESTION_STATUSES, Category, Law, Question, QuestionVersion, Tag
from question_bank.types import OPTION_KEYS, QUESTION_TYPES, FormatError

PER_PAGE = 30


def _category_choices(blank_label: str = "—") -> list[tuple[int, str]]:
    categories = db.session.scalars(select(Category)).all()
    return [(0, blank_label), *sorted(((c.id, c.path) for c in categories), key=lambda c: c[1])]


def _law_choices() -> list[tuple[int, str]]:
    laws = db.session.scalars(select(Law).order_by(Law.name)).all()
    return [(0, "—")] + [(law.id, law.name) for law in laws]


def _int_arg(name: str) -> int | None:
    value = request.args.get(name, "")
    return int(value) if value.isdigit() and len(value) < 10 else None


def _filter_from_args() -> ops.QuestionFilter:
    review = request.args.get("needs_review")
    qtype = request.args.get("type") or None
    status = request.args.get("status") or None
    return ops.QuestionFilter(
        category_id=_int_arg("category_id"), tag_id=_int_arg("tag_id"), law_id=_int_arg("law_id"),
        type=qtype if qtype in QUESTION_TYPES else None, difficulty=_int_arg("difficulty"),
        status=status if status in QUESTION_STATUSES else None,
        needs_review=True if review == "1" else None, q=request.args.get("q", "").strip()[:100],
    )


def _filter_args(f: ops.QuestionFilter) -> dict:
    values = {"category_id": f.category_id, "tag_id": f.tag_id, "law_id": f.law_id, "type": f.type,
              "difficulty": f.difficulty, "status": f.status, "needs_review": "1" if f.needs_review else None,
              "q": f.q}
    return {k: v for k, v in values.items() if v}


@bp.route("/")
@roles_required("legal")
def index():
    f = _filter_from_args()
    page = db.paginate(ops.filtered_questions(f), page=page_arg(), per_page=PER_PAGE, error_out=False)
    bulk = BulkForm()
    bulk.category_id.choices = _category_choices(_("No category"))
    tags = db.session.scalars(select(Tag).order_by(Tag.name)).all()
    review_count = db.session.scalar(select(func.count()).select_from(Question).where(Question.needs_review))
    return render_template(
        "question_bank/index.html", page=page, f=f, args=_filter_args(f), bulk=bulk, tags=tags,
        categories=_category_choices(_("All categories")), laws=_law_choices(), types=TYPE_LABELS,
        statuses=STATUS_LABELS, review_count=review_count,
    )


@bp.route("/bulk", methods=["POST"])
@roles_required("legal")
def bulk():
    form = BulkForm()
    form.category_id.choices = _category_choices()
    back = request.form.get("back") or ""
    target = back if back.startswith("/bank") and "//" not in back else url_for("question_bank.index")
    if not form.validate_on_submit():
        flash(_("Choose an action."), "danger")
        return redirect(target)
    ids = [int(i) for i in request.form.getlist("ids") if i.isdigit() and len(i) < 10]
    tags = ops.split_tags(form.tags.data or "")
    try:
        if form.action.data in ("add_tags", "remove_tags"):
            if not tags:
                raise ops.QuestionError(_("Enter the tags."))
            count = ops.bulk_retag(ids, **({"add": tags} if form.action.data == "add_tags" else {"remove": tags}))
        elif form.action.data == "move":
            category = db.session.get(Category, form.category_id.data) if form.category_id.data else None
            count = ops.bulk_move(ids, category)
        else:
            count = ops.bulk_set_status(ids, "retired" if form.action.data == "retire" else "active")
    except DomainError as exc:
        db.session.rollback()
        flash(exc.message, "danger")
    else:
        db.session.commit()
        flash(_("%(n)d questions changed.", n=count), "success")
    return redirect(target)


# --- one question ------------------------------------------------------------------------------------

def _prepare_form(form: QuestionForm) -> None:
    form.category_id.choices = _category_choices()
    form.law_id.choices = _law_choices()


def _fill_form(form: QuestionForm, question: Question) -> None:
    version = question.current
    form.stem.data = version.stem
    for option in version.options or []:
        getattr(form, f"option_{option['key']}").data = option["text"]
    qtype = question.qtype
    answer, scoring = qtype.answer_to_cells(version.options, version.answer)
    if question.type in ("single", "multiple"):
        form.answer_letters.data = answer
    elif question.type == "true_false":
        form.answer_truth.data = "true" if version.answer else "false"
    else:
        form.answer_text.data = answer
        form.scoring.data = scoring
    form.explanation.data = version.explanation or ""
    form.difficulty.data = question.difficulty
    form.category_id.data = question.category_id or 0
    form.law_id.data = question.law_id or 0
    form.article.data = question.article or ""
    form.source.data = question.source or ""
    form.tags.data = "、".join(t.name for t in question.tags)
    form.status.data = question.status


def _data_from_form(form: QuestionForm, qtype_code: str) -> ops.QuestionData:
    qtype = QUESTION_TYPES[qtype_code]
    options = []
    if qtype.has_options:
        texts = [(f.data or "").strip() for f in form.option_fields()]
        last = max((i for i, t in enumerate(texts) if t), default=-1)
        options = [{"key": OPTION_KEYS[i], "text": texts[i]} for i in range(last + 1)]
    if qtype_code == "true_false":
        answer_text = "正确" if form.answer_truth.data == "true" else "错误"
    elif qtype.has_options:
        answer_text = form.answer_letters.data or ""
    else:
        answer_text = form.answer_text.data or ""
    try:
        options, answer = qtype.answer_from_cells(options, answer_text, form.scoring.data or "")
    except FormatError as exc:
        raise ops.QuestionError(str(exc)) from exc
    return ops.QuestionData(
        type=qtype_code, stem=(form.stem.data or "").replace("\r\n", "\n").strip(), options=options, answer=answer,
        explanation=form.explanation.data, difficulty=form.difficulty.data,
        category=db.session.get(Category, form.category_id.data) if form.category_id.data else None,
        law=db.session.get(Law, form.law_id.data) if form.law_id.data else None,
        article=(form.article.data or "").strip() or None, source=(form.source.data or "").strip() or None,
        tags=ops.ensure_tags(ops.split_tags(form.tags.data or "")), status=form.status.data,
    )


@bp.route("/questions/new", methods=["GET", "POST"])
@roles_required("legal")
def question_new():
    qtype = request.args.get("type", "single")
    if qtype not in QUESTION_TYPES:
        abort(404)
    form = QuestionForm()
    _prepare_form(form)
    if form.validate_on_submit():
        try:
            question = ops.create_question(_data_from_form(form, qtype), by=current_user)
        except DomainError as exc:
            db.session.rollback()
            flash(exc.message, "danger")
        else:
            db.session.commit()
            flash(_("The question was saved."), "success")
            return redirect(url_for("question_bank.question_view", question_id=question.id))
    return render_template("question_bank/question_form.html", form=form, question=None, qtype=qtype,
                           types=TYPE_LABELS, option_keys=OPTION_KEYS)


@bp.route("/questions/<int:question_id>/edit", methods=["GET", "POST"])
@roles_required("legal")
def question_edit(question_id: int):
    question = db.get_or_404(Question, question_id)
    form = QuestionForm()
    _prepare_form(form)
    if request.method == "GET":
        _fill_form(form, question)
    if form.validate_on_submit():
        try:
            ops.edit_question(question, _data_from_form(form, question.type), by=current_user)
        except DomainError as exc:
            db.session.rollback()
            flash(exc.message, "danger")
        else:
            db.session.commit()
            flash(_("Saved. Earlier versions stay unchanged for the attempts that used them."), "success")
            return redirect(url_for("question_bank.question_view", question_id=question.id))
    return render_template("question_bank/question_form.html", form=form, question=question, qtype=question.type,
                           types=TYPE_LABELS, option_keys=OPTION_KEYS)


@bp.route("/questions/<int:question_id>")
@roles_required("legal")
def question_view(question_id: int):
    question = db.get_or_404(Question, question_id)
    number = request.args.get("version", "")
    version = question.current
    if number.isdigit() and len(number) < 6:
        version = db.session.scalar(select(QuestionVersion).where(
            QuestionVersion.question_id == question.id, QuestionVersion.number == int(number))) or abort(404)
    versions = db.session.scalars(select(QuestionVersion).where(QuestionVersion.question_id == question.id)
                                  .order_by(QuestionVersion.number.desc())).all()
    return render_template("question_bank/question.html", question=question, version=version, versions=versions,
                           types=TYPE_LABELS, statuses=STATUS_LABELS, confirm=ConfirmForm(),
                           usable=question.law is None or question.law.usable_on(local_today()))


@bp.route("/questions/<int:question_id>/preview")
@roles_required("legal")
def question_preview(question_id: int):
    """The question as an examinee sees it: no answer, no explanation."""
    question = db.get_or_404(Question, question_id)
    return render_template("question_bank/preview.html", question=question, version=question.current,
                           types=TYPE_LABELS)


@bp.route("/questions/<int:question_id>/status", methods=["POST"])
@roles_required("legal")
def question_status(question_id: int):
    question = db.get_or_404(Question, question_id)
    form = ConfirmForm()
    status = request.form.get("status", "")
    if form.validate_on_submit() and status in QUESTION_STATUSES:
        ops.set_status(question, status)
        db.session.commit()
        flash(_("Saved."), "success")
    else:
        flash(_("The request was not valid."), "danger")
    return redirect(url_for("question_bank.question_view", question_id=question.id))


@bp.route("/questions/<int:question_id>/reviewed", methods=["POST"])
@roles_required("legal")
def question_reviewed(question_id: int):
    question = db.get_or_404(Question, question_id)
    if ConfirmForm().validate_on_submit():
        ops.clear_review(question)
        db.session.commit()
        flash(_("Marked as reviewed."), "success")
    return redirect(url_for("question_bank.question_view", question_id=question.id))


# --- laws and categories ------------------------------------------------------------------------------

@bp.route("/laws")
@roles_required("legal")
def laws():
    counts = dict(db.session.execute(select(Question.law_id, func.count()).group_by(Question.law_id)).all())
    rows = db.session.scalars(select(Law).order_by(Law.name)).all()
    return render_template("question_bank/laws.html", laws=rows, counts=counts, today=local_today())


@bp.route("/laws/new", methods=["GET", "POST"])
@bp.route("/laws/<int:law_id>/edit", methods=["GET", "POST"])
@roles_required("legal")
def law_edit(law_id: int | None = None):
    law = db.get_or_404(Law, law_id) if law_id else None
    form = LawForm(obj=law)
    if form.validate_on_submit() and commit_or_flash(
        lambda: ops.save_law(law, name=form.name.data, short_name=form.short_name.data,
                             effective_on=form.effective_on.data, amended_on=form.amended_on.data,
                             repealed_on=form.repealed_on.data),
        _("Saved."),
    ):
        return redirect(url_for("question_bank.laws"))
    return render_template("question_bank/law_form.html", form=form, law=law)


@bp.route("/categories")
@roles_required("legal")
def categories():
    counts = dict(db.session.execute(select(Question.category_id, func.count()).group_by(Question.category_id)).all())
    rows = sorted(db.session.scalars(select(Category)).all(), key=lambda c: c.path)
    return render_template("question_bank/categories.html", categories=rows, counts=counts, confirm=ConfirmForm())


@bp.route("/categories/new", methods=["GET", "POST"])
@bp.route("/categories/<int:category_id>/edit", methods=["GET", "POST"])
@roles_required("legal")
def category_edit(category_id: int | None = None):
    category = db.get_or_404(Category, category_id) if category_id else None
    form = CategoryForm(obj=category)
    form.parent_id.choices = [c for c in _category_choices() if not category or c[0] != category.id]
    if request.method == "GET" and category:
        form.parent_id.data = category.parent_id or 0
    if form.validate_on_submit():
        parent = db.session.get(Category, form.parent_id.data) if form.parent_id.data else None
        if commit_or_flash(lambda: ops.save_category(category, name=form.name.data, parent=parent,
                                                     sort_order=form.sort_order.data or 0), _("Saved.")):
            return redirect(url_for("question_bank.categories"))
    return render_template("question_bank/category_form.html", form=form, category=category)


@bp.route("/categories/<int:category_id>/delete", methods=["POST"])
@roles_required("legal")
def category_delete(category_id: int):
    category = db.get_or_404(Category, category_id)
    if ConfirmForm().validate_on_submit():
        commit_or_flash(lambda: ops.delete_category(category), _("Deleted."))
    return redirect(url_for("question_bank.categories"))


# --- import and export --------------------------------------------------------------------------------

def _upload_dir() -> Path:
    """Checked files wait here for the confirmation; those older than a day are removed."""
    path = Path(current_app.instance_path) / "question_imports"
    path.mkdir(parents=True, exist_ok=True)
    cutoff = time.time() - 86_400
    for old in path.iterdir():
        if old.is_file() and old.stat().st_mtime < cutoff:
            old.unlink(missing_ok=True)
    return path


@bp.route("/import", methods=["GET", "POST"])
@roles_required("legal")
def import_page():
    """Upload: the file is checked and a report shown; nothing is imported until it is confirmed."""
    form = ImportForm()
    report = errors = None
    confirm = None
    status = 200
    if form.validate_on_submit():
        upload = form.file.data
        data = upload.read()
        options = {"fmt": form.format.data or None, "category_path": (form.category.data or "").strip(),
                   "update": bool(form.update.data)}
        try:
            report = import_questions(data, upload.filename, dry_run=True, **options)
        except ImportRejected as exc:
            db.session.rollback()
            flash(exc.message, "danger")
            errors, status = exc.details, 422
        else:
            db.session.rollback()
            token = secrets.token_hex(16)
            (_upload_dir() / token).write_bytes(data)
            session["question_import"] = {"token": token, "filename": upload.filename[:200], **options}
            confirm = ConfirmImportForm(token=token)
    elif request.method == "POST":
        status = 400
    return render_template("question_bank/import.html", form=form, report=report, errors=errors,
                           confirm=confirm, types=TYPE_LABELS), status


@bp.route("/import/confirm", methods=["POST"])
@roles_required("legal")
def import_confirm():
    form = ConfirmImportForm()
    pending = session.get("question_import") or {}
    if not form.validate_on_submit() or pending.get("token") != form.token.data:
        flash(_("The upload has expired. Please choose the file again."), "warning")
        return redirect(url_for("question_bank.import_page"))
    path = _upload_dir() / pending["token"]
    if not path.is_file():
        flash(_("The upload has expired. Please choose the file again."), "warning")
        return redirect(url_for("question_bank.import_page"))
    data = path.read_bytes()
    try:
        report = import_questions(data, pending["filename"], fmt=pending["fmt"],
                                  category_path=pending["category_path"], update=pending["update"], by=current_user)
    except ImportRejected as exc:
        db.session.rollback()
        flash(exc.message, "danger")
        return render_template("question_bank/import.html", form=ImportForm(), report=None, errors=exc.details,
                               confirm=None, types=TYPE_LABELS), 422
    db.session.commit()
    os.remove(path)
    session.pop("question_import", None)
    flash(_("Imported %(n)d questions, updated %(u)d, skipped %(d)d duplicates.", n=report.imported,
            u=report.updated, d=len(report.duplicates)), "success")
    return redirect(url_for("question_bank.index"))


@bp.route("/import/template.xlsx")
@roles_required("legal")
def import_template():
    from question_bank.formats.spreadsheet import template_workbook

    return send_file(io.BytesIO(template_workbook()), as_attachment=True, download_name="试题导入模板.xlsx",
                     mimetype="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")


@bp.route("/export")
@roles_required("legal")
def export():
    fmt = request.args.get("format", "xlsx")
    if fmt not in ("xlsx", "gift"):
        abort(404)
    f = _filter_from_args()
    questions = load_for_export(ops.filtered_questions(f).order_by(None).order_by(Question.id))
    data = export_questions(questions, fmt)
    if fmt == "gift":
        return send_file(io.BytesIO(data), as_attachment=True, download_name="题库.gift.txt",
                         mimetype="text/plain; charset=utf-8")
    return send_file(io.BytesIO(data), as_attachment=True, download_name="题库.xlsx",
                     mimetype="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
