"""Crash-safety harness: run the real server (gunicorn), kill it with SIGKILL mid-stream, start it again, and
check that every acknowledged write is there exactly once.

A workload is a class with three steps (see ``UserCreationWorkload``):

- ``prepare(app)``: create what the writes need (users, an exam, an attempt...) in-process and commit; return
  a state object (for instance, bearer tokens);
- ``write(server, state, n)``: perform write number ``n`` over HTTP; return a key for the write when the server
  acknowledged it (2xx), ``None`` otherwise; raise ``OSError`` when the connection fails (the server died);
- ``check(app, state, acknowledged)``: return a list of problems: every acknowledged key must be stored exactly
  once (and, for exams, every attempt resumable or finished exactly once).

Register a workload by adding it to ``WORKLOADS`` (exam autosave and submit plug in here when exams land).
"""

from __future__ import annotations

import contextlib
import http.client
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from itertools import count
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
GUNICORN = ROOT / ".venv" / "bin" / "gunicorn"


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class Server:
    """One gunicorn master with its workers, in its own process group so SIGKILL takes all of them."""

    database_url: str
    workdir: Path
    port: int = field(default_factory=free_port)
    process: subprocess.Popen | None = None
    starts: int = 0

    def start(self, timeout: float = 60) -> None:
        self.starts += 1
        env = {
            **os.environ,
            "DATABASE_URL": self.database_url,
            "SECRET_KEY": "crash-test-secret-key",
            "PASSWORD_HASH_METHOD": "pbkdf2:sha256:1000",
            "GUNICORN_WORKERS": "2",
            "GUNICORN_THREADS": "4",
            "PYTHONUNBUFFERED": "1",
        }
        log = open(self.workdir / f"gunicorn-{self.starts}.log", "wb")  # noqa: SIM115 (closed with the process)
        self.process = subprocess.Popen(
            [str(GUNICORN), "--config", "python:exam.gunicorn_conf", "--bind", f"127.0.0.1:{self.port}", "wsgi:app"],
            cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
        )
        log.close()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"gunicorn exited at start:\n{self.log_tail()}")
            try:
                status, _ = self.request("GET", "/healthz", timeout=2)
                if status == 200:
                    return
            except OSError:
                pass
            time.sleep(0.1)
        raise RuntimeError(f"gunicorn did not answer within {timeout}s:\n{self.log_tail()}")

    def kill(self) -> None:
        """SIGKILL to the master and every worker at once: no shutdown code runs."""
        if self.process is None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=30)
        self.process = None

    def request(self, method: str, path: str, body=None, token: str | None = None, timeout: float = 30):
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)
        try:
            headers = {"Accept": "application/json"}
            data = None
            if body is not None:
                data = json.dumps(body).encode()
                headers["Content-Type"] = "application/json"
            if token:
                headers["Authorization"] = f"Bearer {token}"
            conn.request(method, path, body=data, headers=headers)
            response = conn.getresponse()
            payload = response.read()
            return response.status, payload
        except http.client.HTTPException as exc:  # a connection cut mid-response
            raise OSError(str(exc)) from exc
        finally:
            conn.close()

    def log_tail(self, lines: int = 40) -> str:
        text = ""
        for path in sorted(self.workdir.glob("gunicorn-*.log")):
            text += path.read_text(errors="replace")
        return "\n".join(text.splitlines()[-lines:])


class UserCreationWorkload:
    """Today's acknowledged writes: staff accounts created through the JSON API with a bearer token."""

    name = "user-creation"

    def prepare(self, app):
        from exam.accounts import operations as ops
        from exam.extensions import db

        with app.app_context():
            user, _ = ops.create_user(ops.UserData(username="crash-admin", name="断电测试管理员", roles={"admin"}),
                                      must_change=False)
            token = ops.issue_token(user)
            db.session.commit()
        return {"token": token, "run": f"{os.getpid() % 1000:03d}"}

    def write(self, server: Server, state, n: int):
        username = f"c{state['run']}-{n:05d}"
        status, _ = server.request("POST", "/api/v1/users", {"username": username, "name": f"断电测试{n}"},
                                   token=state["token"])
        return username if status == 201 else None

    def check(self, app, state, acknowledged: list[str]) -> list[str]:
        from sqlalchemy import func, select

        from exam.accounts.models import User
        from exam.core.audit import AuditLog, verify_chain
        from exam.extensions import db

        problems = []
        with app.app_context():
            counts = dict(db.session.execute(
                select(User.username, func.count()).where(User.username.like(f"c{state['run']}-%"))
                .group_by(User.username)).all())
            for username in acknowledged:
                if counts.get(username, 0) != 1:
                    problems.append(f"acknowledged user {username} stored {counts.get(username, 0)} times")
            audited = db.session.scalar(select(func.count()).select_from(AuditLog)
                                        .where(AuditLog.action == "user.create",
                                               AuditLog.target_id.in_(select(User.id.cast(db.String)).where(
                                                   User.username.in_(acknowledged or [""])))))
            if audited != len(acknowledged):
                problems.append(f"{len(acknowledged)} acknowledged users but {audited} user.create audit rows")
            _checked, broken = verify_chain()
            if broken is not None:
                problems.append(f"audit chain broken at row {broken.id} after the crash")
            db.session.remove()
        return problems


class ExamAutosaveWorkload:
    """Exam-day writes: examinees' answers autosaved through the exam API (PUT items/{position} with seq).

    Each write is one examinee's answer to one true/false item (displayed and stored keys are the same for that
    type), with the write number as its seq. After the crash every acknowledged answer must be the stored one
    (or a later in-flight one), and every attempt must still be there once, in progress and resumable.
    """

    name = "exam-autosave"
    examinees = 8

    def prepare(self, app):
        from exam.accounts import operations as ops
        from exam.exams import operations as exam_ops
        from exam.extensions import db
        from tests.exams import factories

        with app.test_request_context(method="POST"):
            factories.standard_bank("断电题库", true_false=12)
            sections = [{"title": "判断题", "type": "true_false", "count": 10, "points": 1,
                         "categories": ["断电题库"]}]
            exam = factories.published_exam(title="断电测试考试", categories=("断电题库",), sections=sections)
            tokens, attempts = [], []
            for n in range(self.examinees):
                user, _ = ops.create_user(ops.UserData(username=f"crash-e{n}", name=f"考生{n}"), must_change=False)
                tokens.append(ops.issue_token(user))
                attempts.append(exam_ops.start_attempt(exam, user).id)
            db.session.commit()
        return {"tokens": tokens, "attempts": attempts, "items": 10}

    def write(self, server: Server, state, n: int):
        who = n % self.examinees  # consecutive writes (the ones in flight together) go to different examinees
        position = (n // self.examinees) % state["items"] + 1
        answer = n % 3 != 0
        attempt = state["attempts"][who]
        status, payload = server.request("PUT", f"/api/v1/attempts/{attempt}/items/{position}",
                                         {"response": answer, "seq": n + 1}, token=state["tokens"][who])
        if status == 200 and json.loads(payload).get("saved"):
            return (attempt, position, n + 1, answer)
        return None

    def check(self, app, state, acknowledged: list) -> list[str]:
        from sqlalchemy import func, select

        from exam.exams.models import Attempt, AttemptItem
        from exam.extensions import db

        problems = []
        latest: dict[tuple[int, int], tuple[int, bool]] = {}
        for attempt, position, seq, answer in acknowledged:
            if seq > latest.get((attempt, position), (0, None))[0]:
                latest[(attempt, position)] = (seq, answer)
        with app.app_context():
            stored = {(i.attempt_id, i.position): (i.response_seq, i.response) for i in db.session.scalars(
                select(AttemptItem).where(AttemptItem.attempt_id.in_(state["attempts"])))}
            for key, (seq, answer) in latest.items():
                have_seq, have = stored.get(key, (0, None))
                if have_seq < seq or (have_seq == seq and have is not answer):
                    problems.append(f"attempt {key[0]} item {key[1]}: acknowledged seq {seq}={answer}, "
                                    f"stored seq {have_seq}={have}")
            rows = db.session.execute(select(Attempt.user_id, func.count(), func.min(Attempt.status))
                                      .where(Attempt.id.in_(state["attempts"])).group_by(Attempt.user_id)).all()
            if len(rows) != self.examinees or any(count != 1 or status != "in_progress" for _, count, status in rows):
                problems.append(f"attempts after the crash: {rows}")
            db.session.remove()
        return problems


WORKLOADS = [UserCreationWorkload, ExamAutosaveWorkload]


@dataclass
class CrashRun:
    acknowledged: list = field(default_factory=list)
    failed_in_flight: int = 0
    refused: int = 0


def write_until_killed(server: Server, workload, state, *, threads: int = 4, kill_after: int = 30,
                       max_writes: int = 5000) -> CrashRun:
    """Writers hammer the server; once ``kill_after`` writes are acknowledged the server is SIGKILLed while
    the writers are still sending. Writes whose answer never came are in flight: they may or may not be stored.
    """
    run = CrashRun()
    numbers = count()
    lock = threading.Lock()
    enough = threading.Event()
    stop = threading.Event()

    def writer():
        while not stop.is_set():
            n = next(numbers)
            if n >= max_writes:
                return
            try:
                key = workload.write(server, state, n)
            except OSError:
                with lock:
                    run.failed_in_flight += 1
                return
            with lock:
                if key is None:
                    run.refused += 1
                else:
                    run.acknowledged.append(key)
                    if len(run.acknowledged) >= kill_after:
                        enough.set()

    workers = [threading.Thread(target=writer, daemon=True) for _ in range(threads)]
    for thread in workers:
        thread.start()
    if not enough.wait(timeout=120):
        stop.set()
        raise RuntimeError(f"only {len(run.acknowledged)} writes acknowledged:\n{server.log_tail()}")
    server.kill()  # writers are mid-request now
    stop.set()
    for thread in workers:
        thread.join(timeout=60)
    return run


if __name__ == "__main__":  # pragma: no cover - manual use: python -m tests.security.crash_harness
    print("run: .venv/bin/python -m pytest tests/security/test_crash_safety.py", file=sys.stderr)
