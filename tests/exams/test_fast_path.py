"""The exam day's fast path (exam/api/fastpath.py) and the SQLite group writer (exam/core/db.py), issue #8.

The fast path must answer exactly as the Flask routes do, serve only the successful bearer-token save and
submit, and hand every other request to Flask untouched."""

from __future__ import annotations

import fcntl
import os
import sqlite3
from datetime import timedelta

import pytest
from sqlalchemy import select, update

from exam.core import db as core_db
from exam.core.timeutil import utcnow
from exam.exams import operations as ops
from exam.exams.models import Attempt, AttemptItem
from exam.extensions import db
from tests.exams import factories as f

TIME_FIELDS = {"saved_at", "server_time", "remaining_seconds"}


@pytest.fixture
def setup(app, make_user):
    examinee = make_user("A0001")
    with app.app_context():
        f.standard_bank()
        exam = f.published_exam()
        db.session.commit()
        exam_id = exam.id
    return {"exam_id": exam_id, "examinee": examinee}


def _bearer(app, user) -> dict:
    from exam.accounts.models import User
    from exam.accounts.operations import issue_token

    with app.app_context():
        token = issue_token(db.session.get(User, user.id))
        db.session.commit()
    return {"Authorization": "Bearer " + token}


@pytest.fixture
def flask_calls(app):
    """The requests Flask's own machinery handled (a before_request hook records their paths)."""
    seen: list[str] = []

    def record():
        from flask import request

        seen.append(f"{request.method} {request.path}")

    app.before_request_funcs.setdefault(None, []).insert(0, record)
    return seen


def _start(app, setup, user=None):
    from tests.exams.test_api import _key

    headers = _bearer(app, user or setup["examinee"])
    client = app.test_client()
    attempt_id = client.post(f"/api/v1/exams/{setup['exam_id']}/attempts", json={}, headers=headers).json["id"]
    return client, attempt_id, headers, _key(app, attempt_id)


def _stored(app, attempt_id, position):
    with app.app_context():
        return db.session.scalars(select(AttemptItem).where(AttemptItem.attempt_id == attempt_id,
                                                            AttemptItem.position == position)).one()


def _comparable(response):
    body = response.get_json()
    return (response.status_code, {k: v for k, v in body.items() if k not in TIME_FIELDS},
            sorted(k for k in body if k in TIME_FIELDS),
            sorted((k, v) for k, v in response.headers.items() if k != "Content-Length"))


def test_the_fast_path_answers_saves_and_submits_exactly_as_the_flask_routes(app, setup, make_user, flask_calls):
    answers = {}
    for fast, username in ((True, "A0002"), (False, "A0003")):
        app.config["EXAM_DAY_FAST_PATH"] = fast
        client, attempt_id, headers, key = _start(app, setup, make_user(username))
        flask_calls.clear()
        saved = client.put(f"/api/v1/attempts/{attempt_id}/items/1", json={"response": key[1], "seq": 3},
                           headers=headers)
        stale = client.put(f"/api/v1/attempts/{attempt_id}/items/1", json={"response": key[1], "seq": 2},
                           headers=headers)
        flagged = client.put(f"/api/v1/attempts/{attempt_id}/items/2",
                             json={"response": key[2], "seq": 1, "flagged": True, "score": 100}, headers=headers)
        submitted = client.post(f"/api/v1/attempts/{attempt_id}/submit", json={"score": 100}, headers=headers)
        assert saved.status_code == stale.status_code == flagged.status_code == submitted.status_code == 200
        assert bool(flask_calls) is not fast, flask_calls  # the fast path ran them all, or Flask did
        answers[fast] = [_comparable(r) for r in (saved, stale, flagged, submitted)]
        assert stale.json["saved"] is False and stale.json["seq"] == 3
        assert _stored(app, attempt_id, 2).flagged is True
        with app.app_context():
            attempt = db.session.get(Attempt, attempt_id)
            assert attempt.status == "submitted" and attempt.score == 2  # the two right answers, graded once
    assert answers[True] == answers[False]
    assert dict(answers[True][0][3])["Content-Security-Policy"].startswith("default-src 'self'")


@pytest.mark.parametrize("case", ["invalid json", "a list", "text/plain", "a NUL", "a query string",
                                  "seq as text", "seq missing", "a huge id", "no such position", "unknown token",
                                  "a session cookie"])
def test_the_fast_path_hands_every_other_save_to_flask_which_answers_it(app, setup, flask_calls, case):
    client, attempt_id, headers, key = _start(app, setup)
    url, body, extra = f"/api/v1/attempts/{attempt_id}/items/1", None, {}
    json_body = {"response": key[1], "seq": 1}
    expected = {"invalid json": 400, "a list": 422, "text/plain": 415, "a NUL": 400, "a query string": 200,
                "seq as text": 422, "seq missing": 422, "a huge id": 404, "no such position": 404,
                "unknown token": 401, "a session cookie": 200}[case]
    if case == "invalid json":
        body, extra = b'{"response": ', {"content_type": "application/json"}
    elif case == "a list":
        json_body = [json_body]
    elif case == "text/plain":
        body, extra = b'{"response": "A", "seq": 1}', {"content_type": "text/plain"}
    elif case == "a NUL":
        json_body = {"response": "A\x00", "seq": 1}
    elif case == "a query string":
        url += "?lang=en"
    elif case == "seq as text":
        json_body = {"response": key[1], "seq": "1"}
    elif case == "seq missing":
        json_body = {"response": key[1]}
    elif case == "a huge id":
        url = f"/api/v1/attempts/{2**31}/items/1"
    elif case == "no such position":
        url = f"/api/v1/attempts/{attempt_id}/items/99"
    elif case == "unknown token":
        headers = {"Authorization": "Bearer not-a-token"}
    elif case == "a session cookie":
        client.set_cookie("exam_session", "not-a-session")
    flask_calls.clear()
    if body is None:
        response = client.put(url, json=json_body, headers=headers)
    else:
        response = client.put(url, data=body, headers=headers, **extra)
    assert flask_calls == [f"PUT {url.partition('?')[0]}"]  # Flask ran it, once
    assert response.status_code == expected, response.get_data(as_text=True)
    if expected != 200:
        assert response.json["error"]["message"]
        assert _stored(app, attempt_id, 1).response_seq == 0  # nothing stored


def test_a_refused_save_handed_to_flask_is_answered_in_the_examinees_language(app, setup, flask_calls):
    client, attempt_id, headers, key = _start(app, setup)
    with app.app_context():
        attempt = db.session.get(Attempt, attempt_id)
        attempt.deadline = utcnow() - timedelta(minutes=5)
        db.session.commit()
    flask_calls.clear()
    messages = {}
    for language in ("zh-CN", "en"):
        late = client.put(f"/api/v1/attempts/{attempt_id}/items/1", json={"response": key[1], "seq": 1},
                          headers={**headers, "Accept-Language": language})
        assert late.status_code == 409 and late.json["error"]["code"] == "deadline_passed"
        messages[language] = late.json["error"]["message"]
    assert messages == {"zh-CN": "考试时间已到，答案未保存。", "en": "The time is up; the answer was not saved."}
    assert len(flask_calls) == 2 and _stored(app, attempt_id, 1).response_seq == 0


def test_a_second_submit_through_the_fast_path_answers_the_state_and_finishes_nothing(app, setup, flask_calls):
    client, attempt_id, headers, _key = _start(app, setup)
    first = client.post(f"/api/v1/attempts/{attempt_id}/submit", headers=headers)
    flask_calls.clear()
    second = client.post(f"/api/v1/attempts/{attempt_id}/submit", headers=headers)
    assert first.status_code == second.status_code == 200
    assert second.json == first.json and first.json["status"] == "submitted" and first.json["score"] == 0
    assert flask_calls == []
    with app.app_context():
        assert db.session.get(Attempt, attempt_id).version == 2


# --- the SQLite group writer ------------------------------------------------------------------------------

def _sqlite_only(app):
    with app.app_context():
        if db.engine.dialect.name != "sqlite":
            pytest.skip("the group writer is SQLite's (PostgreSQL writes in parallel)")
        return db.engine.url.database


def test_a_save_is_committed_then_synced_to_disk_outside_the_write_lock_before_it_is_answered(app, setup,
                                                                                           monkeypatch):
    database = _sqlite_only(app)
    client, attempt_id, headers, key = _start(app, setup)
    seen = []
    real_fsync = os.fsync

    def fsync(fd):
        path = os.readlink(f"/proc/self/fd/{fd}")
        with sqlite3.connect(database) as other:  # what another process sees at that moment
            stored = other.execute("SELECT response_seq FROM attempt_items WHERE attempt_id = ? AND position = 1",
                                   (attempt_id,)).fetchone()[0]
        probe = os.open(database + ".writer-lock", os.O_RDWR)
        try:
            fcntl.flock(probe, fcntl.LOCK_EX | fcntl.LOCK_NB)  # the write lock is free while the log syncs
            fcntl.flock(probe, fcntl.LOCK_UN)
            free = True
        except BlockingIOError:
            free = False
        finally:
            os.close(probe)
        seen.append((path, stored, free))
        real_fsync(fd)

    monkeypatch.setattr(core_db.os, "fsync", fsync)
    response = client.put(f"/api/v1/attempts/{attempt_id}/items/1", json={"response": key[1], "seq": 7},
                          headers=headers)
    assert response.status_code == 200 and response.json["saved"]
    assert seen == [(os.path.realpath(database) + "-wal", 7, True)]


def test_the_group_writer_holds_the_lock_file_and_commits_without_waiting_for_the_disk(app):
    database = _sqlite_only(app)

    def lock_is_free() -> bool:
        probe = os.open(database + ".writer-lock", os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(probe, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return True
        except BlockingIOError:
            return False
        finally:
            os.close(probe)

    with app.app_context():
        conn = db.engine.connect()
        with core_db.sqlite_group_writer(database):
            assert not lock_is_free()
            with conn.begin():
                assert conn.exec_driver_sql("PRAGMA synchronous").scalar() == 1  # NORMAL: synced by the caller
        assert lock_is_free()
        with conn.begin():  # the same connection, any other transaction: FULL again
            assert conn.exec_driver_sql("PRAGMA synchronous").scalar() == 2
        conn.close()


def test_a_save_stored_between_the_grading_and_the_write_lock_is_graded(app, setup, monkeypatch):
    """SQLite grades a submit before the write lock; a save stored in between changes a sequence number, so the
    paper is graded again under the lock and the late (acknowledged) answer counts."""
    import json

    from exam.exams import hot

    database = _sqlite_only(app)
    client, attempt_id, headers, key = _start(app, setup)
    with app.app_context():
        rows = db.session.execute(select(AttemptItem.position, AttemptItem.points).join(AttemptItem.version)
                                  .where(AttemptItem.attempt_id == attempt_id)
                                  .where(AttemptItem.version.property.mapper.class_.type == "true_false")).all()
    position, points = rows[0]
    real = hot._read_and_grade
    calls = []

    def grade_then_a_save_lands(conn, owner, attempt_id_, now, *, lock):
        graded = real(conn, owner, attempt_id_, now, lock=lock)
        calls.append(lock)
        if len(calls) == 1:  # the grading outside the lock: another worker stores the right answer now
            with sqlite3.connect(database) as other:
                other.execute("UPDATE attempt_items SET response = ?, response_seq = response_seq + 1 "
                              "WHERE attempt_id = ? AND position = ?",
                              (json.dumps(key[position]), attempt_id, position))
        return graded

    monkeypatch.setattr(hot, "_read_and_grade", grade_then_a_save_lands)
    submitted = client.post(f"/api/v1/attempts/{attempt_id}/submit", headers=headers)
    assert submitted.status_code == 200
    assert calls == [False, True]  # graded before the lock, then again under it
    with app.app_context():
        attempt = db.session.get(Attempt, attempt_id)
        assert attempt.status == "submitted" and attempt.score == points and attempt.version == 2


# --- a save of an item saved before: the write alone (exam.exams.hot._save_known) ----------------------------

def _save(client, attempt_id, headers, response, seq, position=1, flagged=None):
    body = {"response": response, "seq": seq} | ({} if flagged is None else {"flagged": flagged})
    return client.put(f"/api/v1/attempts/{attempt_id}/items/{position}", json=body, headers=headers)


def test_a_second_save_of_an_item_is_the_write_alone_and_checks_everything_inside_it(app, setup):
    from tests.exams.test_api import count_statements

    client, attempt_id, headers, key = _start(app, setup)
    with count_statements(app) as first:  # the paper just drawn: the item is read with its owner first
        assert _save(client, attempt_id, headers, key[1], 1).json["saved"]
    with app.app_context():
        dialect = db.engine.dialect.name
    assert len(first) == (3 if dialect == "sqlite" else 2) and "api_tokens" in first[0], first
    with count_statements(app) as statements:
        again = _save(client, attempt_id, headers, key[1], 2)
    assert again.status_code == 200 and again.json["saved"] and again.json["seq"] == 2
    # SQLite: the touch (owner, status, deadline, returning the deadline) and the answer; PostgreSQL: one statement
    assert len(statements) == (2 if dialect == "sqlite" else 1), statements
    assert "api_tokens" in statements[0] and "deadline" in statements[0]
    assert _stored(app, attempt_id, 1).response_seq == 2


@pytest.mark.parametrize("change", ["finished", "past the deadline", "token revoked", "another person",
                                    "user deactivated", "a stale seq", "a bad response",
                                    "a bad response from another person"])
def test_a_second_save_is_refused_as_the_first_would_be(app, setup, make_user, change):
    from sqlalchemy import update

    from exam.accounts.models import ApiToken, User

    client, attempt_id, headers, key = _start(app, setup)
    assert _save(client, attempt_id, headers, key[1], 5).json["saved"]  # the item is now known to the process
    response, seq, expected = key[1], 6, None
    with app.app_context():
        if change == "finished":
            assert client.post(f"/api/v1/attempts/{attempt_id}/submit", headers=headers).status_code == 200
            expected = (409, "attempt_finished")
        elif change == "past the deadline":
            db.session.get(Attempt, attempt_id).deadline = utcnow() - timedelta(minutes=5)
            expected = (409, "deadline_passed")
        elif change == "token revoked":
            db.session.execute(update(ApiToken).values(revoked_at=utcnow()))
            expected = (401, None)
        elif change == "another person":
            headers = _bearer(app, make_user("A0009"))
            expected = (404, "not_found")
        elif change == "user deactivated":
            db.session.execute(update(User).where(User.username == "A0001").values(active=False))
            expected = (401, None)
        elif change == "a stale seq":
            seq = 4
        elif change == "a bad response":
            response, expected = "Z", (422, "bad_response")
        elif change == "a bad response from another person":  # 404: nothing said about the item
            headers, response, expected = _bearer(app, make_user("A0009")), "Z", (404, "not_found")
        db.session.commit()
    answer = _save(client, attempt_id, headers, response, seq)
    stored = _stored(app, attempt_id, 1)
    if expected is None:  # stale: not applied, the stored seq and time said
        assert answer.status_code == 200 and answer.json["saved"] is False and answer.json["seq"] == 5
        assert answer.json["saved_at"] is not None
    else:
        assert answer.status_code == expected[0], answer.get_data(as_text=True)
        if expected[1]:
            assert answer.json["error"]["code"] == expected[1]
    assert stored.response_seq == 5  # nothing written


def test_a_known_item_is_not_written_for_another_attempt_with_the_same_id(app, setup, make_user):
    """A database restored under a running server may give an attempt id again: the process's knowledge of the
    old attempt's items must not be used for the new one (its start time names it)."""
    from sqlalchemy import delete

    client, attempt_id, headers, key = _start(app, setup)
    assert _save(client, attempt_id, headers, key[1], 1).json["saved"]
    known = app.extensions["exam_day_items"][(attempt_id, 1)]
    with app.app_context():
        attempt = db.session.get(Attempt, attempt_id)
        attempt.started_at = attempt.started_at - timedelta(seconds=1)  # as if another attempt had this id
        db.session.execute(delete(AttemptItem).where(AttemptItem.attempt_id == attempt_id,
                                                     AttemptItem.position == 1))
        db.session.commit()
    answer = _save(client, attempt_id, headers, key[1], 2)
    assert answer.status_code == 404  # read again: there is no item 1 now
    assert app.extensions["exam_day_items"].get((attempt_id, 1)) is not known


def test_after_the_paper_is_read_even_the_first_save_of_an_item_is_the_write_alone(app, setup):
    from tests.exams.test_api import count_statements

    client, attempt_id, headers, key = _start(app, setup)
    assert client.get(f"/api/v1/attempts/{attempt_id}", headers=headers).status_code == 200
    with count_statements(app) as statements:
        first = _save(client, attempt_id, headers, key[3], 1, position=3)
    assert first.status_code == 200 and first.json["saved"]
    with app.app_context():
        one_statement = db.engine.dialect.name == "postgresql"
    assert len(statements) == (1 if one_statement else 2), statements
    assert _stored(app, attempt_id, 3).response_seq == 1


# --- submit: question versions kept per process; a grade made outside SQLite's write lock is checked in it -------

def _answer_all(client, attempt_id, headers, key) -> None:
    for position, response in key.items():
        assert _save(client, attempt_id, headers, response, 1, position=position).json["saved"]


def _points(app, attempt_id) -> float:
    with app.app_context():
        return sum(db.session.scalars(select(AttemptItem.points).where(AttemptItem.attempt_id == attempt_id)))


def _submit(client, attempt_id, headers):
    submitted = client.post(f"/api/v1/attempts/{attempt_id}/submit", headers=headers)
    assert submitted.status_code == 200, submitted.json
    return submitted


def _finished(app, attempt_id) -> Attempt:
    with app.app_context():
        return db.session.get(Attempt, attempt_id)


def test_a_submit_reads_the_question_versions_only_when_this_process_has_not_seen_them(app, setup, make_user):
    from tests.exams.test_api import count_statements

    client, attempt_id, headers, key = _start(app, setup)
    _answer_all(client, attempt_id, headers, key)
    app.extensions.pop("exam_day_versions", None)  # as a process that never drew or read this paper
    with count_statements(app) as first:
        _submit(client, attempt_id, headers)
    assert sum("FROM question_versions WHERE id IN" in q for q in first) == 1, first
    assert _finished(app, attempt_id).score == _points(app, attempt_id)  # every answer right, graded from the read

    # another examinee's paper, forgotten too, then read by its examinee: the read keeps its versions, and the
    # submit reads none
    other_client, other_id, other_headers, other_key = _start(app, setup, user=make_user("A0002"))
    _answer_all(other_client, other_id, other_headers, other_key)
    app.extensions.pop("exam_day_versions", None)
    client.get(f"/api/v1/attempts/{other_id}", headers=other_headers)
    with count_statements(app) as second:
        _submit(other_client, other_id, other_headers)
    assert not any("FROM question_versions WHERE id IN" in q for q in second), second
    assert _finished(app, other_id).score == _points(app, other_id)


def test_a_kept_version_grades_only_the_version_it_was_read_from(app, setup):
    """Versions are kept by id and creation time: when the database under a running server names another version
    by the same id (a restore), what is kept for the old one is not used."""
    from sqlalchemy import text

    from exam.exams import hot

    client, attempt_id, headers, key = _start(app, setup)  # the paper just drawn: its versions are kept
    _answer_all(client, attempt_id, headers, key)
    kept = app.extensions["exam_day_versions"]
    assert kept
    for version in list(kept):  # anything graded with what is kept now would fail
        kept[version] = hot._Version("no such type", None, None)
    with app.app_context():  # every version of the paper is now another one: the same id, another creation time
        db.session.execute(text("UPDATE question_versions SET created_at = :t WHERE id IN "
                                "(SELECT question_version_id FROM attempt_items WHERE attempt_id = :a)"),
                           {"t": utcnow() + timedelta(days=1), "a": attempt_id})
        db.session.commit()
    _submit(client, attempt_id, headers)
    assert _finished(app, attempt_id).score == _points(app, attempt_id)  # graded with the versions read now


@pytest.mark.parametrize("change", ["an answer saved", "the pass mark", "the deadline", "too long to sum"])
def test_a_grade_made_before_the_write_lock_is_made_again_under_it_when_anything_it_used_changed(
        app, setup, monkeypatch, change):
    """SQLite grades a submit before the write lock, and finishes with that grade only if the attempt, the exam's
    scoring and every answer's sequence number are as they were read (one UPDATE with the check inside);
    otherwise it grades again under the lock."""
    import json

    from exam.exams import hot
    from exam.exams.models import Exam
    from question_bank.models import QuestionVersion

    database = _sqlite_only(app)
    client, attempt_id, headers, key = _start(app, setup)
    _answer_all(client, attempt_id, headers, {p: r for p, r in key.items() if p != 1})  # position 1 unanswered
    points = _points(app, attempt_id)
    with app.app_context():
        first_points, right = db.session.execute(
            select(AttemptItem.points, QuestionVersion.answer).join(AttemptItem.version)
            .where(AttemptItem.attempt_id == attempt_id, AttemptItem.position == 1)).one()
        exam_id = db.session.get(Attempt, attempt_id).exam_id
    if change == "too long to sum":
        monkeypatch.setattr(hot, "_CHECKED_ITEMS_MAX", 0)
    real, calls = hot._read_and_grade, []

    def grade_then_something_changes(conn, owner, attempt_id_, now, *, lock):
        graded = real(conn, owner, attempt_id_, now, lock=lock)
        calls.append(lock)
        if len(calls) == 1:  # outside the lock: another worker changes what the grade used
            with sqlite3.connect(database) as other:
                if change == "an answer saved":
                    other.execute("UPDATE attempt_items SET response = ?, response_seq = response_seq + 1 "
                                  "WHERE attempt_id = ? AND position = 1", (json.dumps(right), attempt_id))
                elif change == "the pass mark":
                    other.execute("UPDATE exams SET pass_mark = ? WHERE id = ?", (points + 1, exam_id))
                elif change == "the deadline":
                    other.execute("UPDATE attempts SET deadline = datetime(deadline, '+10 minutes') WHERE id = ?",
                                  (attempt_id,))
        return graded

    monkeypatch.setattr(hot, "_read_and_grade", grade_then_something_changes)
    _submit(client, attempt_id, headers)
    assert calls == [False, True]  # graded before the lock, then again under it
    attempt = _finished(app, attempt_id)
    expected = points if change == "an answer saved" else points - first_points
    assert attempt.status == "submitted" and attempt.version == 2 and attempt.score == expected
    with app.app_context():
        pass_mark = db.session.get(Exam, exam_id).pass_mark
    assert attempt.passed == (expected >= pass_mark)


def test_an_unchanged_grade_made_before_the_write_lock_is_written_as_it_was_made(app, setup, monkeypatch):
    from exam.exams import hot

    _sqlite_only(app)
    client, attempt_id, headers, key = _start(app, setup)
    _answer_all(client, attempt_id, headers, key)
    real, calls = hot._read_and_grade, []
    monkeypatch.setattr(hot, "_read_and_grade", lambda *a, **k: calls.append(k["lock"]) or real(*a, **k))
    _submit(client, attempt_id, headers)
    assert calls == [False]  # graded once, outside the lock
    assert _finished(app, attempt_id).score == _points(app, attempt_id)


def test_a_first_submits_statements_are_parsed_once_per_process(app, setup, make_user, monkeypatch):
    """psycopg keeps its conversion of a statement's placeholders only up to a length (exam.core.db): the reports'
    upsert of a person's first result is longer than psycopg's own limit, and was parsed again by every submit."""
    with app.app_context():
        if db.engine.dialect.name != "postgresql":
            pytest.skip("psycopg's statement cache (PostgreSQL)")
    from psycopg import _queries

    client, attempt_id, headers, key = _start(app, setup)
    _answer_all(client, attempt_id, headers, key)
    _submit(client, attempt_id, headers)  # every statement of a first submit seen once
    other_client, other_id, other_headers, other_key = _start(app, setup, user=make_user("A0002"))
    _answer_all(other_client, other_id, other_headers, other_key)
    parsed: list[bytes] = []
    parse = _queries._query2pg_nocache
    monkeypatch.setattr(_queries, "_query2pg_nocache", lambda query, *args: parsed.append(query) or parse(
        query, *args))
    _submit(other_client, other_id, other_headers)
    assert parsed == []
    assert _finished(app, other_id).score == _points(app, other_id)


def test_the_next_group_writes_while_the_previous_one_syncs_and_each_is_answered_after_its_own_sync(
        app, setup, make_user, monkeypatch):
    import threading

    _sqlite_only(app)
    client, attempt_id, headers, key = _start(app, setup)
    other_client, other_id, other_headers, other_key = _start(app, setup, user=make_user("A0002"))
    first_syncing, release_first = threading.Event(), threading.Event()
    real_sync, synced = core_db.sync_wal, []

    def sync_wal(path):
        if not synced:  # the first group's sync is held until the second group has written and synced
            synced.append("first")
            first_syncing.set()
            assert release_first.wait(10)
        else:
            synced.append("second")
        real_sync(path)

    monkeypatch.setattr("exam.exams.hot.sync_wal", sync_wal)
    answers = {}

    def save(name, client_, attempt, headers_, response):
        answers[name] = client_.put(f"/api/v1/attempts/{attempt}/items/1", json={"response": response, "seq": 3},
                                    headers=headers_)

    first = threading.Thread(target=save, args=("first", client, attempt_id, headers, key[1]))
    first.start()
    assert first_syncing.wait(10)
    # the first save is committed, not yet synced, so not yet answered; the second writes and syncs meanwhile
    second = threading.Thread(target=save, args=("second", other_client, other_id, other_headers, other_key[1]))
    second.start()
    second.join(10)
    finished_meanwhile = "second" in answers
    release_first.set()
    first.join(10)
    second.join(10)
    assert finished_meanwhile, "the second group waited for the first group's sync"
    assert synced == ["first", "second"]
    for name in ("first", "second"):
        assert answers[name].status_code == 200 and answers[name].json["saved"]
    assert _stored(app, attempt_id, 1).response_seq == 3 and _stored(app, other_id, 1).response_seq == 3


@pytest.mark.parametrize("rows", [500, 3])
def test_every_award_of_a_paper_is_stored_whatever_the_statements_it_takes(app, setup, monkeypatch, rows):
    """SQLite stores a paper's awards a few hundred items per statement (hot._AWARD_ROWS); PostgreSQL in one."""
    from exam.exams import hot
    from tests.exams.test_api import count_statements

    monkeypatch.setattr(hot, "_AWARD_ROWS", rows)
    client, attempt_id, headers, key = _start(app, setup)
    wrong = max(key)  # one answer left blank: 0 points for it, full points for the others
    for position, response in key.items():
        if position != wrong:
            assert _save(client, attempt_id, headers, response, 1, position=position).json["saved"]
    with app.app_context():  # no grade stored with the answers (a paper drawn before they were): all are written
        db.session.execute(update(AttemptItem).where(AttemptItem.attempt_id == attempt_id).values(awarded=None))
        db.session.commit()
    with count_statements(app) as statements:
        _submit(client, attempt_id, headers)
    with app.app_context():
        items = db.session.scalars(select(AttemptItem).where(AttemptItem.attempt_id == attempt_id)).all()
        sqlite = db.engine.dialect.name == "sqlite"
    assert [(i.position, i.awarded) for i in items] == [
        (i.position, 0.0 if i.position == wrong else i.points) for i in items]
    awarding = [q for q in statements if q.startswith(("WITH v(id, awarded)", "UPDATE attempt_items SET awarded"))]
    assert len(awarding) == (-(-len(items) // rows) if sqlite else 0), awarding  # PostgreSQL: in the finish
    assert _finished(app, attempt_id).score == sum(i.points for i in items if i.position != wrong)


def _grades(app, attempt_id) -> dict[int, tuple]:
    """position -> (stored grade, the grade of the stored answer, points)."""
    with app.app_context():
        attempt = db.session.get(Attempt, attempt_id)
        partial = attempt.exam.multiple_scoring == "partial"
        return {item.position: (item.awarded, item.version.grade(item.response, item.points, partial), item.points)
                for item in ops.items_with_versions(attempt)}


@pytest.mark.parametrize("scoring", ["all_or_nothing", "partial"])
def test_each_save_stores_its_answers_grade_and_the_submit_writes_only_the_grades_that_differ(
        app, make_user, scoring):
    """A paper is drawn with every item's grade of no answer, each stored answer with its grade (the first save of
    an item, read first; a later one, the write alone; a save by the exam page), so the submit writes no grade
    unless a stored one differs from its own grading, which it corrects."""
    from tests.exams.test_api import count_statements

    examinee = make_user("A0001")
    with app.app_context():
        f.standard_bank()
        exam_id = f.published_exam(multiple_scoring=scoring).id
        db.session.commit()
    client, attempt_id, headers, key = _start(app, {"exam_id": exam_id, "examinee": examinee})
    grades = _grades(app, attempt_id)
    assert {stored for stored, _, _ in grades.values()} == {0.0}  # as drawn: no answer, no points
    multiple = next(p for p in key if isinstance(key[p], list) and len(key[p]) > 1)
    single = next(p for p in key if isinstance(key[p], str))
    subset = key[multiple][:1]  # a correct choice short of the answer: its share under partial scoring
    assert _save(client, attempt_id, headers, key[single], 1, position=single).json["saved"]  # read first
    assert _save(client, attempt_id, headers, subset, 1, position=multiple).json["saved"]
    assert _save(client, attempt_id, headers, None, 2, position=single).json["saved"]  # the write alone
    assert not _save(client, attempt_id, headers, key[single], 1, position=single).json["saved"]  # older: refused
    grades = _grades(app, attempt_id)
    assert grades[single][0] == 0.0
    assert grades[multiple][0] == (grades[multiple][2] / len(key[multiple]) if scoring == "partial" else 0.0)
    with app.app_context():  # the exam page's save
        ops.save_response(db.session.get(Attempt, attempt_id), single, key[single], 3)
        db.session.commit()
    for position, response in key.items():
        if position not in (single, multiple):
            assert _save(client, attempt_id, headers, response, 1, position=position).json["saved"]
    grades = _grades(app, attempt_id)
    assert all(stored == own for stored, own, _ in grades.values()), grades
    assert grades[single][0] == grades[single][2] > 0
    stale = next(p for p in key if p not in (single, multiple))
    with app.app_context():  # a stored grade out of date (written by anything but a save)
        db.session.execute(update(AttemptItem).where(AttemptItem.attempt_id == attempt_id,
                                                     AttemptItem.position == stale).values(awarded=0.25))
        db.session.commit()
        stale_id = _stored(app, attempt_id, stale).id
    with count_statements(app, parameters=True) as statements:
        _submit(client, attempt_id, headers)
    written = []
    for statement, sent in statements:
        if "WITH awards AS" in statement:  # PostgreSQL: the awards in the finish
            written += list(zip(sent["item_ids"], sent["awards"], strict=True))
        elif statement.startswith(("WITH v(id, awarded)", "UPDATE attempt_items SET awarded")):  # SQLite
            written += list(zip(sent[::2], sent[1::2], strict=True))
    assert written == [(stale_id, grades[stale][2])]
    grades = _grades(app, attempt_id)
    assert all(stored == own for stored, own, _ in grades.values()), grades
    finished = _finished(app, attempt_id)
    assert finished.status == "submitted" and finished.score == sum(stored for stored, _, _ in grades.values())


def test_sqlites_raw_read_of_a_paper_converts_every_column_as_the_models_do(app, setup):
    from exam.accounts.models import ApiToken
    from exam.exams import hot
    from exam.exams.models import Exam

    _sqlite_only(app)
    client, attempt_id, headers, key = _start(app, setup)
    _answer_all(client, attempt_id, headers, key)
    _submit(client, attempt_id, headers)  # finished: score, passed and band set
    token_hash = ApiToken.digest(headers["Authorization"].split()[1])
    with app.app_context():
        conn = db.session.connection()
        for params in ({"attempt_id": attempt_id, "token_hash": token_hash}, {"attempt_id": attempt_id,
                                                                             "user_id": setup["examinee"].id}):
            items, row = hot._read_paper_sqlite(conn, "token_hash" in params, params)
            attempt = db.session.get(Attempt, attempt_id)
            exam = db.session.get(Exam, attempt.exam_id)
            assert (row.id, row.status, row.deadline, row.finished_by, row.score, row.max_score, row.passed,
                    row.band) == (attempt.id, attempt.status, attempt.deadline, attempt.finished_by, attempt.score,
                                  attempt.max_score, attempt.passed, attempt.band)
            assert isinstance(row.passed, bool) and row.passed is True
            assert (row.multiple_scoring, row.pass_mark, row.show_results, row.closes_at, row.exam_status) == (
                exam.multiple_scoring, exam.pass_mark, exam.show_results, exam.closes_at, exam.status)
            stored = db.session.scalars(select(AttemptItem).where(AttemptItem.attempt_id == attempt_id)
                                        .order_by(AttemptItem.position)).all()
            assert [item[:6] for item in items] == [
                (i.id, i.response, i.response_seq, i.points, i.awarded, i.question_version_id) for i in stored]
        assert hot._read_paper_sqlite(conn, True, {"attempt_id": attempt_id, "token_hash": "no such token"}) == (
            [], None)
        db.session.rollback()


# --- submits that arrive together: one transaction (PostgreSQL) or one group commit (SQLite) ----------------

def _submitted_together(requests: list[tuple], queued: int | None = None) -> list:
    """Send the submits (client, attempt id, headers) at once while this process's turn to write them is held,
    and let it go once every one of them (or ``queued`` of them) is queued: the first thread to take the turn
    finishes them all."""
    from exam.exams import hot

    sqlite = db.engine.dialect.name == "sqlite"
    return _sent_together(
        [lambda client=client, attempt_id=attempt_id, headers=headers:
         client.post(f"/api/v1/attempts/{attempt_id}/submit", headers=headers)
         for client, attempt_id, headers in requests],
        (hot._sqlite_writes, hot._queue) if sqlite else (hot._pg_turn, hot._pg_submits), queued)


def _sent_together(sends: list, turn_and_queue: tuple, queued: int | None = None) -> list:
    """Run the requests (each a call giving its answer) in threads at once while the process's turn is held, and
    let it go once every one of them (or ``queued`` of them) is in the turn's queue."""
    import threading
    import time

    answers: list = [None] * len(sends)

    def send(i):
        answers[i] = sends[i]()

    threads = [threading.Thread(target=send, args=(i,)) for i in range(len(sends))]
    turn, queue = turn_and_queue
    with turn:
        for thread in threads:
            thread.start()
        waited = time.monotonic()
        while len(queue) < (len(sends) if queued is None else queued):
            assert time.monotonic() - waited < 10, "the requests did not queue"
            time.sleep(0.005)
    for thread in threads:
        thread.join(20)
    return answers


def _kept_as_rebuilt(app, exam_id) -> list:
    """The exam's kept report aggregates are those a rebuild from the raw rows gives (the sums up to the order
    of their additions); returns the people's results."""
    from exam.reports.item_stats import rebuild
    from tests.reports.test_item_stats import _kept, _same_sums

    with app.app_context():
        results, sums = _kept(exam_id)
        rebuild([exam_id])
        db.session.commit()
        rebuilt_results, rebuilt_sums = _kept(exam_id)
    assert results == rebuilt_results
    _same_sums(sums, rebuilt_sums)
    return results


def _marked(app, setup, make_user, username, wrong: int = 0):
    """An attempt started and answered: every item right except the first ``wrong`` (left blank)."""
    client, attempt_id, headers, key = _start(app, setup, user=make_user(username))
    for position in sorted(key)[wrong:]:
        assert _save(client, attempt_id, headers, key[position], 1, position=position).json["saved"]
    return client, attempt_id, headers


def _each_submitted_once(app, papers, answers) -> None:
    """Each paper answered as submitted, finished once, its score all but its blank items' points."""
    for (_client, attempt_id, _headers), answer in zip(papers, answers, strict=True):
        assert answer.status_code == 200 and answer.json["status"] == "submitted"
        attempt = _finished(app, attempt_id)
        assert attempt.version == 2
        assert answer.json["score"] == attempt.score == _points(app, attempt_id) - _blank_points(app, attempt_id)


def _blank_points(app, attempt_id) -> float:
    with app.app_context():
        items = db.session.scalars(select(AttemptItem).where(AttemptItem.attempt_id == attempt_id)).all()
        return sum(item.points for item in items if item.response is None)


def test_submits_arriving_together_are_written_together_each_graded_as_it_would_be_alone(app, setup, make_user):
    """PostgreSQL: one transaction of a fixed handful of statements for all of them; SQLite: one group commit, in
    which one statement finishes all of them (and reads their reports' lookup), one writes their awards, and two
    the reports' aggregates."""
    from tests.exams.test_api import count_statements

    first = _marked(app, setup, make_user, "A0009")
    _submit(*first)  # the exam's aggregates start from its first result
    papers = [_marked(app, setup, make_user, f"A001{n}", wrong=n) for n in range(4)]
    with app.app_context():  # two papers without the grades stored with their answers: theirs are written
        db.session.execute(update(AttemptItem).where(AttemptItem.attempt_id.in_([papers[0][1], papers[2][1]]))
                           .values(awarded=None))
        db.session.commit()
    with app.app_context(), count_statements(app) as statements:
        answers = _submitted_together(papers)
        sqlite = db.engine.dialect.name == "sqlite"
    aggregates = [s for s in statements if s.lstrip().startswith("INSERT INTO exam_results")]
    if sqlite:
        assert len(aggregates) == 1, aggregates  # every person's result in one, and their item sums in one:
        assert len([s for s in statements if s.startswith("INSERT INTO exam_item_stats")]) == 1, statements
        # under the write lock the finishes of all of them are one statement, and the awards of both papers one
        finishes = [s for s in statements if s.startswith(("UPDATE attempts SET status", "WITH v(attempt_id,"))]
        assert len(finishes) == 1 and finishes[0].startswith("WITH v(attempt_id,"), statements
        assert len([s for s in statements if s.startswith("WITH v(id, awarded)")]) == 1, statements
        assert not [s for s in statements if "e.counting_attempt, s.rule" in s], statements  # the lookup: read with
        # the finishes
    else:
        writes = [s for s in statements if s.lstrip().startswith(("WITH", "UPDATE", "INSERT"))]
        assert len(writes) == 2, writes  # the awards and finishes in one, the results in one (marked: their item
        # sums are added later, FOLD_EVERY first results at a time)
        assert aggregates == [writes[1]], writes
        assert len(statements) <= 5, statements  # and the locked read, the items' read, perhaps the versions'
    for (_client, attempt_id, _headers), answer in zip(papers, answers, strict=True):
        attempt = _finished(app, attempt_id)
        assert answer.status_code == 200 and answer.json["status"] == "submitted"
        assert attempt.status == "submitted" and attempt.version == 2
        with app.app_context():
            items = db.session.scalars(select(AttemptItem).where(AttemptItem.attempt_id == attempt_id)
                                       .order_by(AttemptItem.position)).all()
            wrong = sum(1 for item in items if item.response is None)
            assert [item.awarded for item in items] == [0.0] * wrong + [item.points for item in items[wrong:]]
        assert answer.json["score"] == attempt.score == sum(item.points for item in items[wrong:])
        assert answer.json["passed"] == attempt.passed
    assert [a.json["score"] for a in answers] == sorted((a.json["score"] for a in answers), reverse=True)
    assert len(_kept_as_rebuilt(app, setup["exam_id"])) == 5


def test_each_submit_arriving_together_is_answered_as_if_alone_whatever_its_attempt(app, setup, make_user):
    from exam.accounts.models import ApiToken

    _submit(*_marked(app, setup, make_user, "A0009"))
    open_ = _marked(app, setup, make_user, "A0010")
    finished = _marked(app, setup, make_user, "A0011")
    before = _submit(*finished).json
    twice = _marked(app, setup, make_user, "A0012", wrong=2)
    revoked = _marked(app, setup, make_user, "A0013")
    with app.app_context():
        token = db.session.scalars(select(ApiToken).where(
            ApiToken.token_hash == ApiToken.digest(revoked[2]["Authorization"].split()[1]))).one()
        token.revoked_at = utcnow()
        db.session.commit()
    intruder = _marked(app, setup, make_user, "A0014")
    others = (intruder[0], open_[1], intruder[2])  # another person's token on this attempt
    with app.app_context():
        # SQLite reads and grades before its turn: only the open attempts' submits queue
        queued = 3 if db.engine.dialect.name == "sqlite" else 6
        answers = _submitted_together([open_, finished, twice, twice, revoked, others], queued)
    assert [a.status_code for a in answers] == [200, 200, 200, 200, 401, 404]
    assert answers[0].json["status"] == "submitted" and answers[0].json["score"] == _points(app, open_[1])
    assert answers[1].json == before
    assert answers[2].json == answers[3].json and answers[2].json["status"] == "submitted"
    for attempt_id, version in ((open_[1], 2), (finished[1], 2), (twice[1], 2), (revoked[1], 1)):
        assert _finished(app, attempt_id).version == version
    assert _finished(app, revoked[1]).status == "in_progress"
    _kept_as_rebuilt(app, setup["exam_id"])


def test_when_what_follows_submits_written_together_fails_nothing_of_them_is_kept_and_each_is_written_alone(
        app, setup, make_user, monkeypatch):
    _submit(*_marked(app, setup, make_user, "A0009"))
    papers = [_marked(app, setup, make_user, f"A001{n}", wrong=n) for n in range(3)]
    together_failed, follow = [], ops.attempts_finished

    def fail_together(attempt_ids, looked_up=None):  # after the attempts' awards and finishes were written
        if len(attempt_ids) == 1:
            return follow(attempt_ids, looked_up)
        together_failed.append(sorted(attempt_ids))
        raise RuntimeError("the reports' aggregates could not be written")

    monkeypatch.setattr(ops, "attempts_finished", fail_together)
    with app.app_context():
        answers = _submitted_together(papers)
    assert together_failed == [sorted(attempt_id for _, attempt_id, _ in papers)]
    _each_submitted_once(app, papers, answers)
    assert len(_kept_as_rebuilt(app, setup["exam_id"])) == 4


def test_a_submit_that_fails_in_a_group_written_together_fails_alone_and_is_answered_again(
        app, setup, make_user, monkeypatch, flask_calls):
    """SQLite: a submit that the group's statement does not finish (its attempt changed since the grade) runs its
    own finish right after it, without a savepoint (its one write either happened or not); when that fails, the
    others of its group are written, and the Flask route answers it again."""
    from sqlalchemy import event

    from exam.exams import hot

    _sqlite_only(app)
    _submit(*_marked(app, setup, make_user, "A0009"))
    papers = [_marked(app, setup, make_user, f"A001{n}", wrong=n) for n in range(3)]
    failing, write_finish, failed = papers[1][1], hot._write_finish, []
    finish_together = hot._finish_together_sqlite

    def changed_since_its_grade(conn, finishes):  # the statement leaves the failing one's attempt as it was
        return finish_together(conn, [finish for finish in finishes if finish.attempt_id != failing])

    def fail_once(conn, attempt_id, graded, now, **kwargs):
        if attempt_id == failing and not failed:
            failed.append(attempt_id)
            raise RuntimeError("this submit fails")
        return write_finish(conn, attempt_id, graded, now, **kwargs)

    monkeypatch.setattr(hot, "_write_finish", fail_once)
    monkeypatch.setattr(hot, "_finish_together_sqlite", changed_since_its_grade)
    savepoints = []
    with app.app_context():
        engine = db.engine

    def before(conn, cursor, statement, *args):
        if statement.startswith(("SAVEPOINT", "RELEASE", "ROLLBACK TO")):
            savepoints.append(statement)

    event.listen(engine, "before_cursor_execute", before)
    flask_calls.clear()
    try:
        with app.app_context():
            answers = _submitted_together(papers)
    finally:
        event.remove(engine, "before_cursor_execute", before)
    assert failed == [failing] and savepoints == []
    assert flask_calls == [f"POST /api/v1/attempts/{failing}/submit"]  # the others answered by their group
    _each_submitted_once(app, papers, answers)
    assert len(_kept_as_rebuilt(app, setup["exam_id"])) == 4


def test_when_the_statement_finishing_a_group_together_fails_each_submit_is_written_alone(
        app, setup, make_user, monkeypatch, flask_calls):
    """SQLite: when the one statement that finishes a group's submits fails, nothing of the group is kept and it runs
    again job by job, each submit in its own savepoint; every one is finished once and answered by the fast path."""
    from exam.exams import hot

    _sqlite_only(app)
    _submit(*_marked(app, setup, make_user, "A0009"))
    papers = [_marked(app, setup, make_user, f"A001{n}", wrong=n) for n in range(3)]
    finish_together, failed = hot._finish_together_sqlite, []

    def fail_once(conn, finishes):
        if not failed:
            failed.append(sorted(finish.attempt_id for finish in finishes))
            finish_together(conn, finishes)  # written, then the statement fails: undone with the group
            raise RuntimeError("the group's finishes could not be written")
        return finish_together(conn, finishes)

    monkeypatch.setattr(hot, "_finish_together_sqlite", fail_once)
    flask_calls.clear()
    with app.app_context():
        answers = _submitted_together(papers)
    assert failed == [sorted(attempt_id for _, attempt_id, _ in papers)]
    assert flask_calls == []
    _each_submitted_once(app, papers, answers)
    assert len(_kept_as_rebuilt(app, setup["exam_id"])) == 4


# --- saves that arrive together: one statement in autocommit (PostgreSQL) ------------------------------------

def _postgresql_only(app) -> None:
    with app.app_context():
        if db.engine.dialect.name != "postgresql":
            pytest.skip("PostgreSQL's saves written together (SQLite's group commit is tested above)")


def _saved_together(app, saves: list[tuple], queued: int | None = None) -> list:
    """Send the saves (client, attempt id, headers, position, response, seq) at once while this process's save
    turn is held: the first thread to take it writes them all."""
    from exam.exams import hot

    def send(client, attempt_id, headers, position, response, seq, flagged=None):
        return _save(client, attempt_id, headers, response, seq, position=position, flagged=flagged)

    with app.app_context():
        return _sent_together([lambda save=save: send(*save) for save in saves], (hot._pg_save_turn, hot._pg_saves),
                              queued)


def _known(app, setup, make_user, username):
    """An attempt whose items this process knows (the examinee opened the paper): (client, attempt id, headers,
    key)."""
    client, attempt_id, headers, key = _start(app, setup, user=make_user(username))
    assert client.get(f"/api/v1/attempts/{attempt_id}", headers=headers).status_code == 200
    return client, attempt_id, headers, key


def _shown(client, attempt_id, headers, position):
    """The item's answer as the paper shows it to the examinee (in the displayed order of its options)."""
    items = client.get(f"/api/v1/attempts/{attempt_id}", headers=headers).json["items"]
    return next(item["response"] for item in items if item["position"] == position)


def test_saves_arriving_together_are_one_statement_each_stored_as_it_would_be_alone(app, setup, make_user,
                                                                                   flask_calls):
    from tests.exams.test_api import count_statements

    _postgresql_only(app)
    papers = [_known(app, setup, make_user, f"A002{n}") for n in range(4)]
    before = utcnow()
    flask_calls.clear()
    with count_statements(app) as statements:
        answers = _saved_together(app, [(client, attempt_id, headers, 2, key[2], 5)
                                        for client, attempt_id, headers, key in papers])
    assert len(statements) == 1 and "unnest" in statements[0], statements  # the four in one
    assert flask_calls == []
    for (client, attempt_id, headers, key), answer in zip(papers, answers, strict=True):
        assert answer.status_code == 200 and answer.json["saved"] is True and answer.json["seq"] == 5
        item = _stored(app, attempt_id, 2)
        assert _shown(client, attempt_id, headers, 2) == key[2] and item.response_seq == 5
        assert item.saved_at.strftime("%Y-%m-%dT%H:%M:%SZ") == answer.json["saved_at"]
        with app.app_context():
            assert db.session.get(Attempt, attempt_id).last_saved_at >= before


def test_each_save_arriving_together_is_answered_as_if_alone_whatever_its_attempt(app, setup, make_user,
                                                                                 flask_calls):
    """One batch holds: a save, an older save of an item (not stored: the stored one said), a second save of the
    same attempt (written alone after the batch), a flag, a save past the deadline (409), one with a revoked
    token (401) and one with another person's token (404). Only the successes are the fast path's."""
    from exam.accounts.models import ApiToken

    _postgresql_only(app)
    plain, older, twice, flagged, late, revoked, others, victim = (
        _known(app, setup, make_user, f"A003{n}") for n in range(8))
    assert _save(older[0], older[1], older[2], older[3][3], 9, position=3).json["saved"]
    with app.app_context():
        db.session.get(Attempt, late[1]).deadline = utcnow() - timedelta(minutes=10)
        for token in db.session.scalars(select(ApiToken).where(ApiToken.user_id == db.session.get(
                Attempt, revoked[1]).user_id)):
            token.revoked_at = utcnow()
        db.session.commit()
    saves = [(plain[0], plain[1], plain[2], 2, plain[3][2], 5),
             (older[0], older[1], older[2], 3, None, 4),
             (twice[0], twice[1], twice[2], 2, twice[3][2], 5),
             (twice[0], twice[1], twice[2], 3, twice[3][3], 6),
             (flagged[0], flagged[1], flagged[2], 2, flagged[3][2], 5, True),
             (late[0], late[1], late[2], 2, late[3][2], 5),
             (revoked[0], revoked[1], revoked[2], 2, revoked[3][2], 5),
             (others[0], victim[1], others[2], 2, None, 7)]  # another person's token on an attempt
    flask_calls.clear()
    answers = _saved_together(app, saves)
    assert [a.status_code for a in answers] == [200, 200, 200, 200, 200, 409, 401, 404]
    assert [a.json.get("saved") for a in answers[:5]] == [True, False, True, True, True]
    assert answers[1].json["seq"] == 9 and answers[5].json["error"]["code"] == "deadline_passed"
    assert sorted(flask_calls) == sorted(f"PUT /api/v1/attempts/{attempt_id}/items/2"
                                         for attempt_id in (late[1], revoked[1], victim[1]))
    assert _stored(app, flagged[1], 2).flagged is True and _stored(app, plain[1], 2).flagged is False
    assert _shown(*plain[:3], 2) == plain[3][2] and _stored(app, plain[1], 2).response_seq == 5
    assert _stored(app, older[1], 3).response_seq == 9 and _shown(*older[:3], 3) == older[3][3]
    assert [_stored(app, twice[1], p).response_seq for p in (2, 3)] == [5, 6]
    for attempt_id in (late[1], revoked[1], victim[1]):
        assert _stored(app, attempt_id, 2).response_seq == 0
    # each answer stored with its grade (the keys' answers: full points), the others' grades as drawn
    for attempt_id, position in ((plain[1], 2), (twice[1], 2), (twice[1], 3), (flagged[1], 2)):
        stored = _stored(app, attempt_id, position)
        assert stored.awarded == stored.points > 0
    for attempt_id in (late[1], revoked[1], victim[1]):
        assert _stored(app, attempt_id, 2).awarded == 0.0


def test_when_saves_written_together_fail_each_is_written_alone(app, setup, make_user, monkeypatch, flask_calls):
    """The saves' one statement either wrote all of them or nothing; when it fails, each runs alone."""
    from exam.exams import hot

    _postgresql_only(app)
    papers = [_known(app, setup, make_user, f"A004{n}") for n in range(3)]
    failed = []

    def fail(jobs):
        failed.append(sorted(job.attempt_id for job in jobs))
        raise RuntimeError("the saves could not be written together")

    monkeypatch.setattr(hot, "_saves_known_pg", fail)
    flask_calls.clear()
    answers = _saved_together(app, [(client, attempt_id, headers, 2, key[2], 5)
                                    for client, attempt_id, headers, key in papers])
    assert failed == [sorted(attempt_id for _, attempt_id, _, _ in papers)]
    assert flask_calls == [] and all(a.status_code == 200 and a.json["saved"] for a in answers)
    for client, attempt_id, headers, key in papers:
        assert _shown(client, attempt_id, headers, 2) == key[2] and _stored(app, attempt_id, 2).response_seq == 5


# --- what the statements written together read (PostgreSQL) ----------------------------------------------

CROWD = 1_000


def _crowd(app, exam_id: int, like_attempt: int, count: int = CROWD) -> None:
    """``count`` other examinees, each with a live token and an attempt on the exam, half of them in progress and
    half finished, written in bulk (copies of the rows of ``like_attempt`` and its examinee)."""
    import hashlib

    from sqlalchemy import func, insert

    from exam.accounts.models import ApiToken, User

    with app.app_context():
        conn = db.session.connection()
        attempts, users, tokens = Attempt.__table__, User.__table__, ApiToken.__table__
        attempt = dict(conn.execute(select(attempts).where(attempts.c.id == like_attempt)).mappings().one())
        user = dict(conn.execute(select(users).where(users.c.id == attempt["user_id"])).mappings().one())
        first_user = conn.execute(select(func.max(users.c.id))).scalar() + 1
        first_attempt = conn.execute(select(func.max(attempts.c.id))).scalar() + 1
        ids = range(first_user, first_user + count)
        conn.execute(insert(users), [dict(user, id=i, username=f"C{i:05d}") for i in ids])
        conn.execute(insert(tokens), [{"user_id": i, "token_hash": hashlib.sha256(f"crowd {i}".encode()).hexdigest(),
                                       "created_at": utcnow()} for i in ids])
        finished = {"status": "submitted", "finished_at": utcnow(), "finished_by": "examinee", "score": 0.0,
                    "passed": False}
        conn.execute(insert(attempts), [dict(attempt, id=first_attempt + k, user_id=i, exam_id=exam_id,
                                             **(finished if k % 2 else {})) for k, i in enumerate(ids)])
        for table, column in (("users", "id"), ("attempts", "id")):
            conn.exec_driver_sql(f"SELECT setval(pg_get_serial_sequence('{table}', '{column}'), "
                                 f"(SELECT max({column}) FROM {table}))")
        db.session.commit()


def _rows_read(app, statement: str, parameters, relations=("attempts", "api_tokens", "users", "exam_results")) -> dict:
    """The rows the statement reads from each of ``relations`` (every row a scan returned or removed), from
    PostgreSQL's EXPLAIN ANALYZE (its JSON decoded by psycopg), in a transaction rolled back."""
    def walk(node, found):
        if node.get("Relation Name") in relations:
            loops = node.get("Actual Loops", 1)
            read = node.get("Actual Rows", 0) + node.get("Rows Removed by Filter", 0) + node.get(
                "Rows Removed by Index Recheck", 0)
            found[node["Relation Name"]] = found.get(node["Relation Name"], 0) + read * loops
        for child in node.get("Plans", []):
            walk(child, found)
        return found

    with app.app_context():
        conn = db.engine.connect()
        try:
            plan = conn.exec_driver_sql("EXPLAIN (ANALYZE, FORMAT JSON) " + statement, parameters).scalar()
        finally:
            conn.rollback()
            conn.close()
    return walk(plan[0]["Plan"], {})


def test_saves_and_submits_written_together_read_only_their_own_attempts_and_owners(app, setup, make_user):
    """Among a thousand other examinees with live tokens and attempts on the exam (open or finished), the
    statements that write the saves and the submits of a batch read the rows of the batch's attempts and owners,
    not every attempt, token or user: a batch's cost does not grow with the staff or the exam, whatever the
    statistics say (these tables were never analysed, as on an exam day the new exam's rows are not yet)."""
    from tests.exams.test_api import count_statements

    _postgresql_only(app)
    _submit(*_marked(app, setup, make_user, "A0059"))  # the exam's aggregates start from its first result
    papers = [_known(app, setup, make_user, f"A005{n}") for n in range(4)]
    _crowd(app, setup["exam_id"], papers[0][1])
    with count_statements(app, parameters=True) as sent:
        saved = _saved_together(app, [(client, attempt_id, headers, 2, key[2], 5)
                                      for client, attempt_id, headers, key in papers])
        with app.app_context():
            submitted = _submitted_together([paper[:3] for paper in papers])
    assert all(answer.json["saved"] for answer in saved)
    assert all(answer.json["status"] == "submitted" for answer in submitted)
    together = [(statement, parameters) for statement, parameters in sent if "unnest" in statement or "ANY (" in
                statement or "ANY(" in statement]
    kinds = ("touched AS", "FOR UPDATE", "WITH awards AS", "INSERT INTO exam_results")  # the saves; the submits'
    # locked read, their awards and finishes, their first results (marked: their item sums are added later)
    assert all(any(kind in statement for statement, _ in together) for kind in kinds), [s for s, _ in together]
    for statement, parameters in together:
        read = _rows_read(app, statement, parameters)
        assert all(rows <= 3 * len(papers) for rows in read.values()), (read, statement)
