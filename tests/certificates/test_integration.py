"""The certificate gate on real exam attempts and study records (no stand-ins)."""

from __future__ import annotations

from decimal import Decimal

from sqlalchemy import event

from exam.accounts.models import User
from exam.certificates import operations as ops
from exam.certificates.models import Certificate, EnforcementCategory
from exam.core.timeutil import local_today
from exam.exams import operations as exam_ops
from exam.exams.seed import sit
from exam.extensions import db
from exam.study import operations as study_ops
from tests.exams import factories


def _sit_exam(app, users_and_skill, *, counting="best", max_attempts=2):
    import random

    with app.test_request_context(method="POST"):
        factories.standard_bank("公共法律知识")
        exam = factories.published_exam(certificate_category="质量技术监督", counting_attempt=counting,
                                        max_attempts=max_attempts)
        rng = random.Random(7)
        attempts = {}
        for user_id, skills in users_and_skill:
            for skill in skills:
                attempt = exam_ops.start_attempt(exam, db.session.get(User, user_id))
                sit(attempt, rng, skill, exam_ops.utcnow())
                attempts.setdefault(user_id, []).append(attempt.id)
        db.session.commit()
        return exam.id, attempts


def _train(app, user_ids, hours=40):
    with app.test_request_context(method="POST"):
        people = [db.session.get(User, uid) for uid in user_ids]
        study_ops.create_training_session(study_ops.SessionData(title="岗前培训", held_on=local_today(),
                                                                hours=Decimal(hours)), people, by=None)
        db.session.commit()


def test_a_passed_qualification_exam_and_training_open_the_gate_through_the_api(app, client, make_user, category):
    passer, failer = make_user("G0001"), make_user("G0002")
    _, attempts = _sit_exam(app, [(passer.id, [1.0]), (failer.id, [0.0])])
    _train(app, [passer.id, failer.id])
    client.login_as(make_user("G0900", roles=["hr"]))
    ok = client.write_json("POST", "/api/v1/certificates", {"username": "G0001", "category": "质量技术监督"})
    assert ok.status_code == 201, ok.get_json()
    assert ok.get_json()["attempts"] == attempts[passer.id]
    refused = client.write_json("POST", "/api/v1/certificates", {"username": "G0002", "category": "质量技术监督"})
    assert refused.status_code == 422
    assert [d["code"] for d in refused.get_json()["error"]["details"]] == ["no_passed_exam"]
    with app.app_context():
        assert db.session.query(Certificate).count() == 1


def test_the_exams_counting_rule_decides_last_attempt_failed_means_not_passed(app, make_user, category):
    person = make_user("G0003")
    _sit_exam(app, [(person.id, [1.0, 0.0])], counting="last")
    _train(app, [person.id])
    with app.test_request_context(method="POST"):
        verdict = ops.check_eligibility([db.session.get(User, person.id)],
                                        db.session.get(EnforcementCategory, category))[person.id]
        assert [r.code for r in verdict.reasons] == ["no_passed_exam"]


def test_exam_hours_count_toward_the_training_requirement(app, make_user, category):
    person = make_user("G0004")
    _sit_exam(app, [(person.id, [1.0])])
    _train(app, [person.id], hours=38)  # plus 2 hours for the exam taken = 40
    with app.test_request_context(method="POST"):
        verdict = ops.check_eligibility([db.session.get(User, person.id)],
                                        db.session.get(EnforcementCategory, category))[person.id]
        assert verdict.eligible and verdict.hours == 40


def test_eligibility_takes_the_same_number_of_queries_for_5_or_40_people(app, make_user, category):
    people = [make_user(f"G1{n:03d}") for n in range(40)]
    _sit_exam(app, [(p.id, [1.0]) for p in people[:10]])
    _train(app, [p.id for p in people[:20]])
    counts = []
    for group in (people[:5], people):
        with app.test_request_context(method="POST"):
            users = [db.session.get(User, p.id) for p in group]
            cat = db.session.get(EnforcementCategory, category)
            for r in cat.requirements:
                _ = r.subject
            statements: list[int] = []

            def count(*_args, _seen=statements, **_kwargs):
                _seen.append(1)

            event.listen(db.engine, "before_cursor_execute", count)
            try:
                ops.check_eligibility(users, cat)
            finally:
                event.remove(db.engine, "before_cursor_execute", count)
            counts.append(len(statements))
    assert counts[0] == counts[1] and counts[1] <= 12, counts
