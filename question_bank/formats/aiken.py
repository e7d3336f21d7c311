"""Moodle Aiken: single-choice questions.

    行政处罚的设定机关不包括( )。
    A. 全国人大
    B) 国务院
    ANSWER: B

The question (one or more lines), options ``A.``/``A)`` one per line, then ``ANSWER: X``. Blank lines between
questions are optional.
"""

from __future__ import annotations

import re

from flask_babel import gettext as _

from question_bank.formats import FileRefused, ParsedQuestion, clean_text, row_error, row_label
from question_bank.operations import _translate_check
from question_bank.types import QUESTION_TYPES

OPTION = re.compile(r"^\s*([A-Ha-hＡ-Ｈ])\s*[.)．）、]\s*(.*)$")
ANSWER = re.compile(r"^\s*(ANSWER|答案)\s*[:：]\s*(.*)$", re.IGNORECASE)


def parse_aiken(text: str, *, limit: int, default_category: str = "") -> tuple[list[ParsedQuestion], list[dict]]:
    questions: list[ParsedQuestion] = []
    errors: list[dict] = []
    single = QUESTION_TYPES["single"]
    stem_lines: list[str] = []
    options: list[dict] = []
    first = 0
    problems: list[str] = []
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            if stem_lines and not options:
                stem_lines.append("")
            continue
        if not stem_lines:
            first, options, problems = number, [], []
            if len(questions) + len(errors) >= limit:
                raise FileRefused(_("The file has more than %(n)d questions. Split it into smaller files.",
                                    n=limit))
            stem_lines.append(line)
            continue
        answer_match = ANSWER.match(line)
        option_match = OPTION.match(line)
        if answer_match:
            label = row_label(first)
            stem = clean_text("\n".join(stem_lines))
            letter = answer_match.group(2).strip().upper().translate(str.maketrans("ＡＢＣＤＥＦＧＨ", "ABCDEFGH"))
            if not options:
                problems.append(_("the question has no options"))
            try:
                options_clean, answer = single.answer_from_cells(options, letter)
                problems.extend(_translate_check(p) for p in single.check(options_clean, answer))
            except ValueError as exc:
                problems.append(str(exc))
                answer = None
            if problems:
                errors.append(row_error(first, label, list(dict.fromkeys(problems))))
            else:
                questions.append(ParsedQuestion(row=first, type="single", stem=stem, options=options,
                                                answer=answer, category_path=default_category))
            stem_lines, options = [], []
        elif option_match and (options or stem_lines):
            key = option_match.group(1).upper().translate(str.maketrans("ＡＢＣＤＥＦＧＨ", "ABCDEFGH"))
            expected = "ABCDEFGH"[len(options)] if len(options) < 8 else None
            if key != expected:
                problems.append(_("option %(k)s is out of order", k=key))
            options.append({"key": key, "text": option_match.group(2).strip()})
        elif options:
            problems.append(_("line %(n)d is neither an option nor the ANSWER line", n=number))
        else:
            stem_lines.append(line)
    if stem_lines:
        errors.append(row_error(first, row_label(first), _("the question has no ANSWER line")))
    return questions, errors
