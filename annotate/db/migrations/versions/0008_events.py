"""coded events: point and state events per assignment, with a version for compare-and-set (issue 19)

Revision ID: 0008_events
Revises: 0006_media_store
"""
import sqlalchemy as sa
from alembic import op

revision = "0008_events"
down_revision = "0006_media_store"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "coded_event",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("assignment_id", sa.Integer(), nullable=False),
        sa.Column("group_key", sa.String(length=64), nullable=False),
        sa.Column("code", sa.String(length=64), nullable=False),
        sa.Column("modifiers", sa.JSON(), nullable=False),
        sa.Column("onset_s", sa.Float(), nullable=False),
        sa.Column("offset_s", sa.Float(), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["assignment_id"],
            ["assignment.id"],
            name=op.f("fk_coded_event_assignment_id_assignment"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_coded_event")),
    )
    op.create_index("ix_coded_event_assignment_onset", "coded_event", ["assignment_id", "onset_s"])


def downgrade() -> None:
    op.drop_index("ix_coded_event_assignment_onset", table_name="coded_event")
    op.drop_table("coded_event")
