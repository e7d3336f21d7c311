"""Database plumbing: SQLite pragmas, lock-up-front writes, the group writer's lock and sync, table helpers."""

from __future__ import annotations

import fcntl
import json
import os
import threading
from contextlib import contextmanager

from flask import g, has_app_context, has_request_context, request
from sqlalchemy import event
from sqlalchemy.engine import Engine

WRITE_METHODS = {"POST", "PUT", "PATCH", "DELETE"}


def json_serialiser(dialect):
    """The function that makes a value's JSON text as the dialect's JSON type writes it (the engine's
    ``json_serializer``, else ``json.dumps``): for JSON sent as text, in bulk or in arrays."""
    return getattr(dialect, "_json_serializer", None) or json.dumps


def configure_engine(engine: Engine, busy_timeout_ms: int) -> None:
    """SQLite: WAL, busy timeout, full durability, foreign keys, and BEGIN IMMEDIATE for writes. psycopg: long
    statements' placeholders converted once (``_cache_long_statements``).

    A request that may write takes the write lock when its transaction begins, so two writers never
    deadlock on a lock upgrade (SQLITE_BUSY mid-transaction); reads stay deferred so they never wait.
    """
    if engine.dialect.driver == "psycopg":
        _cache_long_statements()
    if engine.dialect.name != "sqlite":
        return

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection, _record):
        dbapi_connection.isolation_level = None  # we emit BEGIN ourselves
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute(f"PRAGMA busy_timeout={int(busy_timeout_ms)}")
        cursor.execute("PRAGMA synchronous=FULL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection):
        # FULL (the commit waits for the WAL's fsync) except in a group commit, which syncs the WAL itself
        # after the commit, outside the write lock (see ``sqlite_group_writer``); a read begun by
        # ``deferred_reads`` commits nothing, so it leaves the setting as it is.
        may_write = _may_write()
        if not (has_app_context() and g.get("db_deferred")):
            info = connection.connection.info
            wanted = "NORMAL" if has_app_context() and g.get("db_sync_later") else "FULL"
            if info.get("synchronous", "FULL") != wanted:
                connection.exec_driver_sql(f"PRAGMA synchronous={wanted}")
                info["synchronous"] = wanted
        connection.exec_driver_sql("BEGIN IMMEDIATE" if may_write else "BEGIN")


# psycopg turns a statement's %(name)s placeholders into $n by parsing the text, and keeps the result only for
# statements up to 4 KB. The reports' statements run by every first submit (exam.reports.item_stats: 6.5 KB when
# the upsert of a person's first result also added their item sums) were parsed again on each run.
STATEMENT_CACHE_LENGTH = 16_384


def _cache_long_statements() -> None:
    from psycopg import _queries  # the limit is a module constant (no public setting)

    if getattr(_queries, "MAX_CACHED_STATEMENT_LENGTH", STATEMENT_CACHE_LENGTH) < STATEMENT_CACHE_LENGTH:
        _queries.MAX_CACHED_STATEMENT_LENGTH = STATEMENT_CACHE_LENGTH


def _may_write() -> bool:
    if has_app_context() and g.get("db_deferred"):
        return False
    # Outside a request (CLI, cron, tests calling operations, the exam day's fast path) assume a write.
    if not has_request_context():
        return True
    return request.method in WRITE_METHODS or bool(g.get("db_write"))


@contextmanager
def deferred_reads():
    """Transactions begun inside begin as a plain (deferred) BEGIN even in a write request: for a write request
    that reads first and takes the write lock only for its writes (the exam day's autosave, exam.exams.hot).
    End the read inside the block: the snapshot it holds is not the write's."""
    g.db_deferred = True
    try:
        yield
    finally:
        g.db_deferred = False


def _on_disk(database: str | None) -> bool:
    return bool(database) and database != ":memory:" and not database.startswith("file:")


_lock_files: dict[tuple[int, str], int] = {}
_lock_files_guard = threading.Lock()


def _lock_file(database: str) -> int:
    """This process's descriptor of the lock file beside the database (opened after a fork: a descriptor
    inherited from the parent would share its lock)."""
    key = (os.getpid(), database)
    with _lock_files_guard:
        if key not in _lock_files:
            _lock_files[key] = os.open(database + ".writer-lock", os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
        return _lock_files[key]


@contextmanager
def sqlite_group_writer(database: str):
    """SQLite, the group commit of the exam day's writes (``exam.exams.hot``): inside, the transactions begun
    commit without waiting for the disk (``synchronous=NORMAL``), and the processes of the server take turns on
    a lock file (``flock``) before they take SQLite's write lock.

    - The lock file: SQLite's own busy handler waits for a locked database by sleeping 1, 2, 5, 10 ... ms and
      trying again, so a worker process often slept while the database was free; the kernel wakes a process
      waiting on the lock file as soon as the other lets go.
    - The sync: the caller calls ``sync_wal(database)`` after the commit and after leaving this block, before
      anyone is told the write is stored. The WAL is append-only and a commit is durable once its frames are on
      disk, so syncing the file after the commit keeps what ``synchronous=FULL`` promises (an acknowledged write
      survives a power cut) while the next writer, in this process or the other, already holds the write lock.
      A checkpoint syncs the WAL before it copies it and the database file after, so a commit checkpointed
      before the sync is on disk too.

    Callers must not take a second write connection inside the block (a thread would wait for itself). An
    in-memory database has no file to lock or sync: the block only marks the transaction."""
    if not _on_disk(database):
        yield
        return
    fd = _lock_file(database)
    fcntl.flock(fd, fcntl.LOCK_EX)
    try:
        g.db_sync_later = True
        yield
    finally:
        g.db_sync_later = False
        fcntl.flock(fd, fcntl.LOCK_UN)


def sync_wal(database: str) -> None:
    """Make the commits of a group writer durable: fsync the write-ahead log (and the database file when the
    log has been checkpointed and removed meanwhile)."""
    if not _on_disk(database):
        return
    for path in (database + "-wal", database):
        try:
            fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
        except FileNotFoundError:
            continue
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
        return


def expect_write() -> None:
    """Call before the first query of a GET that may write (e.g. finishing an expired attempt on read).

    On SQLite its transaction then begins IMMEDIATE: a deferred read transaction that later writes can fail
    with SQLITE_BUSY_SNAPSHOT when another writer committed in between, and no busy timeout helps then.
    If a read transaction is already open, it is ended first (it has written nothing).
    """
    from exam.extensions import db

    g.db_write = True
    session = db.session()
    if session.in_transaction() and not (session.new or session.dirty or session.deleted):
        session.rollback()


def lock_for_chain(session, key: int) -> None:
    """Serialise writers of a chained sequence (e.g. the audit log) within the transaction.

    On SQLite the write transaction already holds the database lock (BEGIN IMMEDIATE).
    """
    bind = session.get_bind()
    if bind.dialect.name == "postgresql":
        from sqlalchemy import text

        session.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": key})
