"""Report figures for other systems: one exam's statistics, the annual figures of a year."""

from __future__ import annotations

from flask import url_for
from flask_smorest import abort
from marshmallow import Schema, fields

from exam.api import api_blueprint
from exam.core.access import roles_required
from exam.reports import operations as ops
from exam.reports import stats as st

blp = api_blueprint("api_reports", __name__, "Reports")


class FiguresSchema(Schema):
    assigned = fields.Integer()
    took = fields.Integer()
    passed = fields.Integer()
    absent = fields.Integer()
    graded = fields.Integer()
    awaiting_grading = fields.Integer()
    auto_submitted = fields.Integer()
    resat = fields.Integer()
    participation_rate = fields.Float(allow_none=True)
    pass_rate = fields.Float(allow_none=True)
    mean = fields.Float(allow_none=True)
    stdev = fields.Float(allow_none=True)
    highest = fields.Float(allow_none=True)
    lowest = fields.Float(allow_none=True)


class DepartmentFiguresSchema(FiguresSchema):
    department_id = fields.Integer(allow_none=True)
    department = fields.String()


class PersonSchema(Schema):
    id = fields.Integer()
    username = fields.String()
    name = fields.String()
    department = fields.String()
    in_progress = fields.Boolean()
    score = fields.Float(allow_none=True)
    passed = fields.Boolean(allow_none=True)
    employment_status = fields.String()


class CountSchema(Schema):
    label = fields.String()
    count = fields.Integer()


class OptionSchema(Schema):
    key = fields.Raw()
    label = fields.String()
    text = fields.String()
    count = fields.Integer()
    correct = fields.Boolean()


class ItemSchema(Schema):
    question_id = fields.Integer()
    version_id = fields.Integer()
    version_number = fields.Integer()
    position = fields.Integer()
    type = fields.String()
    stem = fields.String()
    responses = fields.Integer()
    unanswered = fields.Integer()
    facility = fields.Float(allow_none=True)
    discrimination = fields.Float(allow_none=True)
    low_discrimination = fields.Boolean()
    distractor_beats_key = fields.Boolean()
    flagged = fields.Boolean()
    options = fields.List(fields.Nested(OptionSchema))


class ExamStatsSchema(Schema):
    exam_id = fields.Integer()
    title = fields.String()
    purpose = fields.String()
    counting_attempt = fields.String()
    max_score = fields.Float()
    figures = fields.Nested(FiguresSchema)
    median = fields.Float(allow_none=True)
    in_progress = fields.Integer()
    bands = fields.List(fields.Nested(CountSchema))
    histogram = fields.List(fields.Nested(CountSchema))
    departments = fields.List(fields.Nested(DepartmentFiguresSchema))
    absent = fields.List(fields.Nested(PersonSchema))
    outside = fields.List(fields.Nested(PersonSchema))
    items = fields.List(fields.Nested(ItemSchema))


class AnnualArgs(Schema):
    year = fields.Integer(required=True)


class AnnualFigureSchema(Schema):
    key = fields.String()
    title = fields.String()
    value = fields.Integer()
    participation_rate = fields.Float(allow_none=True)
    pass_rate = fields.Float(allow_none=True)
    text = fields.String()
    records_url = fields.String()


class AnnualSchema(Schema):
    year = fields.Integer()
    figures = fields.List(fields.Nested(AnnualFigureSchema))


@blp.route("/exams/<int:exam_id>/stats")
@roles_required("legal", "hr")
@blp.response(200, ExamStatsSchema)
def exam_stats(exam_id: int):
    """Statistics and item analysis of one exam (roles legal, hr)."""
    exam = ops.get_exam(exam_id)
    stats = st.exam_stats(exam)
    return {
        "exam_id": exam.id, "title": exam.title, "purpose": exam.purpose, "counting_attempt": exam.counting_attempt,
        "max_score": stats.max_score, "figures": stats.figures, "median": stats.median,
        "in_progress": stats.in_progress,
        "bands": [{"label": name, "count": n} for name, n in stats.bands],
        "histogram": [{"label": label, "count": n} for label, n in stats.histogram],
        "departments": stats.departments, "absent": stats.absent, "outside": stats.outside,
        "items": stats.items or [],
    }


@blp.route("/reports/annual")
@roles_required("legal", "hr")
@blp.arguments(AnnualArgs, location="query")
@blp.response(200, AnnualSchema)
def annual(args):
    """The annual figures of the bureau's rule-of-law report for a year (roles legal, hr)."""
    try:
        year = ops.check_year(args["year"])
    except ValueError:
        abort(422, message=ops.year_message())
    figures = ops.annual_figures(year)
    return {"year": year, "figures": [
        {"key": f.key, "title": f.title, "value": f.value, "participation_rate": f.participation_rate,
         "pass_rate": f.pass_rate, "text": f.text,
         "records_url": url_for("reports.annual_records", year=year, key=f.key)} for f in figures]}
