"""The page planner of long printed lists (exam/core/pdf_table.py) and the list PDF it drives.

The planner decides every page's rows and every cell's line breaks from the font's metrics before WeasyPrint
runs; these tests check the plan's own invariants, then that WeasyPrint prints exactly that plan: the same page
count, every row once and in order, each cell's text starting in its column.
"""

from __future__ import annotations

import io
import random
from datetime import datetime

import pytest
from pypdf import PdfReader

from exam.certificates import printing
from exam.certificates.models import PrintedList
from exam.core.pdf_table import TableStyle, _Gaps, font_metrics, line_text, plan_table, table_html, wrap

COLUMNS = ["证号", "姓名", "工号", "部门", "执法类别", "有效期至", "执法区域"]
LONG = "本市行政区域、以及由上级机关依法委托的其他区域,包括但不限于开发区、高新区、港区和保税区等特殊监管区域"


def _rows(count: int, seed: int = 6) -> list[list[str]]:
    rng = random.Random(seed)
    rows = []
    for i in range(count):
        area = rng.choice(["本市行政区域", "全市", LONG, LONG * 3, "Pudong New Area, Shanghai 200120 / 浦东新区"])
        rows.append([f"ZJ2026{i:05d}", f"人员{i:05d}", f"A{i:05d}", "市局 / 稽查支队 / 第一大队", "质量技术监督",
                     "2031-06-30", area])
    return rows


def _plan(rows, **kwargs):
    return plan_table(COLUMNS, rows, title="有效执法证持证人员名单", meta=f"编号 T-1 · 共 {len(rows)} 条",
                      trailer=f"合计 {len(rows)} 条    名单校验码(SHA-256):{'a' * 64}", **kwargs)


def test_wrap_keeps_every_character_and_no_line_is_wider_than_the_column():
    metrics = font_metrics()
    for text in [LONG * 2, "Pudong New Area, Shanghai 200120 / 浦东新区", "x" * 200, "第一行\n第二行", "", "短"]:
        for width in (30.0, 61.5, 120.0, 400.0):
            lines = wrap(text, width, metrics, 9)
            assert all(metrics.width(line, 9) <= width + 1e-6 for line in lines), (text, width)
            assert "".join(lines).replace(" ", "") == text.replace("\n", "").replace(" ", "")


def test_the_planner_never_overflows_a_page_or_cuts_a_row():
    rows = _rows(600)
    style = TableStyle()
    plan = _plan(rows, style=style)
    capacity = style.content_height - style.bottom_slack
    numbers = []
    for page in plan.pages:
        used = plan.header.height + (plan.title_height if page.first else 0) + sum(r.height for r in page.rows)
        used += plan.trailer_height if page.last else 0
        assert used <= capacity + 1e-6, page.number
        numbers += [row.number for row in page.rows]
        for row in page.rows:
            assert row.height == pytest.approx(len(row.lines) * style.line_height + 2 * style.pad_y + style.rule)
    assert numbers == list(range(1, 601))  # every row once, whole, in order
    assert [p.number for p in plan.pages] == list(range(1, len(plan.pages) + 1))
    assert plan.pages[0].first and plan.pages[-1].last and sum(p.last for p in plan.pages) == 1
    assert sum(plan.widths) == pytest.approx(style.content_width)


def test_every_cell_line_fits_its_column():
    plan = _plan(_rows(200))
    metrics = font_metrics()
    style = plan.style
    for page in plan.pages:
        for row in page.rows:
            for line in row.lines:
                for text, width in zip(line, plan.widths, strict=True):
                    assert metrics.width(text, style.font_size) <= width - 2 * style.pad_x - style.rule


def test_a_row_taller_than_a_page_continues_on_the_next_page_with_its_number_once():
    rows = _rows(3)
    rows[1][6] = LONG * 80
    plan = _plan(rows)
    numbered = [row.number for page in plan.pages for row in page.rows]
    assert numbered.count(2) == 1 and numbered[0] == 1 and numbered[-1] == 3
    assert len(plan.pages) >= 3


def test_a_first_row_too_tall_for_the_room_under_the_title_starts_on_page_two():
    rows = _rows(2)
    for times in range(20, 40):  # a row that fits an empty page, not the first page under the title
        rows[0][6] = LONG * times
        plan = _plan(rows)
        room = plan.style.content_height - plan.style.bottom_slack - plan.header.height
        height = next(r.height for p in plan.pages for r in p.rows if r.number == 1)
        if room - plan.title_height < height <= room:
            break
    else:
        pytest.fail("no row of the wanted height")
    style = plan.style
    assert plan.pages[0].rows == [] and plan.pages[1].rows[0].number == 1
    for page in plan.pages:
        used = plan.header.height + (plan.title_height if page.first else 0) + sum(r.height for r in page.rows)
        assert used <= style.content_height - style.bottom_slack


def _printed(rows, serial="T-9", hash_="c" * 64) -> PrintedList:
    return PrintedList(serial=serial, kind="valid", title="有效执法证持证人员名单", columns=COLUMNS, rows=rows,
                       rows_hash=hash_, printed_by_name="吴人事", printed_at=datetime(2026, 11, 27, 1, 30))


def _page_texts(pdf: bytes) -> list[str]:
    return [page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages]


def test_the_pdf_prints_the_plan_every_row_once_in_order_with_totals_on_the_last_page(app):
    rows = _rows(260)
    app.config["LIST_PDF_PART_ROWS"] = 60  # several parts, rendered in parallel and joined
    with app.test_request_context():
        pdf = printing.list_pdf(_printed(rows))
    plan = _plan(rows)
    texts = _page_texts(pdf)
    total = len(texts)
    assert total == len(plan.pages) > 4  # WeasyPrint broke no page the planner did not
    for number, text in enumerate(texts, start=1):
        assert f"第 {number} 页 共 {total} 页" in text
        assert "T-9" in text and "打印人:吴人事" in text and "校验码 cccccccccccccccc" in text
    whole = "\n".join(texts)
    positions = [whole.find(f"ZJ2026{i:05d}") for i in range(len(rows))]
    assert all(p >= 0 for p in positions) and positions == sorted(positions)
    assert all(whole.count(f"ZJ2026{i:05d}") == 1 for i in range(len(rows)))
    assert whole.count("有效执法证持证人员名单") == 1
    assert f"合计 {len(rows)} 条" in texts[-1] and "c" * 64 in texts[-1].replace("\n", "")
    assert "合计" not in "".join(texts[:-1])


def test_weasyprint_lays_out_each_row_line_where_and_as_wide_as_planned():
    """A row's line is one text whose cells are pushed to their columns by spaces; it starts at the first column
    and ends where the measured widths say, so every cell in it starts where the plan put it."""
    from weasyprint import HTML
    from weasyprint.formatting_structure.boxes import TextBox

    rows = _rows(120)
    rows[5][1] = "Tab\there"  # a tab would jump to a tab stop: printed as a space
    plan = _plan(rows)
    css, pages = table_html(plan, running_left="T-1", running_right="打印人", footer_right="校验码")
    document = HTML(string=f"<html><head><meta charset='utf-8'><style>{css}</style></head><body>"
                           f"{''.join(pages)}</body></html>").render()
    assert len(document.pages) == len(plan.pages)
    style = plan.style
    px = 0.75  # points per CSS pixel
    metrics = font_metrics()
    starts = [sum(plan.widths[:k]) for k in range(len(plan.widths))]
    left = style.margin_side + style.pad_x + style.rule
    bottom = style.page_height - style.margin_bottom
    checked = 0
    for planned, laid_out in zip(plan.pages, document.pages, strict=True):
        boxes = {box.text: box for box in laid_out._page_box.descendants(placeholders=True)
                 if isinstance(box, TextBox)}
        for row in planned.rows:
            for line in row.lines:
                text, width = line_text(line, starts, metrics, style.font_size, _Gaps(metrics, style.font_size))
                box = boxes[text]
                assert box.position_x * px == pytest.approx(left, abs=0.3)
                assert box.width * px == pytest.approx(width, abs=0.6), text
                assert (box.position_y + box.height) * px <= bottom + 0.5  # nothing below the table's area
                checked += 1
    assert checked > 120


def test_a_reprint_of_a_kept_list_is_the_same_document(app):
    rows = _rows(150)
    app.config["LIST_PDF_PART_ROWS"] = 50
    with app.test_request_context():
        first = printing.list_pdf(_printed(rows))
        again = printing.list_pdf(_printed([list(r) for r in rows]))
    assert first == again


def test_a_reprint_is_the_same_document_whatever_cpus_the_server_allows(app, monkeypatch):
    """The parts (each with its own font subset) follow the rows and the settings, never the CPU count: a list
    kept on one server reprints byte for byte on a bigger or smaller one."""
    import exam.core.pdf as pdf

    rows = _rows(150)
    app.config["LIST_PDF_PART_ROWS"] = 50
    documents = []
    for cpus in (1, 3):
        monkeypatch.setattr(pdf, "allowed_cpus", lambda cpus=cpus: cpus)
        with app.test_request_context():
            documents.append(printing.list_pdf(_printed([list(r) for r in rows])))
    assert documents[0] == documents[1]


def test_an_empty_list_prints_one_page_with_its_totals(app):
    with app.test_request_context():
        pdf = printing.list_pdf(_printed([]))
    texts = _page_texts(pdf)
    assert len(texts) == 1 and "第 1 页 共 1 页" in texts[0] and "合计 0 条" in texts[0]


def test_markup_in_list_rows_is_printed_as_text_never_fetched(app):
    rows = _rows(2)
    rows[0][1] = '<img src="file:///etc/passwd"><link rel="stylesheet" href="http://169.254.169.254/x.css">'
    with app.test_request_context():
        pdf = printing.list_pdf(_printed(rows))
    assert "<img src=" in "".join(_page_texts(pdf))  # printed as text, never fetched
