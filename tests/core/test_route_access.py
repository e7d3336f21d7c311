"""Walk every registered route as anonymous, examinee, legal, hr and admin.

Each view declares who may use it (``view.access``); this test checks that the server answers
accordingly: anonymous users are sent to sign in (401 for the API), users without a listed role get
403, and users with one are let through.
"""

from __future__ import annotations

import pytest
from werkzeug.routing import IntegerConverter, UnicodeConverter

from exam.core.access import EXAMINEE, PUBLIC

PERSONAS = ["anonymous", "examinee", "legal", "hr", "admin"]
SKIP_METHODS = {"HEAD", "OPTIONS"}
# Flask's own static views take a file name; they are public and serve files only.
STATIC_ENDPOINTS = {"static", "bootstrap.static"}


def _sample_url(rule) -> str:
    values = {}
    for name, converter in rule._converters.items():
        if isinstance(converter, IntegerConverter):
            values[name] = 987654
        elif isinstance(converter, UnicodeConverter):
            values[name] = "no-such-thing"
        else:
            values[name] = "no-such-thing"
    return rule.build(values, append_unknown=False)[1]


def _routes(app):
    for rule in app.url_map.iter_rules():
        if rule.endpoint in STATIC_ENDPOINTS:
            continue
        for method in sorted(rule.methods - SKIP_METHODS):
            yield rule, method


def test_every_route_declares_who_may_use_it(app):
    undeclared = [
        rule.rule for rule in app.url_map.iter_rules()
        if not getattr(app.view_functions[rule.endpoint], "access", None)
    ]
    assert not undeclared, f"routes without an access declaration: {undeclared}"


@pytest.mark.parametrize("persona", PERSONAS)
def test_every_route_answers_each_role_as_declared(app, client, make_user, persona):
    user = None
    if persona != "anonymous":
        user = make_user(f"walk-{persona}", roles=[] if persona == EXAMINEE else [persona])
    failures = []
    for rule, method in _routes(app):
        access = app.view_functions[rule.endpoint].access
        url = _sample_url(rule)
        if user is not None:
            client.login_as(user)  # some routes (logout) end the session; start each request signed in
        token = client.csrf_token() if method != "GET" else ""
        response = client.open(url, method=method, headers={"X-CSRFToken": token}, json={} if
                               url.startswith("/api/") and method != "GET" else None)
        status = response.status_code
        is_api = url.startswith("/api/")
        allowed = PUBLIC in access or (user is not None and (EXAMINEE in access or persona in access))
        if allowed:
            ok = status not in (401, 403) and status < 500
        elif user is None:
            ok = status == 401 if is_api else (status == 302 and "/login" in response.headers["Location"])
        else:
            ok = status == 403
        if not ok:
            failures.append(f"{method} {url} as {persona}: {status} (access {sorted(access)})")
    assert not failures, "\n".join(failures)
