from __future__ import annotations

from contextlib import contextmanager
from datetime import timedelta

import pytest
from sqlalchemy import event, select

from exam.core.timeutil import utcnow
from exam.exams import operations as ops
from exam.exams.models import Attempt, AttemptItem, Exam
from exam.extensions import db
from tests.exams import factories as f

ISSUE_JSON = {
    "title": "2026年度行政执法资格考试(公共法律知识)", "purpose": "qualification",
    "certificate_category": "质量技术监督", "time_limit_minutes": 90,
    "opens_at": "2026-12-01T09:00:00+08:00", "closes_at": "2026-12-01T11:00:00+08:00",
    "max_attempts": 2, "counting_attempt": "best", "pass_mark": 60,
    "bands": {"优秀": 90, "良好": 80, "合格": 60}, "multiple_scoring": "all_or_nothing",
    "show_results": "immediately", "show_answers": "after_close", "focus_loss_limit": 3,
    "audience": {"everyone": False, "departments": ["稽查科"], "users": ["A0012"]},
    "sections": [
        {"title": "单项选择题", "type": "single", "count": 40, "points": 1,
         "categories": ["公共法律知识"], "tags": [], "laws": [], "difficulty": [1, 5]},
        {"title": "多项选择题", "type": "multiple", "count": 20, "points": 2, "categories": ["公共法律知识"]},
        {"title": "判断题", "type": "true_false", "count": 20, "points": 1, "categories": ["公共法律知识"]}]}


def _token_submit_budget(app) -> int:
    """The statements of a bearer-token submit, the exam's first (exam/exams/hot.py, exam/reports/item_stats.py).

    PostgreSQL: the attempt locked with its owner, its items, the finish (awards, attempt and the reports' lookup in
    one statement), the person's result row (marked: its item sums are added later, with other people's), the
    aggregates' state row (an exam's first result).
    SQLite: the attempt with its items (one read, before the write lock), the finish (checking the grade still
    holds, and reading the reports' lookup), the state row, the result row, the item sums. No awards on either: the
    grades were stored with the answers (a paper is drawn with the grade of no answer). The question versions are
    kept by the process that drew the paper: not read again."""
    return 5


@contextmanager
def count_statements(app, *, parameters: bool = False):
    """The statements sent inside the block (without BEGIN, PRAGMA, SAVEPOINT, RELEASE); with ``parameters``, each
    as (statement, its parameters as sent)."""
    statements = []

    def before(conn, cursor, statement, sent, *args):
        if not statement.lstrip().upper().startswith(("BEGIN", "PRAGMA", "SAVEPOINT", "RELEASE")):
            statements.append((statement, sent) if parameters else statement)

    with app.app_context():
        engine = db.engine
    event.listen(engine, "before_cursor_execute", before)
    try:
        yield statements
    finally:
        event.remove(engine, "before_cursor_execute", before)


@pytest.fixture
def setup(app, make_user):
    """A published exam open now, an examinee and a legal officer."""
    examinee = make_user("A0001")
    legal = make_user("L0001", roles=["legal"])
    with app.app_context():
        f.standard_bank()
        exam = f.published_exam()
        db.session.commit()
        exam_id = exam.id
    return {"exam_id": exam_id, "examinee": examinee, "legal": legal}


def _key(app, attempt_id):
    with app.app_context():
        attempt = db.session.get(Attempt, attempt_id)
        key = {}
        for item in ops.items_with_versions(attempt):
            answer = item.version.answer
            key[item.position] = ops.to_displayed(item, answer) if item.version.type in ("single", "multiple") \
                else answer
        return key


def test_create_from_the_issue_json_then_export_gives_the_same_json(app, client, make_user):
    make_user("A0012")
    legal = make_user(roles=["legal"])
    with app.app_context():
        f.category("公共法律知识")
        db.session.commit()
    client.login_as(legal)
    response = client.write_json("POST", "/api/v1/exams", ISSUE_JSON)
    assert response.status_code == 201, response.json
    exam_id = response.json["id"]
    exported = client.get(f"/api/v1/exams/{exam_id}").json
    for key, value in ISSUE_JSON.items():
        if key == "sections":
            for sent, got in zip(value, exported["sections"], strict=True):
                assert {k: v for k, v in got.items() if k in sent} == sent
        elif key == "audience":
            assert exported["audience"]["users"] == ["A0012"] and exported["audience"]["everyone"] is False
            assert exported["audience"]["departments"][0].endswith("稽查科")
        else:
            assert exported[key] == value, key
    with app.app_context():
        exam = db.session.get(Exam, exam_id)
        assert exam.opens_at.hour == 1 and exam.status == "draft"  # 09:00+08:00 stored as 01:00 UTC


def test_create_rejects_bad_json_with_422_and_stores_nothing(app, client, make_user):
    client.login_as(make_user(roles=["legal"]))
    bad = [dict(ISSUE_JSON, purpose="party"), dict(ISSUE_JSON, closes_at="2026-11-30T09:00:00+08:00"),
           dict(ISSUE_JSON, sections=[]), dict(ISSUE_JSON, pass_mark=1000), ISSUE_JSON]  # last: unknown names
    for body in bad:
        response = client.write_json("POST", "/api/v1/exams", body)
        assert response.status_code == 422, body
        assert response.json["error"]["message"]
    with app.app_context():
        assert db.session.scalar(select(Exam.id)) is None


def test_publish_answers_422_with_the_short_sections(app, client, make_user):
    client.login_as(make_user(roles=["legal"]))
    with app.app_context():
        f.standard_bank(single=3)
        exam = ops.create_exam(f.exam_data(), None)
        db.session.commit()
        exam_id = exam.id
    response = client.write_json("POST", f"/api/v1/exams/{exam_id}/publish")
    assert response.status_code == 422
    assert [(d["title"], d["short_by"]) for d in response.json["error"]["details"]] == [
        ("单项选择题", 1), ("多项选择题", 2), ("判断题", 2)]


def test_examinee_takes_an_exam_through_the_api(app, client, setup):
    client.login_as(setup["examinee"])
    started = client.write_json("POST", f"/api/v1/exams/{setup['exam_id']}/attempts", {"deadline": "2099-01-01"})
    assert started.status_code == 201
    body = started.json
    assert set(body) >= {"id", "exam_id", "status", "deadline", "server_time", "remaining_seconds", "items"}
    assert 3590 <= body["remaining_seconds"] <= 3600
    assert all(set(i) >= {"position", "type", "stem", "options", "points", "response"} for i in body["items"])
    assert "answer" not in started.get_data(as_text=True)
    key = _key(app, body["id"])
    for position, answer in key.items():
        saved = client.write_json("PUT", f"/api/v1/attempts/{body['id']}/items/{position}",
                                  {"response": answer, "seq": 1, "score": 100})
        assert saved.status_code == 200 and saved.json["saved"] is True
    again = client.write_json("POST", f"/api/v1/exams/{setup['exam_id']}/attempts")
    assert again.json["id"] == body["id"]  # resumed
    assert [i["response"] for i in again.json["items"]] == [key[p] for p in sorted(key)]
    done = client.write_json("POST", f"/api/v1/attempts/{body['id']}/submit", {"score": 0, "passed": False})
    assert done.status_code == 200
    assert done.json == {"status": "submitted", "finished_by": "examinee", "score": 10.0, "max_score": 10.0,
                         "passed": True, "band": "优秀"}
    late = client.write_json("PUT", f"/api/v1/attempts/{body['id']}/items/1", {"response": "A", "seq": 2})
    assert late.status_code == 409 and late.json["error"]["message"]


def test_score_fields_are_hidden_when_results_are_not_shown_yet(app, client, make_user):
    user = make_user()
    with app.app_context():
        f.standard_bank()
        exam = f.published_exam(show_results="after_close")
        db.session.commit()
        exam_id = exam.id
    client.login_as(user)
    attempt_id = client.write_json("POST", f"/api/v1/exams/{exam_id}/attempts").json["id"]
    done = client.write_json("POST", f"/api/v1/attempts/{attempt_id}/submit")
    assert done.json["status"] == "submitted" and "score" not in done.json and "passed" not in done.json


def test_bad_saves_get_clear_4xx_and_store_nothing(app, client, setup):
    client.login_as(setup["examinee"])
    attempt_id = client.write_json("POST", f"/api/v1/exams/{setup['exam_id']}/attempts").json["id"]
    url = f"/api/v1/attempts/{attempt_id}/items"
    cases = [
        (f"{url}/99", {"response": "A", "seq": 1}, 404),  # position not in the paper
        (f"{url}/1", {"response": "Z", "seq": 1}, 422),  # option key not in the question
        (f"{url}/1", {"response": ["A"], "seq": 1}, 422),  # a list for a single choice
        (f"{url}/5", {"response": ["A"] * 10_000, "seq": 1}, 422),  # 10,000 answers in one request
        (f"{url}/5", {"response": ["A"] * 100_000, "seq": 1}, 413),  # a body over the cap is not even parsed
        (f"{url}/5", {"response": ["A", "B", "A", "B", "A"], "seq": 1}, 422),
        (f"{url}/1", {"response": "A"}, 422),  # no seq
        (f"{url}/1", {"response": "A", "seq": "x"}, 422),
        (f"{url}/7", {"response": "true", "seq": 1}, 422),
    ]
    for path, body, status in cases:
        response = client.write_json("PUT", path, body)
        assert response.status_code == status, (path, body, response.json)
        assert response.json["error"]["message"]
    with app.app_context():
        assert all(r is None for r in db.session.scalars(select(AttemptItem.response)))


def test_a_late_save_is_409_and_reading_the_attempt_finishes_it(app, client, setup):
    client.login_as(setup["examinee"])
    attempt_id = client.write_json("POST", f"/api/v1/exams/{setup['exam_id']}/attempts").json["id"]
    assert client.write_json("PUT", f"/api/v1/attempts/{attempt_id}/items/1", {"response": "A", "seq": 1}).json[
        "saved"]
    with app.app_context():
        attempt = db.session.get(Attempt, attempt_id)
        attempt.started_at -= timedelta(hours=2)
        attempt.deadline -= timedelta(hours=2)
        db.session.commit()
    late = client.write_json("PUT", f"/api/v1/attempts/{attempt_id}/items/2", {"response": "A", "seq": 1})
    assert late.status_code == 409
    body = client.get(f"/api/v1/attempts/{attempt_id}").json
    assert body["status"] == "expired" and body["remaining_seconds"] == 0
    assert body["items"][0]["response"] == "A" and body["items"][1]["response"] is None


def test_start_outside_the_window_or_beyond_attempts_is_refused(app, client, make_user):
    user = make_user()
    with app.app_context():
        f.standard_bank()
        now = utcnow()
        early = f.published_exam(opens_at=now + timedelta(hours=1), closes_at=now + timedelta(hours=3))
        late = f.published_exam(opens_at=now - timedelta(hours=3), closes_at=now - timedelta(hours=1))
        once = f.published_exam(max_attempts=1)
        db.session.commit()
        ids = early.id, late.id, once.id
    client.login_as(user)
    for exam_id, code in zip(ids[:2], ("not_open_yet", "closed"), strict=True):
        response = client.write_json("POST", f"/api/v1/exams/{exam_id}/attempts")
        assert response.status_code == 422 and response.json["error"]["code"] == code
    attempt_id = client.write_json("POST", f"/api/v1/exams/{ids[2]}/attempts").json["id"]
    client.write_json("POST", f"/api/v1/attempts/{attempt_id}/submit")
    response = client.write_json("POST", f"/api/v1/exams/{ids[2]}/attempts")
    assert response.status_code == 422 and response.json["error"]["code"] == "no_attempts_left"
    with app.app_context():
        assert db.session.scalar(select(Attempt.id).where(Attempt.exam_id != ids[2])) is None


def test_another_persons_attempt_is_404_everywhere(app, client, setup, make_user):
    client.login_as(setup["examinee"])
    attempt_id = client.write_json("POST", f"/api/v1/exams/{setup['exam_id']}/attempts").json["id"]
    client.login_as(make_user())
    assert client.get(f"/api/v1/attempts/{attempt_id}").status_code == 404
    assert client.write_json("PUT", f"/api/v1/attempts/{attempt_id}/items/1",
                             {"response": "A", "seq": 1}).status_code == 404
    assert client.write_json("POST", f"/api/v1/attempts/{attempt_id}/submit").status_code == 404
    assert client.write_json("POST", f"/api/v1/attempts/{attempt_id}/events", {}).status_code == 404


def test_focus_events_past_the_limit_submit_through_the_api(app, client, make_user):
    user = make_user()
    with app.app_context():
        f.standard_bank()
        exam_id = f.published_exam(focus_loss_limit=1).id
        db.session.commit()
    client.login_as(user)
    attempt_id = client.write_json("POST", f"/api/v1/exams/{exam_id}/attempts").json["id"]
    first = client.write_json("POST", f"/api/v1/attempts/{attempt_id}/events", {"kind": "hidden"})
    assert first.json == {"focus_losses": 1, "focus_loss_limit": 1, "status": "in_progress"}
    second = client.write_json("POST", f"/api/v1/attempts/{attempt_id}/events", {"kind": "blur"})
    assert second.json["status"] == "submitted"


def test_legal_lists_attempts_and_grants_extra_time(app, client, setup):
    client.login_as(setup["examinee"])
    started = client.write_json("POST", f"/api/v1/exams/{setup['exam_id']}/attempts").json
    client.login_as(setup["legal"])
    listed = client.get(f"/api/v1/exams/{setup['exam_id']}/attempts").json
    assert [(a["id"], a["status"], a["user"]) for a in listed] == [(started["id"], "in_progress", "A0001")]
    more = client.write_json("POST", f"/api/v1/attempts/{started['id']}/extra-time", {"minutes": 10})
    assert more.status_code == 200 and more.json["remaining_seconds"] > started["remaining_seconds"] + 500


def test_hot_routes_stay_within_their_query_budget(app, client, setup):
    client.login_as(setup["examinee"])
    token = client.csrf_token()
    headers = {"X-CSRFToken": token}
    with count_statements(app) as start:
        attempt_id = client.post(f"/api/v1/exams/{setup['exam_id']}/attempts", json={}, headers=headers).json["id"]
    with count_statements(app) as get:
        client.get(f"/api/v1/attempts/{attempt_id}")
    with count_statements(app) as save:
        assert client.put(f"/api/v1/attempts/{attempt_id}/items/1", json={"response": "A", "seq": 1},
                          headers=headers).json["saved"]
    with count_statements(app) as submit:
        assert client.post(f"/api/v1/attempts/{attempt_id}/submit", json={}, headers=headers).status_code == 200
    # submit: the user, then as with a token (below)
    budgets = {"start": (start, 12), "get": (get, 3), "autosave": (save, 4),
               "submit": (submit, 1 + _token_submit_budget(app))}
    over = {name: len(s) for name, (s, limit) in budgets.items() if len(s) > limit}
    assert not over, "\n".join(f"{name}: {q[:100]}" for name, (s, _) in budgets.items() for q in s)


def test_two_submits_at_once_through_the_api_score_once(app, setup):
    """Two requests in two threads (as two server workers would run them) submit the same attempt."""
    import threading

    clients = [app.test_client() for _ in range(2)]
    for c in clients:
        c.login_as(setup["examinee"])
    attempt_id = clients[0].write_json("POST", f"/api/v1/exams/{setup['exam_id']}/attempts").json["id"]
    tokens = [c.csrf_token() for c in clients]
    barrier = threading.Barrier(2)
    statuses = []

    def submit(c, token):
        barrier.wait(timeout=10)
        statuses.append(c.post(f"/api/v1/attempts/{attempt_id}/submit", json={}, headers={"X-CSRFToken": token})
                        .status_code)

    threads = [threading.Thread(target=submit, args=pair) for pair in zip(clients, tokens, strict=True)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert statuses == [200, 200]
    with app.app_context():
        attempt = db.session.get(Attempt, attempt_id)
        assert attempt.status == "submitted" and attempt.version == 2


def test_ids_too_large_for_the_database_are_404_not_500(app, client, make_user):
    client.login_as(make_user(roles=["legal"]))
    big = 10**30
    for method, url in [("GET", f"/api/v1/attempts/{big}"), ("PUT", f"/api/v1/attempts/1/items/{big}"),
                        ("POST", f"/api/v1/exams/{big}/attempts"), ("GET", f"/attempts/{big}"),
                        ("GET", f"/exams/{big}/manage"), ("GET", f"/practice/questions/{big}")]:
        response = client.open(url, method=method, json={"response": "A", "seq": 1} if method != "GET" else None,
                               headers={"X-CSRFToken": client.csrf_token()})
        assert response.status_code == 404, (method, url)


# --- the exam day's hot routes with a bearer token (exam.exams.hot) -------------------------------------------

def _bearer(app, user) -> dict:
    from exam.accounts.models import User
    from exam.accounts.operations import issue_token

    with app.app_context():
        token = issue_token(db.session.get(User, user.id))
        db.session.commit()
    return {"Authorization": "Bearer " + token}


def _started_with_token(app, client, setup, user=None):
    headers = _bearer(app, user or setup["examinee"])
    started = client.post(f"/api/v1/exams/{setup['exam_id']}/attempts", json={}, headers=headers)
    assert started.status_code == 201
    return started.json["id"], headers


def test_token_hot_routes_stay_within_their_query_budget(app, client, setup):
    """Autosave: the token, the owner and the item in one SELECT, then the touch and the answer; submit: the
    locked attempt with its token, the items, the awards, the finish."""
    headers = _bearer(app, setup["examinee"])
    with count_statements(app) as start:
        attempt_id = client.post(f"/api/v1/exams/{setup['exam_id']}/attempts", json={}, headers=headers).json["id"]
    with count_statements(app) as get:
        assert client.get(f"/api/v1/attempts/{attempt_id}", headers=headers).status_code == 200
    with count_statements(app) as save:
        assert client.put(f"/api/v1/attempts/{attempt_id}/items/1", json={"response": "A", "seq": 1},
                          headers=headers).json["saved"]
    with count_statements(app) as submit:
        assert client.post(f"/api/v1/attempts/{attempt_id}/submit", json={}, headers=headers).status_code == 200
    budgets = {"start": (start, 12), "get": (get, 3), "autosave": (save, 3),
               "submit": (submit, _token_submit_budget(app))}
    over = {name: len(s) for name, (s, limit) in budgets.items() if len(s) > limit}
    assert not over, "\n".join(f"{name}: {q[:100]}" for name, (s, _) in budgets.items() for q in s)
    assert not any("api_tokens" in q for q in save[1:] + submit[1:]), "the token is checked once, with the attempt"


def test_token_autosave_keeps_the_highest_seq_and_reports_a_stale_one(app, client, setup):
    attempt_id, headers = _started_with_token(app, client, setup)
    first = client.put(f"/api/v1/attempts/{attempt_id}/items/1", json={"response": "B", "seq": 5}, headers=headers)
    assert first.status_code == 200 and first.json["saved"] and first.json["seq"] == 5
    assert first.json["remaining_seconds"] > 0
    stale = client.put(f"/api/v1/attempts/{attempt_id}/items/1", json={"response": "C", "seq": 4}, headers=headers)
    assert stale.status_code == 200 and stale.json == dict(stale.json, saved=False, seq=5)
    paper = client.get(f"/api/v1/attempts/{attempt_id}", headers=headers).json
    assert paper["items"][0]["response"] == "B" and paper["items"][0]["seq"] == 5
    with app.app_context():
        attempt = db.session.get(Attempt, attempt_id)
        assert attempt.last_saved_at is not None


def test_token_autosave_refuses_an_option_not_shown(app, client, setup):
    attempt_id, headers = _started_with_token(app, client, setup)
    bad = client.put(f"/api/v1/attempts/{attempt_id}/items/1", json={"response": "Z", "seq": 1}, headers=headers)
    assert bad.status_code == 422 and bad.json["error"]["code"] == "bad_response"


def test_token_routes_do_not_reach_another_persons_attempt(app, client, setup, make_user):
    attempt_id, _ = _started_with_token(app, client, setup)
    other = _bearer(app, make_user("A0002"))
    save = client.put(f"/api/v1/attempts/{attempt_id}/items/1", json={"response": "A", "seq": 1}, headers=other)
    submit = client.post(f"/api/v1/attempts/{attempt_id}/submit", json={}, headers=other)
    assert (save.status_code, submit.status_code) == (404, 404)
    with app.app_context():
        attempt = db.session.get(Attempt, attempt_id)
        assert attempt.status == "in_progress" and attempt.last_saved_at is None


def test_a_revoked_or_unknown_token_is_refused_with_401(app, client, setup):
    from sqlalchemy import update

    from exam.accounts.models import ApiToken

    attempt_id, headers = _started_with_token(app, client, setup)
    unknown = {"Authorization": "Bearer not-a-token"}
    assert client.put(f"/api/v1/attempts/{attempt_id}/items/1", json={"response": "A", "seq": 1},
                      headers=unknown).status_code == 401
    with app.app_context():
        db.session.execute(update(ApiToken).values(revoked_at=utcnow()))
        db.session.commit()
    assert client.put(f"/api/v1/attempts/{attempt_id}/items/1", json={"response": "A", "seq": 1},
                      headers=headers).status_code == 401
    assert client.post(f"/api/v1/attempts/{attempt_id}/submit", json={}, headers=headers).status_code == 401


def test_a_missing_position_is_404_through_the_token_route(app, client, setup):
    attempt_id, headers = _started_with_token(app, client, setup)
    missing = client.put(f"/api/v1/attempts/{attempt_id}/items/99", json={"response": "A", "seq": 1},
                         headers=headers)
    assert missing.status_code == 404 and missing.json["error"]["code"] == "not_found"


def test_a_late_token_autosave_is_refused_and_not_stored(app, client, setup):
    attempt_id, headers = _started_with_token(app, client, setup)
    with app.app_context():
        attempt = db.session.get(Attempt, attempt_id)
        attempt.deadline = utcnow() - timedelta(minutes=5)  # past the deadline and the 30 s grace
        db.session.commit()
    late = client.put(f"/api/v1/attempts/{attempt_id}/items/1", json={"response": "A", "seq": 1}, headers=headers)
    assert late.status_code == 409 and late.json["error"]["code"] == "deadline_passed"
    with app.app_context():
        item = db.session.scalars(select(AttemptItem).where(AttemptItem.attempt_id == attempt_id,
                                                            AttemptItem.position == 1)).one()
        assert item.response_seq == 0 and item.response is None


def test_token_submit_grades_once_and_refuses_saves_after_it(app, client, setup):
    attempt_id, headers = _started_with_token(app, client, setup)
    key = _key(app, attempt_id)
    for position, answer in key.items():
        assert client.put(f"/api/v1/attempts/{attempt_id}/items/{position}", json={"response": answer, "seq": 1},
                          headers=headers).json["saved"]
    first = client.post(f"/api/v1/attempts/{attempt_id}/submit", json={}, headers=headers)
    assert first.status_code == 200
    assert first.json == {"status": "submitted", "finished_by": "examinee", "score": 10.0, "max_score": 10.0,
                          "passed": True, "band": "优秀"}
    again = client.post(f"/api/v1/attempts/{attempt_id}/submit", json={}, headers=headers)
    assert again.status_code == 200 and again.json == first.json
    after = client.put(f"/api/v1/attempts/{attempt_id}/items/1", json={"response": "A", "seq": 2}, headers=headers)
    assert after.status_code == 409 and after.json["error"]["code"] == "attempt_finished"
    with app.app_context():
        attempt = db.session.get(Attempt, attempt_id)
        assert attempt.version == 2 and attempt.score == 10.0
        assert all(i.awarded is not None for i in attempt.items)


def test_every_finished_attempt_passes_the_one_hook_once(app, client, setup, monkeypatch):
    """The exam day's submit (exam.exams.hot) and finish_attempt (deadline, focus limit, the form) both call
    operations.attempts_finished, once per attempt."""
    calls = []
    monkeypatch.setattr(ops, "attempts_finished", lambda attempt_ids, looked_up=None: calls.extend(attempt_ids))
    attempt_id, headers = _started_with_token(app, client, setup)
    client.post(f"/api/v1/attempts/{attempt_id}/submit", json={}, headers=headers)
    client.post(f"/api/v1/attempts/{attempt_id}/submit", json={}, headers=headers)
    client.login_as(setup["legal"])
    other = client.write_json("POST", f"/api/v1/exams/{setup['exam_id']}/attempts").json["id"]
    with app.app_context():
        assert ops.finish_attempt(db.session.get(Attempt, other), by="deadline")
        assert not ops.finish_attempt(db.session.get(Attempt, other), by="deadline")
        db.session.commit()
    assert calls == [attempt_id, other]


def test_the_exam_day_submit_brings_the_reports_kept_aggregates_up_to_date(app, client, setup):
    """The token submit (exam.exams.hot, on SQLite inside the group commit) stores the person's counted result
    in the same transaction as the finish, and on SQLite the item sums too; PostgreSQL marks the result, the
    report's reader counts the marked result's answers, and the fold adds them to the kept sums. Either way the
    same as a rebuild from the raw rows gives."""
    from exam.reports.item_stats import fold, rebuild, shards
    from exam.reports.models import ExamItemStat, ExamResult
    from exam.reports.stats import item_analysis, raw_item_analysis

    attempt_id, headers = _started_with_token(app, client, setup)
    assert client.put(f"/api/v1/attempts/{attempt_id}/items/1", json={"response": "A", "seq": 1},
                      headers=headers).status_code == 200
    body = client.post(f"/api/v1/attempts/{attempt_id}/submit", json={}, headers=headers).json

    def kept():
        results = db.session.execute(
            select(ExamResult.user_id, ExamResult.attempt_id, ExamResult.score, ExamResult.passed)
            .where(ExamResult.exam_id == setup["exam_id"])).all()
        items = db.session.execute(
            select(ExamItemStat.question_version_id, ExamItemStat.choice, ExamItemStat.shard, ExamItemStat.n,
                   ExamItemStat.awarded)
            .where(ExamItemStat.exam_id == setup["exam_id"])
            .order_by(ExamItemStat.question_version_id, ExamItemStat.choice, ExamItemStat.shard)).all()
        return sorted(results), items

    with app.app_context():
        postgresql = db.engine.dialect.name == "postgresql"
        marked = db.session.scalar(select(ExamResult.sums_pending).where(ExamResult.exam_id == setup["exam_id"]))
        assert marked is postgresql
        assert bool(kept()[1]) is not postgresql  # PostgreSQL: no item sums kept yet
        exam = db.session.get(Exam, setup["exam_id"])
        read = [(i.version_id, i.responses, i.unanswered, i.facility) for i in item_analysis(exam)]
        assert read and read == [(i.version_id, i.responses, i.unanswered, i.facility)
                                 for i in raw_item_analysis(exam)]
        fold(db.session, setup["exam_id"])
        db.session.commit()
        incremental = kept()
        assert incremental[0] == [(setup["examinee"].id, attempt_id, body["score"], body["passed"])]
        assert sum(n for _, _, _, n, _ in incremental[1]) == len(db.session.get(Attempt, attempt_id).items)
        # SQLite: the one shard; PostgreSQL: the fold's one shard, whichever it took
        assert len({shard for _, _, shard, _, _ in incremental[1]}) == 1
        assert postgresql or {shard for _, _, shard, _, _ in incremental[1]} == {0}
        rebuild([setup["exam_id"]])  # (each attempt's sums in its own shard)
        db.session.commit()
        rebuilt = kept()
        assert rebuilt[0] == incremental[0]
        assert [(v, c, n, a) for v, c, _, n, a in rebuilt[1]] == [(v, c, n, a) for v, c, _, n, a in incremental[1]]
        assert {shard for _, _, shard, _, _ in rebuilt[1]} == {attempt_id % shards(db.engine.dialect.name)}
