from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from wtforms import DateField, IntegerField, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length, NumberRange, Optional

from exam.certificates.models import STATUSES

LIST_KINDS = {
    "issue": _l("Eligible to issue"),
    "ineligible": _l("Not eligible, with reasons"),
    "renewal": _l("Renewal due"),
    "review": _l("Annual review results"),
    "expiring": _l("Expiring soon"),
    "valid": _l("Holders of valid certificates"),
}


class ApplyForm(FlaskForm):
    """申领: pick a category and the people; the page shows each person's eligibility."""

    category_id = SelectField(_l("Enforcement category"), coerce=int, validators=[DataRequired()])
    department_id = SelectField(_l("Department"), coerce=int, validators=[Optional()])
    usernames = TextAreaField(_l("Staff numbers (one per line, optional)"),
                              validators=[Optional(), Length(max=200_000)])


class IssueForm(FlaskForm):
    category_id = IntegerField(validators=[DataRequired()])
    area = StringField(_l("Enforcement area"), validators=[Optional(), Length(max=100)])
    source_of_power = StringField(_l("Source of power"), validators=[Optional(), Length(max=200)])


class StatusForm(FlaskForm):
    status = SelectField(_l("New status"), choices=[(k, v) for k, v in STATUSES.items() if k != "expired"])
    reason = TextAreaField(_l("Reason"), validators=[DataRequired(), Length(max=2000)])
    effective_on = DateField(_l("Effective date"), validators=[Optional()])


class PhotoForm(FlaskForm):
    photo = FileField(_l("Photo (JPEG or PNG)"), validators=[FileRequired()])


class ListForm(FlaskForm):
    kind = SelectField(_l("List"), choices=list(LIST_KINDS.items()))
    category_id = SelectField(_l("Enforcement category"), coerce=int, validators=[Optional()])
    year = IntegerField(_l("Year"), validators=[Optional(), NumberRange(2000, 2100)])


class CategoryForm(FlaskForm):
    name = StringField(_l("Name"), validators=[DataRequired(), Length(max=64)])
    code = StringField(_l("Code (used in certificate numbers)"), validators=[DataRequired(), Length(max=16)])
    validity_years = IntegerField(_l("Validity (years)"), validators=[Optional(), NumberRange(1, 20)])
    default_area = StringField(_l("Default enforcement area"), validators=[Optional(), Length(max=100)])
    default_source_of_power = StringField(_l("Default source of power"), validators=[Optional(), Length(max=200)])
    qualification_subjects = StringField(
        _l("Qualification exams required (subjects, separated by 、 or commas; empty = any)"),
        validators=[Optional(), Length(max=300)])
    renewal_subjects = StringField(_l("Renewal exams required (subjects; empty = any)"),
                                   validators=[Optional(), Length(max=300)])


class ReviewForm(FlaskForm):
    year = IntegerField(_l("Year"), validators=[DataRequired(), NumberRange(2000, 2100)])
    category_id = SelectField(_l("Enforcement category"), coerce=int, validators=[Optional()])


class VerifyForm(FlaskForm):
    number = StringField(_l("Certificate number"), validators=[DataRequired(), Length(max=32)])
