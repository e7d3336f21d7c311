"""Compliance by department, drilled down through the tree, for a constructed year."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

import pytest

from exam.accounts.operations import find_department
from exam.certificates.models import Certificate, EnforcementCategory
from exam.extensions import db
from exam.reports import operations as ops
from exam.study.models import Bulletin, ReadReceipt, TrainingAttendance, TrainingSession
from tests.reports import factories as rf

YEAR = 2025


@pytest.fixture
def bureau(app, make_user):
    p1 = make_user("C1", name="达标甲", department="执法局/七科").id
    p2 = make_user("C2", name="落后乙", department="执法局/七科/一组").id
    p3 = make_user("C3", name="未过丙", department="执法局/八科").id
    make_user("C4", name="离职丁", department="执法局/七科", employment_status="left")
    with app.test_request_context(method="POST"):
        eighth = find_department("执法局/八科")
        b1 = Bulletin(year=YEAR, number=1, title="全员材料", status="published", audience="all",
                      required_by=date(YEAR, 3, 1), hours=Decimal("5"), published_at=datetime(YEAR, 2, 1))
        b2 = Bulletin(year=YEAR, number=2, title="八科材料", status="published", audience="departments",
                      departments=[eighth], required_by=date(YEAR, 4, 1), hours=Decimal("5"),
                      published_at=datetime(YEAR, 3, 1))
        db.session.add_all([b1, b2])
        db.session.flush()
        confirmed = datetime(YEAR, 2, 10, 2)
        db.session.add_all([
            ReadReceipt(user_id=p1, bulletin_id=b1.id, first_opened_at=confirmed, confirmed_at=confirmed,
                        hours_credited=Decimal("40")),
            ReadReceipt(user_id=p3, bulletin_id=b1.id, first_opened_at=confirmed, confirmed_at=confirmed,
                        hours_credited=Decimal("5")),
            ReadReceipt(user_id=p3, bulletin_id=b2.id, first_opened_at=confirmed, confirmed_at=confirmed,
                        hours_credited=Decimal("5")),
        ])
        session = TrainingSession(title="执法培训", kind="session", held_on=date(YEAR, 5, 1), hours=Decimal("30"))
        session.attendances.append(TrainingAttendance(user_id=p3))
        db.session.add(session)
        questions = rf.paper(rf.bank())
        exam = rf.exam(title="年度考试", opens_at=datetime(YEAR, 6, 1), closes_at=datetime(YEAR, 6, 2))
        rf.attempt(exam, p1, rf.answers_for(questions, 9))
        rf.attempt(exam, p3, rf.answers_for(questions, 3))
        category = EnforcementCategory(name="质量技术监督", code="ZJ")
        db.session.add(category)
        db.session.flush()
        for n, (holder, status) in enumerate(((p1, "valid"), (p3, "suspended")), start=1):
            db.session.add(Certificate(number=f"ZJ{n}", holder_id=holder, category_id=category.id,
                                       enforcement_body="市局", area="本市", source_of_power="法律授权",
                                       issued_on=date(YEAR, 1, 5), valid_until=date(YEAR + 5, 1, 5), status=status))
        db.session.commit()
        return {"p1": p1, "p2": p2, "p3": p3, "top": find_department("执法局").id,
                "seventh": find_department("执法局/七科").id}


def test_compliance_rolls_up_sub_departments_and_names_who_is_behind(app, bureau):
    with app.test_request_context():
        result = ops.compliance(YEAR, bureau["top"])
        rows = {r.name: r for r in result.rows}
        seventh, eighth = rows["七科"], rows["八科"]
        assert (seventh.staff, eighth.staff) == (2, 1)  # 一组 rolls up into 七科; the person who left is not counted
        assert seventh.has_children and not eighth.has_children
        assert (seventh.required_bulletins, seventh.confirmed_bulletins) == (2, 1)
        assert (eighth.required_bulletins, eighth.confirmed_bulletins) == (2, 2)
        assert (seventh.hours_met, eighth.hours_met) == (1, 1)  # 40 from bulletins; 10 + 30 training
        assert (seventh.exams_taken, seventh.exams_passed) == (1, 1)
        assert (eighth.exams_taken, eighth.exams_passed) == (1, 0)
        assert seventh.certificates == {"valid": 1} and eighth.certificates == {"suspended": 1}
        behind = {p.user.id: reasons for p, reasons in result.behind}
        assert set(behind) == {bureau["p2"], bureau["p3"]}
        assert any("年度考试" in r for r in behind[bureau["p3"]])
        assert result.total.staff == 3 and result.total.behind == 2

        drilled = ops.compliance(YEAR, bureau["seventh"])
        names = {r.name: r for r in drilled.rows}
        assert names["一组"].staff == 1 and names["一组"].behind == 1
        assert [d.name for d in drilled.breadcrumbs] == ["执法局", "七科"]


def test_compliance_page_drills_down_and_exports(client, make_user, bureau):
    client.login_as(make_user(roles=("hr",), department=None))
    page = client.get(f"/reports/compliance?year={YEAR}&department={bureau['top']}")
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and "落后乙" in html and "未过丙" in html and "达标甲" not in html
    assert f"department={bureau['seventh']}" in html  # the drill-down link
    assert client.get(f"/reports/compliance?year={YEAR}&department=987654").status_code == 404
    assert client.get("/reports/compliance?department=abc").status_code == 400
    export = client.get(f"/reports/compliance/export.xlsx?year={YEAR}&department={bureau['top']}")
    assert export.status_code == 200
