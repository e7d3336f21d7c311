"""The exam report page, its Excel and PDF exports and the API agree with each other and with the raw rows."""

from __future__ import annotations

import io
import re

import pytest
from openpyxl import load_workbook

from exam.exams.models import Exam
from exam.extensions import db
from tests.reports import raw


def _sheet(book, title_start: str):
    for sheet in book.worksheets:
        if sheet.title.startswith(title_start):
            return sheet
    raise AssertionError(f"no sheet {title_start}: {book.sheetnames}")


def _summary_from_sheet(book) -> dict:
    return {row[0]: row[1] for row in _sheet(book, "概况").iter_rows(min_row=2, values_only=True)}


@pytest.mark.parametrize("role", ["legal", "hr"])
def test_exam_page_excel_and_api_agree_with_the_raw_rows(app, client, make_user, scenario, role):
    viewer = make_user(roles=(role,), department=None)
    client.login_as(viewer)
    with app.app_context():
        expected = raw.figures(db.session.get(Exam, scenario.exam_id))

    page = client.get(f"/reports/exams/{scenario.exam_id}")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert 'src="data:image/svg+xml;base64,' in html
    summary = dict(re.findall(r"<tr>\s*<td>([^<]+)</td>\s*<td class=\"num\" data-value=\"([^\"]*)\"", html))
    assert int(summary["应参考人数"]) == expected["assigned"]
    assert int(summary["实际参考人数"]) == expected["took"]
    assert int(summary["合格人数"]) == expected["passed"]
    assert float(summary["参考率"]) == pytest.approx(expected["participation_rate"])
    assert float(summary["合格率"]) == pytest.approx(expected["pass_rate"])
    assert float(summary["中位数"]) == pytest.approx(expected["median"])
    for key in ("a4", "a5", "outsider", "retired"):
        assert f"姓名{key}" in html
    assert "姓名gone" not in html

    export = client.get(f"/reports/exams/{scenario.exam_id}/report.xlsx")
    assert export.status_code == 200
    book = load_workbook(io.BytesIO(export.data))
    sheet_summary = _summary_from_sheet(book)
    assert sheet_summary["应参考人数"] == expected["assigned"]
    assert sheet_summary["实际参考人数"] == expected["took"]
    assert sheet_summary["合格人数"] == expected["passed"]
    assert sheet_summary["参考率"] == pytest.approx(expected["participation_rate"])
    assert sheet_summary["平均分"] == pytest.approx(expected["mean"])
    assert sheet_summary["标准差"] == pytest.approx(expected["stdev"])
    absent_names = {row[1] for row in _sheet(book, "缺考").iter_rows(min_row=2, values_only=True)}
    assert absent_names == {"姓名a4", "姓名a5"}
    outside_names = {row[1] for row in _sheet(book, "非考试对象").iter_rows(min_row=2, values_only=True)}
    assert outside_names == {"姓名outsider", "姓名retired"}

    api = client.get(f"/api/v1/exams/{scenario.exam_id}/stats")
    assert api.status_code == 200
    data = api.get_json()
    assert data["figures"]["assigned"] == expected["assigned"] == sheet_summary["应参考人数"]
    assert data["figures"]["took"] == expected["took"]
    assert data["figures"]["passed"] == expected["passed"]
    assert data["figures"]["participation_rate"] == pytest.approx(expected["participation_rate"])
    assert data["figures"]["pass_rate"] == pytest.approx(expected["pass_rate"])
    assert data["median"] == pytest.approx(expected["median"])
    assert data["figures"]["auto_submitted"] == 1 and data["figures"]["resat"] == 1
    assert sorted(p["id"] for p in data["absent"]) == expected["absent"]
    assert sorted(p["id"] for p in data["outside"]) == expected["outside"]
    assert len(data["items"]) == 8

    pdf = client.get(f"/reports/exams/{scenario.exam_id}/report.pdf")
    assert pdf.status_code == 200 and pdf.data.startswith(b"%PDF")


def test_examinee_and_admin_cannot_read_reports(client, make_user, scenario):
    for roles in ((), ("admin",)):
        client.login_as(make_user(roles=roles))
        assert client.get(f"/reports/exams/{scenario.exam_id}").status_code == 403
        assert client.get(f"/api/v1/exams/{scenario.exam_id}/stats").status_code == 403
        assert client.get("/reports").status_code == 403


def test_unknown_exam_and_bad_year_are_clear_errors(client, make_user):
    client.login_as(make_user(roles=("legal",)))
    assert client.get("/reports/exams/987654").status_code == 404
    assert client.get("/api/v1/exams/987654/stats").status_code == 404
    assert client.get("/reports/annual?year=abc").status_code == 400
    assert client.get("/api/v1/reports/annual?year=abc").status_code == 422
    assert client.get("/reports/annual/2026/no-such-thing").status_code == 404


def test_index_and_compliance_pages_render_with_the_exam(client, make_user, scenario):
    client.login_as(make_user(roles=("hr",)))
    index = client.get("/reports")
    assert index.status_code == 200 and "2026年度学法考试" in index.get_data(as_text=True)
    assert client.get("/reports/export.xlsx").status_code == 200
    page = client.get("/reports/compliance")
    assert page.status_code == 200
    assert "执法局" in page.get_data(as_text=True)
    assert client.get("/reports/compliance/export.xlsx").status_code == 200


def test_the_page_and_the_pdf_embed_the_same_charts(client, make_user, scenario, monkeypatch):
    from exam.reports import views

    captured = {}

    def fake_render_pdf(html, **kwargs):
        captured["html"] = html
        return b"%PDF-1.7 captured"

    monkeypatch.setattr(views, "render_pdf", fake_render_pdf)
    client.login_as(make_user(roles=("legal",)))
    page = client.get(f"/reports/exams/{scenario.exam_id}").get_data(as_text=True)
    assert client.get(f"/reports/exams/{scenario.exam_id}/report.pdf").status_code == 200
    pattern = re.compile(r'src="(data:image/svg\+xml;base64,[^"]+)"')
    on_page, in_pdf = pattern.findall(page), pattern.findall(captured["html"])
    assert len(on_page) == 2 and on_page == in_pdf
    import base64

    svg = base64.b64decode(on_page[0].split(",", 1)[1]).decode("utf-8")
    assert "成绩分布" in svg and "<script" not in svg
