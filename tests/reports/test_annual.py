"""Annual figures for a constructed year: each figure agrees with a count from the raw rows and links to them."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

import pytest
from sqlalchemy import select

from exam.certificates.models import Certificate, EnforcementCategory
from exam.exams.models import Exam
from exam.extensions import db
from exam.reports import operations as ops
from exam.study.models import Bulletin, TrainingSession
from tests.reports import factories as rf
from tests.reports import raw

YEAR = 2025


@pytest.fixture
def year_data(app, make_user):
    people = [make_user(f"Y{i}", name=f"年度{i}", department="执法局/六科").id for i in range(5)]
    with app.test_request_context(method="POST"):
        questions = rf.paper(rf.bank())
        six = {"everyone": False, "departments": ["执法局/六科"], "users": []}
        annual = rf.exam(title="2025年度学法考试", audience=six, opens_at=datetime(2025, 5, 1, 1),
                         closes_at=datetime(2025, 5, 2))
        contest = rf.exam(title="2025年法律知识竞赛", purpose="competition", audience=six,
                          opens_at=datetime(2025, 9, 1, 1), closes_at=datetime(2025, 9, 2))
        rf.exam(title="2024年度学法考试", audience=six, opens_at=datetime(2024, 5, 1, 1),
                closes_at=datetime(2024, 5, 2))
        rf.exam(title="练习", purpose="practice", audience=six, opens_at=datetime(2025, 3, 1),
                closes_at=datetime(2025, 3, 2))
        for i, uid in enumerate(people):
            rf.attempt(annual, uid, rf.answers_for(questions, 8))
            if i < 2:
                rf.attempt(contest, uid, rf.answers_for(questions, 4 + 4 * i))
        for number, (year, status) in enumerate([(2025, "published")] * 3 + [(2025, "draft"), (2024, "published")],
                                                start=1):
            db.session.add(Bulletin(year=year, number=number, title=f"学法材料{number}", status=status,
                                    published_at=datetime(year, 3, number) if status == "published" else None))
        for title, kind, held in (("培训一", "session", date(2025, 4, 1)), ("培训二", "session", date(2025, 10, 1)),
                                  ("讲座", "lecture", date(2025, 6, 1)), ("旧培训", "session", date(2024, 6, 1))):
            db.session.add(TrainingSession(title=title, kind=kind, held_on=held, hours=Decimal("4")))
        category = EnforcementCategory(name="质量技术监督", code="ZJ")
        db.session.add(category)
        db.session.flush()

        def cert(n, holder, issued, until, status="valid", effective=None, replaces=None):
            c = Certificate(number=f"ZJ{n:04d}", holder_id=people[holder], category_id=category.id,
                            enforcement_body="市市场监管局", area="本市", source_of_power="法律授权", issued_on=issued,
                            valid_until=until, status=status, status_effective_on=effective, replaces=replaces)
            db.session.add(c)
            db.session.flush()
            return c

        cert(1, 0, date(2025, 3, 1), date(2030, 3, 1))  # new in 2025
        old = cert(2, 1, date(2020, 6, 1), date(2025, 6, 1), "cancelled", date(2025, 6, 1))
        cert(3, 1, date(2025, 6, 1), date(2030, 6, 1), replaces=old)  # renewal in 2025
        cert(4, 2, date(2022, 1, 1), date(2027, 1, 1), "revoked", date(2025, 8, 1))  # revoked in 2025
        cert(5, 3, date(2023, 1, 1), date(2028, 1, 1))  # holder
        cert(6, 4, date(2026, 1, 10), date(2031, 1, 10))  # next year
        db.session.commit()
    return people


def _raw_counts() -> dict:
    start, end = date(YEAR, 1, 1), date(YEAR, 12, 31)
    exams = [e for e in db.session.scalars(select(Exam)) if e.purpose in ("annual", "competition")
             and e.opens_at.year == YEAR and e.status in ("published", "closed")]
    assigned = took = 0
    for exam in exams:
        f = raw.figures(exam)
        assigned += f["assigned"]
        took += f["took"]
    certs = db.session.scalars(select(Certificate)).all()
    return {
        "law_exams": len(exams), "participation": took / assigned,
        "bulletins": sum(1 for b in db.session.scalars(select(Bulletin)) if b.year == YEAR and b.status == "published"),
        "training": sum(1 for s in db.session.scalars(select(TrainingSession))
                        if s.kind == "session" and start <= s.held_on <= end),
        "new_certificates": len({c.holder_id for c in certs if start <= c.issued_on <= end and c.replaces_id is None}),
        "renewals": len({c.holder_id for c in certs if start <= c.issued_on <= end and c.replaces_id is not None}),
        "revocations": len({c.holder_id for c in certs if c.status == "revoked"
                            and start <= c.status_effective_on <= end}),
        "holders": len({c.holder_id for c in certs if c.issued_on <= end <= c.valid_until
                        and (c.status == "valid" or (c.status_effective_on and c.status_effective_on > end))}),
    }


def test_annual_figures_of_a_constructed_year(app, year_data):
    with app.test_request_context():
        expected = _raw_counts()
        figures = {f.key: f for f in ops.annual_figures(YEAR)}
        assert figures["law_exams"].value == expected["law_exams"] == 2
        assert figures["law_exams"].participation_rate == pytest.approx(expected["participation"])
        assert expected["participation"] == pytest.approx(7 / 10)
        assert figures["law_exams"].text == "组织网上学法考试、竞赛2次,参考率70%"
        assert figures["bulletins"].value == expected["bulletins"] == 3
        assert figures["bulletins"].text == "编印学法材料3期"
        assert figures["training"].value == expected["training"] == 2
        assert figures["training"].text == "举办培训班2期"
        assert figures["lectures"].value == 1
        assert figures["new_certificates"].value == expected["new_certificates"] == 1
        assert figures["new_certificates"].text == "新申领执法证1人"
        assert figures["renewals"].value == expected["renewals"] == 1
        assert figures["revocations"].value == expected["revocations"] == 1
        assert figures["holders"].value == expected["holders"] == 3


def test_each_annual_figure_links_to_its_records_and_the_api_agrees(client, make_user, year_data):
    client.login_as(make_user(roles=("legal",), department=None))
    page = client.get(f"/reports/annual?year={YEAR}")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "组织网上学法考试、竞赛2次,参考率70%" in html
    api = client.get(f"/api/v1/reports/annual?year={YEAR}").get_json()
    by_key = {f["key"]: f for f in api["figures"]}
    assert by_key["law_exams"]["text"] == "组织网上学法考试、竞赛2次,参考率70%"
    for key, figure in by_key.items():
        assert f'href="{figure["records_url"]}"' in html
        records = client.get(figure["records_url"])
        assert records.status_code == 200
        assert f"共{figure['value']}条记录" in records.get_data(as_text=True), key  # one record per person here
        assert client.get(figure["records_url"] + "/export.xlsx").status_code == 200
    exams_page = client.get(by_key["law_exams"]["records_url"]).get_data(as_text=True)
    assert "2025年度学法考试" in exams_page and "2025年法律知识竞赛" in exams_page and "2024年度" not in exams_page
    assert client.get(f"/reports/annual/export.xlsx?year={YEAR}").status_code == 200
    pdf = client.get(f"/reports/annual/report.pdf?year={YEAR}")
    assert pdf.status_code == 200 and pdf.data.startswith(b"%PDF")
