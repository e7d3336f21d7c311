"""Item analysis on a constructed data set whose answers are known."""

from __future__ import annotations

import statistics

import pytest

from exam.extensions import db
from exam.reports import stats
from tests.reports import factories as rf

POINTS = {"single": 1.0, "multiple": 2.0, "true_false": 1.0}
RIGHT = {"single": "A", "multiple": ["A", "C"], "true_false": True}


def _responses(i: int) -> list:
    """Person i of 10 (higher i: stronger). Questions in paper order: 4 single, 2 multiple, 2 true/false."""
    return [
        "A" if i >= 4 else ["B", "C", "D", "B"][i],  # Q1: facility 0.6; B 2, C 1, D 1
        "A" if i >= 8 else "B",  # Q2: the wrong option B draws 8, the key A only 2
        "A",  # Q3: everyone right: no spread, no discrimination
        "A" if i < 5 else "C",  # Q4: the weak answer right: negative discrimination
        None if i == 0 else (["A", "C"] if i >= 3 else ["A", "B"]),  # Q5: one unanswered
        ["A", "C"] if i >= 5 else ["C"],  # Q6
        i >= 2,  # Q7
        i % 2 == 0,  # Q8
    ]


def _awarded(qtype: str, response) -> float:
    right = RIGHT[qtype]
    if qtype == "multiple":
        return POINTS[qtype] if response is not None and sorted(response) == right else 0.0
    return POINTS[qtype] if response == right else 0.0


@pytest.fixture
def analysed(app, make_user):
    ids = [make_user(f"IA{i}", department="执法局/五科").id for i in range(10)]
    with app.test_request_context(method="POST"):
        questions = rf.paper(rf.bank())
        exam = rf.exam(title="题目分析考试")
        rows = []
        for i, uid in enumerate(ids):
            answers = [(q, r, _awarded(q.type, r)) for q, r in zip(questions, _responses(i), strict=True)]
            rf.attempt(exam, uid, answers)
            rows.append(answers)
        db.session.commit()
        yield exam, questions, rows, stats.item_analysis(exam)


def test_facility_and_discrimination_match_a_computation_from_the_raw_answers(analysed):
    _exam, questions, rows, items = analysed
    by_question = {item.question_id: item for item in items}
    totals = [sum(a for _q, _r, a in answers) / 10.0 for answers in rows]
    for position, question in enumerate(questions):
        shares = [answers[position][2] / POINTS[question.type] for answers in rows]
        item = by_question[question.id]
        assert item.facility == pytest.approx(sum(shares) / len(shares))
        if len(set(shares)) > 1:
            assert item.discrimination == pytest.approx(statistics.correlation(shares, totals))
        else:
            assert item.discrimination is None
    assert by_question[questions[0].id].facility == pytest.approx(0.6)
    assert by_question[questions[3].id].discrimination < 0


def test_option_counts_are_in_original_keys_with_their_text(analysed):
    _exam, questions, rows, items = analysed
    by_question = {item.question_id: item for item in items}
    for position, question in enumerate(questions):
        expected: dict = {}
        for answers in rows:
            response = answers[position][1]
            for key in (response if isinstance(response, list) else [response] if response is not None else []):
                expected[key] = expected.get(key, 0) + 1
        counted = {o.key: o.count for o in by_question[question.id].options if o.count}
        assert counted == expected
    q1 = {o.key: (o.count, o.text, o.correct) for o in by_question[questions[0].id].options}
    assert q1 == {"A": (6, "选项A", True), "B": (2, "选项B", False), "C": (1, "选项C", False), "D": (1, "选项D", False)}
    assert by_question[questions[4].id].unanswered == 1


def test_questions_are_flagged_for_low_discrimination_or_a_popular_wrong_option(analysed):
    _exam, questions, _rows, items = analysed
    by_question = {item.question_id: item for item in items}
    assert by_question[questions[1].id].distractor_beats_key and by_question[questions[1].id].flagged
    assert by_question[questions[3].id].low_discrimination and by_question[questions[3].id].flagged
    assert not by_question[questions[2].id].flagged  # all right: nothing to flag
    assert not by_question[questions[0].id].flagged
