"""Exam definitions, blueprints, attempts, grading, practice."""

from flask import Blueprint

bp = Blueprint("exams", __name__)

MAX_ID = 2**31 - 1


def reject_out_of_range_ids(_endpoint, values) -> None:
    """An id no database integer can hold is simply not found (instead of an overflow in the driver)."""
    if values and any(isinstance(v, int) and not 0 <= v <= MAX_ID for v in values.values()):
        from flask import abort

        abort(404)


bp.url_value_preprocessor(reject_out_of_range_ids)

from exam.exams import manage, practice, views  # noqa: E402,F401
