"""Paper assembly (starting an attempt) from a 100,000-question bank: queries per start and time per start.

Plugs in when the exams branch lands: needs exam.exams drawing (the paper is drawn when an attempt starts).
Implementation after merge: seed 100,000 active questions in bulk (bench.scenarios.exam_day.seed_questions with
count=100_000), build one exam with sections over them, then time N starts through the operation while counting
SQL statements (sqlalchemy ``before_cursor_execute``), reporting queries per start and ms per start.
"""

from bench.scenarios._features import describe, find_callable

NAME = "paper_assembly"
TITLE = "Paper assembly from a 100,000-question bank"
CANDIDATES = [("exam.exams.operations", "start_attempt"), ("exam.exams.drawing", "draw_paper")]


def available(app):
    if find_callable(CANDIDATES) is None:
        return f"skipped: paper assembly not on this branch (looked for {describe(CANDIDATES)})"
    return "skipped: paper assembly exists but this scenario is not implemented yet (see the module docstring)"


def run(ctx):  # pragma: no cover - reached only once available() says True
    raise NotImplementedError
