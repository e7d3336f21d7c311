"""Study bulletins, read receipts, training records."""

from flask import Blueprint

bp = Blueprint("study", __name__)

# Settings of this area (override in instance/config.py); numbers live in settings, not in code.
SETTINGS = {
    "STUDY_REQUIRED_HOURS": 40,  # annual training requirement per person
    "STUDY_UPLOAD_MAX_BYTES": 20 * 1024 * 1024,  # an uploaded original (PDF or DOCX)
}


@bp.record_once
def _defaults(state) -> None:
    for key, value in SETTINGS.items():
        state.app.config.setdefault(key, value)


from exam.study import views  # noqa: E402,F401
