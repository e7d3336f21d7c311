"""Request hardening installed by ``create_app`` before the blueprints: inputs no view should ever see.

- ``<int:...>`` in URLs matches only 0 .. 2**31-1 (see ``exam.core.web.BoundedIntegerConverter``): a huge id is
  404, never a database overflow error.
- API bodies: JSON up to ``API_MAX_JSON_BYTES`` (413 beyond, also for bodies sent without a length), and a body
  of another type than JSON or multipart is 415.
- NUL characters: PostgreSQL text cannot hold them (psycopg raises), and no legitimate input has one. A path with
  a NUL is 404; a query string, form field or JSON string with one is 400.
"""

from __future__ import annotations

from flask import Flask, abort, current_app, request
from flask_babel import gettext as _

from exam.core.web import BoundedIntegerConverter

NUL = "\x00"
WRITE_METHODS = {"POST", "PUT", "PATCH", "DELETE"}
# Bodies the API accepts: JSON, and multipart for endpoints that take a file.
ACCEPTED_API_BODY_TYPES = {"application/json", "multipart/form-data"}


def check_api_body():
    """API writes: JSON bodies are small, and a body of another type is refused with 415."""
    from exam.api import is_api_request
    from exam.errors import error_json

    if not is_api_request() or request.method not in WRITE_METHODS:
        return None
    mimetype = request.mimetype or ""
    is_json = mimetype == "application/json" or mimetype.endswith("+json")
    has_body = bool(request.content_length) or request.headers.get("Transfer-Encoding", "").lower() == "chunked"
    if has_body and not is_json and mimetype not in ACCEPTED_API_BODY_TYPES:
        return error_json(415, _("Send the data as JSON (Content-Type: application/json)."))
    if is_json:
        limit = current_app.config["API_MAX_JSON_BYTES"]
        if request.content_length is not None and request.content_length > limit:
            return error_json(413, _("The request body is larger than %(n)d KB.", n=limit // 1024))
        if request.content_length is None and has_body:
            # A body without a length (chunked): read it up to the limit, then one more byte is too much.
            request.max_content_length = limit
            request.get_data(cache=True)
            request.stream.read(1)  # raises RequestEntityTooLarge (413) when more was sent
    return None


def _contains_nul(value) -> bool:
    if isinstance(value, str):
        return NUL in value
    if isinstance(value, dict):
        return any(_contains_nul(k) or _contains_nul(v) for k, v in value.items())
    if isinstance(value, list):
        return any(_contains_nul(v) for v in value)
    return False


def refuse_nul_characters():
    if NUL in request.path:
        abort(404)
    if any(NUL in k or NUL in v for k, v in request.args.items(multi=True)):
        abort(400)
    if request.method in WRITE_METHODS:
        if request.mimetype in {"application/x-www-form-urlencoded", "multipart/form-data"}:
            if any(NUL in k or NUL in v for k, v in request.form.items(multi=True)):
                abort(400)
            if any(NUL in (f.filename or "") for f in request.files.values()):
                abort(400)
        # silent: malformed JSON is the view's to report (400 with details); the parse is cached for the view
        elif request.is_json and request.content_length != 0 and _contains_nul(request.get_json(silent=True)):
            abort(400)
    return None


def security_headers(secure: bool) -> list[tuple[str, str]]:
    """The headers every answer carries (the app's after_request hook, the exam day's fast path)."""
    headers = [
        ("X-Content-Type-Options", "nosniff"),
        ("X-Frame-Options", "DENY"),
        ("Referrer-Policy", "same-origin"),
        ("Content-Security-Policy",
         "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
         "object-src 'none'; frame-ancestors 'none'; base-uri 'self'; form-action 'self'"),
    ]
    if secure:
        headers.append(("Strict-Transport-Security", "max-age=31536000"))
    return headers


def check_request():
    return check_api_body() or refuse_nul_characters()


def harden(app: Flask) -> None:
    app.url_map.converters["int"] = BoundedIntegerConverter
    app.before_request(check_request)
