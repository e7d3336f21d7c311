from __future__ import annotations

import re

from exam.certificates import operations as ops
from exam.certificates.models import Certificate, EnforcementCategory, PrintedList
from exam.extensions import db
from tests.helpers import count_rows


def _issue(app, fake_sources, make_user, category, username="V0001", name="李执法"):
    user = make_user(username, name=name)
    fake_sources.pass_exam(user)
    fake_sources.hours[user.id] = 40
    with app.test_request_context(method="POST"):
        from exam.accounts.models import User

        cert = ops.issue_certificate(db.session.get(User, user.id), db.session.get(EnforcementCategory, category))
        db.session.commit()
        return cert.id, cert.number, cert.verification_token


def test_public_verification_by_token_shows_status_and_changes_at_once(app, client, make_user, fake_sources,
                                                                       category):
    cert_id, number, token = _issue(app, fake_sources, make_user, category)
    html = client.get(f"/verify/{token}").get_data(as_text=True)
    assert "该执法证有效" in html and number in html and "李执法" in html
    assert "V0001" not in html  # the staff number is private
    hr = make_user("V0900", roles=["hr"])
    client.login_as(hr)
    response = client.post_form(f"/certificates/{cert_id}/status",
                                {"status": "suspended", "reason": "暂扣待查", "effective_on": "2026-11-01"})
    assert response.status_code == 302
    client.post_form("/logout")
    html = client.get(f"/verify/{token}").get_data(as_text=True)
    assert "该执法证无效" in html and "暂扣" in html


def test_unknown_token_and_number_are_404_without_detail(client):
    assert client.get("/verify/" + "x" * 32).status_code == 404
    response = client.post_form("/verify", {"number": "NOPE"})
    assert response.status_code == 404
    assert "未找到对应的执法证" in response.get_data(as_text=True)


def test_verification_is_rate_limited(app, client):
    app.config["VERIFY_RATE_LIMIT"] = "3 per minute"
    codes = [client.get(f"/verify/guess{n}").status_code for n in range(5)]
    assert codes[:3] == [404, 404, 404] and codes[3:] == [429, 429]


def test_public_officer_list_shows_valid_holders_by_department(app, client, make_user, fake_sources, category):
    _issue(app, fake_sources, make_user, category, "V0002", "王公示")
    html = client.get("/officers").get_data(as_text=True)
    assert "王公示" in html and "稽查科" in html and "V0002" not in html


def test_hr_checks_a_batch_and_issues_to_the_eligible_only(app, client, make_user, fake_sources, category):
    good = make_user("V0010", name="合格者")
    fake_sources.pass_exam(good)
    fake_sources.hours[good.id] = 45
    bad = make_user("V0011", name="未合格")
    fake_sources.hours[bad.id] = 10
    client.login_as(make_user("V0901", roles=["hr"]))
    html = client.post_form("/certificates/apply", {"category_id": category, "department_id": 0,
                                                    "usernames": "V0010\nV0011"}).get_data(as_text=True)
    assert 'data-user="V0010"' in html and "学时不足 10/40" in html
    response = client.post_form("/certificates/issue", {"category_id": category, "user_id": [good.id, bad.id],
                                                        "area": "全市", "source_of_power": "授权"})
    html = response.get_data(as_text=True)
    assert "已发放执法证 1 本" in html and "未合格" in html
    with app.app_context():
        assert [c.holder_id for c in db.session.query(Certificate)] == [good.id]


def test_api_issue_refuses_with_reasons_then_issues(app, client, make_user, fake_sources, category):
    person = make_user("V0020")
    hr = make_user("V0902", roles=["hr"])
    client.login_as(hr)
    body = {"username": "V0020", "category": "质量技术监督"}
    response = client.write_json("POST", "/api/v1/certificates", body)
    assert response.status_code == 422
    codes = {d["code"] for d in response.get_json()["error"]["details"]}
    assert codes == {"no_passed_exam", "hours_short"}
    with app.app_context():
        assert count_rows(Certificate) == 0
    fake_sources.pass_exam(person)
    fake_sources.hours[person.id] = 40
    response = client.write_json("POST", "/api/v1/certificates", body)
    assert response.status_code == 201
    data = response.get_json()
    assert data["status"] == "valid" and data["number"].startswith("ZJ")
    assert "/verify/" in data["verification_url"] and data["attempts"] == [1]
    public = client.get(data["verification_url"].split("localhost")[-1].replace("/verify/", "/api/v1/verify/"))
    assert public.get_json()["valid"] is True and "username" not in public.get_json()


def test_eligibility_api_for_self_hr_and_not_for_other_examinees(app, client, make_user, fake_sources, category):
    me = make_user("V0030")
    other = make_user("V0031")
    client.login_as(me)
    response = client.get("/api/v1/people/V0030/eligibility?category=质量技术监督")
    assert response.status_code == 200 and response.get_json()["eligible"] is False
    assert client.get("/api/v1/people/V0031/eligibility?category=质量技术监督").status_code == 404
    assert other.username == "V0031"


def test_api_status_change_needs_a_known_status_and_reason(app, client, make_user, fake_sources, category):
    cert_id, _, _ = _issue(app, fake_sources, make_user, category)
    client.login_as(make_user("V0903", roles=["hr"]))
    assert client.write_json("POST", f"/api/v1/certificates/{cert_id}/status",
                             {"status": "burnt", "reason": "x"}).status_code == 422
    response = client.write_json("POST", f"/api/v1/certificates/{cert_id}/status",
                                 {"status": "revoked", "reason": "违法执法"})
    assert response.status_code == 200 and response.get_json()["status"] == "revoked"
    again = client.write_json("POST", f"/api/v1/certificates/{cert_id}/status",
                              {"status": "valid", "reason": "撤回"})
    assert again.status_code == 409


def test_holder_sees_own_certificate_and_what_is_missing(app, client, make_user, fake_sources, category):
    cert_id, number, _ = _issue(app, fake_sources, make_user, category, "V0040")
    with app.app_context():
        holder = db.session.get(Certificate, cert_id).holder
        db.session.expunge(holder)
    client.login_as(holder)
    html = client.get("/certificates/mine").get_data(as_text=True)
    assert number in html and 'data-status="valid"' in html
    assert "年度年审" in html


def test_printed_list_is_kept_and_reprints_the_same_rows(app, client, make_user, fake_sources, category):
    _issue(app, fake_sources, make_user, category, "V0050", "赵名单")
    client.login_as(make_user("V0904", roles=["hr"]))
    response = client.post_form("/certificates/lists", {"kind": "valid", "category_id": 0, "fmt": "xlsx"})
    assert response.status_code == 302
    serial = re.search(r"/certificates/lists/([^.]+)\.xlsx", response.headers["Location"]).group(1)
    first = client.get(f"/certificates/lists/{serial}.xlsx")
    _issue(app, fake_sources, make_user, category, "V0051", "钱新增")  # the list changes afterwards
    again = client.get(f"/certificates/lists/{serial}.xlsx")
    from io import BytesIO

    from openpyxl import load_workbook

    def rows(data):
        return [[c.value for c in r] for r in load_workbook(BytesIO(data)).active.iter_rows()]

    assert rows(first.data) == rows(again.data)
    assert any("赵名单" in str(r) for r in rows(first.data))
    assert not any("钱新增" in str(r) for r in rows(again.data))
    with app.app_context():
        printed = db.session.query(PrintedList).one()
        assert printed.rows_hash == ops.rows_hash(printed.columns, printed.rows)
        assert printed.printed_by_name


def test_admin_creates_a_category_with_two_required_exams(app, client, make_user):
    client.login_as(make_user("V0905", roles=["admin"]))
    response = client.post_form("/admin/certificate-categories", {
        "name": "特种设备安全监察", "code": "TS", "validity_years": 5, "default_area": "全市",
        "default_source_of_power": "《特种设备安全法》", "qualification_subjects": "公共法律知识、专业法律知识",
        "renewal_subjects": ""})
    assert response.status_code == 302
    with app.app_context():
        category = db.session.query(EnforcementCategory).filter_by(code="TS").one()
        assert sorted(r.subject for r in category.requirements if r.purpose == "qualification") == [
            "专业法律知识", "公共法律知识"]


def test_cli_category_and_expire(app):
    runner = app.test_cli_runner()
    result = runner.invoke(args=["certificates", "category", "计量监督", "--code", "JL", "--validity-years", "4"])
    assert result.exit_code == 0 and "4 years" in result.output
    assert "0 certificates expired" in runner.invoke(args=["certificates", "expire"]).output


def test_script_in_a_holders_name_is_shown_as_text_on_public_pages_and_in_the_card(app, client, make_user,
                                                                                  fake_sources, category):
    hostile = '<script>alert("x")</script><img src=x onerror=alert(1)>'
    _, _number, token = _issue(app, fake_sources, make_user, category, "V0060", hostile)
    for path in (f"/verify/{token}", "/officers"):
        html = client.get(path).get_data(as_text=True)
        assert '<script>alert("x")' not in html and "<img src=x onerror" not in html
        assert "&lt;script&gt;" in html
    assert client.get(f"/api/v1/verify/{token}").get_json()["name"] == hostile  # data, not markup, in JSON
