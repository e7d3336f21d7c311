"""Marshmallow schemas shared by the API: they validate requests and generate the OpenAPI document."""

from __future__ import annotations

from marshmallow import Schema, fields, validate

from exam.accounts.operations import USERNAME_RE
from exam.core.access import PRIVILEGED_ROLES


class ErrorBodySchema(Schema):
    code = fields.String(required=True)
    message = fields.String(required=True)
    details = fields.List(fields.Raw())


class ErrorSchema(Schema):
    error = fields.Nested(ErrorBodySchema, required=True)


class DepartmentSchema(Schema):
    id = fields.Integer(dump_only=True)
    name = fields.String()
    code = fields.String(allow_none=True)
    parent_id = fields.Integer(allow_none=True)
    path = fields.String(dump_only=True)


class UserSchema(Schema):
    id = fields.Integer(dump_only=True)
    username = fields.String(required=True, validate=validate.Regexp(USERNAME_RE))
    name = fields.String(required=True, validate=validate.Length(min=1, max=64))
    department = fields.Function(lambda u: u.department.path if u.department else None, dump_only=True)
    department_id = fields.Integer(load_only=True, allow_none=True)
    post = fields.String(allow_none=True, validate=validate.Length(max=64))
    employment_status = fields.String(
        load_default="active", validate=validate.OneOf(["active", "seconded", "left", "retired"])
    )
    is_leader = fields.Boolean(load_default=False)
    roles = fields.Method("dump_roles", deserialize="load_roles")
    active = fields.Boolean(dump_only=True)

    def dump_roles(self, user):
        return sorted(user.roles)

    def load_roles(self, value):
        if not isinstance(value, list) or any(r not in (*PRIVILEGED_ROLES, "examinee") for r in value):
            from marshmallow import ValidationError

            raise ValidationError("roles must be a list of legal, hr, admin")
        return set(value) - {"examinee"}


class MeSchema(Schema):
    id = fields.Integer()
    username = fields.String()
    name = fields.String()
    department = fields.Function(lambda u: u.department.path if u.department else None)
    roles = fields.Method("dump_roles")
    language = fields.String(allow_none=True)

    def dump_roles(self, user):
        return sorted(user.roles)


class PageArgsSchema(Schema):
    page = fields.Integer(load_default=1, validate=validate.Range(min=1, max=100_000))
    per_page = fields.Integer(load_default=50, validate=validate.Range(min=1, max=500))
    q = fields.String(load_default="", validate=validate.Length(max=64))
