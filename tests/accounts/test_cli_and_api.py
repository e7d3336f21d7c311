from __future__ import annotations

from exam.accounts.models import User
from exam.extensions import db
from tests.helpers import count_rows


def _create(app, username, *roles, password="Strong2026pw"):
    args = ["users", "create", username, "--name", "测试用户", "--department", "法规科", "--password-stdin"]
    for role in roles:
        args += ["--role", role]
    return app.test_cli_runner().invoke(args=args, input=password + "\n")


def _token(app, username) -> str:
    result = app.test_cli_runner().invoke(args=["users", "token", username])
    assert result.exit_code == 0, result.output
    return result.output.strip().splitlines()[-1]


def test_user_created_on_the_command_line_can_sign_in_through_the_form(app, client):
    result = _create(app, "E0001", "legal")
    assert result.exit_code == 0, result.output
    response = client.login("E0001", "Strong2026pw")
    assert response.status_code == 302
    assert client.get("/").status_code == 200  # no forced password change: the password was chosen
    with app.app_context():
        user = db.session.query(User).filter_by(username="E0001").one()
        assert user.department.name == "法规科" and user.roles == {"examinee", "legal"}


def test_cli_refuses_a_weak_password_and_creates_nothing(app):
    result = _create(app, "E0002", password="123")
    assert result.exit_code == 1
    with app.app_context():
        assert count_rows(User) == 0


def test_token_opens_api_routes_for_that_users_roles_only(app, client):
    _create(app, "E0003", "legal")
    _create(app, "E0004", "hr")
    legal = {"Authorization": "Bearer " + _token(app, "E0003")}
    hr = {"Authorization": "Bearer " + _token(app, "E0004")}
    me = client.get("/api/v1/me", headers=legal)
    assert me.status_code == 200 and me.get_json()["roles"] == ["examinee", "legal"]
    assert client.get("/api/v1/users", headers=legal).status_code == 403
    assert client.get("/api/v1/users", headers=hr).status_code == 200
    assert client.get("/api/v1/users", headers={"Authorization": "Bearer not-a-token"}).status_code == 401
    # a token does not sign in the web pages
    assert client.get("/admin/users", headers=hr).status_code == 302


def test_json_write_with_session_needs_the_csrf_header(app, client, make_user):
    client.login_as(make_user(roles=["admin"]))
    body = {"username": "J0001", "name": "钱七"}
    response = client.post("/api/v1/users", json=body)
    assert response.status_code == 400
    assert response.get_json()["error"]["code"] == "csrf_failed"
    with app.app_context():
        assert db.session.query(User).filter_by(username="J0001").count() == 0
    response = client.write_json("POST", "/api/v1/users", body)
    assert response.status_code == 201, response.get_json()
    assert response.get_json()["username"] == "J0001"


def test_json_write_with_bearer_token_needs_no_csrf(app, client):
    _create(app, "E0005", "admin")
    headers = {"Authorization": "Bearer " + _token(app, "E0005")}
    response = client.post("/api/v1/users", json={"username": "J0002", "name": "孙八"}, headers=headers)
    assert response.status_code == 201


def test_api_validation_errors_are_json_422(app, client):
    _create(app, "E0006", "admin")
    headers = {"Authorization": "Bearer " + _token(app, "E0006")}
    response = client.post("/api/v1/users", json={"username": "../x", "roles": "admin"}, headers=headers)
    assert response.status_code == 422
    error = response.get_json()["error"]
    assert error["code"] == "validation_error" and "details" in error


def test_openapi_document_is_generated_from_the_schemas(client):
    doc = client.get("/api/v1/openapi.json").get_json()
    assert doc["openapi"].startswith("3.")
    user_schema = doc["components"]["schemas"]["User"]
    assert "username" in user_schema["properties"]
    assert "bearerAuth" in doc["components"]["securitySchemes"]
    assert "/api/v1/users" in doc["paths"]


def test_seed_demo_fills_an_empty_database_once(app):
    runner = app.test_cli_runner()
    result = runner.invoke(args=["seed-demo"])
    assert result.exit_code == 0, result.output
    for username in ("admin", "legal01", "hr01", "staff01"):
        assert username in result.output
    with app.app_context():
        assert count_rows(User) >= 60
        departments = {d.name for d in db.session.query(User).first().department.parent.children}
        assert {"法规科", "稽查科", "特种设备安全监察科", "计量科", "质量科", "人事科"} <= departments
    assert runner.invoke(args=["seed-demo", "--if-empty"]).exit_code == 0
    assert runner.invoke(args=["seed-demo"]).exit_code == 1


def test_audit_verify_detects_a_row_changed_in_the_database(app, make_user):
    make_user(roles=["admin"])
    make_user()
    runner = app.test_cli_runner()
    assert "intact" in runner.invoke(args=["audit", "verify"]).output

    with app.app_context():
        from tests.security.tamper import tamper  # bypasses the append-only trigger on PostgreSQL

        tamper("UPDATE audit_log SET actor_username = 'forged' WHERE id = 2")
    result = runner.invoke(args=["audit", "verify"])
    assert result.exit_code == 1 and "row 2" in result.output
