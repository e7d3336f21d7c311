"""Every report table, built once and shown on the page, written to Excel and printed in the PDF.

A table is a title, columns (header and kind: text, int, num, pct) and rows of cells. A cell is a plain value
or a ``Link(text, url)``. Because the page, the workbook and the PDF all draw from these objects, their figures
cannot disagree.
"""

from __future__ import annotations

import io
from dataclasses import dataclass, field
from typing import Any

from flask import url_for
from flask_babel import gettext as _
from openpyxl import Workbook
from openpyxl.styles import Font
from openpyxl.utils import get_column_letter

from exam.certificates.models import STATUSES
from exam.reports.operations import FIGURE_TITLES, Compliance, training_attendance
from exam.reports.stats import ExamStats


@dataclass
class Link:
    text: Any
    url: str

    def __str__(self) -> str:
        return str(self.text)


@dataclass
class Table:
    key: str
    title: str
    columns: list[tuple[str, str]]
    rows: list[list[Any]] = field(default_factory=list)


def _yes_no(value: bool | None) -> str:
    if value is None:
        return ""
    return _("Yes") if value else _("No")


def _stem(text: str, limit: int = 60) -> str:
    text = " ".join((text or "").split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


# --- exam ----------------------------------------------------------------------------------------------------

def exam_tables(stats: ExamStats) -> list[Table]:
    f = stats.figures
    summary = Table("summary", _("Overview"), [(_("Figure"), "text"), (_("Value"), "num")], [
        [_("Assigned to sit"), f.assigned], [_("Took the exam"), f.took], [_("Number passed"), f.passed],
        [_("Absent"), f.absent], [_("Participation rate"), f.participation_rate],
        [_("Pass rate"), f.pass_rate], [_("Awaiting grading"), f.awaiting_grading],
        [_("Finished automatically"), f.auto_submitted], [_("Resat"), f.resat],
        [_("Still in progress"), stats.in_progress], [_("Took it from outside the audience"), len(stats.outside)],
        [_("Maximum score"), stats.max_score], [_("Mean score"), f.mean], [_("Median score"), stats.median],
        [_("Standard deviation"), f.stdev], [_("Highest score"), f.highest], [_("Lowest score"), f.lowest],
    ])
    summary.columns[1] = (_("Value"), "mixed")
    for row in summary.rows:  # rates as percentages, the rest as numbers
        row.append("pct" if row[0] in (_("Participation rate"), _("Pass rate")) else "num")
    departments = Table("departments", _("By department"), [
        (_("Department"), "text"), (_("Assigned to sit"), "int"), (_("Took the exam"), "int"),
        (_("Number passed"), "int"),
        (_("Absent"), "int"), (_("Participation rate"), "pct"), (_("Pass rate"), "pct"), (_("Mean score"), "num"),
        (_("Standard deviation"), "num"), (_("Highest score"), "num"), (_("Lowest score"), "num")],
        [[d.department or _("No department"), d.assigned, d.took, d.passed, d.absent, d.participation_rate,
          d.pass_rate, d.mean, d.stdev, d.highest, d.lowest] for d in stats.departments])
    bands = Table("bands", _("Grade bands"), [(_("Band"), "text"), (_("People"), "int")],
                  [[name, n] for name, n in stats.bands])
    histogram = Table("histogram", _("Score distribution"), [(_("Score (percent of the maximum)"), "text"),
                                                              (_("People"), "int")],
                      [[label, n] for label, n in stats.histogram])
    absent = Table("absent", _("Absent"), [(_("Staff number"), "text"), (_("Name"), "text"),
                                           (_("Department"), "text"), (_("Note"), "text")],
                   [[p.username, p.name, p.department, _("Attempt still in progress") if p.in_progress else ""]
                    for p in stats.absent])
    outside = Table("outside", _("Took it from outside the audience"), [
        (_("Staff number"), "text"), (_("Name"), "text"), (_("Department"), "text"),
        (_("Employment status"), "text"), (_("Score"), "num"), (_("Number passed"), "text")],
        [[p.username, p.name, p.department, _employment(p.employment_status), p.score, _yes_no(p.passed)]
         for p in stats.outside])
    tables = [summary, departments, bands, histogram, absent, outside]
    if stats.items is not None:
        tables.append(item_table(stats))
    return tables


def _employment(status: str) -> str:
    from exam.accounts.models import EMPLOYMENT_STATUSES

    return str(EMPLOYMENT_STATUSES.get(status, status))


def item_table(stats: ExamStats) -> Table:
    rows = []
    for item in stats.items or []:
        choices = "；".join(f"{o.label}{'✓' if o.correct else ''} {_stem(o.text, 20)}: {o.count}" for o in item.options)
        flags = []
        if item.low_discrimination:
            flags.append(_("Low discrimination"))
        if item.distractor_beats_key:
            flags.append(_("A wrong option drew more than the right one"))
        rows.append([item.position, f"{_stem(item.stem)} (v{item.version_number})", item.type, item.responses,
                     item.facility, item.discrimination, choices, item.unanswered, "；".join(flags)])
    return Table("items", _("Item analysis"), [
        (_("Item no."), "int"), (_("Question"), "text"), (_("Type"), "text"), (_("Answers"), "int"),
        (_("Facility"), "num"), (_("Discrimination"), "num"), (_("Options chosen"), "text"),
        (_("Unanswered"), "int"), (_("Flag"), "text")], rows)


# --- trends --------------------------------------------------------------------------------------------------

def trend_tables(exams, years) -> list[Table]:
    per_year = Table("years", _("By year"), [
        (_("Year"), "text"), (_("Exams held"), "int"), (_("Assigned to sit"), "int"), (_("Took the exam"), "int"),
        (_("Number passed"), "int"), (_("Participation rate"), "pct"), (_("Pass rate"), "pct")],
        [[str(y.year), y.exams, y.assigned, y.took, y.passed, y.participation_rate, y.pass_rate] for y in years])
    per_exam = Table("exams", _("By exam"), [
        (_("Exam"), "text"), (_("Purpose"), "text"), (_("Year"), "text"), (_("Assigned to sit"), "int"),
        (_("Took the exam"), "int"), (_("Number passed"), "int"), (_("Participation rate"), "pct"),
        (_("Pass rate"), "pct"),
        (_("Mean score"), "num"), (_("Highest score"), "num"), (_("Lowest score"), "num")],
        [[Link(t.exam.title, url_for("reports.exam", exam_id=t.exam.id)), t.exam.purpose_label, str(t.year),
          t.figures.assigned, t.figures.took, t.figures.passed, t.figures.participation_rate, t.figures.pass_rate,
          t.figures.mean, t.figures.highest, t.figures.lowest] for t in exams])
    return [per_year, per_exam]


# --- compliance ----------------------------------------------------------------------------------------------

def compliance_tables(c: Compliance) -> list[Table]:
    statuses = list(STATUSES)
    columns = [(_("Department"), "text"), (_("Staff"), "int"), (_("Required bulletins"), "int"),
               (_("Confirmations"), "int"), (_("Confirmation rate"), "pct"), (_("Reached the hours"), "int"),
               (_("Hours total"), "num"), (_("Exams taken"), "int"), (_("Exam passes"), "int"),
               (_("Behind"), "int")] + [(_("Certificates: %(status)s", status=STATUSES[s]), "int") for s in statuses]
    rows = []
    for r in c.rows + [c.total]:
        name: Any = r.name
        if r is not c.total and r.has_children:
            name = Link(r.name, url_for("reports.compliance", year=c.year, department=r.department_id))
        rows.append([name, r.staff, r.required_bulletins, r.confirmed_bulletins, r.bulletin_rate, r.hours_met,
                     r.hours_total, r.exams_taken, r.exams_passed, r.behind]
                    + [r.certificates.get(s, 0) for s in statuses])
    departments = Table("departments", _("Compliance by department"), columns, rows)
    behind = Table("behind", _("Who is behind"), [
        (_("Staff number"), "text"), (_("Name"), "text"), (_("Department"), "text"), (_("Hours"), "num"),
        (_("Bulletins confirmed"), "text"), (_("What is missing"), "text")],
        [[p.user.username, p.user.name, p.user.department.path if p.user.department else "", p.hours,
          f"{p.confirmed_bulletins}/{p.required_bulletins}", "；".join(reasons)] for p, reasons in c.behind])
    return [departments, behind]


# --- annual figures ------------------------------------------------------------------------------------------

def annual_table(year: int, figures) -> Table:
    return Table("annual", _("Annual figures %(year)s", year=year), [
        (_("Figure"), "text"), (_("Value"), "int"), (_("Participation rate"), "pct"), (_("Pass rate"), "pct"),
        (_("As worded in the report"), "text")],
        [[Link(f.title, url_for("reports.annual_records", year=year, key=f.key)), f.value, f.participation_rate,
          f.pass_rate, f.text] for f in figures])


def records_table(year: int, key: str, records, exam_figures=None) -> Table:
    title = f"{year} · {FIGURE_TITLES[key]}"
    if key in ("law_exams", "qualifying_exams"):
        figures = exam_figures or {}
        return Table(key, title, [
            (_("Exam"), "text"), (_("Purpose"), "text"), (_("Opens"), "text"), (_("Assigned to sit"), "int"),
            (_("Took the exam"), "int"), (_("Number passed"), "int"), (_("Participation rate"), "pct"),
            (_("Pass rate"), "pct")],
            [[Link(e.title, url_for("reports.exam", exam_id=e.id)), e.purpose_label, _local(e.opens_at),
              figures[e.id].assigned, figures[e.id].took, figures[e.id].passed, figures[e.id].participation_rate,
              figures[e.id].pass_rate] for e in records])
    if key == "bulletins":
        return Table(key, title, [(_("Issue"), "text"), (_("Title"), "text"), (_("Published on"), "text")],
                     [[Link(b.issue_label, url_for("study.read", bulletin_id=b.id)) if _has("study.read")
                       else b.issue_label, b.title, _local(b.published_at)] for b in records])
    if key in ("training", "lectures"):
        counts = training_attendance([s.id for s in records])
        return Table(key, title, [(_("Title"), "text"), (_("Held on"), "text"), (_("Hours"), "num"),
                                  (_("Attendance"), "int")],
                     [[s.title, s.held_on.isoformat(), s.hours, counts.get(s.id, 0)] for s in records])
    return Table(key, title, [(_("Certificate number"), "text"), (_("Staff number"), "text"), (_("Name"), "text"),
                              (_("Enforcement category"), "text"), (_("Issued on"), "text"), (_("Valid until"), "text"),
                              (_("Status"), "text")],
                 [[c.number, c.holder.username, c.holder.name, c.category.name, c.issued_on.isoformat(),
                   c.valid_until.isoformat(), c.status_label] for c in records])


def _has(endpoint: str) -> bool:
    from flask import current_app

    return endpoint in current_app.view_functions


def _local(value) -> str:
    from exam.core.timeutil import to_local

    return to_local(value).strftime("%Y-%m-%d %H:%M") if value else ""


# --- Excel ---------------------------------------------------------------------------------------------------

def _plain(value):
    if isinstance(value, Link):
        return value.text
    if hasattr(value, "as_tuple"):  # Decimal
        return float(value)
    return value


def workbook(tables: list[Table]) -> bytes:
    book = Workbook()
    book.remove(book.active)
    used: set[str] = set()
    for table in tables:
        name = "".join(ch for ch in table.title if ch not in "[]:*?/\\")[:28] or table.key
        while name in used:
            name = name[:26] + "_"
        used.add(name)
        sheet = book.create_sheet(name)
        sheet.append([header for header, _kind in table.columns])
        for cell in sheet[1]:
            cell.font = Font(bold=True)
        for row in table.rows:
            kinds = [kind for _header, kind in table.columns]
            if kinds[-1] == "mixed":
                kinds = kinds[:-1] + [row[-1]]
                row = row[:-1]
            sheet.append([_plain(v) for v in row])
            for index, kind in enumerate(kinds, start=1):
                if kind == "pct":
                    sheet.cell(sheet.max_row, index).number_format = "0.0%"
        for index, (header, _kind) in enumerate(table.columns, start=1):
            sheet.column_dimensions[get_column_letter(index)].width = max(10, min(60, len(str(header)) * 2 + 4))
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()
