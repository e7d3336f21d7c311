"""Test helpers: a client that knows the CSRF token and how to sign in."""

from __future__ import annotations

import re

from flask.testing import FlaskClient

CSRF_META = re.compile(r'<meta name="csrf-token" content="([^"]+)">')


class TestClient(FlaskClient):
    __test__ = False

    def csrf_token(self) -> str:
        response = self.get("/login", follow_redirects=True)
        match = CSRF_META.search(response.get_data(as_text=True))
        assert match, "page has no csrf-token meta"
        return match.group(1)

    def login(self, username: str, password: str = "Passw0rd2026", **extra):
        return self.post("/login", data={"username": username, "password": password,
                                         "csrf_token": self.csrf_token(), **extra})

    def login_as(self, user) -> None:
        """Sign in without the form (fast); the session is what Flask-Login would store."""
        with self.session_transaction() as session:
            session["_user_id"] = user.get_id()
            session["_fresh"] = True

    def post_form(self, url: str, data: dict | None = None, **kwargs):
        data = dict(data or {})
        data.setdefault("csrf_token", self.csrf_token())
        return self.post(url, data=data, **kwargs)

    def write_json(self, method: str, url: str, json=None, **kwargs):
        headers = kwargs.pop("headers", {})
        headers.setdefault("X-CSRFToken", self.csrf_token())
        return self.open(url, method=method, json=json, headers=headers, **kwargs)


def count_rows(model) -> int:
    from sqlalchemy import func, select

    from exam.extensions import db

    return db.session.scalar(select(func.count()).select_from(model))
