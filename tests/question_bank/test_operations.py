from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import select

from exam.core.audit import AuditLog
from exam.extensions import db
from question_bank import operations as ops
from question_bank.models import Law, Question, QuestionVersion


def single(stem="行政处罚的追责时效一般为（ ）。", answer="B", law=None, **extra):
    return ops.QuestionData(type="single", stem=stem, answer=answer, law=law,
                            options=[{"key": k, "text": t} for k, t in zip("ABCD", ["一年", "二年", "三年", "五年"],
                                                                           strict=True)], **extra)


def test_create_question_validates_through_the_type_registry_and_sets_the_stem_key(ctx):
    question = ops.create_question(single())
    assert question.current_number == 1 and question.current.answer == "B"
    assert question.stem_key == "行政处罚的追责时效一般为"
    with pytest.raises(ops.QuestionError) as exc:
        ops.create_question(single(answer="E"))
    assert "E" in exc.value.message
    assert db.session.scalar(select(AuditLog.action).where(AuditLog.action == "question.create"))


def test_editing_a_question_adds_a_version_and_leaves_the_old_version_and_its_grading_unchanged(ctx):
    question = ops.create_question(single())
    db.session.commit()
    first = db.session.scalar(select(QuestionVersion).where(QuestionVersion.question_id == question.id))
    assert first.grade("B", 2) == 2.0
    ops.edit_question(question, single(stem="行政处罚的一般追责时效为（ ）。", answer="C"))
    db.session.commit()
    db.session.expire_all()
    assert question.current_number == 2
    assert question.current.stem == "行政处罚的一般追责时效为（ ）。"
    old = db.session.get(QuestionVersion, first.id)
    assert old.number == 1 and old.stem == "行政处罚的追责时效一般为（ ）。" and old.answer == "B"
    assert old.grade("B", 2) == 2.0 and old.grade("C", 2) == 0.0  # an attempt on version 1 grades as before
    assert question.current.grade("C", 2) == 2.0
    actions = db.session.scalars(select(AuditLog.action)).all()
    assert "question.edit" in actions


def test_saving_unchanged_content_does_not_add_a_version(ctx):
    question = ops.create_question(single())
    ops.edit_question(question, single(difficulty=4))
    assert question.current_number == 1 and question.difficulty == 4


def test_retire_and_activate(ctx):
    question = ops.create_question(single())
    ops.set_status(question, "retired")
    assert question.status == "retired"
    ops.set_status(question, "active")
    assert question.status == "active"


def test_bulk_retag_and_move(ctx):
    a, b = ops.create_question(single()), ops.create_question(single(stem="另一道题（ ）"))
    ops.bulk_retag([a.id, b.id], add=["时效", "重点"])
    assert {t.name for t in a.tags} == {"时效", "重点"} == {t.name for t in b.tags}
    ops.bulk_retag([a.id], remove=["重点"])
    assert {t.name for t in a.tags} == {"时效"}
    category = ops.ensure_category("公共法律知识/行政处罚")
    assert ops.bulk_move([a.id, b.id], category) == 2
    assert a.category.path == "公共法律知识/行政处罚"
    with pytest.raises(ops.NotFound):
        ops.bulk_move([a.id, 987654], None)


def test_category_paths_are_found_and_created_level_by_level(ctx):
    node = ops.ensure_category("公共法律知识 / 行政处罚")
    assert node.path == "公共法律知识/行政处罚"
    assert ops.find_category("公共法律知识/行政处罚") is node
    assert ops.ensure_category("公共法律知识/行政许可").parent is node.parent
    assert ops.find_category("公共法律知识/不存在") is None


def test_citation_is_split_into_law_and_article():
    assert ops.split_citation("《中华人民共和国行政处罚法》第三十二条") == ("中华人民共和国行政处罚法", "第三十二条")
    assert ops.split_citation("行政处罚法第十条第二款") == ("行政处罚法", "第十条第二款")
    assert ops.split_citation("《计量法》") == ("计量法", None)


def test_repealing_a_law_flags_its_questions_and_the_drawable_filter_excludes_them_from_that_day(ctx):
    law = Law(name="中华人民共和国计量法", short_name="计量法")
    other = Law(name="中华人民共和国标准化法")
    db.session.add_all([law, other])
    db.session.flush()
    citing = ops.create_question(single(stem="计量题（ ）", law=law))
    unaffected = ops.create_question(single(stem="标准化题（ ）", law=other))
    no_law = ops.create_question(single(stem="无依据题（ ）"))
    retired = ops.create_question(single(stem="退役题（ ）", status="retired"))
    flagged = ops.mark_law_changed(law, repealed_on=date(2026, 6, 1))
    assert flagged == 1
    assert citing.needs_review and "2026-06-01" in citing.review_reason
    assert not unaffected.needs_review

    def drawable(day):
        return set(db.session.scalars(ops.drawable_query(day)).all())

    assert drawable(date(2026, 5, 31)) == {citing, unaffected, no_law}
    assert drawable(date(2026, 6, 1)) == {unaffected, no_law}
    assert retired not in drawable(date(2020, 1, 1))
    # the same filter composes with the exams engineer's own select
    stmt = (select(Question.id).outerjoin(Law, Question.law_id == Law.id)
            .where(ops.drawable_questions_filter(date(2026, 7, 1)), Question.type == "single"))
    assert set(db.session.scalars(stmt)) == {unaffected.id, no_law.id}


def test_amending_a_law_through_save_law_flags_questions(ctx):
    law = ops.save_law(None, name="中华人民共和国行政复议法", short_name="行政复议法", effective_on=None,
                       amended_on=None, repealed_on=None)
    question = ops.create_question(single(stem="复议题（ ）", law=law))
    ops.save_law(law, name=law.name, short_name="行政复议法", effective_on=None, amended_on=date(2024, 1, 1),
                 repealed_on=None)
    assert question.needs_review and "2024-01-01" in question.review_reason
    assert not law.usable_on(date(2024, 1, 1)) and law.usable_on(date(2023, 12, 31))


def test_filtered_list_is_one_query_with_search_and_filters(ctx):
    from sqlalchemy import event

    category = ops.ensure_category("专业法律知识/计量")
    for n in range(30):
        ops.create_question(single(stem=f"计量器具第{n}题（ ）", category=category))
    ops.create_question(single(stem="行政许可的期限（ ）"))
    db.session.commit()
    statements = []
    listener = lambda *args: statements.append(args[2])  # noqa: E731
    event.listen(db.engine, "before_cursor_execute", listener)
    try:
        rows = db.session.scalars(ops.filtered_questions(ops.QuestionFilter(
            category_id=category.id, type="single", q="计量器具"))).all()
    finally:
        event.remove(db.engine, "before_cursor_execute", listener)
    assert len(rows) == 30
    list_queries = [s for s in statements if "LIKE" in s and "category_id IN" in s]
    assert len(list_queries) == 1  # the filtering happens in SQL
    assert len(statements) <= 8  # the list plus one select-in load per relationship, not one per question


def test_a_cell_citing_several_laws_keeps_the_first_law_and_article():
    assert ops.split_citation("《行政处罚法》第九条、《行政强制法》第十条") == ("行政处罚法", "第九条")
    citation = ops.split_citation("《中华人民共和国产品质量法》第四十九条第一款")
    assert citation == ("中华人民共和国产品质量法", "第四十九条第一款")
    assert ops.split_citation("") == ("", None)


def test_a_stored_version_cannot_be_changed_in_place(ctx):
    question = ops.create_question(single())
    db.session.commit()
    version = db.session.scalars(select(QuestionVersion)).one()
    version.stem = "偷偷改题干"
    with pytest.raises(ValueError, match="immutable"):
        db.session.flush()
    db.session.rollback()
    assert db.session.get(QuestionVersion, version.id).stem == "行政处罚的追责时效一般为（ ）。"
    assert question.id
