"""Old Excel 97-2003 workbooks (.xls, BIFF) through xlrd: every sheet's values, and which cells hold formulas.

xlrd gives a formula cell's cached value only; like the .xlsx reader, this one reports formula cells so the
importer refuses them instead of trusting a value computed by someone else's Excel. The formula cells are found
by walking the sheet's BIFF records (FORMULA records carry their row and column), with the stream and sheet
offsets xlrd keeps when it opens a workbook on demand; xlrd is pinned in requirements.txt for that.
"""

from __future__ import annotations

import struct
from collections.abc import Iterator

import xlrd
from flask_babel import gettext as _

from question_bank.formats import FileRefused

FORMULA_RECORDS = {0x0006, 0x0206, 0x0406}
BOF_RECORDS = {0x0009, 0x0209, 0x0409, 0x0809}
EOF_RECORD = 0x000A


def open_xls(data: bytes):
    """(sheets, close): sheets are (title, rows iterator) like XlsxBook's."""
    try:
        book = xlrd.open_workbook(file_contents=data, on_demand=True, formatting_info=True, logfile=_Quiet(),
                                  ignore_workbook_corruption=True)
    except xlrd.XLRDError as exc:
        if "encrypt" in str(exc).lower():
            raise FileRefused(_("The .xls workbook is protected by a password. Remove the password and try "
                                "again.")) from exc
        raise FileRefused(_("The file is not a readable Excel 97-2003 (.xls) workbook. Open it in Excel and save "
                            "it as .xlsx.")) from exc
    except Exception as exc:  # xlrd raises many kinds for a damaged compound document
        raise FileRefused(_("The file is not a readable Excel 97-2003 (.xls) workbook. Open it in Excel and save "
                            "it as .xlsx.")) from exc
    sheets = [(name, _rows(book, index)) for index, name in enumerate(book.sheet_names())]
    return sheets, book.release_resources


class _Quiet:
    def write(self, _text):
        pass


def _rows(book, index: int) -> Iterator[tuple[int, list, list[int]]]:
    from question_bank.formats.xlsx_reader import merge_filled

    sheet = book.sheet_by_index(index)
    formulas = formula_cells(book, index)
    rows = ((r + 1, [_value(book, cell) for cell in sheet.row(r)], formulas.get(r, [])) for r in range(sheet.nrows))
    ranges = [(r1 + 1, r2, c1 + 1, c2) for r1, r2, c1, c2 in sheet.merged_cells]  # xlrd: half-open, 0-based
    yield from merge_filled(rows, ranges) if ranges else rows


def _value(book, cell):
    kind, value = cell.ctype, cell.value
    if kind in (xlrd.XL_CELL_EMPTY, xlrd.XL_CELL_BLANK):
        return None
    if kind == xlrd.XL_CELL_DATE:
        try:
            return xlrd.xldate.xldate_as_datetime(value, book.datemode)
        except (ValueError, OverflowError, xlrd.xldate.XLDateError):
            return value
    if kind == xlrd.XL_CELL_BOOLEAN:
        return bool(value)
    if kind == xlrd.XL_CELL_ERROR:
        return xlrd.error_text_from_code.get(value, "#ERROR")
    return value


def formula_cells(book, index: int) -> dict[int, list[int]]:
    """{row: [columns]} (0-based) of the FORMULA records in the sheet's substream (charts inside it skipped)."""
    mem, position = book.mem, book._sh_abs_posn[index]
    cells: dict[int, list[int]] = {}
    depth = 0
    while position + 4 <= len(mem):
        code, length = struct.unpack_from("<HH", mem, position)
        if code in BOF_RECORDS:
            depth += 1
        elif code == EOF_RECORD:
            depth -= 1
            if depth <= 0:
                break
        elif code in FORMULA_RECORDS and depth == 1 and length >= 4:
            row, column = struct.unpack_from("<HH", mem, position + 4)
            cells.setdefault(row, []).append(column)
        position += 4 + length
    return cells
