"""Report aggregates kept on write: exam_results, exam_item_stats, exam_stats_state; a trigger on users keeps
exam_results' copies of the person's department and staff flag current. Backfilled from the raw rows.

Revision ID: 0011
Revises: 0010
"""

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None

# exam.study.audience.ASSIGNED_STATUSES at the time of writing; a change there needs a migration of the trigger.
STAFF = "(NEW.active AND NEW.employment_status IN ('active', 'seconded'))"
SQLITE_TRIGGER = f"""
CREATE TRIGGER exam_results_follow_user AFTER UPDATE OF department_id, active, employment_status ON users
BEGIN
    UPDATE exam_results SET department_id = NEW.department_id, staff = {STAFF} WHERE user_id = NEW.id;
END
"""
PG_FUNCTION = f"""
CREATE FUNCTION exam_results_follow_user() RETURNS trigger AS $$
BEGIN
    UPDATE exam_results SET department_id = NEW.department_id, staff = {STAFF} WHERE user_id = NEW.id;
    RETURN NULL;
END
$$ LANGUAGE plpgsql
"""
PG_TRIGGER = """
CREATE TRIGGER exam_results_follow_user AFTER UPDATE OF department_id, active, employment_status ON users
FOR EACH ROW EXECUTE FUNCTION exam_results_follow_user()
"""


def upgrade():
    op.create_table(
        "exam_results",
        sa.Column("exam_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("department_id", sa.Integer(), nullable=True),
        sa.Column("staff", sa.Boolean(), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("auto", sa.Integer(), nullable=False),
        sa.Column("attempt_id", sa.Integer(), nullable=True),
        sa.Column("score", sa.Float(), nullable=True),
        sa.Column("max_score", sa.Float(), nullable=True),
        sa.Column("percent", sa.Float(), nullable=True),
        sa.Column("passed", sa.Boolean(), nullable=True),
        sa.Column("band", sa.String(length=16), nullable=True),
        sa.Column("bin", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(["exam_id"], ["exams.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("exam_id", "user_id"),
        sqlite_with_rowid=False,
    )
    with op.batch_alter_table("exam_results", schema=None) as batch_op:
        batch_op.create_index("ix_exam_results_score", ["exam_id", "staff", "score"], unique=False)
        batch_op.create_index(batch_op.f("ix_exam_results_user_id"), ["user_id"], unique=False)
    op.create_table(
        "exam_item_stats",
        sa.Column("exam_id", sa.Integer(), nullable=False),
        sa.Column("question_version_id", sa.Integer(), nullable=False),
        sa.Column("choice", sa.Text(), nullable=False),
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
        sa.ForeignKeyConstraint(["exam_id"], ["exams.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("exam_id", "question_version_id", "choice"),
        sqlite_with_rowid=False,
    )
    op.create_table(
        "exam_stats_state",
        sa.Column("exam_id", sa.Integer(), nullable=False),
        sa.Column("rule", sa.String(length=32), nullable=False),
        sa.Column("built_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(["exam_id"], ["exams.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("exam_id"),
    )
    if op.get_bind().dialect.name == "postgresql":
        op.execute(PG_FUNCTION)
        op.execute(PG_TRIGGER)
    else:
        op.execute(SQLITE_TRIGGER)
    _backfill()


def _backfill():
    """Build the aggregates of the exams that already have attempts (the same code as the CLI's rebuild)."""
    from sqlalchemy.orm import Session

    from exam.reports.item_stats import rebuild

    session = Session(bind=op.get_bind())
    rebuild(session=session)
    session.flush()


def downgrade():
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS exam_results_follow_user ON users")
        op.execute("DROP FUNCTION IF EXISTS exam_results_follow_user()")
    else:
        op.execute("DROP TRIGGER IF EXISTS exam_results_follow_user")
    op.drop_table("exam_stats_state")
    op.drop_table("exam_item_stats")
    with op.batch_alter_table("exam_results", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_exam_results_user_id"))
        batch_op.drop_index("ix_exam_results_score")
    op.drop_table("exam_results")
