from __future__ import annotations

import io

from openpyxl import Workbook, load_workbook

from exam.accounts.models import User
from exam.extensions import db
from tests.helpers import count_rows

HEADER = ["工号", "姓名", "部门", "职务", "人员状态", "是否领导干部", "角色"]


def roster(rows, header=HEADER) -> bytes:
    wb = Workbook()
    ws = wb.active
    ws.append(header)
    for row in rows:
        ws.append(row)
    buffer = io.BytesIO()
    wb.save(buffer)
    return buffer.getvalue()


def fifty_rows():
    return [[f"R{n:04d}", f"人员{n}", "稽查科", "科员", "在编在职", "否", ""] for n in range(1, 51)]


def upload(client, data: bytes, **extra):
    return client.post("/admin/roster", data={"csrf_token": client.csrf_token(),
                                              "file": (io.BytesIO(data), "名册.xlsx"), **extra},
                       content_type="multipart/form-data")


def test_roster_with_one_bad_row_among_fifty_imports_nothing_and_names_the_row(app, client, make_user):
    client.login_as(make_user(roles=["hr"]))
    rows = fifty_rows()
    rows[36][4] = "在岗休假"  # not a known status; Excel row 38 (header is row 1)
    with app.app_context():
        before = count_rows(User)
    response = upload(client, roster(rows))
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert "第38行" in html and "在岗休假" in html
    assert 'data-row="38"' in html
    with app.app_context():
        assert count_rows(User) == before


def test_every_bad_row_is_reported(app, client, make_user):
    client.login_as(make_user(roles=["hr"]))
    rows = fifty_rows()
    rows[0][0] = ""  # row 2: no staff number
    rows[9][2] = "不存在的科"  # row 11: unknown department
    rows[19][0] = "R0001"  # row 21: duplicate of row 2? (row 2 is empty now) -> duplicate of nothing
    rows[29][5] = "也许"  # row 31: bad leader flag
    rows[39][6] = "管理员"  # row 41: hr may not grant admin
    html = upload(client, roster(rows)).get_data(as_text=True)
    for number in (2, 11, 31, 41):
        assert f'data-row="{number}"' in html, number


def test_valid_roster_imports_and_reimport_updates_by_staff_number(app, client, make_user):
    client.login_as(make_user(roles=["hr"]))
    rows = fifty_rows()
    rows[0] = [1001, "  张 伟 ", "稽查科", "科员", "在编在职", "是", "法规科"]  # number stored as number
    response = upload(client, roster(rows))
    assert response.status_code == 200
    with app.app_context():
        user = db.session.query(User).filter_by(username="1001").one()
        assert user.name == "张 伟" and user.is_leader and user.roles == {"examinee", "legal"}
        assert user.must_change_password
    rows[0][4] = "退休"
    response = upload(client, roster(rows))
    assert "更新 1 人" in response.get_data(as_text=True)
    with app.app_context():
        assert db.session.query(User).filter_by(username="1001").one().employment_status == "retired"
        assert db.session.query(User).filter(User.username.like("R%")).count() == 49


def test_unknown_department_can_be_created_on_request(app, client, make_user):
    client.login_as(make_user(roles=["hr"]))
    data = roster([["D0001", "刘一", "市局/新成立科", "", "", "", ""]])
    assert upload(client, data).status_code == 422
    assert upload(client, data, create_departments="y").status_code == 200
    with app.app_context():
        assert db.session.query(User).filter_by(username="D0001").one().department.path == "市局 / 新成立科"


def test_file_that_is_not_excel_is_refused(client, make_user):
    client.login_as(make_user(roles=["hr"]))
    response = upload(client, b"<html><script>alert(1)</script></html>")
    assert response.status_code == 422
    assert "不是有效的 Excel" in response.get_data(as_text=True)


def test_template_has_the_chinese_headers(client, make_user):
    client.login_as(make_user(roles=["hr"]))
    response = client.get("/admin/roster/template.xlsx")
    ws = load_workbook(io.BytesIO(response.data)).active
    assert [c.value for c in ws[1]] == HEADER


def test_cli_import_reports_bad_rows_and_imports_nothing(app, tmp_path, make_user):
    make_user()  # creates 稽查科
    rows = fifty_rows()
    rows[4][1] = ""
    path = tmp_path / "roster.xlsx"
    path.write_bytes(roster(rows))
    result = app.test_cli_runner().invoke(args=["users", "import", str(path)])
    assert result.exit_code == 1
    assert "第6行" in result.output
    with app.app_context():
        assert db.session.query(User).filter(User.username.like("R%")).count() == 0
