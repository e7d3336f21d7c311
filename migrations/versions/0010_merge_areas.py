"""Merge the area migrations (question bank, study, exams, certificates) into one line.

Revision ID: 0010
Revises: 0004, 0005, 0006
"""

revision = "0010"
down_revision = ("0004", "0005", "0006")
branch_labels = None
depends_on = None


def upgrade():
    pass


def downgrade():
    pass
