"""The audit log: an admin search page, rows the application cannot change, and a chain that shows tampering."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import delete, select, text, update

from exam.core import audit
from exam.core.audit import AuditImmutable, AuditLog
from exam.core.timeutil import local_today
from exam.extensions import db


@pytest.fixture
def admin(make_user):
    return make_user("auditadmin", roles=["admin"], name="审计管理员")


def _rows_on_page(html: str) -> int:
    return html.count('<pre class="small mb-0 audit-json">') // 2


def test_admin_searches_the_audit_log_by_actor_action_and_target(app, client, admin, make_user):
    target = make_user("T0001", name="被查人员")
    client.login_as(admin)
    with app.test_request_context():
        audit.record("certificate.revoke", target, before={"status": "valid"}, after={"status": "revoked"},
                     actor_username="hr-zhang")
        audit.record("exam.publish", None, actor_username="legal-li")
        db.session.commit()
    page = client.get("/admin/audit?actor=hr-zhang").get_data(as_text=True)
    assert "certificate.revoke" in page and "exam.publish" not in page
    page = client.get("/admin/audit?action=exam.").get_data(as_text=True)
    assert "exam.publish" in page and "certificate.revoke" not in page
    page = client.get(f"/admin/audit?target={target.id}").get_data(as_text=True)
    assert "certificate.revoke" in page and "exam.publish" not in page
    page = client.get("/admin/audit?target=User&action=certificate").get_data(as_text=True)
    assert "&#34;revoked&#34;" in page or "&quot;revoked&quot;" in page


def test_audit_search_by_date_range_uses_local_days(app, client, admin):
    client.login_as(admin)
    with app.app_context():
        today = local_today()
        old = audit.record("old.action", None, actor_username="cli")
        old_id, old_at = old.id, old.at
        db.session.commit()
    with app.app_context():
        # Rows are append-only for the application; a test may move one into the past with SQL.
        db.session.execute(text("UPDATE audit_log SET at = :at WHERE id = :id"),
                           {"at": old_at - timedelta(days=10), "id": old_id})
        db.session.commit()
    recent = client.get(f"/admin/audit?date_from={today - timedelta(days=1)}&date_to={today}").get_data(as_text=True)
    assert "old.action" not in recent and "user.create" in recent
    earlier = client.get(
        f"/admin/audit?date_from={today - timedelta(days=11)}&date_to={today - timedelta(days=9)}"
    ).get_data(as_text=True)
    assert "old.action" in earlier
    assert "user.create" not in earlier


def test_bad_dates_in_the_audit_search_are_a_form_error_not_a_crash(client, admin):
    client.login_as(admin)
    response = client.get("/admin/audit?date_from=2026-13-45&date_to=abc")
    assert response.status_code == 200
    assert "invalid-feedback" in response.get_data(as_text=True)
    reversed_range = client.get("/admin/audit?date_from=2026-05-02&date_to=2026-05-01")
    assert reversed_range.status_code == 200 and "invalid-feedback" in reversed_range.get_data(as_text=True)


def test_audit_log_is_paginated(app, client, admin):
    with app.app_context():
        for i in range(60):
            audit.record(f"bulk.action{i:02d}", None, actor_username="cli")
        db.session.commit()
    client.login_as(admin)
    first = client.get("/admin/audit?action=bulk.").get_data(as_text=True)
    second = client.get("/admin/audit?action=bulk.&page=2").get_data(as_text=True)
    assert _rows_on_page(first) == 50 and _rows_on_page(second) == 10
    assert "bulk.action59" in first and "bulk.action00" in second
    assert "page=2" in first and "action=bulk." in first  # the pager keeps the filter


def test_before_and_after_are_shown_escaped(app, client, admin):
    with app.app_context():
        audit.record("user.update", None, before={"name": "<script>alert(1)</script>"},
                     after={"name": "<img src=x onerror=alert(2)>"}, actor_username="<b>x</b>")
        db.session.commit()
    client.login_as(admin)
    page = client.get("/admin/audit").get_data(as_text=True)
    assert "<script>alert(1)" not in page and "<img src=x" not in page and "<b>x</b>" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "&lt;img src=x onerror=alert(2)&gt;" in page


def test_only_admin_may_read_the_audit_log(client, make_user):
    for roles in ([], ["legal"], ["hr"]):
        user = make_user(roles=roles)
        client.login_as(user)
        assert client.get("/admin/audit").status_code == 403


# --- the application cannot change or delete audit rows ----------------------------------------------------

def _one_row(app):
    with app.app_context():
        row = audit.record("thing.do", None, actor_username="cli")
        db.session.commit()
        return row.id


def test_changing_an_audit_row_through_the_orm_is_refused(app):
    row_id = _one_row(app)
    with app.app_context():
        row = db.session.get(AuditLog, row_id)
        row.actor_username = "someone-else"
        with pytest.raises(AuditImmutable):
            db.session.flush()
        db.session.rollback()
        assert db.session.get(AuditLog, row_id).actor_username == "cli"


def test_deleting_an_audit_row_through_the_orm_is_refused(app):
    row_id = _one_row(app)
    with app.app_context():
        db.session.delete(db.session.get(AuditLog, row_id))
        with pytest.raises(AuditImmutable):
            db.session.flush()
        db.session.rollback()
        assert db.session.get(AuditLog, row_id) is not None


def test_bulk_update_or_delete_of_audit_rows_is_refused(app):
    row_id = _one_row(app)
    with app.app_context():
        with pytest.raises(AuditImmutable):
            db.session.execute(update(AuditLog).where(AuditLog.id == row_id).values(action="x"))
        db.session.rollback()
        with pytest.raises(AuditImmutable):
            db.session.execute(delete(AuditLog).where(AuditLog.id == row_id))
        db.session.rollback()
        assert db.session.scalar(select(AuditLog.action).where(AuditLog.id == row_id)) == "thing.do"


# --- audit verify names the first broken row ----------------------------------------------------------------

def _five_rows(app):
    with app.app_context():
        for i in range(1, 6):
            audit.record(f"step.{i}", None, after={"n": i}, actor_username="cli")
        db.session.commit()


def test_verify_reports_an_intact_chain(app):
    _five_rows(app)
    result = app.test_cli_runner().invoke(args=["audit", "verify"])
    assert result.exit_code == 0 and "intact: 5 rows" in result.output


def test_verify_detects_a_row_deleted_from_the_middle(app):
    _five_rows(app)
    with app.app_context():
        db.session.execute(text("DELETE FROM audit_log WHERE id = 3"))
        db.session.commit()
    result = app.test_cli_runner().invoke(args=["audit", "verify"])
    assert result.exit_code == 1
    assert "BROKEN at audit row 4" in result.output
    assert "id 3 deleted" in result.output
    assert "2 rows before it are intact" in result.output


def test_verify_detects_the_first_row_deleted(app):
    _five_rows(app)
    with app.app_context():
        db.session.execute(text("DELETE FROM audit_log WHERE id = 1"))
        db.session.commit()
    result = app.test_cli_runner().invoke(args=["audit", "verify"])
    assert result.exit_code == 1 and "BROKEN at audit row 2" in result.output


def test_verify_detects_a_forged_row_that_was_re_hashed(app):
    _five_rows(app)
    with app.app_context():
        forged = db.session.get(AuditLog, 3)
        forged.after = '{"n": 300}'
        new_hash = forged.compute_hash()  # the forger recomputes the row's own hash
        db.session.expunge(forged)
        db.session.execute(text("UPDATE audit_log SET after = :a, hash = :h WHERE id = 3"),
                           {"a": '{"n": 300}', "h": new_hash})
        db.session.commit()
        assert db.session.get(AuditLog, 3).compute_hash() == new_hash  # the row alone looks fine
    result = app.test_cli_runner().invoke(args=["audit", "verify"])
    assert result.exit_code == 1
    assert "BROKEN at audit row 3" in result.output
    assert "re-hashed" in result.output
    assert "2 rows before it are intact" in result.output


def test_verify_detects_a_row_changed_in_place(app):
    _five_rows(app)
    with app.app_context():
        db.session.execute(text("UPDATE audit_log SET actor_username = 'forged' WHERE id = 4"))
        db.session.commit()
    result = app.test_cli_runner().invoke(args=["audit", "verify"])
    assert result.exit_code == 1 and "BROKEN at audit row 4" in result.output and "changed in place" in result.output
