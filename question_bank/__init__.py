"""Question bank: laws, categories, questions and their versions, question types, import/export formats.

Depends on ``exam.core`` and ``exam.extensions`` only; never on the exam blueprints or views.
"""

from flask import Blueprint

bp = Blueprint("question_bank", __name__, url_prefix="/bank")

from question_bank import views  # noqa: E402,F401
