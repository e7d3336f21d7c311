"""Study bulletins, confirmation, training hours and training sessions (e.g. recorded by the bureau's OA)."""

from __future__ import annotations

from flask import url_for
from flask_babel import gettext as _
from flask_login import current_user
from flask_smorest import abort
from marshmallow import Schema, fields, validate

from exam.accounts.models import user_by_username
from exam.api import api_blueprint
from exam.core.access import login_required, roles_required
from exam.core.errors import DomainError
from exam.core.timeutil import local_today
from exam.extensions import db
from exam.study import hours
from exam.study import operations as ops

blp = api_blueprint("api_study", __name__, "Study")


class BulletinSummarySchema(Schema):
    id = fields.Integer()
    year = fields.Integer()
    number = fields.Integer()
    issue = fields.String(attribute="issue_label")
    title = fields.String()
    summary = fields.String()
    required_by = fields.Date(allow_none=True)
    hours = fields.Decimal(as_string=False)
    status = fields.String()
    published_at = fields.DateTime(allow_none=True)
    opened_at = fields.DateTime(allow_none=True)
    confirmed_at = fields.DateTime(allow_none=True)
    read = fields.Boolean()
    confirmed = fields.Boolean()


class LawRefSchema(Schema):
    id = fields.Integer()
    name = fields.String()


class BulletinDetailSchema(BulletinSummarySchema):
    body_html = fields.String()
    original_name = fields.String(allow_none=True)
    original_url = fields.String(allow_none=True)
    laws = fields.List(fields.Nested(LawRefSchema))
    audience = fields.String()


class ConfirmResultSchema(Schema):
    bulletin_id = fields.Integer()
    confirmed_at = fields.DateTime()
    hours_credited = fields.Decimal(as_string=False)
    newly_confirmed = fields.Boolean()


class BulletinListArgs(Schema):
    q = fields.String(load_default="", validate=validate.Length(max=100))


class YearArgs(Schema):
    year = fields.Integer(load_default=None, validate=validate.Range(min=2000, max=2100))


class HoursSchema(Schema):
    username = fields.String()
    year = fields.Integer()
    required = fields.Decimal(as_string=False)
    total = fields.Decimal(as_string=False)
    by_source = fields.Dict(keys=fields.String(), values=fields.Decimal(as_string=False))


class TrainingSessionInSchema(Schema):
    title = fields.String(required=True, validate=validate.Length(min=1, max=200))
    date = fields.Date(required=True)
    hours = fields.Decimal(required=True, validate=validate.Range(min=0, min_inclusive=False, max=1000))
    kind = fields.String(load_default="session", validate=validate.OneOf(["session", "lecture"]))
    organiser = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=100))
    attendees = fields.List(fields.String(validate=validate.Length(min=1, max=32)), required=True,
                            validate=validate.Length(min=1, max=20_000))


class TrainingSessionOutSchema(Schema):
    id = fields.Integer()
    title = fields.String()
    kind = fields.String()
    date = fields.Date(attribute="held_on")
    hours = fields.Decimal(as_string=False)
    organiser = fields.String(allow_none=True)
    attendees = fields.Method("dump_attendees")

    def dump_attendees(self, session):
        return sorted(a.user.username for a in session.attendances)


def _state(bulletin, receipt) -> dict:
    return {
        "id": bulletin.id, "year": bulletin.year, "number": bulletin.number, "issue_label": bulletin.issue_label,
        "title": bulletin.title, "summary": bulletin.summary, "required_by": bulletin.required_by,
        "hours": bulletin.hours, "status": bulletin.status, "published_at": bulletin.published_at,
        "opened_at": receipt.first_opened_at if receipt else None,
        "confirmed_at": receipt.confirmed_at if receipt else None,
        "read": bool(receipt and receipt.first_opened_at),
        "confirmed": bool(receipt and receipt.confirmed_at),
    }


@blp.route("/bulletins", methods=["GET"])
@login_required
@blp.arguments(BulletinListArgs, location="query")
@blp.response(200, BulletinSummarySchema(many=True))
def list_bulletins(args):
    """The caller's published bulletins, newest first, with their read and confirmed state."""
    query = ops.normalise_query(args["q"])
    if query:
        try:
            ops.check_query(query)
        except DomainError as exc:
            abort(422, message=exc.message)
    bulletins = ops.bulletins_for(current_user, query or None)
    receipts = ops.receipts_for(current_user, [b.id for b in bulletins])
    return [_state(b, receipts.get(b.id)) for b in bulletins]


@blp.route("/bulletins/<int:bulletin_id>", methods=["GET"])
@login_required
@blp.response(200, BulletinDetailSchema)
def get_bulletin(bulletin_id):
    """One bulletin (404 unless it is assigned to the caller, or the caller is in the legal department)."""
    bulletin = ops.visible_bulletin(bulletin_id, current_user)
    receipt = ops.open_bulletin(bulletin, current_user)
    if receipt is not None:
        db.session.commit()
    data = _state(bulletin, receipt)
    data.update(
        body_html=bulletin.body_html or bulletin.original_html or "",
        original_name=bulletin.original_name,
        original_url=url_for("study.original", bulletin_id=bulletin.id) if bulletin.original_stored else None,
        laws=bulletin.laws, audience=bulletin.audience,
    )
    return data


@blp.route("/bulletins/<int:bulletin_id>/confirm", methods=["POST"])
@login_required
@blp.response(200, ConfirmResultSchema)
def confirm_bulletin(bulletin_id):
    """"我已学习": credits the bulletin's hours once; confirming again changes nothing."""
    bulletin = ops.visible_bulletin(bulletin_id, current_user)
    receipt, newly = ops.confirm_bulletin(bulletin, current_user)
    db.session.commit()
    return {"bulletin_id": bulletin.id, "confirmed_at": receipt.confirmed_at,
            "hours_credited": receipt.hours_credited, "newly_confirmed": newly}


@blp.route("/people/<string:username>/training-hours", methods=["GET"])
@login_required
@blp.arguments(YearArgs, location="query")
@blp.response(200, HoursSchema)
def training_hours(args, username):
    """A person's study hours of a year by source (the person, the legal department and HR only)."""
    person = user_by_username(username)
    allowed = person is not None and (person.id == current_user.id or current_user.has_any_role(("legal", "hr")))
    if not allowed:
        abort(404, message=_("The person does not exist, or you cannot see their hours."))
    year = args["year"] or local_today().year
    breakdown = hours.hours_for_year([person.id], year)[person.id]
    return {"username": person.username, "year": year, "required": hours.required_hours(),
            "total": breakdown.total, "by_source": breakdown.by_source}


@blp.route("/training-sessions", methods=["POST"])
@roles_required("legal", "hr")
@blp.arguments(TrainingSessionInSchema)
@blp.response(201, TrainingSessionOutSchema)
def create_training_session(data):
    """Record a session held elsewhere; every attendee must be a known staff number or nothing is stored."""
    users, unknown = ops.find_users(data["attendees"])
    if unknown:
        abort(422, message=_("Unknown staff numbers: %(list)s", list=", ".join(unknown)),
              errors={"attendees": unknown})
    session = ops.create_training_session(
        ops.SessionData(title=data["title"], held_on=data["date"], hours=data["hours"], kind=data["kind"],
                        organiser=data.get("organiser")),
        users, by=current_user,
    )
    db.session.commit()
    return session
