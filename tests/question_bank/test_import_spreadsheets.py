from __future__ import annotations

import io
import zipfile

import pytest
from sqlalchemy import select

from exam.core.errors import ImportRejected
from exam.extensions import db
from question_bank.importer import import_questions
from question_bank.models import Law, Question
from tests.helpers import count_rows
from tests.question_bank.helpers import HEADER, good_rows, xlsx


def questions_by_type():
    return {q.type: q for q in db.session.scalars(select(Question)).all()}


def test_a_clean_file_imports_every_type_with_the_right_answers(ctx):
    report = import_questions(xlsx(good_rows()), "题库.xlsx")
    assert report.imported == 5 and not report.errors
    by_type = questions_by_type()
    assert by_type["single"].current.answer == "B"
    assert by_type["multiple"].current.answer == ["A", "B", "D"]
    assert by_type["true_false"].current.answer is True
    assert by_type["fill_blank"].current.answer == [["十五", "15"]]
    assert by_type["case_analysis"].current.answer["reference"].startswith("执法人员不得少于两人")
    single = by_type["single"]
    assert single.category.path == "公共法律知识/行政处罚"
    assert single.law.name == "中华人民共和国行政处罚法" and single.article == "第三十六条"
    assert {t.name for t in by_type["multiple"].tags} == {"处罚", "种类"}
    assert by_type["true_false"].law is single.law  # 行政处罚法 matched to the law created from the first row
    assert single.status == "active" and single.difficulty == 2


def test_messy_bureau_spreadsheet_is_understood(ctx):
    rows = [
        ["单选", "  行政处罚的追责时效\n一般为（ ）。 ", "一年", "二年", "三年", "五年", " b ", None, 2.0, "", "", ""],
        ["多选", "下列属于行政处罚的有（ ）。", "警告", "罚款", "责令改正", "行政拘留", "Ａ、Ｂ、Ｄ", None, None,
         "", "", ""],
        ["多项选择题", "下列属于行政强制措施的有（ ）。", "查封", "扣押", "罚款", "冻结", "a b d", None, None,
         "", "", ""],
        [None, None, None, None, None, None, None, None, None, None, None, None],  # blank row
        ["判断", "行政强制措施权不得委托。", None, None, None, None, "对", None, None, "", "", ""],
        ["判断题", "地方性法规可以设定吊销营业执照。", None, None, None, None, "×", None, None, "", "", ""],
        ["判断题", "行政机关不得因陈述申辩加重处罚。", None, None, None, None, "T", None, None, "", "", ""],
        ["判断题", "强制性标准必须执行。", None, None, None, None, "是", None, None, "", "", ""],
        ["判断题", "复议期间处罚一律停止执行。", None, None, None, None, "N", None, None, "", "", ""],
        ["判断题", "罚款可以由执法人员自行保管。", None, None, None, None, "错误", None, None, "", "", ""],
        ["填空", "罚款应当自收到决定书之日起（ ）日内缴纳，（ ）人以上执法。", None, None, None, None,
         "十五|15；两|二", None, 15 // 5, "", "", ""],
        ["单选题", "计量基准器具是统一全国量值的（ ）。", 1, 2, 3, 4, "A", None, None, "", "", ""],
    ]
    report = import_questions(xlsx(rows, title_rows=[["2026年度行政执法人员学法考试题库"], []]), "bureau.xlsx")
    assert report.imported == 11, report.errors
    stems = {q.current.stem: q for q in db.session.scalars(select(Question))}
    assert stems["行政处罚的追责时效一般为（ ）。"].current.answer == "B"
    assert stems["下列属于行政处罚的有（ ）。"].current.answer == ["A", "B", "D"]
    assert stems["下列属于行政强制措施的有（ ）。"].type == "multiple"
    truth = {s: q.current.answer for s, q in stems.items() if q.type == "true_false"}
    assert truth == {"行政强制措施权不得委托。": True, "地方性法规可以设定吊销营业执照。": False,
                     "行政机关不得因陈述申辩加重处罚。": True, "强制性标准必须执行。": True,
                     "复议期间处罚一律停止执行。": False, "罚款可以由执法人员自行保管。": False}
    fill = next(q for q in stems.values() if q.type == "fill_blank")
    assert fill.current.answer == [["十五", "15"], ["两", "二"]] and fill.difficulty == 3
    numbers = stems["计量基准器具是统一全国量值的（ ）。"].current.options
    assert [o["text"] for o in numbers] == ["1", "2", "3", "4"]  # numbers stored by Excel as numbers


def test_one_bad_row_imports_nothing_and_every_bad_row_is_named_in_chinese(app):
    rows = good_rows() * 1
    rows = [list(r) for r in rows]
    rows += [["单选题", f"填充题{n}（ ）", "甲", "乙", "丙", "丁", "A", "", 2, "", "", ""] for n in range(6)]
    rows[10][6] = "E"  # Excel row 12
    rows[3][6] = ""  # fill blank without answer: row 5
    rows[0][0] = "问答题"  # unknown type: row 2
    with app.test_request_context(headers={"Accept-Language": "zh-CN"}):
        with pytest.raises(ImportRejected) as exc:
            import_questions(xlsx(rows), "题库.xlsx")
        messages = {d["row"]: d["message"] for d in exc.value.details}
        assert set(messages) == {2, 5, 12}
        assert messages[12] == "第12行:答案 E 不在选项中"
        assert "问答题" in messages[2]
        assert count_rows(Question) == 0 and count_rows(Law) == 0


def test_duplicates_in_the_bank_and_in_the_file_are_reported_and_skipped_or_updated(ctx):
    import_questions(xlsx(good_rows()[:1]), "a.xlsx")
    db.session.commit()
    rows = [list(r) for r in good_rows()[:2]]
    rows[0][1] = "行政处罚的追责时效 一般为（　）"  # same normalised stem and options
    rows.append(list(good_rows()[1]))  # twice in the file
    report = import_questions(xlsx(rows), "b.xlsx")
    assert report.imported == 1 and len(report.duplicates) == 2
    assert {d["row"] for d in report.duplicates} == {2, 4}
    db.session.commit()
    rows = [list(good_rows()[0])]
    rows[0][7] = "修订后的解析"
    report = import_questions(xlsx(rows), "c.xlsx", update=True)
    assert report.updated == 1 and report.imported == 0
    question = db.session.scalars(select(Question).where(Question.type == "single")).one()
    assert question.current_number == 2 and question.current.explanation == "修订后的解析"


def test_same_stem_with_different_options_is_not_a_duplicate(ctx):
    rows = [["单选题", "下列说法正确的是（ ）。", "甲", "乙", "", "", "A", "", 2, "", "", ""],
            ["单选题", "下列说法正确的是（ ）。", "丙", "丁", "", "", "B", "", 2, "", "", ""]]
    assert import_questions(xlsx(rows), "x.xlsx").imported == 2


def test_formulas_are_refused_and_never_evaluated(ctx):
    rows = [list(r) for r in good_rows()[:2]]
    rows[1][1] = '=cmd|" /C calc"!A0'
    with pytest.raises(ImportRejected) as exc:
        import_questions(xlsx(rows), "evil.xlsx")
    assert [d["row"] for d in exc.value.details] == [3]
    assert count_rows(Question) == 0


def test_html_in_a_stem_is_stored_as_text(ctx):
    rows = [["判断题", "<script>alert(1)</script>行政强制措施权不得委托。", "", "", "", "", "正确", "", 2, "", "", ""]]
    import_questions(xlsx(rows), "x.xlsx")
    assert db.session.scalars(select(Question)).one().current.stem.startswith("<script>")


@pytest.mark.parametrize(("data", "name", "fragment"), [
    (b"", "empty.xlsx", "文件为空"),
    (b"hello, this is text", "fake.xlsx", "不是有效的 Excel"),
    (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 100, "old.xls", "97-2003"),
])
def test_files_that_are_not_what_they_say_are_refused_clearly(ctx, data, name, fragment):
    with pytest.raises(ImportRejected) as exc:
        import_questions(data, name)
    assert fragment in exc.value.message
    assert count_rows(Question) == 0


def test_a_zip_that_is_not_a_workbook_is_refused(ctx):
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("readme.txt", "hi")
    with pytest.raises(ImportRejected) as exc:
        import_questions(buffer.getvalue(), "a.xlsx")
    assert "ZIP" in exc.value.message


def test_an_xlsx_named_csv_is_refused_with_a_clear_message(ctx):
    with pytest.raises(ImportRejected) as exc:
        import_questions(xlsx(good_rows()), "题库.csv")
    assert "Excel" in exc.value.message


def test_a_sheet_without_titles_is_refused(ctx):
    with pytest.raises(ImportRejected) as exc:
        import_questions(xlsx([["a", "b"]], header=["x", "y"]), "a.xlsx")
    assert "题干" in exc.value.message


def test_a_file_above_the_limit_is_refused_whole(app):
    app.config["QUESTION_IMPORT_MAX"] = 50
    rows = [["判断题", f"第{n}题的题干。", "", "", "", "", "正确", "", 2, "", "", ""] for n in range(51)]
    with app.test_request_context():
        with pytest.raises(ImportRejected) as exc:
            import_questions(xlsx(rows), "big.xlsx")
        assert "50" in exc.value.message
        assert count_rows(Question) == 0


def test_questions_on_several_sheets_are_read_and_the_notes_sheet_is_ignored(ctx):
    from question_bank.formats.spreadsheet import template_workbook

    report = import_questions(template_workbook(), "template.xlsx")
    assert report.imported == 5
    rows = [["多选题", "下列属于特种设备的有（ ）。", "电梯", "起重机械", "燃气灶", "", "AB", "", 3, "", "", ""]]
    two = xlsx(good_rows()[:1], extra_sheets=[("多选题", [HEADER, *rows])])
    assert import_questions(two, "two.xlsx", dry_run=True).imported == 2


def test_a_sheet_named_after_a_type_needs_no_type_column(ctx):
    header = ["序号", "题目", "A", "B", "C", "D", "正确答案"]
    data = xlsx([[1, "下列属于法定计量单位制度的是（ ）。", "国际单位制", "市制", "英制", "公制", "A"],
                 [2, None, None, None, None, None, None], [3]], header=header, sheet="单选题")
    report = import_questions(data, "s.xlsx")
    assert report.imported == 1  # rows with nothing but a pre-filled 序号 are blank rows
    assert db.session.scalars(select(Question)).one().type == "single"


def test_dry_run_reports_and_writes_nothing(ctx):
    report = import_questions(xlsx(good_rows()), "a.xlsx", dry_run=True, category_path="公共法律知识")
    assert report.imported == 5 and report.dry_run
    assert count_rows(Question) == 0 and count_rows(Law) == 0


def test_category_option_applies_to_rows_without_a_category(ctx):
    rows = [list(r) for r in good_rows()[:2]]
    rows[1][9] = ""
    import_questions(xlsx(rows), "a.xlsx", category_path="专业法律知识/计量")
    paths = sorted(q.category.path for q in db.session.scalars(select(Question)))
    assert paths == ["专业法律知识/计量", "公共法律知识/行政处罚"]


def test_true_false_written_as_a_or_b_without_options_means_true_or_false(ctx):
    rows = [["判断题", "行政强制措施权不得委托。", None, None, None, None, "A", "", 1, "", "", ""],
            ["判断题", "规章可以设定行政拘留。", None, None, None, None, "b", "", 1, "", "", ""],
            ["判断题", "强制性标准必须执行。", "对", "错", None, None, "A", "", 1, "", "", ""]]
    import_questions(xlsx(rows), "tf.xlsx")
    answers = {q.current.stem: q.current.answer for q in db.session.scalars(select(Question))}
    assert answers == {"行政强制措施权不得委托。": True, "规章可以设定行政拘留。": False, "强制性标准必须执行。": True}


def test_column_titles_with_notes_and_english_aliases_are_recognised(ctx):
    header = ["*题型（必填）", "题干【必填】", "Option A", "option_b", "选项 C", "D选项", "正确答案(必填)",
              "Explanation"]
    rows = [["single", "行政处罚的追责时效一般为（ ）。", "一年", "二年", "三年", "五年", "B", "二年"]]
    report = import_questions(xlsx(rows, header=header), "en.xlsx")
    assert report.imported == 1
    question = db.session.scalars(select(Question)).one()
    assert question.current.answer == "B" and len(question.current.options) == 4
    assert question.current.explanation == "二年"
