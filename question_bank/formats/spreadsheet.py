"""The Excel (.xlsx, old .xls) and CSV question template: one row per question.

Columns (Chinese or English titles, any order; title rows may sit above the header, which is found by its
titles; every accepted spelling is in ``aliases.py``): 题型 type, 题干 stem, 选项A…选项H option_a…option_h (or one
选项 column "A.… B.…"), 答案 answer, 解析 explanation, 难度 difficulty, 分类 category, 标签 tags, 法律依据 law,
评分要点 scoring_points, 来源 source. A sheet named after a type (单选题, 多选题, ...) needs no 题型 column; cells
merged down over several rows count for each of them; formulas are refused.
"""

from __future__ import annotations

import csv
import io
import re
import zipfile
from collections.abc import Iterable

from flask_babel import gettext as _
from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.styles import Alignment, Font, PatternFill

from question_bank.formats import FileRefused, ParsedQuestion, clean_line, clean_text, row_error, row_label
from question_bank.formats.aliases import ALIAS_INDEX, map_header, normal_title
from question_bank.operations import _translate_check, split_citation, split_tags
from question_bank.types import OPTION_KEYS, QUESTION_TYPES, FormatError, type_for_label

HEADERS = ["题型", "题干", *[f"选项{k}" for k in OPTION_KEYS], "答案", "解析", "难度", "分类", "标签", "法律依据",
           "评分要点", "来源"]
DIFFICULTY_WORDS = {"容易": 1, "简单": 1, "易": 1, "较易": 2, "中等": 3, "中": 3, "一般": 3, "较难": 4,
                    "难": 5, "困难": 5}
XLSX_MAGIC = b"PK\x03\x04"
OLE_MAGIC = b"\xd0\xcf\x11\xe0"


# --- reading -----------------------------------------------------------------------------------------

def check_xlsx(data: bytes) -> None:
    if not data.startswith(XLSX_MAGIC) or not zipfile.is_zipfile(io.BytesIO(data)):
        raise FileRefused(_("The file is not an Excel workbook (.xlsx)."))
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        if "xl/workbook.xml" not in archive.namelist():
            raise FileRefused(_("The file is a ZIP archive but not an Excel workbook (.xlsx)."))


class Table:
    """Rows of one sheet (or CSV file): (row number, list of cell values, columns holding formulas)."""

    def __init__(self, name: str | None, rows: Iterable[tuple[int, list, list[int]]]):
        self.name, self.rows = name, rows


def xlsx_tables(data: bytes):
    """(tables, close): the workbook stays open while the rows are read (by the fast reader, see xlsx_reader)."""
    from question_bank.formats.xlsx_reader import XlsxBook

    if data.startswith(OLE_MAGIC):  # an old .xls, whatever its name says
        from question_bank.formats.xls_reader import open_xls

        sheets, close = open_xls(data)
        return [Table(title, rows) for title, rows in sheets], close
    check_xlsx(data)
    try:
        book = XlsxBook(data)
    except Exception as exc:  # openpyxl and lxml raise many kinds for a damaged file
        raise FileRefused(_("The Excel file is damaged and cannot be read.")) from exc
    return [Table(title, book.rows(path, fill_merged=True)) for title, path in book.sheets], book.close


def decode_text(data: bytes) -> str:
    """Text files from bureaus come as UTF-8 (with or without BOM), GBK/GB18030 or UTF-16."""
    if data.startswith(b"\xef\xbb\xbf"):
        return data[3:].decode("utf-8", errors="strict")
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        return data.decode("utf-16")
    if b"\x00" in data[:4096]:
        raise FileRefused(_("The file is not a text file."))
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        pass
    from charset_normalizer import from_bytes

    best = from_bytes(data, cp_isolation=["gb18030", "gbk", "big5", "utf_8"]).best()
    candidates = [best.encoding] if best is not None else []
    for encoding in [*candidates, "gb18030"]:
        try:
            return data.decode(encoding)
        except (UnicodeDecodeError, LookupError):
            continue
    raise FileRefused(_("The text encoding of the file could not be recognised. Save it as UTF-8 and try again."))


def csv_tables(data: bytes) -> list[Table]:
    if data.startswith(XLSX_MAGIC):
        raise FileRefused(_("The file is named .csv but is an Excel workbook. Choose the format xlsx."))
    if data.startswith(OLE_MAGIC):
        raise FileRefused(_("The file is named .csv but is an old Excel (.xls) file. Save it as .xlsx or CSV."))
    text = decode_text(data)
    sample = text[:8192]
    try:
        dialect = csv.Sniffer().sniff(sample, delimiters=",\t;")
    except csv.Error:
        dialect = csv.excel
    reader = csv.reader(io.StringIO(text, newline=""), dialect)

    def rows():
        try:
            for number, values in enumerate(reader, start=1):
                yield number, values, []
        except csv.Error as exc:
            raise FileRefused(_("The CSV file is malformed: %(e)s", e=str(exc))) from exc

    return [Table(None, rows())]


# --- parsing rows -------------------------------------------------------------------------------------

def parse_tables(tables: Iterable[Table], *, limit: int, default_category: str = "") -> tuple[
        list[ParsedQuestion], list[dict]]:
    """Parsed questions and row errors from every sheet that has a title row."""
    questions: list[ParsedQuestion] = []
    errors: list[dict] = []
    found_header = False
    for table in tables:
        named = found_header  # rows of a second sheet with questions carry its name
        columns = None
        section = table.name  # the type of rows without a 题型: the sheet's name, or the last section heading
        for number, values, formulas in table.rows:
            if columns is None:
                if number > 20:
                    break
                columns = map_header(values)
                continue
            heading = _section_heading(values)
            if heading is not None:
                section = heading
                continue
            used = [values[i] for i in columns.values() if i < len(values)]
            if all(clean_line(v) == "" for v in used):
                continue  # blank rows, and rows with only a pre-filled 序号
            if _repeated_header(values, columns):
                continue
            if len(questions) + len(errors) >= limit:
                raise FileRefused(_("The file has more than %(n)d questions. Split it into smaller files.",
                                    n=limit))
            parsed = parse_row(number, table.name if named else None, values, formulas, columns, section,
                               default_category)
            if isinstance(parsed, dict):
                errors.append(parsed)
            else:
                questions.append(parsed)
        found_header = found_header or columns is not None
    if not found_header:
        raise FileRefused(_("No title row was found. The first row must hold the column titles 题型, 题干, "
                            "选项A…, 答案 (download the template)."))
    return questions, errors


def _section_heading(values: list) -> str | None:
    """A row holding only a type's name ("一、单项选择题", "二、判断题(每题1分)", maybe merged across the row):
    the rows under it are of that type. None for any other row."""
    filled = {v for v in values if v is not None and v != ""}
    if len(filled) != 1:
        return None
    text = next(iter(filled))
    if not isinstance(text, str) or len(text) > 40:
        return None
    qtype = type_for_label(clean_line(text))
    return qtype.label if qtype is not None else None


def _repeated_header(values: list, columns: dict[str, int]) -> bool:
    """The title row again (files pasted together, or a header above each section)."""
    index = columns["stem"]
    return index < len(values) and isinstance(values[index], str) and len(values[index]) < 20 and \
        ALIAS_INDEX.get(normal_title(values[index])) == "stem"


def parse_row(number: int, named_sheet: str | None, values: list, formulas: list[int], columns: dict[str, int],
              sheet: str | None, default_category: str) -> ParsedQuestion | dict:
    label = row_label(number, named_sheet) if formulas else ""

    def raw(key):
        index = columns.get(key)
        return values[index] if index is not None and index < len(values) else None

    problems: list[str] = []
    formula_columns = [key for key, index in columns.items() if index in formulas]
    if formula_columns:
        return row_error(number, label, _("a cell holds a formula; formulas are not accepted, paste the values"))
    type_text = clean_line(raw("type"))
    qtype = type_for_label(type_text) if type_text else (type_for_label(sheet) if sheet else None)
    if qtype is None and not type_text and "type" not in columns:
        qtype = _guess_type(values, columns)
    if qtype is None:
        problems.append(_("the question type %(t)s is unknown (单选, 多选, 判断, 填空, 案例分析)", t=type_text)
                        if type_text else _("the question type is empty"))
        return row_error(number, row_label(number, named_sheet), problems)
    stem = clean_text(raw("stem"), keep_paragraphs=not qtype.objective)
    if not stem:
        problems.append(_("the stem is empty"))
    texts = [clean_line(raw(f"option_{key}")) for key in OPTION_KEYS]
    if "options" in columns and not any(texts):
        cell = clean_text(raw("options"), keep_paragraphs=True)
        if cell:
            split = split_options(cell)
            if split is None:
                problems.append(_("the options cell could not be split into options; write them as "
                                  "“A.… B.… C.…”, or in the columns 选项A, 选项B, …"))
            else:
                texts = [clean_line(t) for t in split] + [""] * (len(OPTION_KEYS) - len(split))
    texts = _without_letter_prefixes(texts)
    last = max((i for i, t in enumerate(texts) if t), default=-1)
    options: list[dict] = []
    for index in range(last + 1):
        if not texts[index]:
            problems.append(_("option %(k)s is empty but a later option is filled in", k=OPTION_KEYS[index]))
        else:
            options.append({"key": OPTION_KEYS[index], "text": texts[index]})
    if qtype.has_options and len(options) < 2:
        problems.append(_("a choice question needs at least two options"))
    answer_text = clean_text(raw("answer"), keep_paragraphs=not qtype.objective) if qtype.code in (
        "case_analysis", "fill_blank") else _ANSWER_LABEL.sub("", clean_line(raw("answer")))
    answer = None
    try:
        options, answer = qtype.answer_from_cells(options, answer_text, clean_text(raw("scoring"), True))
    except FormatError as exc:
        problems.append(str(exc))
    if answer is not None:
        problems.extend(_check(qtype, options, answer))
    difficulty = 3
    difficulty_text = clean_line(raw("difficulty"))
    if difficulty_text:
        difficulty = DIFFICULTY_WORDS.get(difficulty_text) or (
            int(difficulty_text) if difficulty_text.isdigit() else 0)
        if not 1 <= difficulty <= 5:
            problems.append(_("the difficulty %(d)s must be 1 to 5", d=difficulty_text))
    if problems:
        return row_error(number, row_label(number, named_sheet), problems)

    law_name, article = split_citation(clean_line(raw("law")))
    return ParsedQuestion(
        row=number, sheet=named_sheet, type=qtype.code, stem=stem, options=options if qtype.has_options else [],
        answer=answer, explanation=clean_text(raw("explanation"), keep_paragraphs=True) or None,
        difficulty=difficulty, category_path=clean_line(raw("category")) or default_category,
        tags=split_tags(clean_line(raw("tags"))), law_name=law_name, article=article,
        source=clean_line(raw("source")) or None,
    )


def _check(qtype, options, answer) -> list[str]:
    return [_translate_check(p) for p in qtype.check(options if qtype.has_options else [], answer)]


_OPTION_MARK = re.compile(r"(?:^|(?<=[\s;；,，]))[(（]?([A-HＡ-Ｈ])\s*(?:[)）]\s*[.．、:：]?|[.．、:：])\s*")


def split_options(text: str) -> list[str] | None:
    """One cell holding every option, "A.一年 B.二年" or "A、一年\nB、二年" -> ["一年", "二年"]; None if it is not
    such a cell. Markers count only in order (A, then B, ...), so a "B" inside an option's text is left alone."""
    marks = []
    for match in _OPTION_MARK.finditer(text):
        letter = match.group(1).translate(_FULL_WIDTH_LETTERS)
        if len(marks) < len(OPTION_KEYS) and letter == OPTION_KEYS[len(marks)]:
            marks.append(match)
    if len(marks) < 2 or marks[0].start() != 0:
        return None
    options = []
    for index, match in enumerate(marks):
        end = marks[index + 1].start() if index + 1 < len(marks) else len(text)
        options.append(text[match.end():end].strip().rstrip(";；,，").strip())
    return options if all(options) else None


_ANSWER_LABEL = re.compile(r"^(?:正确|参考|标准)?答案\s*[:：]\s*")  # "正确答案：A" in an answer cell
_FULL_WIDTH_LETTERS = str.maketrans("ＡＢＣＤＥＦＧＨ", "ABCDEFGH")
_LETTER_PREFIX = re.compile(r"^[(（]?([A-HＡ-Ｈ])\s*(?:[)）]\s*[.．、:：]?|[.．、:：])\s*")


def _without_letter_prefixes(texts: list[str]) -> list[str]:
    """Option cells written "A.一年", "B、二年": the letter of its own column is dropped, when every filled cell
    has it (a text that merely starts with a letter is left alone)."""
    filled = [(i, t) for i, t in enumerate(texts) if t]
    if not filled:
        return texts
    for index, text in filled:
        match = _LETTER_PREFIX.match(text)
        if not match or match.group(1).translate(_FULL_WIDTH_LETTERS) != OPTION_KEYS[index] or not text[match.end():]:
            return texts
    return [_LETTER_PREFIX.sub("", t, count=1) if t else t for t in texts]


def _guess_type(values, columns):
    """No 题型 column: options and one letter = single, several letters = multiple, 对/错 = true/false."""
    has_options = any(clean_line(values[i]) for k, i in columns.items()
                      if (k.startswith("option_") or k == "options") and i < len(values))
    index = columns.get("answer")
    answer = clean_line(values[index]) if index is not None and index < len(values) else ""
    if has_options:
        letters = re.sub(r"[\s,，、]+", "", answer)
        return QUESTION_TYPES["multiple" if len(letters) > 1 else "single"]
    tf = QUESTION_TYPES["true_false"]
    if answer.lower() in tf.TRUE_WORDS | tf.FALSE_WORDS:
        return tf
    return QUESTION_TYPES["fill_blank"]


# --- writing ------------------------------------------------------------------------------------------

def question_cells(question) -> list:
    """One row of the template for a Question (its current version)."""
    version = question.current
    qtype = QUESTION_TYPES[question.type]
    answer, scoring = qtype.answer_to_cells(version.options, version.answer)
    options = {o["key"]: o["text"] for o in version.options or []}
    law = ""
    if question.law is not None:
        law = f"《{question.law.name}》{question.article or ''}"
    return [qtype.label, version.stem, *[options.get(k, "") for k in OPTION_KEYS], answer,
            version.explanation or "", question.difficulty, question.category.path if question.category else "",
            "、".join(t.name for t in question.tags), law, scoring, question.source or ""]


def _text_cell(ws, value):
    cell = WriteOnlyCell(ws, value=value)
    if isinstance(value, str) and value.startswith("="):
        cell.data_type = "s"  # text that looks like a formula stays text
    return cell


def write_workbook(rows: Iterable[list], *, with_notes: bool = False) -> bytes:
    wb = Workbook(write_only=True)
    ws = wb.create_sheet("题库")
    for column, width in zip("ABCDEFGHIJKLMNOPQRS", [10, 60, *[24] * 8, 14, 40, 6, 24, 16, 34, 30, 14],
                             strict=False):
        ws.column_dimensions[column].width = width
    header = []
    for title in HEADERS:
        cell = WriteOnlyCell(ws, value=title)
        cell.font = Font(bold=True)
        cell.fill = PatternFill("solid", fgColor="DDEBF7")
        header.append(cell)
    ws.append(header)
    wrap = Alignment(wrap_text=True, vertical="top")
    for row in rows:
        cells = []
        for value in row:
            cell = _text_cell(ws, value)
            if isinstance(value, str) and ("\n" in value or len(value) > 30):
                cell.alignment = wrap
            cells.append(cell)
        ws.append(cells)
    if with_notes:
        notes = wb.create_sheet("说明")
        notes.column_dimensions["A"].width = 14
        notes.column_dimensions["B"].width = 90
        for line in TEMPLATE_NOTES:
            notes.append(list(line))
    buffer = io.BytesIO()
    wb.save(buffer)
    return buffer.getvalue()


TEMPLATE_NOTES = [
    ("列", "填写说明"),
    ("题型", "必填:单选题、多选题、判断题、填空题、案例分析题(也可写 单选、多选、判断、填空、案例分析)"),
    ("题干", "必填;单元格内换行会被合并,案例分析题保留分段"),
    ("选项A…选项H", "单选、多选题至少填两个选项(多选题至少三个),从选项A起连续填写;判断、填空、案例分析题不填"),
    ("答案", "单选:A;多选:ABD、A,B,D 或 A、B、D 均可(全角、小写亦可);"
             "判断:正确/错误、对/错、√/×、T/F、是/否、Y/N(未填选项时 A 表示正确、B 表示错误);"
             "填空:多个空之间用分号(；或;)或换行分隔,同一空的多个可接受答案用竖线 | 分隔,"
             "例如 十五日|15日；三日|3日;案例分析:填参考答案"),
    ("解析", "选填"),
    ("难度", "选填,1–5 的整数(1 最易,5 最难),也可写 容易、较易、中等、较难、困难;空白为 3"),
    ("分类", "选填,用 / 分隔的路径,如 公共法律知识/行政处罚;不存在的分类将自动创建"),
    ("标签", "选填,多个标签用顿号、逗号或空格分隔"),
    ("法律依据", "选填,如 《中华人民共和国行政处罚法》第三十二条;题库中没有的法律将自动添加"),
    ("评分要点", "仅案例分析题,每行一条,以分值结尾,如 认定违法事实清楚（2分）"),
    ("来源", "选填,如 学法材料2016年第8期"),
    ("导入规则", "任一行有错误时整个文件都不导入,并列出每个错误行及原因;"
                 "与题库中已有试题(题型、题干、选项均相同)重复的行将跳过,勾选“更新重复试题”时保存为新版本;"
                 "单元格中的公式不被接受,请粘贴为数值;文件最多 20000 道题"),
]

def _example(qtype, stem, options, answer, explanation, difficulty, category, law, tags="", scoring=""):
    return [qtype, stem, *(list(options) + [""] * 8)[:8], answer, explanation, difficulty, category, tags, law,
            scoring, ""]


TEMPLATE_EXAMPLES = [
    _example("单选题", "违法行为在（ ）年内未被发现的,不再给予行政处罚;法律另有规定的除外。", ["一", "二", "三", "五"],
             "B", "一般追责时效为二年。", 2, "公共法律知识/行政处罚", "《中华人民共和国行政处罚法》第三十六条", "时效"),
    _example("多选题", "下列属于行政处罚种类的有（ ）。", ["警告、通报批评", "罚款、没收违法所得", "暂扣许可证件",
             "行政拘留"], "A、B、C、D", "", 3, "公共法律知识/行政处罚", "《中华人民共和国行政处罚法》第九条"),
    _example("判断题", "地方政府规章可以设定限制人身自由的行政处罚。", [], "错误",
             "限制人身自由的行政处罚只能由法律设定。", 2, "公共法律知识/行政处罚",
             "《中华人民共和国行政处罚法》第十条"),
    _example("填空题", "当事人应当自收到行政处罚决定书之日起（ ）日内缴纳罚款。", [], "十五|15", "", 2,
             "公共法律知识/行政处罚", "《中华人民共和国行政处罚法》第六十七条"),
    _example("案例分析题", "某区市场监管局接到举报,查明某商场销售的电热水壶经检验不合格,货值金额8000元。"
             "执法人员当场作出罚款20000元的决定。请分析该处罚决定在程序上是否合法,并说明理由。", [],
             "不合法。罚款数额超出当场处罚的限额,应当适用普通程序,经立案、调查取证、告知当事人"
             "陈述申辩权利(必要时告知听证权利)、法制审核后作出决定。", "", 4, "专业法律知识/产品质量",
             "《中华人民共和国行政处罚法》第五十一条", "",
             "指出不能适用简易程序（2分）\n说明普通程序的主要环节（3分）"),
]


def template_workbook() -> bytes:
    return write_workbook(TEMPLATE_EXAMPLES, with_notes=True)
