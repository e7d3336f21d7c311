"""A 10,000-row HR list as PDF vs a plain WeasyPrint table of the same rows (issue #6: goal <= 0.5, < 1 GiB).

Both renders run in their own fresh process so each one's peak memory (its own and its workers') is measured
alone. The list is ``exam.certificates.printing.list_pdf`` on an unsaved PrintedList: the production path,
pages planned from the font's metrics (exam/core/pdf_table.py), rendered in parts in parallel and joined. Both
wall time and CPU time (the process's own and its workers') are compared.
"""

from __future__ import annotations

import time
from concurrent.futures import ProcessPoolExecutor
from multiprocessing import get_context

NAME = "pdf_list"
TITLE = "10,000-row PDF list (ratio to a plain WeasyPrint table)"
COLUMNS = ["证号", "姓名", "工号", "部门", "执法类别", "有效期至", "执法区域"]


def available(app):
    try:
        from exam.certificates.printing import list_pdf  # noqa: F401
    except ImportError as exc:
        return f"skipped: the PDF list is not importable ({exc})"
    return True


def estimate_seconds(ctx) -> int:
    return ctx.seconds(170, 40)  # measured: 158 s for the plain table and the list at 10,000 rows (2026-12-03)


def _rows(count: int) -> list[list[str]]:
    return [[f"ZJ2026{i:05d}", f"人员{i:05d}", f"A{i:05d}", "市局 / 稽查支队 / 第一大队", "质量技术监督", "2031-06-30",
             "本市行政区域"] for i in range(count)]


def _peak_mb() -> float:
    import resource

    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    children = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return max(own, children) / 1024


def _cpu() -> float:
    """CPU seconds of this process and of its finished children (the render workers)."""
    import resource

    own = resource.getrusage(resource.RUSAGE_SELF)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def _plain(count: int) -> tuple[float, float, float, int]:
    from weasyprint import HTML

    head = "".join(f"<th>{c}</th>" for c in COLUMNS)
    body = "".join("<tr>" + "".join(f"<td>{v}</td>" for v in row) + "</tr>" for row in _rows(count))
    html = (f"<html><head><meta charset='utf-8'><style>body{{font-family:'Noto Sans CJK SC'}}</style></head>"
            f"<body><table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table></body></html>")
    started, cpu = time.perf_counter(), _cpu()
    pdf = HTML(string=html).write_pdf()
    return time.perf_counter() - started, _cpu() - cpu, _peak_mb(), len(pdf)


def _ours(count: int, database_url: str, instance: str) -> tuple[float, float, float, int]:
    from datetime import datetime

    from exam import create_app
    from exam.certificates import printing
    from exam.certificates.models import PrintedList

    app = create_app({"DATABASE_URL": database_url, "SECRET_KEY": "bench", "INSTANCE_PATH": instance})
    rows = _rows(count)
    with app.test_request_context():
        printed = PrintedList(serial="BENCH-1", kind="valid", title="有效执法证持证人员名单", columns=COLUMNS,
                              rows=rows, rows_hash="0" * 64, printed_by_name="基准测试",
                              printed_at=datetime(2026, 11, 27, 9, 0))
        started, cpu = time.perf_counter(), _cpu()
        pdf = printing.list_pdf(printed)
        seconds, cpu = time.perf_counter() - started, _cpu() - cpu
    return seconds, cpu, _peak_mb(), len(pdf)


def _in_fresh_process(func, *args):
    # not multiprocessing.Pool: its workers are daemonic and may not start the list's own render workers
    with ProcessPoolExecutor(max_workers=1, mp_context=get_context("spawn")) as pool:
        return pool.submit(func, *args).result()


def run(ctx):
    import os

    count = ctx.seconds(10_000, 1_000)  # rows, not seconds
    plain_s, plain_cpu, plain_mb, plain_bytes = _in_fresh_process(_plain, count)
    ours_s, ours_cpu, ours_mb, ours_bytes = _in_fresh_process(_ours, count, ctx.database_url,
                                                              str(ctx.work_dir / "instance"))
    ratio = ours_s / plain_s
    cpu_ratio = ours_cpu / plain_cpu
    cpus = len(os.sched_getaffinity(0))
    notes = [f"plain: one WeasyPrint table, auto layout, {plain_bytes / 1e6:.1f} MB PDF; ours: pages planned from "
             f"the font's advance widths, one line of text per row, {ctx.app.config['LIST_PDF_PARTS']} parts (of at "
             f"least {ctx.app.config['LIST_PDF_PART_ROWS']:,} and at most 5,000 rows) rendered in parallel on the "
             f"{cpus} allowed CPUs and joined, "
             f"{ours_bytes / 1e6:.1f} MB PDF.",
             f"goal ratio <= 0.5: {'met' if ratio <= 0.5 else 'missed'} (wall {ratio:.2f}, CPU {cpu_ratio:.2f}); "
             f"goal memory < 1 GiB: {'met' if ours_mb < 1024 else 'missed'} ({ours_mb:.0f} MB peak in one process)."]
    return {
        "figures": [
            {"name": "rows", "value": count, "unit": ""},
            {"name": "plain WeasyPrint table", "value": plain_s, "unit": "s"},
            {"name": "plain WeasyPrint table, CPU", "value": plain_cpu, "unit": "s"},
            {"name": "plain peak memory", "value": plain_mb, "unit": "MB"},
            {"name": "HR list (list_pdf)", "value": ours_s, "unit": "s"},
            {"name": "HR list, CPU (process and workers)", "value": ours_cpu, "unit": "s"},
            {"name": "HR list peak memory", "value": ours_mb, "unit": "MB"},
            {"name": "HR list PDF size", "value": ours_bytes / 1e6, "unit": "MB"},
        ],
        "ratio": ratio,
        "ratio_label": "list_pdf / plain table",
        "ratios": {"list_pdf_vs_plain": ratio, "list_pdf_vs_plain_cpu": cpu_ratio},
        "notes": notes,
    }
