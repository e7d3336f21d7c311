"""Fixtures: one schema per test session (built by the migrations), a fresh app and clean tables per test.

Set DATABASE_URL to run the whole suite against PostgreSQL; otherwise a SQLite file is used.
"""

from __future__ import annotations

import os

import pytest
from sqlalchemy import create_engine, text

from exam import create_app
from exam.extensions import db, limiter
from tests.helpers import TestClient

DEFAULT_PASSWORD = "Passw0rd2026"


def _database_url(tmp_path_factory) -> str:
    url = os.environ.get("DATABASE_URL")
    if url:
        return url
    return f"sqlite:///{tmp_path_factory.mktemp('db') / 'test.sqlite3'}"


@pytest.fixture(scope="session")
def database_url(tmp_path_factory):
    from exam.config import normalise_database_url

    url = normalise_database_url(_database_url(tmp_path_factory))
    if url.startswith("postgresql"):
        engine = create_engine(url, isolation_level="AUTOCOMMIT")
        with engine.connect() as conn:
            conn.execute(text("DROP SCHEMA IF EXISTS public CASCADE"))
            conn.execute(text("CREATE SCHEMA public"))
        engine.dispose()
    app = create_app(_test_config(url, tmp_path_factory.mktemp("instance")))
    with app.app_context():
        from flask_migrate import upgrade

        upgrade()
        db.engine.dispose()
    return url


def _test_config(url: str, instance_path) -> dict:
    return {
        "TESTING": True,
        "DATABASE_URL": url,
        "INSTANCE_PATH": str(instance_path),
        "SECRET_KEY": "test-secret-key-not-for-production",
        "PASSWORD_HASH_METHOD": "pbkdf2:sha256:1000",  # fast hashing: the tests create many users
        "RATELIMIT_STORAGE_URI": os.environ.get("REDIS_URL", "memory://"),
        "SERVER_NAME": None,
    }


@pytest.fixture
def app(database_url, tmp_path):
    app = create_app(_test_config(database_url, tmp_path / "instance"))
    app.test_client_class = TestClient
    with app.app_context():
        limiter.reset()
    yield app
    with app.app_context():
        db.session.remove()
        _clean_tables()
        db.engine.dispose()


def _clean_tables() -> None:
    tables = [t.name for t in reversed(db.metadata.sorted_tables)]
    with db.engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            conn.execute(text("TRUNCATE " + ", ".join(f'"{t}"' for t in tables) + " RESTART IDENTITY CASCADE"))
        else:
            conn.execute(text("PRAGMA defer_foreign_keys=ON"))  # self-references (department tree)
            for table in tables:
                conn.execute(text(f'DELETE FROM "{table}"'))


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def ctx(app):
    """An application context for operation tests that run without HTTP (writes begin IMMEDIATE, as in the CLI).

    Its session holds SQLite's write lock from its first write until commit: create users (make_user) first.
    """
    with app.test_request_context(method="POST"):
        yield app


@pytest.fixture
def make_user(app):
    """Create a user (committed) and return it; roles are legal/hr/admin, everyone is an examinee."""
    from exam.accounts import operations as ops

    counter = {"n": 0}

    def _make(username: str | None = None, *, roles=(), name: str | None = None, department: str | None = "稽查科",
              password: str = DEFAULT_PASSWORD, employment_status: str = "active", must_change: bool = False):
        counter["n"] += 1
        username = username or f"U{counter['n']:04d}"
        with app.app_context():
            dept = ops.ensure_department(department) if department else None
            user, _ = ops.create_user(
                ops.UserData(username=username, name=name or f"测试{counter['n']}", department=dept,
                             roles=set(roles) - {"examinee"}, employment_status=employment_status),
                password=password,
                must_change=must_change,
            )
            db.session.commit()
            user_id = user.id
        with app.app_context():
            from exam.accounts.models import User

            user = db.session.get(User, user_id)
            db.session.expunge(user)
            return user

    return _make
