"""Exam definitions, blueprints, attempts, grading, practice."""

from flask import Blueprint

bp = Blueprint("exams", __name__)

from exam.exams import manage, practice, views  # noqa: E402,F401
