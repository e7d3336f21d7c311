"""Time importing a 10,000-question Excel file against openpyxl's read-only pass over the same file.

    .venv/bin/python bench/question_import.py [N]

Prints both times and their ratio (goal: at most 3x). Uses a throw-away SQLite database.
"""

from __future__ import annotations

import io
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


def openpyxl_pass(data: bytes) -> int:
    from openpyxl import load_workbook

    wb = load_workbook(io.BytesIO(data), read_only=True)
    count = sum(1 for ws in wb.worksheets for _row in ws.iter_rows(values_only=True))
    wb.close()
    return count


def main(n: int = 10_000) -> None:
    from exam import create_app
    from exam.extensions import db
    from question_bank.importer import benchmark_workbook, import_questions

    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{tmp}/bench.sqlite3"
        app = create_app({"DATABASE_URL": url, "SECRET_KEY": "bench", "INSTANCE_PATH": tmp, "TESTING": True})
        with app.app_context():
            from flask_migrate import upgrade

            upgrade()
        data = benchmark_workbook(n)
        start = time.perf_counter()
        rows = openpyxl_pass(data)
        baseline = time.perf_counter() - start
        with app.test_request_context():
            start = time.perf_counter()
            report = import_questions(data, "bench.xlsx")
            db.session.commit()
            elapsed = time.perf_counter() - start
        print(f"rows read by openpyxl: {rows}, questions imported: {report.imported}")
        print(f"openpyxl read-only pass: {baseline:.2f} s; import: {elapsed:.2f} s; ratio {elapsed / baseline:.1f}x")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 10_000)
