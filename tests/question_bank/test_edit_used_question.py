"""Editing a question that an attempt used leaves that attempt's question text and grading unchanged."""

from __future__ import annotations

from exam.accounts.models import User
from exam.exams import operations as exam_ops
from exam.extensions import db
from question_bank import operations as ops
from question_bank.models import Question
from tests.exams import factories as f


def _data(question: Question, **changes) -> ops.QuestionData:
    version = question.current
    values = {"type": question.type, "stem": version.stem, "options": version.options, "answer": version.answer,
              "explanation": version.explanation, "difficulty": question.difficulty, "category": question.category,
              "status": question.status}
    values.update(changes)
    return ops.QuestionData(**values)


def _texts(attempt) -> dict[int, tuple]:
    return {i.position: (i.version.stem, i.version.options, i.version.answer)
            for i in exam_ops.items_with_versions(attempt)}


def test_editing_questions_during_and_after_an_attempt_changes_neither_its_text_nor_its_grade(ctx, make_user):
    cat = f.category("公共法律知识")
    single = f.question("single", cat=cat, stem="行政处罚的追责时效一般为（ ）。", answer="B")
    truth = f.question("true_false", cat=cat, stem="罚款应当全部上缴国库。", answer=True)
    sections = [{"title": t, "type": t, "count": 1, "points": 5, "categories": ["公共法律知识"]}
                for t in ("single", "true_false")]
    exam = f.published_exam(sections=sections, pass_mark=10)
    db.session.commit()
    user = db.session.get(User, make_user().id)
    attempt = exam_ops.start_attempt(exam, user)
    db.session.commit()
    before = _texts(attempt)
    items = {i.version.question_id: i for i in exam_ops.items_with_versions(attempt)}
    exam_ops.save_response(attempt, items[single.id].position, exam_ops.to_displayed(items[single.id], "B"), seq=1)
    exam_ops.save_response(attempt, items[truth.id].position, True, seq=1)
    db.session.commit()

    # mid-attempt: the legal department rewrites both questions and flips their keys
    ops.edit_question(single, _data(single, stem="行政处罚的一般追责时效为（ ）。", answer="C"))
    ops.edit_question(truth, _data(truth, stem="罚款可以由执法人员保管。", answer=False))
    db.session.commit()
    assert single.current_number == 2 and truth.current_number == 2
    db.session.expire_all()
    assert _texts(attempt) == before

    exam_ops.finish_attempt(attempt)
    db.session.commit()
    assert (attempt.score, attempt.max_score, attempt.passed) == (10, 10, True)

    # after the attempt: another edit, and the result and the paper stay as they were
    ops.edit_question(single, _data(single, stem="第三次修改的题干（ ）。", answer="D"))
    db.session.commit()
    db.session.expire_all()
    assert _texts(attempt) == before
    assert attempt.score == 10 and all(i.awarded == 5 for i in attempt.items)
    assert exam_ops.rebuild_paper(attempt).matches
