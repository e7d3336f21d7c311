"""Exam statistics and item analysis, computed with SQL aggregates.

Definitions (the bureau's report uses these; tests check them against counts made from raw rows):

* **assigned** (应参考): staff whose account is enabled and whose employment status is ``active`` or
  ``seconded`` (the study area's ``ASSIGNED_STATUSES``) and who are in the exam's audience *now*: everyone, or a
  chosen department or any of its sub-departments, or a named person. People who have left or retired are not
  assigned; if they took the exam they appear under "outside the audience".
* **took** (参考): assigned people with at least one *finished* attempt (submitted by the person, or finished at
  the deadline / by the focus-loss limit: auto-submitted attempts count like submitted ones). An attempt still in
  progress does not count as taking part; such people are listed among the absent, marked "in progress".
* **counting attempt**: per person the one attempt the exam's rule picks among finished, fully graded attempts
  (``best``: highest score, ties to the later attempt; ``last``: the latest) — the same window function as
  ``exam.exams.operations.counting_attempts``, kept here as a subquery so nothing is loaded into Python.
* **passed** (合格): the counting attempt passed. People who took the exam but whose paper still waits for manual
  grading count in "took" but not in "passed" (shown as "awaiting grading").
* 参考率 = took / assigned; 合格率 = passed / took. Score figures (mean, median, population standard deviation,
  highest, lowest, bands, histogram) use the counting attempts of assigned people. People outside the audience
  who took the exam are reported separately and are in none of these figures.
* Median: ``percentile_cont(0.5)`` on PostgreSQL; elsewhere the one or two middle scores fetched with
  ORDER BY/LIMIT/OFFSET (at most two rows).
* Item analysis uses the counting attempts of everybody who took the exam (the questions are the same whoever
  answered them). Facility = Σ awarded / Σ points. Discrimination = the item–total correlation (point-biserial
  for right/wrong items) between the item's share of points and the paper's percentage score, computed from
  SQL sums (Pearson's r). Flagged when discrimination < 0.2 or a wrong option was chosen more often than the
  right one (for multiple choice: more often than the least chosen right option). Items are grouped per question
  version, because answer keys may differ between versions.

The number of SQL statements is fixed per exam: it does not grow with the number of attempts or answers.
"""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass, field
from typing import Any

from sqlalchemy import Float, Integer, Text, and_, any_, case, cast, func, literal, or_, select, true, union_all
from sqlalchemy.sql.expression import ColumnElement
from sqlalchemy.types import ARRAY

from exam.accounts.models import Department, User
from exam.exams.models import FAIL_BAND, Attempt, AttemptItem, Exam, exam_departments, exam_users
from exam.extensions import db
from exam.study.audience import ASSIGNED_STATUSES, parent_map, subtree_ids
from question_bank.models import QuestionVersion

HISTOGRAM_BINS = 10
LOW_DISCRIMINATION = 0.2
FINISHED_STATUSES = ("submitted", "expired")


# --- building blocks (subqueries) -------------------------------------------------------------------------

def staff_condition():
    """Enabled accounts of people expected to take part (active or seconded)."""
    return and_(User.active.is_(True), User.employment_status.in_(ASSIGNED_STATUSES))


def audience_condition(exam: Exam, parents: dict[int, int | None] | None = None):
    """A WHERE clause on ``User`` selecting the exam's assigned people (departments include sub-departments)."""
    if exam.audience_everyone:
        return staff_condition()
    dept_ids = list(db.session.scalars(select(exam_departments.c.department_id)
                                       .where(exam_departments.c.exam_id == exam.id)))
    named = select(exam_users.c.user_id).where(exam_users.c.exam_id == exam.id)
    members = [User.id.in_(named)]
    if dept_ids:
        members.append(User.department_id.in_(sorted(subtree_ids(dept_ids, parents))))
    return and_(staff_condition(), or_(*members))


def _people(user_ids):
    """Whose attempts: everyone (None), a list of ids, a SELECT of ids, or one bound array of ids (PostgreSQL): the
    last two serve any number of people with one compiled statement."""
    if user_ids is None:
        return true()
    if isinstance(user_ids, ColumnElement) and isinstance(user_ids.type, ARRAY):
        return Attempt.user_id == any_(user_ids)
    return Attempt.user_id.in_(user_ids)


def _finished_of(exam_ids, user_ids):
    """The finished attempts of the exams (and of ``user_ids``: see ``_people``). For named people the rows are
    found by the person (the user_id index) and the exam and status only filter them: on an exam day the
    statistics say today's exam has hardly any attempts (it had none when they were taken), and the planner took
    the exam's or the status's index and read every finished attempt of the exam, or of every exam, per submit."""
    exams, finished = Attempt.exam_id.in_(exam_ids), Attempt.status.in_(FINISHED_STATUSES)
    if user_ids is None:
        return and_(exams, finished)
    return and_(exams.is_(true()), finished.is_(true()), _people(user_ids))


def counting_subquery(exam_ids: list[int], name: str = "counting", user_ids: list[int] | None = None):
    """One row per person and exam: the counting attempt (see the module docstring)."""
    ranked_order = case((Exam.counting_attempt == "best", Attempt.score), else_=None)
    rank = func.row_number().over(
        partition_by=(Attempt.exam_id, Attempt.user_id),
        order_by=(ranked_order.desc().nulls_last(), Attempt.number.desc()),
    ).label("rank")
    inner = (
        select(Attempt.id.label("id"), Attempt.exam_id.label("exam_id"), Attempt.user_id.label("user_id"),
               Attempt.score.label("score"), Attempt.max_score.label("max_score"), Attempt.passed.label("passed"),
               Attempt.band.label("band"), Attempt.finished_by.label("finished_by"), rank)
        .join(Exam, Exam.id == Attempt.exam_id)
        .where(_finished_of(exam_ids, user_ids), Attempt.passed.is_not(None))
        .subquery(name + "_ranked")
    )
    return select(inner).where(inner.c.rank == 1).subquery(name)


def finished_subquery(exam_ids: list[int], name: str = "finished", user_ids: list[int] | None = None):
    """Per person and exam: how many finished attempts, how many of them auto-submitted."""
    return (
        select(Attempt.exam_id.label("exam_id"), Attempt.user_id.label("user_id"),
               func.count().label("attempts"),
               func.sum(case((Attempt.finished_by.in_(("deadline", "focus_limit")), 1), else_=0)).label("auto"))
        .where(_finished_of(exam_ids, user_ids))
        .group_by(Attempt.exam_id, Attempt.user_id)
        .subquery(name)
    )


def _percent(counting):
    """The counting attempt's score as a fraction of its maximum (0..1). ``type_=Float`` on NULLIF keeps the
    division in floating point: an untyped NULLIF makes SQLAlchemy cast to NUMERIC, ~5x slower on PostgreSQL."""
    return cast(counting.c.score, Float) / func.nullif(cast(counting.c.max_score, Float), 0.0, type_=Float)


# --- results -----------------------------------------------------------------------------------------------

@dataclass
class Figures:
    assigned: int = 0
    took: int = 0
    passed: int = 0
    graded: int = 0  # took and has a counting (fully graded) attempt
    awaiting_grading: int = 0
    auto_submitted: int = 0  # took, and at least one finished attempt was finished automatically
    resat: int = 0  # took with more than one finished attempt
    mean: float | None = None
    stdev: float | None = None
    highest: float | None = None
    lowest: float | None = None
    mean_percent: float | None = None

    @property
    def absent(self) -> int:
        return self.assigned - self.took

    @property
    def participation_rate(self) -> float | None:  # 参考率
        return self.took / self.assigned if self.assigned else None

    @property
    def pass_rate(self) -> float | None:  # 合格率
        return self.passed / self.took if self.took else None

    def as_dict(self) -> dict:
        data = asdict(self)
        data.update(absent=self.absent, participation_rate=self.participation_rate, pass_rate=self.pass_rate)
        return data


@dataclass
class DepartmentFigures(Figures):
    department_id: int | None = None
    department: str = ""


@dataclass
class Person:
    id: int
    username: str
    name: str
    department: str
    in_progress: bool = False
    score: float | None = None
    passed: bool | None = None
    employment_status: str = ""


@dataclass
class OptionCount:
    key: Any
    label: str
    text: str
    count: int
    correct: bool


@dataclass
class ItemStats:
    question_id: int
    version_id: int
    version_number: int
    type: str
    stem: str
    responses: int  # graded answers of counting attempts
    facility: float | None
    discrimination: float | None
    options: list[OptionCount] = field(default_factory=list)
    unanswered: int = 0
    low_discrimination: bool = False
    distractor_beats_key: bool = False
    position: int = 0  # first position on the papers (for ordering)

    @property
    def flagged(self) -> bool:
        return self.low_discrimination or self.distractor_beats_key


@dataclass
class ExamStats:
    exam: Exam
    figures: Figures
    median: float | None
    bands: list[tuple[str, int]]
    histogram: list[tuple[str, int]]
    departments: list[DepartmentFigures]
    absent: list[Person]
    outside: list[Person]
    in_progress: int
    items: list[ItemStats] | None = None

    @property
    def max_score(self) -> float:
        return self.exam.max_score


def _departments() -> tuple[dict[int, int | None], dict[int, str]]:
    """(parent of each department, each department's path "市局 / 法制科") from one query (``Department.path``
    walks parents already in the session)."""
    departments = list(db.session.scalars(select(Department)))
    return {d.id: d.parent_id for d in departments}, {d.id: d.path for d in departments}


def _department_paths() -> dict[int, str]:
    return _departments()[1]


def _figures_columns(counting, finished):
    took = finished.c.user_id.is_not(None)
    score = cast(counting.c.score, Float)
    return (
        func.count(User.id).label("assigned"),
        func.count(finished.c.user_id).label("took"),
        func.sum(case((and_(took, counting.c.passed.is_(True)), 1), else_=0)).label("passed"),
        func.count(counting.c.id).label("graded"),
        func.sum(case((and_(took, counting.c.id.is_(None)), 1), else_=0)).label("awaiting"),
        func.sum(case((finished.c.auto > 0, 1), else_=0)).label("auto"),
        func.sum(case((finished.c.attempts > 1, 1), else_=0)).label("resat"),
        func.avg(score).label("mean"),
        func.avg(score * score).label("mean_sq"),
        func.max(score).label("highest"),
        func.min(score).label("lowest"),
        func.avg(_percent(counting)).label("mean_percent"),
    )


def _fill(target: Figures, row) -> Figures:
    target.assigned = int(row.assigned or 0)
    target.took = int(row.took or 0)
    target.passed = int(row.passed or 0)
    target.graded = int(row.graded or 0)
    target.awaiting_grading = int(row.awaiting or 0)
    target.auto_submitted = int(row.auto or 0)
    target.resat = int(row.resat or 0)
    if row.mean is not None:
        mean = float(row.mean)
        target.mean = mean
        target.stdev = math.sqrt(max(0.0, float(row.mean_sq) - mean * mean))  # population SD
        target.highest = float(row.highest)
        target.lowest = float(row.lowest)
        target.mean_percent = float(row.mean_percent) if row.mean_percent is not None else None
    return target


def _audience_base(exam: Exam, counting, finished, parents):
    return (
        select()
        .select_from(User)
        .outerjoin(finished, and_(finished.c.user_id == User.id, finished.c.exam_id == exam.id))
        .outerjoin(counting, and_(counting.c.user_id == User.id, counting.c.exam_id == exam.id))
        .where(audience_condition(exam, parents))
    )


def _combine(parts: list[Figures]) -> Figures:
    """The whole from its department parts: counts add up; means are weighted by the graded people."""
    total = Figures()
    sum_scores = sum_squares = sum_percent = 0.0
    for part in parts:
        for name in ("assigned", "took", "passed", "graded", "awaiting_grading", "auto_submitted", "resat"):
            setattr(total, name, getattr(total, name) + getattr(part, name))
        if part.mean is not None and part.graded:
            sum_scores += part.mean * part.graded
            sum_squares += (part.stdev ** 2 + part.mean ** 2) * part.graded
            sum_percent += (part.mean_percent or 0.0) * part.graded
            total.highest = part.highest if total.highest is None else max(total.highest, part.highest)
            total.lowest = part.lowest if total.lowest is None else min(total.lowest, part.lowest)
    if total.graded:
        total.mean = sum_scores / total.graded
        total.stdev = math.sqrt(max(0.0, sum_squares / total.graded - total.mean ** 2))
        total.mean_percent = sum_percent / total.graded
    return total


def exam_figures(exam: Exam, parents: dict[int, int | None] | None = None) -> Figures:
    """The headline figures only (a few statements): used for trends and the annual figures."""
    parents = parent_map() if parents is None else parents
    counting, finished = counting_subquery([exam.id]), finished_subquery([exam.id])
    row = db.session.execute(_audience_base(exam, counting, finished, parents)
                             .add_columns(*_figures_columns(counting, finished))).one()
    return _fill(Figures(), row)


def _median(exam: Exam, counting, audience, count: int) -> float | None:
    if not count:
        return None
    scores = (select(cast(counting.c.score, Float).label("score")).select_from(counting)
              .join(User, User.id == counting.c.user_id).where(audience))
    if db.session.get_bind().dialect.name == "postgresql":
        sub = scores.subquery()
        value = db.session.scalar(select(func.percentile_cont(0.5).within_group(sub.c.score)))
        return float(value) if value is not None else None
    middle = list(db.session.scalars(scores.order_by(counting.c.score).limit(2 - count % 2)
                                     .offset((count - 1) // 2)))
    return sum(middle) / len(middle) if middle else None


def _histogram_bin(counting):
    maximum = func.nullif(cast(counting.c.max_score, Float), 0.0, type_=Float)
    scaled = cast(counting.c.score, Float) * HISTOGRAM_BINS / maximum
    # CAST rounds on PostgreSQL and truncates on SQLite: floor explicitly where the database has it.
    floored = func.floor(scaled) if db.session.get_bind().dialect.name == "postgresql" else scaled
    raw = cast(floored, Integer)
    return case((raw >= HISTOGRAM_BINS, HISTOGRAM_BINS - 1), (raw < 0, 0), else_=raw)


def histogram_labels() -> list[str]:
    step = 100 // HISTOGRAM_BINS
    return [f"{i * step}–{(i + 1) * step}%" if i < HISTOGRAM_BINS - 1 else f"{i * step}–100%"
            for i in range(HISTOGRAM_BINS)]


def band_names(exam: Exam) -> list[str]:
    names = [name for name, _ in sorted((exam.bands or {}).items(), key=lambda kv: -float(kv[1]))]
    return names + [FAIL_BAND]


def exam_stats(exam: Exam, *, with_items: bool = True) -> ExamStats:
    """Everything the exam report shows. A fixed number of SQL statements, whatever the number of attempts:
    from the kept aggregates when they are current for the exam (``exam.reports.item_stats``), else from the
    raw rows."""
    from exam.reports import item_stats

    if item_stats.is_fresh(db.session, exam):
        stats = _kept_exam_stats(exam)
        if with_items:
            stats.items = _items_from_groups(*_kept_groups(exam))
        return stats
    return raw_exam_stats(exam, with_items=with_items)


def raw_exam_stats(exam: Exam, *, with_items: bool = True) -> ExamStats:
    """``exam_stats`` counted from the raw attempts (the definition the kept aggregates must agree with)."""
    parents = parent_map()
    audience = audience_condition(exam, parents)
    counting, finished = counting_subquery([exam.id]), finished_subquery([exam.id])
    base = _audience_base(exam, counting, finished, parents)
    paths = _department_paths()
    departments = []
    for row in db.session.execute(base.add_columns(User.department_id, *_figures_columns(counting, finished))
                                  .group_by(User.department_id)):
        item = _fill(DepartmentFigures(department_id=row.department_id), row)
        item.department = paths.get(row.department_id, "") if row.department_id else ""
        departments.append(item)
    departments.sort(key=lambda d: d.department)
    figures = _combine(departments)

    in_audience_counting = (select().select_from(counting).join(User, User.id == counting.c.user_id)
                            .where(audience))
    bin_col = _histogram_bin(counting).label("bin")
    band_counts: dict[str, int] = {}
    bin_counts: dict[int, int] = {}
    for band, bin_index, n in db.session.execute(in_audience_counting.add_columns(counting.c.band, bin_col,
                                                                                  func.count())
                                                 .group_by(counting.c.band, bin_col)):
        band_counts[band] = band_counts.get(band, 0) + int(n)
        bin_counts[bin_index] = bin_counts.get(bin_index, 0) + int(n)
    bands = [(name, int(band_counts.pop(name, 0))) for name in band_names(exam)]
    bands += [(str(name), int(n)) for name, n in sorted(band_counts.items(), key=lambda kv: str(kv[0]))]
    histogram = list(zip(histogram_labels(), [int(bin_counts.get(i, 0)) for i in range(HISTOGRAM_BINS)],
                         strict=True))

    median = _median(exam, counting, audience, figures.graded)

    in_progress_users = (select(Attempt.user_id).where(Attempt.exam_id == exam.id,
                                                       Attempt.status == "in_progress"))
    absent_rows = db.session.execute(
        select(User.id, User.username, User.name, User.department_id, User.employment_status,
               User.id.in_(in_progress_users).label("in_progress"))
        .outerjoin(finished, and_(finished.c.user_id == User.id, finished.c.exam_id == exam.id))
        .where(audience, finished.c.user_id.is_(None))
    ).all()
    absent = [Person(r.id, r.username, r.name, paths.get(r.department_id, ""), bool(r.in_progress),
                     employment_status=r.employment_status) for r in absent_rows]
    in_progress = sum(1 for p in absent if p.in_progress)

    assigned_ids = select(User.id).where(audience)
    outside_rows = db.session.execute(
        select(User.id, User.username, User.name, User.department_id, User.employment_status,
               counting.c.score, counting.c.passed)
        .join(finished, and_(finished.c.user_id == User.id, finished.c.exam_id == exam.id))
        .outerjoin(counting, and_(counting.c.user_id == User.id, counting.c.exam_id == exam.id))
        .where(User.id.not_in(assigned_ids))
    ).all()
    outside = [Person(r.id, r.username, r.name, paths.get(r.department_id, ""), score=r.score, passed=r.passed,
                      employment_status=r.employment_status) for r in outside_rows]
    _by_username(absent, outside)

    stats = ExamStats(exam, figures, median, bands, histogram, departments, absent, outside, in_progress)
    if with_items:
        stats.items = raw_item_analysis(exam)
    return stats


def _by_username(*people: list[Person]) -> None:
    """Lists of people in username order (sorted here: the same order on every database, whatever its collation,
    and the planner is free to start from the smaller table)."""
    for group in people:
        group.sort(key=lambda p: p.username)


def _kept_audience(exam: Exam, parents):
    """The audience condition on ``exam_results`` (its copies of the person's department and staff flag) and its
    negation, written so that an index on ``staff`` serves both (``staff`` is never NULL)."""
    from exam.reports.models import ExamResult as R

    if exam.audience_everyone:
        return R.staff.is_(True), R.staff.is_(False)
    dept_ids = list(db.session.scalars(select(exam_departments.c.department_id)
                                       .where(exam_departments.c.exam_id == exam.id)))
    named = select(exam_users.c.user_id).where(exam_users.c.exam_id == exam.id)
    members = [R.user_id.in_(named)]
    if dept_ids:
        members.append(R.department_id.in_(sorted(subtree_ids(dept_ids, parents))))
    return and_(R.staff.is_(True), or_(*members)), or_(R.staff.is_(False), ~or_(*members))


def _kept_exam_stats(exam: Exam) -> ExamStats:
    """``exam_stats`` from ``exam_results``: one grouped pass gives departments, bands and the histogram.

    Plain (Core) reads on the session's connection: the rows are tuples, not ORM results."""
    from exam.reports.models import ExamResult as R

    read = db.session.connection().execute
    parents, paths = _departments()
    audience = audience_condition(exam, parents)
    kept_audience, kept_outside = _kept_audience(exam, parents)
    score = R.score
    parts: dict[int | None, dict[str, float]] = {}
    band_counts: dict[str, int] = {}
    bin_counts: dict[int, int] = {}
    for row in read(
        select(R.department_id, R.band, R.bin, func.count().label("took"),
               func.sum(cast(R.passed, Integer)).label("passed"),
               func.count(R.attempt_id).label("graded"),
               func.sum(case((R.auto > 0, 1), else_=0)).label("auto"),
               func.sum(case((R.attempts > 1, 1), else_=0)).label("resat"),
               func.sum(score).label("sum"), func.sum(score * score).label("sum_sq"),
               func.max(score).label("highest"), func.min(score).label("lowest"),
               func.sum(R.percent).label("sum_percent"))
        .where(R.exam_id == exam.id, kept_audience)
        .group_by(R.department_id, R.band, R.bin)
    ):
        part = parts.setdefault(row.department_id, {"took": 0, "passed": 0, "graded": 0, "auto": 0, "resat": 0,
                                                    "sum": 0.0, "sum_sq": 0.0, "sum_percent": 0.0,
                                                    "highest": None, "lowest": None})
        for name in ("took", "passed", "graded", "auto", "resat"):
            part[name] += int(getattr(row, name) or 0)
        if row.graded:
            for name in ("sum", "sum_sq", "sum_percent"):
                part[name] += float(getattr(row, name) or 0.0)
            part["highest"] = max(float(row.highest), part["highest"] if part["highest"] is not None
                                  else float(row.highest))
            part["lowest"] = min(float(row.lowest), part["lowest"] if part["lowest"] is not None
                                 else float(row.lowest))
            band_counts[row.band] = band_counts.get(row.band, 0) + int(row.graded)
            bin_counts[row.bin] = bin_counts.get(row.bin, 0) + int(row.graded)
    departments = []
    for department_id, assigned in read(select(User.department_id, func.count())
                                        .where(audience).group_by(User.department_id)):
        item = DepartmentFigures(department_id=department_id, assigned=int(assigned))
        item.department = paths.get(department_id, "") if department_id else ""
        part = parts.get(department_id)
        if part:
            item.took, item.passed, item.graded = part["took"], part["passed"], part["graded"]
            item.auto_submitted, item.resat = part["auto"], part["resat"]
            item.awaiting_grading = part["took"] - part["graded"]
            if part["graded"]:
                n = part["graded"]
                item.mean = part["sum"] / n
                item.stdev = math.sqrt(max(0.0, part["sum_sq"] / n - item.mean * item.mean))
                item.highest, item.lowest = part["highest"], part["lowest"]
                item.mean_percent = part["sum_percent"] / n
        departments.append(item)
    departments.sort(key=lambda d: d.department)
    figures = _combine(departments)
    bands = [(name, int(band_counts.pop(name, 0))) for name in band_names(exam)]
    bands += [(str(name), int(n)) for name, n in sorted(band_counts.items(), key=lambda kv: str(kv[0]))]
    histogram = list(zip(histogram_labels(), [int(bin_counts.get(i, 0)) for i in range(HISTOGRAM_BINS)],
                         strict=True))

    median = None
    if figures.graded:
        scores = select(R.score).where(R.exam_id == exam.id, kept_audience, R.score.is_not(None))
        if db.session.get_bind().dialect.name == "postgresql":
            sub = scores.subquery()
            value = read(select(func.percentile_cont(0.5).within_group(sub.c.score))).scalar()
            median = float(value) if value is not None else None
        else:
            count = figures.graded
            middle = list(read(scores.order_by(R.score).limit(2 - count % 2).offset((count - 1) // 2)).scalars())
            median = sum(middle) / len(middle) if middle else None

    absent: list[Person] = []
    behind = [d.department_id for d in departments if d.absent]  # only departments with absentees are read
    if behind:
        busy = select(Attempt.id).where(Attempt.exam_id == exam.id, Attempt.user_id == User.id,
                                        Attempt.status == "in_progress").exists()  # one probe per absent person

        def in_behind(column):
            condition = column.in_([d for d in behind if d is not None])
            return or_(condition, column.is_(None)) if None in behind else condition

        # the ids from the small audience index, less those with a result (a person's results carry the person's
        # department); then the absent people's rows only
        with_result = select(R.user_id).where(R.exam_id == exam.id, in_behind(R.department_id))
        absent_ids = select(User.id).where(audience, in_behind(User.department_id), User.id.not_in(with_result))
        absent = [Person(user_id, username, name, paths.get(department_id, ""), bool(in_progress),
                         employment_status=status)
                  for user_id, username, name, department_id, status, in_progress in read(
                      select(User.id, User.username, User.name, User.department_id, User.employment_status, busy)
                      .where(User.id.in_(absent_ids))).all()]
    in_progress = sum(1 for p in absent if p.in_progress)
    outside = [Person(user_id, username, name, paths.get(department_id, ""), score=score, passed=passed,
                      employment_status=status)
               for user_id, username, name, department_id, status, score, passed in read(
                   select(User.id, User.username, User.name, User.department_id, User.employment_status,
                          R.score, R.passed)
                   .join(User, User.id == R.user_id)
                   .where(R.exam_id == exam.id, kept_outside)).all()]
    _by_username(absent, outside)
    return ExamStats(exam, figures, median, bands, histogram, departments, absent, outside, in_progress)


# --- item analysis -----------------------------------------------------------------------------------------

TRUE_FALSE_OPTIONS = [{"key": True, "text": "正确"}, {"key": False, "text": "错误"}]


def _pearson(n, sx, sy, sxy, sxx, syy) -> float | None:
    if not n or n < 2:
        return None
    num = n * sxy - sx * sy
    den_sq = (n * sxx - sx * sx) * (n * syy - sy * sy)
    if den_sq <= 1e-12:
        return None
    return num / math.sqrt(den_sq)


_OPTION_KEYS: dict[tuple[type, Any], str] = {}


def _option_key(value) -> str:
    try:
        return _OPTION_KEYS[(type(value), value)]
    except KeyError:
        key = json.dumps(value, ensure_ascii=False)
        if len(_OPTION_KEYS) < 1024:
            _OPTION_KEYS[(type(value), value)] = key
        return key
    except TypeError:  # not hashable
        return json.dumps(value, ensure_ascii=False)


CHOICE_TYPES = ("single", "multiple", "true_false")
SUM_NAMES = ("n", "blank", "awarded", "points", "sx", "sy", "sxy", "sxx", "syy")  # the order of the group columns
BLANK_RESPONSES = ("null", '""', "[]")


def item_analysis(exam: Exam) -> list[ItemStats]:
    """Per question version of the exam's counting attempts: facility, discrimination, option choices (from the
    kept sums when they are current, else from the answers)."""
    from exam.reports import item_stats

    if item_stats.is_fresh(db.session, exam):
        return _items_from_groups(*_kept_groups(exam))
    return raw_item_analysis(exam)


def raw_item_analysis(exam: Exam) -> list[ItemStats]:
    """Item analysis counted from the answers.

    One pass over the answers: grouped by version and, for choice questions, by the response as stored (JSON
    text in original keys); the sums are additive, so the groups of one version are added up afterwards."""
    counting = counting_subquery([exam.id], "counting_items")
    share = cast(AttemptItem.awarded, Float) / func.nullif(cast(AttemptItem.points, Float), 0.0, type_=Float)
    total = _percent(counting)
    response_text = cast(AttemptItem.response, Text)
    choice_sections = [s.id for s in exam.sections if s.type in CHOICE_TYPES]
    choice = (case((AttemptItem.section_id.in_(choice_sections), response_text), else_=None)
              if choice_sections else literal(None, Text)).label("choice")
    blank = func.sum(case((or_(AttemptItem.response.is_(None), response_text.in_(BLANK_RESPONSES)), 1), else_=0))
    groups = db.session.execute(
        select(AttemptItem.question_version_id.label("version_id"), choice,
               func.min(AttemptItem.position).label("position"),
               func.count().label("n"), blank.label("blank"),
               func.sum(cast(AttemptItem.awarded, Float)).label("awarded"),
               func.sum(cast(AttemptItem.points, Float)).label("points"),
               func.sum(share).label("sx"), func.sum(total).label("sy"), func.sum(share * total).label("sxy"),
               func.sum(share * share).label("sxx"), func.sum(total * total).label("syy"))
        .join(counting, counting.c.id == AttemptItem.attempt_id)
        .where(AttemptItem.awarded.is_not(None))
        .group_by(AttemptItem.question_version_id, choice)
    ).all()
    return _items_from_groups(groups)


def _kept_groups(exam: Exam):
    """(sums per version, choice counts) from ``exam_item_stats`` and, on PostgreSQL, the sums of the results still
    to be added to it (``item_stats.pending_item_rows``, counted from their answers): two small grouped reads."""
    from exam.reports import item_stats
    from exam.reports.models import ExamItemStat as S

    connection = db.session.connection()
    postgresql = connection.dialect.name == "postgresql"
    if postgresql:  # only PostgreSQL marks results (item_stats.attempt_changed)
        rows = union_all(
            select(S.question_version_id, S.choice, S.position, *(getattr(S, name) for name in SUM_NAMES))
            .where(S.exam_id == exam.id),
            item_stats.pending_item_rows(exam.id, connection.dialect.name)).subquery("kept")
        this_exam = true()
    else:
        rows, this_exam = S.__table__, S.exam_id == exam.id
    sums = (select(rows.c.question_version_id, literal(None, Text), func.min(rows.c.position),
                   *(func.sum(rows.c[name]) for name in SUM_NAMES))
            .where(this_exam)
            .group_by(rows.c.question_version_id))
    if postgresql:
        # A version whose shards add up to no answer is left out: an attempt's sums may be subtracted from another
        # shard than the one they were added to (item_stats.fold), so emptied rows may stay. (SQLite keeps one
        # shard, where a row without answers is deleted; there the HAVING cost the statistics a third of their time.)
        sums = sums.having(func.sum(rows.c.n) > 0)
    sums = connection.execute(sums).all()
    choices = connection.execute(  # the shards of a (version, choice) summed (exam.reports.item_stats.shards)
        select(rows.c.question_version_id, rows.c.choice, func.sum(rows.c.n))
        .where(this_exam, rows.c.choice.not_in(("", *BLANK_RESPONSES)))
        .group_by(rows.c.question_version_id, rows.c.choice)
        .having(func.sum(rows.c.n) > 0)
    ).all()
    return sums, choices


def _items_from_groups(groups, choice_counts=None) -> list[ItemStats]:
    """Item statistics from grouped sums (version, choice, position, *SUM_NAMES) and the times each stored
    response was given (version, choice, n; taken from the groups when None)."""
    if not groups:
        return []
    if choice_counts is None:
        choice_counts = [(g[0], g[1], g[3]) for g in groups]
    # options and answer as their JSON text: the plan of a version's options is memoised by that text
    versions = {row[0]: row for row in db.session.connection().execute(
        select(QuestionVersion.id, QuestionVersion.question_id, QuestionVersion.number, QuestionVersion.type,
               QuestionVersion.stem, cast(QuestionVersion.options, Text), cast(QuestionVersion.answer, Text))
        .where(QuestionVersion.id.in_({g[0] for g in groups})))}

    sums: dict[int, list[float]] = {}
    positions: dict[int, int] = {}
    for version_id, _choice, position, *values in groups:
        acc = sums.get(version_id)
        if acc is None:
            sums[version_id] = [float(v or 0) for v in values]
            positions[version_id] = position
            continue
        for i, value in enumerate(values):
            acc[i] += float(value or 0)
        if position < positions[version_id]:
            positions[version_id] = position
    choices: dict[int, dict[str, int]] = {}
    picked_keys: dict[str, list[str]] = {}  # a stored response (JSON text) -> the option keys it picks
    for version_id, choice, n in choice_counts:
        if choice in (None, "") or choice in BLANK_RESPONSES:
            continue
        keys = picked_keys.get(choice)
        if keys is None:
            value = json.loads(choice)
            keys = picked_keys[choice] = [_option_key(k) for k in (value if isinstance(value, list) else [value])]
        bucket = choices.get(version_id)
        if bucket is None:
            bucket = choices[version_id] = {}
        for key in keys:
            bucket[key] = bucket.get(key, 0) + int(n)

    items = []
    for version_id, (n, blank, awarded, points, sx, sy, sxy, sxx, syy) in sums.items():
        _, question_id, number, kind, stem, options_json, answer_json = versions[version_id]
        discrimination = _pearson(n, sx, sy, sxy, sxx, syy)
        item = ItemStats(question_id=question_id, version_id=version_id, version_number=number, type=kind,
                         stem=stem, responses=round(n), facility=awarded / points if points else None,
                         discrimination=discrimination, unanswered=round(blank),
                         position=int(positions[version_id]))
        counts = choices.get(version_id, {})
        item.options = [OptionCount(key=key, label=label, text=text, count=counts.get(okey, 0), correct=correct)
                        for key, label, text, okey, correct in _option_plan(kind, options_json, answer_json)]
        right_counts = [o.count for o in item.options if o.correct]
        wrong_counts = [o.count for o in item.options if not o.correct]
        if right_counts and wrong_counts:
            item.distractor_beats_key = max(wrong_counts) > min(right_counts)
        item.low_discrimination = discrimination is not None and discrimination < LOW_DISCRIMINATION
        items.append(item)
    items.sort(key=lambda i: (i.position, i.version_id))
    return items


_PLANS: dict[tuple[str, str | None, str | None], tuple] = {}


def _option_plan(kind: str, options_json: str | None, answer_json: str | None) -> tuple:
    """The countable options of a question version: (key, label, text, option key, is right) each; none for free
    answers. A pure function of the version's JSON text, memoised (a report repeats the same few hundred)."""
    memo = (kind, options_json, answer_json)
    plan = _PLANS.get(memo)
    if plan is not None:
        return plan
    answer = json.loads(answer_json) if answer_json is not None else None
    if kind in ("single", "multiple"):
        options = (json.loads(options_json) if options_json is not None else None) or []
        answer = answer if isinstance(answer, list) else [answer]
    elif kind == "true_false":
        options = TRUE_FALSE_OPTIONS
        answer = [bool(answer)]
    else:
        options, answer = [], []  # free answers: no options to count
    right = {_option_key(a) for a in answer}
    plan = tuple((option["key"], str(option["key"] if isinstance(option["key"], str) else option["text"]),
                  option["text"], _option_key(option["key"]), _option_key(option["key"]) in right)
                 for option in options)
    if len(_PLANS) >= 4096:
        _PLANS.clear()
    _PLANS[memo] = plan
    return plan


# --- the benchmark hook ------------------------------------------------------------------------------------

def compute_exam_report(exam_id: int) -> ExamStats:
    """Exam statistics and item analysis for one exam (the benchmark times this against a COUNT(*) pass over
    ``attempt_items``). Raises LookupError for an unknown exam."""
    exam = db.session.get(Exam, exam_id)
    if exam is None:
        raise LookupError(exam_id)
    return exam_stats(exam, with_items=True)


__all__ = [
    "ExamStats", "Figures", "ItemStats", "audience_condition", "compute_exam_report", "counting_subquery",
    "exam_figures", "exam_stats", "finished_subquery", "item_analysis", "raw_exam_stats", "raw_item_analysis",
]
