"""A bulletin goes from upload to the assigned people's lists, is read and confirmed, and its hours count."""

from __future__ import annotations

import io
from datetime import date, timedelta
from decimal import Decimal

from sqlalchemy import select

from exam.core.timeutil import local_today
from exam.extensions import db
from exam.study import hours
from exam.study.models import Bulletin, ReadReceipt
from tests.helpers import count_rows
from tests.study.samples import MINIMAL_PDF


def _department_id(app, path):
    from exam.accounts.operations import ensure_department

    with app.app_context():
        dept = ensure_department(path)
        db.session.commit()
        return dept.id


def test_upload_to_list_to_read_to_confirm_to_yearly_hours_through_the_pages(app, client, make_user):
    legal = make_user("legal1", roles=["legal"], department="市局/法规科")
    reader = make_user("r1", department="市局/东城分局/执法一队")
    other = make_user("o1", department="市局/计量科")
    branch = _department_id(app, "市局/东城分局")
    client.login_as(legal)
    form = {"year": "2026", "number": "", "title": "电梯安全监管要点", "summary": "维保单位义务",
            "body_format": "markdown", "body_source": "## 要点\n\n电梯维保每十五日一次。", "audience": "departments",
            "department_ids": str(branch), "required_by": (date.today() + timedelta(days=10)).isoformat(),
            "hours": "2.5", "original": (io.BytesIO(MINIMAL_PDF), "电梯安全.pdf")}
    response = client.post_form("/study/manage/new", form, content_type="multipart/form-data")
    assert response.status_code == 302
    with app.app_context():
        bulletin = db.session.scalar(select(Bulletin))
        bulletin_id, label = bulletin.id, bulletin.issue_label
        assert label == "2026年第1期" and bulletin.status == "draft"
    client.login_as(reader)
    assert "电梯安全监管要点" not in client.get("/study").get_data(as_text=True)  # drafts are not sent
    client.login_as(legal)
    assert client.post_form(f"/study/manage/{bulletin_id}/publish").status_code == 302

    client.login_as(other)
    assert "电梯安全监管要点" not in client.get("/study").get_data(as_text=True)

    client.login_as(reader)
    listing = client.get("/study").get_data(as_text=True)
    assert "电梯安全监管要点" in listing and "未读" in listing and "必学" in listing
    page = client.get(f"/study/{bulletin_id}")
    text = page.get_data(as_text=True)
    assert page.status_code == 200 and "我已学习" in text and "<h2>要点</h2>" in text
    assert "未读" not in client.get("/study").get_data(as_text=True)
    assert client.post_form(f"/study/{bulletin_id}/confirm").status_code == 302
    assert "已于" in client.get(f"/study/{bulletin_id}").get_data(as_text=True)

    with app.app_context():
        receipt = db.session.scalar(select(ReadReceipt))
        assert receipt.first_opened_at is not None and receipt.confirmed_at is not None
        assert receipt.hours_credited == Decimal("2.5")
        year = local_today().year
        total = hours.hours_for_year([reader.id], year)[reader.id]
        assert total.by_source["bulletins"] == Decimal("2.5") and total.total == Decimal("2.5")

    client.login_as(legal)
    readers = client.get(f"/study/manage/{bulletin_id}/readers").get_data(as_text=True)
    assert "东城分局" in readers and "r1" in readers
    export = client.get(f"/study/manage/{bulletin_id}/readers.xlsx")
    assert export.status_code == 200 and export.data[:2] == b"PK"
    hours_page = client.get(f"/training/hours?year={year}").get_data(as_text=True)
    assert 'data-user="r1"' in hours_page and "2.5" in hours_page


def test_the_same_flow_through_the_api(app, client, make_user, make_bulletin):
    bulletin_id = make_bulletin("行政复议法修订要点", hours=Decimal("3"))
    person = make_user("p1")
    client.login_as(person)
    listing = client.get("/api/v1/bulletins").get_json()
    assert [(b["id"], b["read"], b["confirmed"]) for b in listing] == [(bulletin_id, False, False)]
    detail = client.get(f"/api/v1/bulletins/{bulletin_id}").get_json()
    assert detail["title"] == "行政复议法修订要点" and detail["read"] is True
    first = client.write_json("POST", f"/api/v1/bulletins/{bulletin_id}/confirm")
    assert first.status_code == 200 and first.get_json()["newly_confirmed"] is True
    second = client.write_json("POST", f"/api/v1/bulletins/{bulletin_id}/confirm")
    assert second.get_json()["newly_confirmed"] is False
    assert second.get_json()["confirmed_at"] == first.get_json()["confirmed_at"]
    assert client.get("/api/v1/bulletins").get_json()[0]["confirmed"] is True
    with app.app_context():
        year = local_today().year
    body = client.get(f"/api/v1/people/p1/training-hours?year={year}").get_json()
    assert body == {"username": "p1", "year": year, "required": 40, "total": 3,
                    "by_source": {"bulletins": 3, "training": 0, "exams": 0}}


def test_confirming_twice_through_the_pages_credits_once(app, client, make_user, make_bulletin):
    bulletin_id = make_bulletin(hours=Decimal("2"))
    person = make_user("p1")
    client.login_as(person)
    client.post_form(f"/study/{bulletin_id}/confirm")
    response = client.post_form(f"/study/{bulletin_id}/confirm", follow_redirects=True)
    assert "只计一次" in response.get_data(as_text=True)
    with app.app_context():
        assert count_rows(ReadReceipt) == 1
        assert hours.hours_for_year([person.id], local_today().year)[person.id].total == Decimal("2")


def test_confirming_twice_in_operations_credits_once(app, make_user, make_bulletin):
    from exam.accounts.models import User
    from exam.study import operations as ops

    bulletin_id = make_bulletin(hours=Decimal("1.5"))
    user_id = make_user("p1").id
    with app.test_request_context():
        user, bulletin = db.session.get(User, user_id), db.session.get(Bulletin, bulletin_id)
        _r, first = ops.confirm_bulletin(bulletin, user)
        _r, again = ops.confirm_bulletin(bulletin, user)
        db.session.commit()
        assert (first, again) == (True, False)
        assert hours.hours_for_year([user_id], local_today().year)[user_id].total == Decimal("1.5")


def test_editing_a_published_bulletin_keeps_confirmations(app, client, make_user, make_bulletin):
    bulletin_id = make_bulletin("原标题", hours=Decimal("2"))
    person = make_user("p1")
    client.login_as(person)
    client.post_form(f"/study/{bulletin_id}/confirm")
    client.login_as(make_user("legal1", roles=["legal"]))
    form = {"year": "2026", "number": "1", "title": "新标题", "body_format": "markdown", "body_source": "改",
            "audience": "all", "hours": "4"}
    assert client.post_form(f"/study/manage/{bulletin_id}/edit", form).status_code == 302
    with app.app_context():
        bulletin = db.session.get(Bulletin, bulletin_id)
        assert bulletin.title == "新标题" and bulletin.status == "published"
        receipt = db.session.scalar(select(ReadReceipt))
        assert receipt.confirmed_at is not None and receipt.hours_credited == Decimal("2")


def test_withdrawn_bulletins_leave_the_lists_and_cannot_be_confirmed(app, client, make_user, make_bulletin):
    bulletin_id = make_bulletin("将撤回")
    client.login_as(make_user("legal1", roles=["legal"]))
    client.post_form(f"/study/manage/{bulletin_id}/withdraw")
    client.login_as(make_user("p1"))
    assert "将撤回" not in client.get("/study").get_data(as_text=True)
    assert client.write_json("POST", f"/api/v1/bulletins/{bulletin_id}/confirm").status_code == 404
    assert client.get(f"/api/v1/bulletins/{bulletin_id}").status_code == 404


def test_issue_numbers_are_suggested_and_unique_per_year(app, make_bulletin):
    from exam.study import operations as ops

    make_bulletin("一", year=2026)
    make_bulletin("二", year=2026)
    make_bulletin("别年", year=2025)
    with app.test_request_context():
        assert ops.suggest_number(2026) == 3 and ops.suggest_number(2025) == 2 and ops.suggest_number(2024) == 1
        labels = sorted(b.issue_label for b in db.session.scalars(select(Bulletin)))
        assert labels == ["2025年第1期", "2026年第1期", "2026年第2期"]


def test_hours_api_is_for_the_person_legal_and_hr_only(app, client, make_user):
    make_user("p1")
    make_user("p2")
    client.login_as(make_user("p3"))
    assert client.get("/api/v1/people/p1/training-hours").status_code == 404
    for role in ("legal", "hr"):
        client.login_as(make_user(f"{role}1", roles=[role]))
        response = client.get("/api/v1/people/p1/training-hours?year=2026")
        assert response.status_code == 200 and response.get_json()["required"] == 40


def test_the_annual_requirement_is_a_setting(app, client, make_user):
    app.config["STUDY_REQUIRED_HOURS"] = 32
    client.login_as(make_user("p1"))
    assert client.get("/api/v1/people/p1/training-hours").get_json()["required"] == 32


def test_unconfirmed_required_bulletins_lists_what_is_due_and_unconfirmed(app, make_user, make_bulletin):
    from exam.accounts.models import User
    from exam.study import operations as ops

    today = date(2026, 6, 1)
    due = make_bulletin("已到期", required_by=date(2026, 5, 1))
    make_bulletin("未到期", required_by=date(2026, 7, 1))
    make_bulletin("不必学")
    confirmed = make_bulletin("已确认", required_by=date(2026, 5, 1))
    a, b = make_user("a1").id, make_user("b1").id
    with app.test_request_context():
        ops.confirm_bulletin(db.session.get(Bulletin, confirmed), db.session.get(User, a))
        db.session.commit()
        result = hours.unconfirmed_required_bulletins([a, b], today)
        assert [x.id for x in result[a]] == [due]
        assert sorted(x.id for x in result[b]) == sorted([due, confirmed])


def test_only_an_unread_draft_can_be_deleted_and_its_file_goes_with_it(app, client, make_user, make_bulletin,
                                                                        upload_dir):
    from tests.study.samples import stored_files

    client.login_as(make_user("legal1", roles=["legal"]))
    form = {"year": "2026", "title": "草稿", "body_format": "markdown", "audience": "all", "hours": "1",
            "original": (io.BytesIO(MINIMAL_PDF), "稿.pdf")}
    client.post_form("/study/manage/new", form, content_type="multipart/form-data")
    published = make_bulletin("已发布")
    with app.app_context():
        draft = db.session.scalar(select(Bulletin).where(Bulletin.title == "草稿")).id
    assert len(stored_files(upload_dir)) == 1
    client.post_form(f"/study/manage/{published}/delete")
    client.post_form(f"/study/manage/{draft}/delete")
    with app.app_context():
        assert [b.title for b in db.session.scalars(select(Bulletin))] == ["已发布"]
    assert stored_files(upload_dir) == []


def test_two_confirmations_at_the_same_moment_credit_once(app, make_user, make_bulletin):
    import threading

    from exam.accounts.models import User
    from exam.study import operations as ops

    bulletin_id = make_bulletin(hours=Decimal("2"))
    user_id = make_user("p1").id
    barrier = threading.Barrier(2)
    outcomes, errors = [], []

    def confirm():
        try:
            with app.app_context():
                barrier.wait(timeout=10)  # before any query: on SQLite the first query takes the write lock
                user, bulletin = db.session.get(User, user_id), db.session.get(Bulletin, bulletin_id)
                _receipt, newly = ops.confirm_bulletin(bulletin, user)
                db.session.commit()
                outcomes.append(newly)
        except Exception as exc:  # reported below
            errors.append(repr(exc))

    threads = [threading.Thread(target=confirm) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    assert not errors, errors
    assert sorted(outcomes) == [False, True]
    with app.app_context():
        assert count_rows(ReadReceipt) == 1
        assert hours.hours_for_year([user_id], local_today().year)[user_id].total == Decimal("2")
