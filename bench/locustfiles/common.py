"""Shared by the locustfiles (run by bench/.venv/bin/locust; never imports the app).

Every run stops by itself: at ``--run-time`` or after ``BENCH_MAX_REQUESTS`` requests, whichever comes first.
"""

from __future__ import annotations

import itertools
import os
import re

import gevent
from locust import events

MAX_REQUESTS = int(os.environ.get("BENCH_MAX_REQUESTS", "0"))
CSRF_RE = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')
_state = {"count": 0, "stopping": False, "env": None}
_next_index = itertools.count()


@events.init.add_listener
def _remember_environment(environment, **_kwargs):
    _state["env"] = environment


@events.request.add_listener
def _cap_requests(**_kwargs):
    _state["count"] += 1
    if MAX_REQUESTS and _state["count"] >= MAX_REQUESTS and not _state["stopping"]:
        _state["stopping"] = True
        env = _state["env"]
        if env is not None and env.runner is not None:
            gevent.spawn(env.runner.quit)


def next_index() -> int:
    """0, 1, 2, ... across the users of this (single) locust process."""
    return next(_next_index)


def read_lines(env_name: str) -> list[str]:
    path = os.environ.get(env_name)
    if not path:
        raise RuntimeError(f"{env_name} is not set")
    with open(path, encoding="utf-8") as fh:
        return [line.strip() for line in fh if line.strip()]


def login(client, username: str, password: str, name_prefix: str = "") -> bool:
    """The sign-in form: GET /login for the CSRF token, POST the form; True when redirected away from it."""
    page = client.get("/login", name=f"{name_prefix}GET /login")
    match = CSRF_RE.search(page.text or "")
    if not match:
        return False
    body = f"csrf_token={match.group(1)}&username={username}&password={password}"
    with client.post("/login", data=body, name=f"{name_prefix}POST /login", allow_redirects=False,
                     headers={"Content-Type": "application/x-www-form-urlencoded"}, catch_response=True) as resp:
        if resp.status_code == 302 and "/login" not in resp.headers.get("Location", ""):
            resp.success()
            return True
        resp.failure(f"login refused: status {resp.status_code}")
        return False


_ready = {"count": 0, "event": None}


def wait_until_all_set_up(environment) -> None:
    """A barrier after each user's set-up (e.g. its sign-in): the last user to arrive resets the statistics, so
    the figures measure the steady state only, then everyone goes on."""
    from gevent.event import Event

    if _ready["event"] is None:
        _ready["event"] = Event()
    _ready["count"] += 1
    expected = environment.parsed_options.num_users if environment.parsed_options else 1
    if _ready["count"] >= expected:
        environment.runner.stats.reset_all()
        _ready["event"].set()
    _ready["event"].wait()
