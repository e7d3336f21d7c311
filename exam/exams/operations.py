"""Exam rules: definitions, publishing, starting, saving, finishing, grading, regrading, counting attempts.

Operations flush but never commit. Finishing an attempt is a conditional UPDATE (``WHERE status =
'in_progress'``) whose row count says who won, so two submits at once finish it once. A save first touches
the attempt row with the same condition, which locks it (PostgreSQL) or runs inside the write lock
(SQLite BEGIN IMMEDIATE): a save and a submit are therefore serialised, and a save acknowledged before the
submit is in the graded paper while a save after it is refused.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from types import SimpleNamespace
from typing import Any

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import and_, case, func, or_, select, update
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.orm import aliased, joinedload
from sqlalchemy.orm.attributes import set_committed_value

from exam.accounts.models import Department, User
from exam.core import audit
from exam.core.errors import Conflict, DomainError, NotFound
from exam.core.timeutil import to_local, utcnow
from exam.exams import drawing
from exam.exams.models import (
    DEFAULT_BANDS,
    Attempt,
    AttemptItem,
    Exam,
    ExamSection,
    FocusEvent,
    exam_departments,
    exam_users,
)
from exam.extensions import db
from question_bank.models import QuestionVersion
from question_bank.types import OPTION_KEYS, QUESTION_TYPES, ResponseError, round_points

DEFAULT_GRACE_SECONDS = 30


class ExamError(DomainError):
    code = "exam_error"


def grace_default() -> int:
    return int(current_app.config.get("EXAM_SUBMIT_GRACE_SECONDS", DEFAULT_GRACE_SECONDS))


# --- definitions ------------------------------------------------------------------------------------------

def _resolve_audience(data: dict) -> tuple[list[Department], list[User]]:
    from exam.accounts.operations import find_department

    audience = data.get("audience") or {}
    departments, users, problems = [], [], []
    for name in audience.get("departments") or []:
        dept = find_department(name)
        if dept is None:
            problems.append(_("Unknown department: %(name)s", name=name))
        else:
            departments.append(dept)
    usernames = list(dict.fromkeys(audience.get("users") or []))
    if usernames:
        found = {u.username: u for u in db.session.scalars(select(User).where(User.username.in_(usernames)))}
        for name in usernames:
            if name in found:
                users.append(found[name])
            else:
                problems.append(_("Unknown staff number: %(name)s", name=name))
    if problems:
        raise ExamError(_("The audience names people or departments that do not exist."), details=problems)
    return departments, users


def _check_sections(sections: list[dict]) -> None:
    problems = []
    for index, section in enumerate(sections, start=1):
        resolved = drawing.resolve_filters(section)
        for name in resolved.unknown:
            problems.append(_("Section %(n)s: unknown category, tag or law: %(name)s", n=index, name=name))
    if problems:
        raise ExamError(_("The blueprint names categories, tags or laws that do not exist."), details=problems)


def apply_exam_data(exam: Exam, data: dict) -> Exam:
    """Fill an exam from the JSON format (validated by ``ExamJsonSchema``)."""
    if exam.status != "draft":
        raise Conflict(_("A published exam's blueprint is frozen; it cannot be changed."))
    with db.session.no_autoflush:
        departments, users = _resolve_audience(data)
        _check_sections(data["sections"])
    for key in ("title", "purpose", "certificate_category", "time_limit_minutes", "opens_at", "closes_at",
                "max_attempts", "counting_attempt", "pass_mark", "multiple_scoring", "show_results",
                "show_answers", "focus_loss_limit", "grace_seconds"):
        setattr(exam, key, data.get(key))
    exam.bands = dict(data.get("bands") or DEFAULT_BANDS)
    exam.audience_everyone = bool((data.get("audience") or {}).get("everyone", True))
    exam.departments = departments
    exam.users = users
    if exam.id is not None and exam.sections:
        exam.sections.clear()
        db.session.flush()  # delete the old sections before their positions are used again
    exam.sections = [
        ExamSection(position=i, title=s["title"], type=s["type"], count=s["count"], points=s["points"],
                    filters={"categories": s.get("categories") or [], "tags": s.get("tags") or [],
                             "laws": s.get("laws") or [], "difficulty": list(s.get("difficulty") or [1, 5])})
        for i, s in enumerate(data["sections"], start=1)
    ]
    db.session.add(exam)
    db.session.flush()
    return exam


def create_exam(data: dict, created_by: User | None) -> Exam:
    exam = Exam(status="draft", created_by_id=getattr(created_by, "id", None))
    with db.session.no_autoflush:
        apply_exam_data(exam, data)
    audit.record("exam.create", exam, after={"title": exam.title, "sections": len(exam.sections)})
    return exam


def update_exam(exam: Exam, data: dict) -> Exam:
    before = export_exam(exam)
    apply_exam_data(exam, data)
    audit.record("exam.update", exam, before=before, after=export_exam(exam))
    return exam


def export_exam(exam: Exam) -> dict:
    """The exam as the JSON import/create format (times as +08:00 ISO strings in the bureau's zone)."""
    return {
        "title": exam.title, "purpose": exam.purpose, "certificate_category": exam.certificate_category,
        "time_limit_minutes": exam.time_limit_minutes,
        "opens_at": to_local(exam.opens_at).isoformat(), "closes_at": to_local(exam.closes_at).isoformat(),
        "max_attempts": exam.max_attempts, "counting_attempt": exam.counting_attempt, "pass_mark": exam.pass_mark,
        "bands": dict(exam.bands or {}), "multiple_scoring": exam.multiple_scoring,
        "show_results": exam.show_results, "show_answers": exam.show_answers,
        "focus_loss_limit": exam.focus_loss_limit, "grace_seconds": exam.grace_seconds,
        "audience": {"everyone": exam.audience_everyone, "departments": [d.path for d in exam.departments],
                     "users": [u.username for u in exam.users]},
        "sections": [
            {"title": s.title, "type": s.type, "count": s.count, "points": s.points,
             "categories": list(s.filters.get("categories") or []), "tags": list(s.filters.get("tags") or []),
             "laws": list(s.filters.get("laws") or []), "difficulty": list(s.filters.get("difficulty") or [1, 5])}
            for s in exam.sections
        ],
    }


@dataclass
class Shortage:
    position: int
    title: str
    needed: int
    available: int

    @property
    def short_by(self) -> int:
        return self.needed - self.available

    def as_dict(self) -> dict:
        return {"section": self.position, "title": self.title, "needed": self.needed,
                "available": self.available, "short_by": self.short_by}


def shortages(exam: Exam, day=None) -> list[Shortage]:
    """Sections the bank cannot fill (questions are not shared between sections)."""
    day = day or to_local(utcnow()).date()
    taken: set[int] = set()
    result = []
    cache: dict = {}
    for section in exam.sections:
        pool = [q for q in drawing.drawable_ids(section.type, drawing.resolve_filters(section.filters, cache), day)
                if q not in taken]
        taken.update(pool[: section.count])
        if len(pool) < section.count:
            result.append(Shortage(section.position, section.title, section.count, len(pool)))
    return result


def publish_exam(exam: Exam) -> Exam:
    if exam.status != "draft":
        raise Conflict(_("Only a draft exam can be published."))
    if not exam.sections:
        raise ExamError(_("The exam has no sections."))
    short = shortages(exam)
    if short:
        raise ExamError(
            _("The question bank cannot fill every section."),
            code="sections_short",
            details=[dict(s.as_dict(), message=_("Section %(n)s “%(title)s” is short by %(k)s questions "
                                                  "(%(a)s of %(m)s available).", n=s.position, title=s.title,
                                                  k=s.short_by, a=s.available, m=s.needed)) for s in short],
        )
    exam.status = "published"
    exam.published_at = utcnow()
    db.session.flush()
    audit.record("exam.publish", exam, after={"status": "published"})
    return exam


def close_exam(exam: Exam) -> Exam:
    if exam.status != "published":
        raise Conflict(_("Only a published exam can be closed."))
    exam.status = "closed"
    db.session.flush()
    audit.record("exam.close", exam, after={"status": "closed"})
    return exam


# --- audience ----------------------------------------------------------------------------------------------

def in_audience(exam: Exam, user: User) -> bool:
    if exam.audience_everyone:
        return True
    if db.session.scalar(select(exam_users.c.user_id).where(exam_users.c.exam_id == exam.id,
                                                            exam_users.c.user_id == user.id)):
        return True
    if user.department is None:
        return False
    chain = [user.department.id] + [d.id for d in user.department.ancestors()]
    return bool(db.session.scalar(select(exam_departments.c.department_id).where(
        exam_departments.c.exam_id == exam.id, exam_departments.c.department_id.in_(chain)).limit(1)))


def exams_for(user: User) -> list[Exam]:
    """Published or closed, non-practice exams the person may take (or took)."""
    chain = []
    if user.department is not None:
        chain = [user.department.id] + [d.id for d in user.department.ancestors()]
    stmt = (
        select(Exam)
        .where(Exam.status.in_(["published", "closed"]))
        .where(or_(
            Exam.audience_everyone.is_(True),
            Exam.id.in_(select(exam_users.c.exam_id).where(exam_users.c.user_id == user.id)),
            Exam.id.in_(select(exam_departments.c.exam_id).where(exam_departments.c.department_id.in_(chain))),
            Exam.id.in_(select(Attempt.exam_id).where(Attempt.user_id == user.id)),
        ))
        .order_by(Exam.opens_at.desc())
    )
    return list(db.session.scalars(stmt))


# --- attempts ----------------------------------------------------------------------------------------------

def deadline_for(exam: Exam, started_at: datetime, extra_seconds: int = 0) -> datetime:
    """min(start + time limit + extra time, window close)."""
    return min(started_at + timedelta(minutes=exam.time_limit_minutes, seconds=extra_seconds), exam.closes_at)


def finalize_if_expired(attempt: Attempt, now: datetime | None = None) -> bool:
    """Finish an attempt past its deadline (+ grace) with the answers it has. True when it finished now."""
    now = now or utcnow()
    if attempt.is_expired(now, attempt.grace(grace_default())):
        try:
            return finish_attempt(attempt, by="deadline", now=now)
        except OperationalError:
            # A read request on SQLite holds a deferred transaction that may not get the write lock at once;
            # the attempt is then finished by the next write (submit, start, cron) — never a failed read.
            db.session.rollback()
            return False
    return False


def finalize_expired(now: datetime | None = None) -> int:
    """Finish every attempt past its deadline and grace (for cron). Returns how many finished."""
    now = now or utcnow()
    candidates = db.session.scalars(
        select(Attempt).options(joinedload(Attempt.exam))
        .where(Attempt.status == "in_progress", Attempt.deadline < now).order_by(Attempt.id)
    ).all()
    return sum(1 for attempt in candidates if finalize_if_expired(attempt, now))


def seen_question_ids(exam: Exam, user: User, before_number: int | None = None) -> set[int]:
    stmt = (select(AttemptItem.question_id).join(Attempt, Attempt.id == AttemptItem.attempt_id)
            .where(Attempt.exam_id == exam.id, Attempt.user_id == user.id))
    if before_number is not None:
        stmt = stmt.where(Attempt.number < before_number)
    return set(db.session.scalars(stmt))


@dataclass
class DrawnItem:
    position: int
    section: ExamSection
    question_id: int
    version: QuestionVersion
    option_order: list[str]


def draw_paper(exam: Exam, seed: int, seen: set[int], day, versions: dict[int, QuestionVersion] | None = None,
               *, created_before: datetime | None = None, include: dict[int, list[int]] | None = None
               ) -> tuple[list[DrawnItem], list[dict]]:
    """The paper for a seed: one SQL query per section returns the chosen ids (see ``drawing``).
    ``versions`` (question id -> version) pins the versions recorded in an attempt when rebuilding it;
    ``created_before`` and ``include`` (section position -> question ids) restrict and complete the
    candidates to what the bank held at the original draw."""
    chosen_by_section: list[tuple[ExamSection, list[int]]] = []
    taken: set[int] = set()
    cache: dict = {}
    for section in exam.sections:
        ids = drawing.draw_section(
            section.type, drawing.resolve_filters(section.filters, cache), day, seed=seed,
            position=section.position, count=section.count, exclude=taken, seen=seen,
            created_before=created_before, include=(include or {}).get(section.position))
        if len(ids) < section.count:
            raise ExamError(_("The question bank cannot fill section “%(title)s” now; please tell the legal "
                              "department.", title=section.title), code="sections_short")
        taken.update(ids)
        chosen_by_section.append((section, ids))
    if versions is None:
        versions = drawing.current_versions(sorted(taken))
    items, position = [], 0
    for section, ids in chosen_by_section:
        for qid in ids:
            position += 1
            version = versions[qid]
            items.append(DrawnItem(position, section, qid, version,
                                   drawing.shuffle_options(seed, qid, version.options)))
    return items, [{"method": drawing.DRAW_METHOD, "day": day.isoformat()}]


def start_attempt(exam: Exam, user: User, now: datetime | None = None) -> Attempt:
    """Resume the attempt in progress, or start a new one with a freshly drawn paper."""
    now = now or utcnow()
    attempts = db.session.scalars(
        select(Attempt).where(Attempt.exam_id == exam.id, Attempt.user_id == user.id).order_by(Attempt.number)
    ).all()
    for attempt in attempts:
        if attempt.status == "in_progress":
            finalize_if_expired(attempt, now)
            if attempt.status == "in_progress":
                return attempt
    if exam.status != "published":
        raise ExamError(_("This exam is not open."), code="not_open")
    if now < exam.opens_at:
        raise ExamError(_("This exam opens at %(at)s.", at=to_local(exam.opens_at).strftime("%Y-%m-%d %H:%M")),
                        code="not_open_yet")
    if now >= exam.closes_at:
        raise ExamError(_("This exam closed at %(at)s.", at=to_local(exam.closes_at).strftime("%Y-%m-%d %H:%M")),
                        code="closed")
    if not in_audience(exam, user):
        raise ExamError(_("This exam is not assigned to you."), code="not_in_audience")
    if len(attempts) >= exam.max_attempts:
        raise ExamError(_("You have used all %(n)s attempts allowed for this exam.", n=exam.max_attempts),
                        code="no_attempts_left")
    number = len(attempts) + 1
    seed = random.SystemRandom().randrange(1, 2**62)
    day = to_local(now).date()
    items, record = draw_paper(exam, seed, seen_question_ids(exam, user), day)
    attempt = Attempt(exam=exam, user_id=user.id, number=number, seed=seed, draw_record=record, started_at=now,
                      deadline=deadline_for(exam, now), status="in_progress",
                      max_score=round_points(sum(i.section.points for i in items)))
    try:
        with db.session.begin_nested():
            db.session.add(attempt)
            db.session.flush()
    except IntegrityError:
        raise Conflict(_("Another start of this exam happened at the same time; please reload.")) from None
    # Each item holds the automatic grade of its stored answer from the start (no answer yet), as every save keeps
    # it (``save_response``, ``exam.exams.hot``): the submit writes only the grades that differ.
    partial = exam.multiple_scoring == "partial"
    db.session.execute(AttemptItem.__table__.insert(), [
        {"attempt_id": attempt.id, "position": i.position, "section_id": i.section.id, "question_id": i.question_id,
         "question_version_id": i.version.id, "points": i.section.points, "option_order": i.option_order,
         "response": None, "response_seq": 0, "flagged": False,
         "awarded": i.version.grade(None, i.section.points, partial)}
        for i in items
    ])
    # The paper as just drawn, for the start's answer (paper_items): no second read of what was just written.
    attempt.fresh_items = [
        SimpleNamespace(position=i.position, version=i.version, option_order=i.option_order, points=i.section.points,
                        response=None, response_seq=0, flagged=False, section_id=i.section.id)
        for i in items
    ]
    return attempt


@dataclass
class RebuildResult:
    matches: bool
    differences: list[str] = field(default_factory=list)
    items: list[DrawnItem] = field(default_factory=list)


def rebuild_paper(attempt: Attempt) -> RebuildResult:
    """Draw the attempt's paper again from its seed — with the questions the bank held at the start, those seen
    in the earlier attempts and the recorded question versions — and compare it with the stored paper.

    The stored questions are always candidates (they were drawable when drawn), so a match proves the paper is
    exactly what the seed picks and was not chosen by hand. A question that became drawable after the draw
    although created before it (e.g. a draft activated later) can make an honest paper differ; the
    difference then names it."""
    stored = list(attempt.items)
    # a recorded version that is not a version of its question is not used (the rebuild then differs)
    versions = {i.question_id: i.version for i in stored if i.version.question_id == i.question_id}
    record = (attempt.draw_record or [{}])[0]
    day = date.fromisoformat(record["day"]) if record.get("day") else to_local(attempt.started_at).date()
    seen = seen_question_ids(attempt.exam, attempt.user, before_number=attempt.number)
    positions = {s.id: s.position for s in attempt.exam.sections}
    include: dict[int, list[int]] = {}
    for item in stored:
        include.setdefault(positions.get(item.section_id, 0), []).append(item.question_id)
    differences = []
    try:
        drawn, _record = draw_paper(attempt.exam, attempt.seed, seen, day, versions=_VersionsWithFallback(versions),
                                    created_before=attempt.started_at, include=include)
    except ExamError as exc:
        return RebuildResult(False, [exc.message])
    if len(drawn) != len(stored):
        differences.append(f"{len(drawn)} items rebuilt, {len(stored)} stored")
    for new, old in zip(drawn, stored, strict=False):
        if (new.position, new.question_id, new.version.id, new.option_order) != (
                old.position, old.question_id, old.question_version_id, list(old.option_order or [])):
            differences.append(f"item {old.position}: stored question {old.question_id} v{old.question_version_id} "
                               f"{old.option_order}, rebuilt {new.question_id} v{new.version.id} {new.option_order}")
    return RebuildResult(not differences, differences, drawn)


class _VersionsWithFallback(dict):
    """Recorded versions; a question not in the stored paper falls back to its current version."""

    def __missing__(self, question_id):
        version = drawing.current_versions([question_id]).get(question_id)
        self[question_id] = version
        return version


def get_attempt_for(attempt_id: int, user: User, *, with_items: bool = False) -> Attempt:
    """The person's own attempt, or NotFound (never reveal that another person's attempt exists)."""
    stmt = select(Attempt).options(joinedload(Attempt.exam)).where(Attempt.id == attempt_id,
                                                                   Attempt.user_id == user.id)
    attempt = db.session.scalar(stmt)
    if attempt is None:
        raise NotFound(_("No such attempt."))
    return attempt


def items_with_versions(attempt: Attempt) -> list[AttemptItem]:
    return list(db.session.scalars(
        select(AttemptItem).options(joinedload(AttemptItem.version))
        .where(AttemptItem.attempt_id == attempt.id).order_by(AttemptItem.position)
        .execution_options(populate_existing=True)  # saves are Core UPDATEs: never grade a stale copy
    ))


def to_original(item: AttemptItem, version: QuestionVersion, response: Any) -> Any:
    """A response in displayed keys (A, B, ... as shown) to the question's original keys."""
    qtype = QUESTION_TYPES[version.type]
    if not qtype.has_options or response is None:
        return response
    mapping = {OPTION_KEYS[i]: orig for i, orig in enumerate(item.option_order or [])}
    if isinstance(response, str):
        if response not in mapping:
            raise ResponseError("unknown option")
        return mapping[response]
    if isinstance(response, list):
        if len(response) > len(mapping) or any(not isinstance(r, str) or r not in mapping for r in response):
            raise ResponseError("unknown option")
        return [mapping[r] for r in response]
    return response


def to_displayed(item: AttemptItem, response: Any) -> Any:
    if response is None or not item.option_order:
        return response
    back = {orig: OPTION_KEYS[i] for i, orig in enumerate(item.option_order)}
    if isinstance(response, str):
        return back.get(response)
    if isinstance(response, list):
        return sorted(back[r] for r in response if r in back)
    return response


def clean_response(item: AttemptItem, version: QuestionVersion, response: Any) -> Any:
    qtype = QUESTION_TYPES[version.type]
    try:
        return qtype.clean_response(version.options, to_original(item, version, response))
    except ResponseError as exc:
        messages = {
            "single": _("Choose one of the options shown."),
            "multiple": _("Choose from the options shown."),
            "true_false": _("Answer true or false."),
            "fill_blank": _("Write text for each blank."),
            "case_analysis": _("Write the answer as text of at most 20,000 characters."),
        }
        raise ExamError(messages.get(version.type, str(exc)), code="bad_response") from None


def missing_position(position: int) -> NotFound:
    return NotFound(_("There is no question %(n)s in this paper.", n=position))


@dataclass
class SaveResult:
    position: int
    seq: int
    saved: bool
    saved_at: datetime | None


def save_response(attempt: Attempt, position: int, response: Any, seq: int, *, flagged: bool | None = None,
                  now: datetime | None = None) -> SaveResult:
    """Store an answer unless a newer one (higher seq) is already stored. Refused (409) once the attempt is
    finished or past its deadline plus grace."""
    now = now or utcnow()
    if attempt.is_finished:
        raise Conflict(_("This attempt has finished; the answer was not saved."), code="attempt_finished")
    if now > attempt.deadline + attempt.grace(grace_default()):
        raise Conflict(_("The time is up; the answer was not saved."), code="deadline_passed")
    row = db.session.execute(
        select(AttemptItem, QuestionVersion)
        .join(QuestionVersion, QuestionVersion.id == AttemptItem.question_version_id)
        .where(AttemptItem.attempt_id == attempt.id, AttemptItem.position == position)
    ).first()
    if row is None:
        raise NotFound(_("There is no question %(n)s in this paper.", n=position))
    item, version = row
    cleaned = clean_response(item, version, response)
    # Lock the attempt row (or, on SQLite, run inside the write lock): serialised with submit.
    touched = db.session.execute(
        update(Attempt).where(Attempt.id == attempt.id, Attempt.status == "in_progress")
        .values(last_saved_at=now).execution_options(synchronize_session=False)
    ).rowcount
    if touched != 1:
        raise Conflict(_("This attempt has finished; the answer was not saved."), code="attempt_finished")
    partial = attempt.exam.multiple_scoring == "partial"
    values: dict[str, Any] = {"response": cleaned, "response_seq": seq, "saved_at": now,  # with its grade, as drawn
                              "awarded": version.grade(cleaned, item.points, partial)}
    if flagged is not None:
        values["flagged"] = bool(flagged)
    stored = db.session.execute(
        update(AttemptItem).where(AttemptItem.id == item.id, AttemptItem.response_seq < seq)
        .values(**values).execution_options(synchronize_session=False)
    ).rowcount
    if stored != 1:
        return SaveResult(position, item.response_seq, False, item.saved_at)
    return SaveResult(position, seq, True, now)


def set_flag(attempt: Attempt, position: int, flagged: bool) -> None:
    if attempt.is_finished:
        raise Conflict(_("This attempt has finished."), code="attempt_finished")
    changed = db.session.execute(
        update(AttemptItem).where(AttemptItem.attempt_id == attempt.id, AttemptItem.position == position)
        .values(flagged=bool(flagged)).execution_options(synchronize_session=False)
    ).rowcount
    if not changed:
        raise NotFound(_("There is no question %(n)s in this paper.", n=position))


def finish_attempt(attempt: Attempt, *, by: str = "examinee", now: datetime | None = None) -> bool:
    """Finish and grade the attempt once. Returns False when it was already finished (by another request)."""
    now = now or utcnow()
    past_deadline = now > attempt.deadline
    status = "expired" if (by == "deadline" or past_deadline) else "submitted"
    finished_by = "deadline" if past_deadline and by == "examinee" else by
    won = db.session.execute(
        update(Attempt).where(Attempt.id == attempt.id, Attempt.status == "in_progress")
        .values(status=status, finished_at=now, finished_by=finished_by, version=Attempt.version + 1)
        .execution_options(synchronize_session=False)
    ).rowcount
    if won != 1:
        db.session.refresh(attempt)
        return False
    set_committed_value(attempt, "status", status)
    set_committed_value(attempt, "finished_at", now)
    set_committed_value(attempt, "finished_by", finished_by)
    set_committed_value(attempt, "version", (attempt.version or 1) + 1)
    partial = attempt.exam.multiple_scoring == "partial"
    items = items_with_versions(attempt)
    updates = []
    for item in items:
        awarded = item.version.grade(item.response, item.points, partial)
        if awarded is not None:
            set_committed_value(item, "awarded", awarded)
            updates.append({"id": item.id, "awarded": awarded})
    if updates:
        db.session.execute(update(AttemptItem), updates)
    _store_result(attempt, items)
    attempt_finished(attempt.id)
    return True


def attempt_finished(attempt_id: int, looked_up: list[tuple] | None = None) -> None:
    """``attempts_finished`` for one attempt."""
    attempts_finished([attempt_id], looked_up)


def attempts_finished(attempt_ids: list[int], looked_up: list[tuple] | None = None) -> None:
    """Every finished attempt passes here once, in the transaction that finished and graded it, whichever path
    finished it: ``finish_attempt`` (deadline, focus limit, the exam page's form, a session submit) and the exam
    day's submit in ``exam.exams.hot.submit`` (the submits finished together, on PostgreSQL in one transaction and
    on SQLite in one group commit, pass together). What follows a finish is called here: the reports' kept
    aggregates (``looked_up``: their lookup of these attempts, when the caller read it with the finish)."""
    _results_changed(list(attempt_ids), looked_up)


def _results_changed(attempt_ids: list[int], looked_up: list[tuple] | None = None) -> None:
    """The stored results of these attempts changed (finished, graded by hand, regraded): the reports' kept
    aggregates follow in the same transaction (``exam.reports.item_stats``)."""
    from exam.reports.item_stats import attempt_changed  # reports build on exams: imported when first needed

    attempt_changed(db.session, attempt_ids, looked_up)


def _result(exam: Exam, items: list[AttemptItem]) -> dict:
    score = round_points(sum(i.awarded or 0 for i in items))
    max_score = round_points(sum(i.points for i in items))
    if any(i.awarded is None for i in items):
        return {"score": score, "max_score": max_score, "passed": None, "band": None}
    return {"score": score, "max_score": max_score, "passed": score + 1e-9 >= exam.pass_mark,
            "band": exam.band_for(score, max_score)}


def _store_result(attempt: Attempt, items: list[AttemptItem]) -> None:
    result = _result(attempt.exam, items)
    db.session.execute(update(Attempt).where(Attempt.id == attempt.id).values(**result)
                       .execution_options(synchronize_session=False))
    for key, value in result.items():
        set_committed_value(attempt, key, value)


def record_focus_loss(attempt: Attempt, kind: str, now: datetime | None = None) -> bool:
    """Record a focus loss (切屏). Past the exam's limit (when > 0) the attempt is submitted: returns True."""
    now = now or utcnow()
    if attempt.is_finished:
        raise Conflict(_("This attempt has finished."), code="attempt_finished")
    db.session.add(FocusEvent(attempt_id=attempt.id, at=now, kind=kind))
    db.session.execute(update(Attempt).where(Attempt.id == attempt.id, Attempt.status == "in_progress")
                       .values(focus_losses=Attempt.focus_losses + 1).execution_options(synchronize_session=False))
    losses = db.session.scalar(select(Attempt.focus_losses).where(Attempt.id == attempt.id))
    set_committed_value(attempt, "focus_losses", losses)
    limit = attempt.exam.focus_loss_limit or 0
    if limit > 0 and losses > limit:
        return finish_attempt(attempt, by="focus_limit", now=now)
    return False


def grant_extra_time(attempt: Attempt, minutes: int, now: datetime | None = None) -> Attempt:
    """More time for one person (still capped by the window's close). Audited."""
    now = now or utcnow()
    if attempt.is_finished:
        raise Conflict(_("This attempt has already finished."))
    if not 1 <= minutes <= 600:
        raise ExamError(_("Extra time must be between 1 and 600 minutes."))
    before = {"extra_seconds": attempt.extra_seconds, "deadline": attempt.deadline.isoformat()}
    attempt.extra_seconds = (attempt.extra_seconds or 0) + minutes * 60
    attempt.deadline = deadline_for(attempt.exam, attempt.started_at, attempt.extra_seconds)
    attempt.version = (attempt.version or 1) + 1
    db.session.flush()
    audit.record("attempt.extra_time", attempt, before=before,
                 after={"extra_seconds": attempt.extra_seconds, "deadline": attempt.deadline.isoformat()})
    return attempt


# --- visibility -------------------------------------------------------------------------------------------

def results_visible(attempt: Attempt, now: datetime | None = None) -> bool:
    return attempt.is_finished and attempt.exam.policy_allows(attempt.exam.show_results, now or utcnow())


def answers_visible(attempt: Attempt, now: datetime | None = None) -> bool:
    return attempt.is_finished and attempt.exam.policy_allows(attempt.exam.show_answers, now or utcnow())


def paper_items(attempt: Attempt, items: list[AttemptItem] | None = None) -> list[dict]:
    """The paper as shown while taking it: displayed keys, the person's responses, never the answers."""
    items = items if items is not None else items_with_versions(attempt)
    result = []
    for item in items:
        version = item.version
        entry = {"position": item.position, "type": version.type, "stem": version.stem,
                 "options": drawing.displayed_options(version, item.option_order or []),
                 "points": item.points, "response": to_displayed(item, item.response),
                 "seq": item.response_seq, "flagged": item.flagged,
                 "section": item.section_id}
        if version.type == "fill_blank":
            entry["blanks"] = len(version.answer or []) or 1
        result.append(entry)
    return result


# --- grading ----------------------------------------------------------------------------------------------

def grading_queue(exam: Exam | None = None) -> list[AttemptItem]:
    stmt = (select(AttemptItem).join(Attempt, Attempt.id == AttemptItem.attempt_id)
            .options(joinedload(AttemptItem.version), joinedload(AttemptItem.attempt).joinedload(Attempt.exam))
            .where(AttemptItem.awarded.is_(None), Attempt.status != "in_progress")
            .order_by(Attempt.finished_at, AttemptItem.position))
    if exam is not None:
        stmt = stmt.where(Attempt.exam_id == exam.id)
    return list(db.session.scalars(stmt))


def grade_item(item: AttemptItem, awarded: float, comment: str | None, grader: User,
               now: datetime | None = None) -> AttemptItem:
    """A hand grade for a case-analysis answer; the attempt's result is final when no item is left."""
    attempt = item.attempt
    if not attempt.is_finished:
        raise Conflict(_("The attempt is still in progress."))
    if awarded is None or awarded < 0 or awarded > item.points:
        raise ExamError(_("Points must be between 0 and %(max)s.", max=item.points))
    before = {"awarded": item.awarded, "comment": item.comment}
    item.awarded = round_points(awarded)
    item.comment = (comment or "").strip() or None
    item.graded_by_id = grader.id
    item.graded_at = now or utcnow()
    db.session.flush()
    _store_result(attempt, items_with_versions(attempt))
    _results_changed([attempt.id])
    audit.record("attempt.grade", item, before=before,
                 after={"awarded": item.awarded, "comment": item.comment, "attempt": attempt.id,
                        "score": attempt.score, "passed": attempt.passed})
    return item


@dataclass
class RegradeChange:
    attempt: Attempt
    old_score: float | None
    new_score: float | None
    old_passed: bool | None
    new_passed: bool | None
    items: list[tuple[AttemptItem, float]]

    def as_dict(self) -> dict:
        return {"attempt": self.attempt.id, "user": self.attempt.user.username, "exam": self.attempt.exam_id,
                "old_score": self.old_score, "new_score": self.new_score,
                "old_passed": self.old_passed, "new_passed": self.new_passed}


def regrade_question(version: QuestionVersion, *, dry_run: bool = True) -> list[RegradeChange]:
    """Grade every finished answer to ``version.question`` again with this (fixed) version's key.
    The dry run lists each attempt whose score or pass/fail would change; both runs are audited."""
    qtype = QUESTION_TYPES[version.type]
    if not qtype.objective:
        raise ExamError(_("Case-analysis answers are graded by hand; nothing to regrade."))
    items = db.session.scalars(
        select(AttemptItem).join(Attempt, Attempt.id == AttemptItem.attempt_id)
        .options(joinedload(AttemptItem.attempt).joinedload(Attempt.exam))
        .where(AttemptItem.question_id == version.question_id, Attempt.status != "in_progress")
        .order_by(AttemptItem.attempt_id)
    ).all()
    changes = []
    for item in items:
        attempt = item.attempt
        new = version.grade(item.response, item.points, attempt.exam.multiple_scoring == "partial")
        if new == item.awarded:
            continue
        all_items = items_with_versions(attempt)
        simulated = [_Sim(i.points, new if i.id == item.id else i.awarded) for i in all_items]
        result = _result(attempt.exam, simulated)
        if result["score"] != attempt.score or result["passed"] != attempt.passed or not dry_run:
            changes.append(RegradeChange(attempt, attempt.score, result["score"], attempt.passed, result["passed"],
                                         [(item, new)]))
    if not dry_run:
        for change in changes:
            for item, new in change.items:
                item.awarded = new
            db.session.flush()
            _store_result(change.attempt, items_with_versions(change.attempt))
        if changes:
            _results_changed([change.attempt.id for change in changes])
    audit.record("question.regrade_dry_run" if dry_run else "question.regrade", version,
                 after={"question": version.question_id, "version": version.number,
                        "changes": [c.as_dict() for c in changes]})
    return changes


@dataclass
class _Sim:
    points: float
    awarded: float | None


# --- which attempt counts --------------------------------------------------------------------------------

def counting_attempts(exam_ids=None, user_ids=None, purpose: str | None = None,
                      certificate_category: str | None = None, finished_since: datetime | None = None
                      ) -> list[Attempt]:
    """The one attempt per person and exam that counts: among finished attempts with a final result
    (``passed`` not null), the best score (ties: the later attempt) when the exam counts ``best``, else the
    last one. One SQL query with a window function; filters narrow exams, people and the finish time.
    Practice exams never count unless ``purpose="practice"`` is asked for explicitly."""
    ranked_order = case((Exam.counting_attempt == "best", Attempt.score), else_=None)
    rank = func.row_number().over(
        partition_by=(Attempt.exam_id, Attempt.user_id),
        order_by=(ranked_order.desc().nulls_last(), Attempt.number.desc()),
    ).label("rank")
    inner = (select(Attempt.id.label("attempt_id"), rank).join(Exam, Exam.id == Attempt.exam_id)
             .where(Attempt.status != "in_progress", Attempt.passed.is_not(None)))
    if exam_ids is not None:
        inner = inner.where(Attempt.exam_id.in_(list(exam_ids)))
    if user_ids is not None:
        inner = inner.where(Attempt.user_id.in_(list(user_ids)))
    inner = inner.where(Exam.purpose == purpose if purpose is not None else Exam.purpose != "practice")
    if certificate_category is not None:
        inner = inner.where(Exam.certificate_category == certificate_category)
    if finished_since is not None:
        inner = inner.where(Attempt.finished_at >= finished_since)
    ranked = inner.subquery()
    counted = aliased(Attempt)
    stmt = (select(counted).join(ranked, and_(ranked.c.attempt_id == counted.id, ranked.c.rank == 1))
            .options(joinedload(counted.exam)).order_by(counted.exam_id, counted.user_id))
    return list(db.session.scalars(stmt))


# --- the plain form (no JavaScript) -----------------------------------------------------------------------

def responses_from_form(items: list[AttemptItem], form) -> tuple[dict[int, Any], dict[int, bool]]:
    """Read the exam page's plain form: ``q<position>`` (radio, checkboxes, text) and ``q<position>_b<n>``
    for blanks, ``f<position>`` for flags. Displayed keys, as the page showed them."""
    responses: dict[int, Any] = {}
    flags: dict[int, bool] = {}
    for item in items:
        name = f"q{item.position}"
        kind = item.version.type
        if kind == "multiple":
            value: Any = form.getlist(name) or None
        elif kind == "true_false":
            raw = form.get(name)
            value = {"true": True, "false": False}.get(raw) if raw is not None else None
            if raw is not None and value is None:
                value = raw  # refused by the type's check
        elif kind == "fill_blank":
            blanks = len(item.version.answer or []) or 1
            value = [form.get(f"{name}_b{n}", "") for n in range(1, blanks + 1)]
            value = value if any(v.strip() for v in value) else None
        else:
            value = form.get(name) or None
        responses[item.position] = value
        flags[item.position] = form.get(f"f{item.position}") == "1"
    return responses, flags


def save_form(attempt: Attempt, responses: dict[int, Any], flags: dict[int, bool],
              now: datetime | None = None) -> int:
    """Save every changed answer of the plain form (each with the next seq). All answers are checked first:
    one bad answer stores nothing. Returns how many changed."""
    now = now or utcnow()
    if attempt.is_finished:
        raise Conflict(_("This attempt has finished; the answer was not saved."), code="attempt_finished")
    if now > attempt.deadline + attempt.grace(grace_default()):
        raise Conflict(_("The time is up; the answer was not saved."), code="deadline_passed")
    items = {i.position: i for i in items_with_versions(attempt)}
    cleaned = {}
    for position, value in responses.items():
        item = items.get(position)
        if item is None:
            raise NotFound(_("There is no question %(n)s in this paper.", n=position))
        cleaned[position] = clean_response(item, item.version, value)
    changed = 0
    for position, value in cleaned.items():
        item = items[position]
        if value != item.response or flags.get(position, False) != item.flagged:
            save_response(attempt, position, responses[position], item.response_seq + 1,
                          flagged=flags.get(position, False), now=now)
            changed += 1
    return changed


def review_items(attempt: Attempt) -> list[dict]:
    """The paper with the person's answer, the correct answer, points, the explanation and the law cited.
    Call only when the exam's policy lets answers be shown."""
    from question_bank.models import Question

    items = items_with_versions(attempt)
    questions = {q.id: q for q in db.session.scalars(
        select(Question).options(joinedload(Question.law)).where(Question.id.in_([i.question_id for i in items])))}
    result = []
    for entry, item in zip(paper_items(attempt, items), items, strict=True):
        version, question = item.version, questions.get(item.question_id)
        answer = version.answer
        if version.type in ("single", "multiple"):
            answer = to_displayed(item, answer)
        entry.update(correct=answer, awarded=item.awarded, comment=item.comment, explanation=version.explanation,
                     law=question.law.name if question and question.law else None,
                     article=question.article if question else None)
        result.append(entry)
    return result


# --- JSON import ------------------------------------------------------------------------------------------

def _load_exam_json(text: str) -> dict:
    import json

    from marshmallow import ValidationError

    from exam.exams.schemas import ExamJsonSchema

    try:
        raw = json.loads(text)
    except ValueError as exc:
        raise ExamError(_("The file is not valid JSON: %(error)s", error=str(exc))) from None
    if not isinstance(raw, dict):
        raise ExamError(_("The JSON must be one exam object."))
    try:
        data = ExamJsonSchema().load(raw)
    except ValidationError as exc:
        details = [f"{field}: {messages}" for field, messages in sorted(exc.normalized_messages().items())]
        raise ExamError(_("The exam JSON is not valid."), details=details) from None
    return data


def import_exam_json(text: str, created_by: User | None) -> Exam:
    """Create a draft exam from the exam JSON (the export format); every problem is reported, nothing stored."""
    return create_exam(_load_exam_json(text), created_by)


def update_exam_json(exam: Exam, text: str) -> Exam:
    """Change a draft exam from the JSON; refused (409) once it is published."""
    if exam.status != "draft":
        raise Conflict(_("A published exam's blueprint is frozen; it cannot be changed."))
    return update_exam(exam, _load_exam_json(text))


def live_attempts(exam: Exam, now: datetime | None = None) -> list[Attempt]:
    """Every attempt of the exam (finishing any past the deadline first), in progress first."""
    now = now or utcnow()
    attempts = list(db.session.scalars(
        select(Attempt).options(joinedload(Attempt.user), joinedload(Attempt.exam))
        .where(Attempt.exam_id == exam.id).order_by(Attempt.started_at)
    ))
    for attempt in attempts:
        finalize_if_expired(attempt, now)
    return sorted(attempts, key=lambda a: (a.is_finished, a.deadline))


# --- practice and the wrong-answer book (错题本); practice never counts for anything ----------------------

PRACTICE_TYPES = ["single", "multiple", "true_false", "fill_blank"]


def practice_categories() -> list:
    from question_bank.models import Category

    return list(db.session.scalars(select(Category).order_by(Category.parent_id.is_not(None), Category.sort_order,
                                                             Category.name)))


def next_practice_question(category_ids: list[int], rng: random.Random | None = None,
                           exclude: int | None = None):
    """A random drawable objective question from the chosen categories (and their sub-categories)."""
    from question_bank.models import Category, Question

    rng = rng or random.Random()
    names = [c.name for c in db.session.scalars(select(Category).where(Category.id.in_(category_ids)))] \
        if category_ids else []
    filters = drawing.resolve_filters({"categories": names}) if names else drawing.ResolvedFilters()
    ids = drawing.drawable_ids(PRACTICE_TYPES, filters, to_local(utcnow()).date())
    if exclude in ids and len(ids) > 1:
        ids.remove(exclude)
    return db.session.get(Question, rng.choice(ids)) if ids else None


def practice_question(question_id: int):
    """An active objective question, or NotFound."""
    from question_bank.models import Question

    question = db.session.get(Question, question_id)
    if question is None or question.status != "active" or question.type not in PRACTICE_TYPES:
        raise NotFound(_("No such question."))
    return question


@dataclass
class PracticeFeedback:
    correct: bool
    response: Any
    answer: Any
    explanation: str | None
    law: str | None
    article: str | None


def answer_practice(user: User, question, response: Any, now: datetime | None = None) -> PracticeFeedback:
    """Check a practice answer at once; a wrong one goes to the person's wrong-answer book, a right one on a
    question in the book marks it as mastered."""
    from exam.exams.models import WrongAnswer

    now = now or utcnow()
    version = question.current
    try:
        cleaned = QUESTION_TYPES[version.type].clean_response(version.options, response)
    except ResponseError:
        raise ExamError(_("Choose from the options shown."), code="bad_response") from None
    if not QUESTION_TYPES[version.type].is_answered(cleaned):
        raise ExamError(_("Answer the question first."), code="bad_response")
    correct = version.grade(cleaned, 1.0, False) == 1.0
    entry = db.session.scalar(select(WrongAnswer).where(WrongAnswer.user_id == user.id,
                                                        WrongAnswer.question_id == question.id))
    if not correct:
        if entry is None:
            db.session.add(WrongAnswer(user_id=user.id, question_id=question.id, times_wrong=1, last_wrong_at=now,
                                       last_response=cleaned))
        else:
            entry.times_wrong += 1
            entry.last_wrong_at, entry.last_response, entry.resolved_at = now, cleaned, None
    elif entry is not None and entry.resolved_at is None:
        entry.resolved_at = now
    db.session.flush()
    return PracticeFeedback(correct, cleaned, version.answer, version.explanation,
                            question.law.name if question.law else None, question.article)


def wrong_book(user: User, include_mastered: bool = False) -> list:
    from exam.exams.models import WrongAnswer

    stmt = (select(WrongAnswer).options(joinedload(WrongAnswer.question))
            .where(WrongAnswer.user_id == user.id).order_by(WrongAnswer.last_wrong_at.desc()))
    if not include_mastered:
        stmt = stmt.where(WrongAnswer.resolved_at.is_(None))
    return list(db.session.scalars(stmt))
