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
from typing import Any, ClassVar

from flask_babel import gettext as _

OPTION_KEYS = "ABCDEFGH"


class ResponseError(ValueError):
    """A response that does not fit the question (wrong shape, unknown option)."""


class FormatError(ValueError):
    """A cell or GIFT block that does not describe a valid answer; the message is translated for the user."""


def normalise_text(value: str) -> str:
    """Full-width to half-width (NFKC), trimmed, inner white space collapsed, case-folded."""
    text = unicodedata.normalize("NFKC", value or "")
    return re.sub(r"\s+", " ", text).strip().casefold()


class _OnlyLettersAndNumbers(dict):
    """A ``str.translate`` table, filled as characters are met: letters and numbers kept, the rest dropped."""

    def __missing__(self, code: int):
        kept = chr(code) if unicodedata.category(chr(code))[0] in "LN" else None
        self[code] = kept
        return kept


_LETTERS_AND_NUMBERS = _OnlyLettersAndNumbers()
_EMPTY_BRACKETS = re.compile(r"[（(]\s*[）)]")


def normalise_stem(value: str) -> str:
    """The form used to find duplicate questions: no spaces, no punctuation, half-width, case-folded."""
    text = unicodedata.normalize("NFKC", value or "").casefold()
    text = _EMPTY_BRACKETS.sub("", text)  # empty answer brackets in stems: "（ ）"
    return text.translate(_LETTERS_AND_NUMBERS)


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

    # --- import / export --------------------------------------------------------------------------------
    # Words used for this type in the 题型 column of spreadsheets (compared after normalise_text).
    aliases: ClassVar[tuple[str, ...]] = ()

    def answer_from_cells(self, options: list[dict], answer: str, scoring: str = "") -> tuple[list[dict], Any]:
        """(options, answer) from the spreadsheet's option cells, 答案 cell and 评分要点 cell."""
        raise NotImplementedError

    def answer_to_cells(self, options: list[dict], answer: Any) -> tuple[str, str]:
        """The 答案 and 评分要点 cells for a question of this type."""
        raise NotImplementedError

    def claims_gift(self, block: GiftBlock) -> bool:
        """Whether a parsed GIFT answer block is a question of this type."""
        return False

    def from_gift(self, block: GiftBlock) -> tuple[list[dict], Any]:
        raise NotImplementedError

    def to_gift(self, options: list[dict], answer: Any) -> list[str]:
        """The answer block(s) in GIFT, without braces, already escaped."""
        raise NotImplementedError


@dataclass
class GiftBlock:
    """One ``{...}`` of a GIFT question, split into its parts (text unescaped)."""

    raw: str
    items: list[tuple[str, float | None, str]]  # ("=" or "~", weight percent or None, answer text)
    truth: bool | None = None  # {T} / {F}
    essay: bool = False  # {}


def gift_escape(text: str) -> str:
    text = (text or "").replace("\\", "\\\\")
    for ch in "~=#{}:":
        text = text.replace(ch, "\\" + ch)
    return text.replace("\r\n", "\n").replace("\n", "\\n")


def gift_unescape(text: str) -> str:
    out, i = [], 0
    while i < len(text):
        ch = text[i]
        if ch == "\\" and i + 1 < len(text):
            nxt = text[i + 1]
            out.append("\n" if nxt == "n" else nxt)
            i += 2
            continue
        out.append(ch)
        i += 1
    return "".join(out)


def parse_letters(text: str) -> list[str]:
    """'ABD', 'A,B,D', 'A、B、D', 'ＡＢ', 'a b' -> ['A', 'B', 'D']; FormatError on anything else."""
    cleaned = re.sub(r"[\s,，、;；/.．|]+", "", unicodedata.normalize("NFKC", text or "")).upper()
    if not cleaned:
        raise FormatError(_("the answer is empty"))
    bad = [c for c in cleaned if c not in OPTION_KEYS]
    if bad:
        raise FormatError(_("the answer %(a)s is not made of option letters A–H", a=text.strip()))
    return list(dict.fromkeys(cleaned))


def _points_text(points: float) -> str:
    return str(int(points)) if float(points).is_integer() else str(points)


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

    aliases = ("单选", "单选题", "单项选择", "单项选择题", "单项", "single", "single choice")

    def answer_from_cells(self, options, answer, scoring=""):
        letters = parse_letters(answer)
        if len(letters) != 1:
            raise FormatError(_("a single-choice question has exactly one answer, not %(a)s", a=answer.strip()))
        _require_in_options(letters, options)
        return options, letters[0]

    def answer_to_cells(self, options, answer):
        return answer, ""

    @staticmethod
    def _gift_right(block) -> list[int]:
        marked = [i for i, (m, _w, _t) in enumerate(block.items) if m == "="]
        weighted = [i for i, (m, w, _t) in enumerate(block.items) if m == "~" and w is not None and w > 0]
        return marked + weighted

    def claims_gift(self, block):
        return (
            len(block.items) >= 2 and any(m == "~" for m, _w, _t in block.items) and len(self._gift_right(block)) == 1
        )

    def from_gift(self, block):
        options = [{"key": OPTION_KEYS[i], "text": t} for i, (_m, _w, t) in enumerate(block.items)]
        return options, OPTION_KEYS[self._gift_right(block)[0]]

    def to_gift(self, options, answer):
        return [" ".join(("=" if o["key"] == answer else "~") + gift_escape(o["text"]) for o in options)]


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

    aliases = ("多选", "多选题", "多项选择", "多项选择题", "多项", "不定项", "不定项选择题", "multiple",
               "multiple choice")

    def answer_from_cells(self, options, answer, scoring=""):
        letters = parse_letters(answer)
        _require_in_options(letters, options)
        return options, sorted(letters)

    def answer_to_cells(self, options, answer):
        return "".join(answer), ""

    def claims_gift(self, block):
        if not block.items or any(m == "=" for m, _w, _t in block.items):
            return False
        return sum(1 for _m, w, _t in block.items if w is not None and w > 0) >= 2

    def from_gift(self, block):
        options = [{"key": OPTION_KEYS[i], "text": t} for i, (_m, _w, t) in enumerate(block.items)]
        answer = [OPTION_KEYS[i] for i, (_m, w, _t) in enumerate(block.items) if w is not None and w > 0]
        return options, answer

    def to_gift(self, options, answer):
        right = max(len(answer), 1)
        wrong = max(len(options) - len(answer), 1)
        parts = []
        for o in options:
            weight = _points_text(round(100 / right, 5)) if o["key"] in answer else "-" + _points_text(
                round(100 / wrong, 5))
            parts.append(f"~%{weight}%{gift_escape(o['text'])}")
        return [" ".join(parts)]


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

    aliases = ("判断", "判断题", "是非题", "对错题", "true_false", "true/false", "truefalse")
    TRUE_WORDS = frozenset({"正确", "对", "√", "✓", "✔", "t", "true", "是", "y", "yes", "1", "对的", "正确的"})
    FALSE_WORDS = frozenset({"错误", "错", "×", "✗", "✘", "x", "f", "false", "否", "n", "no", "0", "错的",
                             "错误的", "不正确"})

    def answer_from_cells(self, options, answer, scoring=""):
        word = normalise_text(answer).replace(" ", "")
        if word in {"a", "b"} and len(options) == 2:  # written as a choice between 正确 / 错误
            word = normalise_text(options[0 if word == "a" else 1]["text"])
        elif word in {"a", "b"} and not options:  # the usual convention: A 正确, B 错误
            word = "正确" if word == "a" else "错误"
        if word in self.TRUE_WORDS:
            return [], True
        if word in self.FALSE_WORDS:
            return [], False
        if not word:
            raise FormatError(_("the answer is empty"))
        raise FormatError(_("the answer %(a)s is not one of 正确/错误, 对/错, √/×, T/F, 是/否", a=answer.strip()))

    def answer_to_cells(self, options, answer):
        return ("正确" if answer else "错误"), ""

    def claims_gift(self, block):
        return block.truth is not None

    def from_gift(self, block):
        return [], block.truth

    def to_gift(self, options, answer):
        return ["TRUE" if answer else "FALSE"]


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

    aliases = ("填空", "填空题", "fill_blank", "fill in the blank", "short answer")

    def answer_from_cells(self, options, answer, scoring=""):
        blanks = []
        for part in re.split(r"[;；\n]+", (answer or "").replace("\r", "\n")):
            accepted = [a.strip() for a in re.split(r"[|｜]", part) if a.strip()]
            if accepted:
                blanks.append(list(dict.fromkeys(accepted)))
        if not blanks:
            raise FormatError(_("the answer is empty"))
        return [], blanks

    def answer_to_cells(self, options, answer):
        return "；".join("|".join(str(a) for a in blank) for blank in answer), ""

    def claims_gift(self, block):
        return bool(block.items) and all(m == "=" for m, _w, _t in block.items)

    def from_gift(self, block):
        return [], [[t for _m, _w, t in block.items]]

    def to_gift(self, options, answer):
        return [" ".join("=" + gift_escape(str(a)) for a in blank) for blank in answer]


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

    aliases = ("案例分析", "案例分析题", "案例题", "案例", "简答题", "论述题", "case_analysis", "case analysis",
               "essay")
    POINT_RE = re.compile(r"^(.*?)[（(]\s*(\d+(?:\.\d+)?)\s*分\s*[）)]\s*$")

    def answer_from_cells(self, options, answer, scoring=""):
        reference = (answer or "").strip()
        if not reference:
            raise FormatError(_("a case-analysis question needs a reference answer"))
        points = []
        for line in re.split(r"[\n；;]+", (scoring or "").replace("\r", "\n")):
            line = line.strip()
            if not line:
                continue
            match = self.POINT_RE.match(line)
            if not match or not match.group(1).strip():
                raise FormatError(_("the scoring point %(p)s must end with its points, e.g. 认定违法事实（2分）",
                                    p=line))
            value = float(match.group(2))
            points.append({"text": match.group(1).strip(), "points": int(value) if value.is_integer() else value})
        return [], {"reference": reference, "scoring_points": points}

    def answer_to_cells(self, options, answer):
        points = "\n".join(f"{p['text']}（{_points_text(p['points'])}分）" for p in answer.get("scoring_points") or [])
        return answer.get("reference", ""), points

    def claims_gift(self, block):
        return block.essay

    def from_gift(self, block):
        return [], {"reference": "", "scoring_points": []}  # the reference comes from a "// @answer" line

    def to_gift(self, options, answer):
        return [""]


def _require_in_options(letters: list[str], options: list[dict]) -> None:
    keys = _option_keys(options)
    for letter in letters:
        if letter not in keys:
            raise FormatError(_("answer %(a)s is not one of the options", a=letter))


_LABELS: dict[str, QuestionType] = {}


def type_for_label(label: str) -> QuestionType | None:
    """The type named in a spreadsheet's 题型 cell (单选, 单选题, 多项选择题, single, ...)."""
    if not _LABELS:
        for qtype in QUESTION_TYPES.values():
            for word in (qtype.code, qtype.label, *qtype.aliases):
                _LABELS.setdefault(normalise_text(word).replace(" ", ""), qtype)
    word = normalise_text(label).replace(" ", "")
    found = _LABELS.get(word)
    if found is None and word:  # "一、单选题", "单选题(每题1分)", "第二部分 判断题": numbering and notes around it
        word = _LABEL_NOTES.sub("", word)
        word = _LABEL_NUMBERING.sub("", word)
        found = _LABELS.get(word)
    return found


_LABEL_NOTES = re.compile(r"[(\[【][^)\]】]*[)\]】]")
_LABEL_NUMBERING = re.compile(r"^(第?[一二三四五六七八九十0-9]+(部分|类|题)?[、.:)]?)")


QUESTION_TYPES: dict[str, QuestionType] = {
    "single": SingleChoice("single", "单选题", has_options=True),
    "multiple": MultipleChoice("multiple", "多选题", has_options=True),
    "true_false": TrueFalse("true_false", "判断题"),
    "fill_blank": FillBlank("fill_blank", "填空题"),
    "case_analysis": CaseAnalysis("case_analysis", "案例分析题", objective=False),
}


def get_type(code: str) -> QuestionType:
    return QUESTION_TYPES[code]
