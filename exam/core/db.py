"""Database plumbing: SQLite pragmas, lock-up-front writes, table cleanup helpers."""

from __future__ import annotations

from contextlib import contextmanager

from flask import g, has_request_context, request
from sqlalchemy import event
from sqlalchemy.engine import Engine

WRITE_METHODS = {"POST", "PUT", "PATCH", "DELETE"}


def configure_engine(engine: Engine, busy_timeout_ms: int) -> None:
    """SQLite: WAL, busy timeout, full durability, foreign keys, and BEGIN IMMEDIATE for writes.

    A request that may write takes the write lock when its transaction begins, so two writers never
    deadlock on a lock upgrade (SQLITE_BUSY mid-transaction); reads stay deferred so they never wait.
    """
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
        connection.exec_driver_sql("BEGIN IMMEDIATE" if _may_write() else "BEGIN")


def _may_write() -> bool:
    # Outside a request (CLI, cron, tests calling operations) assume a write.
    if not has_request_context():
        return True
    if g.get("db_deferred"):
        return False
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
