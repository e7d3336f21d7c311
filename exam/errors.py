"""Error responses: JSON under /api/v1, HTML pages in the user's language elsewhere."""

from __future__ import annotations

from flask import jsonify, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException, InternalServerError

from exam.core.errors import DomainError
from exam.extensions import db

CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    413: "too_large",
    415: "unsupported_media_type",
    422: "validation_error",
    429: "rate_limited",
    500: "server_error",
    503: "unavailable",
}


def _messages() -> dict[int, tuple[str, str]]:
    return {
        400: (_("Bad request"), _("The request could not be understood. Please go back and try again.")),
        401: (_("Please sign in"), _("You need to sign in to do this.")),
        403: (_("Not allowed"), _("Your account does not have permission for this page.")),
        404: (_("Not found"), _("The page or record does not exist, or you cannot see it.")),
        405: (_("Not allowed"), _("This address does not accept that kind of request.")),
        409: (_("Conflict"), _("The record was changed at the same time. Please reload and try again.")),
        413: (_("File too large"), _("The file is larger than allowed. Please choose a smaller file.")),
        415: (_("Unsupported format"), _("The content type of the request is not supported.")),
        422: (_("Invalid data"), _("Some of the data is not valid.")),
        429: (_("Too many attempts"), _("Too many requests from your address. Please wait a minute and try again.")),
        500: (_("Server error"), _("Something went wrong on our side. Nothing was saved; please try again.")),
        503: (_("Unavailable"), _("The service is temporarily unavailable.")),
    }


def _is_api() -> bool:
    from exam.api import is_api_request

    return is_api_request()


def error_json(status: int, message: str, code: str | None = None, details=None, headers=None):
    body = {"error": {"code": code or CODES.get(status, "error"), "message": message}}
    if details:
        body["error"]["details"] = details
    response = jsonify(body)
    response.status_code = status
    for key, value in (headers or {}).items():
        response.headers[key] = value
    return response


def render_http_error(error: HTTPException):
    status = error.code or 500
    if status >= 500 or (status == 400 and isinstance(error, CSRFError)):
        db.session.rollback()
    title, text = _messages().get(status, (error.name, error.description or ""))
    if isinstance(error, CSRFError):
        text = _("The form has expired or was not sent from this site. Please reload the page and try again.")
    headers = {}
    original = error.get_response()
    for key in ("Retry-After", "X-RateLimit-Limit", "X-RateLimit-Remaining", "X-RateLimit-Reset", "Allow"):
        if key in original.headers:
            headers[key] = original.headers[key]
    if _is_api():
        data = getattr(error, "data", None) or {}
        details = data.get("errors") or data.get("messages")
        message = data.get("message") or text
        code = "csrf_failed" if isinstance(error, CSRFError) else None
        return error_json(status, str(message), code=code, details=details, headers=headers)
    response = render_template("errors/error.html", status=status, title=title, text=text)
    return response, status, headers


def handle_domain_error(error: DomainError):
    db.session.rollback()
    if _is_api():
        return error_json(error.status_code, error.message, code=error.code, details=error.details)
    title = _messages().get(error.status_code, (_("Error"), ""))[0]
    return render_template("errors/error.html", status=error.status_code, title=title, text=error.message,
                           details=error.details), error.status_code


def handle_unexpected(error: Exception):
    db.session.rollback()
    if isinstance(error, HTTPException):
        return render_http_error(error)
    from flask import current_app

    current_app.logger.exception("unhandled error on %s %s", request.method, request.path)
    return render_http_error(InternalServerError())


def unauthorized():
    if _is_api():
        return error_json(401, _("You need to sign in to do this."))
    return redirect(url_for("accounts.login", next=request.full_path.rstrip("?")))


def register_error_handlers(app) -> None:
    app.register_error_handler(DomainError, handle_domain_error)
    app.register_error_handler(HTTPException, render_http_error)
    app.register_error_handler(Exception, handle_unexpected)
