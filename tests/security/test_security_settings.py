"""Security settings: headers, cookies, lockout notice, sessions that end, no inline script or style."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from exam import create_app
from exam.accounts.models import User
from exam.extensions import db

TEMPLATES = Path(__file__).resolve().parents[2] / "templates"
INLINE_SCRIPT = re.compile(r"<script(?![^>]*\bsrc=)[^>]*>", re.I)
INLINE_HANDLER = re.compile(r"<[^>]+\son[a-z]+\s*=", re.I)
INLINE_STYLE = re.compile(r"<[^>]+\sstyle\s*=|<style[\s>]", re.I)


def test_hsts_is_sent_over_https_only(client):
    secure = client.get("/login", base_url="https://exam.example.gov.cn")
    assert secure.headers["Strict-Transport-Security"].startswith("max-age=")
    assert int(secure.headers["Strict-Transport-Security"].split("=")[1].split(";")[0]) >= 31536000
    assert "Strict-Transport-Security" not in client.get("/login").headers


@pytest.mark.parametrize("path", ["/login", "/api/v1/me", "/no-such-page", "/healthz"])
def test_security_headers_on_pages_api_and_errors(client, path):
    headers = client.get(path).headers
    csp = headers["Content-Security-Policy"]
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert headers["X-Frame-Options"] == "DENY"
    assert headers["Referrer-Policy"] == "same-origin"
    assert "unsafe-inline" not in csp and "unsafe-eval" not in csp
    for directive in ("default-src 'self'", "script-src 'self'", "style-src 'self'", "object-src 'none'",
                      "frame-ancestors 'none'", "base-uri 'self'", "form-action 'self'"):
        assert directive in csp


@pytest.mark.parametrize("template", sorted(p.relative_to(TEMPLATES).as_posix() for p in TEMPLATES.rglob("*.html")))
def test_templates_have_no_inline_script_handlers_or_styles(template):
    """CSP blocks inline code; a template that relies on it is broken, and a habit of it invites XSS."""
    source = (TEMPLATES / template).read_text(encoding="utf-8")
    assert not INLINE_SCRIPT.search(source), "inline <script>: put the code in static/js/"
    assert not INLINE_HANDLER.search(source), "inline event handler (onclick=...): bind it in static/js/"
    if not template.startswith("pdf/"):  # printed documents are rendered by WeasyPrint, not a browser
        assert not INLINE_STYLE.search(source), "inline style: use a class in static/css/"


def test_production_cookies_are_secure_http_only_and_same_site(tmp_path, monkeypatch, database_url, make_user):
    make_user("cookie1")
    monkeypatch.setenv("SESSION_COOKIE_SECURE", "1")
    app = create_app({"DATABASE_URL": database_url, "INSTANCE_PATH": str(tmp_path), "SECRET_KEY": "k" * 32,
                      "PASSWORD_HASH_METHOD": "pbkdf2:sha256:1000"})
    assert not app.testing and not app.debug
    assert app.config["SESSION_COOKIE_SECURE"] and app.config["REMEMBER_COOKIE_SECURE"]
    assert app.config["PREFERRED_URL_SCHEME"] == "https"
    client = app.test_client()
    page = client.get("/login", base_url="https://exam.example.gov.cn")
    token = re.search(r'name="csrf-token" content="([^"]+)"', page.get_data(as_text=True)).group(1)
    response = client.post("/login", base_url="https://exam.example.gov.cn",
                           headers={"Referer": "https://exam.example.gov.cn/login"},  # HTTPS: CSRF checks it
                           data={"username": "cookie1", "password": "Passw0rd2026", "csrf_token": token})
    assert response.status_code == 302
    cross_site = app.test_client().post("/login", base_url="https://exam.example.gov.cn",
                                        headers={"Referer": "https://evil.example/"},
                                        data={"username": "cookie1", "password": "Passw0rd2026", "csrf_token": token})
    assert cross_site.status_code == 400
    cookies = response.headers.getlist("Set-Cookie")
    session_cookie = next(c for c in cookies if c.startswith("exam_session="))
    assert "Secure" in session_cookie and "HttpOnly" in session_cookie and "SameSite=Lax" in session_cookie
    with app.app_context():
        db.engine.dispose()


def test_without_secure_cookies_the_production_server_warns(tmp_path, monkeypatch, database_url, caplog):
    monkeypatch.delenv("SESSION_COOKIE_SECURE", raising=False)
    monkeypatch.setattr("sys.argv", ["/srv/exam/.venv/bin/gunicorn", "wsgi:app"])
    app = create_app({"DATABASE_URL": database_url, "INSTANCE_PATH": str(tmp_path), "SECRET_KEY": "k" * 32})
    assert not app.config.get("SESSION_COOKIE_SECURE")
    assert any("SESSION_COOKIE_SECURE" in r.getMessage() for r in caplog.records)


def test_lockout_page_tells_the_user_in_chinese_to_wait(client, make_user):
    make_user("lock1")
    for _ in range(10):
        assert client.login("lock1", "wrong-password1").status_code == 200
    response = client.login("lock1")
    assert response.status_code == 429
    page = response.get_data(as_text=True)
    assert "请求过于频繁" in page and "一分钟后再试" in page
    assert int(response.headers["Retry-After"]) > 0
    assert client.get("/").status_code == 302  # the right password did not sign in


def test_admin_password_reset_ends_the_users_sessions(app, client, make_user):
    user = make_user("reset1")
    client.login("reset1")
    assert client.get("/").status_code == 200
    admin = app.test_client()
    admin.login_as(make_user("reset-admin", roles=["admin"]))
    assert admin.post_form(f"/admin/users/{user.id}/reset-password").status_code == 200
    assert client.get("/").status_code == 302


def test_deactivated_users_api_token_stops_working(app, client, make_user):
    from exam.accounts.operations import issue_token, set_active

    user = make_user("token1")
    with app.app_context():
        token = issue_token(db.session.get(User, user.id))
        db.session.commit()
    headers = {"Authorization": f"Bearer {token}"}
    assert client.get("/api/v1/me", headers=headers).status_code == 200
    with app.app_context():
        set_active(db.session.get(User, user.id), False)
        db.session.commit()
    assert client.get("/api/v1/me", headers=headers).status_code == 401


@pytest.mark.parametrize("password", ["short1", "onlyletters", "12345678901", ""])
def test_weak_passwords_are_refused_by_the_rules(ctx, password):
    from exam.accounts.operations import password_problems

    assert password_problems(password)


def test_generated_passwords_pass_the_rules(ctx):
    from exam.accounts.operations import generate_password, password_problems

    assert not any(password_problems(generate_password()) for _ in range(50))
