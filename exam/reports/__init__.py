"""Statistics, charts, exports, annual figures."""

from flask import Blueprint

bp = Blueprint("reports", __name__)

from exam.reports import views  # noqa: E402,F401
