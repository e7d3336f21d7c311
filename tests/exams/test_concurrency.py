"""Two submits at once finish an attempt once; an autosave racing a submit never loses an acknowledged answer.

Each thread has its own application context, session and connection, like two requests in two workers.
Runs on SQLite and on PostgreSQL (DATABASE_URL).
"""

from __future__ import annotations

import threading

from exam.accounts.models import User
from exam.core.errors import Conflict
from exam.exams import operations as ops
from exam.exams.models import Attempt
from exam.extensions import db
from tests.exams import factories as f


def _started_attempt(app, make_user, rounds=1) -> list[int]:
    user = make_user()
    with app.app_context():
        f.standard_bank()
        exam = f.published_exam(max_attempts=rounds)
        ids = []
        for _ in range(rounds):
            attempt = ops.start_attempt(exam, db.session.get(User, user.id))
            db.session.commit()
            ids.append(attempt.id)
            if rounds > 1:
                ops.finish_attempt(attempt)
                db.session.commit()
        if rounds > 1:  # reopen them for the race: status back to in progress
            db.session.query(Attempt).update({"status": "in_progress", "finished_at": None, "score": None,
                                              "finished_by": None, "passed": None, "band": None, "version": 1})
            db.session.commit()
        return ids


def _run_together(*targets):
    barrier = threading.Barrier(len(targets))
    errors = []

    def wrap(target):
        try:
            barrier.wait(timeout=10)
            target()
        except Exception as exc:  # reported below
            errors.append(exc)

    threads = [threading.Thread(target=wrap, args=(t,)) for t in targets]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    return errors


def test_two_submits_at_once_finish_the_attempt_once(app, make_user):
    attempt_ids = _started_attempt(app, make_user, rounds=3)
    for attempt_id in attempt_ids:
        outcomes = []

        def submit(attempt_id=attempt_id, outcomes=outcomes):
            with app.app_context():
                attempt = db.session.get(Attempt, attempt_id)
                won = ops.finish_attempt(attempt)
                db.session.commit()
                outcomes.append(won)

        errors = _run_together(submit, submit)
        assert errors == []
        assert sorted(outcomes) == [False, True]
        with app.app_context():
            attempt = db.session.get(Attempt, attempt_id)
            assert attempt.status == "submitted" and attempt.version == 2 and attempt.score == 0


def test_an_autosave_racing_a_submit_keeps_the_last_acknowledged_answer(app, make_user):
    attempt_ids = _started_attempt(app, make_user, rounds=4)
    for attempt_id in attempt_ids:
        acknowledged = []

        def save(attempt_id=attempt_id, acknowledged=acknowledged):
            with app.app_context():
                attempt = db.session.get(Attempt, attempt_id)
                try:
                    ops.save_response(attempt, 7, True, seq=10)
                    db.session.commit()
                    acknowledged.append(True)
                except Conflict:
                    db.session.rollback()
                    acknowledged.append(False)

        def submit(attempt_id=attempt_id):
            with app.app_context():
                ops.finish_attempt(db.session.get(Attempt, attempt_id))
                db.session.commit()

        assert _run_together(save, submit) == []
        with app.app_context():
            attempt = db.session.get(Attempt, attempt_id)
            item = next(i for i in attempt.items if i.position == 7)
            assert attempt.status == "submitted"
            if acknowledged == [True]:
                assert item.response is True and item.awarded == (1 if item.version.answer is True else 0)
            else:
                assert acknowledged == [False] and item.response is None and item.awarded == 0


# --- the same races through the exam day's token routes (exam.exams.hot: group commit on SQLite) ------------

def _tokens_and_attempts(app, make_user, count: int, max_attempts: int = 1):
    from exam.accounts.operations import issue_token

    users = [make_user() for _ in range(count)]
    with app.app_context():
        f.standard_bank()
        exam = f.published_exam(max_attempts=max_attempts)
        pairs = []
        for user in users:
            person = db.session.get(User, user.id)
            attempt = ops.start_attempt(exam, person)
            pairs.append(({"Authorization": "Bearer " + issue_token(person)}, attempt.id))
        db.session.commit()
    return pairs


def test_token_autosaves_of_many_threads_are_all_stored(app, make_user):
    """Saves arriving together share one write transaction on SQLite; every acknowledged one is stored."""
    pairs = _tokens_and_attempts(app, make_user, 6)
    acknowledged = []

    def saves(headers, attempt_id):
        client = app.test_client()
        for seq in range(1, 6):
            response = client.put(f"/api/v1/attempts/{attempt_id}/items/7", json={"response": seq % 2 == 0,
                                                                                   "seq": seq}, headers=headers)
            assert response.status_code == 200 and response.json["saved"], response.json
            acknowledged.append((attempt_id, seq))

    assert _run_together(*[lambda p=p: saves(*p) for p in pairs]) == []
    assert len(acknowledged) == 30
    with app.app_context():
        for _, attempt_id in pairs:
            item = next(i for i in db.session.get(Attempt, attempt_id).items if i.position == 7)
            assert (item.response_seq, item.response) == (5, False)


def test_a_token_autosave_racing_a_token_submit_is_graded_or_refused(app, make_user):
    for headers, attempt_id in _tokens_and_attempts(app, make_user, 4):
        outcome = {}

        def save(headers=headers, attempt_id=attempt_id, outcome=outcome):
            response = app.test_client().put(f"/api/v1/attempts/{attempt_id}/items/7",
                                             json={"response": True, "seq": 10}, headers=headers)
            outcome["save"] = response.status_code

        def submit(headers=headers, attempt_id=attempt_id, outcome=outcome):
            outcome["submit"] = app.test_client().post(f"/api/v1/attempts/{attempt_id}/submit", json={},
                                                       headers=headers).status_code

        assert _run_together(save, submit) == []
        assert outcome["submit"] == 200 and outcome["save"] in (200, 409)
        with app.app_context():
            attempt = db.session.get(Attempt, attempt_id)
            item = next(i for i in attempt.items if i.position == 7)
            assert attempt.status == "submitted" and attempt.version == 2
            if outcome["save"] == 200:
                assert item.response is True and item.awarded == (1 if item.version.answer is True else 0)
            else:
                assert item.response is None and item.awarded == 0


def test_session_and_token_writes_at_once_do_not_wait_on_each_other(app, make_user):
    """A session request has read its user in a transaction (BEGIN IMMEDIATE on SQLite): it ends it before
    queueing for the worker's write lock, so it never holds the database's lock while the group waits for it."""
    pairs = _tokens_and_attempts(app, make_user, 4)
    session_users = [make_user() for _ in range(2)]
    outcomes = []

    def by_token(headers, attempt_id):
        client = app.test_client()
        for seq in range(1, 4):
            outcomes.append(client.put(f"/api/v1/attempts/{attempt_id}/items/7",
                                       json={"response": True, "seq": seq}, headers=headers).status_code)

    def by_session(user):
        client = app.test_client()
        client.login_as(user)
        attempt_id = client.write_json("POST", f"/api/v1/exams/{_exam_of(app, pairs[0][1])}/attempts").json["id"]
        for seq in range(1, 4):
            outcomes.append(client.write_json("PUT", f"/api/v1/attempts/{attempt_id}/items/7",
                                              {"response": False, "seq": seq}).status_code)
        outcomes.append(client.write_json("POST", f"/api/v1/attempts/{attempt_id}/submit").status_code)

    targets = [lambda p=p: by_token(*p) for p in pairs] + [lambda u=u: by_session(u) for u in session_users]
    assert _run_together(*targets) == []
    assert outcomes == [200] * len(outcomes) and len(outcomes) == 4 * 3 + 2 * 4


def _exam_of(app, attempt_id: int) -> int:
    with app.app_context():
        return db.session.get(Attempt, attempt_id).exam_id
