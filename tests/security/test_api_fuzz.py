"""schemathesis against /api/v1/openapi.json: no generated request, valid or not, makes the server fail."""

from __future__ import annotations

import contextlib

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error
from schemathesis.generation import GenerationMode

from exam.accounts import operations as ops
from exam.extensions import db

EXAMPLES_PER_OPERATION = 20


@pytest.fixture
def api_token(app):
    """A bearer token of one user holding every role (admin + legal + hr), so every operation is reachable."""
    with app.app_context():
        department = ops.ensure_department("市局/法规科")
        user, _ = ops.create_user(ops.UserData(username="fuzzer", name="接口测试", department=department,
                                               roles={"admin", "legal", "hr"}), must_change=False)
        token = ops.issue_token(user)
        db.session.commit()
    return token


def _operations(app):
    schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app)
    operations = []
    for result in schema.get_all_operations():
        operations.append(result.ok())
    return operations


@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE], ids=["valid", "invalid"])
def test_no_api_operation_answers_with_a_server_error(app, api_token, mode):
    operations = _operations(app)
    assert operations, "the OpenAPI document lists no operations"
    failures = []
    for operation in operations:
        @settings(max_examples=EXAMPLES_PER_OPERATION, deadline=None, database=None, derandomize=True,
                  suppress_health_check=list(HealthCheck))
        @given(case=operation.as_strategy(generation_mode=mode))
        def run(case):
            response = case.call(headers={"Authorization": f"Bearer {api_token}"})
            try:
                case.validate_response(response, checks=[not_a_server_error])
            except Exception as exc:
                failures.append(f"{case.method} {case.formatted_path}: {response.status_code} {exc}"[:500])
                raise

        with contextlib.suppress(Exception):  # recorded in failures with the request that failed
            run()
    assert not failures, "\n".join(failures)


def test_the_fuzzer_reaches_protected_operations(app, api_token):
    client = app.test_client()
    response = client.get("/api/v1/users", headers={"Authorization": f"Bearer {api_token}"})
    assert response.status_code == 200  # so the fuzz run above is not just a wall of 401s
