"""The exam day's autosave and submit for bearer-token clients, answered in front of Flask's request machinery.

Every examinee autosaves many times and submits once, most of them in the same last minute (issue #8). The
statements of ``exam.exams.hot`` already do the work in a few round trips; what was left of a request's cost was
the framework around them: the request context, the before/after hooks (CSRF, NUL and body checks, the locale,
flask-login, the rate limiter), webargs and the response wrapper, about two thirds of an autosave's time in
process. This WSGI layer, installed around ``app.wsgi_app`` by ``create_app``, answers the one common case of the
two routes itself:

    PUT  /api/v1/attempts/<id>/items/<position>   with ``Authorization: Bearer`` and a JSON body
    POST /api/v1/attempts/<id>/submit              with ``Authorization: Bearer``

and hands **everything else to the Flask app unchanged**: a session (cookie) request, a body that is not small,
valid JSON without NUL characters, data the schema refuses, an id out of range, and every answer that is not a
success (no such attempt or token, finished, past the deadline, a bad response, any exception). The Flask routes
in ``exam.api.exams`` then run the same request from the start and answer it the ordinary way, in the user's
language. Handing over is safe because nothing was stored: the statements of ``exam.exams.hot`` either commit
the save or submit or leave the database as it was, and they are idempotent (a save by its sequence number, a
submit by the attempt's status).

The rules stay in one place: the data is checked by the routes' own schema (``SaveSchema``), the work is
``hot.save`` / ``hot.submit``, the answer is built by the same functions as the Flask routes' and sent with the
same headers (``exam.core.hardening.security_headers``). Turn it off with ``EXAM_DAY_FAST_PATH = False``.
"""

from __future__ import annotations

import io
import json
import re

from marshmallow import ValidationError

from exam.core.hardening import security_headers
from exam.core.timeutil import utcnow

_SAVE = re.compile(r"/api/v1/attempts/([1-9][0-9]{0,9})/items/([0-9]{1,10})\Z")
_SUBMIT = re.compile(r"/api/v1/attempts/([1-9][0-9]{0,9})/submit\Z")
_MAX_ID = 2**31 - 1  # as exam.core.web.BoundedIntegerConverter: beyond it the Flask route answers 404


class ExamDayFastPath:
    """WSGI middleware: the successful bearer-token autosave and submit, the rest passed to ``wsgi_app``."""

    def __init__(self, app, wsgi_app):
        from exam.api.exams import MAX_ATTEMPT_BODY, save_answer
        from exam.exams import hot
        from exam.exams.schemas import SaveSchema
        from exam.extensions import db

        self.hot, self.save_answer, self.db = hot, save_answer, db  # imported once, not on every request

        self.app = app
        self.wsgi_app = wsgi_app
        self.max_body = min(MAX_ATTEMPT_BODY, app.config["API_MAX_JSON_BYTES"])
        self.save_schema = SaveSchema()

    def __call__(self, environ, start_response):
        method = environ.get("REQUEST_METHOD")
        match = None
        if method == "PUT":
            match = _SAVE.match(environ.get("PATH_INFO", ""))
        elif method == "POST":
            match = _SUBMIT.match(environ.get("PATH_INFO", ""))
        if match is None or not self.app.config["EXAM_DAY_FAST_PATH"]:
            return self.wsgi_app(environ, start_response)
        answer = self._answer(environ, method, match)
        if answer is None:
            return self.wsgi_app(environ, start_response)
        body = (json.dumps(answer, separators=(",", ":"), sort_keys=True) + "\n").encode()  # as Flask's jsonify
        headers = [("Content-Type", "application/json"), ("Content-Length", str(len(body)))]
        headers += security_headers(environ.get("wsgi.url_scheme") == "https") + [("Vary", "Cookie")]
        start_response("200 OK", headers)
        return [body]

    def _answer(self, environ, method: str, match) -> dict | None:
        """The answer of a successful save or submit, or None: the Flask app answers the request."""
        ids = [int(group) for group in match.groups()]
        if max(ids) > _MAX_ID or "HTTP_COOKIE" in environ or environ.get("QUERY_STRING"):
            return None
        scheme, _, token = environ.get("HTTP_AUTHORIZATION", "").partition(" ")
        token = token.strip()
        if scheme.lower() != "bearer" or not token:
            return None
        data = self._json_body(environ, required=method == "PUT")
        if data is None:
            return None
        hot, db = self.hot, self.db
        with self.app.app_context():
            try:
                owner = hot.Owner.from_token(token)
                now = utcnow()
                if method == "PUT":
                    try:
                        loaded = self.save_schema.load(data)
                    except ValidationError:
                        return None
                    result = hot.save(owner, ids[0], ids[1], loaded["response"], loaded["seq"],
                                      flagged=loaded.get("flagged"), now=now)
                    return None if result is None else self.save_answer(result, now)
                return hot.submit(owner, ids[0], now)
            except Exception:  # nothing was stored (see the module's note): the Flask app answers
                db.session.rollback()
                return None

    def _json_body(self, environ, *, required: bool) -> dict | None:
        """The body as a JSON object (put back for the Flask app), ``{}`` for a submit without one; None when it
        is not plain, small JSON: the Flask app's checks answer it."""
        length = environ.get("CONTENT_LENGTH") or ""
        mimetype = (environ.get("CONTENT_TYPE") or "").partition(";")[0].strip().lower()
        if environ.get("HTTP_TRANSFER_ENCODING") or not (length.isdigit() or length == ""):
            return None
        size = int(length or 0)
        if size == 0:
            return None if required or mimetype not in {"", "application/json"} else {}
        if mimetype != "application/json" or size > self.max_body:
            return None
        raw = environ["wsgi.input"].read(size)
        environ["wsgi.input"] = io.BytesIO(raw)
        if len(raw) != size or b"\\u0000" in raw:
            return None
        try:
            data = json.loads(raw)
        except ValueError:
            return None
        return data if isinstance(data, dict) else None
