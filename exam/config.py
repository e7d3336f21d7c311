"""Configuration: defaults here, then ``instance/config.py``, then the environment, then the argument."""

from __future__ import annotations

import os
import secrets
import sys
from pathlib import Path


class Defaults:
    """Defaults for every setting. Domain numbers (pass mark, hours, ...) live in settings, not here."""

    SQLALCHEMY_DATABASE_URI: str | None = None  # filled in from DATABASE_URL or the instance folder
    SQLALCHEMY_ENGINE_OPTIONS: dict = {}
    SQLITE_BUSY_TIMEOUT_MS = 30_000
    SECRET_KEY: str | None = None

    BABEL_DEFAULT_LOCALE = "zh_CN"
    BABEL_DEFAULT_TIMEZONE = "Asia/Shanghai"
    LANGUAGES = {"zh_CN": "简体中文", "en": "English"}

    WTF_CSRF_TIME_LIMIT = None  # the token lives as long as the session; exams can last hours
    WTF_CSRF_HEADERS = ["X-CSRFToken", "X-CSRF-Token"]

    RATELIMIT_STORAGE_URI = "memory://"
    RATELIMIT_HEADERS_ENABLED = True
    RATELIMIT_STRATEGY = "moving-window"
    LOGIN_FAILURE_LIMIT = "10 per minute"

    SESSION_COOKIE_HTTPONLY = True
    SESSION_COOKIE_SAMESITE = "Lax"
    SESSION_COOKIE_NAME = "exam_session"
    REMEMBER_COOKIE_HTTPONLY = True
    PERMANENT_SESSION_LIFETIME = 12 * 3600

    MAX_CONTENT_LENGTH = 25 * 1024 * 1024  # uploads are checked again per kind
    MAX_ROSTER_ROWS = 20_000
    API_MAX_JSON_BYTES = 1024 * 1024  # a JSON request body larger than this is refused with 413
    # The exam day's bearer-token autosave and submit answered in front of Flask (exam/api/fastpath.py)
    EXAM_DAY_FAST_PATH = True

    PASSWORD_HASH_METHOD = "scrypt"  # noqa: S105 (a hash method name, not a password)
    PASSWORD_MIN_LENGTH = 8

    BOOTSTRAP_SERVE_LOCAL = True
    BOOTSTRAP_BOOTSWATCH_THEME = None

    API_TITLE = "执法资格学法考试平台 API"
    API_VERSION = "v1"
    OPENAPI_VERSION = "3.0.3"
    OPENAPI_URL_PREFIX = "/api/v1"
    OPENAPI_JSON_PATH = "openapi.json"
    API_SPEC_OPTIONS = {
        "components": {
            "securitySchemes": {
                "bearerAuth": {"type": "http", "scheme": "bearer"},
                "sessionCookie": {"type": "apiKey", "in": "cookie", "name": "exam_session"},
            }
        },
        "security": [{"bearerAuth": []}, {"sessionCookie": []}],
    }

    DEMO_DATA = False
    EXAM_SUBMIT_GRACE_SECONDS = 30

    # Certificate rules: defaults for the settings an administrator may change (exam/core/settings.py).
    STUDY_REQUIRED_HOURS = 40.0  # training hours a year (and in the 12 months before a certificate is issued)
    STUDY_HOURS_PER_EXAM = 2.0  # hours credited for each exam taken (practice excluded)
    STUDY_UPLOAD_MAX_BYTES = 20 * 1024 * 1024  # an uploaded bulletin original (PDF or DOCX)
    CERT_VALIDITY_YEARS = 5
    CERT_RESULT_FRESH_MONTHS = 12
    CERT_RENEWAL_WINDOW_MONTHS = 6
    CERT_REVOCATION_COOLOFF_YEARS = 3
    # {year} issue year, {code} category code, {seq} the category's running number for that year
    CERT_NUMBER_PATTERN = "{code}{year}{seq:05d}"
    CERT_ENFORCEMENT_BODY = "市质量技术监督局"
    CERT_EXPIRING_DAYS = 90
    CERT_PHOTO_MAX_BYTES = 2 * 1024 * 1024
    VERIFY_RATE_LIMIT = "20 per minute"
    PUBLIC_BASE_URL = None  # e.g. "https://exam.bureau.gov.cn": printed QR codes link to its verification page
    LIST_PDF_PART_ROWS = 1000  # long printed lists are rendered in parts of at least this many rows ...
    LIST_PDF_PARTS = 2  # ... split into this many parts (rendered in parallel; not taken from the CPUs, so that
    # a reprint is byte-identical on any server)
    QUESTION_IMPORT_MAX = 20_000  # questions in one import file


ENV_VARS = {
    # environment variable -> (config key, parser)
    "DATABASE_URL": ("SQLALCHEMY_DATABASE_URI", str),
    "SECRET_KEY": ("SECRET_KEY", str),
    "REDIS_URL": ("RATELIMIT_STORAGE_URI", str),
    "EXAM_TIMEZONE": ("BABEL_DEFAULT_TIMEZONE", str),
    "SESSION_COOKIE_SECURE": ("SESSION_COOKIE_SECURE", lambda v: v.lower() in {"1", "true", "yes"}),
    "PASSWORD_HASH_METHOD": ("PASSWORD_HASH_METHOD", str),
    "PUBLIC_BASE_URL": ("PUBLIC_BASE_URL", str),
}


def normalise_database_url(url: str) -> str:
    """Let operators write ``postgres://`` or ``postgresql://``; the driver shipped is psycopg 3."""
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix):]
    return url


def postgres_pool_options() -> dict:
    """One pooled connection per gunicorn thread (each request holds at most one), plus a little overflow for
    CLI commands; 2 workers x (8 + 2) = 20 connections at most, far below PostgreSQL's default 100."""
    return {"pool_size": int(os.environ.get("GUNICORN_THREADS", "8")), "max_overflow": 2, "pool_timeout": 30}


def load_config(app, overrides: dict | None) -> None:
    app.config.from_object(Defaults)
    app.config.from_pyfile("config.py", silent=True)
    for env_name, (key, parse) in ENV_VARS.items():
        value = os.environ.get(env_name)
        if value:
            app.config[key] = parse(value)
    if overrides:
        app.config.update(overrides)
        if "DATABASE_URL" in overrides:
            app.config["SQLALCHEMY_DATABASE_URI"] = overrides["DATABASE_URL"]

    instance = Path(app.instance_path)
    if not app.config.get("SQLALCHEMY_DATABASE_URI"):
        instance.mkdir(parents=True, exist_ok=True)
        app.config["SQLALCHEMY_DATABASE_URI"] = f"sqlite:///{instance / 'exam.sqlite3'}"
    app.config["SQLALCHEMY_DATABASE_URI"] = normalise_database_url(app.config["SQLALCHEMY_DATABASE_URI"])
    if app.config["SQLALCHEMY_DATABASE_URI"].startswith("redis"):
        raise RuntimeError("DATABASE_URL points at Redis")
    if app.config["SQLALCHEMY_DATABASE_URI"].startswith("postgresql") and not app.config["SQLALCHEMY_ENGINE_OPTIONS"]:
        app.config["SQLALCHEMY_ENGINE_OPTIONS"] = postgres_pool_options()
    if not app.config.get("SECRET_KEY"):
        app.config["SECRET_KEY"] = _instance_secret(instance)
    _cookie_security(app)


def _cookie_security(app) -> None:
    """Behind HTTPS (SESSION_COOKIE_SECURE set) every cookie the app sets is Secure and links are https.

    The production server (gunicorn, neither DEBUG nor TESTING) without it still works over plain HTTP on a
    closed intranet, but says so in its log (CLI commands stay quiet).
    """
    if app.config.get("SESSION_COOKIE_SECURE"):
        app.config["REMEMBER_COOKIE_SECURE"] = True
        app.config["PREFERRED_URL_SCHEME"] = "https"
    elif Path(sys.argv[0]).name == "gunicorn" and not (app.config.get("DEBUG") or app.config.get("TESTING")):
        app.logger.warning("SESSION_COOKIE_SECURE is not set: session cookies are also sent over plain HTTP")


def _instance_secret(instance: Path) -> str:
    """A random key generated once into the instance folder; never a fixed default."""
    instance.mkdir(parents=True, exist_ok=True)
    path = instance / "secret_key"
    if path.exists():
        return path.read_text().strip()
    key = secrets.token_hex(32)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as fh:
        fh.write(key)
    return key
