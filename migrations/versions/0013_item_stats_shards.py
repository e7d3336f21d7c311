"""The exam's item sums kept in shards: exam_item_stats gains ``shard`` in its primary key, so on PostgreSQL submits
finishing at once update different rows instead of waiting for each other's row locks (SQLite keeps one shard:
exam.reports.item_stats.shards).

The rows kept so far are copied as shard 0: the sums of a (version, choice) are the sum of its shards, whichever
shard an answer was added to (a later subtraction of an older attempt may leave a negative shard; only a shard
whose count is 0 is removed).

Revision ID: 0013
Revises: 0012
"""

import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None

SUMS = ["n", "blank", "awarded", "points", "sx", "sy", "sxy", "sxx", "syy"]
KEY = ["exam_id", "question_version_id", "choice"]


def _create(with_shard: bool) -> None:
    op.create_table(
        "exam_item_stats",
        sa.Column("exam_id", sa.Integer(), nullable=False),
        sa.Column("question_version_id", sa.Integer(), nullable=False),
        sa.Column("choice", sa.Text(), nullable=False),
        *([sa.Column("shard", sa.SmallInteger(), nullable=False)] if with_shard else []),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("n", sa.Integer(), nullable=False),
        sa.Column("blank", sa.Integer(), nullable=False),
        sa.Column("awarded", sa.Float(), nullable=False),
        sa.Column("points", sa.Float(), nullable=False),
        sa.Column("sx", sa.Float(), nullable=False),
        sa.Column("sy", sa.Float(), nullable=False),
        sa.Column("sxy", sa.Float(), nullable=False),
        sa.Column("sxx", sa.Float(), nullable=False),
        sa.Column("syy", sa.Float(), nullable=False),
        sa.ForeignKeyConstraint(["exam_id"], ["exams.id"], name="fk_exam_item_stats_exam_id_exams",
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint(*KEY, *(["shard"] if with_shard else []), name="pk_exam_item_stats"),
        sqlite_with_rowid=False,
    )


def _rebuild(with_shard: bool, copy_select: str) -> None:
    """Keep the rows aside, make the table again, copy them back (the same statements on both databases)."""
    op.execute("CREATE TABLE exam_item_stats_copy AS SELECT * FROM exam_item_stats")
    op.drop_table("exam_item_stats")
    _create(with_shard)
    op.execute(copy_select)
    op.drop_table("exam_item_stats_copy")


def upgrade():
    columns = ", ".join([*KEY, "position", *SUMS])
    _rebuild(True, f"INSERT INTO exam_item_stats ({columns}, shard) SELECT {columns}, 0 FROM exam_item_stats_copy")


def downgrade():
    columns = ", ".join([*KEY, "position", *SUMS])
    sums = ", ".join(f"sum({name})" for name in SUMS)
    _rebuild(False, f"INSERT INTO exam_item_stats ({columns}) SELECT {', '.join(KEY)}, min(position), {sums} "
                    f"FROM exam_item_stats_copy GROUP BY {', '.join(KEY)}")
