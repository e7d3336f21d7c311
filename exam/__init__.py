"""The enforcement-certification study and exam platform (执法资格学法考试平台)."""

from __future__ import annotations

from pathlib import Path

from flask import Flask, g, has_request_context, redirect, request, session, url_for
from flask_login import current_user

__version__ = "0.1.0"

ROOT = Path(__file__).resolve().parent.parent

# Packages that carry their own message catalogue (translations/<locale>/LC_MESSAGES/messages.po).
TRANSLATION_PACKAGES = ["exam", "question_bank", "exam/study", "exam/exams", "exam/certificates", "exam/reports"]


def create_app(config: dict | None = None) -> Flask:
    app = Flask(
        __name__,
        instance_relative_config=True,
        instance_path=(config or {}).get("INSTANCE_PATH") or str(ROOT / "instance"),
        template_folder=str(ROOT / "templates"),
        static_folder=str(ROOT / "static"),
    )
    from exam.config import load_config

    load_config(app, config)
    from exam.core.hardening import harden

    harden(app)  # bounded <int:> ids, no NUL characters (before the blueprints add their routes)
    _init_extensions(app)
    _register_blueprints(app)
    _register_hooks(app)

    from exam.errors import register_error_handlers

    register_error_handlers(app)
    from exam.cli import register_cli

    register_cli(app)
    from exam.api.fastpath import ExamDayFastPath

    app.wsgi_app = ExamDayFastPath(app, app.wsgi_app)  # the exam day's autosave and submit (issue #8)
    return app


# Every module that defines tables, so the metadata (and Alembic) sees the whole schema.
MODEL_MODULES = [
    "exam.core.audit",
    "exam.core.settings",
    "exam.accounts.models",
    "question_bank.models",
    "exam.certificates.models",
    "exam.study.models",
    "exam.exams.models",
]


def _init_extensions(app: Flask) -> None:
    import importlib

    for module in MODEL_MODULES:
        importlib.import_module(module)
    from exam.core.db import configure_engine
    from exam.extensions import babel, bootstrap, csrf, db, limiter, login_manager, migrate

    db.init_app(app)
    with app.app_context():
        for engine in db.engines.values():
            configure_engine(engine, app.config["SQLITE_BUSY_TIMEOUT_MS"])
    migrate.init_app(app, db, directory=str(ROOT / "migrations"))
    csrf.init_app(app)
    bootstrap.init_app(app)
    limiter.init_app(app)

    app.config["BABEL_TRANSLATION_DIRECTORIES"] = ";".join(
        str(ROOT / pkg / "translations") for pkg in TRANSLATION_PACKAGES
    )
    babel.init_app(app, locale_selector=select_locale)

    login_manager.init_app(app)
    login_manager.session_protection = "basic"
    login_manager.login_view = "accounts.login"
    from flask_babel import lazy_gettext

    login_manager.login_message = lazy_gettext("Please sign in to continue.")
    login_manager.login_message_category = "warning"

    from exam.accounts.operations import user_for_session, user_for_token
    from exam.api import bearer_token, is_api_request
    from exam.errors import unauthorized

    @login_manager.user_loader
    def load_user(user_id: str):
        ident, _, version = user_id.partition(":")
        if not ident.isdigit():
            return None
        user = user_for_session(int(ident))
        if user is None or str(user.session_version) != version:
            return None  # the password changed or the account was deactivated: the session ends
        return user

    @login_manager.request_loader
    def load_user_from_token(_request):
        if not is_api_request():
            return None
        token = bearer_token()
        if token is None:
            return None
        g.api_token_auth = True
        return user_for_token(token)

    login_manager.unauthorized_handler(unauthorized)

    from exam.api import register_api

    register_api(app)


def select_locale() -> str:
    from flask import current_app

    languages = current_app.config["LANGUAGES"]
    if not has_request_context():  # CLI and cron: the bureau's language
        return current_app.config["BABEL_DEFAULT_LOCALE"]
    chosen = session.get("language")
    if chosen in languages:
        return chosen
    if current_user and getattr(current_user, "is_authenticated", False) and current_user.language in languages:
        return current_user.language
    best = request.accept_languages.best_match(["zh_CN", "zh", "en"])
    if best and best.startswith("en"):
        return "en"
    return current_app.config["BABEL_DEFAULT_LOCALE"]


def _register_blueprints(app: Flask) -> None:
    from exam.accounts import bp as accounts_bp
    from exam.admin import bp as admin_bp
    from exam.certificates import bp as certificates_bp
    from exam.exams import bp as exams_bp
    from exam.main import bp as main_bp
    from exam.reports import bp as reports_bp
    from exam.study import bp as study_bp
    from question_bank import bp as question_bank_bp

    for bp in (main_bp, accounts_bp, admin_bp, question_bank_bp, study_bp, exams_bp, certificates_bp, reports_bp):
        app.register_blueprint(bp)

    from exam.core.access import public

    # Framework routes: static files and the OpenAPI document are public.
    for endpoint, view in app.view_functions.items():
        if endpoint in {"static", "bootstrap.static"} or endpoint.startswith("api-docs."):
            public(view)


def _register_hooks(app: Flask) -> None:
    from exam.core import template_helpers
    from exam.core.hardening import security_headers

    template_helpers.register(app)

    @app.before_request
    def force_password_change():
        # The API never redirects (and its token requests load no user here: the path is checked first).
        if (
            not request.path.startswith("/api/")
            and request.endpoint not in {"accounts.change_password", "accounts.logout", "static",
                                         "bootstrap.static", "accounts.set_language"}
            and not g.get("api_token_auth")
            and current_user.is_authenticated
            and current_user.must_change_password
        ):
            return redirect(url_for("accounts.change_password"))
        return None

    @app.after_request
    def add_security_headers(response):
        for name, value in security_headers(request.is_secure):
            response.headers.setdefault(name, value)
        return response
