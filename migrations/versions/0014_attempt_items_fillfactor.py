"""PostgreSQL: attempt_items pages filled to half on insert, so that an answer's save and its grade write the new
row version on the same page (a heap-only update: no new entry in the table's five indexes). An exam day updates
each item several times; with full pages most of these updates went to another page and wrote five index entries
each. Existing pages keep their rows; pages filled from now on leave the room. SQLite has no such setting.

Revision ID: 0014
Revises: 0013
"""

from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None

FILLFACTOR = 50


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(f"ALTER TABLE attempt_items SET (fillfactor = {FILLFACTOR})")


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("ALTER TABLE attempt_items RESET (fillfactor)")
