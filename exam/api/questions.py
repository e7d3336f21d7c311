"""The question bank over the API: filtered lists and imports (legal department)."""

from __future__ import annotations

from flask import jsonify, request
from flask_babel import gettext as _
from flask_login import current_user
from flask_smorest import abort
from marshmallow import Schema, fields, validate

from exam.api import api_blueprint
from exam.core.access import roles_required
from exam.core.errors import ImportRejected
from exam.extensions import db
from question_bank import operations as ops
from question_bank.importer import FORMATS, import_questions
from question_bank.models import QUESTION_STATUSES, Question
from question_bank.types import QUESTION_TYPES

blp = api_blueprint("api_questions", __name__, "Questions")


class QuestionArgsSchema(Schema):
    page = fields.Integer(load_default=1, validate=validate.Range(min=1, max=100_000))
    per_page = fields.Integer(load_default=100, validate=validate.Range(min=1, max=500))
    q = fields.String(load_default="", validate=validate.Length(max=100))
    type = fields.String(load_default=None, validate=validate.OneOf(list(QUESTION_TYPES)))
    status = fields.String(load_default=None, validate=validate.OneOf(QUESTION_STATUSES))
    category_id = fields.Integer(load_default=None)
    category = fields.String(load_default=None, metadata={"description": "category path, e.g. 公共法律知识/行政处罚"})
    tag_id = fields.Integer(load_default=None)
    law_id = fields.Integer(load_default=None)
    difficulty = fields.Integer(load_default=None, validate=validate.Range(min=1, max=5))
    needs_review = fields.Boolean(load_default=None)


class QuestionSchema(Schema):
    id = fields.Integer()
    type = fields.String()
    status = fields.String()
    version = fields.Integer(attribute="current_number")
    stem = fields.Function(lambda q: q.current.stem)
    options = fields.Function(lambda q: q.current.options)
    answer = fields.Function(lambda q: q.current.answer)
    explanation = fields.Function(lambda q: q.current.explanation)
    difficulty = fields.Integer()
    category = fields.Function(lambda q: q.category.path if q.category else None)
    law = fields.Function(lambda q: q.law.name if q.law else None)
    article = fields.String(allow_none=True)
    source = fields.String(allow_none=True)
    tags = fields.Function(lambda q: [t.name for t in q.tags])
    needs_review = fields.Boolean()
    review_reason = fields.String(allow_none=True)


class ImportFormSchema(Schema):
    format = fields.String(load_default=None, validate=validate.OneOf(FORMATS))
    category = fields.String(load_default="", validate=validate.Length(max=300))
    update = fields.Boolean(load_default=False)
    dry_run = fields.Boolean(load_default=False)


@blp.route("/questions", methods=["GET"])
@roles_required("legal")
@blp.arguments(QuestionArgsSchema, location="query")
@blp.response(200, QuestionSchema(many=True))
def list_questions(args):
    """Questions of the bank, filtered (at most 500 a page)."""
    f = ops.QuestionFilter(type=args["type"], status=args["status"], category_id=args["category_id"],
                           tag_id=args["tag_id"], law_id=args["law_id"], difficulty=args["difficulty"],
                           needs_review=args["needs_review"], q=args["q"].strip())
    if args["category"]:
        category = ops.find_category(args["category"])
        if category is None:
            abort(404, message=_("The category does not exist."))
        f.category_id = category.id
    return db.paginate(ops.filtered_questions(f), page=args["page"], per_page=args["per_page"],
                       error_out=False).items


@blp.route("/questions/<int:question_id>", methods=["GET"])
@roles_required("legal")
@blp.response(200, QuestionSchema)
def get_question(question_id):
    return db.get_or_404(Question, question_id)


@blp.route("/questions/import", methods=["POST"])
@roles_required("legal")
@blp.arguments(ImportFormSchema, location="form")
@blp.doc(responses={200: {"description": "{imported, duplicates, errors: []}"},
                    422: {"description": "Nothing imported; errors lists each bad row {row, message}"}})
def import_file(args):
    """Import a file of questions (multipart field ``file``): all or nothing."""
    upload = request.files.get("file")
    if upload is None or not upload.filename:
        abort(400, message=_("Choose a file to import."))
    data = upload.read()
    try:
        report = import_questions(data, upload.filename, fmt=args["format"], category_path=args["category"],
                                  update=args["update"], dry_run=args["dry_run"], by=current_user)
    except ImportRejected as exc:
        db.session.rollback()
        errors = exc.details or [{"row": None, "message": exc.message}]
        response = jsonify({"imported": 0, "updated": 0, "duplicates": 0, "errors": errors, "message": exc.message})
        response.status_code = 422
        return response
    if args["dry_run"]:
        db.session.rollback()
    else:
        db.session.commit()
    return jsonify(report.as_json())
