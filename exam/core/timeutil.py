"""Time: stored as naive UTC, shown in the configured zone (Asia/Shanghai by default)."""

from __future__ import annotations

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

from flask import current_app


def utcnow() -> datetime:
    """Naive UTC, the form every timestamp is stored in (same on SQLite and PostgreSQL)."""
    return datetime.now(UTC).replace(tzinfo=None)


def local_zone() -> ZoneInfo:
    return ZoneInfo(current_app.config["BABEL_DEFAULT_TIMEZONE"])


def to_local(value: datetime) -> datetime:
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(local_zone())


def to_utc_naive(value: datetime) -> datetime:
    """An aware datetime, or a naive one meant as local time, to naive UTC."""
    if value.tzinfo is None:
        value = value.replace(tzinfo=local_zone())
    return value.astimezone(UTC).replace(tzinfo=None)


def local_today() -> date:
    return to_local(utcnow()).date()
