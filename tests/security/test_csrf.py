"""CSRF: every write route, form or JSON, refuses a browser-session request without the token."""

from __future__ import annotations

from werkzeug.routing import IntegerConverter

WRITE_METHODS = {"POST", "PUT", "PATCH", "DELETE"}


def _url(rule) -> str:
    values = {n: 987654 if isinstance(c, IntegerConverter) else "no-such-thing" for n, c in rule._converters.items()}
    return rule.build(values, append_unknown=False)[1]


def test_every_write_route_refuses_a_session_request_without_csrf_token(app, client, make_user):
    user = make_user("csrf-all", roles=["admin", "legal", "hr"])
    writes = [(rule, method) for rule in app.url_map.iter_rules() for method in rule.methods & WRITE_METHODS]
    assert writes
    failures = []
    for rule, method in writes:
        client.login_as(user)
        url = _url(rule)
        if url.startswith("/api/"):
            response = client.open(url, method=method, json={})
            ok = response.status_code == 400 and response.json["error"]["code"] == "csrf_failed"
        else:
            response = client.open(url, method=method, data={"name": "x"})
            ok = response.status_code == 400 and "表单已过期" in response.get_data(as_text=True)
        if not ok:
            failures.append(f"{method} {url}: {response.status_code}")
    assert not failures, "writes accepted without a CSRF token:\n" + "\n".join(failures)
