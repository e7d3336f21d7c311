"""Statistics, charts, exports, annual figures."""

from flask import Blueprint

bp = Blueprint("reports", __name__)

from exam.reports import models, views  # noqa: E402,F401
