"""Build finished exams for the report tests directly with the models: an exam, people, attempts and answers."""

from __future__ import annotations

from datetime import timedelta

from exam.core.timeutil import utcnow
from exam.exams.models import Attempt, AttemptItem, Exam
from exam.extensions import db
from tests.exams import factories as ef

# A small paper: 4 single choice (1 point each), 2 multiple choice (2 points), 2 true/false (1 point): 10 points.
SECTIONS = [
    {"title": "单项选择题", "type": "single", "count": 4, "points": 1, "categories": ["公共法律知识"]},
    {"title": "多项选择题", "type": "multiple", "count": 2, "points": 2, "categories": ["公共法律知识"]},
    {"title": "判断题", "type": "true_false", "count": 2, "points": 1, "categories": ["公共法律知识"]},
]


def bank():
    """8 single, 4 multiple, 4 true/false questions (single answer A, multiple A+C, true/false True)."""
    _cat, questions = ef.standard_bank()
    return questions


def exam(**overrides) -> Exam:
    data = {"title": "2026年度学法考试", "purpose": "annual", "certificate_category": None, "pass_mark": 6,
            "sections": SECTIONS, "max_attempts": 2}
    data.update(overrides)
    return ef.published_exam(**data)


def attempt(exam: Exam, user_id: int, answers: list[tuple], *, number: int = 1, status: str = "submitted",
            finished_by: str | None = "examinee", graded: bool = True, finished_at=None) -> Attempt:
    """``answers``: (question, response in original keys, awarded) per item, in paper order."""
    now = utcnow()
    finished = status != "in_progress"
    points_of = {"single": 1.0, "multiple": 2.0, "true_false": 1.0, "fill_blank": 1.0, "case_analysis": 5.0}
    max_score = sum(points_of[q.type] for q, _r, _a in answers)
    score = sum(a for _q, _r, a in answers if a is not None)
    passed = None
    band = None
    if finished and graded:
        passed = score >= exam.pass_mark
        band = exam.band_for(score, max_score)
    item = Attempt(exam_id=exam.id, user_id=user_id, number=number, seed=number, draw_record=[],
                   started_at=now - timedelta(minutes=30), deadline=now + timedelta(minutes=30), status=status,
                   finished_at=(finished_at or now) if finished else None,
                   finished_by=finished_by if finished else None,
                   score=score if finished else None, max_score=max_score, passed=passed, band=band)
    db.session.add(item)
    db.session.flush()
    section_of = {section.type: section.id for section in exam.sections}
    for position, (question, response, awarded) in enumerate(answers, start=1):
        db.session.add(AttemptItem(attempt_id=item.id, position=position, question_id=question.id,
                                   section_id=section_of.get(question.type),
                                   question_version_id=question.current.id, points=points_of[question.type],
                                   option_order=[], response=response,
                                   awarded=awarded if finished and (graded or awarded is not None) else None))
    db.session.flush()
    return item


def answers_for(questions, score: float) -> list[tuple]:
    """Right answers until ``score`` points are reached, wrong ones after (B / [B] / False)."""
    right = {"single": "A", "multiple": ["A", "C"], "true_false": True}
    wrong = {"single": "B", "multiple": ["B"], "true_false": False}
    points_of = {"single": 1.0, "multiple": 2.0, "true_false": 1.0}
    result, remaining = [], score
    for q in questions:
        pts = points_of[q.type]
        if remaining >= pts:
            result.append((q, right[q.type], pts))
            remaining -= pts
        else:
            result.append((q, wrong[q.type], 0.0))
    assert remaining == 0, "score not reachable with this paper"
    return result


def paper(questions) -> list:
    """The 8 questions of one paper in section order: 4 single, 2 multiple, 2 true/false."""
    by_type = {t: [q for q in questions if q.type == t] for t in ("single", "multiple", "true_false")}
    return by_type["single"][:4] + by_type["multiple"][:2] + by_type["true_false"][:2]
