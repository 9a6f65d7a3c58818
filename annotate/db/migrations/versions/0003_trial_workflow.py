"""trial workflow: consensus tasks, blinding reports, activity times, changes after lock

Revision ID: 0003_trial_workflow
Revises: 0002_calibration
"""
import sqlalchemy as sa
from alembic import op

revision = "0003_trial_workflow"
down_revision = "0002_calibration"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "consensus_task",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("study_id", sa.Integer(), nullable=False),
        sa.Column("segment_id", sa.Integer(), nullable=False),
        sa.Column("scheme_id", sa.Integer(), nullable=False),
        sa.Column("dimension", sa.String(length=80), nullable=False),
        sa.Column("assignee_id", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("value", sa.Float(), nullable=True),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("resolved_by", sa.Integer(), nullable=True),
        sa.Column("resolved_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["study_id"], ["study.id"], name=op.f("fk_consensus_task_study_id_study"), ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["segment_id"], ["segment.id"], name=op.f("fk_consensus_task_segment_id_segment"), ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["scheme_id"], ["scheme.id"], name=op.f("fk_consensus_task_scheme_id_scheme")),
        sa.ForeignKeyConstraint(["assignee_id"], ["user_account.id"], name=op.f("fk_consensus_task_assignee_id_user_account")),
        sa.ForeignKeyConstraint(["resolved_by"], ["user_account.id"], name=op.f("fk_consensus_task_resolved_by_user_account")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_consensus_task")),
        sa.UniqueConstraint("segment_id", "dimension", name=op.f("uq_consensus_task_segment_id")),
    )
    op.create_table(
        "blinding_report",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("study_id", sa.Integer(), nullable=False),
        sa.Column("recording_id", sa.Integer(), nullable=False),
        sa.Column("rater_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("guess", sa.String(length=20), nullable=True),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["study_id"], ["study.id"], name=op.f("fk_blinding_report_study_id_study"), ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["recording_id"], ["recording.id"], name=op.f("fk_blinding_report_recording_id_recording"), ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["rater_id"], ["user_account.id"], name=op.f("fk_blinding_report_rater_id_user_account")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_blinding_report")),
    )
    with op.batch_alter_table("assignment") as batch:
        batch.add_column(sa.Column("first_activity_at", sa.DateTime(timezone=True), nullable=True))
    with op.batch_alter_table("rating") as batch:
        batch.add_column(sa.Column("changed_after_lock", sa.Boolean(), nullable=False, server_default=sa.false()))


def downgrade() -> None:
    with op.batch_alter_table("rating") as batch:
        batch.drop_column("changed_after_lock")
    with op.batch_alter_table("assignment") as batch:
        batch.drop_column("first_activity_at")
    op.drop_table("blinding_report")
    op.drop_table("consensus_task")
