from __future__ import annotations

from flask import jsonify, render_template
from sqlalchemy import text

from exam import __version__
from exam.core.access import login_required, public
from exam.core.timeutil import local_today
from exam.extensions import db
from exam.main import bp


@bp.route("/")
@login_required
def index():
    return render_template("main/index.html", today=local_today())


@bp.route("/healthz")
@public
def healthz():
    try:
        db.session.execute(text("SELECT 1"))
        database = "ok"
    except Exception:  # report, never raise: this is what monitoring polls
        db.session.rollback()
        database = "error"
    status = 200 if database == "ok" else 503
    body = {"status": "ok" if status == 200 else "degraded", "app": "ok", "version": __version__,
            "database": database, "database_backend": db.engine.dialect.name}
    return jsonify(body), status
