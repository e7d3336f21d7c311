"""Certificate rules, with the exams and study areas stood in by ``fake_sources``."""

from __future__ import annotations

import threading
from datetime import date

import pytest
from dateutil.relativedelta import relativedelta

from exam.accounts import operations as accounts_ops
from exam.accounts.models import User
from exam.certificates import operations as ops
from exam.certificates.models import Certificate, EnforcementCategory
from exam.core.audit import AuditLog
from exam.core.errors import Conflict, DomainError
from exam.extensions import db


def _eligible_person(make_user, fake_sources, username="Q0001", on=None, **kwargs):
    user = make_user(username, **kwargs)
    fake_sources.pass_exam(user, on=on)
    fake_sources.hours[user.id] = 40
    return user


def _get(model, ident):
    return db.session.get(model, ident)


def test_eligible_person_has_no_reasons(ctx, make_user, fake_sources, category):
    user = _eligible_person(make_user, fake_sources)
    verdict = ops.check_eligibility([_get(User, user.id)], _get(EnforcementCategory, category))[user.id]
    assert verdict.eligible and verdict.reasons == []
    assert [r.attempt_id for r in verdict.results] == [1]


def test_ineligible_person_gets_every_reason_with_figures(ctx, make_user, fake_sources, category):
    user = make_user("Q0002", employment_status="seconded")
    fake_sources.hours[user.id] = 32
    fake_sources.unconfirmed[user.id] = ["2026年第3期", "2026年第5期"]
    verdict = ops.check_eligibility([_get(User, user.id)], _get(EnforcementCategory, category))[user.id]
    codes = [r.code for r in verdict.reasons]
    assert codes == ["not_employed", "no_passed_exam", "hours_short", "bulletins_unconfirmed"]
    messages = " ".join(r.message for r in verdict.reasons)
    assert "借调" in messages and "学时不足 32/40" in messages and "2026年第3期、2026年第5期" in messages
    assert "未通过资格考试" in messages


def test_exam_result_older_than_the_freshness_window_does_not_count(ctx, make_user, fake_sources, category):
    user = make_user("Q0003")
    fake_sources.pass_exam(user, days_ago=400)
    fake_sources.hours[user.id] = 50
    verdict = ops.check_eligibility([_get(User, user.id)], _get(EnforcementCategory, category))[user.id]
    assert [r.code for r in verdict.reasons] == ["no_passed_exam"]


def test_two_required_exams_each_must_be_passed(ctx, make_user, fake_sources, category):
    user = make_user("Q0004")
    cat = _get(EnforcementCategory, category)
    ops.set_requirements(cat, "qualification", ["公共法律知识", "专业法律知识"])
    fake_sources.hours[user.id] = 40
    fake_sources.pass_exam(user, title="资格考试(公共法律知识)")
    verdict = ops.check_eligibility([_get(User, user.id)], cat)[user.id]
    assert [r.data.get("subject") for r in verdict.reasons] == ["专业法律知识"]
    fake_sources.pass_exam(user, title="资格考试(专业法律知识)")
    assert ops.check_eligibility([_get(User, user.id)], cat)[user.id].eligible


def test_issue_allocates_a_number_validity_and_audit(ctx, make_user, fake_sources, category):
    user = _eligible_person(make_user, fake_sources, on=date(2026, 2, 20))
    cert = ops.issue_certificate(_get(User, user.id), _get(EnforcementCategory, category), as_of=date(2026, 3, 1))
    db.session.commit()
    assert cert.number == "ZJ202600001"
    assert cert.valid_until == date(2031, 2, 28)  # five years
    assert cert.status == "valid" and len(cert.verification_token) >= 32
    assert [b.attempt_id for b in cert.bases] == [1]
    assert db.session.query(AuditLog).filter_by(action="certificate.issue").count() == 1


def test_issuing_to_an_ineligible_person_is_refused_and_nothing_is_stored(ctx, make_user, fake_sources, category):
    user = make_user("Q0005")
    with pytest.raises(ops.EligibilityError) as refused:
        ops.issue_certificate(_get(User, user.id), _get(EnforcementCategory, category))
    assert {d["code"] for d in refused.value.details} == {"no_passed_exam", "hours_short"}
    db.session.rollback()
    assert db.session.query(Certificate).count() == 0


def test_a_holder_cannot_be_issued_a_second_certificate_of_the_category(ctx, make_user, fake_sources, category):
    user = _eligible_person(make_user, fake_sources)
    cat = _get(EnforcementCategory, category)
    ops.issue_certificate(_get(User, user.id), cat)
    with pytest.raises(ops.EligibilityError) as refused:
        ops.issue_certificate(_get(User, user.id), cat)
    assert "already_holds" in {d["code"] for d in refused.value.details}


def test_database_refuses_two_held_certificates_even_if_the_check_is_bypassed(ctx, make_user, fake_sources,
                                                                               category):
    user = _eligible_person(make_user, fake_sources)
    cat = _get(EnforcementCategory, category)
    first = ops.issue_certificate(_get(User, user.id), cat)
    db.session.commit()
    duplicate = Certificate(number="X1", holder_id=user.id, category_id=cat.id, enforcement_body="b", area="a",
                            source_of_power="s", issued_on=first.issued_on, valid_until=first.valid_until)
    db.session.add(duplicate)
    with pytest.raises(Conflict):
        ops._flush_certificate()
    db.session.rollback()
    assert db.session.query(Certificate).count() == 1


def test_numbers_run_per_category_and_year_and_skip_taken_ones(ctx, make_user, fake_sources, category, app):
    app.config["CERT_NUMBER_PATTERN"] = "粤{code}-{year}-{seq:04d}"
    people = [_eligible_person(make_user, fake_sources, f"Q01{n}", on=date(2026, 4, 1)) for n in range(3)]
    departed = make_user("Q0099", employment_status="left")
    cat = _get(EnforcementCategory, category)
    db.session.add(Certificate(number="粤ZJ-2026-0002", holder_id=departed.id,
                               category_id=cat.id, enforcement_body="b", area="a", source_of_power="s",
                               issued_on=date(2020, 1, 1), valid_until=date(2021, 1, 1), status="expired"))
    numbers = []
    for user in people:
        numbers.append(ops.issue_certificate(_get(User, user.id), cat, as_of=date(2026, 5, 1)).number)
    assert numbers == ["粤ZJ-2026-0001", "粤ZJ-2026-0003", "粤ZJ-2026-0004"]


def test_status_changes_follow_the_allowed_transitions_with_reason(ctx, make_user, fake_sources, category):
    user = _eligible_person(make_user, fake_sources)
    cert = ops.issue_certificate(_get(User, user.id), _get(EnforcementCategory, category))
    with pytest.raises(DomainError):
        ops.change_status(cert, "suspended", reason="  ")
    ops.change_status(cert, "suspended", reason="涉嫌违规执法,暂扣待查", effective_on=date(2026, 6, 1))
    assert cert.status == "suspended" and cert.status_effective_on == date(2026, 6, 1)
    ops.change_status(cert, "valid", reason="调查结束,发还")
    ops.change_status(cert, "revoked", reason="违法执法,吊销")
    with pytest.raises(Conflict):
        ops.change_status(cert, "valid", reason="x")
    actions = [r.action for r in db.session.query(AuditLog).order_by(AuditLog.id)]
    assert actions[-3:] == ["certificate.suspended", "certificate.valid", "certificate.revoked"]


def test_revocation_blocks_a_new_certificate_for_three_years(ctx, make_user, fake_sources, category):
    user = _eligible_person(make_user, fake_sources, on=date(2026, 1, 5))
    cat = _get(EnforcementCategory, category)
    cert = ops.issue_certificate(_get(User, user.id), cat, as_of=date(2026, 1, 10))
    ops.change_status(cert, "revoked", reason="吊销", effective_on=date(2026, 2, 1))
    verdict = ops.check_eligibility([_get(User, user.id)], cat, date(2026, 3, 1))[user.id]
    assert [r.code for r in verdict.reasons] == ["revoked_recently"]
    later = ops.check_eligibility([_get(User, user.id)], cat, date(2029, 2, 2))[user.id]
    assert "revoked_recently" not in [r.code for r in later.reasons]


def test_leaving_the_post_withdraws_held_certificates(ctx, make_user, fake_sources, category):
    user = _eligible_person(make_user, fake_sources)
    cert = ops.issue_certificate(_get(User, user.id), _get(EnforcementCategory, category))
    person = _get(User, user.id)
    accounts_ops.update_user(person, accounts_ops.UserData(username=person.username, name=person.name,
                                                           department=person.department, employment_status="retired"))
    assert cert.status == "withdrawn" and "退休" in cert.status_reason


def test_renewal_opens_six_months_before_expiry_and_needs_a_renewal_exam(ctx, make_user, fake_sources, category):
    user = _eligible_person(make_user, fake_sources, on=date(2021, 6, 1))
    cat = _get(EnforcementCategory, category)
    cert = ops.issue_certificate(_get(User, user.id), cat, as_of=date(2021, 7, 1))
    early = ops.renewal_check([cert], date(2025, 12, 1))[cert.id]
    assert "renewal_not_open" in [r.code for r in early]
    in_window = date(2026, 3, 1)
    assert [r.code for r in ops.renewal_check([cert], in_window)[cert.id]] == ["no_renewal_exam"]
    fake_sources.pass_exam(user, purpose="renewal", title="换证考试", days_ago=0)
    # the renewal exam result is dated today; renew "today" inside the window
    today = date.today()
    cert.valid_until = today + relativedelta(months=2)
    new = ops.renew_certificate(cert, as_of=today)
    assert cert.status == "cancelled" and new.replaces_id == cert.id and new.status == "valid"
    assert new.valid_until == cert.valid_until + relativedelta(years=5)


def test_expire_marks_certificates_past_validity(ctx, make_user, fake_sources, category):
    user = _eligible_person(make_user, fake_sources, on=date(2019, 12, 1))
    cert = ops.issue_certificate(_get(User, user.id), _get(EnforcementCategory, category), as_of=date(2020, 1, 1))
    assert ops.public_status(cert, date(2025, 1, 2)) == "expired"  # shown expired even before the cron runs
    assert ops.expire_certificates(date(2025, 1, 2)) == 1
    assert cert.status == "expired"


def test_annual_review_lists_who_fails_and_why(ctx, make_user, fake_sources, category):
    ok = _eligible_person(make_user, fake_sources, "Q0201")
    short = _eligible_person(make_user, fake_sources, "Q0202")
    cat = _get(EnforcementCategory, category)
    for user in (ok, short):
        ops.issue_certificate(_get(User, user.id), cat)
    fake_sources.pass_exam(ok, purpose="annual", title="年度学法考试", days_ago=1)
    fake_sources.hours[short.id] = 12
    year = date.today().year
    results = {c.holder_id: [r.code for r in reasons] for c, reasons in ops.annual_review(year, cat)}
    assert results[ok.id] == []
    assert results[short.id] == ["hours_short", "no_annual_exam"]


def test_photo_must_be_a_real_image(ctx, make_user):
    import io

    from PIL import Image

    user = _get(User, make_user("Q0301").id)
    with pytest.raises(DomainError):
        ops.set_photo(user, b"<html>not an image</html>")
    with pytest.raises(DomainError):
        ops.set_photo(user, b"GIF89a" + b"\0" * 100)
    buffer = io.BytesIO()
    Image.new("RGB", (300, 400), "white").save(buffer, "PNG")
    photo = ops.set_photo(user, buffer.getvalue())
    assert photo.mime == "image/jpeg" and photo.content[:2] == b"\xff\xd8"


def test_two_issues_at_once_give_one_certificate(app, make_user, fake_sources, category):
    """Race two issuing transactions for the same person: one succeeds, one is refused."""
    user = _eligible_person(make_user, fake_sources)
    outcomes = []
    barrier = threading.Barrier(2)

    def issue():
        with app.test_request_context(method="POST"):
            try:
                barrier.wait(timeout=5)
                ops.issue_certificate(db.session.get(User, user.id), db.session.get(EnforcementCategory, category))
                db.session.commit()
                outcomes.append("issued")
            except DomainError as exc:
                db.session.rollback()
                outcomes.append(exc.code)
            finally:
                db.session.remove()

    threads = [threading.Thread(target=issue) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    assert outcomes.count("issued") == 1, outcomes
    assert next(o for o in outcomes if o != "issued") in {"conflict", "not_eligible"}
    with app.app_context():
        assert db.session.query(Certificate).filter_by(holder_id=user.id).count() == 1
