from __future__ import annotations

import pytest

from question_bank.types import QUESTION_TYPES, ResponseError, normalise_stem

OPTS = [{"key": k, "text": f"选项{k}"} for k in "ABCD"]


def grade(code, answer, response, points=2, partial=False, options=OPTS):
    qtype = QUESTION_TYPES[code]
    return qtype.grade(options, answer, qtype.clean_response(options, response), points, partial)


def test_single_choice_grades_the_key_only():
    assert grade("single", "B", "B") == 2
    assert grade("single", "B", "A") == 0
    assert grade("single", "B", None) == 0


def test_multiple_choice_is_all_or_nothing_by_default():
    assert grade("multiple", ["A", "C"], ["C", "A"]) == 2
    assert grade("multiple", ["A", "C"], ["A"]) == 0
    assert grade("multiple", ["A", "C"], ["A", "B", "C"]) == 0


def test_multiple_choice_partial_credit_for_a_subset_and_nothing_for_a_wrong_choice():
    assert grade("multiple", ["A", "B", "C"], ["A"], points=3, partial=True) == 1
    assert grade("multiple", ["A", "B", "C"], ["A", "D"], points=3, partial=True) == 0
    assert grade("multiple", ["A", "B", "C"], ["A", "B", "C"], points=3, partial=True) == 3


def test_true_false_needs_a_boolean():
    assert grade("true_false", True, True, points=1) == 1
    assert grade("true_false", True, False, points=1) == 0
    with pytest.raises(ResponseError):
        QUESTION_TYPES["true_false"].clean_response([], "true")


def test_fill_blank_ignores_width_case_and_surrounding_spaces():
    answer = [["十五日", "15日"], ["听证"]]
    assert grade("fill_blank", answer, ["１５日 ", "  听证"], points=2) == 2
    assert grade("fill_blank", answer, ["15 日", "听证"], points=2) == 1  # inner space differs
    assert grade("fill_blank", answer, ["十日", "复议"], points=2) == 0


def test_case_analysis_is_graded_by_hand():
    assert grade("case_analysis", {"reference": "依法应当……"}, "我的分析", points=10) is None


@pytest.mark.parametrize("code,response", [
    ("single", "E"), ("single", ["A"]), ("multiple", "A"), ("multiple", ["A", "Z"]),
    ("fill_blank", 12), ("case_analysis", ["x"]),
])
def test_responses_that_do_not_fit_the_question_are_refused(code, response):
    with pytest.raises(ResponseError):
        QUESTION_TYPES[code].clean_response(OPTS, response)


def test_question_checks_name_the_problem():
    assert QUESTION_TYPES["single"].check(OPTS, "E")
    assert QUESTION_TYPES["multiple"].check(OPTS, ["A"])
    assert not QUESTION_TYPES["multiple"].check(OPTS, ["A", "B"])
    assert QUESTION_TYPES["fill_blank"].check([], [[" "]])


def test_normalised_stem_ignores_spaces_punctuation_width_and_answer_brackets():
    assert normalise_stem("行政处罚法规定，听证（ ）日前通知。") == normalise_stem("行政处罚法规定,听证()日前通知")
    assert normalise_stem("ＡＢＣ") == normalise_stem("abc")
