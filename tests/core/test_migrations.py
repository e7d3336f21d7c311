from __future__ import annotations

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
