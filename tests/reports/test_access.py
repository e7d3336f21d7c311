"""Every reports route answers each persona as the access matrix says (legal and HR read; others do not)."""

from __future__ import annotations

import pytest

from exam.core.access import EXAMINEE
from exam.core.access_matrix import ANONYMOUS, MATRIX, PERSONAS
from tests.security.test_access_matrix import _answers_as_expected, _registered, _request, _sample_url


def test_reports_rows_allow_exactly_legal_and_hr(app):
    rows = {key: row for key, row in MATRIX.items() if key[0].startswith(("reports.", "api_reports."))}
    assert {key for key in _registered(app) if key[0].startswith(("reports.", "api_reports."))} == set(rows)
    assert all(row.allowed == {"legal", "hr"} for row in rows.values())


@pytest.mark.parametrize("persona", PERSONAS)
def test_reports_routes_answer_each_persona_as_the_matrix_says(app, client, make_user, persona):
    user = None
    if persona != ANONYMOUS:
        user = make_user(f"rep-{persona}", roles=[] if persona == EXAMINEE else [persona])
    failures = []
    for (endpoint, method), rule in sorted(_registered(app).items(), key=lambda kv: kv[0]):
        if not endpoint.startswith(("reports.", "api_reports.")):
            continue
        if user is not None:
            client.login_as(user)
        url = _sample_url(rule)
        response = _request(client, method, url)
        allowed = persona in MATRIX[(endpoint, method)].allowed
        if not _answers_as_expected(response.status_code, response.headers.get("Location", ""),
                                    url.startswith("/api/"), persona, allowed):
            failures.append(f"{method} {url} as {persona}: {response.status_code}")
    assert not failures, "\n".join(failures)
