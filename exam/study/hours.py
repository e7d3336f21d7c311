"""Yearly study hours and outstanding required bulletins, computed in bulk for any set of people.

Other areas (certificates, reports) call these two functions; each runs a fixed number of queries
whatever the number of people:

* ``training_hours(user_ids, start, end) -> dict[int, HoursBreakdown]``
* ``unconfirmed_required_bulletins(user_ids, as_of) -> dict[int, list[Bulletin]]``
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from decimal import Decimal

from flask import current_app
from sqlalchemy import func, select

from exam.accounts.models import User
from exam.core.timeutil import to_utc_naive
from exam.extensions import db
from exam.study.audience import ASSIGNED_STATUSES, chain_ids, parent_map
from exam.study.models import Bulletin, ReadReceipt, TrainingAttendance, TrainingSession, bulletin_departments

SOURCES = ("bulletins", "training", "exams")
ZERO = Decimal("0")
_CHUNK = 500


@dataclass
class HoursBreakdown:
    by_source: dict[str, Decimal] = field(default_factory=lambda: dict.fromkeys(SOURCES, ZERO))

    @property
    def total(self) -> Decimal:
        return sum(self.by_source.values(), ZERO)

    def add(self, source: str, hours) -> None:
        self.by_source[source] = self.by_source.get(source, ZERO) + Decimal(str(hours or 0))


def required_hours() -> Decimal:
    """The annual requirement (setting ``STUDY_REQUIRED_HOURS``, 40 by default)."""
    return Decimal(str(current_app.config["STUDY_REQUIRED_HOURS"]))


def year_range(year: int) -> tuple[date, date]:
    return date(year, 1, 1), date(year, 12, 31)


def _utc_bounds(start: date, end: date) -> tuple[datetime, datetime]:
    """Local calendar days [start, end] as a half-open naive-UTC interval."""
    return (to_utc_naive(datetime.combine(start, time.min)),
            to_utc_naive(datetime.combine(end + timedelta(days=1), time.min)))


def _chunks(ids: list[int] | None) -> Iterator[list[int] | None]:
    if ids is None:
        yield None
        return
    for i in range(0, len(ids), _CHUNK):
        yield ids[i:i + _CHUNK]


def exam_hours(user_ids: list[int] | None, start: date, end: date) -> dict[int, Decimal]:
    """HOOK for the exams area: hours credited for exams taken between start and end (inclusive).

    Returns nothing (0 hours for everyone) until exams exist; the exams area replaces this body with one
    grouped query of the same shape.
    """
    return {}


def training_hours(user_ids: list[int] | None, start: date, end: date) -> dict[int, HoursBreakdown]:
    """Hours per person between two local dates (inclusive), by source: bulletins, training, exams.

    ``user_ids=None`` means every account. Every requested person gets an entry (zeros included).
    Bulletins count on the day they were confirmed, with the hours recorded at confirmation.
    """
    ids = None if user_ids is None else sorted(set(user_ids))
    if ids is None:
        result = {uid: HoursBreakdown() for uid in db.session.scalars(select(User.id))}
    else:
        result = {uid: HoursBreakdown() for uid in ids}
    begin, finish = _utc_bounds(start, end)
    for chunk in _chunks(ids):
        receipts = (
            select(ReadReceipt.user_id, func.sum(ReadReceipt.hours_credited))
            .where(ReadReceipt.confirmed_at >= begin, ReadReceipt.confirmed_at < finish)
            .group_by(ReadReceipt.user_id)
        )
        training = (
            select(TrainingAttendance.user_id, func.sum(TrainingSession.hours))
            .join(TrainingSession, TrainingSession.id == TrainingAttendance.session_id)
            .where(TrainingSession.held_on >= start, TrainingSession.held_on <= end)
            .group_by(TrainingAttendance.user_id)
        )
        if chunk is not None:
            receipts = receipts.where(ReadReceipt.user_id.in_(chunk))
            training = training.where(TrainingAttendance.user_id.in_(chunk))
        for source, stmt in (("bulletins", receipts), ("training", training)):
            for uid, hours in db.session.execute(stmt):
                if uid in result:
                    result[uid].add(source, hours)
        for uid, hours in exam_hours(chunk, start, end).items():
            if uid in result:
                result[uid].add("exams", hours)
    return result


def hours_for_year(user_ids: list[int] | None, year: int) -> dict[int, HoursBreakdown]:
    return training_hours(user_ids, *year_range(year))


def unconfirmed_required_bulletins(user_ids: Iterable[int] | None, as_of: date) -> dict[int, list[Bulletin]]:
    """Published bulletins assigned to each person, due on or before ``as_of``, that they have not confirmed.

    ``user_ids=None`` means every active member of staff. Every requested person gets an entry
    (an empty list when nothing is outstanding).
    """
    users_stmt = select(User.id, User.department_id)
    if user_ids is None:
        users_stmt = users_stmt.where(User.active.is_(True), User.employment_status.in_(ASSIGNED_STATUSES))
        people = {row.id: row.department_id for row in db.session.execute(users_stmt)}
    else:
        ids = sorted(set(user_ids))
        people = {}
        for chunk in _chunks(ids):
            people.update({row.id: row.department_id
                           for row in db.session.execute(users_stmt.where(User.id.in_(chunk)))})
    result: dict[int, list[Bulletin]] = {uid: [] for uid in people}
    if not people:
        return result
    bulletins = list(db.session.scalars(
        select(Bulletin)
        .where(Bulletin.status == "published", Bulletin.required_by.is_not(None), Bulletin.required_by <= as_of)
        .order_by(Bulletin.required_by, Bulletin.year, Bulletin.number)
    ))
    if not bulletins:
        return result
    bulletin_ids = [b.id for b in bulletins]
    targets: dict[int, set[int]] = {}
    for bid, did in db.session.execute(
        select(bulletin_departments.c.bulletin_id, bulletin_departments.c.department_id)
        .where(bulletin_departments.c.bulletin_id.in_(bulletin_ids))
    ):
        targets.setdefault(bid, set()).add(did)
    confirmed: set[tuple[int, int]] = set()
    for chunk in _chunks(sorted(people) if user_ids is not None else None):
        stmt = select(ReadReceipt.user_id, ReadReceipt.bulletin_id).where(
            ReadReceipt.bulletin_id.in_(bulletin_ids), ReadReceipt.confirmed_at.is_not(None)
        )
        if chunk is not None:
            stmt = stmt.where(ReadReceipt.user_id.in_(chunk))
        confirmed.update((row.user_id, row.bulletin_id) for row in db.session.execute(stmt))
    parents = parent_map()
    chains: dict[int | None, set[int]] = {}
    for uid, department_id in people.items():
        if department_id not in chains:
            chains[department_id] = chain_ids(department_id, parents)
        chain = chains[department_id]
        for bulletin in bulletins:
            if (uid, bulletin.id) in confirmed:
                continue
            if bulletin.audience == "all" or chain & targets.get(bulletin.id, set()):
                result[uid].append(bulletin)
    return result
