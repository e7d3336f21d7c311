"""The registry of question types. Adding a type touches this file only.

Each type validates a question's options and answer, checks an examinee's response, and grades it with a
pure function ``grade(version, response, points, partial) -> awarded points`` (``None``: graded by hand).
Import/export formats add their parse/render methods to these classes.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

OPTION_KEYS = "ABCDEFGH"


class ResponseError(ValueError):
    """A response that does not fit the question (wrong shape, unknown option)."""


def normalise_text(value: str) -> str:
    """Full-width to half-width (NFKC), trimmed, inner white space collapsed, case-folded."""
    text = unicodedata.normalize("NFKC", value or "")
    return re.sub(r"\s+", " ", text).strip().casefold()


def normalise_stem(value: str) -> str:
    """The form used to find duplicate questions: no spaces, no punctuation, half-width, case-folded."""
    text = unicodedata.normalize("NFKC", value or "").casefold()
    text = re.sub(r"[（(]\s*[）)]", "", text)  # empty answer brackets in stems: "（ ）"
    return "".join(ch for ch in text if unicodedata.category(ch)[0] in "LN")


def round_points(value: float) -> float:
    return float(Decimal(str(value)).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP))


@dataclass(frozen=True)
class QuestionType:
    code: str
    label: str  # Chinese name used in spreadsheets and on pages
    objective: bool = True
    has_options: bool = False

    # --- authoring ------------------------------------------------------------------------------------
    def check(self, options: list[dict], answer: Any) -> list[str]:
        """Problems with a question's options and answer (English messages; callers translate)."""
        raise NotImplementedError

    # --- taking ---------------------------------------------------------------------------------------
    def clean_response(self, options: list[dict], response: Any) -> Any:
        """Normalise a response or raise ResponseError. ``None`` clears the answer."""
        raise NotImplementedError

    def grade(self, options: list[dict], answer: Any, response: Any, points: float, partial: bool = False):
        raise NotImplementedError

    def is_answered(self, response: Any) -> bool:
        return response not in (None, "", [], {})


def _option_keys(options: list[dict]) -> list[str]:
    return [o["key"] for o in options]


def _check_options(options: list[dict], minimum: int) -> list[str]:
    problems = []
    keys = _option_keys(options)
    if len(options) < minimum:
        problems.append(f"needs at least {minimum} options")
    if len(set(keys)) != len(keys) or any(k not in OPTION_KEYS for k in keys):
        problems.append("option keys must be distinct letters A–H")
    if any(not (o.get("text") or "").strip() for o in options):
        problems.append("an option is empty")
    return problems


class SingleChoice(QuestionType):
    def check(self, options, answer):
        problems = _check_options(options, 2)
        if not isinstance(answer, str) or answer not in _option_keys(options):
            problems.append(f"answer {answer} is not one of the options")
        return problems

    def clean_response(self, options, response):
        if response is None:
            return None
        if not isinstance(response, str) or response not in _option_keys(options):
            raise ResponseError("choose one of the options")
        return response

    def grade(self, options, answer, response, points, partial=False):
        return float(points) if response == answer else 0.0


class MultipleChoice(QuestionType):
    def check(self, options, answer):
        problems = _check_options(options, 3)
        keys = _option_keys(options)
        if not isinstance(answer, list) or len(answer) < 2 or any(a not in keys for a in answer):
            problems.append(f"answer {answer} must be two or more of the options")
        elif len(set(answer)) != len(answer):
            problems.append("answer repeats an option")
        return problems

    def clean_response(self, options, response):
        if response is None:
            return None
        keys = _option_keys(options)
        if not isinstance(response, list) or any(not isinstance(r, str) or r not in keys for r in response):
            raise ResponseError("choose from the options")
        return sorted(set(response))

    def grade(self, options, answer, response, points, partial=False):
        chosen, correct = set(response or []), set(answer)
        if chosen == correct:
            return float(points)
        if partial and chosen and chosen < correct:
            # 少选得分, 错选不得分: a subset earns its share, any wrong choice earns nothing
            return round_points(points * len(chosen) / len(correct))
        return 0.0


class TrueFalse(QuestionType):
    def check(self, options, answer):
        return [] if isinstance(answer, bool) else ["answer must be true or false"]

    def clean_response(self, options, response):
        if response is None:
            return None
        if not isinstance(response, bool):
            raise ResponseError("answer true or false")
        return response

    def grade(self, options, answer, response, points, partial=False):
        return float(points) if response is answer else 0.0

    def is_answered(self, response):
        return isinstance(response, bool)


class FillBlank(QuestionType):
    """``answer`` is a list of blanks, each a list of accepted answers."""

    def check(self, options, answer):
        if (
            not isinstance(answer, list)
            or not answer
            or any(not isinstance(b, list) or not b or any(not normalise_text(str(a)) for a in b) for b in answer)
        ):
            return ["each blank needs at least one accepted answer"]
        return []

    def clean_response(self, options, response):
        if response is None:
            return None
        if isinstance(response, str):
            response = [response]
        if not isinstance(response, list) or any(not isinstance(r, str) or len(r) > 500 for r in response):
            raise ResponseError("write text for each blank")
        if len(response) > 20:
            raise ResponseError("too many blanks")
        return response

    def grade(self, options, answer, response, points, partial=False):
        given = list(response or [])
        right = 0
        for index, accepted in enumerate(answer):
            text = normalise_text(given[index]) if index < len(given) else ""
            if text and text in {normalise_text(str(a)) for a in accepted}:
                right += 1
        return round_points(points * right / len(answer))

    def is_answered(self, response):
        return bool(response) and any((r or "").strip() for r in response)


class CaseAnalysis(QuestionType):
    """Free text graded by hand; ``answer`` is ``{"reference": text, "scoring_points": [{text, points}]}``."""

    def check(self, options, answer):
        if not isinstance(answer, dict) or not (answer.get("reference") or "").strip():
            return ["a reference answer is required"]
        return []

    def clean_response(self, options, response):
        if response is None:
            return None
        if not isinstance(response, str):
            raise ResponseError("write the answer as text")
        if len(response) > 20_000:
            raise ResponseError("the answer is too long")
        return response

    def grade(self, options, answer, response, points, partial=False):
        return None  # graded by hand

    def is_answered(self, response):
        return bool((response or "").strip())


QUESTION_TYPES: dict[str, QuestionType] = {
    "single": SingleChoice("single", "单选题", has_options=True),
    "multiple": MultipleChoice("multiple", "多选题", has_options=True),
    "true_false": TrueFalse("true_false", "判断题"),
    "fill_blank": FillBlank("fill_blank", "填空题"),
    "case_analysis": CaseAnalysis("case_analysis", "案例分析题", objective=False),
}


def get_type(code: str) -> QuestionType:
    return QUESTION_TYPES[code]
