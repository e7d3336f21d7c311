"""Question import of a 10,000-question Excel file as a ratio to openpyxl's read-only pass (issue #3: goal <= 3).

Runs when the question bank's Excel import is on the branch: a module of ``question_bank`` with a function
``import_questions(stream, ...)`` (the names below are looked for). The file is the bank's own template (its
``template_workbook()``) filled with 10,000 questions of the objective types; if the merged import wants other
columns, adapt ``_rows`` only.
"""

from __future__ import annotations

import inspect
import io
import time

from bench.scenarios._excel import openpyxl_pass_seconds, workbook_bytes
from bench.scenarios._features import describe, find_callable

NAME = "question_import"
TITLE = "Question import, 10,000 questions (ratio to openpyxl read-only)"
GOAL = 3.0
CANDIDATES = [
    ("question_bank.importer", "import_questions"),
    ("question_bank.importing", "import_questions"),
    ("question_bank.imports", "import_questions"),
    ("question_bank.excel", "import_questions"),
    ("question_bank.import_export", "import_questions"),
    ("question_bank.operations", "import_questions"),
]
TEMPLATES = [("question_bank.formats.spreadsheet", "template_workbook"),
             *((module, "template_workbook") for module, _ in CANDIDATES)]
TYPE_WORDS = {"single": "单选题", "multiple": "多选题", "true_false": "判断题"}


def available(app):
    if find_callable(CANDIDATES) is None:
        return f"skipped: question import not on this branch (looked for {describe(CANDIDATES)})"
    return True


def _header() -> list[str]:
    template = find_callable(TEMPLATES)
    if template is not None:
        from openpyxl import load_workbook

        wb = load_workbook(io.BytesIO(template()), read_only=True)
        header = [str(c) for c in next(wb.worksheets[0].iter_rows(values_only=True)) if c]
        wb.close()
        return header
    return ["题型", "题干", "选项A", "选项B", "选项C", "选项D", "答案", "解析", "分类", "难度"]


def _rows(header: list[str], count: int):
    kinds = list(TYPE_WORDS)
    for i in range(count):
        kind = kinds[i % len(kinds)]
        values = {
            "题型": TYPE_WORDS[kind],
            "题干": f"第{i:05d}题:根据《中华人民共和国行政处罚法》第{i % 86 + 1}条,下列说法是否正确?",
            "选项A": "" if kind == "true_false" else "应当告知当事人",
            "选项B": "" if kind == "true_false" else "可以不听取陈述",
            "选项C": "" if kind == "true_false" else "应当制作笔录",
            "选项D": "" if kind == "true_false" else "无需送达",
            "答案": {"single": "A", "multiple": "AC", "true_false": "正确"}[kind],
            "解析": "依法作答。",
            "分类": "执法基础/行政处罚",
            "难度": 3,
        }
        yield [values.get(column, "") for column in header]


def run(ctx):
    from bench.profiling import profile_call
    from exam.extensions import db

    count = ctx.seconds(10_000, 2_000)
    importer = find_callable(CANDIDATES)
    try:  # the bank's own generator of a realistic file in its template, when it has one
        from question_bank.importer import benchmark_workbook

        data = benchmark_workbook(count)
    except ImportError:
        header = _header()
        data = workbook_bytes(header, _rows(header, count))
    baseline = openpyxl_pass_seconds(data)
    kwargs = {}
    parameters = inspect.signature(importer).parameters
    for name, value in (("importer", None), ("user", None), ("creator", None), ("filename", "bench.xlsx")):
        if name in parameters:
            kwargs[name] = value

    def _import():
        with ctx.app.test_request_context():
            started = time.perf_counter()
            result = importer(data, **kwargs)
            db.session.commit()
            seconds = time.perf_counter() - started
            db.session.remove()
        return seconds, result

    (seconds, result), profile = profile_call(_import, ctx.work_dir / "profile-questions")
    ratio = seconds / baseline
    imported = getattr(result, "imported", None)
    notes = [f"import returned {type(result).__name__}: {imported if imported is not None else str(result)[:160]}"
             " questions imported"]
    if imported is not None and imported != count:
        notes.append(f"UNEXPECTED: {imported} imported of {count}")
    if ratio > GOAL:
        notes.append(f"{ratio:.1f} × openpyxl, {ratio - GOAL:.1f} over the goal of {GOAL}; see the profile.")
    return {
        "figures": [{"name": "questions", "value": count, "unit": ""},
                    {"name": "openpyxl read-only pass", "value": baseline, "unit": "s"},
                    {"name": "import", "value": seconds, "unit": "s"}],
        "ratio": ratio,
        "goal": f"≤ {GOAL} × openpyxl",
        "goal_met": ratio <= GOAL,
        "notes": notes,
        "profile": profile,
    }
