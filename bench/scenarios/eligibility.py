"""Certificate eligibility of 10,000 people: a few queries, not one per person (issue #6).

The people are seeded in bulk; a third passed a qualification exam (attempt rows made directly), half have
training hours. The figure is the time and the number of SQL statements of one ``check_eligibility`` call for
all of them, with one query per person as the comparison the issue rules out.
"""

from __future__ import annotations

import time

NAME = "eligibility"
TITLE = "Eligibility of 10,000 people"


def available(app):
    try:
        from exam.certificates.operations import check_eligibility  # noqa: F401
    except ImportError as exc:
        return f"skipped: certificate eligibility not importable ({exc})"
    return True


def estimate_seconds(ctx) -> int:
    return 10  # measured: 2-6 s with the bulk data build


def run(ctx):
    from sqlalchemy import event, select

    from bench.context import seed_people
    from exam.accounts.models import User
    from exam.certificates import operations as ops
    from exam.extensions import db

    count = ctx.seconds(10_000, 1_000)
    app = ctx.app
    seed_people(app, count, prefix="E", tokens=False)
    with app.test_request_context(method="POST"):
        category = ops.ensure_category("质量技术监督", code="ZJ", area="全市", source_of_power="授权")
        db.session.commit()
        users = list(db.session.scalars(select(User).where(User.username.like("E%"))))
        for r in category.requirements:
            _ = r.subject
        statements = []

        def count_statement(*_args, **_kwargs):
            statements.append(1)

        event.listen(db.engine, "before_cursor_execute", count_statement)
        started = time.perf_counter()
        verdicts = ops.check_eligibility(users, category)
        seconds = time.perf_counter() - started
        event.remove(db.engine, "before_cursor_execute", count_statement)
        eligible = sum(1 for v in verdicts.values() if v.eligible)
        db.session.rollback()
    return {
        "figures": [
            {"name": "people", "value": len(users), "unit": ""},
            {"name": "check_eligibility", "value": seconds, "unit": "s"},
            {"name": "SQL statements", "value": len(statements), "unit": ""},
            {"name": "eligible", "value": eligible, "unit": ""},
        ],
        "ratio": len(statements) / max(len(users), 1),
        "ratio_label": "statements per person",
        "ratios": {"statements_per_person": len(statements) / max(len(users), 1)},
        "notes": [f"{len(statements)} statements for {len(users):,} people ({seconds * 1000 / max(len(users), 1):.2f} "
                  "ms a person), every reason computed for each."],
    }
