from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from wtforms import BooleanField, IntegerField, PasswordField, SelectField, SelectMultipleField, StringField
from wtforms.validators import DataRequired, EqualTo, Length, Optional
from wtforms.widgets import CheckboxInput, ListWidget

from exam.accounts.models import EMPLOYMENT_STATUSES, ROLE_LABELS
from exam.core.access import PRIVILEGED_ROLES


class LoginForm(FlaskForm):
    username = StringField(_l("Staff number"), validators=[DataRequired(), Length(max=32)])
    password = PasswordField(_l("Password"), validators=[DataRequired(), Length(max=256)])


class ChangePasswordForm(FlaskForm):
    current = PasswordField(_l("Current password"), validators=[DataRequired(), Length(max=256)])
    new = PasswordField(_l("New password"), validators=[DataRequired(), Length(max=256)])
    confirm = PasswordField(
        _l("Repeat the new password"),
        validators=[DataRequired(), EqualTo("new", message=_l("The two passwords differ."))],
    )


class MultiCheckboxField(SelectMultipleField):
    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()


class UserForm(FlaskForm):
    username = StringField(_l("Staff number"), validators=[DataRequired(), Length(min=2, max=32)])
    name = StringField(_l("Name"), validators=[DataRequired(), Length(max=64)])
    department_id = SelectField(_l("Department"), coerce=int, validators=[Optional()])
    post = StringField(_l("Post"), validators=[Optional(), Length(max=64)])
    employment_status = SelectField(
        _l("Employment status"), choices=[(k, v) for k, v in EMPLOYMENT_STATUSES.items()]
    )
    is_leader = BooleanField(_l("Leading cadre"))
    roles = MultiCheckboxField(_l("Roles"), choices=[(r, ROLE_LABELS[r]) for r in PRIVILEGED_ROLES])
    language = SelectField(
        _l("Language"), choices=[("", _l("Follow the browser")), ("zh_CN", "简体中文"), ("en", "English")]
    )


class DepartmentForm(FlaskForm):
    name = StringField(_l("Name"), validators=[DataRequired(), Length(max=100)])
    code = StringField(_l("Code"), validators=[Optional(), Length(max=50)])
    parent_id = SelectField(_l("Parent department"), coerce=int)
    sort_order = IntegerField(_l("Order"), default=0, validators=[Optional()])


class RosterImportForm(FlaskForm):
    file = FileField(_l("Roster file (.xlsx)"), validators=[FileRequired()])
    create_departments = BooleanField(_l("Create departments that do not exist yet"))


class ConfirmForm(FlaskForm):
    """An empty form: a POST button that carries the CSRF token."""


class LanguageForm(FlaskForm):
    language = SelectField(choices=[("zh_CN", "简体中文"), ("en", "English")])
