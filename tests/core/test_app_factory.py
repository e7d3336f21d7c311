from __future__ import annotations

from exam import create_app


def test_create_app_registers_core_blueprints(app):
    assert {"main", "accounts"} <= set(app.blueprints)
    assert "exam.extensions" not in app.config  # config holds settings only


def test_config_precedence_defaults_instance_environment_argument(tmp_path, monkeypatch):
    monkeypatch.delenv("DATABASE_URL", raising=False)
    monkeypatch.delenv("SECRET_KEY", raising=False)
    (tmp_path / "config.py").write_text(
        "SECRET_KEY = 'from-instance'\n"
        "SQLALCHEMY_DATABASE_URI = 'sqlite:///from-instance.db'\n"
        "LOGIN_FAILURE_LIMIT = '7 per minute'\n"
    )
    app = create_app({"INSTANCE_PATH": str(tmp_path)})
    assert app.config["SECRET_KEY"] == "from-instance"
    assert app.config["SQLALCHEMY_DATABASE_URI"] == "sqlite:///from-instance.db"
    assert app.config["LOGIN_FAILURE_LIMIT"] == "7 per minute"
    assert app.config["PASSWORD_MIN_LENGTH"] == 8  # default untouched

    monkeypatch.setenv("SECRET_KEY", "from-env")
    monkeypatch.setenv("DATABASE_URL", "postgres://u@db.example/exam")
    app = create_app({"INSTANCE_PATH": str(tmp_path)})
    assert app.config["SECRET_KEY"] == "from-env"
    assert app.config["SQLALCHEMY_DATABASE_URI"] == "postgresql+psycopg://u@db.example/exam"

    app = create_app({"INSTANCE_PATH": str(tmp_path), "SECRET_KEY": "from-argument",
                      "DATABASE_URL": "sqlite:///arg.db"})
    assert app.config["SECRET_KEY"] == "from-argument"
    assert app.config["SQLALCHEMY_DATABASE_URI"] == "sqlite:///arg.db"


def test_secret_key_is_generated_once_into_the_instance_folder(tmp_path, monkeypatch):
    monkeypatch.delenv("SECRET_KEY", raising=False)
    monkeypatch.delenv("DATABASE_URL", raising=False)
    first = create_app({"INSTANCE_PATH": str(tmp_path / "a")}).config["SECRET_KEY"]
    again = create_app({"INSTANCE_PATH": str(tmp_path / "a")}).config["SECRET_KEY"]
    other = create_app({"INSTANCE_PATH": str(tmp_path / "b")}).config["SECRET_KEY"]
    assert first == again
    assert first != other
    assert len(first) >= 64
    assert (tmp_path / "a" / "secret_key").stat().st_mode & 0o077 == 0


def test_default_database_is_sqlite_in_instance_folder_with_wal_and_full_sync(tmp_path, monkeypatch):
    monkeypatch.delenv("DATABASE_URL", raising=False)
    app = create_app({"INSTANCE_PATH": str(tmp_path), "SECRET_KEY": "x"})
    assert app.config["SQLALCHEMY_DATABASE_URI"] == f"sqlite:///{tmp_path / 'exam.sqlite3'}"
    from sqlalchemy import text

    from exam.extensions import db

    with app.app_context():
        with db.engine.connect() as conn:
            assert conn.execute(text("PRAGMA journal_mode")).scalar() == "wal"
            assert conn.execute(text("PRAGMA synchronous")).scalar() == 2  # FULL
            assert conn.execute(text("PRAGMA busy_timeout")).scalar() == 30000
            assert conn.execute(text("PRAGMA foreign_keys")).scalar() == 1
        db.engine.dispose()


def test_sqlite_write_requests_take_the_lock_up_front(tmp_path, monkeypatch):
    """A POST begins with BEGIN IMMEDIATE; a GET with a deferred BEGIN (readers never wait)."""
    monkeypatch.delenv("DATABASE_URL", raising=False)
    app = create_app({"INSTANCE_PATH": str(tmp_path), "SECRET_KEY": "x"})
    from sqlalchemy import event, text

    from exam.extensions import db

    statements = []
    with app.app_context():
        event.listen(db.engine, "before_cursor_execute",
                     lambda conn, cur, stmt, *a: statements.append(stmt))
    for method, expected in (("POST", "BEGIN IMMEDIATE"), ("GET", "BEGIN")):
        statements.clear()
        with app.test_request_context("/", method=method):
            db.session.execute(text("SELECT 1"))
            db.session.rollback()
        assert statements[0] == expected
    with app.app_context():
        db.engine.dispose()


def test_healthz_reports_app_and_database(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    body = response.get_json()
    assert body["app"] == "ok" and body["database"] == "ok"
    assert body["database_backend"] in {"sqlite", "postgresql"}


def test_security_headers_on_every_page(client):
    response = client.get("/login")
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["X-Frame-Options"] == "DENY"
    assert "script-src 'self'" in response.headers["Content-Security-Policy"]
    assert "unsafe-inline" not in response.headers["Content-Security-Policy"]


def test_pages_reference_no_remote_assets(client, make_user):
    user = make_user(roles=["admin", "hr", "legal"])
    client.login_as(user)
    html = client.get("/").get_data(as_text=True)
    assert "http://" not in html and "https://" not in html
    assert client.get("/bootstrap/static/css/bootstrap.min.css").status_code == 200
