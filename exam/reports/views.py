"""Report pages for the legal department and HR: trends, one exam, compliance, annual figures; Excel and PDF."""

from __future__ import annotations

from flask import Response, abort, render_template, request
from flask_babel import gettext as _

from exam.core.access import roles_required
from exam.core.pdf import render_pdf
from exam.core.timeutil import local_today, utcnow
from exam.reports import bp, charts, tables
from exam.reports import operations as ops
from exam.reports import stats as st
from exam.study.audience import parent_map

PRINT_CSS = "css/reports-print.css"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _download(body: bytes, filename: str, mimetype: str) -> Response:
    from urllib.parse import quote

    response = Response(body, mimetype=mimetype)
    response.headers["Content-Disposition"] = f"attachment; filename*=UTF-8''{quote(filename)}"
    return response


def _year_arg() -> int:
    value = request.args.get("year")
    if not value:
        return local_today().year
    try:
        return ops.check_year(value)
    except ValueError:
        abort(400, ops.year_message())


def _path_year(year: int) -> int:
    try:
        return ops.check_year(year)
    except ValueError:
        abort(404)


def _department_arg() -> int | None:
    value = request.args.get("department")
    if not value:
        return None
    try:
        return int(value)
    except ValueError:
        abort(400, _("Unknown department."))


# --- trends ------------------------------------------------------------------------------------------------

def _trends():
    exams, years = ops.trends()
    chronological = list(reversed(exams))
    chart = charts.rates([f"{t.year} {t.exam.title}"[:24] for t in chronological],
                         [t.figures.participation_rate for t in chronological],
                         [t.figures.pass_rate for t in chronological]) if exams else None
    return tables.trend_tables(exams, years), chart


@bp.route("/reports")
@roles_required("legal", "hr")
def index():
    report_tables, chart = _trends()
    return render_template("reports/index.html", tables=report_tables,
                           chart=charts.data_uri(chart) if chart else None, year=local_today().year)


@bp.route("/reports/export.xlsx")
@roles_required("legal", "hr")
def index_export():
    report_tables, _chart = _trends()
    return _download(tables.workbook(report_tables), "考试趋势.xlsx", XLSX)


# --- one exam ----------------------------------------------------------------------------------------------

def _exam_report(exam_id: int):
    exam = ops.get_exam(exam_id)
    stats = st.exam_stats(exam)
    pictures = {
        "histogram": charts.data_uri(charts.histogram([label for label, _n in stats.histogram],
                                                      [n for _label, n in stats.histogram])),
        "bands": charts.data_uri(charts.bands(stats.bands)),
    }
    return exam, stats, tables.exam_tables(stats), pictures


@bp.route("/reports/exams/<int:exam_id>")
@roles_required("legal", "hr")
def exam(exam_id: int):
    exam, stats, report_tables, pictures = _exam_report(exam_id)
    return render_template("reports/exam.html", exam=exam, stats=stats, tables=report_tables, charts=pictures)


@bp.route("/reports/exams/<int:exam_id>/report.xlsx")
@roles_required("legal", "hr")
def exam_export(exam_id: int):
    exam, _stats, report_tables, _pictures = _exam_report(exam_id)
    return _download(tables.workbook(report_tables), f"{exam.title}-统计.xlsx", XLSX)


@bp.route("/reports/exams/<int:exam_id>/report.pdf")
@roles_required("legal", "hr")
def exam_pdf(exam_id: int):
    exam, stats, report_tables, pictures = _exam_report(exam_id)
    html = render_template("reports/pdf_exam.html", exam=exam, stats=stats, tables=report_tables, charts=pictures,
                           printed_at=utcnow())
    return _download(render_pdf(html, stylesheets=[PRINT_CSS]), f"{exam.title}-统计.pdf", "application/pdf")


# --- compliance --------------------------------------------------------------------------------------------

def _compliance():
    return ops.compliance(_year_arg(), _department_arg())


@bp.route("/reports/compliance")
@roles_required("legal", "hr")
def compliance():
    result = _compliance()
    return render_template("reports/compliance.html", c=result, tables=tables.compliance_tables(result),
                           years=ops.years_available())


@bp.route("/reports/compliance/export.xlsx")
@roles_required("legal", "hr")
def compliance_export():
    result = _compliance()
    return _download(tables.workbook(tables.compliance_tables(result)), f"{result.year}年学法达标情况.xlsx", XLSX)


# --- annual figures ----------------------------------------------------------------------------------------

def _annual(year: int):
    figures = ops.annual_figures(year)
    return figures, tables.annual_table(year, figures)


@bp.route("/reports/annual")
@roles_required("legal", "hr")
def annual():
    year = _year_arg()
    figures, table = _annual(year)
    return render_template("reports/annual.html", year=year, figures=figures, table=table,
                           years=ops.years_available())


@bp.route("/reports/annual/export.xlsx")
@roles_required("legal", "hr")
def annual_export():
    year = _year_arg()
    _figures, table = _annual(year)
    return _download(tables.workbook([table]), f"{year}年度学法数据.xlsx", XLSX)


@bp.route("/reports/annual/report.pdf")
@roles_required("legal", "hr")
def annual_pdf():
    year = _year_arg()
    figures, table = _annual(year)
    html = render_template("reports/pdf_annual.html", year=year, figures=figures, table=table, printed_at=utcnow())
    return _download(render_pdf(html, stylesheets=[PRINT_CSS]), f"{year}年度学法数据.pdf", "application/pdf")


def _records(year: int, key: str):
    year = _path_year(year)
    if key not in ops.FIGURE_KEYS:
        abort(404)
    records = ops.figure_records(year, key)
    exam_figures = None
    if key in ("law_exams", "qualifying_exams"):
        parents = parent_map()
        exam_figures = {e.id: st.exam_figures(e, parents) for e in records}
    return tables.records_table(year, key, records, exam_figures)


@bp.route("/reports/annual/<int:year>/<key>")
@roles_required("legal", "hr")
def annual_records(year: int, key: str):
    table = _records(year, key)
    return render_template("reports/records.html", year=year, key=key, table=table)


@bp.route("/reports/annual/<int:year>/<key>/export.xlsx")
@roles_required("legal", "hr")
def annual_records_export(year: int, key: str):
    table = _records(year, key)
    return _download(tables.workbook([table]), f"{table.title}.xlsx", XLSX)
