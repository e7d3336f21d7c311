"""Exam statistics with item analysis over 10,000 attempts x 100 questions (1,000,000 answers) vs one COUNT(*).

The data is written in bulk, not through the ORM: a question bank of 300 objective questions (single, multiple,
true/false), 9,000 examinees in ten departments next to the run's own examinees (who stay absent), one published
exam open to everyone (two attempts allowed, the best counts) and 10,000 finished attempts of 100 questions each:
1,000 people resat, about 5 % of the attempts were finished at the deadline. Answers follow a simple ability
model (a person's ability against a question's difficulty), so facility and discrimination have real spread.
SQLite gets one executemany per table over the DBAPI connection, PostgreSQL gets COPY; both are ANALYZEd, as a
database in service would be.

Timed, after the data is committed and the engine disposed: one ``SELECT COUNT(*) FROM attempt_items`` (the
baseline, best of five), then ``exam.reports.stats.exam_stats(exam)``, the call behind the report page and
``GET /api/v1/exams/{id}/stats``, six times in new sessions, with every SQL statement counted. The ratio is the
statistics' best of the five calls after the first to the COUNT(*)'s best of five, each call timed with the
garbage collector held off (as ``timeit`` does): both measured the same way, in a process that has run each
statement before, as a server worker has after its first report. The first call is reported too, with its own
ratio: it also pays SQLAlchemy's one-off compilation of the report's statements, once per worker lifetime.
Goal (issue #7): at most 5.

The statistics read the aggregates kept on write (``exam.reports.item_stats``); as the data here is written in
bulk past the application, they are built once afterwards with ``rebuild`` (``flask --app wsgi reports
rebuild-item-stats``), outside the timing (its time is reported).
"""

from __future__ import annotations

import gc
import json
import math
import random
import time
from datetime import timedelta

NAME = "exam_statistics"
TITLE = "Exam statistics over 1,000,000 answers (ratio to COUNT(*))"
GOAL = 5.0
SECTIONS = [("single", "单项选择题", 40, 1.0, 120), ("multiple", "多项选择题", 30, 2.0, 90),
            ("true_false", "判断题", 30, 1.0, 90)]  # type, title, on the paper, points, in the bank
CATEGORY = "统计基准"
DEPARTMENTS = 10
KEYS = "ABCD"


def available(app):
    try:
        from exam.reports.stats import exam_stats  # noqa: F401
    except ImportError as exc:
        return f"skipped: exam statistics not on this branch ({exc})"
    return True


def sizes(ctx) -> tuple[int, int]:
    """(people who took the exam, people who resat it)."""
    return (9_000, 1_000) if not ctx.quick else (900, 100)


def estimate_seconds(ctx) -> int:
    return 70 if not ctx.quick else 15  # measured: 29 s (SQLite), 36 s (PostgreSQL) plus the statistics


# --- data -------------------------------------------------------------------------------------------------

def _bank(app):
    """The question bank (ORM: 300 rows) and the exam; returns (exam_id, {type: [(qid, vid, answer, b)]})."""
    from exam.core.timeutil import utcnow
    from exam.exams.models import Exam, ExamSection
    from exam.extensions import db
    from question_bank.models import Category, Question, QuestionVersion
    from question_bank.types import normalise_stem

    rng = random.Random(7)
    with app.app_context():
        category = Category(name=CATEGORY)
        db.session.add(category)
        bank = {}
        for kind, _title, _n, _points, in_bank in SECTIONS:
            rows = []
            for i in range(in_bank):
                stem = f"【统计-{kind}-{i:04d}】依照《中华人民共和国行政许可法》,下列说法正确的是?"
                if kind == "true_false":
                    options, answer = [], bool(i % 2)
                else:
                    options = [{"key": k, "text": f"选项{k}:情形{i}-{k}"} for k in KEYS]
                    answer = KEYS[i % 4] if kind == "single" else sorted(rng.sample(KEYS, 2))
                question = Question(type=kind, status="active", category=category, difficulty=3,
                                    stem_key=normalise_stem(stem)[:255], current_number=1)
                version = QuestionVersion(number=1, type=kind, stem=stem, options=options, answer=answer)
                question.versions.append(version)
                db.session.add(question)
                rows.append((question, version, answer, rng.gauss(-0.8, 1.0)))
            bank[kind] = rows
        now = utcnow()
        exam = Exam(title="统计基准考试", purpose="annual", time_limit_minutes=90,
                    opens_at=now - timedelta(days=10), closes_at=now - timedelta(days=1), max_attempts=2,
                    counting_attempt="best", pass_mark=60, bands={"优秀": 90, "良好": 80, "合格": 60},
                    status="closed", audience_everyone=True, published_at=now - timedelta(days=11))
        for position, (kind, title, count, points, _in_bank) in enumerate(SECTIONS, start=1):
            exam.sections.append(ExamSection(position=position, title=title, type=kind, count=count,
                                             points=points, filters={"categories": [CATEGORY]}))
        db.session.add(exam)
        db.session.commit()
        sections = {s.type: s.id for s in exam.sections}
        bank = {kind: [(q.id, v.id, answer, b) for q, v, answer, b in rows] for kind, rows in bank.items()}
        exam_id = exam.id
        db.engine.dispose()
    return exam_id, sections, bank


def _people(app, count: int) -> list[int]:
    """``count`` active examinees in ten departments, written with one Core executemany."""
    from sqlalchemy import insert, select

    from exam.accounts.models import User
    from exam.accounts.operations import ensure_department
    from exam.core.timeutil import utcnow
    from exam.extensions import db

    with app.app_context():
        departments = [ensure_department(f"市局/统计{i:02d}科").id for i in range(DEPARTMENTS)]
        now = utcnow()
        db.session.execute(insert(User), [
            {"username": f"S{i:06d}", "name": f"考生{i:06d}", "department_id": departments[i % DEPARTMENTS],
             "employment_status": "active", "active": True, "must_change_password": False, "created_at": now,
             "updated_at": now} for i in range(count)])
        db.session.commit()
        ids = list(db.session.scalars(select(User.id).where(User.username.like("S%")).order_by(User.id)))
        db.engine.dispose()
    return ids


def _answers(exam_id, sections, bank, user_ids, resits, first_attempt_id, first_item_id):
    """Attempt rows and item rows (tuples in column order) of the ability model."""
    from exam.core.timeutil import utcnow

    rng = random.Random(2026)
    now = utcnow() - timedelta(days=2)
    attempts, items = [], []
    attempt_id, item_id = first_attempt_id, first_item_id
    plan = [(uid, 1) for uid in user_ids] + [(uid, 2) for uid in user_ids[:resits]]
    for user_id, number in plan:
        ability = rng.gauss(0.0, 1.0) + (0.3 if number == 2 else 0.0)
        position, score, max_score = 0, 0.0, 0.0
        for kind, _title, count, points, _in_bank in SECTIONS:
            for qid, vid, answer, difficulty in rng.sample(bank[kind], count):
                position += 1
                right = rng.random() < 1.0 / (1.0 + math.exp(difficulty - ability))
                if rng.random() < 0.01:
                    response = None  # left blank
                elif right:
                    response = answer
                elif kind == "true_false":
                    response = not answer
                elif kind == "single":
                    response = rng.choice([k for k in KEYS if k != answer])
                else:
                    response = sorted(rng.sample(KEYS, rng.choice((1, 2, 3))))
                    if response == answer:
                        response = [k for k in KEYS if k not in answer][:2]
                awarded = points if response == answer else 0.0
                score += awarded
                max_score += points
                items.append((item_id, attempt_id, position, sections[kind], qid, vid, points,
                              json.dumps(list(KEYS) if kind != "true_false" else []), json.dumps(response),
                              1, None, awarded, None, None, None, False))
                item_id += 1
        auto = rng.random() < 0.05
        started = now - timedelta(hours=3 - number)
        percent = score * 100 / max_score
        band = "优秀" if percent >= 90 else "良好" if percent >= 80 else "合格" if percent >= 60 else "不合格"
        attempts.append((attempt_id, exam_id, user_id, number, rng.getrandbits(62), "[]", started,
                         started + timedelta(minutes=90), 0, "expired" if auto else "submitted",
                         started + timedelta(minutes=90 if auto else 70), "deadline" if auto else "examinee",
                         score, max_score, percent >= 60, band, 0, None, 1))
        attempt_id += 1
    return attempts, items


ATTEMPT_COLUMNS = ("id", "exam_id", "user_id", "number", "seed", "draw_record", "started_at", "deadline",
                   "extra_seconds", "status", "finished_at", "finished_by", "score", "max_score", "passed", "band",
                   "focus_losses", "last_saved_at", "version")
ITEM_COLUMNS = ("id", "attempt_id", "position", "section_id", "question_id", "question_version_id", "points",
                "option_order", "response", "response_seq", "saved_at", "awarded", "graded_by_id", "graded_at",
                "comment", "flagged")


def _write(app, attempts, items) -> None:
    """One executemany per table on SQLite, COPY on PostgreSQL, then ANALYZE."""
    from exam.extensions import db

    with app.app_context():
        engine = db.engine
        raw = engine.raw_connection()
        try:
            cursor = raw.cursor()
            if engine.dialect.name == "postgresql":
                for table, columns, rows in (("attempts", ATTEMPT_COLUMNS, attempts),
                                             ("attempt_items", ITEM_COLUMNS, items)):
                    with cursor.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
                        for row in rows:
                            copy.write_row(row)
                raw.commit()
                for table in ("attempts", "attempt_items", "users"):
                    cursor.execute(f"ANALYZE {table}")
                raw.commit()
            else:
                stamp = "%Y-%m-%d %H:%M:%S.%f"
                attempts = [tuple(v.strftime(stamp) if hasattr(v, "strftime") else v for v in row)
                            for row in attempts]
                cursor.execute("BEGIN IMMEDIATE")  # the app's connections are in autocommit mode (exam/core/db.py)
                for table, columns, rows in (("attempts", ATTEMPT_COLUMNS, attempts),
                                             ("attempt_items", ITEM_COLUMNS, items)):
                    marks = ", ".join("?" * len(columns))
                    cursor.executemany(f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({marks})", rows)
                raw.commit()
                cursor.execute("ANALYZE")
                raw.commit()
            cursor.close()
        finally:
            raw.close()
        engine.dispose()


def _after_write(app, exam_id) -> str | None:
    """Whatever the reports keep up to date on write, brought up to date the way the CLI does it (if any)."""
    try:
        from exam.reports import item_stats
    except ImportError:
        return None
    from exam.extensions import db

    with app.app_context():
        started = time.perf_counter()
        item_stats.rebuild(exam_ids=[exam_id])
        db.session.commit()
        seconds = time.perf_counter() - started
        db.engine.dispose()
        # what autovacuum / a periodic ANALYZE does in service: statistics (and, on PostgreSQL, the visibility map
        # and hint bits) of the freshly written aggregate tables, as the answers table got after its bulk write
        with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            tables = ("exam_results", "exam_item_stats", "exam_stats_state")
            if db.engine.dialect.name == "postgresql":
                conn.exec_driver_sql(f"VACUUM ANALYZE {', '.join(tables)}")
            else:
                conn.exec_driver_sql("ANALYZE")
        db.engine.dispose()
    return f"kept aggregates rebuilt in {seconds:.1f} s (what `reports rebuild-item-stats` does)"


# --- timing -----------------------------------------------------------------------------------------------

REPEATS = 5  # best of five for both, after the statistics' first call


def _timed(call):
    """(seconds, result) of one call with the cyclic garbage collector out of the way, as ``timeit`` does: the
    data written just before leaves a large heap whose collection would otherwise land in random calls."""
    gc.collect()
    gc.disable()
    try:
        began = time.perf_counter()
        result = call()
        return time.perf_counter() - began, result
    finally:
        gc.enable()


def run(ctx):
    from sqlalchemy import event, func, select, text

    from exam.exams.models import Exam
    from exam.extensions import db
    from exam.reports.stats import exam_stats

    app = ctx.app
    took, resits = sizes(ctx)
    started = time.perf_counter()
    exam_id, sections, bank = _bank(app)
    user_ids = _people(app, took)
    with app.app_context():
        first_attempt = (db.session.scalar(text("SELECT COALESCE(MAX(id), 0) FROM attempts")) or 0) + 1
        first_item = (db.session.scalar(text("SELECT COALESCE(MAX(id), 0) FROM attempt_items")) or 0) + 1
        db.engine.dispose()
    attempts, items = _answers(exam_id, sections, bank, user_ids, resits, first_attempt, first_item)
    _write(app, attempts, items)
    n_attempts, n_items = len(attempts), len(items)
    del attempts, items
    if ctx.db == "postgresql":
        with app.app_context():  # the sequences, as the ORM's next inserts will need them
            for table in ("attempts", "attempt_items"):
                db.session.execute(text(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                                        f"(SELECT MAX(id) FROM {table}))"))
            db.session.commit()
            db.engine.dispose()
    kept = _after_write(app, exam_id)
    seed_seconds = time.perf_counter() - started

    with app.app_context():
        counts, statements = [], [0]

        def count_statement(*_args, **_kwargs):
            statements[-1] += 1

        for _ in range(REPEATS):
            seconds, total = _timed(lambda: db.session.scalar(select(func.count()).select_from(text("attempt_items"))))
            counts.append(seconds)
            db.session.rollback()
        # the exam's answers, plus those the run's earlier scenarios (the exam day) left in the same table
        assert total >= n_items, (total, n_items)
        db.session.close()

        event.listen(db.engine, "before_cursor_execute", count_statement)
        try:
            timings = []
            for _ in range(1 + REPEATS):
                statements.append(0)
                seconds, stats = _timed(lambda: exam_stats(db.session.get(Exam, exam_id)))
                timings.append(seconds)
                db.session.rollback()
                db.session.expire_all()
        finally:
            event.remove(db.engine, "before_cursor_execute", count_statement)
        db.engine.dispose()
    assert stats.figures.took == took, stats.figures
    assert len(stats.items or []) == sum(s[4] for s in SECTIONS), len(stats.items or [])
    count_s, cold_s, warm_s = min(counts), timings[0], min(timings[1:])
    ratio = warm_s / count_s
    notes = [f"{n_items:,} answers in {n_attempts:,} attempts ({total:,} rows in the answers table); "
             f"COUNT(*) {count_s * 1000:.1f} ms (best of {REPEATS}), "
             f"exam statistics {warm_s * 1000:.1f} ms (best of the {REPEATS} calls after the first), "
             f"{statements[1]} statements: {ratio:.1f} x (goal <= {GOAL:g}); "
             f"the first call {cold_s * 1000:.0f} ms ({cold_s / count_s:.1f} x), with the statements' compilation."]
    if kept:
        notes.append(kept)
    return {
        "figures": [
            {"name": "answers", "value": n_items, "unit": ""},
            {"name": "rows counted by COUNT(*)", "value": total, "unit": ""},
            {"name": "attempts", "value": n_attempts, "unit": ""},
            {"name": "data written in", "value": seed_seconds, "unit": "s"},
            {"name": f"COUNT(*) over the answers (best of {REPEATS})", "value": count_s * 1000, "unit": "ms"},
            {"name": f"exam statistics (best of {REPEATS} after the first call)", "value": warm_s * 1000, "unit": "ms"},
            {"name": "exam statistics, first call in the process", "value": cold_s * 1000, "unit": "ms"},
            {"name": "statements per statistics call", "value": statements[1], "unit": ""},
        ],
        "ratio": round(ratio, 2),
        "ratio_label": "exam statistics / COUNT(*)",
        "ratios": {"statistics_to_count": round(ratio, 2), "first_call_to_count": round(cold_s / count_s, 2)},
        "notes": notes,
    }
