from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from wtforms import (
    BooleanField,
    DateField,
    DecimalField,
    IntegerField,
    SelectField,
    SelectMultipleField,
    StringField,
    TextAreaField,
)
from wtforms.validators import DataRequired, Length, NumberRange, Optional

from exam.study.models import AUDIENCES, SESSION_KINDS


class BulletinForm(FlaskForm):
    year = IntegerField(_l("Year"), validators=[DataRequired(), NumberRange(min=2000, max=2100)])
    number = IntegerField(_l("Issue number"), validators=[Optional(), NumberRange(min=1, max=999)])
    title = StringField(_l("Title"), validators=[DataRequired(), Length(max=200)])
    summary = TextAreaField(_l("Summary"), validators=[Optional(), Length(max=2000)])
    body_format = SelectField(_l("Body format"), choices=[("markdown", "Markdown"), ("html", "HTML")])
    body_source = TextAreaField(_l("Body"), validators=[Optional(), Length(max=500_000)])
    original = FileField(_l("Original file (PDF or Word .docx, up to 20 MB)"))
    remove_original = BooleanField(_l("Remove the uploaded original"))
    law_ids = SelectMultipleField(_l("Laws covered"), coerce=int, validators=[Optional()])
    audience = SelectField(_l("Audience"), choices=list(AUDIENCES.items()))
    department_ids = SelectMultipleField(_l("Departments (sub-departments included)"), coerce=int,
                                         validators=[Optional()])
    required_by = DateField(_l("Required by"), validators=[Optional()])
    hours = DecimalField(_l("Study hours credited"), places=2, default=0,
                         validators=[Optional(), NumberRange(min=0, max=1000)])


class ConfirmForm(FlaskForm):
    pass


class TrainingSessionForm(FlaskForm):
    title = StringField(_l("Title"), validators=[DataRequired(), Length(max=200)])
    kind = SelectField(_l("Kind"), choices=list(SESSION_KINDS.items()))
    held_on = DateField(_l("Date"), validators=[DataRequired()])
    hours = DecimalField(_l("Hours"), places=2, validators=[DataRequired(), NumberRange(min=0.01, max=1000)])
    organiser = StringField(_l("Organiser"), validators=[Optional(), Length(max=100)])
    attendee_ids = SelectMultipleField(_l("Attendees"), coerce=int, validators=[Optional()])
    attendance_file = FileField(_l("Or import attendees from Excel (columns 工号, 姓名)"))
