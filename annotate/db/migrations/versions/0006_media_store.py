"""media store and jobs: recording media as store-relative keys; the job table

Revision ID: 0006_media_store
Revises: 0005_accounts_audit
"""
import sqlalchemy as sa
from alembic import op

revision = "0006_media_store"
down_revision = "0005_accounts_audit"
branch_labels = None
depends_on = None

_KINDS = ("originals", "proxies", "thumbs", "incoming", "exports")


def _key(path):
    """Same rule as annotate.store.key_from_legacy_path (kept here: a migration must not change later)."""
    if not path:
        return path
    parts = path.replace("\\", "/").split("/")
    for i in range(len(parts) - 2, -1, -1):
        if parts[i] in _KINDS:
            return "/".join(parts[i:])
    return path


def upgrade() -> None:
    op.create_table(
        "job",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=30), nullable=False),
        sa.Column("study_id", sa.Integer(), nullable=True),
        sa.Column("recording_id", sa.Integer(), nullable=True),
        sa.Column("created_by", sa.Integer(), nullable=True),
        sa.Column("state", sa.String(length=20), nullable=False),
        sa.Column("progress", sa.Float(), nullable=False),
        sa.Column("message", sa.Text(), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("max_attempts", sa.Integer(), nullable=False),
        sa.Column("payload", sa.JSON(), nullable=False),
        sa.Column("result", sa.JSON(), nullable=False),
        sa.Column("worker", sa.String(length=200), nullable=True),
        sa.Column("lease_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["study_id"], ["study.id"], name=op.f("fk_job_study_id_study"), ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["recording_id"], ["recording.id"], name=op.f("fk_job_recording_id_recording"), ondelete="SET NULL"),
        sa.ForeignKeyConstraint(["created_by"], ["user_account.id"], name=op.f("fk_job_created_by_user_account")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_job")),
    )
    op.create_index("ix_job_state_lease", "job", ["state", "lease_until"])
    conn = op.get_bind()
    rec = sa.table("recording", sa.column("id", sa.Integer), sa.column("original_path", sa.String),
                   sa.column("proxy_path", sa.String), sa.column("thumbs_dir", sa.String))
    for row in conn.execute(sa.select(rec.c.id, rec.c.original_path, rec.c.proxy_path, rec.c.thumbs_dir)).all():
        new = {"original_path": _key(row.original_path), "proxy_path": _key(row.proxy_path), "thumbs_dir": _key(row.thumbs_dir)}
        if new != {"original_path": row.original_path, "proxy_path": row.proxy_path, "thumbs_dir": row.thumbs_dir}:
            conn.execute(rec.update().where(rec.c.id == row.id).values(**new))


def downgrade() -> None:
    # Keys stay keys: older versions need absolute paths, which depend on the machine's media folder.
    op.drop_index("ix_job_state_lease", table_name="job")
    op.drop_table("job")
