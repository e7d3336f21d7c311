"""Trends across exams, compliance by department, and the annual figures of the bureau's rule-of-law report.

Read-only: nothing here writes. Exam figures come from ``exam.reports.stats`` (SQL aggregates); compliance
works per person (people, never attempts, are loaded) with the study area's bulk functions.

Annual figures (a calendar year in the bureau's time zone):

* exams and competitions held: exams of purpose ``annual`` or ``competition``, published or closed, whose window
  opens in the year; 参考率 = Σ took / Σ assigned over them, 合格率 = Σ passed / Σ took.
* qualification and renewal exams held: the same for purposes ``qualification`` and ``renewal``.
* bulletins issued (编印学法材料N期): published bulletins numbered in that year.
* training sessions (举办培训班N期) and lectures: sessions held in the year, by kind.
* new certificates (新申领执法证N人): people issued a certificate in the year that replaces none; renewals
  (换发): people issued a certificate that replaces another; revocations (吊销): people whose certificate was
  revoked with effect in the year; holders of valid certificates at year end: people with a certificate issued
  on or before 31 December, valid until at least that day, and either still valid or whose status changed only
  after that day.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time
from decimal import Decimal

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import and_, case, func, or_, select, true

from exam.accounts.models import Department, User
from exam.certificates.models import Certificate
from exam.core.errors import NotFound
from exam.core.timeutil import local_today, to_local, to_utc_naive, utcnow
from exam.exams.models import Exam
from exam.extensions import db
from exam.reports.stats import (
    Figures,
    audience_condition,
    counting_subquery,
    exam_figures,
    finished_subquery,
    staff_condition,
)
from exam.study import hours as study_hours
from exam.study.audience import chain_ids, parent_map, subtree_ids
from exam.study.models import Bulletin, TrainingAttendance, TrainingSession

REPORTED_PURPOSES = ("qualification", "renewal", "annual", "competition")
LAW_STUDY_PURPOSES = ("annual", "competition")
QUALIFYING_PURPOSES = ("qualification", "renewal")


def year_bounds_utc(year: int) -> tuple[datetime, datetime]:
    """A local calendar year as a half-open naive-UTC interval."""
    return (to_utc_naive(datetime.combine(date(year, 1, 1), time.min)),
            to_utc_naive(datetime.combine(date(year + 1, 1, 1), time.min)))


def year_message() -> str:
    return _("The year must be a number such as %(year)s.", year=local_today().year)


def check_year(value) -> int:
    """A year from a query string; ValueError when it is not a plausible year."""
    year = int(value)
    if not 2000 <= year <= 2100:
        raise ValueError(value)
    return year


def reported_exams(year: int | None = None, purposes=REPORTED_PURPOSES) -> list[Exam]:
    stmt = select(Exam).where(Exam.purpose.in_(purposes), Exam.status.in_(("published", "closed")))
    if year is not None:
        start, end = year_bounds_utc(year)
        stmt = stmt.where(Exam.opens_at >= start, Exam.opens_at < end)
    return list(db.session.scalars(stmt.order_by(Exam.opens_at.desc(), Exam.id.desc())))


def get_exam(exam_id: int) -> Exam:
    exam = db.session.get(Exam, exam_id)
    if exam is None or exam.purpose == "practice":
        raise NotFound(_("No such exam."))
    return exam


# --- trends ------------------------------------------------------------------------------------------------

@dataclass
class ExamTrend:
    exam: Exam
    year: int
    figures: Figures


@dataclass
class YearTrend:
    year: int
    exams: int = 0
    assigned: int = 0
    took: int = 0
    passed: int = 0

    @property
    def participation_rate(self) -> float | None:
        return self.took / self.assigned if self.assigned else None

    @property
    def pass_rate(self) -> float | None:
        return self.passed / self.took if self.took else None


def trends(purposes=REPORTED_PURPOSES) -> tuple[list[ExamTrend], list[YearTrend]]:
    """Headline figures of every reported exam (newest first) and their totals per year."""
    parents = parent_map()
    rows = [ExamTrend(e, to_local(e.opens_at).year, exam_figures(e, parents)) for e in reported_exams(None, purposes)]
    years: dict[int, YearTrend] = {}
    for row in rows:
        total = years.setdefault(row.year, YearTrend(row.year))
        total.exams += 1
        total.assigned += row.figures.assigned
        total.took += row.figures.took
        total.passed += row.figures.passed
    return rows, sorted(years.values(), key=lambda y: y.year)


# --- compliance by department --------------------------------------------------------------------------------

@dataclass
class PersonCompliance:
    user: User
    hours: Decimal
    required_bulletins: int
    confirmed_bulletins: int
    exams_taken: int
    exams_passed: int
    annual_missed: list[str] = field(default_factory=list)  # annual exams assigned and not passed (closed ones)
    certificates: dict[str, int] = field(default_factory=dict)

    def reasons(self, required_hours: Decimal) -> list[str]:
        result = []
        if self.hours < required_hours:
            result.append(_("Hours %(h)s of %(r)s", h=_fmt(self.hours), r=_fmt(required_hours)))
        if self.confirmed_bulletins < self.required_bulletins:
            result.append(_("Bulletins %(c)s of %(r)s confirmed", c=self.confirmed_bulletins,
                            r=self.required_bulletins))
        for title in self.annual_missed:
            result.append(_("Not passed: %(title)s", title=title))
        return result


@dataclass
class ComplianceRow:
    department_id: int | None
    name: str
    has_children: bool = False
    staff: int = 0
    required_bulletins: int = 0
    confirmed_bulletins: int = 0
    hours_met: int = 0
    hours_total: Decimal = Decimal("0")
    exams_taken: int = 0
    exams_passed: int = 0
    behind: int = 0
    certificates: dict[str, int] = field(default_factory=dict)

    @property
    def bulletin_rate(self) -> float | None:
        return self.confirmed_bulletins / self.required_bulletins if self.required_bulletins else None

    @property
    def hours_rate(self) -> float | None:
        return self.hours_met / self.staff if self.staff else None


@dataclass
class Compliance:
    year: int
    as_of: date
    department: Department | None
    breadcrumbs: list[Department]
    required_hours: Decimal
    rows: list[ComplianceRow]
    total: ComplianceRow
    behind: list[tuple[PersonCompliance, list[str]]]
    people: list[PersonCompliance]


def _fmt(value) -> str:
    text = f"{Decimal(value):.2f}".rstrip("0").rstrip(".")
    return text or "0"


def compliance(year: int, department_id: int | None = None, today: date | None = None) -> Compliance:
    """Per child department of ``department_id`` (the whole bureau when None), rolled up over sub-departments."""
    today = today or local_today()
    as_of = min(today, date(year, 12, 31))
    node = None
    if department_id is not None:
        node = db.session.get(Department, department_id)
        if node is None:
            raise NotFound(_("No such department."))
    parents = parent_map()
    departments = {d.id: d for d in db.session.scalars(select(Department))}
    children = [d for d in departments.values() if d.parent_id == (node.id if node else None)]
    children.sort(key=lambda d: (d.sort_order, d.name))

    stmt = select(User).where(staff_condition()).order_by(User.username)
    if node is not None:
        stmt = stmt.where(User.department_id.in_(sorted(subtree_ids([node.id], parents))))
    people = list(db.session.scalars(stmt))
    ids = [u.id for u in people]

    required = study_hours.required_hours()
    hours = study_hours.training_hours(ids, date(year, 1, 1), date(year, 12, 31)) if ids else {}
    bulletins = list(db.session.scalars(
        select(Bulletin).where(Bulletin.status == "published", Bulletin.required_by.is_not(None),
                               Bulletin.required_by >= date(year, 1, 1), Bulletin.required_by <= as_of)))
    outstanding = study_hours.unconfirmed_required_bulletins(ids, as_of) if ids else {}
    bulletin_depts = {b.id: {d.id for d in b.departments} for b in bulletins}

    exams = reported_exams(year)
    exam_ids = [e.id for e in exams]
    taken: dict[int, tuple[int, int]] = {}
    if exam_ids and ids:
        counting, finished = counting_subquery(exam_ids), finished_subquery(exam_ids)
        for uid, n_took, n_passed in db.session.execute(
            select(finished.c.user_id, func.count(), func.sum(case((counting.c.passed.is_(True), 1), else_=0)))
            .outerjoin(counting, and_(counting.c.user_id == finished.c.user_id,
                                      counting.c.exam_id == finished.c.exam_id))
            .where(finished.c.user_id.in_(ids))
            .group_by(finished.c.user_id)
        ):
            taken[uid] = (int(n_took), int(n_passed or 0))
    annual_missed: dict[int, list[str]] = {}
    now = utcnow()
    for exam in exams:
        if exam.purpose != "annual" or exam.closes_at > now:
            continue
        counting = counting_subquery([exam.id], "annual_counting")
        missed = db.session.scalars(
            select(User.id).outerjoin(counting, counting.c.user_id == User.id)
            .where(audience_condition(exam, parents), or_(counting.c.passed.is_(None), counting.c.passed.is_(False)),
                   User.id.in_(ids) if node is not None else true())
        )
        for uid in missed:
            annual_missed.setdefault(uid, []).append(exam.title)

    certificates: dict[int, dict[str, int]] = {}
    if ids:
        cert_stmt = select(Certificate.holder_id, Certificate.status, func.count()).group_by(
            Certificate.holder_id, Certificate.status)
        if node is not None:
            cert_stmt = cert_stmt.where(Certificate.holder_id.in_(ids))
        for uid, status, n in db.session.execute(cert_stmt):
            certificates.setdefault(uid, {})[status] = int(n)

    records = []
    for user in people:
        chain = chain_ids(user.department_id, parents)
        assigned_bulletins = [b for b in bulletins if b.audience == "all" or chain & bulletin_depts[b.id]]
        open_ids = {b.id for b in outstanding.get(user.id, [])}
        confirmed = sum(1 for b in assigned_bulletins if b.id not in open_ids)
        took, passed = taken.get(user.id, (0, 0))
        records.append(PersonCompliance(
            user=user, hours=hours[user.id].total if user.id in hours else Decimal("0"),
            required_bulletins=len(assigned_bulletins), confirmed_bulletins=confirmed, exams_taken=took,
            exams_passed=passed, annual_missed=annual_missed.get(user.id, []),
            certificates=certificates.get(user.id, {})))

    child_of: dict[int, int | None] = {}
    for child in children:
        for dept_id in subtree_ids([child.id], parents):
            child_of[dept_id] = child.id
    rows = {c.id: ComplianceRow(c.id, c.name, has_children=any(d.parent_id == c.id for d in departments.values()))
            for c in children}
    direct = ComplianceRow(node.id if node else None, _("Directly in %(name)s", name=node.name) if node
                           else _("No department"))
    total = ComplianceRow(node.id if node else None, node.path if node else _("Whole bureau"))
    behind = []
    for person in records:
        row = rows.get(child_of.get(person.user.department_id), direct)
        reasons = person.reasons(required)
        for target in (row, total):
            target.staff += 1
            target.required_bulletins += person.required_bulletins
            target.confirmed_bulletins += person.confirmed_bulletins
            target.hours_met += person.hours >= required
            target.hours_total += person.hours
            target.exams_taken += person.exams_taken
            target.exams_passed += person.exams_passed
            target.behind += bool(reasons)
            for status, n in person.certificates.items():
                target.certificates[status] = target.certificates.get(status, 0) + n
        if reasons:
            behind.append((person, reasons))
    result_rows = list(rows.values()) + ([direct] if direct.staff else [])
    crumbs = list(reversed(node.ancestors())) + [node] if node else []
    return Compliance(year, as_of, node, crumbs, required, result_rows, total, behind, records)


# --- annual figures ------------------------------------------------------------------------------------------

FIGURE_KEYS = ("law_exams", "qualifying_exams", "bulletins", "training", "lectures", "new_certificates",
               "renewals", "revocations", "holders")
FIGURE_TITLES = {
    "law_exams": _l("Online law exams and competitions"),
    "qualifying_exams": _l("Qualification and renewal exams"),
    "bulletins": _l("Study bulletins issued"),
    "training": _l("Training sessions held"),
    "lectures": _l("Lectures held"),
    "new_certificates": _l("New enforcement certificates"),
    "renewals": _l("Renewed enforcement certificates"),
    "revocations": _l("Revoked enforcement certificates"),
    "holders": _l("Holders of valid certificates at year end"),
}


@dataclass
class AnnualFigure:
    key: str
    value: int
    text: str
    participation_rate: float | None = None
    pass_rate: float | None = None

    @property
    def title(self) -> str:
        return str(FIGURE_TITLES[self.key])


def rate_text(value: float | None) -> str:
    """100%, 97.5% — as the bureau writes rates."""
    if value is None:
        return "—"
    text = f"{value * 100:.1f}".rstrip("0").rstrip(".")
    return f"{text}%"


def _exam_totals(exams: list[Exam]) -> Figures:
    parents = parent_map()
    total = Figures()
    for exam in exams:
        f = exam_figures(exam, parents)
        total.assigned += f.assigned
        total.took += f.took
        total.passed += f.passed
    return total


def figure_records(year: int, key: str):
    """The records behind one annual figure (what the figure counts)."""
    start, end = date(year, 1, 1), date(year, 12, 31)
    if key == "law_exams":
        return reported_exams(year, LAW_STUDY_PURPOSES)
    if key == "qualifying_exams":
        return reported_exams(year, QUALIFYING_PURPOSES)
    if key == "bulletins":
        return list(db.session.scalars(select(Bulletin).where(Bulletin.year == year, Bulletin.status == "published")
                                       .order_by(Bulletin.number)))
    if key in ("training", "lectures"):
        kind = "session" if key == "training" else "lecture"
        return list(db.session.scalars(select(TrainingSession).where(
            TrainingSession.kind == kind, TrainingSession.held_on >= start, TrainingSession.held_on <= end)
            .order_by(TrainingSession.held_on, TrainingSession.id)))
    stmt = select(Certificate).join(User, User.id == Certificate.holder_id).order_by(User.username, Certificate.id)
    if key == "new_certificates":
        stmt = stmt.where(Certificate.issued_on >= start, Certificate.issued_on <= end,
                          Certificate.replaces_id.is_(None))
    elif key == "renewals":
        stmt = stmt.where(Certificate.issued_on >= start, Certificate.issued_on <= end,
                          Certificate.replaces_id.is_not(None))
    elif key == "revocations":
        stmt = stmt.where(Certificate.status == "revoked", Certificate.status_effective_on >= start,
                          Certificate.status_effective_on <= end)
    elif key == "holders":
        stmt = stmt.where(Certificate.issued_on <= end, Certificate.valid_until >= end,
                          or_(Certificate.status == "valid",
                              and_(Certificate.status_effective_on.is_not(None),
                                   Certificate.status_effective_on > end)))
    else:
        raise NotFound(_("No such figure."))
    return list(db.session.scalars(stmt))


def training_attendance(session_ids: list[int]) -> dict[int, int]:
    if not session_ids:
        return {}
    return dict(db.session.execute(select(TrainingAttendance.session_id, func.count())
                                   .where(TrainingAttendance.session_id.in_(session_ids))
                                   .group_by(TrainingAttendance.session_id)).all())


def annual_figures(year: int) -> list[AnnualFigure]:
    law = figure_records(year, "law_exams")
    law_totals = _exam_totals(law)
    qual = figure_records(year, "qualifying_exams")
    qual_totals = _exam_totals(qual)

    def people(key: str) -> int:
        return len({c.holder_id for c in figure_records(year, key)})

    n_bulletins = len(figure_records(year, "bulletins"))
    n_training = len(figure_records(year, "training"))
    n_lectures = len(figure_records(year, "lectures"))
    if law:
        law_text = _("Held %(n)s online law exams and competitions, participation rate %(rate)s", n=len(law),
                     rate=rate_text(law_totals.participation_rate))
    else:
        law_text = _("Held no online law exams or competitions")
    if qual:
        qual_text = _("Held %(n)s enforcement qualification and renewal exams, participation rate %(rate)s, "
                      "pass rate %(pass)s", n=len(qual), rate=rate_text(qual_totals.participation_rate),
                      **{"pass": rate_text(qual_totals.pass_rate)})
    else:
        qual_text = _("Held no enforcement qualification or renewal exams")
    figures = [
        AnnualFigure("law_exams", len(law), law_text, law_totals.participation_rate, law_totals.pass_rate),
        AnnualFigure("qualifying_exams", len(qual), qual_text, qual_totals.participation_rate, qual_totals.pass_rate),
        AnnualFigure("bulletins", n_bulletins, _("Compiled and printed %(n)s issues of study materials",
                                                 n=n_bulletins)),
        AnnualFigure("training", n_training, _("Held %(n)s training sessions", n=n_training)),
        AnnualFigure("lectures", n_lectures, _("Held %(n)s law lectures", n=n_lectures)),
    ]
    for key, message in (("new_certificates", _l("%(n)s people newly applied for an enforcement certificate")),
                         ("renewals", _l("%(n)s people renewed their enforcement certificate")),
                         ("revocations", _l("%(n)s people had their enforcement certificate revoked")),
                         ("holders", _l("%(n)s people held a valid enforcement certificate at year end"))):
        n = people(key)
        figures.append(AnnualFigure(key, n, str(message) % {"n": n}))
    return figures


def years_available() -> list[int]:
    today = local_today()
    first = db.session.scalar(select(func.min(Exam.opens_at)))
    start = to_local(first).year if first else today.year
    return list(range(today.year, min(start, today.year) - 1, -1))


__all__ = ["annual_figures", "compliance", "figure_records", "trends"]
