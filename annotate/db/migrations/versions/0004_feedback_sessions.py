"""feedback sessions: a clinician's notes around the clips of one session with a family

Revision ID: 0004_feedback_sessions
Revises: 0003_trial_workflow
"""
import sqlalchemy as sa
from alembic import op

revision = "0004_feedback_sessions"
down_revision = "0003_trial_workflow"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "feedback_session",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("participant_id", sa.Integer(), nullable=False),
        sa.Column("clinician_id", sa.Integer(), nullable=False),
        sa.Column("session_no", sa.Integer(), nullable=False),
        sa.Column("opening_note", sa.Text(), nullable=False),
        sa.Column("closing_note", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["participant_id"], ["participant.id"], name=op.f("fk_feedback_session_participant_id_participant"), ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["clinician_id"], ["user_account.id"], name=op.f("fk_feedback_session_clinician_id_user_account")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_feedback_session")),
        sa.UniqueConstraint("participant_id", "session_no", name=op.f("uq_feedback_session_participant_id")),
    )


def downgrade() -> None:
    op.drop_table("feedback_session")
