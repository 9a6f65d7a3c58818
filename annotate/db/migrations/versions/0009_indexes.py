"""indexes for trial-scale pages: assignments by segment, by study and status, by rater and status;
recordings by study; ratings by segment and by change time (the data revision); consensus tasks and blinding reports by study

Revision ID: 0009_indexes
Revises: 0008_events
"""

from alembic import op

revision = "0009_indexes"
down_revision = "0008_events"
branch_labels = None
depends_on = None

INDEXES = [
    ("ix_assignment_segment", "assignment", ["segment_id"]),
    ("ix_assignment_study_status", "assignment", ["study_id", "status", "done_at"]),
    ("ix_assignment_rater_status_order", "assignment", ["rater_id", "status", "order_index"]),
    ("ix_recording_study", "recording", ["study_id"]),
    ("ix_rating_segment", "rating", ["segment_id"]),
    ("ix_rating_updated_at", "rating", ["updated_at"]),
    ("ix_consensus_task_study", "consensus_task", ["study_id"]),
    ("ix_blinding_report_study", "blinding_report", ["study_id"]),
]


def upgrade() -> None:
    for name, table, columns in INDEXES:
        op.create_index(name, table, columns, unique=False)


def downgrade() -> None:
    for name, table, _columns in reversed(INDEXES):
        op.drop_index(name, table_name=table)
