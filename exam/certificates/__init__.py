"""Enforcement certificates, eligibility, public verification."""

from flask import Blueprint

bp = Blueprint("certificates", __name__)

from exam.certificates import views  # noqa: E402,F401
