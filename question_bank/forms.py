from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_babel import lazy_pgettext
from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from wtforms import BooleanField, DateField, HiddenField, IntegerField, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length, NumberRange, Optional

from question_bank.types import OPTION_KEYS

STATUS_LABELS = {
    "draft": _l("Draft"),
    "active": lazy_pgettext("question status", "Active"),
    "retired": lazy_pgettext("question status", "Retired"),
}
TYPE_LABELS = {"single": _l("Single choice"), "multiple": _l("Multiple choice"), "true_false": _l("True or false"),
               "fill_blank": _l("Fill in the blank"), "case_analysis": _l("Case analysis")}


class QuestionForm(FlaskForm):
    stem = TextAreaField(_l("Stem"), validators=[DataRequired(), Length(max=20_000)])
    option_A = StringField("A", validators=[Optional(), Length(max=2000)])
    option_B = StringField("B", validators=[Optional(), Length(max=2000)])
    option_C = StringField("C", validators=[Optional(), Length(max=2000)])
    option_D = StringField("D", validators=[Optional(), Length(max=2000)])
    option_E = StringField("E", validators=[Optional(), Length(max=2000)])
    option_F = StringField("F", validators=[Optional(), Length(max=2000)])
    option_G = StringField("G", validators=[Optional(), Length(max=2000)])
    option_H = StringField("H", validators=[Optional(), Length(max=2000)])
    answer_letters = StringField(_l("Answer (option letters)"), validators=[Optional(), Length(max=16)])
    answer_truth = SelectField(_l("Answer"), choices=[("true", _l("True")), ("false", _l("False"))])
    answer_text = TextAreaField(_l("Answer"), validators=[Optional(), Length(max=20_000)])
    scoring = TextAreaField(_l("Scoring points"), validators=[Optional(), Length(max=5000)])
    explanation = TextAreaField(_l("Explanation"), validators=[Optional(), Length(max=20_000)])
    difficulty = SelectField(_l("Difficulty"), coerce=int, choices=[(n, str(n)) for n in range(1, 6)], default=3)
    category_id = SelectField(_l("Category"), coerce=int, validators=[Optional()])
    law_id = SelectField(_l("Law cited"), coerce=int, validators=[Optional()])
    article = StringField(_l("Article"), validators=[Optional(), Length(max=64)])
    source = StringField(_l("Source bulletin"), validators=[Optional(), Length(max=100)])
    tags = StringField(_l("Tags"), validators=[Optional(), Length(max=500)])
    status = SelectField(_l("Status"), choices=list(STATUS_LABELS.items()), default="active")

    def option_fields(self):
        return [getattr(self, f"option_{k}") for k in OPTION_KEYS]


class BulkForm(FlaskForm):
    action = SelectField(_l("With the chosen questions"), choices=[
        ("add_tags", _l("Add tags")), ("remove_tags", _l("Remove tags")), ("move", _l("Move to category")),
        ("retire", _l("Retire")), ("activate", _l("Activate")),
    ])
    tags = StringField(_l("Tags"), validators=[Optional(), Length(max=500)])
    category_id = SelectField(_l("Category"), coerce=int, validators=[Optional()])


class LawForm(FlaskForm):
    name = StringField(lazy_pgettext("law or category", "Name"), validators=[DataRequired(), Length(max=200)])
    short_name = StringField(_l("Short name"), validators=[Optional(), Length(max=64)])
    effective_on = DateField(_l("Effective on"), validators=[Optional()])
    amended_on = DateField(_l("Amended on"), validators=[Optional()])
    repealed_on = DateField(_l("Repealed on"), validators=[Optional()])


class CategoryForm(FlaskForm):
    name = StringField(lazy_pgettext("law or category", "Name"), validators=[DataRequired(), Length(max=100)])
    parent_id = SelectField(_l("Parent category"), coerce=int, validators=[Optional()])
    sort_order = IntegerField(_l("Order"), default=0, validators=[Optional(), NumberRange(min=-9999, max=9999)])


class ImportForm(FlaskForm):
    file = FileField(_l("Question file (.xlsx, .xls, .csv, GIFT or Aiken .txt)"), validators=[FileRequired()])
    format = SelectField(_l("Format"), choices=[("", _l("Recognise from the file")), ("xlsx", "Excel (.xlsx, .xls)"),
                                                ("csv", "CSV"), ("gift", "GIFT"), ("aiken", "Aiken")],
                         validators=[Optional()])
    category = StringField(_l("Category for questions without one"), validators=[Optional(), Length(max=300)])
    update = BooleanField(_l("Save duplicates as a new version instead of skipping them"))


class ConfirmImportForm(FlaskForm):
    token = HiddenField(validators=[DataRequired(), Length(max=64)])


class ConfirmForm(FlaskForm):
    """An empty form: a POST button that carries the CSRF token."""
