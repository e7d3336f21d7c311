"""Tamper-evident audit log: each row carries the hash of the one before it.

Rows are only ever inserted: the ORM refuses to update or delete an ``AuditLog`` (see ``AuditImmutable``).
``verify_chain`` recomputes every hash and names the first broken row.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from flask import has_request_context, request
from flask_login import current_user
from sqlalchemy import Delete, ForeignKey, Integer, String, Text, Update, event, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from exam.core.db import lock_for_chain
from exam.core.timeutil import utcnow
from exam.extensions import db

GENESIS = "0" * 64
_CHAIN_LOCK_KEY = 7_204_001


class AuditLog(db.Model):
    __tablename__ = "audit_log"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"), index=True)
    actor_username: Mapped[str | None] = mapped_column(String(64))
    ip: Mapped[str | None] = mapped_column(String(64))
    action: Mapped[str] = mapped_column(String(64), index=True)
    target_type: Mapped[str | None] = mapped_column(String(64))
    target_id: Mapped[str | None] = mapped_column(String(64))
    before: Mapped[str | None] = mapped_column(Text)
    after: Mapped[str | None] = mapped_column(Text)
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64), unique=True)

    def payload(self) -> str:
        return json.dumps(
            [
                self.id,
                self.at.isoformat(timespec="microseconds"),
                self.actor_id,
                self.actor_username,
                self.ip,
                self.action,
                self.target_type,
                self.target_id,
                self.before,
                self.after,
                self.prev_hash,
            ],
            ensure_ascii=False,
            separators=(",", ":"),
        )

    def compute_hash(self) -> str:
        return hashlib.sha256(self.payload().encode("utf-8")).hexdigest()


def _dump(value: Any) -> str | None:
    if value is None:
        return None
    return json.dumps(value, ensure_ascii=False, sort_keys=True, default=str)


def record(
    action: str,
    target: Any = None,
    *,
    before: Any = None,
    after: Any = None,
    actor=None,
    actor_username: str | None = None,
) -> AuditLog:
    """Append one audit row in the current transaction (flushes; the caller commits)."""
    session = db.session
    lock_for_chain(session, _CHAIN_LOCK_KEY)
    if actor is None and has_request_context() and current_user and current_user.is_authenticated:
        actor = current_user
    last = session.execute(select(AuditLog.id, AuditLog.hash).order_by(AuditLog.id.desc()).limit(1)).first()
    row = AuditLog(
        id=(last.id + 1) if last else 1,
        at=utcnow(),
        actor_id=getattr(actor, "id", None),
        actor_username=actor_username or getattr(actor, "username", None),
        ip=request.remote_addr if has_request_context() else "cli",
        action=action,
        target_type=type(target).__name__ if target is not None else None,
        target_id=str(getattr(target, "id", "")) if target is not None else None,
        before=_dump(before),
        after=_dump(after),
        prev_hash=last.hash if last else GENESIS,
    )
    row.hash = row.compute_hash()
    session.add(row)
    session.flush()
    return row


@dataclass
class ChainCheck:
    checked: int  # rows before the first broken one, all intact
    broken: AuditLog | None = None
    reason: str = ""


def check_chain(batch: int = 5000) -> ChainCheck:
    """Walk the chain in id order and name the first broken row, with the reason.

    - a row whose stored hash does not match its content was changed in place;
    - a row whose link does not match the row before it, after a gap in the ids, follows deleted rows;
    - a link mismatch between consecutive ids means the row before was changed and re-hashed: that one is named.
    """
    prev_row: AuditLog | None = None
    prev_hash = GENESIS
    checked = 0
    last_id = 0
    while True:
        rows = db.session.scalars(
            select(AuditLog).where(AuditLog.id > last_id).order_by(AuditLog.id).limit(batch)
        ).all()
        if not rows:
            return ChainCheck(checked)
        for row in rows:
            if row.compute_hash() != row.hash:
                return ChainCheck(checked, row, "its content does not match its hash (changed in place)")
            if row.prev_hash != prev_hash:
                if row.id != last_id + 1:
                    missing = f"{last_id + 1}" if row.id == last_id + 2 else f"{last_id + 1}–{row.id - 1}"
                    return ChainCheck(checked, row, f"rows before it are missing (id {missing} deleted)")
                if prev_row is not None:
                    return ChainCheck(checked - 1, prev_row,
                                      f"row {row.id} no longer links to it: one of the two was changed and re-hashed")
                return ChainCheck(checked, row, "the first row does not start the chain")
            prev_hash, prev_row = row.hash, row
            checked += 1
            last_id = row.id
        db.session.expunge_all()


def verify_chain(batch: int = 5000) -> tuple[int, AuditLog | None]:
    """Return (rows checked, first broken row or None)."""
    result = check_chain(batch)
    return result.checked, result.broken


# --- append-only ---------------------------------------------------------------------------------------

class AuditImmutable(RuntimeError):
    """The application tried to change or delete an audit row."""


@event.listens_for(AuditLog, "before_update")
def _refuse_update(_mapper, _connection, target):
    raise AuditImmutable(f"audit row {target.id} cannot be changed")


@event.listens_for(AuditLog, "before_delete")
def _refuse_delete(_mapper, _connection, target):
    raise AuditImmutable(f"audit row {target.id} cannot be deleted")


@event.listens_for(Session, "before_flush")
def _refuse_changes_in_flush(session, _flush_context, _instances):
    for obj in session.deleted:
        if isinstance(obj, AuditLog):
            raise AuditImmutable(f"audit row {obj.id} cannot be deleted")
    for obj in session.dirty:
        if isinstance(obj, AuditLog) and session.is_modified(obj, include_collections=False):
            raise AuditImmutable(f"audit row {obj.id} cannot be changed")


@event.listens_for(Session, "do_orm_execute")
def _refuse_bulk_changes(state):
    statement = state.statement
    if isinstance(statement, (Update, Delete)) and getattr(statement.table, "name", None) == AuditLog.__tablename__:
        raise AuditImmutable("audit rows cannot be changed or deleted")
