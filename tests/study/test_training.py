"""Training sessions: attendees picked or imported (all or nothing), the API for the OA system, hours by source."""

from __future__ import annotations

import io
from datetime import date
from decimal import Decimal

import pytest

from exam.extensions import db
from exam.study import hours
from exam.study.models import TrainingAttendance, TrainingSession
from tests.helpers import count_rows
from tests.study.samples import make_xlsx


@pytest.fixture
def staff(make_user):
    return {u: make_user(u, name=n) for u, n in (("A0001", "张伟"), ("A0002", "李娜"), ("A0003", "王强"))}


def _form(**extra):
    return {"title": "行政执法人员培训班", "kind": "session", "held_on": "2026-03-18", "hours": "6",
            "organiser": "法规科", **extra}


def test_an_excel_import_with_a_bad_row_stores_nothing_and_names_each_row(app, client, make_user, staff):
    client.login_as(make_user("hr1", roles=["hr"]))
    workbook = make_xlsx([["工号", "姓名"], ["A0001", "张伟"], ["A9999", "无名"], ["A0002", "王五"],
                          ["A0001", "张伟"], ["", "李四"]])
    response = client.post_form("/training/new", _form(attendance_file=(io.BytesIO(workbook), "名单.xlsx")),
                                content_type="multipart/form-data")
    text = response.get_data(as_text=True)
    assert response.status_code == 422
    assert 'data-row="3"' in text and "工号 A9999 不存在" in text
    assert 'data-row="4"' in text and "姓名“王五”与工号 A0002(李娜)不符" in text
    assert 'data-row="5"' in text and "与第2行重复" in text
    assert 'data-row="6"' in text and "工号为空" in text
    assert 'data-row="2"' not in text
    with app.app_context():
        assert count_rows(TrainingSession) == 0 and count_rows(TrainingAttendance) == 0


def test_a_clean_excel_import_and_picked_attendees_are_credited(app, client, make_user, staff):
    client.login_as(make_user("legal1", roles=["legal"]))
    workbook = make_xlsx([["姓名", "工号"], ["张伟", "A0001"], ["李娜", "A0002"]])
    response = client.post_form(
        "/training/new",
        _form(attendee_ids=[str(staff["A0003"].id), str(staff["A0001"].id)],
              attendance_file=(io.BytesIO(workbook), "名单.xlsx")),
        content_type="multipart/form-data",
    )
    assert response.status_code == 302
    with app.app_context():
        assert count_rows(TrainingAttendance) == 3  # A0001 picked and imported counts once
        totals = hours.training_hours([u.id for u in staff.values()], date(2026, 1, 1), date(2026, 12, 31))
        assert {t.by_source["training"] for t in totals.values()} == {Decimal("6")}
    detail = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "A0003" in detail and "王强" in detail


def test_a_spreadsheet_that_is_not_excel_is_refused(app, client, make_user, staff):
    client.login_as(make_user("hr1", roles=["hr"]))
    response = client.post_form("/training/new",
                                _form(attendance_file=(io.BytesIO(b"<html>1</html>"), "名单.xlsx")),
                                content_type="multipart/form-data")
    assert response.status_code == 422
    with app.app_context():
        assert count_rows(TrainingSession) == 0


def test_examinees_cannot_record_training(client, make_user):
    client.login_as(make_user("p1"))
    assert client.get("/training/new").status_code == 403
    assert client.write_json("POST", "/api/v1/training-sessions", {}).status_code == 403


def test_the_api_records_a_session_held_elsewhere(app, client, make_user, staff):
    client.login_as(make_user("hr1", roles=["hr"]))
    response = client.write_json("POST", "/api/v1/training-sessions", {
        "title": "依法行政专题讲座", "date": "2026-05-20", "hours": 2.5, "kind": "lecture",
        "attendees": ["A0001", "A0002"]})
    assert response.status_code == 201
    body = response.get_json()
    assert body["attendees"] == ["A0001", "A0002"] and body["hours"] == 2.5
    client.login_as(staff["A0001"])
    hours_body = client.get("/api/v1/people/A0001/training-hours?year=2026").get_json()
    assert hours_body["by_source"]["training"] == 2.5 and hours_body["total"] == 2.5
    assert client.get("/api/v1/people/A0001/training-hours?year=2025").get_json()["total"] == 0


def test_unknown_usernames_in_the_api_are_listed_and_nothing_is_stored(app, client, make_user, staff):
    client.login_as(make_user("legal1", roles=["legal"]))
    response = client.write_json("POST", "/api/v1/training-sessions", {
        "title": "讲座", "date": "2026-05-20", "hours": 2, "attendees": ["A0001", "X1", "X2"]})
    assert response.status_code == 422
    error = response.get_json()["error"]
    assert error["details"] == {"attendees": ["X1", "X2"]} and "X1" in error["message"]
    with app.app_context():
        assert count_rows(TrainingSession) == 0 and count_rows(TrainingAttendance) == 0


def test_hours_combine_sources_in_a_fixed_number_of_queries(app, make_user, make_bulletin, staff):
    from sqlalchemy import event

    from exam.study import operations as ops

    bulletin_id = make_bulletin(hours=Decimal("2"))
    with app.test_request_context():
        from exam.accounts.models import User
        from exam.study.models import Bulletin

        bulletin = db.session.get(Bulletin, bulletin_id)
        people = [db.session.get(User, u.id) for u in staff.values()]
        ops.confirm_bulletin(bulletin, people[0])
        ops.create_training_session(ops.SessionData(title="培训", held_on=date.today(), hours=Decimal("3")),
                                    people[:2], by=None)
        db.session.commit()
        many = [u.id for u in people] + list(range(100_000, 100_050))
        statements = []

        def count(*args):
            statements.append(args[2])

        event.listen(db.engine, "before_cursor_execute", count)
        today = date.today()
        result = hours.training_hours(many, date(today.year, 1, 1), date(today.year, 12, 31))
        event.remove(db.engine, "before_cursor_execute", count)
        # bulletins, training sessions, exams taken, and the hours-per-exam setting: whatever the number of people
        assert len(statements) == 4, statements
        assert result[people[0].id].by_source == {"bulletins": Decimal("2"), "training": Decimal("3"),
                                                  "exams": Decimal("0")}
        assert result[people[0].id].total == Decimal("5")
        assert result[people[2].id].total == Decimal("0")
        assert result[100_000].total == Decimal("0")


def test_hours_per_person_export_lists_each_source(app, client, make_user, staff):
    client.login_as(make_user("hr1", roles=["hr"]))
    client.write_json("POST", "/api/v1/training-sessions", {
        "title": "讲座", "date": "2026-05-20", "hours": 4, "attendees": ["A0002"]})
    response = client.get("/training/hours.xlsx?year=2026")
    assert response.status_code == 200
    from openpyxl import load_workbook

    rows = list(load_workbook(io.BytesIO(response.data)).active.iter_rows(values_only=True))
    assert rows[0][:7] == ("工号", "姓名", "部门", "学法材料", "培训讲座", "考试", "合计")
    by_user = {r[0]: r for r in rows[1:]}
    assert by_user["A0002"][4] == 4 and by_user["A0002"][6] == 4 and by_user["A0002"][8] == "否"
    assert by_user["A0001"][6] == 0
