"""Excel helpers for the import scale checks: write a big workbook, time openpyxl's read-only pass over it."""

from __future__ import annotations

import io
import time

from openpyxl import Workbook, load_workbook


def workbook_bytes(header: list[str], rows) -> bytes:
    wb = Workbook(write_only=True)
    ws = wb.create_sheet("Sheet1")
    ws.append(header)
    for row in rows:
        ws.append(row)
    buffer = io.BytesIO()
    wb.save(buffer)
    return buffer.getvalue()


def openpyxl_pass_seconds(data: bytes, repeat: int = 3) -> float:
    """The best of ``repeat`` read-only passes reading every cell value: the floor any importer pays."""
    best = float("inf")
    for _ in range(repeat):
        started = time.perf_counter()
        wb = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
        cells = 0
        for row in wb.worksheets[0].iter_rows(values_only=True):
            cells += len(row)
        wb.close()
        best = min(best, time.perf_counter() - started)
    return best
