"""The machine a run came from: CPU, cores, RAM, Python, SQLite, PostgreSQL, git commit, date."""

from __future__ import annotations

import os
import platform
import sqlite3
import subprocess
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def _ram_gib() -> float | None:
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                return round(int(line.split()[1]) / 1024 / 1024, 1)
    except OSError:
        pass
    return None


def _git(*args: str) -> str:
    try:
        out = subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True, timeout=10, check=False)
        return out.stdout.strip()
    except OSError:
        return ""


def postgresql_version(url: str | None) -> str | None:
    if not url:
        return None
    try:
        from sqlalchemy import create_engine, text

        from exam.config import normalise_database_url

        engine = create_engine(normalise_database_url(url))
        with engine.connect() as conn:
            version = conn.execute(text("SHOW server_version")).scalar()
        engine.dispose()
        return str(version)
    except Exception as exc:  # a missing server is reported, not fatal
        return f"unavailable ({exc.__class__.__name__})"


def describe(pg_url: str | None = None) -> dict:
    commit = _git("rev-parse", "HEAD")
    dirty = bool(_git("status", "--porcelain", "--untracked-files=no"))
    return {
        "cpu_model": _cpu_model(),
        "cores": os.cpu_count(),
        "ram_gib": _ram_gib(),
        "os": platform.platform(),
        "python": platform.python_version(),
        "sqlite": sqlite3.sqlite_version,
        "postgresql": postgresql_version(pg_url),
        "git_commit": commit[:12] + ("+dirty" if dirty else ""),
        "git_branch": _git("rev-parse", "--abbrev-ref", "HEAD"),
        "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "load_average_1min_at_end": round(os.getloadavg()[0], 2),
    }
