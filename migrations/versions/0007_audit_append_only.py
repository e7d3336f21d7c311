"""audit log append-only on PostgreSQL: a trigger refuses UPDATE and DELETE of audit rows

The application already refuses to change audit rows (exam.core.audit); this makes the database refuse too,
so a bug or a stray SQL session cannot rewrite history. (SQLite: the file's owner can do anything anyway.)

Revision ID: 0007
Revises: 0002
Create Date: 2026-11-27 17:45:00

"""
from alembic import op


revision = '0007'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade():
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute("""
        CREATE OR REPLACE FUNCTION audit_log_append_only() RETURNS trigger AS $$
        BEGIN
            RAISE EXCEPTION 'audit_log is append-only: % of row % refused', TG_OP, OLD.id
                USING ERRCODE = 'insufficient_privilege';
        END;
        $$ LANGUAGE plpgsql
    """)
    op.execute("""
        CREATE TRIGGER audit_log_append_only BEFORE UPDATE OR DELETE ON audit_log
        FOR EACH ROW EXECUTE FUNCTION audit_log_append_only()
    """)


def downgrade():
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute("DROP TRIGGER IF EXISTS audit_log_append_only ON audit_log")
    op.execute("DROP FUNCTION IF EXISTS audit_log_append_only()")
