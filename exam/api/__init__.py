"""The JSON API under /api/v1, documented by OpenAPI generated from the marshmallow schemas.

Clients authenticate with the browser session plus ``X-CSRFToken`` on writes, or with
``Authorization: Bearer TOKEN`` (no CSRF: a bearer token is not sent by the browser on its own).
Errors are ``{"error": {"code": ..., "message": ...}}``.
"""

from __future__ import annotations

from flask import request
from flask_smorest import Api as SmorestApi
from flask_smorest import Blueprint

from exam.extensions import csrf

API_PREFIX = "/api/v1"
WRITE_METHODS = {"POST", "PUT", "PATCH", "DELETE"}


class Api(SmorestApi):
    def handle_http_exception(self, error):
        # flask-smorest registers this for every HTTPException in the app; pages get HTML, the API JSON.
        from exam.errors import render_http_error

        return render_http_error(error)


api = Api()


def is_api_request() -> bool:
    return request.path == API_PREFIX or request.path.startswith(API_PREFIX + "/")


def bearer_token() -> str | None:
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() == "bearer" and token.strip():
        return token.strip()
    return None


def api_blueprint(name: str, import_name: str, description: str) -> Blueprint:
    """A blueprint of the API: CSRF checked on session-authenticated writes only."""
    blp = Blueprint(name, import_name, url_prefix=API_PREFIX, description=description)
    csrf.exempt(blp)

    @blp.before_request
    def _csrf_for_session_writes():
        if request.method in WRITE_METHODS and bearer_token() is None:
            csrf.protect()

    return blp


def register_api(app) -> None:
    api.init_app(app)
    from exam.api import accounts, certificates, exams, questions, reports, study, system

    for module in (system, accounts, questions, study, exams, certificates, reports):
        api.register_blueprint(module.blp)
