"""Jinja helpers: Chinese-style dates and numbers, role-aware navigation."""

from __future__ import annotations

from datetime import date, datetime

from flask import current_app, has_request_context, request
from flask_babel import format_date, format_datetime, format_decimal, format_percent, get_locale
from flask_wtf.csrf import generate_csrf

from exam.core.timeutil import to_local


def _datetime(value: datetime | None, fmt: str = "medium") -> str:
    if value is None:
        return ""
    if value.tzinfo is None:
        value = to_local(value)
    if fmt == "short":
        return format_datetime(value, "yyyy-MM-dd HH:mm")
    return format_datetime(value, fmt)


def _date(value: date | None, fmt: str = "long") -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        value = to_local(value).date()
    return format_date(value, fmt)


def _number(value, digits: int = 2) -> str:
    if value is None:
        return ""
    return format_decimal(value, format="#,##0." + "#" * digits if digits else "#,##0")


def _percent(value) -> str:
    if value is None:
        return "—"
    return format_percent(value, "#,##0.#%")


def has_endpoint(endpoint: str) -> bool:
    return endpoint in current_app.view_functions


def register(app) -> None:
    app.jinja_env.filters.update(dt=_datetime, d=_date, num=_number, pct=_percent)
    app.jinja_env.globals.update(has_endpoint=has_endpoint, csrf_token=generate_csrf)

    @app.context_processor
    def _inject():
        # templates are rendered outside requests too (printed documents from the CLI): no request, no path
        path = request.full_path.rstrip("?") if has_request_context() else ""
        return {"current_locale": str(get_locale() or "zh_CN"), "request_path": path}
