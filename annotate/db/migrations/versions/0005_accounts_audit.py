"""accounts and audit trail: account lifecycle columns, idle timeout, an append-only hash-chained audit log

Revision ID: 0005_accounts_audit
Revises: 0004_feedback_sessions

- ``user_account``: is_demo, must_change_password, password_changed_at, failed_attempts,
  locked_until, last_login_at;
- ``login_session``: last_seen_at (idle timeout);
- ``audit_log``: username, prev_hash, entry_hash (filled in id order for the entries already there);
  the foreign keys to user and study go (an entry outlives what it names); triggers refuse UPDATE
  and DELETE (and TRUNCATE on PostgreSQL).
"""

import sqlalchemy as sa
from alembic import op

from annotate.db.models import audit_entry_hash

revision = "0005_accounts_audit"
down_revision = "0004_feedback_sessions"
branch_labels = None
depends_on = None

SQLITE_TRIGGERS = [
    """CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
    BEGIN SELECT RAISE(ABORT, 'audit_log is append-only: an entry cannot be changed'); END""",
    """CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
    BEGIN SELECT RAISE(ABORT, 'audit_log is append-only: an entry cannot be deleted'); END""",
]
POSTGRES_TRIGGERS = [
    """CREATE OR REPLACE FUNCTION audit_log_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN RAISE EXCEPTION 'audit_log is append-only: % refused', TG_OP; END $$""",
    """CREATE TRIGGER audit_log_no_change BEFORE UPDATE OR DELETE ON audit_log
    FOR EACH ROW EXECUTE FUNCTION audit_log_append_only()""",
    """CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON audit_log
    FOR EACH STATEMENT EXECUTE FUNCTION audit_log_append_only()""",
]


def upgrade() -> None:
    with op.batch_alter_table("user_account") as b:
        b.add_column(sa.Column("is_demo", sa.Boolean(), nullable=False, server_default=sa.false()))
        b.add_column(sa.Column("must_change_password", sa.Boolean(), nullable=False, server_default=sa.false()))
        b.add_column(sa.Column("password_changed_at", sa.DateTime(timezone=True), nullable=True))
        b.add_column(sa.Column("failed_attempts", sa.Integer(), nullable=False, server_default="0"))
        b.add_column(sa.Column("locked_until", sa.DateTime(timezone=True), nullable=True))
        b.add_column(sa.Column("last_login_at", sa.DateTime(timezone=True), nullable=True))
    with op.batch_alter_table("login_session") as b:
        b.add_column(sa.Column("last_seen_at", sa.DateTime(timezone=True), nullable=True))
    with op.batch_alter_table("audit_log") as b:
        b.drop_constraint("fk_audit_log_study_id_study", type_="foreignkey")
        b.drop_constraint("fk_audit_log_user_id_user_account", type_="foreignkey")
        b.add_column(sa.Column("username", sa.String(length=80), nullable=True))
        b.add_column(sa.Column("prev_hash", sa.String(length=64), nullable=False, server_default=""))
        b.add_column(sa.Column("entry_hash", sa.String(length=64), nullable=False, server_default=""))
    conn = op.get_bind()
    audit = sa.table(
        "audit_log",
        sa.column("id", sa.Integer),
        sa.column("at", sa.DateTime(timezone=True)),
        sa.column("user_id", sa.Integer),
        sa.column("username", sa.String),
        sa.column("action", sa.String),
        sa.column("study_id", sa.Integer),
        sa.column("detail", sa.JSON),
        sa.column("prev_hash", sa.String),
        sa.column("entry_hash", sa.String),
    )
    users = sa.table("user_account", sa.column("id", sa.Integer), sa.column("username", sa.String))
    names = dict(conn.execute(sa.select(users.c.id, users.c.username)).all())
    prev = ""
    for row in conn.execute(sa.select(audit).order_by(audit.c.id)).all():
        username = names.get(row.user_id) if row.user_id is not None else None
        digest = audit_entry_hash(
            at=row.at,
            user_id=row.user_id,
            username=username,
            action=row.action,
            study_id=row.study_id,
            detail=row.detail,
            prev_hash=prev,
        )
        conn.execute(
            sa.update(audit).where(audit.c.id == row.id).values(username=username, prev_hash=prev, entry_hash=digest)
        )
        prev = digest
    for statement in POSTGRES_TRIGGERS if conn.dialect.name == "postgresql" else SQLITE_TRIGGERS:
        op.execute(statement)


def downgrade() -> None:
    conn = op.get_bind()
    if conn.dialect.name == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS audit_log_no_change ON audit_log")
        op.execute("DROP TRIGGER IF EXISTS audit_log_no_truncate ON audit_log")
        op.execute("DROP FUNCTION IF EXISTS audit_log_append_only()")
    else:
        op.execute("DROP TRIGGER IF EXISTS audit_log_no_update")
        op.execute("DROP TRIGGER IF EXISTS audit_log_no_delete")
    with op.batch_alter_table("audit_log") as b:
        b.drop_column("entry_hash")
        b.drop_column("prev_hash")
        b.drop_column("username")
    with op.batch_alter_table("login_session") as b:
        b.drop_column("last_seen_at")
    with op.batch_alter_table("user_account") as b:
        for name in (
            "last_login_at",
            "locked_until",
            "failed_attempts",
            "password_changed_at",
            "must_change_password",
            "is_demo",
        ):
            b.drop_column(name)
