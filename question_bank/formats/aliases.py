"""Column titles of question spreadsheets: ours, and what bureaus and other systems call the same columns.

A title is compared after ``normal_title``: full-width to half-width, notes in brackets dropped ("题干(必填)"),
spaces, underscores, colons and asterisks removed, case-folded. Add a new spelling here and nowhere else.
"""

from __future__ import annotations

import re
import unicodedata

from question_bank.types import OPTION_KEYS

CHINESE_NUMBERS = "一二三四五六七八"

HEADER_ALIASES: dict[str, set[str]] = {
    "type": {"题型", "试题类型", "题目类型", "类型", "题型名称", "试题题型", "type", "question type", "qtype"},
    "stem": {"题干", "题目", "试题", "试题内容", "题目内容", "题干内容", "问题", "试题题干", "题目名称", "stem",
             "question", "question text", "questiontext"},
    "answer": {"答案", "正确答案", "标准答案", "参考答案", "答案选项", "正确选项", "answer", "correct answer",
               "right answer", "key", "answer key"},
    "explanation": {"解析", "答案解析", "试题解析", "题目解析", "解释", "答案说明", "explanation", "analysis",
                    "feedback", "general feedback"},
    "difficulty": {"难度", "难易程度", "难度系数", "难度等级", "difficulty", "level"},
    "category": {"分类", "类别", "题目分类", "试题分类", "知识点", "所属分类", "category"},
    "tags": {"标签", "关键词", "tags", "tag", "keywords"},
    "law": {"法律依据", "依据", "法规依据", "出处", "法条", "法律条款", "law", "legal basis", "reference"},
    "scoring": {"评分要点", "评分标准", "得分点", "scoring_points", "scoring points", "rubric"},
    "source": {"来源", "来源期数", "学法材料", "source"},
    # one cell holding every option: "A.xxx B.xxx" or "A、xxx\nB、xxx"
    "options": {"选项", "备选项", "备选答案", "选项内容", "答案选项内容", "options", "choices"},
}
for _index, _key in enumerate(OPTION_KEYS):
    _number = CHINESE_NUMBERS[_index]
    HEADER_ALIASES[f"option_{_key}"] = {
        f"选项{_key}", f"{_key}选项", _key, f"选项 {_key}", f"option_{_key}", f"option {_key}", f"option{_key}",
        f"choice {_key}", f"answer {_key}", f"选项{_number}", f"选项{_index + 1}", f"第{_number}选项",
        f"备选项{_key}",
    }


def normal_title(value) -> str:
    from question_bank.formats import clean_line

    text = unicodedata.normalize("NFKC", clean_line(value))
    text = re.sub(r"[(\[【][^)\]】]*[)\]】]", "", text)  # 题干(必填), 答案【必填】
    return re.sub(r"[\s_:：*]+", "", text).casefold()


ALIAS_INDEX = {normal_title(alias): key for key, aliases in HEADER_ALIASES.items() for alias in aliases}


def map_header(values: list) -> dict[str, int] | None:
    """Column positions when ``values`` is a title row (it has a stem column and an answer or type column)."""
    columns: dict[str, int] = {}
    for index, value in enumerate(values):
        key = ALIAS_INDEX.get(normal_title(value))
        if key and key not in columns:
            columns[key] = index
    if "stem" in columns and ("answer" in columns or "type" in columns):
        return columns
    return None
