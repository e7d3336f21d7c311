"""Exam statistics with item analysis over 10,000 attempts x 100 questions (1,000,000 answers) vs one COUNT(*).

Plugs in when the reports branch lands (issue #7). Goal: at most 5 x a ``SELECT COUNT(*)`` over the answers table.
"""

from bench.scenarios._features import describe, find_callable

NAME = "exam_statistics"
TITLE = "Exam statistics over 1,000,000 answers (ratio to COUNT(*))"
CANDIDATES = [("exam.reports.operations", "exam_statistics"), ("exam.reports.statistics", "exam_statistics"),
              ("exam.reports.operations", "item_analysis")]


def available(app):
    if find_callable(CANDIDATES) is None:
        return f"skipped: exam statistics not on this branch (looked for {describe(CANDIDATES)})"
    return "skipped: exam statistics exist but this scenario is not implemented yet"


def run(ctx):  # pragma: no cover
    raise NotImplementedError
