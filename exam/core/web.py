"""Small helpers shared by views: safe redirects, pagination arguments."""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import request, url_for


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
