"""Hostile values shared by the hostile-input tests of every area (stems, bulletin bodies, names, comments)."""

from __future__ import annotations

import html as html_lib

from markupsafe import escape

SCRIPT_PAYLOADS = [
    "<script>alert('x')</script>",
    '"><img src=x onerror=alert(1)>',
    "<svg onload=alert(1)>",
    "javascript:alert(1)",
]


def assert_shown_escaped(page: str, payload: str) -> None:
    """The payload appears as text (escaped), never as markup."""
    if "<" in payload:
        assert payload not in page, f"raw markup on the page: {payload}"
    escaped = html_lib.escape(payload, quote=True)
    alternatives = {str(escape(payload)), escaped, html_lib.escape(payload, quote=False)}
    assert any(a in page for a in alternatives), f"payload not shown as text: {payload}"
