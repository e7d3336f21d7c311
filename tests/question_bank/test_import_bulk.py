"""A big import is a fixed number of statements (ids reserved up front, one bulk insert per table, one
duplicate query), and what it writes is linked exactly as the ORM would link it."""

from __future__ import annotations

from sqlalchemy import event, func, select

from exam.core import bulk
from exam.extensions import db
from question_bank.importer import benchmark_workbook, import_questions
from question_bank.models import Question, QuestionVersion, Tag, question_tags


class Statements:
    def __init__(self):
        self.sql: list[str] = []

    def __enter__(self):
        event.listen(db.engine, "before_cursor_execute", self._record)
        return self

    def __exit__(self, *exc):
        event.remove(db.engine, "before_cursor_execute", self._record)

    def _record(self, _conn, _cursor, statement, *_args):
        self.sql.append(statement)


def test_a_big_import_takes_the_same_few_statements_as_a_small_one(ctx):
    with Statements() as small:
        assert import_questions(benchmark_workbook(10), "small.xlsx").imported == 10
    db.session.commit()
    with Statements() as big:
        assert import_questions(benchmark_workbook(1500), "big.xlsx").imported == 1490  # the first 10 are in
    db.session.commit()
    assert len(big.sql) <= len(small.sql) + 2
    duplicate_checks = [s for s in big.sql if "FROM questions JOIN question_versions" in s]
    assert len(duplicate_checks) == 1


def test_bulk_rows_are_linked_like_orm_rows(ctx):
    import_questions(benchmark_workbook(25), "bench.xlsx")
    db.session.commit()
    questions = db.session.scalars(select(Question).order_by(Question.id)).all()
    assert len(questions) == 25
    for q in questions:
        assert q.current is not None and q.current.number == 1 and q.current.type == q.type
        assert {t.name for t in q.tags} == {"程序", "期限"}
        assert q.stem_key and q.status == "active" and q.category.path == "公共法律知识/行政处罚"
    assert db.session.scalar(select(func.count()).select_from(question_tags)) == 50
    assert db.session.scalar(select(func.count()).select_from(Tag)) == 2
    single = next(q for q in questions if q.type == "single")
    assert single.current.options[1] == {"key": "B", "text": single.current.options[1]["text"]}
    assert single.current.answer == "B"
    multiple = next(q for q in questions if q.type == "multiple")
    assert multiple.current.answer == ["A", "C"]


def test_reserved_ids_follow_the_existing_rows_and_are_not_reused(ctx):
    import_questions(benchmark_workbook(5), "one.xlsx")
    db.session.flush()
    highest = db.session.scalar(select(func.max(Question.id)))
    ids = bulk.reserve_ids(db.session, Question.__table__, 3)
    assert len(set(ids)) == 3 and min(ids) > highest
    assert db.session.scalar(select(func.count()).select_from(QuestionVersion)) == 5


def test_a_failure_after_the_bulk_inserts_leaves_nothing_behind(ctx, monkeypatch):
    sent = []
    original = bulk.insert_rows

    def failing(session, table, columns, rows):
        sent.append(table.name)
        if table.name == "question_tags":
            raise RuntimeError("the database went away")
        return original(session, table, columns, rows)

    monkeypatch.setattr(bulk, "insert_rows", failing)
    try:
        import_questions(benchmark_workbook(30), "bench.xlsx")
    except RuntimeError:
        db.session.rollback()
    assert sent == ["questions", "question_versions", "question_tags"]
    assert db.session.scalar(select(func.count()).select_from(Question)) == 0
    assert db.session.scalar(select(func.count()).select_from(QuestionVersion)) == 0
