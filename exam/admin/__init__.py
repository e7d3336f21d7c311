"""Administration: audit log search, settings."""

from flask import Blueprint

bp = Blueprint("admin", __name__)

from exam.admin import settings_views, views  # noqa: E402,F401
