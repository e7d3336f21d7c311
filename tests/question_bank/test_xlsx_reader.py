"""The fast .xlsx reader returns exactly the cell values (and formula cells) that openpyxl's read-only mode does."""

from __future__ import annotations

import io
import zipfile
from datetime import date, datetime, time, timedelta

from openpyxl import Workbook, load_workbook
from openpyxl.cell.rich_text import CellRichText, TextBlock
from openpyxl.cell.text import InlineFont

from question_bank.formats.xlsx_reader import XlsxBook


def _trimmed(values) -> list:
    values = list(values)
    while values and values[-1] is None:
        values.pop()
    return values


def openpyxl_view(data: bytes) -> dict:
    """{sheet: {row number: (values, formula columns)}} for the rows with a value, as openpyxl reads them."""
    wb = load_workbook(io.BytesIO(data), read_only=True, data_only=False)
    out = {}
    for ws in wb.worksheets:
        rows = {}
        for number, cells in enumerate(ws.iter_rows(), start=1):
            values = _trimmed(getattr(c, "value", None) for c in cells)
            if values:
                formulas = [i for i, c in enumerate(cells) if getattr(c, "data_type", None) == "f"]
                rows[number] = (values, formulas)
        out[ws.title] = rows
    wb.close()
    return out


def fast_view(data: bytes) -> dict:
    book = XlsxBook(data)
    try:
        out = {}
        for title, path in book.sheets:
            out[title] = {number: (_trimmed(values), formulas)
                          for number, values, formulas in book.rows(path) if _trimmed(values)}
        return out
    finally:
        book.close()


def _saved(wb) -> bytes:
    buffer = io.BytesIO()
    wb.save(buffer)
    return buffer.getvalue()


def test_values_of_every_kind_match_openpyxl():
    wb = Workbook()
    ws = wb.active
    ws.title = "单选题"
    ws.append(["2026年度行政执法人员法律知识题库"])
    ws.merge_cells("A1:F1")
    ws.append([])
    ws.append(["题型", "题干", "选项A", "选项B", "答案", "难度", "日期", "时间", "布尔", "小数"])
    ws.append(["单选题", "违法行为在（ ）年内未被发现的，不再给予行政处罚。", "一", "二", "B", 2,
               datetime(2026, 3, 1, 9, 30), time(8, 15), True, 1.5])
    ws.append(["判断题", "  前后有空格\n且换行  ", None, None, False, 1.0, date(2021, 7, 15), None, False, -0.25])
    ws.append([None, None, None, "缺了前面的单元格", None, 3, None, None, None, 1e-7])
    ws["K7"] = "=SUM(F4:F6)"
    ws["B8"] = "=CONCATENATE(\"甲\",\"乙\")"
    ws["C8"] = "'=不是公式"
    ws["D9"] = 12345678901234
    ws["E9"] = timedelta(hours=30)
    ws["E9"].number_format = "[h]:mm:ss"
    ws["A12"] = "隔了两行"
    ws["B12"] = CellRichText(["富文本", TextBlock(InlineFont(b=True), "加粗"), "结尾"])
    ws["C12"] = "x005F_x000D_转义"
    ws["D12"] = "<script>alert(1)</script> & 符号"
    other = wb.create_sheet("多选题")
    other.append(["题干", "答案"])
    other.append(["第二张表", "AB"])
    wb.create_sheet("空表")
    data = _saved(wb)
    assert fast_view(data) == openpyxl_view(data)
    assert fast_view(data)["单选题"][8][1] == [1]  # the formula cell is reported


def test_inline_strings_of_a_write_only_workbook_match_openpyxl():
    wb = Workbook(write_only=True)
    ws = wb.create_sheet("题库")
    ws.append(["题型", "题干", "答案"])
    for i in range(50):
        ws.append(["单选题", f"第{i}题：\n关于“行政处罚”的规定 <b>&amp;", "A" if i % 2 else None, i, i / 4])
    data = _saved(wb)
    assert fast_view(data) == openpyxl_view(data)


def _replace_parts(data: bytes, parts: dict[str, bytes]) -> bytes:
    source = zipfile.ZipFile(io.BytesIO(data))
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as target:
        for item in source.infolist():
            content = source.read(item.filename)
            if item.filename == "[Content_Types].xml" and "xl/sharedStrings.xml" in parts:
                content = content.replace(b"</Types>", b'<Override PartName="/xl/sharedStrings.xml" ContentType='
                                          b'"application/vnd.openxmlformats-officedocument.spreadsheetml.'
                                          b'sharedStrings+xml"/></Types>')
            target.writestr(item, parts.get(item.filename, content))
        for name, content in parts.items():
            if name not in source.namelist():
                target.writestr(name, content)
    return buffer.getvalue()


SHEET = b"""<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"
 xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships">
<sheetData>
<row><c t="s"><v>0</v></c><c t="s"><v>1</v></c>
<c t="inlineStr"><is><t xml:space="preserve"> \xe5\x86\x85\xe8\x81\x94 </t></is></c></row>
<row r="3" spans="1:6"><c r="A3" t="str"><f>A1&amp;B1</f><v>\xe9\xa2\x98\xe5\x9e\x8b\xe9\xa2\x98\xe5\xb9\xb2</v></c>
<c r="C3"><f t="shared" ref="C3:C5" si="0">D3*2</f><v>4</v></c><c r="D3"><v>2</v></c><c r="E3" t="b"><v>1</v></c>
<c r="F3" t="e"><v>#N/A</v></c></row>
<row r="4"><c r="C4"><f t="shared" si="0"/><v>6</v></c><c r="D4"><v>3</v></c><c r="E4" t="s"><v>2</v></c>
<c r="F4" t="d"><v>2026-05-04T10:00:00</v></c><c r="G4"><v></v></c><c r="H4" t="inlineStr"/></row>
<row r="5"><c r="B5" t="s"><v>3</v></c><c r="C5"><f t="shared" si="0"/></c></row>
</sheetData>
</worksheet>"""

STRINGS = """<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" count="4" uniqueCount="4">
<si><t>题型</t></si>
<si><r><t>题</t></r><r><rPr><b/></rPr><t>干</t></r><rPh sb="0" eb="1"><t>ダイ</t></rPh></si>
<si><t xml:space="preserve">  带空格的_x000D_文本  </t></si>
<si><t/></si>
</sst>""".encode()


def test_hand_written_sheet_without_references_shared_formulas_and_errors_matches_openpyxl():
    data = _replace_parts(_saved(Workbook()), {"xl/worksheets/sheet1.xml": SHEET, "xl/sharedStrings.xml": STRINGS})
    fast, slow = fast_view(data), openpyxl_view(data)
    assert fast == slow
    sheet = fast["Sheet"]
    assert sheet[1][0] == ["题型", "题干", " 内联 "]
    assert sheet[3][1] == [0, 2]  # "=A1&B1" and the shared formula's first cell
    assert sheet[4][0][2] == "=D4*2" and sheet[4][1] == [2]


def test_dates_of_a_1904_workbook_match_openpyxl():
    wb = Workbook()
    wb.epoch = datetime(1904, 1, 1)
    ws = wb.active
    ws.append(["日期", datetime(2020, 2, 29, 12, 0), date(1999, 12, 31)])
    data = _saved(wb)
    assert fast_view(data) == openpyxl_view(data)


def test_a_cell_reference_past_the_last_column_is_refused_as_damaged(ctx):
    import pytest

    from exam.core.errors import ImportRejected
    from question_bank.importer import import_questions

    sheet = SHEET.replace(b'<c r="D3"><v>2</v></c>', b'<c r="ZZZZZZZZZ3"><v>2</v></c>')
    data = _replace_parts(_saved(Workbook()), {"xl/worksheets/sheet1.xml": sheet, "xl/sharedStrings.xml": STRINGS})
    with pytest.raises(ImportRejected) as exc:
        import_questions(data, "hostile.xlsx")
    assert "损坏" in exc.value.message
