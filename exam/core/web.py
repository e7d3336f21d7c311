"""Small helpers shared by views: safe redirects, pagination arguments."""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import request, url_for
from werkzeug.routing import IntegerConverter

# Database ids are 32-bit integers on PostgreSQL; a larger number in a URL is simply no such page (404),
# never a database overflow error (500).
MAX_URL_INT = 2**31 - 1


class BoundedIntegerConverter(IntegerConverter):
    """``<int:...>`` that matches only 0 .. 2**31-1 (a route with its own ``max`` keeps it)."""

    def __init__(self, map, fixed_digits=0, min=None, max=None, signed=False):
        super().__init__(map, fixed_digits, min, MAX_URL_INT if max is None else max, signed)


def is_safe_next(target: str | None) -> bool:
    """Only paths on this site: no scheme, no host, no protocol-relative or backslash tricks."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return False
    parts = urlsplit(target)
    return not parts.scheme and not parts.netloc and not any(ord(c) < 32 for c in target)


def next_or(default_endpoint: str, **values) -> str:
    target = request.values.get("next")
    return target if is_safe_next(target) else url_for(default_endpoint, **values)


def page_arg() -> int:
    try:
        return max(1, min(int(request.args.get("page", 1)), 100_000))
    except ValueError:
        return 1


def commit_or_flash(action, success: str | None = None) -> bool:
    """Run one operation for a form view: commit and flash ``success``, or roll back and flash the rule it broke.

    Returns True when the change was committed (the view then redirects), False when it was refused.
    """
    from flask import flash

    from exam.core.errors import DomainError
    from exam.extensions import db

    try:
        action()
    except DomainError as exc:
        db.session.rollback()
        flash(exc.message, "danger")
        return False
    db.session.commit()
    if success:
        flash(success, "success")
    return True
