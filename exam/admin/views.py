"""Views of this area (thin: load, authorise, validate, call one operation, commit, redirect)."""

from __future__ import annotations

import json
from datetime import datetime, time, timedelta

from flask import render_template, request
from sqlalchemy import or_, select

from exam.admin import bp
from exam.admin.forms import AuditSearchForm
from exam.core.access import roles_required
from exam.core.audit import AuditLog
from exam.core.timeutil import to_utc_naive
from exam.core.web import page_arg
from exam.extensions import db

AUDIT_PAGE_SIZE = 50


def audit_query(actor: str = "", action: str = "", target: str = "", date_from=None, date_to=None):
    """Newest first. ``actor`` and ``target`` match part of a name or id; ``action`` a prefix ("user." finds all
    user actions); dates are local calendar days, both ends included."""
    stmt = select(AuditLog).order_by(AuditLog.id.desc())
    if actor:
        stmt = stmt.where(AuditLog.actor_username.ilike(f"%{actor}%"))
    if action:
        stmt = stmt.where(AuditLog.action.ilike(f"{action}%"))
    if target:
        stmt = stmt.where(or_(AuditLog.target_type.ilike(f"%{target}%"), AuditLog.target_id == target))
    if date_from:
        stmt = stmt.where(AuditLog.at >= to_utc_naive(datetime.combine(date_from, time.min)))
    if date_to:
        stmt = stmt.where(AuditLog.at < to_utc_naive(datetime.combine(date_to + timedelta(days=1), time.min)))
    return stmt


def _pretty(value: str | None) -> str:
    """Stored JSON, indented for reading; the template escapes it."""
    if not value:
        return ""
    try:
        return json.dumps(json.loads(value), ensure_ascii=False, indent=1, sort_keys=True)
    except ValueError:
        return value


@bp.route("/admin/audit")
@roles_required("admin")
def audit():
    form = AuditSearchForm(request.args)
    filters = {}
    if form.validate():
        filters = {
            "actor": (form.actor.data or "").strip(),
            "action": (form.action.data or "").strip(),
            "target": (form.target.data or "").strip(),
            "date_from": form.date_from.data,
            "date_to": form.date_to.data,
        }
    page = db.paginate(audit_query(**filters), page=page_arg(), per_page=AUDIT_PAGE_SIZE, error_out=False)
    args = {k: v for k, v in request.args.items() if k in form._fields and v}
    return render_template("admin/audit.html", form=form, page=page, pretty=_pretty, args=args)
