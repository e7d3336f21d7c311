"""Domain settings: every rule number (pass mark, hours, validity, ...) is a setting, not a constant.

A setting's default comes from the app config (``exam/config.py`` or ``instance/config.py``); an administrator
may override it in the database from the settings page. ``setting(key)`` returns the value in force.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from flask import current_app, g
from flask_babel import lazy_gettext as _l
from sqlalchemy import JSON, String, select
from sqlalchemy.orm import Mapped, mapped_column

from exam.core.timeutil import utcnow
from exam.extensions import db


class Setting(db.Model):
    __tablename__ = "settings"

    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[Any] = mapped_column(JSON)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


@dataclass(frozen=True)
class SettingSpec:
    key: str
    label: Any
    kind: type  # int, float, str
    minimum: float | None = None
    maximum: float | None = None


SPECS: dict[str, SettingSpec] = {}


def register(key: str, label, kind: type, minimum=None, maximum=None) -> None:
    SPECS[key] = SettingSpec(key, label, kind, minimum, maximum)


def setting(key: str):
    cache = g.setdefault("_settings_cache", {}) if _has_g() else {}
    if key in cache:
        return cache[key]
    row = db.session.get(Setting, key)
    value = row.value if row is not None else current_app.config[key]
    cache[key] = value
    return value


def _has_g() -> bool:
    from flask import has_app_context

    return has_app_context()


def set_setting(key: str, value) -> None:
    spec = SPECS[key]
    value = spec.kind(value)
    if (spec.minimum is not None and value < spec.minimum) or (spec.maximum is not None and value > spec.maximum):
        raise ValueError(key)
    from exam.core import audit

    row = db.session.get(Setting, key)
    before = row.value if row is not None else current_app.config[key]
    if row is None:
        row = Setting(key=key, value=value)
        db.session.add(row)
    else:
        row.value = value
    db.session.flush()
    g.pop("_settings_cache", None)
    audit.record("setting.change", None, before={key: before}, after={key: value})


def all_settings() -> list[tuple[SettingSpec, Any]]:
    overrides = {s.key: s.value for s in db.session.scalars(select(Setting))}
    return [(spec, overrides.get(key, current_app.config[key])) for key, spec in SPECS.items()]


# Certificate rules (DESIGN.md §4 Certificates; sourced or assumed defaults in §6).
register("STUDY_HOURS_PER_EXAM", _l("Training hours credited for each exam taken"), float, 0, 100)
register("CERT_VALIDITY_YEARS", _l("Certificate validity (years)"), int, 1, 20)
register("CERT_RESULT_FRESH_MONTHS", _l("Exam results count for (months)"), int, 1, 60)
register("STUDY_REQUIRED_HOURS", _l("Training hours required a year (and in the 12 months before issue)"), float,
         0, 1000)
register("CERT_RENEWAL_WINDOW_MONTHS", _l("Renewal opens before expiry (months)"), int, 0, 24)
register("CERT_REVOCATION_COOLOFF_YEARS", _l("No new certificate after revocation for (years)"), int, 0, 20)
register("CERT_NUMBER_PATTERN", _l("Certificate number pattern"), str)
register("CERT_ENFORCEMENT_BODY", _l("Enforcement body printed on certificates"), str)
register("CERT_EXPIRING_DAYS", _l("List certificates expiring within (days)"), int, 1, 365)
