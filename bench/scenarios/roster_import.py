"""Roster import (exam.accounts.roster.import_roster) as a ratio to openpyxl's read-only pass.

To fit `make bench` in 15 minutes the files are smaller than the 10,000 rows of a big bureau: 2,000 rows on
SQLite and 1,000 on PostgreSQL (where a row costs several times as much: 10,000 rows took 173 s there on
2026-12-03, 5,000 took 45 s on SQLite under load), each reported with its row count;
``BENCH_ROSTER_ROWS=10000 python -m bench --only roster_import`` runs the full size.

Two cases, each on its own staff numbers:

- re-import: every person already exists and one field changed (the yearly roster update): the production path
  end to end, validation, departments, updates, an audit row per person, one commit;
- first import: new people (a tenth of the re-import's rows). Each new person gets a generated password hashed
  with scrypt, which costs a few hundred milliseconds here by design; so the import is timed with a
  one-iteration hash and the scrypt cost is measured separately and added, shown as its own figure.
"""

from __future__ import annotations

import os
import time

from bench.scenarios._excel import openpyxl_pass_seconds, workbook_bytes

NAME = "roster_import"
TITLE = "Roster import, 2,000 rows on SQLite, 1,000 on PostgreSQL (ratio to openpyxl read-only)"
DEPARTMENTS = ["市局/稽查一队", "市局/稽查二队", "市局/法规科", "东城分局/执法大队", "西城分局/执法大队"]


def available(app):
    try:
        from exam.accounts.roster import HEADERS, import_roster  # noqa: F401
    except ImportError as exc:
        return f"skipped: roster import not importable ({exc})"
    return True


def _rows(prefix: str, count: int, post: str):
    for i in range(count):
        yield [f"{prefix}{i:05d}", f"人员{i:05d}", DEPARTMENTS[i % len(DEPARTMENTS)], post, "在编在职",
               "是" if i % 50 == 0 else "否", ""]


def _import(app, data: bytes) -> tuple[float, int, int]:
    from exam.accounts.roster import import_roster
    from exam.extensions import db

    with app.test_request_context():
        started = time.perf_counter()
        result = import_roster(data, importer=None, create_departments=True)
        db.session.commit()
        seconds = time.perf_counter() - started
        created, updated = len(result.created), len(result.updated)
        db.session.remove()
    return seconds, created, updated


def _scrypt_ms(app, samples: int = 10) -> float:
    from werkzeug.security import generate_password_hash

    started = time.perf_counter()
    for i in range(samples):
        generate_password_hash(f"Sample{i}pass", method=app.config["PASSWORD_HASH_METHOD"])
    return (time.perf_counter() - started) / samples * 1000


def row_count(ctx) -> int:
    if os.environ.get("BENCH_ROSTER_ROWS"):
        return int(os.environ["BENCH_ROSTER_ROWS"])
    if ctx.quick:
        return 1_000
    return 2_000 if ctx.db == "sqlite" else 1_000


def estimate_seconds(ctx) -> int:
    per_row = 0.009 if ctx.db == "sqlite" else 0.02  # measured under load: seconds per row, data build included
    return int(row_count(ctx) * 1.1 * per_row + 10)


def run(ctx):
    from bench.context import seed_people
    from bench.profiling import profile_call
    from exam.accounts.roster import HEADERS

    rows = row_count(ctx)
    new_rows = max(rows // 10, 100)
    app = ctx.app
    # re-import: people exist (seeded in bulk), the roster changes their post
    seed_people(app, rows, prefix="R", tokens=False)
    update_file = workbook_bytes(HEADERS, _rows("R", rows, "执法员(新)"))
    baseline = openpyxl_pass_seconds(update_file)
    (reimport, created_u, updated_u), profile = profile_call(lambda: _import(app, update_file),
                                                             ctx.work_dir / "profile-roster")
    # first import: new people, a one-iteration hash, scrypt added from its own measurement
    new_file = workbook_bytes(HEADERS, _rows("N", new_rows, "执法员"))
    baseline_new = openpyxl_pass_seconds(new_file)
    production_hash = app.config["PASSWORD_HASH_METHOD"]
    app.config["PASSWORD_HASH_METHOD"] = "pbkdf2:sha256:1"  # noqa: S105 (a method name, not a password)
    try:
        first, created_n, _ = _import(app, new_file)
    finally:
        app.config["PASSWORD_HASH_METHOD"] = production_hash
    hash_ms = _scrypt_ms(app)
    first_total = first + new_rows * hash_ms / 1000
    notes = [
        f"re-import: {updated_u:,} people updated ({created_u} created) in one transaction, an audit row each.",
        f"first import: {created_n:,} people created in {first:.1f} s without the password hash; {production_hash} "
        f"costs {hash_ms:.0f} ms a password here, so {new_rows:,} new people add {new_rows * hash_ms / 1000:.0f} s "
        f"(total {first_total:.0f} s, {first_total / baseline_new:.0f} × openpyxl over the same file); 10,000 new "
        f"people would spend {10_000 * hash_ms / 60_000:.0f} minutes hashing passwords alone.",
    ]
    if created_u or updated_u != rows or created_n != new_rows:
        notes.append("UNEXPECTED counts: the import did not touch every row once")
    return {
        "figures": [
            {"name": "rows", "value": rows, "unit": ""},
            {"name": "openpyxl read-only pass", "value": baseline, "unit": "s"},
            {"name": "re-import (updates)", "value": reimport, "unit": "s"},
            {"name": f"first import of {new_rows:,} without hashing", "value": first, "unit": "s"},
            {"name": f"{production_hash} per password", "value": hash_ms, "unit": "ms"},
        ],
        "ratio": reimport / baseline,
        "ratio_label": "re-import / openpyxl",
        "ratios": {"reimport_vs_openpyxl": reimport / baseline,
                   "first_import_without_hash_vs_openpyxl": first / baseline_new,
                   "first_import_with_scrypt_vs_openpyxl": first_total / baseline_new},
        "notes": notes,
        "profile": ["re-import:", *profile],
    }
