"""What certificates read from the other areas: passed exam results (exams) and study records (study).

Each function answers for many people at once, in a fixed number of queries.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from flask_babel import lazy_gettext as _l

PURPOSE_LABELS = {
    "qualification": _l("qualification"),
    "renewal": _l("renewal"),
    "annual": _l("annual law"),
}


@dataclass(frozen=True)
class ExamResult:
    user_id: int
    attempt_id: int
    exam_id: int
    exam_title: str
    subject: str
    score: float | None
    finished_at: datetime | None


def purpose_label(purpose: str) -> str:
    return str(PURPOSE_LABELS.get(purpose, purpose))


def best_match(results: list[ExamResult], subject: str) -> ExamResult | None:
    """The most recent passed result for a required subject ("" accepts any exam)."""
    subject = (subject or "").strip()
    matching = [r for r in results if not subject or subject in (r.subject or "") or subject in r.exam_title]
    return max(matching, key=lambda r: r.finished_at or datetime.min, default=None)


def passed_results(user_ids: list[int], *, purpose: str, category_name: str | None, since: date,
                   until: date) -> dict[int, list[ExamResult]]:
    """Each person's counting attempts that passed, of exams with ``purpose`` (and certificate category)."""
    if not user_ids:
        return {}
    from exam.exams.operations import passed_counting_results

    return passed_counting_results(user_ids, purpose=purpose, certificate_category=category_name,
                                   since=since, until=until)


def training_hours(user_ids: list[int], start: date, end: date) -> dict[int, float]:
    if not user_ids:
        return {}
    from exam.study.operations import training_hours as study_hours

    return {uid: float(b.total) for uid, b in study_hours(user_ids, start, end).items()}


def unconfirmed_required_bulletins(user_ids: list[int], as_of: date) -> dict[int, list[str]]:
    if not user_ids:
        return {}
    from exam.study.operations import unconfirmed_required_bulletins as unconfirmed

    return {uid: [b.label for b in bulletins] for uid, bulletins in unconfirmed(user_ids, as_of).items() if bulletins}
