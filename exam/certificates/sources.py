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
    from exam.core.timeutil import to_local
    from exam.exams.operations import counting_attempts

    # Rank over all of a person's attempts (the counting rule of each exam), then keep those that passed
    # inside the window: a later failed attempt of a "last attempt counts" exam is not hidden by the window.
    out: dict[int, list[ExamResult]] = {}
    for attempt in counting_attempts(user_ids=user_ids, purpose=purpose, certificate_category=category_name):
        if not attempt.passed or attempt.finished_at is None:
            continue
        if not since <= to_local(attempt.finished_at).date() <= until:
            continue
        out.setdefault(attempt.user_id, []).append(ExamResult(
            user_id=attempt.user_id, attempt_id=attempt.id, exam_id=attempt.exam_id, exam_title=attempt.exam.title,
            subject=attempt.exam.title, score=attempt.score, finished_at=attempt.finished_at))
    return out


def training_hours(user_ids: list[int], start: date, end: date) -> dict[int, float]:
    if not user_ids:
        return {}
    from exam.study.hours import training_hours as study_hours

    return {uid: float(b.total) for uid, b in study_hours(user_ids, start, end).items()}


def unconfirmed_required_bulletins(user_ids: list[int], as_of: date) -> dict[int, list[str]]:
    if not user_ids:
        return {}
    from exam.study.hours import unconfirmed_required_bulletins as unconfirmed

    return {uid: [b.issue_label for b in bulletins] for uid, bulletins in unconfirmed(user_ids, as_of).items()
            if bulletins}
