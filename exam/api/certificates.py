from __future__ import annotations

from flask import abort, current_app
from flask_login import current_user
from marshmallow import Schema, fields, validate
from sqlalchemy import select

from exam.accounts.models import User
from exam.api import api_blueprint
from exam.certificates import operations as ops
from exam.certificates import printing
from exam.certificates.models import STATUSES, Certificate, EnforcementCategory
from exam.core.access import login_required, public, roles_required
from exam.core.errors import NotFound
from exam.extensions import db, limiter

blp = api_blueprint("api_certificates", __name__, "Enforcement certificates and eligibility")


class ReasonSchema(Schema):
    code = fields.String()
    message = fields.String()
    data = fields.Dict()


class EligibilitySchema(Schema):
    username = fields.String()
    category = fields.String()
    eligible = fields.Boolean()
    reasons = fields.List(fields.Nested(ReasonSchema))


class EligibilityArgs(Schema):
    category = fields.String(required=True, validate=validate.Length(min=1, max=64))


class CertificateSchema(Schema):
    id = fields.Integer()
    number = fields.String()
    username = fields.Function(lambda c: c.holder.username)
    name = fields.Function(lambda c: c.holder.name)
    category = fields.Function(lambda c: c.category.name)
    enforcement_body = fields.String()
    area = fields.String()
    source_of_power = fields.String()
    issued_on = fields.Date()
    valid_until = fields.Date()
    status = fields.String()
    status_reason = fields.String(allow_none=True)
    replaces = fields.Function(lambda c: c.replaces.number if c.replaces else None)
    attempts = fields.Function(lambda c: [b.attempt_id for b in c.bases])
    verification_url = fields.Function(printing.verify_url)


class IssueSchema(Schema):
    username = fields.String(required=True, validate=validate.Length(min=1, max=32))
    category = fields.String(required=True, validate=validate.Length(min=1, max=64))
    area = fields.String(validate=validate.Length(max=100))
    source_of_power = fields.String(validate=validate.Length(max=200))
    enforcement_body = fields.String(validate=validate.Length(max=100))


class StatusSchema(Schema):
    status = fields.String(required=True, validate=validate.OneOf([s for s in STATUSES if s != "expired"]))
    reason = fields.String(required=True, validate=validate.Length(min=1, max=2000))
    effective_on = fields.Date()


class PublicCertificateSchema(Schema):
    """What anyone may see: nothing private."""

    number = fields.String()
    name = fields.Function(lambda c: c.holder.name)
    unit = fields.Function(lambda c: c.enforcement_body + (f" {c.holder.department.name}" if c.holder.department
                                                           else ""))
    category = fields.Function(lambda c: c.category.name)
    area = fields.String()
    issued_on = fields.Date()
    valid_until = fields.Date()
    status = fields.Function(lambda c: ops.public_status(c))
    valid = fields.Function(lambda c: ops.public_status(c) == "valid")


def _category(name: str) -> EnforcementCategory:
    category = db.session.scalar(select(EnforcementCategory).where(EnforcementCategory.name == name))
    if category is None:
        raise NotFound(f"unknown category: {name}")
    return category


def _person(username: str) -> User:
    user = db.session.scalar(select(User).where(User.username == username))
    if user is None:
        raise NotFound("no such person")
    return user


@blp.route("/people/<string:username>/eligibility", methods=["GET"])
@login_required
@blp.arguments(EligibilityArgs, location="query")
@blp.response(200, EligibilitySchema)
def eligibility(args, username):
    """Whether a person may be issued a certificate of a category, with every reason if not (self, hr, legal)."""
    if username != current_user.username and not current_user.has_any_role({"hr", "legal"}):
        abort(404)
    user = _person(username)
    category = _category(args["category"])
    verdict = ops.check_eligibility([user], category)[user.id]
    return {"username": user.username, "category": category.name, "eligible": verdict.eligible,
            "reasons": [r.as_dict() for r in verdict.reasons]}


@blp.route("/certificates", methods=["POST"])
@roles_required("hr")
@blp.arguments(IssueSchema)
@blp.response(201, CertificateSchema)
def issue(data):
    """Issue a certificate; 422 with every reason when the person is not eligible."""
    cert = ops.issue_certificate(_person(data["username"]), _category(data["category"]), area=data.get("area"),
                                 source_of_power=data.get("source_of_power"),
                                 enforcement_body=data.get("enforcement_body"), issued_by=current_user)
    db.session.commit()
    return cert


@blp.route("/certificates/<int:cert_id>", methods=["GET"])
@roles_required("hr")
@blp.response(200, CertificateSchema)
def get_certificate(cert_id):
    return db.get_or_404(Certificate, cert_id)


@blp.route("/certificates/<int:cert_id>/status", methods=["POST"])
@roles_required("hr")
@blp.arguments(StatusSchema)
@blp.response(200, CertificateSchema)
def change_status(data, cert_id):
    """Suspend, restore, withdraw, revoke or cancel a certificate."""
    cert = db.get_or_404(Certificate, cert_id)
    ops.change_status(cert, data["status"], reason=data["reason"], effective_on=data.get("effective_on"),
                      by=current_user)
    db.session.commit()
    return cert


def _verify_limit() -> str:
    return current_app.config["VERIFY_RATE_LIMIT"]


@blp.route("/verify/<string:token>", methods=["GET"])
@public
@limiter.limit(_verify_limit)
@blp.response(200, PublicCertificateSchema)
def verify(token):
    """Public verification by the QR code's token (rate limited)."""
    return ops.by_token(token)
