"""Indexes the exam report reads alone: the assigned people per department, and exam_results in the order of the
report's grouped pass (department, band, bin) with every column it sums.

Revision ID: 0012
Revises: 0011
"""

from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None

GROUP_COLUMNS = ["exam_id", "department_id", "band", "bin", "staff", "passed", "attempt_id", "auto", "attempts",
                 "score", "percent"]


def upgrade():
    # plain CREATE INDEX (no batch mode: rebuilding users on SQLite would drop its trigger)
    op.create_index("ix_users_department_staff", "users", ["department_id", "active", "employment_status"])
    op.create_index("ix_exam_results_groups", "exam_results", GROUP_COLUMNS)


def downgrade():
    op.drop_index("ix_exam_results_groups", table_name="exam_results")
    op.drop_index("ix_users_department_staff", table_name="users")
