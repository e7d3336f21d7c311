"""Tamper-evident audit log: each row carries the hash of the one before it.

Rows are only ever inserted. ``verify_chain`` recomputes every hash and names the first broken row.
"""

from __future__ import annotations

import hashlib
import json
from datetime import datetime
from typing import Any

from flask import has_request_context, request
from flask_login import current_user
from sqlalchemy import ForeignKey, Integer, String, Text, select
from sqlalchemy.orm import Mapped, mapped_column

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


def verify_chain(batch: int = 5000) -> tuple[int, AuditLog | None]:
    """Return (rows checked, first broken row or None)."""
    prev = GENESIS
    checked = 0
    last_id = 0
    while True:
        rows = db.session.scalars(
            select(AuditLog).where(AuditLog.id > last_id).order_by(AuditLog.id).limit(batch)
        ).all()
        if not rows:
            return checked, None
        for row in rows:
            if row.prev_hash != prev or row.compute_hash() != row.hash:
                return checked, row
            prev = row.hash
            checked += 1
            last_id = row.id
        db.session.expunge_all()
