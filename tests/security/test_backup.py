"""Backup and restore round trip on the suite's database (SQLite by default, PostgreSQL with DATABASE_URL)."""

from __future__ import annotations

import stat

from sqlalchemy import select

from exam.accounts.models import User
from exam.core.audit import AuditLog, verify_chain
from exam.extensions import db


def _names(app) -> dict[str, str]:
    with app.app_context():
        return {u.username: u.name for u in db.session.scalars(select(User))}


def test_backup_change_restore_brings_back_the_data_as_at_backup(app, make_user, tmp_path):
    make_user("keep1", name="备份前甲")
    make_user("keep2", name="备份前乙")
    runner = app.test_cli_runner()
    target = tmp_path / "backups" / "exam.backup"
    result = runner.invoke(args=["backup", "-o", str(target)])
    assert result.exit_code == 0, result.output
    assert "backup written" in result.output and str(target) in result.output
    assert target.stat().st_size > 0
    assert stat.S_IMODE(target.stat().st_mode) == 0o600
    at_backup = _names(app)

    make_user("after1", name="备份后新增")
    with app.app_context():
        user = db.session.scalar(select(User).where(User.username == "keep1"))
        user.name = "已修改"
        db.session.delete(db.session.scalar(select(User).where(User.username == "keep2")))
        db.session.commit()
    assert _names(app) != at_backup

    result = runner.invoke(args=["restore", str(target), "--yes"])
    assert result.exit_code == 0, result.output
    assert "restored" in result.output
    assert _names(app) == at_backup
    with app.app_context():
        actions = list(db.session.scalars(select(AuditLog.action).order_by(AuditLog.id)))
        assert actions[-1] == "backup.restore" and "backup.create" not in actions  # restored to before the backup
        assert verify_chain()[1] is None  # the restored chain is intact and the restore is appended to it


def test_restore_asks_before_replacing_the_database(app, make_user, tmp_path):
    make_user("ask1")
    runner = app.test_cli_runner()
    target = tmp_path / "b.backup"
    assert runner.invoke(args=["backup", "-o", str(target)]).exit_code == 0
    make_user("ask2")
    result = runner.invoke(args=["restore", str(target)], input="n\n")
    assert result.exit_code != 0
    assert "ask2" in _names(app)


def test_restore_refuses_a_file_that_is_not_a_backup(app, make_user, tmp_path):
    make_user("stay1")
    bogus = tmp_path / "bogus.backup"
    bogus.write_bytes(b"this is not a database backup" * 10)
    result = app.test_cli_runner().invoke(args=["restore", str(bogus), "--yes"])
    assert result.exit_code == 1
    assert "restore failed" in result.output
    assert "stay1" in _names(app)


def test_backup_to_an_unwritable_place_fails_cleanly(app, tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    result = app.test_cli_runner().invoke(args=["backup", "-o", str(blocker / "sub" / "b.backup")])
    assert result.exit_code == 1 and "backup failed" in result.output
