"""A fast reader of .xlsx cell values: the same values as openpyxl's read-only mode, in a fraction of the time.

openpyxl turns every cell into a dict and every shared string into a ``Text`` object; on a 10,000-question file
that is most of the import. This reader keeps openpyxl for the workbook's structure (sheets, relationships,
styles, the 1900/1904 epoch: ``ExcelReader`` without its string table and worksheet passes) and reads the string
table and the sheets itself with lxml, converting each value exactly as openpyxl's ``WorkSheetParser.parse_cell``
does (``tests/question_bank/test_xlsx_reader.py`` compares both on the same files). It uses openpyxl internals,
so openpyxl is pinned in requirements.txt.

Formulas come back as their text ("=SUM(A1:A2)") and their columns are reported, like openpyxl with
``data_only=False``: the importer refuses them rather than trusting a cached value.
"""

from __future__ import annotations

import io
import re
from collections.abc import Iterator

from lxml import etree
from openpyxl.reader.excel import ExcelReader
from openpyxl.styles.stylesheet import apply_stylesheet
from openpyxl.utils.datetime import from_excel, from_ISO8601
from openpyxl.xml.constants import SHEET_MAIN_NS

_NS = f"{{{SHEET_MAIN_NS}}}"
ROW, CELL, VALUE, FORMULA, INLINE = _NS + "row", _NS + "c", _NS + "v", _NS + "f", _NS + "is"
SI, T, R = _NS + "si", _NS + "t", _NS + "r"
_PARSER_OPTIONS = {"resolve_entities": False, "no_network": True, "load_dtd": False, "remove_comments": True,
                   "remove_pis": True}


def _text(node) -> str:
    """openpyxl's ``Text.content``: the plain <t>, then the <t> of each rich-text run; phonetic runs left out."""
    plain, runs = None, []
    for child in node:
        tag = child.tag
        if tag == T:
            plain = child.text
        elif tag == R:
            t = child.find(T)
            if t is not None and t.text is not None:
                runs.append(t.text)
    if not runs:
        return plain or ""
    return (plain or "") + "".join(runs)


def _shared_strings(archive, package) -> list[str]:
    from openpyxl.xml.constants import SHARED_STRINGS

    part = package.find(SHARED_STRINGS)
    if part is None:
        return []
    strings = []
    with archive.open(part.PartName[1:]) as source:
        for _event, node in etree.iterparse(source, events=("end",), tag=SI, **_PARSER_OPTIONS):
            strings.append(_text(node).replace("x005F_", ""))
            node.clear()
            while node.getprevious() is not None:
                del node.getparent()[0]
    return strings


_COLUMNS: dict[str, int] = {}
_MERGE_REF = re.compile(rb"<mergeCell\s+ref=[\"']([A-Z]+[0-9]+(?::[A-Z]+[0-9]+)?)[\"']")


def _merged_ranges(data: bytes) -> list[tuple[int, int, int, int]]:
    """(first row, last row, first column, last column), 1-based, of a sheet's merged ranges."""
    start = data.rfind(b"<mergeCells")
    if start < 0:
        return []
    ranges = []
    for match in _MERGE_REF.finditer(data, start):
        first, _colon, last = match.group(1).decode("ascii").partition(":")
        if not last:
            continue
        r1, r2 = int(first.lstrip("ABCDEFGHIJKLMNOPQRSTUVWXYZ")), int(last.lstrip("ABCDEFGHIJKLMNOPQRSTUVWXYZ"))
        c1, c2 = _column(first), _column(last)
        ranges.append((min(r1, r2), max(r1, r2), min(c1, c2), max(c1, c2)))
    return ranges


def merge_filled(rows, ranges: list[tuple[int, int, int, int]]):
    """``rows`` with each merged range's top-left value (and formula mark) copied into the range's other cells."""
    by_row: dict[int, list[tuple[int, int, int, int]]] = {}
    budget = 1_000_000  # row entries in all: a hostile file's thousands of tall ranges must not fill the memory
    for r1, r2, c1, c2 in ranges:
        if (r2 - r1 + 1) * (c2 - c1 + 1) > 100_000:  # a whole-sheet merge is formatting, not content
            continue
        budget -= r2 - r1 + 1
        if budget < 0:
            break
        for r in range(r1, r2 + 1):
            by_row.setdefault(r, []).append((r1, c1, c1, c2))
    top_left: dict[tuple[int, int], tuple] = {}
    for number, values, formulas in rows:
        for r1, c1, first, last in by_row.get(number, ()):
            if number == r1:
                top_left[(r1, c1)] = (values[c1 - 1] if c1 <= len(values) else None, c1 - 1 in formulas)
            value, formula = top_left.get((r1, c1), (None, False))
            if value is None:
                continue
            while len(values) < last:
                values.append(None)
            for column in range(first, last + 1):
                if values[column - 1] is None:
                    values[column - 1] = value
                    if formula and column - 1 not in formulas:
                        formulas.append(column - 1)
        yield number, values, formulas


MAX_COLUMN = 16384  # XFD, Excel's last column
_LETTERS = re.compile(r"[A-Za-z]{1,3}")


def _column(reference: str) -> int:
    """'AB12' -> 28 (1-based), cached by the letters. ValueError past XFD or for anything but A–Z (a damaged or
    hostile file must not make a row of a billion cells)."""
    letters = reference.rstrip("0123456789$").lstrip("$")
    index = _COLUMNS.get(letters)
    if index is None:
        if not _LETTERS.fullmatch(letters):
            raise ValueError(f"bad cell reference {reference[:20]!r}")
        index = 0
        for ch in letters.upper():
            index = index * 26 + ord(ch) - 64
        if index > MAX_COLUMN:
            raise ValueError(f"bad cell reference {reference[:20]!r}")
        _COLUMNS[letters] = index
    return index


def _number(text: str):
    if "." in text or "E" in text or "e" in text:
        return float(text)
    return int(text)


class XlsxBook:
    """An open workbook: ``sheets`` is [(title, rows iterator)], ``close()`` releases the archive."""

    def __init__(self, data: bytes):
        reader = ExcelReader(io.BytesIO(data), read_only=True, data_only=False)
        reader.read_manifest()
        reader.read_workbook()
        apply_stylesheet(reader.archive, reader.wb)
        self._archive = reader.archive
        wb = reader.wb
        self._epoch = wb.epoch
        self._date_formats = set(wb._date_formats)
        self._timedelta_formats = set(wb._timedelta_formats)
        self._strings = _shared_strings(reader.archive, reader.package)
        valid = set(reader.valid_files)
        self.sheets: list[tuple[str, str]] = [
            (sheet.name, rel.target) for sheet, rel in reader.parser.find_sheets()
            if rel.target in valid and "chartsheet" not in rel.Type
        ]

    def close(self) -> None:
        self._archive.close()

    def rows(self, path: str, *, fill_merged: bool = False) -> Iterator[tuple[int, list, list[int]]]:
        """(row number, values from column A, 0-based indexes of formula cells) for each row present.

        ``fill_merged``: every cell of a merged range reads as its top-left cell, as a person sees the sheet
        (a 题型 or 分类 cell merged down over the rows of its questions); openpyxl leaves them empty.
        """
        if not fill_merged:
            return self._rows(self._archive.open(path))
        with self._archive.open(path) as source:
            data = source.read()
        rows = self._rows(io.BytesIO(data))
        ranges = _merged_ranges(data)
        return merge_filled(rows, ranges) if ranges else rows

    def _rows(self, source) -> Iterator[tuple[int, list, list[int]]]:
        strings, date_formats = self._strings, self._date_formats
        shared_formulae: dict[str, object] = {}
        row_number = 0
        with source:
            for _event, row in etree.iterparse(source, events=("end",), tag=ROW, **_PARSER_OPTIONS):
                r = row.get("r")
                row_number = (int(r) if r.isdigit() else int(float(r))) if r else row_number + 1
                values: list = []
                formulas: list[int] = []
                column = 0
                for cell in row.iterchildren(CELL):
                    reference = cell.get("r")
                    column = _column(reference) if reference else column + 1
                    count = len(cell)
                    if not count:
                        continue
                    data_type = cell.get("t", "n")
                    value = formula = None
                    if count == 1:  # the usual cell: one <v>, or one <is> of an inline string
                        child = cell[0]
                        tag = child.tag
                        if tag == VALUE:
                            if data_type != "inlineStr":
                                value = child.text or None
                        elif tag == FORMULA:
                            formula = child
                        elif tag == INLINE and data_type == "inlineStr":
                            value = _text(child)
                            data_type = "inlineStr done"
                    else:
                        for child in cell:
                            tag = child.tag
                            if tag == VALUE:
                                if data_type != "inlineStr":
                                    value = child.text or None
                            elif tag == FORMULA:
                                formula = child
                    if formula is not None:
                        value = self._formula(formula, reference, shared_formulae)
                        formulas.append(column - 1)
                    elif value is not None:
                        if data_type == "s":
                            value = strings[int(value)]
                        elif data_type == "n":
                            value = _number(value)
                            style = cell.get("s")
                            if style and int(style) in date_formats:
                                value = self._date(value, int(style), reference)
                        elif data_type == "b":
                            value = bool(int(value))
                        elif data_type == "d":
                            value = from_ISO8601(value)
                    elif data_type == "inlineStr":
                        child = cell.find(INLINE)
                        if child is not None:
                            value = _text(child)
                    if value is None:
                        continue
                    while len(values) < column - 1:
                        values.append(None)
                    if len(values) == column - 1:
                        values.append(value)
                    else:  # a cell named twice, or out of order: the later one wins, as in openpyxl
                        values[column - 1] = value
                row.clear()
                while row.getprevious() is not None:
                    del row.getparent()[0]
                yield row_number, values, formulas

    def _date(self, value, style: int, reference: str | None):
        try:
            return from_excel(value, self._epoch, timedelta=style in self._timedelta_formats)
        except (OverflowError, ValueError):
            return "#VALUE!"

    @staticmethod
    def _formula(node, reference: str | None, shared: dict):
        from openpyxl.formula.translate import Translator

        text = "=" + (node.text or "")
        kind = node.get("t")
        if kind == "shared":
            index = node.get("si")
            if index in shared:
                return shared[index].translate_formula(reference)
            if text != "=":
                shared[index] = Translator(text, reference)
        return text
