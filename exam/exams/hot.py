"""The exam day's two hot paths, autosave and submit, in a few Core statements each (issue #8).

Every examinee autosaves many times and submits once, most of them in the same last minute: these two requests
carry the exam day. The rules are those of ``exam.exams.operations`` (``save_response``, ``finish_attempt``),
enforced inside the statements themselves:

- who: the attempt is found only through its owner, either the bearer token (its SHA-256 stored, not revoked,
  the user active: the join replaces flask-login's separate token query) or the signed-in user's id;
- autosave: the attempt row is touched only ``WHERE status = 'in_progress' AND deadline >= now - grace``, and the
  answer written only when that touch happened and the stored ``response_seq`` is lower. On PostgreSQL both
  updates are one statement (a data-modifying CTE) run in autocommit: two round trips per save, no BEGIN/COMMIT.
  On SQLite they run in the write transaction the request opens (``BEGIN IMMEDIATE``, exam/core/db.py);
- submit: on PostgreSQL the attempt row is locked first (``FOR UPDATE``), then the items are read and graded,
  then the attempt is finished ``WHERE status = 'in_progress'``; the submits of one process that arrive together
  do this together, in one transaction of a fixed handful of statements (``_submit_pg``); on SQLite the paper is
  read and graded before the write lock and finished under it only if nothing the grade used has changed (else
  graded again under the lock). Either way a save acknowledged before the submit is in the graded paper, and a
  save after it is refused (the touch finds no open attempt). The question versions' grading facts never change
  and are kept per process.

On SQLite the checks read without the write lock, and the writes of one process (saves and submits) queue on a
process-wide lock and share one transaction and one commit (a group commit: one fsync for the writes that arrived
together, each acknowledged only after it). The worker's threads wait on a Python lock (woken at once) instead of
SQLite's busy handler (which sleeps and retries); the worker processes take turns on a lock file, and the log is
synced after the commit, outside the write lock (``exam.core.db.sqlite_group_writer``).

A function returns None when the statement finds no attempt item for that owner (a bad token, somebody else's
attempt, no such position): the caller then takes the ordinary path, which answers 401 or 404 as before.
Finishing calls ``operations.attempts_finished``, the one place every finished attempt passes.
"""

from __future__ import annotations

import functools
import json
import sqlite3
import threading
from collections import namedtuple
from collections.abc import Callable
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from types import SimpleNamespace
from typing import Any

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import JSON, BigInteger, Boolean, DateTime, Float, Integer, String, bindparam, select, text
from sqlalchemy.dialects.postgresql import ARRAY

from exam.accounts.models import ApiToken, User
from exam.core.db import deferred_reads, json_serialiser, sqlite_group_writer, sync_wal
from exam.core.errors import Conflict
from exam.exams import operations as ops
from exam.exams.models import Attempt, AttemptItem, Exam
from exam.extensions import db
from question_bank.types import QUESTION_TYPES

_sqlite_writes = threading.Lock()  # SQLite: this process's write turn (one group writes at a time; see _group_commit)


@dataclass(frozen=True)
class Owner:
    """Whose attempt: a bearer token (checked inside the statement) or a signed-in user's id."""

    token_hash: str | None = None
    user_id: int | None = None

    @classmethod
    def from_token(cls, token: str) -> Owner:
        return cls(token_hash=ApiToken.digest(token))


def _is_sqlite() -> bool:
    return db.engine.dialect.name == "sqlite"


def _finished_error():
    return Conflict(_("This attempt has finished; the answer was not saved."), code="attempt_finished")


# --- autosave ---------------------------------------------------------------------------------------------

# Statements as text with typed parameters and result columns: built once, no per-request statement building
# or cache-key walk of a Core construct.
# Who (by_token: True / False) as a join and a condition on the attempt ``a``.
_OWNER_JOIN = {
    True: ("JOIN api_tokens t ON t.user_id = a.user_id JOIN users u ON u.id = a.user_id",
           "t.token_hash = :token_hash AND t.revoked_at IS NULL AND u.active = :active"),
    False: ("", "a.user_id = :user_id"),
}
_ACTIVE = bindparam("active", True, type_=Boolean())
_ITEM_SQL = """
SELECT ai.id, ai.option_order, ai.response_seq, ai.saved_at, ai.points, qv.type, qv.options, qv.answer, a.status,
       a.deadline, a.started_at, e.grace_seconds, e.multiple_scoring
FROM attempt_items ai
JOIN attempts a ON a.id = ai.attempt_id
JOIN exams e ON e.id = a.exam_id
JOIN question_versions qv ON qv.id = ai.question_version_id
{owner_join}
WHERE ai.attempt_id = :attempt_id AND ai.position = :position AND {owner_where}
"""
_ITEM_COLUMNS = {"id": Integer(), "option_order": JSON(), "response_seq": BigInteger(), "saved_at": DateTime(),
                 "points": Float(), "type": String(), "options": JSON(), "answer": JSON(), "status": String(),
                 "deadline": DateTime(), "started_at": DateTime(), "grace_seconds": Integer(),
                 "multiple_scoring": String()}
_ITEM_BY_TOKEN = text(_ITEM_SQL.format(owner_join=_OWNER_JOIN[True][0], owner_where=_OWNER_JOIN[True][1])
                      ).bindparams(_ACTIVE).columns(**_ITEM_COLUMNS)
_ITEM_BY_USER = text(_ITEM_SQL.format(owner_join=_OWNER_JOIN[False][0], owner_where=_OWNER_JOIN[False][1])
                     ).columns(**_ITEM_COLUMNS)

_TIMES = (bindparam("now", type_=DateTime()), bindparam("cutoff", type_=DateTime()))
_TOUCH = text("UPDATE attempts SET last_saved_at = :now "
              "WHERE id = :attempt_id AND status = 'in_progress' AND deadline >= :cutoff").bindparams(*_TIMES)
# The answer is stored with its automatic grade (``awarded``, None for a question graded by hand): the submit then
# writes only the grades that differ from the stored ones (``_grade``), none when every answer was saved this way.
_STORE_SET = ("UPDATE attempt_items SET response = :response, response_seq = :seq, saved_at = :now, "
              "awarded = :awarded, flagged = COALESCE(:flagged, flagged) WHERE id = :item_id "
              "AND attempt_id = :attempt_id AND response_seq < :seq")
_AWARDED = bindparam("awarded", type_=Float())
_STORE = text(_STORE_SET).bindparams(_TIMES[0], bindparam("response", type_=JSON()),
                                     bindparam("flagged", type_=Boolean()), _AWARDED)
# PostgreSQL: touch the open attempt and store the answer in one statement (autocommit, one round trip).
_SAVE_PG = text(f"""
WITH touched AS (
    UPDATE attempts SET last_saved_at = :now
    WHERE id = :attempt_id AND status = 'in_progress' AND deadline >= :cutoff
    RETURNING id
), stored AS (
    {_STORE_SET} AND EXISTS (SELECT 1 FROM touched)
    RETURNING id
)
SELECT (SELECT count(*) FROM touched) AS touched, (SELECT count(*) FROM stored) AS stored
""").bindparams(*_TIMES, bindparam("response", type_=JSON()), bindparam("flagged", type_=Boolean()), _AWARDED)


# The write of a known item (``_save_known``): the touch checks the owner too and returns the deadline.
_OWNER_IS = {
    True: ("user_id = (SELECT t.user_id FROM api_tokens t JOIN users u ON u.id = t.user_id "
           "WHERE t.token_hash = :token_hash AND t.revoked_at IS NULL AND u.active = :active)"),
    False: "user_id = :user_id",
}
# ``started_at`` with the id names the attempt: a database restored under a running server may give an id again.
_TOUCH_KNOWN_SQL = ("UPDATE attempts SET last_saved_at = :now WHERE id = :attempt_id AND started_at = :started_at "
                    "AND status = 'in_progress' AND deadline >= :cutoff AND {owner} RETURNING deadline")
_STARTED = bindparam("started_at", type_=DateTime())
_TOUCH_KNOWN = {by_token: text(_TOUCH_KNOWN_SQL.format(owner=owner))
                .bindparams(*_TIMES, _STARTED, *([_ACTIVE] if by_token else [])).columns(deadline=DateTime())
                for by_token, owner in _OWNER_IS.items()}
_SAVE_KNOWN_PG = {by_token: text(f"""
WITH touched AS (
    {_TOUCH_KNOWN_SQL.format(owner=owner)}
), stored AS (
    {_STORE_SET} AND EXISTS (SELECT 1 FROM touched)
    RETURNING id
)
SELECT (SELECT deadline FROM touched) AS deadline, (SELECT count(*) FROM stored) AS stored
""").bindparams(*_TIMES, _STARTED, bindparam("response", type_=JSON()), bindparam("flagged", type_=Boolean()),
                _AWARDED, *([_ACTIVE] if by_token else [])).columns(deadline=DateTime(), stored=Integer())
    for by_token, owner in _OWNER_IS.items()}
# PostgreSQL, statements for several attempts at once (a row ``j`` each, with its owner: a user's id, or else a
# token's hash). The attempts are found by their ids (``a.id = ANY(...)`` besides the join on ``j``), and the open
# status is a filter, never the index to find them by: without fresh statistics (an exam day opens a thousand
# attempts and finishes them within the hour, faster than the autovacuum's ANALYZE) the planner took the status
# index for selective and read every open attempt of every exam, for each batch.
_OPEN = "({a}.status = 'in_progress') IS TRUE"
# The user owning the row's attempt, found by an index lookup per row. Written as an OR with EXISTS, or as joins,
# the planner hashed every live token and every active user for each batch: a batch's cost grew with the staff
# (the locked read of 4 submits among 1,000 examinees read 1,860 buffers in 2.3 ms; now 80 in 0.2 ms).
_OWNER_OF_ROW = ("coalesce(j.user_id, (SELECT t.user_id FROM api_tokens t JOIN users u ON u.id = t.user_id\n"
                 "                     WHERE t.token_hash = j.token_hash AND t.revoked_at IS NULL AND u.active))")
# PostgreSQL, the saves of known items of distinct attempts (``_saves_known_pg``): each row of j with the conditions
# of _SAVE_KNOWN_PG (the owner: a user's id, or else a live token of an active user)
_SAVES_COLUMNS = {"attempt_id": "integer", "started_at": "timestamp", "cutoff": "timestamp", "now": "timestamp",
                  "token_hash": "text", "user_id": "integer", "item_id": "integer", "response": "text",
                  "seq": "bigint", "flagged": "boolean", "awarded": "double precision"}
_SAVES_KNOWN_PG = text(f"""
WITH j AS (
    SELECT * FROM unnest({", ".join(f"CAST(:{name}s AS {type_}[])" for name, type_ in _SAVES_COLUMNS.items())})
         AS j({", ".join(_SAVES_COLUMNS)})
), touched AS (
    UPDATE attempts a SET last_saved_at = j.now
    FROM j
    WHERE a.id = j.attempt_id AND a.id = ANY(CAST(:attempt_ids AS integer[])) AND {_OPEN.format(a="a")}
      AND a.started_at = j.started_at AND a.deadline >= j.cutoff AND a.user_id = {_OWNER_OF_ROW}
    RETURNING a.id, a.deadline
), stored AS (
    UPDATE attempt_items ai SET response = CAST(j.response AS json), response_seq = j.seq, saved_at = j.now,
                                awarded = j.awarded, flagged = COALESCE(j.flagged, ai.flagged)
    FROM j JOIN touched t ON t.id = j.attempt_id
    WHERE ai.id = j.item_id AND ai.attempt_id = j.attempt_id AND ai.response_seq < j.seq
    RETURNING ai.attempt_id
)
SELECT t.id AS attempt_id, t.deadline, (SELECT count(*) FROM stored s WHERE s.attempt_id = t.id) AS stored
FROM touched t
""").bindparams(*(bindparam(name + "s", type_=ARRAY({"integer": Integer(), "bigint": BigInteger(), "text": String(),
                                                      "timestamp": DateTime(), "boolean": Boolean(),
                                                      "double precision": Float()}[type_]))
                  for name, type_ in _SAVES_COLUMNS.items())).columns(
    attempt_id=Integer(), deadline=DateTime(), stored=Integer())
_ITEM_SEQ = text("SELECT response_seq, saved_at FROM attempt_items WHERE id = :item_id").columns(
    response_seq=BigInteger(), saved_at=DateTime())


@dataclass
class Saved:
    position: int
    seq: int
    saved: bool
    saved_at: datetime | None
    deadline: datetime


@dataclass(kw_only=True)
class _Queued:
    """A write queued for its process's turn (``_take_turn``), run by the thread that takes it."""

    result: Any = None
    error: BaseException | None = None
    taken: bool = False  # by a turn (set under it)
    done: threading.Event = field(default_factory=threading.Event)  # its writes committed (and synced), or failed

    def outcome(self) -> Any:
        """Wait until it is done: its result, or its error raised."""
        self.done.wait()
        if self.error is not None:
            raise self.error
        return self.result


@dataclass
class _Job(_Queued):
    """One write waiting for the group commit (SQLite): ``run(connection)`` inside the shared transaction."""

    run: Callable[[Any], Any]
    savepoint: bool = False  # a job that may fail halfway is undone alone
    # a job whose writes, when the group follows its finishes up together (``_run_jobs``), are one statement: it
    # needs no savepoint there (a statement that fails has written nothing), and its failure is its own
    one_write_together: bool = False
    # SQLite, a submit graded outside the write lock: when the group follows up together, its checked finish is
    # written with the group's others in one statement (``_finish_together_sqlite``); ``run`` only when that
    # finds the attempt changed since the grade (or already finished)
    finish: _Checked | None = None


@dataclass(frozen=True)
class _Checked:
    """A submit's finish as graded outside the write lock: the answer it gives and the values of its checked
    finish (``_FINISH_CHECKED``'s parameters)."""

    attempt_id: int
    awards: list[tuple[float, int]]
    params: dict
    body: dict


_queue: list[_Job] = []
_queue_lock = threading.Lock()  # guards the queues (this one and _pg_submits)


@contextmanager
def _take_turn(turn: threading.Lock, queue: list, job: _Queued):
    """Queue the job and wait for the process's turn; under it, give the jobs queued so far (taken: this thread
    runs them), or nothing when a thread that had the turn before took this job with its own."""
    with _queue_lock:
        queue.append(job)
    with turn:
        batch = []
        if not job.taken:
            with _queue_lock:
                batch = list(queue)
                queue.clear()
            for each in batch:
                each.taken = True
        yield batch


def _release_session() -> None:
    """End the request's open transaction (e.g. a session request's user lookup, begun IMMEDIATE on SQLite)
    before queueing for the process's write lock: never wait for it while holding the database's."""
    if db.session().in_transaction():
        db.session.rollback()


def _group_commit(job: _Job) -> Any:
    """SQLite: the writes of this process's threads that arrive together share one write transaction and one
    commit. The thread holding the process's write turn takes every job queued so far and runs them in its own
    session's transaction (BEGIN IMMEDIATE: the database's write lock, taken in turns with the other worker
    processes on a lock file) and commits; then it gives up the turn and syncs the log to disk while the next
    group of this process or the other already writes, and only then are the group's jobs done: each of their
    threads waits for the sync of the group that took its job. A job's result is given only after the sync that
    made it durable; when the commit or the sync fails, every job of the group fails
    (``exam.core.db.sqlite_group_writer``)."""
    _release_session()
    database = db.engine.url.database
    failed: BaseException | None = None
    with _take_turn(_sqlite_writes, _queue, job) as batch:
        if batch:
            try:
                with sqlite_group_writer(database):
                    try:
                        _run_batch(batch)
                        db.session.commit()
                    except Exception:  # nothing of the batch is stored
                        db.session.rollback()
                        raise
            except Exception as exc:
                failed = exc
    if batch:  # this thread's group: synced outside the turn, then answered
        try:
            if failed is None:
                sync_wal(database)
        except Exception as exc:  # nothing of the batch is known to be stored: every job in it fails
            failed = exc
        finally:
            for each in batch:
                if failed is not None:
                    each.error = each.error or failed
                each.done.set()
    return job.outcome()


# session.info: the attempts the group's jobs finished, in order, each with its awards ((awarded, item id) pairs)
_GROUP_FINISHED = "exam_day.group_finished"


class _FollowFailed(Exception):
    """What follows the group's finishes (``ops.attempts_finished``) failed: the group runs again without it."""


def _run_batch(batch: list[_Job]) -> None:
    """Each job in the session's transaction, then the awards of the attempts they finished and what follows
    their finish, once for all of them: the awards in one statement, ``ops.attempts_finished`` (the reports'
    aggregates of a group's first results in two statements, not two per submit). Every statement under the
    write lock gives up the GIL and waits to take it back from the worker's other threads: fewer statements, a
    shorter hold. When the follow-up fails, nothing of the group is kept and it runs again with each submit
    awarded and followed up in its own job (and savepoint), so that the failure is the job's own."""
    try:
        _run_jobs(batch, together=True)
    except _FollowFailed:
        db.session.rollback()
        for each in batch:
            each.result = each.error = None
        _run_jobs(batch, together=False)


def _run_jobs(batch: list[_Job], *, together: bool) -> None:
    """A job marked ``savepoint`` that fails is undone alone (a job alone in its batch needs no savepoint: when it
    fails, the whole transaction is undone; nor does a job of one write when the group follows up together).
    Together, the checked finishes of each run of consecutive submits (of distinct attempts) are one statement,
    which also reads the reports' lookup of the attempts it finishes (``_finish_together_sqlite``); a submit it
    does not finish (its attempt changed since the grade, or was finished) runs its own job right after it, and
    every other job runs in its place in the queue."""
    conn = db.session.connection()
    alone = len(batch) == 1
    finished: list[tuple[int, list[tuple[float, int]]]] = []
    looked_up: list[tuple] = []  # of the attempts finished by the runs' statements, in the order of ``finished``
    if together:
        db.session.info[_GROUP_FINISHED] = finished

    def run_one(each: _Job) -> None:
        one_write = together and each.one_write_together
        own_failure = not alone and (each.savepoint or one_write)
        nested = conn.begin_nested() if own_failure and not one_write else None
        mark = len(finished)
        try:
            each.result = each.run(conn)
            if nested is not None:
                nested.commit()
        except Exception as exc:
            if not own_failure:
                raise
            if nested is not None:
                nested.rollback()
            del finished[mark:]
            each.error = exc

    run: dict[int, _Job] = {}  # consecutive submits to finish in one statement, by attempt

    def write_run() -> None:
        if not run:
            return
        try:
            won = _finish_together_sqlite(conn, [each.finish for each in run.values()])
        except Exception as exc:  # nothing of the group is kept: it runs again job by job
            raise _FollowFailed() from exc
        changed = []
        for attempt_id, each in run.items():
            if attempt_id in won:
                each.result = each.finish.body
                finished.append((attempt_id, each.finish.awards))
                looked_up.append(won[attempt_id])
            else:
                changed.append(each)
        run.clear()
        for each in changed:
            run_one(each)

    try:
        for each in batch:
            if together and _RETURNING and each.finish is not None and each.finish.attempt_id not in run:
                run[each.finish.attempt_id] = each
                continue
            write_run()
            run_one(each)
        write_run()
    finally:
        db.session.info.pop(_GROUP_FINISHED, None)
    if finished:
        try:
            _award_sqlite(conn, [award for _, awards in finished for award in awards])
            # the lookup as read with the finishes, unless a job finished an attempt by itself
            ops.attempts_finished([attempt_id for attempt_id, _ in finished],
                                  looked_up if len(looked_up) == len(finished) else None)
        except Exception as exc:
            raise _FollowFailed() from exc


def _store(params: dict):
    def run(conn) -> tuple[int, int]:
        touched = conn.execute(_TOUCH, params).rowcount
        return touched, (conn.execute(_STORE, params).rowcount if touched == 1 else 0)

    return run


@dataclass(frozen=True)
class _Item:
    """What a save needs of an attempt item that never changes once the paper is drawn: its row, the displayed
    order of its options, its points, its question version's type, options and answer (versions are never
    edited), and the exam's grace and scoring of multiple choices (a published exam's blueprint is frozen,
    ``operations.apply_exam_data``; were a grade stored with an answer ever out of date, the submit grades again
    and writes what differs)."""

    item_id: int
    started_at: datetime  # with the attempt's id, names the attempt (see _TOUCH_KNOWN_SQL)
    option_order: Any
    points: float
    type: str
    options: Any
    answer: Any
    partial: bool
    grace: timedelta

    def grade(self, cleaned: Any) -> float | None:
        """The automatic grade of this (cleaned) response, stored with it."""
        return QUESTION_TYPES[self.type].grade(self.options, self.answer, cleaned, self.points, self.partial)


# Per app (one per process), after an item's first save; every later save of it is the write alone, which
# checks the owner, the status and the deadline itself. Bounded: cleared when full (an exam day holds a few
# thousand papers of a few dozen items).
_ITEMS_MAX = 200_000


def _known_items() -> dict[tuple[int, int], _Item]:
    return current_app.extensions.setdefault("exam_day_items", {})


def _keep(name: str, limit: int, entries: dict) -> None:
    """Add the entries to this app's (this process's) dict ``name``, clearing it first when it would pass
    ``limit``."""
    known = current_app.extensions.setdefault(name, {})
    if len(known) + len(entries) > limit:
        known.clear()
    known.update(entries)


def _remember(attempt_id: int, items: dict[int, _Item]) -> None:
    """Keep these items of the attempt (position -> item)."""
    _keep("exam_day_items", _ITEMS_MAX, {(attempt_id, position): item for position, item in items.items()})


def remember_paper(attempt: Attempt, items: list[AttemptItem]) -> None:
    """Know an open attempt's items (with their versions loaded) before their first save: the paper was just
    drawn or read for the examinee (``exam.api.exams.attempt_body``), so the saves that follow are the write
    alone."""
    if attempt.is_finished:
        return
    # the versions' grading facts, for the submit (``_grading_versions``)
    stored = _stored_form()
    _keep_versions({(item.version.id, stored(item.version.created_at)):
                    _Version(item.version.type, item.version.options, item.version.answer) for item in items})
    if any(getattr(item, "id", None) is None for item in items):
        return  # (a paper just drawn is written in bulk: its rows' ids are known after a read)
    grace = attempt.grace(ops.grace_default())
    partial = attempt.exam.multiple_scoring == "partial"
    _remember(attempt.id, {item.position: _Item(item.id, attempt.started_at, item.option_order, item.points,
                                                item.version.type, item.version.options, item.version.answer,
                                                partial, grace) for item in items})


def save(owner: Owner, attempt_id: int, position: int, response: Any, seq: int, *, flagged: bool | None,
         now: datetime) -> Saved | None:
    """Store one answer unless a newer one is stored; refused (409) once finished or past deadline + grace.

    Commits. None when this owner has no such attempt item (the caller answers 401/404 the ordinary way)."""
    known = _known_items()
    item = known.get((attempt_id, position))
    if item is not None:
        saved = _save_known(owner, attempt_id, position, item, response, seq, flagged=flagged, now=now)
        if saved is not None:
            return saved
        known.pop((attempt_id, position), None)  # refused: the read below says why
    return _save_read_first(owner, attempt_id, position, response, seq, flagged=flagged, now=now)


def _save_read_first(owner: Owner, attempt_id: int, position: int, response: Any, seq: int, *,
                     flagged: bool | None, now: datetime) -> Saved | None:
    sqlite = _is_sqlite()
    statement, params = ((_ITEM_BY_USER, {"user_id": owner.user_id}) if owner.user_id is not None
                         else (_ITEM_BY_TOKEN, {"token_hash": owner.token_hash}))
    params.update(attempt_id=attempt_id, position=position)
    if sqlite:
        _release_session()
        with deferred_reads():  # a read: no write lock while the answer is checked
            row = db.session.connection().execute(statement, params).first()
            db.session.rollback()
    else:
        conn = _pg_connection()
        row = conn.execute(statement, params).first()
    if row is None:
        return None
    if row.status != "in_progress":
        raise _finished_error()
    grace = timedelta(seconds=row.grace_seconds if row.grace_seconds is not None else ops.grace_default())
    if now > row.deadline + grace:
        raise Conflict(_("The time is up; the answer was not saved."), code="deadline_passed")
    item = _Item(row.id, row.started_at, row.option_order, row.points, row.type, row.options, row.answer,
                 row.multiple_scoring == "partial", grace)
    cleaned = _clean(item, response)
    _remember(attempt_id, {position: item})
    # The deadline is checked again inside the write: extra time only ever moves it later.
    write = {"now": now, "cutoff": now - grace, "attempt_id": attempt_id, "item_id": row.id, "seq": seq,
             "response": cleaned, "awarded": item.grade(cleaned), "flagged": None if flagged is None else bool(flagged)}
    if sqlite:
        touched, stored = _group_commit(_Job(_store(write)))
    else:
        result = conn.execute(_SAVE_PG, write).one()
        touched, stored = result.touched, result.stored
        db.session.commit()
    if touched != 1:
        raise _finished_error()
    if stored != 1:
        return Saved(position, row.response_seq, False, row.saved_at, row.deadline)
    return Saved(position, seq, True, now, row.deadline)


def _save_known(owner: Owner, attempt_id: int, position: int, item: _Item, response: Any, seq: int, *,
                flagged: bool | None, now: datetime) -> Saved | None:
    """A save of an item this process knows (``remember_paper`` or an earlier save): the write alone, with the
    owner (the token, live and its user active, or the user's id), the attempt, its open status and the
    deadline checked inside it. None when the response is refused or the write touched nothing: the caller
    reads first, and that read answers why (401 and 404 before a word about the response, 409, 422)."""
    try:
        cleaned = _clean(item, response)
    except ops.ExamError:
        return None  # said only to the owner, after the read checked who asks
    write = {"now": now, "cutoff": now - item.grace, "attempt_id": attempt_id, "started_at": item.started_at,
             "item_id": item.item_id, "seq": seq, "response": cleaned, "awarded": item.grade(cleaned),
             "flagged": None if flagged is None else bool(flagged)}
    if owner.user_id is not None:
        write["user_id"] = owner.user_id
    else:
        write["token_hash"] = owner.token_hash
    by_token = owner.user_id is None
    if _is_sqlite():
        deadline, stored = _group_commit(_Job(_store_known(write, by_token)))
    elif db.session().in_transaction():  # a session request: the save commits with its transaction
        deadline, stored = _save_known_pg(_Save(write, by_token))
    else:
        deadline, stored = _in_turn(_pg_save_turn, _pg_saves, _Save(write, by_token), _saves_known_pg,
                                    _save_known_pg)
    if deadline is None:
        return None
    if stored != 1:  # a newer answer is stored (an older request arriving late): say which
        with deferred_reads():
            current = db.session.execute(_ITEM_SEQ, {"item_id": item.item_id}).one()
            db.session.rollback()
        return Saved(position, current.response_seq, False, current.saved_at, deadline)
    return Saved(position, seq, True, now, deadline)


@dataclass
class _Save(_Queued):
    """PostgreSQL: a known item's save (``_SAVE_KNOWN_PG``'s parameters), perhaps waiting for its process's save
    turn (``_in_turn``): the saves of a worker's threads that arrive together are one statement in autocommit."""

    write: dict
    by_token: bool

    @property
    def attempt_id(self) -> int:
        return self.write["attempt_id"]


_pg_save_turn = threading.Lock()  # PostgreSQL: this process's save turn
_pg_saves: list[_Save] = []


def _save_known_pg(job: _Save) -> tuple[datetime | None, int]:
    """PostgreSQL: one save of a known item in one statement: (the deadline, or None when the attempt was not
    touched; 1 if the answer was stored)."""
    result = _pg_connection().execute(_SAVE_KNOWN_PG[job.by_token], job.write).one()
    db.session.commit()
    return result.deadline, result.stored


def _saves_known_pg(jobs: list[_Save]) -> list[tuple[datetime | None, int]]:
    """PostgreSQL: the saves of known items of distinct attempts in one statement in autocommit, each with every
    condition of ``_SAVE_KNOWN_PG`` (its owner, its attempt's start, open status and deadline; its answer only
    over an older one). Answers as ``_save_known_pg`` does, in order."""
    serialise = json_serialiser(db.engine.dialect)
    columns: dict[str, list] = {name: [] for name in _SAVES_COLUMNS}
    for job in sorted(jobs, key=lambda job: job.attempt_id):  # one order of the attempts' locks in every batch
        write = job.write
        for name in ("attempt_id", "started_at", "cutoff", "now", "item_id", "seq", "flagged", "awarded"):
            columns[name].append(write[name])
        columns["token_hash"].append(write.get("token_hash"))
        columns["user_id"].append(write.get("user_id"))
        columns["response"].append(serialise(write["response"]))
    touched = {row.attempt_id: (row.deadline, row.stored) for row in _pg_connection().execute(
        _SAVES_KNOWN_PG, {name + "s": values for name, values in columns.items()})}
    return [touched.get(job.attempt_id, (None, 0)) for job in jobs]


def _clean(item: _Item, response: Any) -> Any:
    return ops.clean_response(SimpleNamespace(option_order=item.option_order),
                              SimpleNamespace(type=item.type, options=item.options), response)


def _pg_connection():
    """Autocommit: no BEGIN/COMMIT round trips; the write is one atomic statement. (A session request has
    already read its user in a transaction: the save then commits with it.)"""
    return (db.session.connection() if db.session().in_transaction() else
            db.session.connection(execution_options={"isolation_level": "AUTOCOMMIT"}))


def _store_known(params: dict, by_token: bool):
    def run(conn) -> tuple[datetime | None, int]:
        touched = conn.execute(_TOUCH_KNOWN[by_token], params).first()
        if touched is None:
            return None, 0
        return touched.deadline, conn.execute(_STORE, params).rowcount

    return run


# --- submit -----------------------------------------------------------------------------------------------

# Statements as text with typed result columns, one per kind of owner: built once, no per-request statement
# building or cache-key walk.
_PAPER_COLUMNS = """a.id, a.status, a.deadline, a.finished_by, a.score, a.max_score, a.passed, a.band,
       e.multiple_scoring, e.pass_mark, e.bands, e.bands AS bands_stored, e.show_results, e.closes_at,
       e.status AS exam_status"""
_PAPER_SQL = """
SELECT """ + _PAPER_COLUMNS + """{items}
FROM attempts a
JOIN exams e ON e.id = a.exam_id
{owner_join}{items_join}
WHERE a.id = :attempt_id AND {owner_where}{order}
"""
_PAPER_TYPES = {"id": Integer(), "status": String(), "deadline": DateTime(), "finished_by": String(),
                "score": Float(), "max_score": Float(), "passed": Boolean(), "band": String(),
                "multiple_scoring": String(), "pass_mark": Float(), "bands": JSON(), "show_results": String(),
                "closes_at": DateTime(), "exam_status": String()}
# The answers; the question versions' grading facts come from ``_grading_versions`` (by id and creation time,
# as stored: ``version_created`` is not converted).
_ITEMS_SQL = ("ai.id AS item_id, ai.response, ai.response_seq, ai.points, ai.awarded, "
              "ai.question_version_id AS version_id, qv.created_at AS version_created")
_ITEM_TYPES = {"item_id": Integer(), "response": JSON(), "response_seq": BigInteger(), "points": Float(),
               "awarded": Float(), "version_id": Integer()}  # and version_created: the item's columns, in this order
_PAPER_WIDTH = len(_PAPER_TYPES) + 1  # the attempt's columns in _PAPER_SQL (with the untyped bands_stored): a
# SQLite paper row's item columns follow
# PostgreSQL: the attempt row locked, then (a new statement, so a new snapshot: every save committed before the
# lock was taken is seen) its items.
_SUBMIT_ATTEMPT = {
    by_token: text(_PAPER_SQL.format(owner_join=join, owner_where=where, items="", items_join="",
                                     order=" FOR UPDATE OF a"))
    .bindparams(*([_ACTIVE] if by_token else [])).columns(**_PAPER_TYPES)
    for by_token, (join, where) in _OWNER_JOIN.items()
}
_SUBMIT_ITEMS = text(f"""
SELECT {_ITEMS_SQL}
FROM attempt_items ai
JOIN question_versions qv ON qv.id = ai.question_version_id
WHERE ai.attempt_id = :attempt_id
ORDER BY ai.position
""").columns(**_ITEM_TYPES)
# PostgreSQL, the submits of one process that arrive together (``_submit_together``): their attempts locked in
# the order of their ids (every such statement locks in one order), each found through its owner (its token's
# hash or its user's id, the other NULL; ``n``: its place in the lists), then their items.
_SUBMIT_ATTEMPTS = text(f"""
SELECT j.n, {_PAPER_COLUMNS}
FROM attempts a
JOIN unnest(CAST(:attempt_ids AS integer[]), CAST(:token_hashes AS text[]), CAST(:user_ids AS integer[]))
     WITH ORDINALITY AS j(attempt_id, token_hash, user_id, n) ON j.attempt_id = a.id
JOIN exams e ON e.id = a.exam_id
WHERE a.id = ANY(CAST(:attempt_ids AS integer[])) AND a.user_id = {_OWNER_OF_ROW}
ORDER BY a.id
FOR UPDATE OF a
""").bindparams(bindparam("attempt_ids", type_=ARRAY(Integer())), bindparam("token_hashes", type_=ARRAY(String())),
                bindparam("user_ids", type_=ARRAY(Integer()))).columns(n=Integer(), **_PAPER_TYPES)
_SUBMIT_ITEMS_OF = text(f"""
SELECT ai.attempt_id, {_ITEMS_SQL}
FROM attempt_items ai
JOIN question_versions qv ON qv.id = ai.question_version_id
WHERE ai.attempt_id = ANY(CAST(:attempt_ids AS integer[]))
ORDER BY ai.attempt_id, ai.position
""").bindparams(bindparam("attempt_ids", type_=ARRAY(Integer()))).columns(attempt_id=Integer(), **_ITEM_TYPES)
# SQLite: the attempt and its items in one read (no row locks: outside the write lock the grade is checked under
# it, ``_FINISH_CHECKED``; under it nothing else writes). Read raw, each column converted as its type says
# (``_read_paper_sqlite``): the exam's bands, repeated on every item's row, decoded once from bands_stored.
_SQLITE_PAPER_TYPES = {name: type_ for name, type_ in _PAPER_TYPES.items() if name != "bands"}
_SUBMIT_PAPER = {
    by_token: _PAPER_SQL.format(
        owner_join=join, owner_where=where.replace(":active", "1"), items=",\n       " + _ITEMS_SQL,
        items_join=("\nLEFT JOIN attempt_items ai ON ai.attempt_id = a.id"
                    "\nLEFT JOIN question_versions qv ON qv.id = ai.question_version_id"),
        order="\nORDER BY ai.position")
    for by_token, (join, where) in _OWNER_JOIN.items()
}
_VERSIONS = text("SELECT id, created_at, type, options, answer FROM question_versions WHERE id IN :ids").bindparams(
    bindparam("ids", expanding=True)).columns(id=Integer(), type=String(), options=JSON(), answer=JSON())
_CHECKED_ITEMS_MAX = 1000  # the sum of as many sequence numbers (each at most 2**53) stays within 64 bits
# SQLite, the awards of a paper in one statement (up to _AWARD_ROWS items each): an executemany is one step per
# row, and each step gives up the GIL and waits to take it back from the worker's other threads, all while the
# group holds the database's write lock (``_award_sqlite``).
_AWARD_ROWS = 500
_AWARD_VALUES = "WITH v(id, awarded) AS (VALUES {rows}) UPDATE attempt_items SET awarded = v.awarded FROM v " \
                "WHERE attempt_items.id = v.id"
_AWARD_ONE_BY_ONE = "UPDATE attempt_items SET awarded = ? WHERE id = ?"  # SQLite before 3.33: no UPDATE ... FROM
_UPDATE_FROM = sqlite3.sqlite_version_info >= (3, 33)
_RETURNING = sqlite3.sqlite_version_info >= (3, 35)  # and UPDATE ... FROM: the finishes of a group in one statement
# SQLite, the checked finishes of several submits (``_FINISH_CHECKED`` for each row of v), returning the reports'
# lookup of each attempt finished (``item_stats.LOOKUP_SQL``'s columns; the statement changes nothing it reads but
# these attempts' status, which its count of the exam's other finished attempts leaves out)
_CHECKED_COLUMNS = ("attempt_id", "status", "finished_at", "finished_by", "score", "max_score", "passed", "band",
                    "deadline", "multiple_scoring", "pass_mark", "bands_stored", "n", "seqs", "ids")
_FINISH_TOGETHER = f"""WITH v({", ".join(_CHECKED_COLUMNS)}) AS (VALUES {{rows}})
UPDATE attempts SET status = v.status, finished_at = v.finished_at, finished_by = v.finished_by,
                    version = version + 1, score = v.score, max_score = v.max_score, passed = v.passed, band = v.band
FROM v
WHERE attempts.id = v.attempt_id AND attempts.status = 'in_progress'{{check}}
RETURNING attempts.id, attempts.exam_id, attempts.user_id,
          (SELECT e.counting_attempt FROM exams e WHERE e.id = attempts.exam_id),
          (SELECT s.rule FROM exam_stats_state s WHERE s.exam_id = attempts.exam_id),
          (SELECT r.attempt_id FROM exam_results r WHERE r.exam_id = attempts.exam_id AND r.user_id = attempts.user_id),
          (SELECT r.percent FROM exam_results r WHERE r.exam_id = attempts.exam_id AND r.user_id = attempts.user_id),
          CASE WHEN (SELECT s.rule FROM exam_stats_state s WHERE s.exam_id = attempts.exam_id) IS NULL
               THEN (SELECT count(*) FROM attempts o WHERE o.exam_id = attempts.exam_id
                     AND o.status != 'in_progress' AND o.id NOT IN (SELECT attempt_id FROM v)) END"""
_FINISH_TOGETHER_ROWS = 500


@dataclass(frozen=True)
class _Version:
    """What grading needs of a question version: never edited once written (an edit adds a version)."""

    type: str
    options: Any
    answer: Any


# Per app (one per process), by (id, created_at): an id alone could name another version after the database was
# replaced under a running server. Bounded like the known items (an exam day uses a few hundred versions).
_VERSIONS_MAX = 50_000


def _known_versions() -> dict:
    return current_app.extensions.setdefault("exam_day_versions", {})


def _keep_versions(versions: dict) -> None:
    _keep("exam_day_versions", _VERSIONS_MAX, versions)


def _stored_form() -> Callable[[datetime], Any]:
    """A datetime as the database hands it back unconverted (``_SUBMIT_ITEMS``'s ``version_created``): the
    dialect's own conversion of a value written through it (SQLite: text; PostgreSQL: the datetime itself)."""
    dialect = db.engine.dialect
    return DateTime().dialect_impl(dialect).bind_processor(dialect) or (lambda value: value)


def _grading_versions(conn, items) -> dict:
    """(version id, created_at) -> _Version for the items, reading only the versions this process has not seen."""
    known = _known_versions()
    keys = {(item[5], item[6]) for item in items}  # (version id, created_at) of each (_ITEM_TYPES' order)
    # one lookup per key: another thread may clear the full dict between two
    found = {key: version for key in keys if (version := known.get(key)) is not None}
    if len(found) < len(keys):
        for row in conn.execute(_VERSIONS, {"ids": sorted({key[0] for key in keys - found.keys()})}):
            found[(row.id, row.created_at)] = _Version(row.type, row.options, row.answer)
        _keep_versions(found)
    return found


_FINISH_SET = ("UPDATE attempts SET status = :status, finished_at = :finished_at, finished_by = :finished_by, "
               "version = version + 1, score = :score, max_score = :max_score, passed = :passed, band = :band "
               "WHERE id = :attempt_id AND status = 'in_progress'")
_FINISH = text(_FINISH_SET).bindparams(bindparam("finished_at", type_=DateTime()))
# SQLite, a paper graded outside the write lock: finished only if what the grade depends on is as it was read
# (the question versions never change). Every stored answer raises its item's sequence number (a save is stored
# only with a higher one), so the sum of the paper's numbers changes with any answer.
# ``{v}``: where the values are (":" for parameters, "v." for the rows of _FINISH_TOGETHER)
_CHECK = """
AND attempts.deadline = {v}deadline
AND EXISTS (SELECT 1 FROM exams e WHERE e.id = attempts.exam_id AND e.multiple_scoring = {v}multiple_scoring
            AND e.pass_mark = {v}pass_mark AND e.bands = {v}bands_stored)
AND (SELECT count(*) = {v}n AND coalesce(sum(response_seq), 0) = {v}seqs AND coalesce(sum(id), 0) = {v}ids
     FROM attempt_items WHERE attempt_id = attempts.id)"""
_FINISH_CHECKED = text(_FINISH_SET + _CHECK.format(v=":")).bindparams(
    bindparam("finished_at", type_=DateTime()), bindparam("deadline", type_=DateTime()))


@functools.cache
def _finish_pg():
    """PostgreSQL: the awards, the finish and the reports' lookup of the finished attempt (``item_stats``, read in
    the same snapshot: the finish changes nothing it reads) in one statement. Built on first use (reports build
    on exams: their module is imported when needed)."""
    from exam.reports import item_stats

    return text(f"""
WITH awards AS (
    UPDATE attempt_items SET awarded = v.awarded
    FROM (SELECT unnest(:item_ids) AS id, unnest(:awards) AS awarded) AS v
    WHERE attempt_items.attempt_id = :attempt_id AND attempt_items.id = v.id
    RETURNING 1
), finished AS (
    {_FINISH_SET}
    RETURNING 1
)
SELECT (SELECT count(*) FROM finished) AS won, (SELECT count(*) FROM awards) AS awarded, lookup.*
FROM (SELECT 1) AS one
LEFT JOIN ({item_stats.LOOKUP_SQL}) AS lookup ON true
""").bindparams(bindparam("finished_at", type_=DateTime()), bindparam("item_ids", type_=ARRAY(Integer())),
                bindparam("awards", type_=ARRAY(Float())), item_stats.LOOKUP_IDS).columns(
        won=Integer(), awarded=Integer(), **item_stats.LOOKUP_TYPES)


@functools.cache
def _finish_pg_together():
    """PostgreSQL, several locked attempts graded (``_submit_together``): their awards, their finishes (each with
    its own columns) and the reports' lookup of them, in one statement."""
    from exam.reports import item_stats

    return text(f"""
WITH awards AS (
    UPDATE attempt_items SET awarded = v.awarded
    FROM unnest(CAST(:award_attempts AS integer[]), CAST(:award_items AS integer[]),
                CAST(:awards AS double precision[])) AS v(attempt_id, id, awarded)
    WHERE attempt_items.attempt_id = v.attempt_id AND attempt_items.id = v.id
    RETURNING 1
), finished AS (
    UPDATE attempts SET status = f.status, finished_at = f.finished_at, finished_by = f.finished_by,
                        version = version + 1, score = f.score, max_score = f.max_score, passed = f.passed,
                        band = f.band
    FROM unnest(CAST(:ids AS integer[]), CAST(:statuses AS text[]), CAST(:finished_ats AS timestamp[]),
                CAST(:finished_bys AS text[]), CAST(:scores AS double precision[]),
                CAST(:max_scores AS double precision[]), CAST(:passeds AS boolean[]), CAST(:bands AS text[]))
         AS f(id, status, finished_at, finished_by, score, max_score, passed, band)
    WHERE attempts.id = f.id AND attempts.id = ANY(CAST(:ids AS integer[])) AND {_OPEN.format(a="attempts")}
    RETURNING 1
)
SELECT (SELECT count(*) FROM finished) AS won, (SELECT count(*) FROM awards) AS awarded, lookup.*
FROM (SELECT 1) AS one
LEFT JOIN ({item_stats.LOOKUP_SQL_ARRAY}) AS lookup ON true
""").bindparams(*(bindparam(name, type_=ARRAY(Integer()))
                  for name in ("award_attempts", "award_items", "ids", "attempt_ids")),
                *(bindparam(name, type_=ARRAY(Float())) for name in ("awards", "scores", "max_scores")),
                *(bindparam(name, type_=ARRAY(String())) for name in ("statuses", "finished_bys", "bands")),
                bindparam("finished_ats", type_=ARRAY(DateTime())), bindparam("passeds", type_=ARRAY(Boolean())),
                ).columns(won=Integer(), awarded=Integer(), **item_stats.LOOKUP_TYPES)


def _state(row, now: datetime) -> dict:
    """The submit answer for an attempt already finished: its state, as stored."""
    return _body(row.status, row.finished_by, {"score": row.score, "max_score": row.max_score,
                                               "passed": row.passed, "band": row.band}, row, now)


def _body(status: str, finished_by: str | None, result: dict, exam_row, now: datetime) -> dict:
    """The submit answer: as ``exam.api.exams.attempt_result``, scores only when the exam shows them now."""
    body = {"status": status, "finished_by": finished_by}
    exam = Exam(status=exam_row.exam_status, closes_at=exam_row.closes_at)  # transient: the policy's rules
    if status != "in_progress" and exam.policy_allows(exam_row.show_results, now):
        body.update(result)
    return body


def submit(owner: Owner, attempt_id: int, now: datetime) -> dict | None:
    """Finish and grade the attempt once (a second submit answers its state, finishing nothing). Commits.

    On SQLite the paper is read and graded before the write lock, and the group commit only checks that nothing
    graded has changed since (else grades again under the lock) and writes; on PostgreSQL it runs in its own
    transaction, the attempt row locked first. None when this owner has no such attempt (the caller answers
    401/404 the ordinary way)."""
    if _is_sqlite():
        return _submit_sqlite(owner, attempt_id, now)
    return _submit_pg(owner, attempt_id, now)


def _submit_alone(owner: Owner, attempt_id: int, now: datetime) -> dict | None:
    """PostgreSQL: one submit in its own transaction, the attempt row locked first."""
    try:
        body = _finish(db.session.connection(), owner, attempt_id, now)
    except _Lost:
        db.session.rollback()
        return None
    except BaseException:
        db.session.rollback()
        raise
    if body is None:
        db.session.rollback()
    else:
        db.session.commit()
    return body


@dataclass
class _Submit(_Queued):
    """PostgreSQL: one submit waiting for its process's submit turn (``_submit_pg``)."""

    owner: Owner
    attempt_id: int
    now: datetime


_pg_turn = threading.Lock()  # PostgreSQL: this process's submit turn
_pg_submits: list[_Submit] = []


def _submit_pg(owner: Owner, attempt_id: int, now: datetime) -> dict | None:
    """PostgreSQL: the submits of this process's threads that arrive together finish in one transaction. The
    thread holding the process's submit turn takes every submit queued so far and finishes them with a fixed
    handful of statements (``_submit_together``), whatever their number: on the exam day's last minute a
    submit's cost was mostly its round trips and statements, not its rows. Each request waits until the
    transaction that finished its attempt has committed. When that transaction fails, nothing of it is stored
    and each of its submits runs again alone, so one submit's failure is its own."""
    _release_session()
    return _in_turn(_pg_turn, _pg_submits, _Submit(owner, attempt_id, now),
                    lambda jobs: _submit_together(db.session.connection(), jobs),
                    lambda job: _submit_alone(job.owner, job.attempt_id, job.now))


def _in_turn(turn: threading.Lock, queue: list, job: _Queued, together: Callable[[list], list],
             alone: Callable[[Any], Any]) -> Any:
    """PostgreSQL: queue the job (it has an ``attempt_id``) for the process's turn. The thread that takes the turn
    runs every job queued so far: one job per attempt ``together`` in the session's transaction, committed
    (``together(jobs)`` gives their results in order), when there is more than one; then each other job
    (a second one of an attempt, or every job when they were one, or when together failed: nothing of it is
    stored) ``alone``. Returns this job's result once what wrote it has committed, or raises its error."""
    with _take_turn(turn, queue, job) as batch:
        if batch:
            try:
                _run_turn(batch, together, alone)
            finally:
                for each in batch:
                    if not each.done.is_set():
                        each.error = each.error or RuntimeError("not run")
                        each.done.set()
    return job.outcome()


def _run_turn(batch: list, together: Callable[[list], list], alone: Callable[[Any], Any]) -> None:
    """The jobs of one turn (``_in_turn``): the first of each attempt together, then the others each alone."""
    first, rest, seen = [], [], set()
    for job in batch:
        (rest if job.attempt_id in seen else first).append(job)
        seen.add(job.attempt_id)
    if len(first) > 1:
        try:
            results = together(first)
            db.session.commit()
        except Exception:  # nothing of it is stored: each runs alone
            db.session.rollback()
            rest = batch
        else:
            for job, result in zip(first, results, strict=True):
                job.result = result
                job.done.set()
    else:
        rest = batch
    for job in rest:
        try:
            job.result = alone(job)
        except Exception as exc:
            job.error = exc
        job.done.set()


def _submit_together(conn, jobs: list[_Submit]) -> list[dict | None]:
    """PostgreSQL: read, grade and finish several attempts (distinct) in the caller's transaction, as
    ``_finish`` does one: the attempts locked first (in the order of their ids), then their items read (a new
    statement: every save committed before the locks were taken is seen). Returns each job's answer, None where
    the owner has no such attempt."""
    found = {row.n - 1: row for row in conn.execute(_SUBMIT_ATTEMPTS, {
        "attempt_ids": [job.attempt_id for job in jobs],
        "token_hashes": [job.owner.token_hash if job.owner.user_id is None else None for job in jobs],
        "user_ids": [job.owner.user_id for job in jobs]})}
    bodies: list[dict | None] = [None] * len(jobs)
    open_jobs = []
    for i, job in enumerate(jobs):
        row = found.get(i)
        if row is None:
            continue
        if row.status != "in_progress":
            bodies[i] = _state(row, job.now)
        else:
            open_jobs.append((i, job, row))
    if not open_jobs:
        return bodies
    papers: dict[int, list[tuple]] = {job.attempt_id: [] for _, job, _ in open_jobs}
    for item in conn.execute(_SUBMIT_ITEMS_OF, {"attempt_ids": list(papers)}):
        papers[item[0]].append(tuple(item)[1:])
    versions = _grading_versions(conn, [item for items in papers.values() for item in items])
    finishes = []
    awards: list[tuple[int, float, int]] = []  # (attempt, awarded, item)
    for i, job, row in open_jobs:
        graded = _grade(row, papers[job.attempt_id], versions, sqlite=False, checked=False)
        finishes.append((i, job, graded, _finish_values(job.attempt_id, graded, job.now)))
        awards.extend((job.attempt_id, awarded, item_id) for awarded, item_id in graded.awards)
    ids = [job.attempt_id for _, job, _, _ in finishes]
    columns = {name: [finish[name] for *_, finish in finishes]
               for name in ("status", "finished_at", "finished_by", "score", "max_score", "passed", "band")}
    rows = conn.execute(_finish_pg_together(), {
        "award_attempts": [a for a, _, _ in awards], "awards": [w for _, w, _ in awards],
        "award_items": [item for _, _, item in awards], "ids": ids, "statuses": columns["status"],
        "finished_ats": columns["finished_at"], "finished_bys": columns["finished_by"], "scores": columns["score"],
        "max_scores": columns["max_score"], "passeds": columns["passed"], "bands": columns["band"],
        "attempt_ids": ids}).all()
    if rows[0].won != len(ids):  # cannot happen under the locks; never finish twice: each runs alone
        raise _Lost()
    ops.attempts_finished(ids, [tuple(r)[2:] for r in rows if r.exam_id is not None])
    for i, job, graded, finish in finishes:
        bodies[i] = _body(finish["status"], finish["finished_by"], graded.result, graded.row, job.now)
    return bodies


@dataclass
class _Graded:
    """An open attempt read and graded, nothing written, with what the grade depends on besides the question
    versions (``basis``, the parameters of ``_FINISH_CHECKED``; None on PostgreSQL, or too many items to check
    by a sum)."""

    row: Any
    awards: list[tuple[float, int]]  # (awarded, item id) of the items graded automatically whose stored grade differs
    result: dict
    basis: dict | None


def _read_and_grade(conn, owner: Owner, attempt_id: int, now: datetime, *, lock: bool) -> _Graded | dict | None:
    """None: no such attempt for this owner; a dict: the answer for an attempt already finished (its state,
    finishing nothing); else the attempt graded, nothing written. ``lock``: in the transaction that will
    finish it (PostgreSQL: the attempt row is locked first; SQLite: under the write lock)."""
    by_token = owner.user_id is None
    params = {"attempt_id": attempt_id}
    params.update({"token_hash": owner.token_hash} if by_token else {"user_id": owner.user_id})
    sqlite = conn.dialect.name == "sqlite"
    if sqlite:
        rows, row = _read_paper_sqlite(conn, by_token, params)
    else:
        row = conn.execute(_SUBMIT_ATTEMPT[by_token], params).first()
    if row is None:
        return None
    if row.status != "in_progress":
        return _state(row, now)
    # Read after the lock (or checked under it): every save acknowledged before this point is graded. Items as
    # plain tuples (_ITEM_TYPES' order): a row's attribute costs a lookup by name, and a paper has dozens.
    items = (rows if sqlite
             else [tuple(r) for r in conn.execute(_SUBMIT_ITEMS, {"attempt_id": attempt_id})])
    return _grade(row, items, _grading_versions(conn, items), sqlite=sqlite, checked=sqlite and not lock)


def _grade(row, items: list[tuple], versions: dict, *, sqlite: bool, checked: bool) -> _Graded:
    """Grade an open attempt's items (``_ITEM_TYPES``' order) with their versions' grading facts; ``checked``:
    SQLite, graded outside the write lock (the basis of ``_FINISH_CHECKED`` is kept)."""
    partial = row.multiple_scoring == "partial"
    graded, awards = [], []
    for item_id, response, _seq, points, stored, version_id, version_created in items:
        version = versions[version_id, version_created]
        awarded = QUESTION_TYPES[version.type].grade(version.options, version.answer, response, points, partial)
        graded.append(SimpleNamespace(points=points, awarded=awarded))
        if awarded is not None and awarded != stored:  # stored with the answer (``_STORE_SET``): mostly equal
            awards.append((awarded, item_id))
    bands = json.loads(row.bands_stored) if sqlite and row.bands_stored is not None else row.bands
    result = ops._result(Exam(pass_mark=row.pass_mark, bands=bands), graded)  # transient: the bands' rules
    basis = None
    if checked and len(items) <= _CHECKED_ITEMS_MAX:
        basis = {"deadline": row.deadline, "multiple_scoring": row.multiple_scoring, "pass_mark": row.pass_mark,
                 "bands_stored": row.bands_stored, "n": len(items),
                 "seqs": sum(item[2] for item in items), "ids": sum(item[0] for item in items)}
    return _Graded(row, awards, result, basis)


@functools.cache
def _sqlite_paper_conversions(dialect) -> tuple[type, tuple, tuple]:
    """SQLite: the paper's row type (the attempt's columns by name), the attempt columns' conversions (each None
    or the dialect's own result processor of the column's type, as a typed read applies them), and the item
    columns that have one, as (index, conversion)."""
    names = list(_PAPER_TYPES)
    names.insert(names.index("bands") + 1, "bands_stored")  # _PAPER_SQL's order

    def process(type_):
        return type_.dialect_impl(dialect).result_processor(dialect, None) if type_ is not None else None

    # bands: decoded once from bands_stored (``_read_and_grade``); version_created: as stored
    attempt = tuple(process(_SQLITE_PAPER_TYPES.get(name)) for name in names)
    item = tuple((i, convert) for i, type_ in enumerate(_ITEM_TYPES.values())
                 if (convert := process(type_)) is not None)
    return namedtuple("_PaperRow", names), attempt, item


def _read_paper_sqlite(conn, by_token: bool, params: dict) -> tuple[list[tuple], Any]:
    """SQLite: the attempt and its items in one raw read, each attempt column converted once (a typed read
    converted the attempt's columns again on every item's row: twice the time of the read itself). Returns the
    items (``_ITEM_TYPES``' order) and the attempt's row, or ([], None)."""
    rows = conn.exec_driver_sql(_SUBMIT_PAPER[by_token], params).fetchall()
    if not rows:
        return [], None
    row_type, attempt, item = _sqlite_paper_conversions(conn.dialect)
    first = rows[0]
    row = row_type(*(value if convert is None else convert(value)
                     for value, convert in zip(first[:_PAPER_WIDTH], attempt, strict=True)))
    items = []
    for r in rows:
        if r[_PAPER_WIDTH] is None:  # the outer join's one row of an attempt without items
            continue
        values = list(r[_PAPER_WIDTH:])
        for i, convert in item:
            values[i] = convert(values[i])
        items.append(tuple(values))
    return items, row


def _finish(conn, owner: Owner, attempt_id: int, now: datetime) -> dict | None:
    """Read, grade and finish in the caller's transaction (PostgreSQL: the attempt row locked first)."""
    graded = _read_and_grade(conn, owner, attempt_id, now, lock=True)
    return _write_finish(conn, attempt_id, graded, now) if isinstance(graded, _Graded) else graded


def _submit_sqlite(owner: Owner, attempt_id: int, now: datetime) -> dict | None:
    """Grade outside the write lock; in the group commit, finish with these grades only when the attempt, its
    exam's scoring and every answer's sequence number are as graded (``_FINISH_CHECKED``), else grade again
    under the lock: any save stored since raises a sequence number."""
    _release_session()
    with deferred_reads():
        graded = _read_and_grade(db.session.connection(), owner, attempt_id, now, lock=False)
        db.session.rollback()
    if not isinstance(graded, _Graded):
        return graded  # no such attempt (None), or finished: its state

    def run(conn) -> dict | None:
        if graded.basis is not None:
            body = _write_finish(conn, attempt_id, graded, now, checked=True)
            if body is not None:
                return body
        return _finish(conn, owner, attempt_id, now)  # changed since it was graded: again, under the lock

    # run's one write is the finish (its awards follow with the group's, _run_jobs), written with the group's other
    # checked finishes when the group follows up together
    checked = None
    if graded.basis is not None:
        params = {**_finish_values(attempt_id, graded, now), **graded.basis}
        checked = _Checked(attempt_id, graded.awards, params,
                           _body(params["status"], params["finished_by"], graded.result, graded.row, now))
    return _group_commit(_Job(run, savepoint=True, one_write_together=True, finish=checked))


def _finish_values(attempt_id: int, graded: _Graded, now: datetime) -> dict:
    """The finished attempt's columns: submitted by the examinee, or expired when past the deadline."""
    past_deadline = now > graded.row.deadline
    return {"attempt_id": attempt_id, "status": "expired" if past_deadline else "submitted", "finished_at": now,
            "finished_by": "deadline" if past_deadline else "examinee", **graded.result}


def _write_finish(conn, attempt_id: int, graded: _Graded, now: datetime, *, checked: bool = False) -> dict | None:
    """Finish the attempt with its grades; ``checked`` (SQLite, graded outside the lock): only if nothing the grade
    depends on has changed since, else None and nothing written. On SQLite in a group that follows its finishes
    up together (``_run_jobs``), the finish is this call's one write, its last step but the group's note."""
    row, awards, result = graded.row, graded.awards, graded.result
    finish = _finish_values(attempt_id, graded, now)
    body = _body(finish["status"], finish["finished_by"], result, row, now)  # before the write: nothing after it
    if conn.dialect.name == "postgresql":
        # The awards and the finish in one statement: one round trip fewer than executemany + UPDATE.
        finished = conn.execute(_finish_pg(), dict(finish, item_ids=[item_id for _, item_id in awards],
                                                 awards=[awarded for awarded, _ in awards],
                                                 attempt_ids=[attempt_id])).one()
        if finished.won != 1:  # cannot happen under the lock; never finish twice: the ordinary path answers
            raise _Lost()
        ops.attempt_finished(attempt_id, [tuple(finished)[2:]] if finished.exam_id is not None else [])
        return body
    won = conn.execute(_FINISH_CHECKED if checked else _FINISH,
                       {**finish, **graded.basis} if checked else finish).rowcount
    if won != 1:  # checked: changed since the grade; else cannot happen under the lock (never finish twice)
        if checked:
            return None
        raise _Lost()
    # In the transaction that finished it, possibly in another request's thread (the group's); with the group's
    # other finishes when it follows them up together: the awards, then what follows a finish.
    group = db.session.info.get(_GROUP_FINISHED)
    if group is not None:
        group.append((attempt_id, awards))
    else:
        _award_sqlite(conn, awards)
        ops.attempt_finished(attempt_id)
    return body


@functools.cache
def _finish_together_statement(rows: int) -> str:
    return _FINISH_TOGETHER.format(rows=", ".join(["(" + ", ".join(["?"] * len(_CHECKED_COLUMNS)) + ")"] * rows),
                                   check=_CHECK.format(v="v."))


def _finish_together_sqlite(conn, finishes: list[_Checked]) -> dict[int, tuple]:
    """SQLite: the checked finishes of distinct attempts, _FINISH_TOGETHER_ROWS per statement. Returns the reports'
    lookup of each attempt finished, by id (an attempt changed since its grade, or already finished, is not)."""
    convert = _stored_form()
    won: dict[int, tuple] = {}
    for start in range(0, len(finishes), _FINISH_TOGETHER_ROWS):
        chunk = finishes[start:start + _FINISH_TOGETHER_ROWS]
        values = []
        for finish in chunk:
            row = dict(finish.params, finished_at=convert(finish.params["finished_at"]),
                       deadline=convert(finish.params["deadline"]))
            values.extend(row[name] for name in _CHECKED_COLUMNS)
        for attempt_id, *lookup in conn.exec_driver_sql(_finish_together_statement(len(chunk)), tuple(values)):
            won[attempt_id] = tuple(lookup)
    return won


@functools.cache
def _award_statement(rows: int) -> str:
    return _AWARD_VALUES.format(rows=", ".join(["(?, ?)"] * rows))


def _award_sqlite(conn, awards: list[tuple[float, int]]) -> None:
    """SQLite: store the (awarded, item id) pairs, one statement per _AWARD_ROWS items."""
    if not awards:
        return
    if not _UPDATE_FROM:
        conn.exec_driver_sql(_AWARD_ONE_BY_ONE, awards)
        return
    for start in range(0, len(awards), _AWARD_ROWS):
        chunk = awards[start:start + _AWARD_ROWS]
        conn.exec_driver_sql(_award_statement(len(chunk)),
                             tuple(value for awarded, item_id in chunk for value in (item_id, awarded)))


class _Lost(Exception):
    """Another request finished the attempt first (cannot happen under the lock): undo, the ordinary path answers."""


def owner_user(owner: Owner) -> User | None:
    """The active user of a live token (the ordinary path, when the hot statement found nothing)."""
    return db.session.scalars(
        select(User).join(ApiToken, ApiToken.user_id == User.id)
        .where(ApiToken.token_hash == owner.token_hash, ApiToken.revoked_at.is_(None), User.active.is_(True))
    ).one_or_none()
