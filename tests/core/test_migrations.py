from __future__ import annotations

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from exam.extensions import db


def test_migrations_build_exactly_the_schema_the_models_describe(app):
    """`db upgrade` ran at session start; autogenerate must find nothing left to change."""
    with app.app_context(), db.engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True, "render_as_batch": True})
        diff = compare_metadata(context, db.metadata)
    assert diff == [], f"models and migrations disagree; add a migration: {diff}"


def test_migrations_have_a_single_head(app):
    from alembic.script import ScriptDirectory

    from exam import ROOT

    script = ScriptDirectory(str(ROOT / "migrations"))
    assert len(script.get_heads()) == 1, script.get_heads()


def test_postgresql_leaves_room_on_answer_pages_for_updates_in_place(app):
    """Migration 0014: saves and grades rewrite an answer row on its own page (a heap-only update) only if the
    page has room; SQLite has no such setting."""
    from sqlalchemy import text

    with app.app_context():
        if db.engine.dialect.name != "postgresql":
            pytest.skip("PostgreSQL's storage setting (SQLite has none)")
        options = db.session.scalar(text("SELECT reloptions FROM pg_class WHERE relname = 'attempt_items'"))
    assert "fillfactor=50" in (options or []), options
