from __future__ import annotations

import pytest

from exam.accounts.models import User
from exam.core.audit import AuditLog
from exam.extensions import db
from tests.helpers import count_rows


def test_login_page_is_in_chinese(client):
    html = client.get("/login").get_data(as_text=True)
    assert "登录" in html and "工号" in html and "密码" in html
    assert 'lang="zh-CN"' in html


def test_login_with_the_form_then_logout(client, make_user):
    make_user("A0100", name="张三")
    response = client.login("A0100")
    assert response.status_code == 302
    assert "张三" in client.get("/").get_data(as_text=True)
    response = client.post("/logout", data={"csrf_token": client.csrf_token()})
    assert response.status_code == 302
    assert client.get("/").status_code == 302  # signed out: sent to the login page


def test_wrong_password_is_refused_and_audited(app, client, make_user):
    make_user("A0101")
    response = client.login("A0101", "wrong-password1")
    assert response.status_code == 200
    assert "工号或密码错误" in response.get_data(as_text=True)
    assert client.get("/").status_code == 302
    with app.app_context():
        row = db.session.query(AuditLog).filter_by(action="login.failed").one()
        assert row.actor_username == "A0101"


def test_disabled_account_cannot_sign_in(app, client, make_user):
    make_user("A0102")
    with app.app_context():
        db.session.query(User).filter_by(username="A0102").update({"active": False})
        db.session.commit()
    assert client.login("A0102").status_code == 200
    assert client.get("/").status_code == 302


def test_ten_failed_logins_a_minute_then_429(client, make_user):
    make_user("A0103")
    for _ in range(10):
        assert client.login("A0103", "wrong-password1").status_code == 200
    response = client.login("A0103")  # even the right password waits now
    assert response.status_code == 429
    assert "请求过于频繁" in response.get_data(as_text=True)


def test_successful_logins_do_not_count_toward_the_limit(client, make_user):
    make_user("A0104")
    for _ in range(12):
        assert client.login("A0104").status_code == 302
        client.post("/logout", data={"csrf_token": client.csrf_token()})


def test_login_starts_a_fresh_session(client, make_user):
    """Session fixation: whatever was in the session before login does not survive it."""
    make_user("A0105")
    with client.session_transaction() as session:
        session["planted"] = "by-attacker"
    client.login("A0105")
    with client.session_transaction() as session:
        assert "planted" not in session
        assert session["_user_id"].startswith(str(session["_user_id"]).split(":")[0])


@pytest.mark.parametrize("target,expected", [
    ("/admin/users", "/admin/users"),
    ("https://evil.example/", "/"),
    ("//evil.example/", "/"),
    ("/\\evil.example", "/"),
    ("javascript:alert(1)", "/"),
])
def test_next_redirects_only_within_this_site(client, make_user, target, expected):
    make_user("A0106", roles=["hr"])
    response = client.login("A0106", next=target)
    assert response.status_code == 302
    assert response.headers["Location"] == expected


def test_changing_password_ends_other_sessions(app, make_user):
    make_user("A0107")
    first, second = app.test_client(), app.test_client()
    first.login("A0107")
    second.login("A0107")
    response = first.post("/account/password", data={
        "current": "Passw0rd2026", "new": "NewPassw0rd9", "confirm": "NewPassw0rd9",
        "csrf_token": first.csrf_token()})
    assert response.status_code == 302
    assert first.get("/").status_code == 200  # the session that changed it stays signed in
    assert second.get("/").status_code == 302  # the other one is signed out
    assert app.test_client().login("A0107", "NewPassw0rd9").status_code == 302


def test_weak_new_password_is_refused(client, make_user):
    make_user("A0108")
    client.login("A0108")
    response = client.post("/account/password", data={
        "current": "Passw0rd2026", "new": "short", "confirm": "short", "csrf_token": client.csrf_token()})
    assert "密码至少需要" in response.get_data(as_text=True)
    client.post("/logout", data={"csrf_token": client.csrf_token()})
    assert client.login("A0108").status_code == 302  # old password still works


def test_deactivation_ends_the_session_at_once(app, client, make_user):
    user = make_user("A0109")
    client.login("A0109")
    admin = make_user("admin1", roles=["admin"])
    admin_client = app.test_client()
    admin_client.login_as(admin)
    admin_client.post_form(f"/admin/users/{user.id}/active", {"active": "0"})
    assert client.get("/").status_code == 302


def test_must_change_password_redirects_until_changed(client, make_user):
    make_user("A0110", must_change=True)
    client.login("A0110")
    response = client.get("/")
    assert response.status_code == 302 and "/account/password" in response.headers["Location"]


def test_user_language_preference_switches_the_interface(client, make_user):
    make_user("A0111")
    client.login("A0111")
    client.post("/language", data={"language": "en", "csrf_token": client.csrf_token()})
    assert "Sign out" in client.get("/").get_data(as_text=True)


def test_form_post_without_csrf_token_is_400_and_changes_nothing(app, client, make_user):
    client.login_as(make_user(roles=["admin"]))
    with app.app_context():
        before = count_rows(User)
    response = client.post("/admin/users/new",
                           data={"username": "NEW01", "name": "新人", "employment_status": "active"})
    assert response.status_code == 400
    assert "表单已过期" in response.get_data(as_text=True)
    with app.app_context():
        assert count_rows(User) == before
