"""Study bulletins, read receipts, training records."""

from flask import Blueprint

bp = Blueprint("study", __name__)

from exam.study import views  # noqa: E402,F401
