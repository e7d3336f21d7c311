"""Merge the area migrations into one line (each area branched from the question-bank core).

Revision ID: 0010
Revises: 0004, 0005, 0006, 0007
"""

revision = "0010"
down_revision = ("0004", "0005", "0006", "0007")
branch_labels = None
depends_on = None


def upgrade():
    pass


def downgrade():
    pass
