from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import select

from exam.core.errors import ImportRejected
from exam.extensions import db
from question_bank.importer import import_questions
from question_bank.models import Question
from question_bank.types import gift_escape, gift_unescape, parse_letters
from tests.helpers import count_rows

CSV_TEXT = (
    "题型,题干,选项A,选项B,选项C,选项D,答案,解析,难度,分类,标签,法律依据\r\n"
    "单选题,行政处罚的追责时效一般为（ ）。,一年,二年,三年,五年,B,,2,公共法律知识/行政处罚,时效,"
    "《中华人民共和国行政处罚法》第三十六条\r\n"
    '多选题,"下列属于行政处罚的有（ ）。",警告,罚款,责令改正,行政拘留,"A,B,D",,3,,,\r\n'
    ",,,,,,,,,,,\r\n"
    "判断题,强制性标准必须执行。,,,,,对,,1,,,\r\n"
)


def stems():
    return {q.current.stem: q for q in db.session.scalars(select(Question))}


@pytest.mark.parametrize("encoding", ["gbk", "gb18030", "utf-8", "utf-8-sig"])
def test_csv_in_every_common_encoding_is_read(ctx, encoding):
    report = import_questions(CSV_TEXT.encode(encoding), "题库.csv")
    assert report.imported == 3
    found = stems()
    assert found["下列属于行政处罚的有（ ）。"].current.answer == ["A", "B", "D"]
    assert found["行政处罚的追责时效一般为（ ）。"].law.name == "中华人民共和国行政处罚法"
    assert found["强制性标准必须执行。"].current.answer is True


def test_csv_with_tabs_and_a_bad_row_reports_the_row(ctx):
    text = CSV_TEXT.replace(",", "\t").replace('"A\tB\tD"', "ABD").replace("\t对\t", "\t也许\t")
    with pytest.raises(ImportRejected) as exc:
        import_questions(text.encode("gbk"), "题库.csv")
    assert [d["row"] for d in exc.value.details] == [5]
    assert "也许" in exc.value.details[0]["message"]
    assert count_rows(Question) == 0


def test_csv_formula_like_text_is_stored_as_text(ctx):
    text = "题型,题干,答案\r\n判断题,\"=1+1 是公式吗\",错\r\n"
    import_questions(text.encode("utf-8"), "a.csv")
    assert stems()["=1+1 是公式吗"].current.answer is False


GIFT = """// 行政处罚 题目
$CATEGORY: $course$/top/公共法律知识/行政处罚

::Q1:: 行政处罚的追责时效一般为（ ）。 {~一年 =二年#正确 ~三年 ~五年 ####第三十六条}

::Q2:: [html]下列属于行政处罚的有（ ）。 {
~%33.33333%警告
~%33.33333%罚款
~%-100%责令改正
~%33.33333%行政拘留
}

行政强制措施权不得委托。{T}

行政机关可以在夜间实施强制执行。{FALSE#夜间不得实施}

当事人应当自收到决定书之日起{=十五 =15}日内缴纳罚款。

请分析本案执法程序是否合法。{####参考答案：执法人员不得少于两人。}

下列选项中含有特殊字符 \\{ \\} \\= \\~ 的是（ ）。{=甲\\:乙 ~丙}
"""


def test_gift_imports_categories_and_every_kind(ctx):
    report = import_questions(GIFT.encode("utf-8"), "moodle.gift")
    assert report.imported == 7, report.errors
    found = stems()
    single = found["行政处罚的追责时效一般为（ ）。"]
    assert single.type == "single" and single.current.answer == "B" and single.current.explanation == "第三十六条"
    assert single.category.path == "公共法律知识/行政处罚"
    multiple = found["下列属于行政处罚的有（ ）。"]
    assert multiple.type == "multiple" and multiple.current.answer == ["A", "B", "D"]
    assert found["行政强制措施权不得委托。"].current.answer is True
    assert found["行政机关可以在夜间实施强制执行。"].current.answer is False
    fill = found["当事人应当自收到决定书之日起（　　）日内缴纳罚款。"]
    assert fill.type == "fill_blank" and fill.current.answer == [["十五", "15"]]
    case = found["请分析本案执法程序是否合法。"]
    assert case.type == "case_analysis" and case.current.answer["reference"] == "参考答案：执法人员不得少于两人。"
    special = found["下列选项中含有特殊字符 { } = ~ 的是（ ）。"]
    assert special.current.options[0]["text"] == "甲:乙"


def test_bad_gift_questions_are_reported_by_line_and_nothing_is_imported(ctx):
    text = GIFT + "\n\n匹配题 {=a -> 1 =b -> 2}\n\n数值题 {#3.14:0.01}\n\n没有答案块的题\n"
    with pytest.raises(ImportRejected) as exc:
        import_questions(text.encode("utf-8"), "bad.gift")
    lines = text.split("\n")
    rows = [d["row"] for d in exc.value.details]
    assert [lines[r - 1].split(" ")[0] for r in rows] == ["匹配题", "数值题", "没有答案块的题"]
    assert all(d["message"].startswith(f"第{d['row']}行") for d in exc.value.details)
    assert count_rows(Question) == 0


AIKEN = """行政处罚的追责时效一般为（ ）。
A. 一年
B. 二年
C) 三年
D) 五年
ANSWER: B

下列不属于特种设备的是（ ）。
A. 电梯
B. 家用燃气灶
ANSWER: B
"""


def test_aiken_imports_single_choice_questions(ctx):
    report = import_questions(AIKEN.encode("utf-8"), "a.txt", fmt="aiken", category_path="专业法律知识")
    assert report.imported == 2
    q = stems()["下列不属于特种设备的是（ ）。"]
    assert q.type == "single" and q.current.answer == "B" and q.category.path == "专业法律知识"


def test_aiken_errors_name_the_line(ctx):
    text = AIKEN + "\n第三题（ ）\nA. 甲\nB. 乙\nANSWER: E\n\n第四题没有答案\nA. 甲\nB. 乙\n"
    with pytest.raises(ImportRejected) as exc:
        import_questions(text.encode("gbk"), "a.txt", fmt="aiken")
    messages = {d["row"]: d["message"] for d in exc.value.details}
    assert messages[13] == "第13行:答案 E 不在选项中"
    assert 18 in messages and "ANSWER" in messages[18]


def test_formats_are_recognised_from_the_content(ctx):
    assert import_questions(AIKEN.encode("utf-8"), "questions.txt", dry_run=True).format == "aiken"
    assert import_questions(GIFT.encode("utf-8"), "questions.txt", dry_run=True).format == "gift"


def test_binary_garbage_as_gift_is_refused(ctx):
    with pytest.raises(ImportRejected):
        import_questions(b"\x00\x01\x02garbage" * 10, "a.gift")


@given(st.text(max_size=60))
def test_gift_escaping_round_trips_any_text(text):
    text = text.replace("\r", "")
    assert gift_unescape(gift_escape(text)) == text


@given(st.lists(st.sampled_from("ABCDEFGH"), min_size=1, max_size=8, unique=True),
       st.sampled_from(["", ",", "、", " ", "，", ";"]), st.booleans(), st.booleans())
def test_answer_letters_are_read_in_any_common_spelling(letters, separator, full_width, lower):
    text = separator.join(letters)
    if lower:
        text = text.lower()
    if full_width:
        text = "".join(chr(ord(c) + 0xFEE0) if "A" <= c.upper() <= "H" else c for c in text)
    assert parse_letters(text) == letters


answer_text = st.text(alphabet=st.characters(blacklist_characters="|｜;；\n\r", blacklist_categories=("Cs", "Cc")),
                      min_size=1, max_size=12).filter(lambda t: t.strip() == t and t.strip())


@given(st.lists(st.lists(answer_text, min_size=1, max_size=3, unique=True), min_size=1, max_size=4))
def test_fill_blank_answers_survive_the_answer_cell(blanks):
    from question_bank.types import QUESTION_TYPES

    fill = QUESTION_TYPES["fill_blank"]
    cell, _scoring = fill.answer_to_cells([], blanks)
    assert fill.answer_from_cells([], cell)[1] == blanks


@given(st.sampled_from(["single", "multiple", "true_false"]), st.data())
def test_objective_answers_survive_the_answer_cell(code, data):
    from question_bank.types import QUESTION_TYPES

    qtype = QUESTION_TYPES[code]
    options = [{"key": k, "text": f"选项{k}"} for k in "ABCDEFGH"[: data.draw(st.integers(3, 8))]]
    keys = [o["key"] for o in options]
    if code == "single":
        answer = data.draw(st.sampled_from(keys))
    elif code == "multiple":
        answer = sorted(data.draw(st.lists(st.sampled_from(keys), min_size=2, unique=True)))
    else:
        answer, options = data.draw(st.booleans()), []
    cell, _ = qtype.answer_to_cells(options, answer)
    assert qtype.answer_from_cells(options, cell)[1] == answer


def test_moodle_html_questions_keep_their_text_without_markup(ctx):
    text = "::q1::[html]<p>行政强制措施权&nbsp;不得<b>委托</b>。</p>{TRUE}\n\n" \
           "::q2::[html]<p>选择&lt;正确&gt;的期限</p>{=<p>二年</p> ~一年}\n"
    import_questions(text.encode("utf-8"), "moodle.txt", fmt="gift")
    found = stems()
    assert "行政强制措施权 不得委托。" in found
    assert found["选择<正确>的期限"].current.options[0]["text"] == "二年"


def test_odd_metadata_comments_do_not_break_a_gift_import(ctx):
    long_tag = "标" * 80
    text = ('// @meta ["not", "a", "dict"]\n行政强制措施权不得委托。{T}\n\n'
            f'// @meta {{"difficulty": true, "tags": ["{long_tag}", "{long_tag}x", " "]}}\n'
            "规章可以设定行政拘留。{F}\n")
    assert import_questions(text.encode("utf-8"), "odd.gift").imported == 2
    tags = [t.name for q in db.session.scalars(select(Question)) for t in q.tags]
    assert tags == ["标" * 64]


def test_a_50000_row_csv_is_refused_with_a_clear_message_and_nothing_imported(ctx):
    lines = ["题型,题干,答案"] + [f"判断题,第{n}条规定的内容正确。,正确" for n in range(50_000)]
    with pytest.raises(ImportRejected) as exc:
        import_questions("\r\n".join(lines).encode("gbk"), "big.csv")
    assert "20000" in exc.value.message and "拆分" in exc.value.message
    assert count_rows(Question) == 0
