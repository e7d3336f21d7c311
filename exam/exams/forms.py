from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from wtforms import DecimalField, IntegerField, SelectMultipleField, TextAreaField
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, Optional
from wtforms.widgets import CheckboxInput, ListWidget


class MultiCheckboxField(SelectMultipleField):
    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()


class ExamImportForm(FlaskForm):
    text = TextAreaField(_l("Exam JSON"), validators=[Optional(), Length(max=1_000_000)])
    file = FileField(_l("Or a JSON file"))


class ConfirmForm(FlaskForm):
    pass


class ExtraTimeForm(FlaskForm):
    minutes = IntegerField(_l("Extra minutes"), validators=[InputRequired(), NumberRange(min=1, max=600)])


class GradeForm(FlaskForm):
    awarded = DecimalField(_l("Points awarded"), places=2, validators=[InputRequired(), NumberRange(min=0)])
    comment = TextAreaField(_l("Comment"), validators=[Optional(), Length(max=2000)])


class RegradeForm(FlaskForm):
    question_id = IntegerField(_l("Question number"), validators=[DataRequired(), NumberRange(min=1)])


class PracticeForm(FlaskForm):
    class Meta:
        csrf = False  # a GET form that only chooses what to practise

    categories = MultiCheckboxField(_l("Categories"), coerce=int, validators=[Optional()])
