"""Practice: questions from chosen categories with instant feedback, and the wrong-answer book (错题本)."""

from __future__ import annotations

from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from exam.core.access import login_required
from exam.exams import bp
from exam.exams import operations as ops
from exam.exams.forms import PracticeForm
from exam.extensions import db


def _category_ids() -> list[int]:
    return [int(c) for c in request.args.getlist("categories") if c.isdigit()][:50]


@bp.route("/practice/")
@login_required
def practice():
    form = PracticeForm(request.args)
    form.categories.choices = [(c.id, c.path) for c in ops.practice_categories()]
    if "go" in request.args:
        question = ops.next_practice_question(_category_ids())
        if question is None:
            flash(_("There are no practice questions in these categories yet."), "warning")
        else:
            return redirect(url_for("exams.practice_question", question_id=question.id,
                                    categories=_category_ids()))
    return render_template("exams/practice.html", form=form, wrong=len(ops.wrong_book(current_user)))


def _practice_item(question) -> dict:
    version = question.current
    entry = {"position": 1, "type": version.type, "stem": version.stem, "options": version.options or [],
             "points": 1, "response": None, "flagged": False}
    if version.type == "fill_blank":
        entry["blanks"] = len(version.answer or []) or 1
    return entry


@bp.route("/practice/questions/<int:question_id>", methods=["GET", "POST"])
@login_required
def practice_question(question_id):
    question = ops.practice_question(question_id)
    item = _practice_item(question)
    feedback = None
    if request.method == "POST":
        form = request.form
        if item["type"] == "multiple":
            response = form.getlist("q1") or None
        elif item["type"] == "true_false":
            response = {"true": True, "false": False}.get(form.get("q1", ""), form.get("q1"))
        elif item["type"] == "fill_blank":
            response = [form.get(f"q1_b{n}", "") for n in range(1, item["blanks"] + 1)]
        else:
            response = form.get("q1")
        feedback = ops.answer_practice(current_user, question, response)
        db.session.commit()
        item["response"] = feedback.response
    categories = _category_ids()
    return render_template("exams/practice_question.html", question=question, item=item, feedback=feedback,
                           categories=categories)


@bp.route("/practice/next")
@login_required
def practice_next():
    question = ops.next_practice_question(_category_ids(), exclude=request.args.get("after", type=int))
    if question is None:
        flash(_("There are no practice questions in these categories yet."), "warning")
        return redirect(url_for("exams.practice"))
    return redirect(url_for("exams.practice_question", question_id=question.id, categories=_category_ids()))


@bp.route("/practice/wrong-answers")
@login_required
def wrong_answers():
    return render_template("exams/wrong_book.html", entries=ops.wrong_book(current_user))
