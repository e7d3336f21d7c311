"""A question bank written in bulk with Core executemany (no ORM unit of work): 100,000 questions in seconds.

The rows are what the question bank's own models would write (a question and its version 1, active), in chunks
of ``CHUNK`` rows. The question ids are given (after the highest one in the table, the PostgreSQL sequence moved
past them afterwards): ``INSERT ... RETURNING`` in parameter order runs row by row on SQLite. PostgreSQL takes
the rows through COPY. Used by the exam
day (300 questions) and the paper assembly (100,000).
"""

from __future__ import annotations

CHUNK = 5_000
OBJECTIVE_TYPES = ("single", "multiple", "true_false")


TEXT = "根据《中华人民共和国行政处罚法》,下列关于行政处罚的说法正确的是哪一项?"


def _question_rows(kind: str, start: int, count: int, category_id: int):
    from question_bank.types import normalise_stem

    tail = normalise_stem(TEXT)  # the stem key is per character: the fixed text is normalised once
    for i in range(start, start + count):
        head = f"【{kind}-{i:06d}】"
        stem = head + TEXT
        if kind == "true_false":
            options, answer = [], bool(i % 2)
        else:
            options = [{"key": k, "text": f"选项{k}:第{i}条规定的情形{k}"} for k in "ABCD"]
            answer = "B" if kind == "single" else ["A", "C"]
        yield ({"type": kind, "status": "active", "category_id": category_id, "difficulty": 1 + i % 5,
                "stem_key": (normalise_stem(head) + tail)[:255], "current_number": 1},
               {"number": 1, "type": kind, "stem": stem, "options": options, "answer": answer})


def _copy(conn, table: str, rows: list[dict], **defaults) -> None:
    """PostgreSQL: the rows through COPY (a second for 100,000 rows where executemany takes half a minute);
    ``defaults`` are the values Core would have filled from the models' Python-side defaults."""
    import json

    columns = [*rows[0], *defaults]
    raw = conn.connection.driver_connection  # psycopg, inside the session's transaction
    with raw.cursor() as cursor, cursor.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
        for row in rows:
            copy.write_row([json.dumps(v, ensure_ascii=False) if isinstance(v, list | dict) or k == "answer"
                            else v for k, v in {**row, **defaults}.items()])


def bulk_questions(app, category_name: str, per_type: int, types=OBJECTIVE_TYPES) -> int:
    """``per_type`` active questions of each type in a new category; returns how many were written."""
    from sqlalchemy import func, insert, select, text

    from exam.core.timeutil import utcnow
    from exam.extensions import db
    from question_bank.models import Category, Question, QuestionVersion

    questions, versions = Question.__table__, QuestionVersion.__table__
    written = 0
    with app.app_context():
        category = Category(name=category_name)
        db.session.add(category)
        db.session.flush()
        category_id = category.id
        conn = db.session.connection()
        now = utcnow()
        next_id = (conn.execute(select(func.max(questions.c.id))).scalar() or 0) + 1
        for kind in types:
            for start in range(0, per_type, CHUNK):
                pairs = list(_question_rows(kind, start, min(CHUNK, per_type - start), category_id))
                ids = range(next_id, next_id + len(pairs))
                next_id += len(pairs)
                question_rows = [dict(q, id=qid) for (q, _), qid in zip(pairs, ids, strict=True)]
                version_rows = [dict(v, question_id=qid) for (_, v), qid in zip(pairs, ids, strict=True)]
                if conn.dialect.name == "postgresql":
                    _copy(conn, "questions", question_rows, needs_review=False, created_at=now, updated_at=now)
                    _copy(conn, "question_versions", version_rows, created_at=now)
                else:
                    conn.execute(insert(questions), question_rows)
                    conn.execute(insert(versions), version_rows)
                written += len(pairs)
        if conn.dialect.name == "postgresql":
            conn.execute(text("SELECT setval(pg_get_serial_sequence('questions', 'id'), :last)"),
                         {"last": next_id - 1})
        db.session.commit()
        db.engine.dispose()
    return written
