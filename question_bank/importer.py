"""Import questions from a file, all or nothing, and export any set of questions.

``import_questions`` reads and checks the whole file first; only a file without a single bad question
changes the database (and even then not on a dry run).
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import String, any_, bindparam, func, literal_column, select
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import selectinload

from exam.core import audit, bulk
from exam.core.errors import ImportRejected
from exam.core.timeutil import utcnow
from exam.extensions import db
from question_bank import operations as ops
from question_bank.formats import FileRefused, ParsedQuestion
from question_bank.models import Question, QuestionVersion, question_tags
from question_bank.types import QUESTION_TYPES, normalise_stem

FORMATS = ("xlsx", "csv", "gift", "aiken")
EXTENSIONS = {".xlsx": "xlsx", ".xlsm": "xlsx", ".xls": "xlsx", ".csv": "csv", ".txt": None, ".gift": "gift",
              ".aiken": "aiken"}
DEFAULT_LIMIT = 20_000
QUESTION_COLUMNS = ("id", "type", "status", "difficulty", "current_number", "category_id", "law_id", "article",
                    "source", "stem_key", "needs_review", "created_at", "updated_at")
VERSION_COLUMNS = ("question_id", "number", "type", "stem", "options", "answer", "explanation", "created_at",
                   "created_by_id")


@dataclass
class ImportReport:
    format: str
    total: int = 0  # good questions found in the file
    imported: int = 0  # new questions (would be) created
    updated: int = 0  # duplicates saved as a new version (update mode)
    duplicates: list[dict] = field(default_factory=list)  # {"row", "message"}
    errors: list[dict] = field(default_factory=list)
    dry_run: bool = False
    questions: list[ParsedQuestion] = field(default_factory=list)

    def as_json(self) -> dict:
        return {"imported": self.imported, "updated": self.updated, "duplicates": len(self.duplicates),
                "errors": self.errors, "duplicate_rows": self.duplicates, "dry_run": self.dry_run}


def import_limit() -> int:
    return int(current_app.config.get("QUESTION_IMPORT_MAX", DEFAULT_LIMIT))


def detect_format(data: bytes, filename: str | None, fmt: str | None = None) -> str:
    if fmt:
        if fmt not in FORMATS:
            raise ImportRejected(_("Unknown format %(f)s; use xlsx, csv, gift or aiken.", f=fmt))
        return fmt
    extension = os.path.splitext(filename or "")[1].lower()
    if EXTENSIONS.get(extension):
        return EXTENSIONS[extension]
    if data.startswith(b"PK\x03\x04") or data.startswith(b"\xd0\xcf\x11\xe0"):
        return "xlsx"
    head = data[:20000].decode("utf-8", errors="ignore")
    if "{" in head and "}" in head:
        return "gift"
    if "ANSWER:" in head.upper():
        return "aiken"
    return "csv"


def parse_file(data: bytes, filename: str | None = None, fmt: str | None = None,
               default_category: str = "") -> tuple[str, list[ParsedQuestion], list[dict]]:
    """(format, good questions, row errors); ImportRejected when the file as a whole cannot be read."""
    from question_bank.formats import aiken, gift, spreadsheet

    if not data or not data.strip():
        raise ImportRejected(_("The file is empty."))
    fmt = detect_format(data, filename, fmt)
    limit = import_limit()
    try:
        if fmt == "xlsx":  # .xlsx, and old .xls workbooks
            tables, close = spreadsheet.xlsx_tables(data)
            try:
                questions, errors = spreadsheet.parse_tables(tables, limit=limit, default_category=default_category)
            except FileRefused:
                raise
            except Exception as exc:  # a damaged sheet inside a readable archive
                current_app.logger.info("question file unreadable: %r", exc)
                raise FileRefused(_("The Excel file is damaged and cannot be read.")) from exc
            finally:
                close()
        elif fmt == "csv":
            questions, errors = spreadsheet.parse_tables(spreadsheet.csv_tables(data), limit=limit,
                                                         default_category=default_category)
        else:
            if data.startswith((b"PK\x03\x04", b"\xd0\xcf\x11\xe0")):
                raise FileRefused(_("The file is an Excel workbook, not a %(f)s text file.", f=fmt.upper()))
            text = spreadsheet.decode_text(data)
            parser = gift.parse_gift if fmt == "gift" else aiken.parse_aiken
            questions, errors = parser(text, limit=limit, default_category=default_category)
    except FileRefused as exc:
        raise ImportRejected(exc.message) from exc
    if not questions and not errors:
        raise ImportRejected(_("The file holds no questions."))
    return fmt, questions, errors


def _keys(questions: list[ParsedQuestion]) -> list[tuple]:
    """Each question's duplicate key (``ops.duplicate_key``), its stem key set on it: each stem normalised once."""
    keys = []
    for q in questions:
        stem = normalise_stem(q.stem)
        q.stem_key = stem[:ops.STEM_KEY_LENGTH]
        keys.append((q.type, stem, tuple(sorted(normalise_stem(o.get("text", "")) for o in q.options))
                     if q.options else ()))
    return keys


def _keys_in(keys: list[str]):
    """A condition "stem key is one of ``keys``" with one bound parameter however many keys there are."""
    if db.session.get_bind().dialect.name == "postgresql":
        return Question.stem_key == any_(bindparam("stem_keys", keys, type_=ARRAY(String)))
    listed = select(literal_column("value")).select_from(
        func.json_each(bindparam("stem_keys", json.dumps(keys, ensure_ascii=False))))
    return Question.stem_key.in_(listed)


def _bank_duplicates(questions: list[ParsedQuestion]) -> dict[tuple, Question]:
    """The bank's questions with a stem key of the file, by duplicate key: one query, however big the file."""
    keys = sorted({q.stem_key for q in questions})
    found: dict[tuple, Question] = {}
    if not keys:
        return found
    rows = db.session.execute(
        select(Question, QuestionVersion)
        .join(QuestionVersion, (QuestionVersion.question_id == Question.id)
              & (QuestionVersion.number == Question.current_number))
        .where(_keys_in(keys))
    ).all()
    for question, version in rows:
        found.setdefault(ops.duplicate_key(question.type, version.stem, version.options), question)
    return found


def import_questions(data: bytes, filename: str | None = None, *, fmt: str | None = None,
                     category_path: str = "", update: bool = False, dry_run: bool = False,
                     by=None) -> ImportReport:
    """Check the whole file; import it only if every question is good. Raises ImportRejected otherwise."""
    fmt, questions, errors = parse_file(data, filename, fmt, default_category=category_path or "")
    report = ImportReport(format=fmt, errors=errors, dry_run=dry_run, total=len(questions))
    for q in questions:
        problems = []
        if len(q.category_path) > 300 or any(len(p) > 100 for p in ops.split_path(q.category_path)):
            problems.append(_("the category path is too long"))
        if len(q.law_name) > 200:
            problems.append(_("the law's name is too long"))
        if q.article and len(q.article) > 64:
            problems.append(_("the article may have at most 64 characters"))
        if q.source and len(q.source) > 100:
            problems.append(_("the source may have at most 100 characters"))
        if problems:
            from question_bank.formats import row_error

            report.errors.append(row_error(q.row, q.label, problems))
    if report.errors:
        report.errors.sort(key=lambda e: e["row"])
        raise ImportRejected(
            _("Nothing was imported: %(n)d questions have errors.", n=len(report.errors)), details=report.errors
        )
    keys = _keys(questions)
    in_bank = _bank_duplicates(questions)
    seen: dict[tuple, ParsedQuestion] = {}
    to_create: list[ParsedQuestion] = []
    to_update: list[tuple[Question, ParsedQuestion]] = []
    for q, key in zip(questions, keys, strict=True):
        if key in seen:
            report.duplicates.append({"row": q.row, "message": _(
                "%(where)s: the same question as %(other)s; skipped", where=q.label, other=seen[key].label)})
            continue
        seen[key] = q
        existing = in_bank.get(key)
        if existing is not None:
            if update:
                to_update.append((existing, q))
            else:
                report.duplicates.append({"row": q.row, "message": _(
                    "%(where)s: already in the bank as question %(id)d; skipped", where=q.label, id=existing.id)})
            continue
        to_create.append(q)
    report.imported, report.updated = len(to_create), len(to_update)
    report.questions = to_create
    if dry_run:
        return report
    _write(to_create, to_update, by=by)
    audit.record("question.import", None, actor=by, after={
        "format": fmt, "file": (filename or "")[:200], "imported": report.imported, "updated": report.updated,
        "duplicates": len(report.duplicates)})
    return report


def _write(to_create: list[ParsedQuestion], to_update: list[tuple[Question, ParsedQuestion]], *, by) -> None:
    """New questions go in with ids reserved up front and one bulk insert per table (COPY on PostgreSQL)."""
    categories: dict[str, object] = {}
    laws: dict[str, object] = {}
    all_tags = {name for _q, p in to_update for name in p.tags} | {name for p in to_create for name in p.tags}
    tags = {t.name: t for t in ops.ensure_tags(sorted(all_tags))} if all_tags else {}
    for p in [*to_create, *(p for _q, p in to_update)]:
        if p.category_path not in categories:
            categories[p.category_path] = ops.ensure_category(p.category_path)
        if p.law_name not in laws:
            laws[p.law_name] = ops.ensure_law(p.law_name)
    db.session.flush()
    by_id = getattr(by, "id", None)
    now = utcnow()
    ids = bulk.reserve_ids(db.session, Question.__table__, len(to_create))
    category_ids = {path: getattr(c, "id", None) for path, c in categories.items()}
    law_ids = {name: getattr(law, "id", None) for name, law in laws.items()}
    bulk.insert_rows(db.session, Question.__table__, QUESTION_COLUMNS, [
        (qid, p.type, "active", p.difficulty, 1, category_ids[p.category_path], law_ids[p.law_name],
         p.article if p.law_name else None, p.source, p.stem_key, False, now, now)
        for qid, p in zip(ids, to_create, strict=True)])
    with_options = {code for code, qtype in QUESTION_TYPES.items() if qtype.has_options}
    bulk.insert_rows(db.session, QuestionVersion.__table__, VERSION_COLUMNS, [
        (qid, 1, p.type, p.stem, p.options if p.type in with_options else [], p.answer, p.explanation, now, by_id)
        for qid, p in zip(ids, to_create, strict=True)])
    tag_ids = {name: tag.id for name, tag in tags.items()}
    bulk.insert_rows(db.session, question_tags, ("question_id", "tag_id"), [
        (qid, tag_ids[name]) for qid, p in zip(ids, to_create, strict=True) for name in p.tags])
    for question, p in to_update:
        data = ops.QuestionData(
            type=p.type, stem=p.stem, options=p.options, answer=p.answer, explanation=p.explanation,
            difficulty=p.difficulty, category=categories[p.category_path], law=laws[p.law_name],
            article=p.article if p.law_name else None, source=p.source, tags=[tags[n] for n in p.tags],
            status=question.status,
        )
        ops.edit_question(question, data, by=by)


# --- export -------------------------------------------------------------------------------------------

def export_questions(questions: list[Question], fmt: str = "xlsx") -> bytes:
    from question_bank.formats import gift, spreadsheet

    if fmt == "gift":
        return gift.render_gift(questions).encode("utf-8")
    if fmt == "xlsx":
        return spreadsheet.write_workbook(spreadsheet.question_cells(q) for q in questions)
    raise ImportRejected(_("Unknown format %(f)s; use xlsx, csv, gift or aiken.", f=fmt))


def load_for_export(stmt) -> list[Question]:
    return list(db.session.scalars(stmt.options(
        selectinload(Question.current), selectinload(Question.tags), selectinload(Question.category),
        selectinload(Question.law))).unique())



def benchmark_workbook(n: int = 10_000) -> bytes:
    """An Excel file of ``n`` distinct questions of every type, for bench/question_import.py."""
    from question_bank.formats import spreadsheet

    def rows():
        laws = ["《中华人民共和国行政处罚法》第三十六条", "《中华人民共和国计量法》第九条", ""]
        for i in range(n):
            kind = i % 5
            base = ["", f"第{i}题：关于行政执法程序的规定，下列说法正确的是（ ）。", *[""] * 8, "", "解析", 1 + i % 5,
                    "公共法律知识/行政处罚", "程序、期限", laws[i % 3], "", ""]
            if kind == 0:
                base[0], base[2:6], base[10] = "单选题", [f"甲{i}", f"乙{i}", f"丙{i}", f"丁{i}"], "B"
            elif kind == 1:
                base[0], base[2:6], base[10] = "多选题", [f"甲{i}", f"乙{i}", f"丙{i}", f"丁{i}"], "A、C"
            elif kind == 2:
                base[0], base[10] = "判断题", "正确"
            elif kind == 3:
                base[0], base[10] = "填空题", "十五|15；两"
            else:
                base[0], base[10], base[15] = "案例分析题", "参考答案", "要点一（2分）"
            yield base

    return spreadsheet.write_workbook(rows())
