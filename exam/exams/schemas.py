"""The exam JSON format (create, export, import) and the attempt API shapes, as marshmallow schemas."""

from __future__ import annotations

from datetime import datetime

from marshmallow import EXCLUDE, Schema, ValidationError, fields, post_load, validate, validates_schema

from exam.core.timeutil import to_utc_naive
from exam.exams.models import PURPOSES
from question_bank.types import QUESTION_TYPES

SHOW = ["immediately", "after_close", "never"]
MAX_SECTIONS = 50
MAX_NAMES = 500


class LocalDateTime(fields.DateTime):
    """ISO 8601 with an offset (or naive = the bureau's local time), stored as naive UTC."""

    def _deserialize(self, value, attr, data, **kwargs):
        parsed: datetime = super()._deserialize(value, attr, data, **kwargs)
        return to_utc_naive(parsed)


def _names(**kwargs):
    return fields.List(fields.String(validate=validate.Length(min=1, max=200)),
                       validate=validate.Length(max=MAX_NAMES), load_default=list, **kwargs)


class SectionSchema(Schema):
    class Meta:
        unknown = EXCLUDE

    title = fields.String(required=True, validate=validate.Length(min=1, max=100))
    type = fields.String(required=True, validate=validate.OneOf(list(QUESTION_TYPES)))
    count = fields.Integer(required=True, strict=True, validate=validate.Range(min=1, max=500))
    points = fields.Float(required=True, validate=validate.Range(min=0.01, max=100, min_inclusive=True))
    categories = _names()
    tags = _names()
    laws = _names()
    difficulty = fields.List(fields.Integer(strict=True, validate=validate.Range(min=1, max=5)),
                             validate=validate.Length(equal=2), load_default=lambda: [1, 5])

    @validates_schema
    def _difficulty_order(self, data, **kwargs):
        lo, hi = data.get("difficulty") or [1, 5]
        if lo > hi:
            raise ValidationError("difficulty must be [low, high]", "difficulty")


class AudienceSchema(Schema):
    class Meta:
        unknown = EXCLUDE

    everyone = fields.Boolean(load_default=True)
    departments = _names()
    users = _names()


class ExamJsonSchema(Schema):
    """The exam JSON (issue #4). Unknown fields are ignored so later additions import into older versions."""

    class Meta:
        unknown = EXCLUDE

    title = fields.String(required=True, validate=validate.Length(min=1, max=200))
    purpose = fields.String(required=True, validate=validate.OneOf(list(PURPOSES)))
    certificate_category = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=64))
    time_limit_minutes = fields.Integer(required=True, strict=True, validate=validate.Range(min=1, max=1440))
    opens_at = LocalDateTime(required=True)
    closes_at = LocalDateTime(required=True)
    max_attempts = fields.Integer(load_default=1, strict=True, validate=validate.Range(min=1, max=20))
    counting_attempt = fields.String(load_default="best", validate=validate.OneOf(["best", "last"]))
    pass_mark = fields.Float(load_default=60, validate=validate.Range(min=0, max=10_000))
    bands = fields.Dict(keys=fields.String(validate=validate.Length(min=1, max=16)),
                        values=fields.Float(validate=validate.Range(min=0, max=100)),
                        load_default=None, allow_none=True, validate=validate.Length(max=10))
    multiple_scoring = fields.String(load_default="all_or_nothing",
                                     validate=validate.OneOf(["all_or_nothing", "partial"]))
    show_results = fields.String(load_default="immediately", validate=validate.OneOf(SHOW))
    show_answers = fields.String(load_default="after_close", validate=validate.OneOf(SHOW))
    focus_loss_limit = fields.Integer(load_default=0, strict=True, validate=validate.Range(min=0, max=1000))
    grace_seconds = fields.Integer(load_default=None, allow_none=True, strict=True,
                                   validate=validate.Range(min=0, max=600))
    audience = fields.Nested(AudienceSchema, load_default=lambda: {"everyone": True, "departments": [], "users": []})
    sections = fields.List(fields.Nested(SectionSchema), required=True,
                           validate=validate.Length(min=1, max=MAX_SECTIONS))

    @validates_schema
    def _window(self, data, **kwargs):
        if data.get("opens_at") and data.get("closes_at") and data["closes_at"] <= data["opens_at"]:
            raise ValidationError("closes_at must be after opens_at", "closes_at")

    @post_load
    def _pass_mark_fits(self, data, **kwargs):
        total = sum(s["count"] * s["points"] for s in data["sections"])
        if data["pass_mark"] > total + 1e-9:
            raise ValidationError(f"pass_mark {data['pass_mark']} is above the paper's total {total}", "pass_mark")
        return data


class ExamOutSchema(Schema):
    id = fields.Integer()
    title = fields.String()
    purpose = fields.String()
    certificate_category = fields.String(allow_none=True)
    status = fields.String()
    opens_at = fields.DateTime()
    closes_at = fields.DateTime()
    time_limit_minutes = fields.Integer()
    max_attempts = fields.Integer()
    max_score = fields.Float()
    pass_mark = fields.Float()


class SaveSchema(Schema):
    """A save: the response in displayed keys and a sequence number. Anything else sent is ignored."""

    class Meta:
        unknown = EXCLUDE

    response = fields.Raw(required=True, allow_none=True)
    seq = fields.Integer(required=True, strict=True, validate=validate.Range(min=1, max=2**53))
    flagged = fields.Boolean(load_default=None, allow_none=True)


class EventSchema(Schema):
    class Meta:
        unknown = EXCLUDE

    kind = fields.String(load_default="hidden", validate=validate.OneOf(["hidden", "blur"]))


class IgnoreBodySchema(Schema):
    """Submit takes no data: a client-sent score, deadline or anything else is ignored."""

    class Meta:
        unknown = EXCLUDE


class ExtraTimeSchema(Schema):
    class Meta:
        unknown = EXCLUDE

    minutes = fields.Integer(required=True, strict=True, validate=validate.Range(min=1, max=600))
