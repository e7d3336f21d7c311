"""Direct database tampering for tests of the audit chain: what an attacker with database access could do.

On PostgreSQL the append-only trigger (migration 0007) is switched off for the one transaction with
``session_replication_role = replica``, as a superuser could.
"""

from __future__ import annotations

from sqlalchemy import text

from exam.extensions import db


def tamper(sql: str, params: dict | None = None) -> None:
    """Run ``sql`` against audit_log bypassing the append-only guards, and commit."""
    if db.session.get_bind().dialect.name == "postgresql":
        db.session.execute(text("SET LOCAL session_replication_role = replica"))
    db.session.execute(text(sql), params or {})
    db.session.commit()
