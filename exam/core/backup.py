"""Backup and restore of the whole database: ``flask --app wsgi backup -o FILE`` / ``restore FILE``.

- SQLite: the online backup API (``sqlite3.Connection.backup``) copies a consistent snapshot while the app keeps
  running (WAL readers and writers are not blocked for long); restore copies a backup back the same way.
- PostgreSQL: ``pg_dump --format=custom`` and ``pg_restore --clean --if-exists --single-transaction``, with the
  connection from the app's configuration (the password goes through the environment, not the command line).

Restore replaces everything: stop the server first (``systemctl stop``), restore, start it again.
"""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy.engine import URL

from exam.extensions import db

SQLITE_MAGIC = b"SQLite format 3\x00"
PGDUMP_MAGIC = b"PGDMP"


class BackupError(RuntimeError):
    """The backup or restore could not be done; the message says why."""


@dataclass
class BackupResult:
    path: Path
    backend: str
    size: int
    detail: str

    def describe(self) -> str:
        return f"{self.detail} ({self.backend}, {self.size:,} bytes): {self.path}"


def _url() -> URL:
    return db.engine.url


def _sqlite_path(url: URL) -> Path:
    if not url.database or url.database == ":memory:":
        raise BackupError("an in-memory SQLite database cannot be backed up")
    return Path(url.database).resolve()


def _pg_args(url: URL) -> tuple[list[str], dict[str, str]]:
    """libpq connection options for pg_dump/pg_restore; the password is passed in the environment."""
    env = dict(os.environ)
    if url.password:
        env["PGPASSWORD"] = str(url.password)
    args = []
    if url.host:
        args += ["--host", url.host]
    if url.port:
        args += ["--port", str(url.port)]
    if url.username:
        args += ["--username", url.username]
    args += ["--no-password"]
    return args, env


def _run(command: list[str], env: dict[str, str]) -> None:
    executable = shutil.which(command[0])
    if executable is None:
        raise BackupError(f"{command[0]} is not installed (Debian: postgresql-client)")
    result = subprocess.run([executable, *command[1:]], env=env, capture_output=True, text=True, check=False)  # noqa: S603
    if result.returncode != 0:
        raise BackupError(f"{command[0]} failed: {result.stderr.strip()[:2000]}")


def backup(output: str | os.PathLike) -> BackupResult:
    """Write a consistent copy of the database to ``output`` (written to a temporary file, then renamed)."""
    url = _url()
    target = Path(output).resolve()
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=".backup-", dir=target.parent)
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        if url.get_backend_name() == "sqlite":
            source = sqlite3.connect(_sqlite_path(url))
            dest = sqlite3.connect(tmp)
            try:
                source.backup(dest)
            finally:
                dest.close()
                source.close()
            detail = "SQLite online backup"
        elif url.get_backend_name() == "postgresql":
            args, env = _pg_args(url)
            _run(["pg_dump", "--format=custom", "--no-owner", "--no-privileges", *args, "--file", str(tmp),
                  url.database or ""], env)
            detail = f"pg_dump of database {url.database}"
        else:
            raise BackupError(f"backups of {url.get_backend_name()} databases are not supported")
        os.replace(tmp, target)
    finally:
        tmp.unlink(missing_ok=True)
    os.chmod(target, 0o600)  # a backup holds password hashes and personal data
    return BackupResult(target, url.get_backend_name(), target.stat().st_size, f"backup written by {detail}")


def _check_sqlite_backup(path: Path) -> None:
    with open(path, "rb") as fh:
        if fh.read(16) != SQLITE_MAGIC:
            raise BackupError(f"{path} is not a SQLite backup")
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        if conn.execute("PRAGMA integrity_check").fetchone()[0] != "ok":
            raise BackupError(f"{path} is damaged (integrity check failed)")
        tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    finally:
        conn.close()
    if "alembic_version" not in tables:
        raise BackupError(f"{path} is not a backup of this application (no alembic_version table)")


def restore(source: str | os.PathLike) -> BackupResult:
    """Replace the database with the backup in ``source``. The server must be stopped."""
    url = _url()
    path = Path(source).resolve()
    if not path.is_file():
        raise BackupError(f"{path} does not exist")
    db.session.remove()
    db.engine.dispose()  # no pooled connection may hold the old database open
    if url.get_backend_name() == "sqlite":
        _check_sqlite_backup(path)
        source_conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
        dest = sqlite3.connect(_sqlite_path(url))
        try:
            source_conn.backup(dest)
        finally:
            dest.close()
            source_conn.close()
        detail = f"SQLite database {_sqlite_path(url)} restored"
    elif url.get_backend_name() == "postgresql":
        with open(path, "rb") as fh:
            if fh.read(5) != PGDUMP_MAGIC:
                raise BackupError(f"{path} is not a pg_dump custom-format backup")
        args, env = _pg_args(url)
        _run(["pg_restore", "--clean", "--if-exists", "--no-owner", "--no-privileges", "--single-transaction",
              "--exit-on-error", *args, "--dbname", url.database or "", str(path)], env)
        detail = f"PostgreSQL database {url.database} restored by pg_restore"
    else:
        raise BackupError(f"restoring {url.get_backend_name()} databases is not supported")
    return BackupResult(path, url.get_backend_name(), path.stat().st_size, detail)
