"""Hostile input: markup in names, bad ids, oversized and mistyped JSON, header injection in ``next``."""

from __future__ import annotations

import io

import pytest
from openpyxl import Workbook
from sqlalchemy import select

from exam.accounts.models import Department, User
from exam.core.audit import AuditLog
from exam.extensions import db
from tests.helpers import count_rows
from tests.security.hostile import SCRIPT_PAYLOADS, assert_shown_escaped

NAME = "<script>alert('name')</script>"
DEPT = '"><img src=x onerror=alert(1)>科'
POST = "<svg onload=alert(2)>科员"


@pytest.fixture
def hr(make_user):
    return make_user("hostile-hr", roles=["hr"])


@pytest.fixture
def admin(make_user):
    return make_user("hostile-admin", roles=["admin"])


def test_script_in_name_department_and_post_is_stored_as_text_and_shown_escaped(app, client, hr, admin):
    client.login_as(admin)
    response = client.post_form("/admin/departments/new", {"name": DEPT, "code": "", "parent_id": 0, "sort_order": 0})
    assert response.status_code == 302
    with app.app_context():
        dept_id = db.session.scalar(select(Department.id).where(Department.name == DEPT))
    response = client.post_form("/admin/users/new", {
        "username": "X0001", "name": NAME, "department_id": dept_id, "post": POST,
        "employment_status": "active", "language": "",
    })
    assert response.status_code == 200
    assert_shown_escaped(response.get_data(as_text=True), NAME)  # the initial-password page
    with app.app_context():
        user = db.session.scalar(select(User).where(User.username == "X0001"))
        assert (user.name, user.post, user.department.name) == (NAME, POST, DEPT)
    client.login_as(hr)  # another role reads the lists
    users_page = client.get("/admin/users").get_data(as_text=True)
    for value in (NAME, DEPT, POST):
        assert_shown_escaped(users_page, value)
    assert_shown_escaped(client.get("/admin/departments").get_data(as_text=True), DEPT)
    edit_page = client.get(f"/admin/users/{user.id}/edit").get_data(as_text=True)
    assert_shown_escaped(edit_page, NAME)
    client.login_as(admin)
    assert_shown_escaped(client.get("/admin/audit").get_data(as_text=True), NAME)
    with app.app_context():
        client.login_as(db.session.get(User, user.id))
    own_page = client.get("/", follow_redirects=True).get_data(as_text=True)  # first sign-in: change password
    assert_shown_escaped(own_page, NAME)  # the header shows one's own name


def test_script_in_roster_names_is_imported_as_text_and_shown_escaped(app, client, hr):
    wb = Workbook()
    ws = wb.active
    ws.append(["工号", "姓名", "部门", "职务", "人员状态", "是否领导干部", "角色"])
    for n, payload in enumerate(SCRIPT_PAYLOADS, start=1):
        ws.append([f"S{n:03d}", payload, "稽查科", payload[:60], "在编在职", "否", ""])
    buffer = io.BytesIO()
    wb.save(buffer)
    client.login_as(hr)
    response = client.post("/admin/roster", data={"csrf_token": client.csrf_token(),
                                                   "file": (io.BytesIO(buffer.getvalue()), "名册.xlsx")},
                           content_type="multipart/form-data")
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    users_page = client.get("/admin/users?q=S0").get_data(as_text=True)
    with app.app_context():
        names = set(db.session.scalars(select(User.name).where(User.username.like("S0%"))))
    assert names == set(SCRIPT_PAYLOADS)
    for payload in SCRIPT_PAYLOADS:
        assert_shown_escaped(page, payload)
        assert_shown_escaped(users_page, payload)


@pytest.mark.parametrize("path", [
    "/admin/users/-1/edit",
    "/admin/users/99999999999999999999/edit",
    "/admin/users/2147483648/edit",
    "/admin/users/abc/edit",
    "/admin/users/1.5/edit",
    "/admin/users/%00/edit",
    "/admin/departments/-7/edit",
    "/admin/departments/9223372036854775808/edit",
    "/api/v1/users/%00",
    "/api/v1/users/" + "x" * 3000,
])
def test_bad_ids_in_urls_are_404_never_500(client, admin, path):
    client.login_as(admin)
    assert client.get(path).status_code == 404


@pytest.mark.parametrize("path", ["/admin/users/99999999999999999999/active",
                                  "/admin/users/-1/reset-password"])
def test_bad_ids_in_form_posts_are_404(client, admin, path):
    client.login_as(admin)
    assert client.post_form(path, {}).status_code == 404


def test_huge_page_numbers_are_clamped(client, admin):
    client.login_as(admin)
    assert client.get("/admin/users?page=99999999999999999999999").status_code == 200
    assert client.get("/admin/users?page=-5").status_code == 200
    assert client.get("/admin/audit?page=abc").status_code == 200
    assert client.get("/api/v1/users?page=99999999999999999999").status_code == 422


def _api_headers(client, content_type="application/json"):
    return {"X-CSRFToken": client.csrf_token(), "Content-Type": content_type}


def test_oversized_json_is_refused_with_413_json(app, client, admin):
    client.login_as(admin)
    limit = app.config["API_MAX_JSON_BYTES"]
    body = '{"username": "big1", "name": "' + "名" * (limit // 3 + 10) + '"}'
    with app.app_context():
        before = count_rows(User)
    response = client.post("/api/v1/users", data=body.encode(), headers=_api_headers(client))
    assert response.status_code == 413
    assert response.json["error"]["code"] == "too_large"
    with app.app_context():
        assert count_rows(User) == before


def test_the_json_limit_is_configurable(app, client, admin):
    app.config["API_MAX_JSON_BYTES"] = 64
    client.login_as(admin)
    body = '{"username": "small1", "name": "' + "x" * 80 + '"}'
    assert client.post("/api/v1/users", data=body, headers=_api_headers(client)).status_code == 413


def test_json_without_a_length_is_cut_off_at_the_limit(app, client, admin):
    app.config["API_MAX_JSON_BYTES"] = 1024
    client.login_as(admin)

    body = b'{"username": "stream1", "name": "' + b"x" * 10_000 + b'"}'
    response = client.post("/api/v1/users", data=body,
                           headers={**_api_headers(client), "Transfer-Encoding": "chunked"},
                           environ_overrides={"CONTENT_LENGTH": "", "wsgi.input_terminated": True})
    assert response.status_code == 413 and response.is_json
    with app.app_context():
        assert db.session.scalar(select(User).where(User.username == "stream1")) is None


def test_json_without_a_length_under_the_limit_is_accepted(app, client, admin):
    client.login_as(admin)
    body = '{"username": "stream2", "name": "分块上传"}'.encode()
    response = client.post("/api/v1/users", data=body,
                           headers={**_api_headers(client), "Transfer-Encoding": "chunked"},
                           environ_overrides={"CONTENT_LENGTH": "", "wsgi.input_terminated": True})
    assert response.status_code == 201, response.get_data(as_text=True)


@pytest.mark.parametrize(("content_type", "body"), [
    ("text/plain", '{"username": "plain1", "name": "x"}'),
    ("application/xml", "<user><username>x</username></user>"),
    ("application/x-www-form-urlencoded", "username=form1&name=x"),
])
def test_wrong_content_type_to_a_json_endpoint_is_a_4xx_json_error(app, client, admin, content_type, body):
    client.login_as(admin)
    response = client.post("/api/v1/users", data=body, headers=_api_headers(client, content_type))
    assert response.status_code == 415
    assert response.is_json and response.json["error"]["code"] == "unsupported_media_type"
    with app.app_context():
        assert db.session.scalar(select(User).where(User.username.in_(["plain1", "form1"]))) is None


@pytest.mark.parametrize("body", ['{"username": "bad1", ', "{'username': 'bad1'}", "\xff\xfe", "NaN]"])
def test_malformed_json_is_400_json(client, admin, body):
    client.login_as(admin)
    response = client.post("/api/v1/users", data=body.encode("latin-1"), headers=_api_headers(client))
    assert response.status_code == 400
    assert response.is_json and response.json["error"]["code"] == "bad_request"


@pytest.mark.parametrize("body", ["[]", '"text"', "12", "null", '{"username": ["a"], "name": {"x": 1}}'])
def test_json_of_the_wrong_shape_is_422_json(client, admin, body):
    client.login_as(admin)
    response = client.post("/api/v1/users", data=body, headers=_api_headers(client))
    assert response.status_code == 422 and response.is_json


def test_session_json_write_without_csrf_token_is_refused(app, client, admin):
    client.login_as(admin)
    response = client.post("/api/v1/users", json={"username": "nocsrf", "name": "无令牌"})
    assert response.status_code == 400 and response.json["error"]["code"] == "csrf_failed"
    with app.app_context():
        assert db.session.scalar(select(User).where(User.username == "nocsrf")) is None


@pytest.mark.parametrize("target", [
    "/admin/users%0d%0aSet-Cookie:%20evil=1",
    "/%0d%0aLocation:%20https://evil.example",
    "//evil.example/",
    "https://evil.example/",
    "/\\evil.example",
    "javascript:alert(1)",
    "\r\nSet-Cookie: evil=1",
])
def test_next_parameter_cannot_inject_headers_or_leave_the_site(client, make_user, target):
    make_user("nextuser")
    response = client.post(f"/login?next={target}" if "\r" not in target else "/login", data={
        "username": "nextuser", "password": "Passw0rd2026", "csrf_token": client.csrf_token(),
        **({"next": target} if "\r" in target else {}),
    })
    assert response.status_code == 302
    location = response.headers["Location"]
    assert location == "/" or location.endswith("://localhost/")
    assert "evil" not in "".join(f"{k}:{v}" for k, v in response.headers.items())


def test_failed_login_with_markup_in_the_username_is_audited_as_text(app, client, admin):
    client.post("/login", data={"username": "<script>x</script>", "password": "nope",
                                "csrf_token": client.csrf_token()})
    with app.app_context():
        row = db.session.scalars(select(AuditLog).where(AuditLog.action == "login.failed")).one()
        assert row.actor_username == "<script>x</script>"
    client.login_as(admin)
    assert_shown_escaped(client.get("/admin/audit?action=login.failed").get_data(as_text=True), "<script>x</script>")


@pytest.mark.parametrize(("method", "url", "kwargs"), [
    ("GET", "/admin/users?q=a%00b", {}),
    ("GET", "/admin/audit?actor=%00", {}),
    ("POST", "/login", {"data": {"username": "a\x00b", "password": "x"}}),
    ("POST", "/admin/departments/new", {"data": {"name": "科\x00", "parent_id": 0, "sort_order": 0}}),
    ("POST", "/api/v1/users", {"json": {"username": "nul1", "name": "a\x00b"}}),
    ("POST", "/api/v1/users", {"json": {"username": "nul2", "name": "x", "a\x00": 1}}),
])
def test_nul_characters_in_input_are_400_on_every_database(app, client, admin, method, url, kwargs):
    client.login_as(admin)
    token = client.csrf_token()
    if "data" in kwargs:
        kwargs["data"] = {**kwargs["data"], "csrf_token": token}
    response = client.open(url, method=method, headers={"X-CSRFToken": token}, **kwargs)
    assert response.status_code == 400
    with app.app_context():
        assert db.session.scalar(select(User).where(User.username.in_(["nul1", "nul2"]))) is None
