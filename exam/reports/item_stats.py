"""Keeping the report aggregates (``exam.reports.models``) up to date on write.

* ``attempt_changed(session, attempt_ids)`` is called whenever an attempt's result is stored (finished, graded
  by hand, regraded: ``exam.exams.operations._store_result``). Per person it recomputes the person's
  ``exam_results`` row and, when the counting attempt changed, moves the item sums: the old counting attempt's
  answers are subtracted and the new one's added (one INSERT ... SELECT ... ON CONFLICT DO UPDATE each), so a
  submit costs a fixed handful of statements whatever the size of the exam.
* On PostgreSQL the item sums of a (version, choice) are kept in up to ``SHARDS`` rows, an attempt's answers in
  the row of ``attempt_id % SHARDS``; readers sum the shards. Without them every submit of an exam day updated
  the same few dozen rows and waited for the row locks of the submits before it until they committed (sampled
  during the exam day's submits: most server backends waited on those locks). SQLite keeps one shard: its
  writers take turns on the database's lock anyway, and more rows would only slow the readers.
* On PostgreSQL a person's first result does not touch the item sums: its ``exam_results`` row is marked
  ``sums_pending``, and every ``FOLD_EVERY`` first results of an exam the process adds the marked rows' sums in one
  statement (``fold``), all into one shard, with the rows unmarked in the same statement. An exam day's thousand
  first results then write each (version, choice) once per fold instead of once per person: the item sums were
  about a quarter of PostgreSQL's work per submit (bench/README.md). Readers add the marked rows' sums, counted
  from their answers, to the kept ones (``pending_item_rows``), so the report is exact at every moment; any other
  change of a person's result on the exam folds first, so the sums it moves are kept ones. SQLite adds a first
  result's sums with it.
* Sums are additive, so on PostgreSQL an attempt's may be subtracted from another shard than the one that holds them
  (its own, ``attempt_id % SHARDS``, after a fold put them in the fold's): a row there is deleted only when its
  count and every sum are nil, and readers leave out a (version, choice) whose shards add up to no answer.
* The item sums of an attempt can only be subtracted exactly while its answers are unchanged; when the answers
  of a counting attempt change (a hand grade or regrade of an attempt that already counts), when the exam has no
  aggregates yet, or when its counting rule changed, the exam is marked and rebuilt once, just before the
  transaction commits (``rebuild``).
* ``rebuild(exam_ids=None)`` recomputes everything from the raw rows (``flask --app wsgi reports
  rebuild-item-stats``).

Reports use the kept aggregates of an exam only when ``exam_stats_state`` says they were built for the exam's
current counting rule; otherwise they count from the raw rows (see ``exam.reports.stats``).
"""

from __future__ import annotations

import random
import threading

from sqlalchemy import (
    JSON,
    Float,
    Integer,
    String,
    Text,
    and_,
    bindparam,
    case,
    cast,
    delete,
    event,
    func,
    insert,
    literal,
    literal_column,
    or_,
    select,
    text,
    update,
)
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import Session

from exam.accounts.models import User
from exam.core.timeutil import utcnow
from exam.exams.models import Attempt, AttemptItem, Exam, ExamSection
from exam.reports.models import ExamItemStat, ExamResult, ExamStatsState
from exam.reports.stats import (
    BLANK_RESPONSES,
    CHOICE_TYPES,
    HISTOGRAM_BINS,
    _histogram_bin,
    _percent,
    counting_subquery,
    finished_subquery,
    staff_condition,
)

PENDING = "reports.rebuild_exams"
SUMS = ("n", "blank", "awarded", "points", "sx", "sy", "sxy", "sxx", "syy")
RESULT_COLUMNS = ("exam_id", "user_id", "department_id", "staff", "attempts", "auto", "attempt_id", "score",
                  "max_score", "percent", "passed", "band", "bin")
ITEM_COLUMNS = ("exam_id", "question_version_id", "choice", "shard", "position", *SUMS)
SHARDS = 16  # rows per (version, choice) of an exam's item sums on PostgreSQL: see the module docstring


def shards(dialect: str) -> int:
    """How many rows an exam's item sums keep per (version, choice) on this database."""
    return SHARDS if dialect == "postgresql" else 1


def rule_for(counting_attempt: str) -> str:
    """What the kept aggregates depend on besides the rows: the counting rule and the histogram's bins."""
    return f"{counting_attempt}/{HISTOGRAM_BINS}"


# --- the SELECTs that compute the aggregates from the raw rows -------------------------------------------

def result_rows(exam_ids: list[int], user_ids: list[int] | None = None, *, pending: bool = False):
    """``exam_results`` rows, computed from attempts and users; ``pending``: with ``sums_pending`` set where there
    is a counting attempt (its item sums to be added later, ``fold``)."""
    counting = counting_subquery(exam_ids, user_ids=user_ids)
    finished = finished_subquery(exam_ids, user_ids=user_ids)
    marks = [counting.c.id.is_not(None).label("sums_pending")] if pending else []
    return (
        select(finished.c.exam_id, finished.c.user_id, User.department_id, staff_condition().label("staff"),
               finished.c.attempts, finished.c.auto, counting.c.id, counting.c.score, counting.c.max_score,
               _percent(counting).label("percent"), counting.c.passed, counting.c.band,
               _histogram_bin(counting).label("bin"), *marks)
        .select_from(finished)
        .join(User, User.id == finished.c.user_id)
        .outerjoin(counting, and_(counting.c.exam_id == finished.c.exam_id, counting.c.user_id == finished.c.user_id))
    )


def _item_columns(exam_id, total, sign: int, shard):
    share = cast(AttemptItem.awarded, Float) / func.nullif(cast(AttemptItem.points, Float), 0.0, type_=Float)
    response_text = cast(AttemptItem.response, Text)
    choice = case((ExamSection.type.in_(CHOICE_TYPES), func.coalesce(response_text, "null")), else_="")
    blank = case((or_(AttemptItem.response.is_(None), response_text.in_(BLANK_RESPONSES)), 1), else_=0)
    k = literal(sign)
    return (exam_id, AttemptItem.question_version_id, choice.label("choice"), shard.label("shard"),
            func.min(AttemptItem.position).label("position"),
            (k * func.count()).label("n"), (k * func.sum(blank)).label("blank"),
            (k * func.sum(cast(AttemptItem.awarded, Float))).label("awarded"),
            (k * func.sum(cast(AttemptItem.points, Float))).label("points"),
            (k * func.sum(share)).label("sx"), (k * func.sum(total)).label("sy"),
            (k * func.sum(share * total)).label("sxy"), (k * func.sum(share * share)).label("sxx"),
            (k * func.sum(total * total)).label("syy")), choice


def _shard(dialect: str):
    """An answer's row among the shards of its (version, choice): by its attempt (rendered inline: the same
    expression in SELECT and GROUP BY)."""
    return AttemptItem.attempt_id % literal_column(str(shards(dialect)), Integer)


def item_rows(exam_ids: list[int], dialect: str):
    """``exam_item_stats`` rows of the exams, from the answers of the counting attempts in ``exam_results``."""
    return _counted_item_rows(ExamResult.__table__, dialect, ordered=False).where(ExamResult.exam_id.in_(exam_ids))


def _counted_item_rows(results, dialect: str, *, ordered: bool = True, one_shard=None):
    """Item sums of the counting attempts of ``results`` (``exam_results`` or rows of its columns ``exam_id``,
    ``attempt_id``, ``percent``); ``ordered`` for a writer that adds them to kept sums (every writer locks the
    sums in one order: by version and choice, as one attempt's sums are, then by shard). ``one_shard``: all of
    them in this shard (an expression), each attempt's otherwise."""
    shard = _shard(dialect) if one_shard is None else func.min(one_shard)  # (one value: no group of its own)
    columns, choice = _item_columns(results.c.exam_id, results.c.percent, 1, shard)
    groups = [results.c.exam_id, AttemptItem.question_version_id, choice, *([shard] if one_shard is None else [])]
    rows = (select(*columns).select_from(results)
            .join(AttemptItem, AttemptItem.attempt_id == results.c.attempt_id)
            .outerjoin(ExamSection, ExamSection.id == AttemptItem.section_id)
            .where(AttemptItem.awarded.is_not(None))
            .group_by(*groups))
    return rows.order_by(*groups) if ordered else rows


def _attempt_item_rows(dialect: str, sign: int, attempt_id=None, percent=None):
    """One attempt's item sums (``sign`` -1: to subtract), its paper's percentage being ``percent``; the exam,
    the attempt and the percentage are bound parameters (``exam_id``, ``attempt_id``, ``percent``) unless the
    attempt and the percentage are given as expressions."""
    total = bindparam("percent", None, type_=Float) if percent is None else percent
    shard = _shard(dialect)
    columns, choice = _item_columns(bindparam("exam_id", None, type_=Integer), total, sign, shard)
    attempt = bindparam("attempt_id", None, type_=Integer) if attempt_id is None else attempt_id
    return (select(*columns).select_from(AttemptItem)
            .outerjoin(ExamSection, ExamSection.id == AttemptItem.section_id)
            .where(AttemptItem.attempt_id == attempt,
                   AttemptItem.awarded.is_not(None))
            .group_by(AttemptItem.question_version_id, choice, shard)
            .order_by(AttemptItem.question_version_id, choice))  # every writer locks the sums in one order


def _insert(dialect: str):
    """The INSERT with ON CONFLICT of the dialect named."""
    if dialect == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert
    return insert


def _items_upsert(dialect: str, rows):
    """Add (or, with negative rows, subtract) item sums: one INSERT ... SELECT ... ON CONFLICT DO UPDATE."""
    stmt = _insert(dialect)(ExamItemStat).from_select(list(ITEM_COLUMNS), rows)
    excluded = stmt.excluded
    updates = {name: getattr(ExamItemStat, name) + excluded[name] for name in SUMS}
    updates["position"] = case((excluded.position < ExamItemStat.position, excluded.position),
                               else_=ExamItemStat.position)
    return stmt.on_conflict_do_update(
        index_elements=[ExamItemStat.exam_id, ExamItemStat.question_version_id, ExamItemStat.choice,
                        ExamItemStat.shard],
        set_=updates)


class _Compiled:
    """A write compiled once per database and run as its SQL text with bound parameters.

    SQLAlchemy gives the dialects' INSERT ... ON CONFLICT no cache key, so the same upsert built with the ORM
    would be compiled again on every execution: on the exam day that was about half of a submit's time (the
    profile in bench/README.md). The statements here are built with ``bindparam`` for everything that varies,
    so one compiled form per database serves every call."""

    def __init__(self, build, *required: str):
        self._build = build  # dialect name -> statement
        self._required = frozenset(required)  # the bound parameters a call must give (they default to NULL)
        self._compiled: dict = {}

    def __call__(self, session: Session, **params):
        if missing := self._required - params.keys():
            raise TypeError(f"missing parameters: {sorted(missing)}")
        conn = session.connection()
        dialect = conn.dialect
        key = (dialect.name, dialect.server_version_info)
        found = self._compiled.get(key)
        if found is None:
            # expanding IN lists (constant tuples in the statement) rendered as plain parameters, once
            compiled = self._build(dialect.name).compile(dialect=dialect, compile_kwargs={"render_postcompile": True})
            processors = {name: process for bind, name in compiled.bind_names.items()
                          if (process := bind.type.dialect_impl(dialect).bind_processor(dialect)) is not None}
            found = self._compiled[key] = (compiled, processors)
        compiled, processors = found
        values = {**compiled.params, **params}
        for name, process in processors.items():
            if name in values:  # (an expanded list's own name is not: its items are, already plain values)
                values[name] = process(values[name])
        args = tuple(values[name] for name in compiled.positiontup) if compiled.positional else values
        return conn.exec_driver_sql(compiled.string, args)


def _build_result_upsert(dialect: str, people=None, *, pending: bool = False):
    """The person's ``exam_results`` row recomputed from the raw rows; returns the counting attempt. ``people``:
    several people's ids bound as one parameter instead (``_bound_people``). ``pending``: the rows are marked
    ``sums_pending`` (a row marked already stays marked: its sums were never added)."""
    people = [bindparam("user_id", None, type_=Integer)] if people is None else people
    upsert = _insert(dialect)(ExamResult).from_select(
        [*RESULT_COLUMNS, *(["sums_pending"] if pending else [])],
        result_rows([bindparam("exam_id", None, type_=Integer)], people, pending=pending))
    updates = {name: upsert.excluded[name] for name in RESULT_COLUMNS[2:]}
    if pending:
        updates["sums_pending"] = or_(upsert.excluded.sums_pending, ExamResult.sums_pending)
    upsert = upsert.on_conflict_do_update(index_elements=[ExamResult.exam_id, ExamResult.user_id], set_=updates)
    return upsert.returning(ExamResult.exam_id, ExamResult.attempt_id, ExamResult.percent)


_upsert_result = _Compiled(_build_result_upsert, "exam_id", "user_id")


def _bound_people(dialect: str):
    """The people of a statement for several people, bound as one parameter ``user_ids`` (a list): an array on
    PostgreSQL, a JSON array read by ``json_each`` on SQLite."""
    if dialect == "postgresql":
        return bindparam("user_ids", None, type_=ARRAY(Integer))
    return select(literal_column("value", Integer)).select_from(
        func.json_each(bindparam("user_ids", None, type_=JSON))).scalar_subquery()


# PostgreSQL, people of one exam none of whom has a result so far (``user_ids``): their rows, marked for their item
# sums to be added later with others' (``fold``)
_upsert_results_pending = _Compiled(
    lambda dialect: _build_result_upsert(dialect, _bound_people(dialect), pending=True), "exam_id", "user_ids")
# SQLite (no writes in a WITH): the rows of people of one exam, then the item sums of their counting attempts
_upsert_results = _Compiled(lambda dialect: _build_result_upsert(dialect, _bound_people(dialect)),
                            "exam_id", "user_ids")


def _build_add_results_items(dialect: str):
    """SQLite: add the item sums of the counting attempts of people of one exam (``user_ids``), as their
    ``exam_results`` rows now name them (one writer at a time: no lock order needed)."""
    rows = _counted_item_rows(ExamResult.__table__, dialect, ordered=False).where(
        ExamResult.exam_id == bindparam("exam_id", None, type_=Integer),
        ExamResult.user_id.in_(_bound_people(dialect)))
    return _items_upsert(dialect, rows)


_add_results_items = _Compiled(_build_add_results_items, "exam_id", "user_ids")


def _pending_results(exam_id: int):
    """The exam's ``exam_results`` rows marked ``sums_pending``."""
    return (select(ExamResult.exam_id, ExamResult.attempt_id, ExamResult.percent)
            .where(ExamResult.exam_id == exam_id, ExamResult.sums_pending))


def _build_fold(dialect: str):
    """PostgreSQL: the exam's marked rows unmarked and their counting attempts' item sums added, in one statement,
    all into one shard (``shard``): one row per (version, choice) for the hundreds of people folded, not one per
    person. Two at once add each row once: the second waits for the rows the first unmarks, and skips them."""
    folded = (update(ExamResult)
              .where(ExamResult.exam_id == bindparam("exam_id", None, type_=Integer), ExamResult.sums_pending)
              .values(sums_pending=False)
              .returning(ExamResult.exam_id, ExamResult.attempt_id, ExamResult.percent).cte("folded"))
    rows = _counted_item_rows(folded, dialect, one_shard=bindparam("shard", None, type_=Integer))
    return _items_upsert(dialect, rows).add_cte(folded)


_fold = _Compiled(_build_fold, "exam_id", "shard")
FOLD_EVERY = 500  # first results of an exam marked by a process before it adds their sums (see ``attempt_changed``)
_marked: dict[int, int] = {}  # this process's marked first results per exam since its last fold
_marked_lock = threading.Lock()


def fold(session: Session, exam_id: int) -> None:
    """Add the item sums of the exam's rows marked ``sums_pending`` to the kept sums, and unmark them (in the
    session's transaction). Nothing to do on SQLite, which never marks a row."""
    if session.connection().dialect.name == "postgresql":
        _fold(session, exam_id=exam_id, shard=_fold_shard())


def _fold_shard() -> int:
    """Any shard: the sums add up over the shards whichever holds an attempt's (two processes folding at once
    mostly write different rows)."""
    return random.randrange(SHARDS)


def _marked_now(exam_id: int, count: int) -> bool:
    """Count first results marked by this process; True (and start again) every FOLD_EVERY of an exam."""
    with _marked_lock:
        total = _marked.get(exam_id, 0) + count
        if len(_marked) > 1000:  # a process serving many exams over months: bounded
            _marked.clear()
        _marked[exam_id] = 0 if total >= FOLD_EVERY else total
    return total >= FOLD_EVERY


def pending_item_rows(exam_id: int, dialect: str):
    """The item sums of the exam's marked rows, counted from their answers (columns as ``exam_item_stats``'s:
    version, choice, position and the sums): readers add them to the kept sums."""
    rows = _counted_item_rows(_pending_results(exam_id).subquery(), dialect, ordered=False).subquery()
    return select(rows.c.question_version_id, rows.c.choice, rows.c.position, *(rows.c[name] for name in SUMS))


# Rows a subtraction emptied. SQLite: no answer (one shard, which every addition and subtraction of the exam's sums
# goes to). PostgreSQL: no answer and every sum nil (within what adding and subtracting floats leaves), since an
# attempt's sums may be subtracted from another shard than the fold added them to.
_DELETE_EMPTIED = {
    postgresql: delete(ExamItemStat).where(
        ExamItemStat.exam_id == bindparam("exam_id", type_=Integer), ExamItemStat.n == 0,
        *((func.abs(getattr(ExamItemStat, name)) < 1e-9 for name in SUMS if name != "n") if postgresql else ()))
    for postgresql in (False, True)}
_add_attempt_items = _Compiled(lambda dialect: _items_upsert(dialect, _attempt_item_rows(dialect, 1)),
                               "exam_id", "attempt_id", "percent")
_subtract_attempt_items = _Compiled(lambda dialect: _items_upsert(dialect, _attempt_item_rows(dialect, -1)),
                                    "exam_id", "attempt_id", "percent")
_start_exam = _Compiled(lambda dialect: _insert(dialect)(ExamStatsState)
                        .values(exam_id=bindparam("exam_id", None, type_=Integer), rule=bindparam("rule", None),
                                built_at=bindparam("built_at", None, type_=ExamStatsState.built_at.type))
                        .on_conflict_do_nothing(index_elements=[ExamStatsState.exam_id]),
                        "exam_id", "rule", "built_at")


# --- on write ----------------------------------------------------------------------------------------------

# Per changed attempt: its exam and person, the exam's counting rule and aggregates' rule, the person's counting
# attempt and its percentage so far, and (for an exam without aggregates) how many other attempts have finished.
# As SQL text, built once: the exam day's submit on PostgreSQL also runs it inside the statement that finishes the
# attempt (``exam.exams.hot``), one round trip fewer; on SQLite the statement that finishes a group's submits reads
# the same columns in its RETURNING (``hot._FINISH_TOGETHER``): a change here is made there too.
_LOOKUP_SQL = """
SELECT a.exam_id, a.user_id, e.counting_attempt, s.rule, r.attempt_id AS old_attempt, r.percent AS old_percent,
       CASE WHEN s.rule IS NULL THEN (SELECT count(*) FROM attempts o
                                      WHERE o.exam_id = a.exam_id AND o.status != 'in_progress'
                                      AND NOT (o.id {among})) END AS others
FROM attempts a
JOIN exams e ON e.id = a.exam_id
LEFT JOIN exam_stats_state s ON s.exam_id = a.exam_id
LEFT JOIN exam_results r ON r.exam_id = a.exam_id AND r.user_id = a.user_id
WHERE a.id {among}
"""
LOOKUP_SQL = _LOOKUP_SQL.format(among="IN :attempt_ids")
# PostgreSQL, the attempts as one array: one statement text (and one prepared statement) for any number of them
LOOKUP_SQL_ARRAY = _LOOKUP_SQL.format(among="= ANY(CAST(:attempt_ids AS integer[]))")
LOOKUP_IDS = bindparam("attempt_ids", expanding=True)
LOOKUP_TYPES = {"exam_id": Integer(), "user_id": Integer(), "counting_attempt": String(), "rule": String(),
                "old_attempt": Integer(), "old_percent": Float(), "others": Integer()}
_lookup = text(LOOKUP_SQL).bindparams(LOOKUP_IDS).columns(**LOOKUP_TYPES)


def attempt_changed(session: Session, attempt_ids: list[int], looked_up: list[tuple] | None = None) -> None:
    """The results of these attempts were stored (finished, graded, regraded): bring the aggregates up to date.

    Three statements for a person's first result (one lookup, one upsert of the person's row, one upsert of the
    item sums; on PostgreSQL the row is marked instead and the sums are added FOLD_EVERY first results at a time;
    the first results of several people of an exam share their statements), two more when a resit replaces the
    counting attempt (on PostgreSQL, three: the exam's marked sums are added first); the first result of a new exam
    also writes the exam's state row. ``looked_up``: the rows of
    ``LOOKUP_SQL`` for these attempts, read by the caller in the transaction after they changed."""
    pending: set[int] = session.info.setdefault(PENDING, set())
    changed = list(attempt_ids)
    rows = looked_up if looked_up is not None else session.connection().execute(
        _lookup, {"attempt_ids": changed}).all()
    postgresql = session.connection().dialect.name == "postgresql"
    first_results: dict[int, set[int]] = {}  # exam -> people without a result so far
    folded: set[int] = set()
    for exam_id, user_id, counting_rule, rule, old_attempt, old_percent, others in sorted(set(rows)):
        if exam_id in pending:
            continue
        if rule is None and not others and len(rows) == 1:
            # a new exam's first finished attempt: the aggregates start from nothing, exactly
            # Two first results may race (each sees no other finished attempt): both start the aggregates from
            # nothing and add themselves; the second's state row is already there.
            _start_exam(session, exam_id=exam_id, rule=rule_for(counting_rule), built_at=utcnow())
        elif rule != rule_for(counting_rule) or old_attempt in changed:
            pending.add(exam_id)  # no aggregates yet, another rule, or the counted answers changed: rebuild
            continue
        if old_attempt is None:  # the person's first result: below, with the others of the exam
            first_results.setdefault(exam_id, set()).add(user_id)
            continue
        if postgresql and exam_id not in folded:  # the kept sums hold every counted attempt's before one moves
            fold(session, exam_id)
            folded.add(exam_id)
        _, new_attempt, new_percent = _upsert_result(session, exam_id=exam_id, user_id=user_id).one()
        if new_attempt == old_attempt:
            continue
        if old_attempt is not None:
            _subtract_attempt_items(session, exam_id=exam_id, attempt_id=old_attempt, percent=old_percent)
        if new_attempt is not None:
            _add_attempt_items(session, exam_id=exam_id, attempt_id=new_attempt, percent=new_percent)
        if old_attempt is not None:
            # a shard emptied by the subtraction: no answer, and every sum nil (on PostgreSQL an attempt's sums
            # may be subtracted from another shard than the fold added them to; a shard written before shards
            # existed may stay negative: such rows are kept, their sums still add up with the others')
            session.execute(_DELETE_EMPTIED[postgresql], {"exam_id": exam_id})
    for exam_id, users in sorted(first_results.items()):  # the first results, one or two statements per exam
        if exam_id in pending:  # marked by a later row: rebuilt from the raw rows anyway
            continue
        if postgresql:  # the rows, marked: their item sums are added FOLD_EVERY at a time
            _upsert_results_pending(session, exam_id=exam_id, user_ids=sorted(users))
            if _marked_now(exam_id, len(users)):
                fold(session, exam_id)
        elif len(users) > 1:
            _upsert_results(session, exam_id=exam_id, user_ids=sorted(users)).all()
            _add_results_items(session, exam_id=exam_id, user_ids=sorted(users))
        else:
            _, new_attempt, new_percent = _upsert_result(session, exam_id=exam_id, user_id=next(iter(users))).one()
            if new_attempt is not None:
                _add_attempt_items(session, exam_id=exam_id, attempt_id=new_attempt, percent=new_percent)


def exam_changed(session: Session, exam_id: int) -> None:
    """Rebuild the exam's aggregates when the transaction commits (e.g. after a change of its rules)."""
    session.info.setdefault(PENDING, set()).add(exam_id)


def rebuild(exam_ids: list[int] | None = None, session: Session | None = None) -> int:
    """Recompute the aggregates of these exams (all exams with attempts when None) from the raw rows.
    Returns the number of exams rebuilt."""
    if session is None:
        from exam.extensions import db

        session = db.session
    if exam_ids is None:
        exam_ids = sorted(set(session.scalars(select(Attempt.exam_id).distinct()))
                          | set(session.scalars(select(ExamStatsState.exam_id))))
    exam_ids = list(exam_ids)
    if not exam_ids:
        return 0
    for model in (ExamItemStat, ExamResult, ExamStatsState):
        session.execute(delete(model).where(model.exam_id.in_(exam_ids)))
    session.execute(insert(ExamResult).from_select(list(RESULT_COLUMNS), result_rows(exam_ids)))
    session.execute(insert(ExamItemStat).from_select(list(ITEM_COLUMNS),
                                                     item_rows(exam_ids, session.get_bind().dialect.name)))
    rules = session.execute(select(Exam.id, Exam.counting_attempt).where(Exam.id.in_(exam_ids))).all()
    if rules:
        session.execute(insert(ExamStatsState),
                        [{"exam_id": exam_id, "rule": rule_for(rule)} for exam_id, rule in rules])
    return len(rules)


def is_fresh(session: Session, exam: Exam) -> bool:
    """True when the exam's kept aggregates were built for its current counting rule."""
    rule = session.scalar(select(ExamStatsState.rule).where(ExamStatsState.exam_id == exam.id))
    return rule is not None and rule == rule_for(exam.counting_attempt)


@event.listens_for(Session, "before_commit")
def _rebuild_pending(session: Session) -> None:
    pending = session.info.pop(PENDING, None)
    if pending:
        rebuild(sorted(pending), session=session)


@event.listens_for(Session, "after_rollback")
def _forget_pending(session: Session) -> None:
    session.info.pop(PENDING, None)
