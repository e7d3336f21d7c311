"""The item sums of first results added in bulk: ``exam_results.sums_pending`` marks a row whose counting attempt's
answers are not yet in ``exam_item_stats`` (exam.reports.item_stats: the exam day's first results on PostgreSQL
mark their rows, and the sums are added for many people at once; readers add the marked rows' sums to the kept
ones). A partial index finds an exam's marked rows without reading the others. Existing rows are not marked: their
sums are kept already.

Revision ID: 0015
Revises: 0014
"""

import sqlalchemy as sa
from alembic import op

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("exam_results", sa.Column("sums_pending", sa.Boolean(), server_default=sa.false(), nullable=False))
    op.create_index("ix_exam_results_pending", "exam_results", ["exam_id"],
                    postgresql_where=sa.text("sums_pending"), sqlite_where=sa.text("sums_pending = 1"))


def downgrade() -> None:
    # exams with marked rows lose their kept aggregates: their reports count from the raw rows until rebuilt
    # (``flask reports rebuild-item-stats``)
    op.execute("DELETE FROM exam_stats_state WHERE exam_id IN (SELECT exam_id FROM exam_results WHERE sums_pending)")
    op.drop_index("ix_exam_results_pending", table_name="exam_results")
    if op.get_bind().dialect.name == "sqlite":
        op.execute("ALTER TABLE exam_results DROP COLUMN sums_pending")  # (SQLite 3.35+)
    else:
        op.drop_column("exam_results", "sums_pending")
