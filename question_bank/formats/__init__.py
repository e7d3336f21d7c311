"""Import and export formats: the Excel/CSV template, Moodle GIFT and Aiken.

Each reader turns a file into ``ParsedQuestion`` rows plus a list of ``{"row", "message"}`` errors; the
question types themselves (``question_bank.types``) parse and render their answers.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, datetime, time
from typing import Any

from flask_babel import gettext as _


@dataclass
class ParsedQuestion:
    row: int  # row (spreadsheets) or first line (GIFT, Aiken) in the file
    type: str
    stem: str
    options: list[dict] = field(default_factory=list)
    answer: Any = None
    explanation: str | None = None
    difficulty: int = 3
    category_path: str = ""
    tags: list[str] = field(default_factory=list)
    law_name: str = ""
    article: str | None = None
    source: str | None = None
    sheet: str | None = None  # named in messages when the questions come from a second sheet
    stem_key: str = ""  # set by the importer (operations.stem_key)

    @property
    def label(self) -> str:
        """How messages name the row: "第12行", "工作表“多选题”第5行"."""
        return row_label(self.row, self.sheet)


class FileRefused(Exception):
    """The file as a whole cannot be read (empty, wrong kind, too large); the message is translated."""

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


def row_label(row: int, sheet: str | None = None) -> str:
    if sheet:
        return _("Sheet “%(s)s”, row %(r)d", s=sheet, r=row)
    return _("Row %(r)d", r=row)


def row_error(row: int, label: str, problems: list[str] | str) -> dict:
    text = problems if isinstance(problems, str) else "; ".join(problems)
    return {"row": row, "message": _("%(where)s: %(problems)s", where=label, problems=text)}


_SPACES = re.compile(r"\s+")
_ODD_SPACES = str.maketrans({"\u3000": " ", "\xa0": " ", "\ufeff": ""})


def clean_line(value: Any) -> str:
    """A cell as one line: numbers stored as numbers, full-width and non-breaking spaces, stray line breaks."""
    if value is None or value == "":
        return ""
    if value.__class__ is not str:
        value = cell_text(value)
    return _SPACES.sub(" ", value.translate(_ODD_SPACES)).strip()


def cell_text(value: Any) -> str:
    """A value as a spreadsheet shows it: 1.0 (numbers are floats in .xls and CSV-born sheets) as "1", a date
    typed in a cell (Excel turns "2021-7-15" into one) as "2021-07-15", a time as "09:30"."""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, datetime):
        if value.time() == time(0):
            return value.strftime("%Y-%m-%d")
        return value.strftime("%Y-%m-%d %H:%M" if not value.second else "%Y-%m-%d %H:%M:%S")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, time):
        return value.strftime("%H:%M" if not value.second else "%H:%M:%S")
    return str(value)


_BLANKS = re.compile(r"[ \t\u3000]+")
_CJK_END = re.compile(r"[\u3000-\u303f\u4e00-\u9fff\uff00-\uffef]$")
_CJK_START = re.compile(r"^[\u3000-\u303f\u4e00-\u9fff\uff00-\uffef]")


def clean_text(value: Any, keep_paragraphs: bool = False) -> str:
    """Longer text (stems, explanations): each line trimmed; a break inside a Chinese sentence is removed."""
    if value is None:
        return ""
    text = cell_text(value).replace("\r\n", "\n").replace("\r", "\n").replace("\xa0", " ").replace("\ufeff", "")
    lines = [_BLANKS.sub(" ", line).strip() for line in text.split("\n")]
    if keep_paragraphs:
        return "\n".join(lines).strip()
    out = ""
    for line in lines:
        if not line:
            continue
        if out and not (_CJK_END.search(out) or _CJK_START.search(line)):
            out += " "
        out += line
    return out.strip()
