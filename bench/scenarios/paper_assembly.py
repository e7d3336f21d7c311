"""Paper assembly (starting an attempt) from a 100,000-question bank: statements and time per start (issue #4).

The bank is written in bulk (three objective types, one category), an exam draws 60 questions from it, and
starts are timed through the exams operation with every SQL statement counted. The paper is drawn in SQL (a
seeded rank per question, unseen questions first), so the statement count does not grow with the bank.
"""

from __future__ import annotations

import time

NAME = "paper_assembly"
TITLE = "Paper assembly from a 100,000-question bank"


def available(app):
    try:
        from exam.exams.operations import start_attempt  # noqa: F401
    except ImportError as exc:
        return f"skipped: paper assembly not importable ({exc})"
    return True


def estimate_seconds(ctx) -> int:
    # measured: the bulk bank writes 100,000 questions in 10-20 s, then 10 timed starts
    return ctx.seconds(25, 15)


def run(ctx):
    from sqlalchemy import event, select

    from bench.context import seed_people
    from bench.scenarios.exam_day import create_exam, seed_questions
    from exam.accounts.models import User
    from exam.exams import operations as ops
    from exam.exams.models import Exam
    from exam.extensions import db

    bank = ctx.seconds(100_000, 10_000)
    app = ctx.app
    started = time.perf_counter()
    written = seed_questions(app, per_type=bank // 3 + 1)  # Core executemany, see bench/scenarios/_bank.py
    seed_seconds = time.perf_counter() - started
    exam_id = create_exam(app, "组卷基准", closes_in_seconds=3600, time_limit_minutes=60)
    starts = 10
    seed_people(app, starts, prefix="P", tokens=False)
    timings, statements = [], []
    with app.app_context():
        exam = db.session.get(Exam, exam_id)
        people = list(db.session.scalars(select(User).where(User.username.like("P%")).limit(starts)))

        def count_statement(*_args, **_kwargs):
            statements[-1] += 1

        event.listen(db.engine, "before_cursor_execute", count_statement)
        try:
            for person in people:
                statements.append(0)
                began = time.perf_counter()
                attempt = ops.start_attempt(exam, person)
                db.session.commit()
                timings.append(time.perf_counter() - began)
                assert len(attempt.items) == sum(s.count for s in exam.sections)
        finally:
            event.remove(db.engine, "before_cursor_execute", count_statement)
        db.engine.dispose()
    timings.sort()
    mean_ms = sum(timings) / len(timings) * 1000
    return {
        "figures": [
            {"name": "questions in the bank", "value": written, "unit": ""},
            {"name": "bank written in", "value": seed_seconds, "unit": "s"},
            {"name": "starts", "value": len(timings), "unit": ""},
            {"name": "statements per start", "value": max(statements), "unit": ""},
            {"name": "mean per start", "value": mean_ms, "unit": "ms"},
            {"name": "p95 per start", "value": timings[int(len(timings) * 0.95) - 1] * 1000, "unit": "ms"},
        ],
        "ratio": max(statements),
        "ratio_label": "SQL statements per start",
        "ratios": {"statements_per_start": max(statements)},
        "notes": [f"{max(statements)} statements per start (the same for every start: "
                  f"{min(statements)}–{max(statements)}), {mean_ms:.0f} ms mean, over a bank of {written:,}."],
    }
