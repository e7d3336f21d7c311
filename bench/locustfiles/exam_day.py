"""Exam day through the exams API (issue #4), one locustfile, four modes (BENCH_MODE):

- ``start``    closed loop: each request starts the attempt of the next examinee (POST /exams/{id}/attempts);
- ``autosave`` closed loop: each user saves answers of its own attempt again and again (PUT .../items/{pos});
- ``submit``   closed loop: each request submits the next started attempt (POST /attempts/{id}/submit);
- ``rush``     the real day: every examinee starts, reads the paper, answers with think time, changes a few
               answers, and submits at a moment drawn inside the last 60 seconds before the window closes.

Every acknowledged start, save and submit (2xx) is appended to BENCH_ACK_FILE as one JSON line, at once, so the
database check after the run sees exactly what the clients were told.
"""

from __future__ import annotations

import json
import os
import random
import time

import gevent
from common import _state, next_index, read_lines
from locust import FastHttpUser, constant, events, task
from locust.exception import StopUser

MODE = os.environ.get("BENCH_MODE", "rush")
API = "/api/v1"
TOKENS = read_lines("BENCH_TOKENS_FILE")
EXAM_ID = os.environ.get("BENCH_EXAM_ID", "")
# autosave / submit: "token_index<TAB>attempt_id" lines from the start phase
ASSIGNED = [line.split("\t") for line in read_lines("BENCH_ATTEMPTS_FILE")] if os.environ.get(
    "BENCH_ATTEMPTS_FILE") else []
CLOSE_AT = float(os.environ.get("BENCH_CLOSE_AT", "0"))  # epoch seconds the window closes
THINK_MIN = float(os.environ.get("BENCH_THINK_MIN", "3"))
THINK_MAX = float(os.environ.get("BENCH_THINK_MAX", "9"))
RNG = random.Random(int(os.environ.get("BENCH_SEED", "2026")))
_ack = open(os.environ["BENCH_ACK_FILE"], "a", buffering=1, encoding="utf-8")  # noqa: SIM115 (lives as long as locust)
_finished = {"users": 0}
TRANSPORT_TRIES = 3


def ack(**record) -> None:
    record["t"] = round(time.time(), 3)
    _ack.write(json.dumps(record, ensure_ascii=False) + "\n")


def answer_for(item: dict):
    """A plausible response in the displayed option keys, by question type."""
    keys = [o["key"] for o in item.get("options") or []]
    kind = item.get("type")
    if kind == "single" and keys:
        return RNG.choice(keys)
    if kind == "multiple" and keys:
        return sorted(RNG.sample(keys, RNG.randint(1, len(keys))))
    if kind == "true_false":
        return RNG.choice([True, False])
    if kind == "fill_blank":
        return [RNG.choice(["行政处罚", "听证", "十五日"])]
    return "依据《中华人民共和国行政处罚法》,应当先行告知当事人并听取陈述申辩。"


def user_done(environment) -> None:
    """A user has nothing left to do; the last one ends the run (so it stops by itself, early)."""
    _finished["users"] += 1
    expected = environment.parsed_options.num_users if environment.parsed_options else None
    if expected and _finished["users"] >= expected and not _state["stopping"]:
        _state["stopping"] = True
        gevent.spawn(environment.runner.quit)
    raise StopUser()


class Examinee(FastHttpUser):
    wait_time = constant(0)

    def on_start(self):
        self.seq = 0
        self.attempt_id = None
        self.items: list[dict] = []
        self.position_index = 0

    # --- requests ------------------------------------------------------------------------------------
    def _auth(self, token_index: int) -> dict:
        return {"Authorization": f"Bearer {TOKENS[token_index]}"}

    def begin_attempt(self, token_index: int) -> str | None:
        with self.client.post(f"{API}/exams/{EXAM_ID}/attempts", json={}, headers=self._auth(token_index),
                              name="POST /exams/[id]/attempts", catch_response=True) as resp:
            if resp.status_code in (200, 201):
                attempt_id = str((resp.json() or {}).get("id"))
                ack(k="start", token=token_index, attempt=attempt_id, status=resp.status_code)
                resp.success()
                return attempt_id
            resp.failure(f"status {resp.status_code}: {(resp.text or '')[:120]}")
        return None

    def load_paper(self, token_index: int, attempt_id: str) -> list[dict]:
        with self.client.get(f"{API}/attempts/{attempt_id}", headers=self._auth(token_index),
                             name="GET /attempts/[id]", catch_response=True) as resp:
            if resp.status_code == 200:
                resp.success()
                return list((resp.json() or {}).get("items") or [])
            resp.failure(f"status {resp.status_code}")
        return []

    def save_answer(self, token_index: int, attempt_id: str, item: dict) -> None:
        self.seq += 1
        response = answer_for(item)
        position = item["position"]
        for tries in range(TRANSPORT_TRIES):
            with self.client.put(f"{API}/attempts/{attempt_id}/items/{position}", json={"response": response,
                                 "seq": self.seq}, headers=self._auth(token_index),
                                 name="PUT /attempts/[id]/items/[pos]", catch_response=True) as resp:
                if 200 <= resp.status_code < 300:
                    body = resp.json() or {}
                    if body.get("saved", True):  # "saved": false means a newer seq was already stored
                        ack(k="save", attempt=attempt_id, position=position, response=response, seq=self.seq)
                    resp.success()
                    return
                resp.failure(f"status {resp.status_code}: {(resp.text or '')[:120]}")
            if not self._again(resp, tries, "save", attempt_id):
                return

    def submit_attempt(self, token_index: int, attempt_id: str) -> None:
        for tries in range(TRANSPORT_TRIES):
            with self.client.post(f"{API}/attempts/{attempt_id}/submit", json={}, headers=self._auth(token_index),
                                  name="POST /attempts/[id]/submit", catch_response=True) as resp:
                if 200 <= resp.status_code < 300:
                    ack(k="submit", attempt=attempt_id, status=resp.status_code)
                    resp.success()
                    return
                resp.failure(f"status {resp.status_code}: {(resp.text or '')[:120]}")
            if not self._again(resp, tries, "submit", attempt_id):
                return

    def _again(self, resp, tries: int, what: str, attempt_id: str) -> bool:
        """As the exam page does (static/js/exam.js), a request that got no answer at all (status 0: the
        connection dropped, e.g. a keep-alive connection the server closed as it was reused) is sent again
        after a pause: a save is idempotent by its seq, a submit by the attempt's status. Only in the rush: a
        capacity phase counts the failure and goes on. Every retry is logged for the report."""
        if resp.status_code != 0 or MODE != "rush" or tries + 1 >= TRANSPORT_TRIES:
            return False
        ack(k="retry", what=what, attempt=attempt_id, error=str(resp.error)[:120])
        gevent.sleep(1.0 + tries)
        return True

    # --- modes ---------------------------------------------------------------------------------------
    @task
    def act(self):
        getattr(self, f"mode_{MODE}")()

    def mode_start(self):
        index = next_index()
        if index >= len(TOKENS):
            user_done(self.environment)
        self.begin_attempt(index)

    def mode_submit(self):
        index = next_index()
        if index >= len(ASSIGNED):
            user_done(self.environment)
        token_index, attempt_id = ASSIGNED[index]
        self.submit_attempt(int(token_index), attempt_id)

    def mode_autosave(self):
        if self.attempt_id is None:
            index = next_index()
            if index >= len(ASSIGNED):
                user_done(self.environment)
            self.token_index, self.attempt_id = int(ASSIGNED[index][0]), ASSIGNED[index][1]
            self.items = self.load_paper(self.token_index, self.attempt_id)
            if not self.items:
                user_done(self.environment)
        item = self.items[self.position_index % len(self.items)]
        self.position_index += 1
        self.save_answer(self.token_index, self.attempt_id, item)

    def mode_rush(self):
        token_index = next_index()
        if token_index >= len(TOKENS):
            user_done(self.environment)
        attempt_id = None
        for tries in range(3):  # a client retries a failed start, as the page does
            attempt_id = self.begin_attempt(token_index)
            if attempt_id:
                break
            gevent.sleep(1 + tries)
        if not attempt_id:
            user_done(self.environment)
        items = []
        for tries in range(3):
            items = self.load_paper(token_index, attempt_id)
            if items:
                break
            gevent.sleep(1 + tries)
        submit_at = RNG.uniform(CLOSE_AT - 58, CLOSE_AT - 8)
        order = list(items) + RNG.sample(items, k=len(items) // 4)  # answer all, then change a quarter
        for item in order:
            think = RNG.uniform(THINK_MIN, THINK_MAX)
            if time.time() + think >= submit_at:
                break
            gevent.sleep(think)
            self.save_answer(token_index, attempt_id, item)
        gevent.sleep(max(0.0, submit_at - time.time()))
        self.submit_attempt(token_index, attempt_id)
        user_done(self.environment)


@events.quitting.add_listener
def _close_ack_file(**_kwargs):
    _ack.flush()
