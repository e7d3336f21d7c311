from __future__ import annotations

import pytest
from sqlalchemy import delete, select

from exam.extensions import db
from question_bank import operations as ops
from question_bank.importer import export_questions, import_questions, load_for_export
from question_bank.models import Question, QuestionVersion, question_tags


def make_bank():
    law = ops.ensure_law("中华人民共和国行政处罚法")
    category = ops.ensure_category("公共法律知识/行政处罚")
    other = ops.ensure_category("专业法律知识/特种设备")
    tags = ops.ensure_tags(["时效", "重点"])
    opts = [{"key": k, "text": t} for k, t in zip("ABCDE", ["一年", "二年", "三年", "五年", "十年"], strict=True)]
    common = {"law": law, "article": "第三十六条", "category": category, "tags": tags, "source": "2016年第8期"}
    items = [
        ops.QuestionData(type="single", stem="追责时效一般为（ ）。", options=opts[:4], answer="B",
                         explanation="第三十六条规定。", difficulty=2, **common),
        ops.QuestionData(type="multiple", stem="下列期限中长于一年的有（ ）。", options=opts,
                         answer=["B", "C", "D", "E"], difficulty=4, **common),
        ops.QuestionData(type="true_false", stem="限制人身自由的行政处罚只能由法律设定。", answer=True,
                         explanation="第十条。", category=other),
        ops.QuestionData(type="true_false", stem="规章可以设定行政拘留。", answer=False, difficulty=1),
        ops.QuestionData(type="fill_blank", stem="罚款应当在（ ）日内缴纳，执法人员不少于（ ）人。",
                         answer=[["十五", "15"], ["两", "二", "2"]], difficulty=3, **common),
        ops.QuestionData(type="case_analysis", stem="某局一人执法并当场罚款5000元。\n请分析其违法之处。",
                         answer={"reference": "（1）执法人员不得少于两人。\n（2）不能适用简易程序。",
                                 "scoring_points": [{"text": "执法人数", "points": 2},
                                                    {"text": "简易程序", "points": 3.5}]},
                         explanation="见第四十二条、第五十一条。", difficulty=5, **common),
        ops.QuestionData(type="single", stem="=SUM(A1) 形式的文字 {特殊} ~字符# 会被当作公式吗？", options=opts[:2],
                         answer="A"),
    ]
    for data in items:
        ops.create_question(data)
    db.session.commit()


def snapshot():
    rows = []
    for q in db.session.scalars(select(Question).order_by(Question.id)):
        v = q.current
        rows.append((q.type, v.stem, v.options, v.answer, v.explanation, q.difficulty,
                     q.category.path if q.category else None, q.law.name if q.law else None, q.article,
                     sorted(t.name for t in q.tags), q.source))
    return sorted(rows, key=repr)


def wipe():
    db.session.execute(delete(question_tags))
    db.session.execute(delete(QuestionVersion))
    db.session.execute(delete(Question))
    db.session.commit()


@pytest.mark.parametrize(("fmt", "name"), [("xlsx", "export.xlsx"), ("gift", "export.gift")])
def test_export_then_import_gives_back_the_same_questions_for_every_type(ctx, fmt, name):
    make_bank()
    before = snapshot()
    assert {row[0] for row in before} == {"single", "multiple", "true_false", "fill_blank", "case_analysis"}
    data = export_questions(load_for_export(select(Question).order_by(Question.id)), fmt)
    report = import_questions(data, name, dry_run=True)
    assert report.imported == 0 and len(report.duplicates) == len(before)  # the same questions: all duplicates
    wipe()
    report = import_questions(data, name)
    assert report.imported == len(before), report.errors
    db.session.commit()
    assert snapshot() == before


def test_an_exported_stem_that_looks_like_a_formula_stays_text_in_excel(ctx):
    import io

    from openpyxl import load_workbook

    make_bank()
    data = export_questions(load_for_export(select(Question)), "xlsx")
    ws = load_workbook(io.BytesIO(data)).active
    cell = next(c for c in ws["B"] if isinstance(c.value, str) and c.value.startswith("=SUM"))
    assert cell.data_type == "s"
