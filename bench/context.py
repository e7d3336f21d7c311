"""One database's run: a fresh schema (by the migrations), seeded people with tokens, the server, the load tool."""

from __future__ import annotations

import secrets
import time
from dataclasses import dataclass, field
from pathlib import Path

from bench import cpu
from bench.load import LoadRun, run_locust
from bench.server import Server

PASSWORD = "Bench2026pass"  # noqa: S105 (the seeded examinees' password, loopback only)
HTTP_USERS = 16  # concurrent closed-loop clients: one per server thread (2 workers x 8 threads)


def sqlite_url(work_dir: Path) -> str:
    return f"sqlite:///{work_dir / 'bench.sqlite3'}"


def reset_database(url: str) -> None:
    """An empty schema: a new SQLite file, or PostgreSQL's public schema dropped and made again."""
    from sqlalchemy import create_engine, text

    from exam.config import normalise_database_url

    url = normalise_database_url(url)
    if url.startswith("sqlite:///"):
        path = Path(url[len("sqlite:///"):])
        for suffix in ("", "-wal", "-shm"):
            Path(str(path) + suffix).unlink(missing_ok=True)
        return
    ensure_database(url)
    engine = create_engine(url, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(text("DROP SCHEMA IF EXISTS public CASCADE"))
        conn.execute(text("CREATE SCHEMA public"))
    engine.dispose()


def ensure_database(url: str) -> bool:
    """Create the PostgreSQL database of ``url`` when it does not exist (a fresh machine has only ``test`` and
    ``postgres``), through the server's maintenance database. Returns True when it was created."""
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    target = make_url(url)
    engine = create_engine(target.set(database="postgres"), isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as conn:
            if conn.scalar(text("SELECT 1 FROM pg_database WHERE datname = :name"), {"name": target.database}):
                return False
            quoted = conn.dialect.identifier_preparer.quote(target.database)
            conn.execute(text(f"CREATE DATABASE {quoted}"))
            return True
    finally:
        engine.dispose()


def make_app(url: str, secret_key: str, work_dir: Path):
    from exam import create_app

    return create_app({"DATABASE_URL": url, "SECRET_KEY": secret_key, "INSTANCE_PATH": str(work_dir / "instance")})


def migrate(app) -> None:
    from flask_migrate import upgrade

    from exam.extensions import db

    with app.app_context():
        upgrade()
        db.engine.dispose()


def seed_people(app, count: int, *, start: int = 0, prefix: str = "bench",
                tokens: bool = True) -> tuple[list[str], list[str]]:
    """``count`` active examinees sharing one password (hashed once, by the production method) and a token each.

    Written in bulk with Core executemany; the tokens are made as ``exam.accounts.operations.issue_token`` makes
    them (``secrets.token_urlsafe(32)``, only the SHA-256 stored), without its audit row per token."""
    from sqlalchemy import insert, select
    from werkzeug.security import generate_password_hash

    from exam.accounts.models import ApiToken, User
    from exam.accounts.operations import ensure_department
    from exam.core.timeutil import utcnow
    from exam.extensions import db

    with app.app_context():
        department = ensure_department("市局/稽查科")
        password_hash = generate_password_hash(PASSWORD, method=app.config["PASSWORD_HASH_METHOD"])
        usernames = [f"{prefix}{i:05d}" for i in range(start, start + count)]
        existing = set(db.session.scalars(select(User.username).where(User.username.in_(usernames))))
        new = [u for u in usernames if u not in existing]
        now = utcnow()
        conn = db.session.connection()
        if new:
            conn.execute(insert(User.__table__), [
                {"username": u, "name": f"考生{u[-5:]}", "department_id": department.id,
                 "employment_status": "active", "must_change_password": False, "password_hash": password_hash,
                 "created_at": now, "updated_at": now} for u in new])
        issued: list[str] = []
        if tokens and new:
            ids = dict(conn.execute(select(User.__table__.c.username, User.__table__.c.id)
                                    .where(User.__table__.c.username.in_(new))).all())
            issued = [secrets.token_urlsafe(32) for _ in new]
            conn.execute(insert(ApiToken.__table__), [
                {"user_id": ids[u], "token_hash": ApiToken.digest(t), "created_at": now}
                for u, t in zip(new, issued, strict=True)])
        db.session.commit()
        db.engine.dispose()
    return usernames, issued


@dataclass
class Context:
    db: str  # sqlite / postgresql
    database_url: str
    quick: bool
    work_dir: Path
    results_dir: Path
    app: object = None
    secret_key: str = field(default_factory=lambda: secrets.token_hex(32))
    usernames: list[str] = field(default_factory=list)
    tokens: list[str] = field(default_factory=list)
    r0: dict | None = None  # the R0 row of this database, once measured
    _server: Server | None = None
    password: str = PASSWORD

    # --- set-up --------------------------------------------------------------------------------------
    def prepare(self, people: int) -> None:
        started = time.monotonic()
        reset_database(self.database_url)
        self.app = make_app(self.database_url, self.secret_key, self.work_dir)
        migrate(self.app)
        self.usernames, self.tokens = seed_people(self.app, people)
        (self.work_dir / "users.txt").write_text("\n".join(self.usernames) + "\n")
        (self.work_dir / "tokens.txt").write_text("\n".join(self.tokens) + "\n")
        self.setup_seconds = time.monotonic() - started

    @property
    def users_file(self) -> Path:
        return self.work_dir / "users.txt"

    @property
    def tokens_file(self) -> Path:
        return self.work_dir / "tokens.txt"

    # --- the server -----------------------------------------------------------------------------------
    @property
    def server(self) -> Server:
        if self._server is None:
            self._server = Server(self.database_url, self.secret_key, self.work_dir / "gunicorn.log").start()
            self._server.warm_up()
        return self._server

    def stop_server(self) -> None:
        if self._server is not None:
            self._server.stop()
            self._server = None

    # --- load ------------------------------------------------------------------------------------------
    def seconds(self, full: int, quick: int) -> int:
        return quick if self.quick else full

    def load(self, locustfile: str, *, run_time: int, max_requests: int, users: int = HTTP_USERS,
             spawn_rate: float | None = None, env: dict | None = None, tag: str = "run") -> LoadRun:
        base_env = {"BENCH_USERS_FILE": str(self.users_file), "BENCH_TOKENS_FILE": str(self.tokens_file),
                    "BENCH_PASSWORD": self.password}
        # A closed loop's users all start within a tenth of a second: a short phase (1,000 submits take about two
        # seconds) measured over a one-second ramp would report the ramp as much as the load.
        server = self.server
        with cpu.Sampler(server.worker_pids(), self.db == "postgresql") as sampler:
            run = run_locust(locustfile, server.url, users=users, spawn_rate=spawn_rate or users * 10,
                             run_time=run_time, max_requests=max_requests, work_dir=self.work_dir,
                             env={**base_env, **(env or {})}, tag=f"{self.db}-{tag}",
                             started=lambda pid: setattr(sampler, "load_pid", pid))
        run.cpu = sampler
        return run

    def row(self, run: LoadRun, name: str, *, label: str | None = None) -> dict:
        figures = dict(run.stats.get(name) or {"requests": 0, "failures": 0, "server_errors": 0})
        figures["name"] = label or name
        total = (run.stats.get("Aggregated") or {}).get("requests") or 0
        if run.cpu and figures.get("rps") and figures.get("requests", 0) >= 0.95 * total:
            # the run's CPU is this route's: its steady part (the load tool's start and stop left out), with the
            # requests of that span at the run's rate
            samples = run.cpu.samples
            spent = run.cpu.spent(samples[0].at + 2, samples[-1].at - 1) if samples else None
            if spent:
                figures["cpu_seconds"], figures["cpu_requests"] = spent, round(figures["rps"] * spent["seconds"])
        if self.r0 and figures.get("rps") is not None and self.r0.get("rps"):
            figures["ratio_to_r0"] = round(figures["rps"] / self.r0["rps"], 3)
        return figures

    def profile(self, seconds: int, during=None, delay: float = 2.0) -> list[str]:
        """py-spy over the workers while ``during`` runs (a load lasting at least ``delay + seconds``)."""
        from bench.profiling import profile_server

        return profile_server(self.server, seconds, self.work_dir / f"profile-{self.db}.txt", during=during,
                              delay=delay)
