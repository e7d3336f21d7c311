"""The authorisation matrix (exam/core/access_matrix.py) is complete, matches the code, and holds at runtime."""

from __future__ import annotations

import pytest
from flask import Blueprint, abort
from flask_login import current_user
from werkzeug.routing import IntegerConverter

from exam.core.access import EXAMINEE, login_required
from exam.core.access_matrix import ANONYMOUS, MATRIX, PERSONAS, SIGNED_IN, Row, personas_for_access
from tests.security.owned import OWNED_FIXTURES, load_owned_fixtures, owned_object

SKIP_METHODS = {"HEAD", "OPTIONS"}
STATIC_ENDPOINTS = {"static", "bootstrap.static"}
load_owned_fixtures()


def _registered(app) -> dict[tuple[str, str], object]:
    routes = {}
    for rule in app.url_map.iter_rules():
        for method in rule.methods - SKIP_METHODS:
            routes[(rule.endpoint, method)] = rule
    return routes


def test_every_route_and_method_has_a_row_in_the_matrix(app):
    missing = sorted(set(_registered(app)) - set(MATRIX))
    assert not missing, "routes missing from exam/core/access_matrix.py: " + ", ".join(f"{m} {e}" for e, m in missing)


def test_every_matrix_row_names_a_registered_route(app):
    stale = sorted(set(MATRIX) - set(_registered(app)))
    assert not stale, f"matrix rows for routes that do not exist: {stale}"


def test_the_matrix_agrees_with_each_views_declared_access(app):
    disagreements = []
    for (endpoint, method), entry in MATRIX.items():
        view = app.view_functions.get(endpoint)
        if view is None:
            continue
        declared = personas_for_access(getattr(view, "access", frozenset()))
        if declared != entry.allowed:
            disagreements.append(f"{method} {endpoint}: matrix {sorted(entry.allowed)}, view {sorted(declared)}")
    assert not disagreements, "\n".join(disagreements)


def test_owned_rows_are_for_signed_in_users_and_each_has_a_fixture():
    problems = []
    for key, entry in MATRIX.items():
        if entry.owned and EXAMINEE not in entry.allowed:
            problems.append(f"{key}: owned objects are for their owner, so examinee must be allowed")
        if entry.owned and key not in OWNED_FIXTURES:
            problems.append(f"{key}: owned row without a fixture (tests/<area>/owned_objects.py)")
    for key in OWNED_FIXTURES:
        if key in MATRIX and not MATRIX[key].owned:
            problems.append(f"{key}: has an owned-object fixture but the matrix row is not owned=True")
    assert not problems, "\n".join(problems)


def _sample_url(rule) -> str:
    values = {}
    for name, converter in rule._converters.items():
        values[name] = 987654 if isinstance(converter, IntegerConverter) else "no-such-thing"
    return rule.build(values, append_unknown=False)[1]


def _request(client, method: str, url: str, body=None):
    token = client.csrf_token() if method != "GET" else ""
    headers = {"X-CSRFToken": token} if token else {}
    if url.startswith("/api/"):
        json_body = (body if body is not None else {}) if method != "GET" else None
        return client.open(url, method=method, headers=headers, json=json_body)
    data = None
    if method != "GET":
        data = dict(body or {})
        data.setdefault("csrf_token", token)
    return client.open(url, method=method, headers=headers, data=data)


def _answers_as_expected(status: int, location: str, is_api: bool, persona: str, allowed: bool) -> bool:
    if allowed:
        return status not in (401, 403) and status < 500
    if persona == ANONYMOUS:
        return status == 401 if is_api else (status == 302 and "/login" in location)
    return status == 403


@pytest.mark.parametrize("persona", PERSONAS)
def test_every_route_answers_each_persona_as_the_matrix_says(app, client, make_user, persona):
    user = None
    if persona != ANONYMOUS:
        user = make_user(f"matrix-{persona}", roles=[] if persona == EXAMINEE else [persona])
    failures = []
    for (endpoint, method), rule in sorted(_registered(app).items(), key=lambda kv: kv[0]):
        if endpoint in STATIC_ENDPOINTS:
            continue
        entry: Row = MATRIX[(endpoint, method)]
        if user is not None:
            client.login_as(user)  # logout ends the session; every request starts signed in
        url = _sample_url(rule)
        response = _request(client, method, url)
        if not _answers_as_expected(response.status_code, response.headers.get("Location", ""),
                                    url.startswith("/api/"), persona, persona in entry.allowed):
            failures.append(f"{method} {url} as {persona}: {response.status_code} (matrix {sorted(entry.allowed)})")
    assert not failures, "\n".join(failures)


def check_owned(app, client, make_user, key, fixture) -> list[str]:
    """Owner gets through; another examinee gets 404. Returns the failures."""
    endpoint, method = key
    owner = make_user(f"owner-{abs(hash(key)) % 10**6}")
    other = make_user(f"other-{abs(hash(key)) % 10**6}")
    made = fixture(app, owner)
    url, body = made if isinstance(made, tuple) else (made, None)
    failures = []
    client.login_as(other)
    as_other = _request(client, method, url, body)
    if as_other.status_code != 404:
        failures.append(f"{method} {url} ({endpoint}) as another examinee: {as_other.status_code}, expected 404")
    client.login_as(owner)
    as_owner = _request(client, method, url, body)
    if as_owner.status_code in (401, 403, 404) or as_owner.status_code >= 500:
        failures.append(f"{method} {url} ({endpoint}) as its owner: {as_owner.status_code}")
    return failures


@pytest.mark.parametrize("key", sorted(k for k, r in MATRIX.items() if r.owned) or [None])
def test_owned_objects_answer_404_to_another_examinee(app, client, make_user, key):
    if key is None:
        # No owned routes on this branch yet: the check itself is exercised by the framework tests below.
        assert not any(r.owned for r in MATRIX.values())
        return
    assert not check_owned(app, client, make_user, key, OWNED_FIXTURES[key])


# --- the owned-object check itself, on a throwaway blueprint ------------------------------------------------

NOTES: dict[int, int] = {}  # note id -> owner id


def _demo_blueprint(leaky: str | None) -> Blueprint:
    bp = Blueprint(f"demo_owned_{leaky or 'ok'}", __name__)

    @bp.route(f"/demo-{leaky or 'ok'}/notes/<int:note_id>")
    @login_required
    def note(note_id: int):
        owner = NOTES.get(note_id)
        if owner is None or owner != current_user.id:
            if leaky == "leak":
                return "someone else's note"
            abort(403 if leaky == "forbid" else 404)
        return "my note"

    return bp


def _demo_fixture(prefix: str):
    def make(app, owner):
        NOTES[len(NOTES) + 1] = owner.id
        return f"/demo-{prefix}/notes/{len(NOTES)}"

    return make


@pytest.mark.parametrize(("variant", "expected_failures"), [(None, 0), ("leak", 1), ("forbid", 1)])
def test_owned_check_flags_views_that_leak_or_reveal_others_objects(app, make_user, variant, expected_failures):
    app.register_blueprint(_demo_blueprint(variant))
    client = app.test_client()
    failures = check_owned(app, client, make_user, (f"demo_owned_{variant or 'ok'}.note", "GET"),
                           _demo_fixture(variant or "ok"))
    assert len(failures) == expected_failures, failures


def test_owned_fixtures_register_through_the_hook():
    before = dict(OWNED_FIXTURES)
    try:
        @owned_object("demo.thing", "get")
        def thing(app, owner):
            return "/x"

        assert OWNED_FIXTURES[("demo.thing", "GET")] is thing
        with pytest.raises(ValueError):
            owned_object("demo.thing", "GET")(thing)
    finally:
        OWNED_FIXTURES.clear()
        OWNED_FIXTURES.update(before)


def test_signed_in_means_every_role():
    assert frozenset({EXAMINEE, "legal", "hr", "admin"}) == SIGNED_IN
