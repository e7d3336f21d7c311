"""Files as bureaus and other systems really make them: title rows, other column names, one sheet per type, a
single options column, old .xls workbooks, dates and numbers, legacy encodings, Moodle's own GIFT export, Aiken
from Windows editors. Each imports exactly the right questions, or is refused whole with row-numbered reasons."""

from __future__ import annotations

import io
from datetime import datetime

import pytest
import xlwt
from hypothesis import given
from hypothesis import strategies as st
from openpyxl import Workbook
from sqlalchemy import select

from exam.core.errors import ImportRejected
from exam.extensions import db
from question_bank.importer import export_questions, import_questions, load_for_export
from question_bank.models import Question
from tests.helpers import count_rows


def saved(wb) -> bytes:
    buffer = io.BytesIO()
    wb.save(buffer)
    return buffer.getvalue()


def by_stem() -> dict[str, Question]:
    return {q.current.stem: q for q in db.session.scalars(select(Question))}


def refused(data: bytes, name: str) -> list[dict]:
    with pytest.raises(ImportRejected) as exc:
        import_questions(data, name)
    assert count_rows(Question) == 0
    return exc.value.details or [{"row": 0, "message": exc.value.message}]


# --- titles and column names ----------------------------------------------------------------------------

def test_merged_title_rows_above_the_header_and_other_column_names(ctx):
    wb = Workbook()
    ws = wb.active
    ws.append(["2026年度行政执法人员法律知识题库"])
    ws.merge_cells("A1:H1")
    ws.append(["市场监督管理局法制科 编"])
    ws.merge_cells("A2:H2")
    ws.append(["序号", "试题类型", "题目内容", "选项一", "选项二", "选项三", "选项四", "标准答案", "答案解析"])
    ws.append([1, "单项选择题", "违法行为在（ ）年内未被发现的，不再给予行政处罚。", "一", "二", "三", "五", "B",
               "第三十六条"])
    ws.append([2, "多项选择题", "下列属于行政处罚的有（ ）。", "警告", "罚款", "责令改正", "行政拘留", "ABD", None])
    ws.append([3, "判断题", "限制人身自由的行政处罚只能由法律设定。", None, None, None, None, "正确", None])
    report = import_questions(saved(wb), "2026题库.xlsx")
    assert report.imported == 3, report.errors
    found = by_stem()
    single = found["违法行为在（ ）年内未被发现的，不再给予行政处罚。"]
    assert [o["text"] for o in single.current.options] == ["一", "二", "三", "五"]
    assert single.current.answer == "B" and single.current.explanation == "第三十六条"
    assert found["下列属于行政处罚的有（ ）。"].current.answer == ["A", "B", "D"]
    assert found["限制人身自由的行政处罚只能由法律设定。"].current.answer is True


def test_letter_columns_and_english_headers(ctx):
    wb = Workbook()
    ws = wb.active
    ws.append(["Question Type", "Question", "A", "B", "C", "D", "Correct Answer", "Explanation", "Difficulty"])
    ws.append(["single", "Which body may set detention penalties?", "Law", "Regulation", "Rule", "Notice", "a",
               "Only laws.", 4])
    ws.append(["multiple choice", "下列属于行政强制措施的有（ ）。", "查封", "扣押", "罚款", "冻结", "A,B,D", None,
               None])
    ws.append(["true/false", "Fines go to the state treasury.", None, None, None, None, "TRUE", None, None])
    report = import_questions(saved(wb), "export.xlsx")
    assert report.imported == 3, report.errors
    found = by_stem()
    assert found["Which body may set detention penalties?"].current.answer == "A"
    assert found["Which body may set detention penalties?"].difficulty == 4
    assert found["下列属于行政强制措施的有（ ）。"].current.answer == ["A", "B", "D"]
    assert found["Fines go to the state treasury."].current.answer is True


@pytest.mark.parametrize("options_cell", [
    "A.一年 B.二年 C.三年 D.五年",
    "A、一年\nB、二年\nC、三年\nD、五年",
    "A．一年；B．二年；C．三年；D．五年",
    "(A)一年 (B)二年 (C)三年 (D)五年",
    "A:一年\r\nB:二年\r\nC:三年\r\nD:五年",
])
def test_a_single_options_column_is_split_into_options(ctx, options_cell):
    wb = Workbook()
    ws = wb.active
    ws.append(["题型", "题目", "选项", "正确答案"])
    ws.append(["单选", "违法行为在（ ）年内未被发现的，不再给予行政处罚。", options_cell, "B"])
    ws.append(["多选", "下列属于 B 类情形的有（ ）。", "A.甲 类 B.乙类 C.丙类", "AC"])
    ws.append(["判断", "B超检查不属于行政处罚。", None, "对"])
    report = import_questions(saved(wb), "options.xlsx")
    assert report.imported == 3, report.errors
    found = by_stem()
    single = found["违法行为在（ ）年内未被发现的，不再给予行政处罚。"].current
    assert single.options == [{"key": "A", "text": "一年"}, {"key": "B", "text": "二年"},
                              {"key": "C", "text": "三年"}, {"key": "D", "text": "五年"}]
    assert single.answer == "B"
    multiple = found["下列属于 B 类情形的有（ ）。"].current
    assert [o["text"] for o in multiple.options] == ["甲 类", "乙类", "丙类"] and multiple.answer == ["A", "C"]


def test_an_options_column_that_cannot_be_split_is_refused_with_its_row(ctx):
    wb = Workbook()
    ws = wb.active
    ws.append(["题型", "题干", "选项", "答案"])
    ws.append(["单选", "第一题（ ）。", "A.甲 B.乙", "A"])
    ws.append(["单选", "第二题（ ）。", "甲、乙、丙", "A"])
    errors = refused(saved(wb), "bad.xlsx")
    assert [e["row"] for e in errors] == [3]
    assert errors[0]["message"].startswith("第3行:")


# --- one sheet per type ----------------------------------------------------------------------------------

def test_a_workbook_with_one_sheet_per_type_and_no_type_column(ctx):
    wb = Workbook()
    sheets = {
        "单选题": [["题干", "A", "B", "C", "D", "答案"], ["单选第一题（ ）。", "甲", "乙", "丙", "丁", "C"]],
        "多选题": [["题干", "A", "B", "C", "D", "答案"], ["多选第一题（ ）。", "甲", "乙", "丙", "丁", "A"],
                   ["多选第二题（ ）。", "甲", "乙", "丙", "丁", "ACD"]],
        "判断题": [["题干", "答案"], ["判断第一题。", "×"]],
        "填空题": [["题干", "答案"], ["填空第一题（ ）日。", "十五|15"]],
        "案例分析题": [["题干", "参考答案", "评分要点"], ["案例第一题。", "不合法。", "指出程序违法（2分）"]],
    }
    wb.remove(wb.active)
    for name, rows in sheets.items():
        ws = wb.create_sheet(name)
        for row in rows:
            ws.append(row)
    with pytest.raises(ImportRejected) as exc:
        import_questions(saved(wb), "分类题库.xlsx")
    # a multiple-choice question with one answer is refused, named by its sheet and row
    assert [e["message"].split(":")[0] for e in exc.value.details] == ["工作表“多选题”第2行"]
    wb["多选题"]["F2"] = "AB"
    report = import_questions(saved(wb), "分类题库.xlsx")
    assert report.imported == 6, report.errors
    types = {stem: q.type for stem, q in by_stem().items()}
    assert types == {"单选第一题（ ）。": "single", "多选第一题（ ）。": "multiple", "多选第二题（ ）。": "multiple",
                     "判断第一题。": "true_false", "填空第一题（ ）日。": "fill_blank",
                     "案例第一题。": "case_analysis"}


# --- .xls, numbers, dates, formulas --------------------------------------------------------------------

def xls(sheets: dict[str, list[list]]) -> bytes:
    book = xlwt.Workbook(encoding="utf-8")
    date_style = xlwt.easyxf(num_format_str="YYYY-MM-DD")
    for name, rows in sheets.items():
        sheet = book.add_sheet(name)
        for r, row in enumerate(rows):
            for c, value in enumerate(row):
                if value is None:
                    continue
                if isinstance(value, datetime):
                    sheet.write(r, c, value, date_style)
                else:
                    sheet.write(r, c, value)
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


XLS_ROWS = [
    ["2026年度行政执法人员法律知识题库"],
    [],
    ["题型", "题干", "选项A", "选项B", "选项C", "选项D", "答案", "难度", "分类"],
    ["单选题", "计量基准器具是统一全国量值的（ ）依据。", 1, 2.5, 3, 4, "A", 2.0, "专业法律知识/计量"],
    ["多选题", "下列属于行政处罚的有（ ）。", "警告", "罚款", "责令改正", "行政拘留", "A、B、D", 3.0, None],
    ["判断题", "限制人身自由的行政处罚只能由法律设定。", None, None, None, None, "√", None, None],
    ["填空题", "《行政处罚法》修订后自（ ）起施行。", None, None, None, None, datetime(2021, 7, 15), None, None],
    ["填空题", "当事人应当在（ ）日内缴纳罚款。", None, None, None, None, 15.0, None, None],
]


def test_an_old_xls_workbook_is_read_with_numbers_and_dates_as_typed(ctx):
    report = import_questions(xls({"题库": XLS_ROWS}), "2026题库.xls")
    assert report.imported == 5, report.errors
    found = by_stem()
    single = found["计量基准器具是统一全国量值的（ ）依据。"]
    assert [o["text"] for o in single.current.options] == ["1", "2.5", "3", "4"]
    assert single.difficulty == 2 and single.category.path == "专业法律知识/计量"
    assert found["下列属于行政处罚的有（ ）。"].current.answer == ["A", "B", "D"]
    assert found["《行政处罚法》修订后自（ ）起施行。"].current.answer == [["2021-07-15"]]
    assert found["当事人应当在（ ）日内缴纳罚款。"].current.answer == [["15"]]


def test_an_xls_named_xlsx_or_without_a_name_is_still_read(ctx):
    assert import_questions(xls({"题库": XLS_ROWS}), "题库.xlsx", dry_run=True).imported == 5
    assert import_questions(xls({"题库": XLS_ROWS}), "upload", dry_run=True).imported == 5


def test_a_formula_in_an_xls_question_is_refused(ctx):
    rows = [list(r) for r in XLS_ROWS]
    rows[3][5] = xlwt.Formula("3+1")
    errors = refused(xls({"题库": rows}), "formula.xls")
    assert [e["row"] for e in errors] == [4]
    assert "公式" in errors[0]["message"]


def test_a_formula_with_a_cached_value_in_an_xlsx_is_refused(ctx):
    wb = Workbook()
    ws = wb.active
    ws.append(["题型", "题干", "选项A", "选项B", "答案"])
    ws.append(["单选题", "第一题（ ）。", "甲", "乙", "A"])
    ws.append(["单选题", '=CONCATENATE("第二","题")', "甲", "乙", "A"])
    errors = refused(saved(wb), "formula.xlsx")
    assert [e["row"] for e in errors] == [3] and "公式" in errors[0]["message"]


def test_a_file_that_is_not_a_workbook_but_named_xls_is_refused_clearly(ctx):
    errors = refused(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 600, "broken.xls")
    assert "Excel" in errors[0]["message"] or "xls" in errors[0]["message"]


# --- CSV encodings -------------------------------------------------------------------------------------

CSV = ("题目,选项A,选项B,选项C,选项D,正确答案,试题解析,类型\r\n"
       "行政处罚的追责时效一般为（ ）。,一年,二年,三年,五年,B,第三十六条,单选\r\n"
       "罚款必须全部上缴国库。,,,,,对,,判断\r\n")


@pytest.mark.parametrize("encoding", ["gbk", "gb18030", "utf-8-sig"])
def test_csv_from_excel_in_legacy_encodings_with_aliased_headers(ctx, encoding):
    report = import_questions(CSV.encode(encoding), "题库.csv")
    assert report.imported == 2, report.errors
    found = by_stem()
    assert found["行政处罚的追责时效一般为（ ）。"].current.explanation == "第三十六条"
    assert found["罚款必须全部上缴国库。"].current.answer is True


# --- Moodle GIFT as Moodle exports it ------------------------------------------------------------------

MOODLE_GIFT = r"""// question: 0  name: Switch category to $course$/top/Default for 执法培训/行政处罚
$CATEGORY: $course$/top/Default for 执法培训/行政处罚


// question: 1201  name: 追责时效
::追责时效::[html]<p>违法行为在（ ）年内未被发现的，<b>不再</b>给予行政处罚。</p>{
	~<p>一</p>#<p>不对。</p>
	=<p>二</p>#<p>正确。</p>
	~<p>三</p>#
	~<p>五</p>#
	####<p>见第三十六条。</p>
}


// question: 1202  name: 处罚种类
::处罚种类::[html]<p>下列属于行政处罚的有（ ）。</p>{
	~%50%警告#
	~%50%罚款#
	~%-100%责令改正#
	~%-100%行政强制#
}


// question: 1203  name: 法律保留
::法律保留::[moodle]限制人身自由的行政处罚只能由法律设定。{TRUE#错，应由法律设定。#对。}


// question: 1204  name: 缴纳期限
::缴纳期限::[html]当事人应当自收到行政处罚决定书之日起（ ）日内缴纳罚款。{
	=%100%十五#
	=%100%15#
}


// question: 1205  name: 转义
::转义\: 比例::[html]比例 1\:2、a\=b、c\~d、\#3 与 \{括号\} 都是文字。{
	=对\: 是#
	~错\= 否#
}


// question: 1206  name: 案例
::案例::[html]<p>某局一名执法人员当场罚款5000元，请分析。</p>{
	####<p>不合法：执法人员不得少于两人。</p>
}
"""


def test_a_moodle_gift_export_imports_exactly(ctx):
    report = import_questions(MOODLE_GIFT.encode("utf-8"), "questions-执法培训-20261203-0800.txt")
    assert report.format == "gift" and report.imported == 6, report.errors
    found = by_stem()
    single = found["违法行为在（ ）年内未被发现的，不再给予行政处罚。"]
    assert [o["text"] for o in single.current.options] == ["一", "二", "三", "五"]
    assert single.current.answer == "B" and single.current.explanation == "见第三十六条。"
    assert single.category.path == "行政处罚"
    multiple = found["下列属于行政处罚的有（ ）。"]
    assert multiple.type == "multiple" and multiple.current.answer == ["A", "B"]
    assert found["限制人身自由的行政处罚只能由法律设定。"].current.answer is True
    fill = found["当事人应当自收到行政处罚决定书之日起（ ）日内缴纳罚款。"]
    assert fill.type == "fill_blank" and fill.current.answer == [["十五", "15"]]
    escaped = found["比例 1:2、a=b、c~d、#3 与 {括号} 都是文字。"]
    assert [o["text"] for o in escaped.current.options] == ["对: 是", "错= 否"]
    case = found["某局一名执法人员当场罚款5000元，请分析。"]
    assert case.type == "case_analysis" and case.current.answer["reference"] == "不合法：执法人员不得少于两人。"


def test_a_moodle_question_type_we_do_not_have_refuses_the_file_with_its_line(ctx):
    text = MOODLE_GIFT + "\n// question: 1207  name: 数值\n::数值::罚款上限是多少万元?{#10:2}\n"
    errors = refused(text.encode("utf-8"), "moodle.gift")
    assert len(errors) == 1 and errors[0]["message"].startswith(f"第{errors[0]['row']}行:")
    assert MOODLE_GIFT.count("\n") + 3 == errors[0]["row"] and "数值" in errors[0]["message"]


# --- Aiken from Windows ----------------------------------------------------------------------------------

AIKEN = ("行政处罚的追责时效一般为（ ）。  \r\n"
         "A. 一年\r\n"
         "B. 二年   \r\n"
         "C) 三年\r\n"
         "D) 五年\r\n"
         "ANSWER: B\r\n"
         "\r\n"
         "计量基准器具由谁批准？\t\r\n"
         "A) 国务院计量行政部门\r\n"
         "B) 省级人民政府\r\n"
         "ANSWER: A   \r\n"
         "   \r\n\r\n")


def test_aiken_with_crlf_bom_mixed_markers_and_trailing_blanks(ctx):
    report = import_questions(b"\xef\xbb\xbf" + AIKEN.encode("utf-8"), "aiken.txt")
    assert report.format == "aiken" and report.imported == 2, report.errors
    found = by_stem()
    first = found["行政处罚的追责时效一般为（ ）。"].current
    assert [o["text"] for o in first.options] == ["一年", "二年", "三年", "五年"] and first.answer == "B"
    assert found["计量基准器具由谁批准？"].current.answer == "A"


def test_aiken_answer_outside_the_options_is_refused_with_its_line_in_chinese(ctx):
    text = AIKEN.replace("ANSWER: A", "ANSWER: E")
    errors = refused(text.encode("utf-8"), "aiken.txt")
    assert errors == [{"row": 8, "message": "第8行:答案 E 不在选项中"}]


# --- refusals and round trips ----------------------------------------------------------------------------

def test_every_bad_row_of_a_messy_file_is_named_and_nothing_is_imported(ctx):
    wb = Workbook()
    ws = wb.active
    ws.append(["2026年度题库"])
    ws.append(["题型", "题干", "选项A", "选项B", "选项C", "答案"])
    ws.append(["单选题", "好题（ ）。", "甲", "乙", "丙", "A"])
    for _ in range(8):
        ws.append(["单选题", f"好题{_}（ ）。", "甲", "乙", "丙", "B"])
    ws.append(["单选题", "答案不在选项中（ ）。", "甲", "乙", "丙", "E"])  # row 12
    ws.append(["问答题", "未知题型。", None, None, None, "略"])  # row 13
    errors = refused(saved(wb), "messy.xlsx")
    assert errors[0] == {"row": 12, "message": "第12行:答案 E 不在选项中"}
    assert [e["row"] for e in errors] == [12, 13]


def test_an_export_of_every_type_imports_back_exactly(ctx):
    wb = Workbook()
    ws = wb.active
    ws.append(["题型", "题干", "选项A", "选项B", "选项C", "选项D", "答案", "解析", "难度", "分类", "标签", "法律依据",
               "评分要点"])
    ws.append(["单选题", "甲（ ）。", "一", "二", "三", "四", "C", "解析一", 1, "甲/乙", "标签一", "《计量法》第九条",
               None])
    ws.append(["多选题", "乙（ ）。", "一", "二", "三", "四", "BD", None, 5, "甲", "标签一、标签二", None, None])
    ws.append(["判断题", "丙。", None, None, None, None, "错", "解析三", 3, None, None, None, None])
    ws.append(["填空题", "丁（ ）和（ ）。", None, None, None, None, "十五|15；两|二", None, 2, None, None, None, None])
    ws.append(["案例分析题", "戊。\n第二段。", None, None, None, None, "参考答案。", None, 4, None, None, None,
               "要点一（2分）\n要点二（3分）"])
    import_questions(saved(wb), "all.xlsx")
    db.session.commit()

    def snapshot():
        return sorted(
            (q.type, q.current.stem, q.current.options, q.current.answer, q.current.explanation, q.difficulty,
             q.category.path if q.category else "", sorted(t.name for t in q.tags), q.law.name if q.law else "",
             q.article)
            for q in db.session.scalars(select(Question)))

    before = snapshot()
    for fmt in ("xlsx", "gift"):
        data = export_questions(load_for_export(select(Question)), fmt)
        for q in db.session.scalars(select(Question)):
            db.session.delete(q)
        db.session.commit()
        report = import_questions(data, f"export.{fmt}")
        assert report.imported == 5, report.errors
        db.session.commit()
        assert snapshot() == before, fmt


# --- merged cells ----------------------------------------------------------------------------------------

def test_a_type_and_a_category_merged_down_over_their_questions_apply_to_each_row(ctx):
    wb = Workbook()
    ws = wb.active
    ws.append(["题型", "分类", "题干", "选项A", "选项B", "答案"])
    ws.append(["单选题", "公共法律知识/行政处罚", "第一题（ ）。", "甲", "乙", "A"])
    ws.append([None, None, "第二题（ ）。", "甲", "乙", "B"])
    ws.append([None, "专业法律知识/计量", "第三题（ ）。", "甲", "乙", "A"])
    ws.append(["判断题", None, "第四题。", None, None, "对"])
    ws.merge_cells("A2:A4")
    ws.merge_cells("B2:B3")
    ws.merge_cells("B4:B5")
    report = import_questions(saved(wb), "merged.xlsx")
    assert report.imported == 4, report.errors
    found = {stem: (q.type, q.category.path) for stem, q in by_stem().items()}
    assert found == {"第一题（ ）。": ("single", "公共法律知识/行政处罚"),
                     "第二题（ ）。": ("single", "公共法律知识/行政处罚"),
                     "第三题（ ）。": ("single", "专业法律知识/计量"), "第四题。": ("true_false", "专业法律知识/计量")}


def test_merged_cells_of_an_xls_apply_to_each_row(ctx):
    book = xlwt.Workbook(encoding="utf-8")
    sheet = book.add_sheet("题库")
    for c, title in enumerate(["题型", "题干", "选项A", "选项B", "答案"]):
        sheet.write(0, c, title)
    sheet.write_merge(1, 2, 0, 0, "单选题")
    for r, stem in ((1, "第一题（ ）。"), (2, "第二题（ ）。")):
        for c, value in enumerate([stem, "甲", "乙", "B"], start=1):
            sheet.write(r, c, value)
    buffer = io.BytesIO()
    book.save(buffer)
    report = import_questions(buffer.getvalue(), "merged.xls")
    assert report.imported == 2, report.errors
    assert {q.type for q in by_stem().values()} == {"single"}


def test_option_cells_with_their_letter_and_numbered_sheet_names(ctx):
    wb = Workbook()
    ws = wb.active
    ws.title = "一、单项选择题(每题1分)"
    ws.append(["题干", "选项A", "选项B", "选项C", "答案"])
    ws.append(["第一题（ ）。", "A.一年", "B.二年", "C.三年", "B"])
    ws.append(["第二题（ ）。", "A、Ａ级", "B、B级", "C、C级", "A"])
    ws.append(["第三题（ ）。", "A级", "B级", "C级", "答案：C"])  # letters that belong to the text stay
    judged = wb.create_sheet("第二部分 判断题")
    judged.append(["题干", "答案"])
    judged.append(["第四题。", "×"])
    report = import_questions(saved(wb), "numbered.xlsx")
    assert report.imported == 4, report.errors
    found = by_stem()
    assert [o["text"] for o in found["第一题（ ）。"].current.options] == ["一年", "二年", "三年"]
    assert [o["text"] for o in found["第二题（ ）。"].current.options] == ["Ａ级", "B级", "C级"]
    assert [o["text"] for o in found["第三题（ ）。"].current.options] == ["A级", "B级", "C级"]
    assert found["第四题。"].type == "true_false" and found["第四题。"].current.answer is False


def test_one_sheet_with_section_headings_instead_of_a_type_column(ctx):
    wb = Workbook()
    ws = wb.active
    ws.append(["2026年度行政执法人员法律知识题库"])
    ws.merge_cells("A1:E1")
    ws.append(["序号", "题干", "选项A", "选项B", "答案"])
    ws.append(["一、单项选择题（每题1分）"])
    ws.merge_cells("A3:E3")
    ws.append([1, "单选第一题（ ）。", "甲", "乙", "A"])
    ws.append([2, "单选第二题（ ）。", "甲", "乙", "B"])
    ws.append(["二、判断题"])
    ws.append(["序号", "题干", "选项A", "选项B", "答案"])  # the header again above the section
    ws.append([1, "判断第一题。", None, None, "对"])
    ws.append(["三、填空题"])
    ws.append([1, "填空第一题（ ）日。", None, None, "15"])
    report = import_questions(saved(wb), "sections.xlsx")
    assert report.imported == 4, report.errors
    assert {stem: q.type for stem, q in by_stem().items()} == {
        "单选第一题（ ）。": "single", "单选第二题（ ）。": "single", "判断第一题。": "true_false",
        "填空第一题（ ）日。": "fill_blank"}


@given(texts=st.lists(st.text(alphabet="一二三四五六七八九十年日月元罚款警告甲乙丙丁0123456789 ", min_size=1,
                              max_size=12).map(str.strip).filter(bool), min_size=2, max_size=8),
       style=st.sampled_from(["{k}.{t} ", "{k}、{t}\n", "{k}．{t}；", "({k}){t} ", "{k}:{t}\r\n", "（{k}）{t}  "]))
def test_any_options_written_in_one_cell_split_back(texts, style):
    from question_bank.formats.spreadsheet import split_options

    cell = "".join(style.format(k=k, t=t) for k, t in zip("ABCDEFGH", texts, strict=False)).strip()
    assert split_options(cell) == texts
