"""second factor: TOTP secret, last accepted time step and recovery-code hashes on user accounts

Revision ID: 0010_totp
Revises: 0009_indexes
"""

import sqlalchemy as sa
from alembic import op

revision = "0010_totp"
down_revision = "0009_indexes"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("user_account") as batch:
        batch.add_column(sa.Column("totp_secret", sa.String(length=64), nullable=True))
        batch.add_column(sa.Column("totp_last_step", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("totp_recovery", sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("user_account") as batch:
        batch.drop_column("totp_recovery")
        batch.drop_column("totp_last_step")
        batch.drop_column("totp_secret")
