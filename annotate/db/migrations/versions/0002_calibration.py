"""calibration sets, master scores and trainees (rater certification)

Revision ID: 0002_calibration
Revises: 0001
Create Date: 2026-11-22 02:54:44.292244
"""
from alembic import op
import sqlalchemy as sa


revision = '0002_calibration'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('calibration_set',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=120), nullable=False),
    sa.Column('study_id', sa.Integer(), nullable=False),
    sa.Column('scheme_id', sa.Integer(), nullable=False),
    sa.Column('master_source', sa.String(length=20), nullable=False),
    sa.Column('master_rater_id', sa.Integer(), nullable=True),
    sa.Column('min_icc', sa.Float(), nullable=False),
    sa.Column('min_within_1', sa.Float(), nullable=False),
    sa.Column('min_exact', sa.Float(), nullable=True),
    sa.Column('note', sa.Text(), nullable=False),
    sa.Column('created_by', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['created_by'], ['user_account.id'], name=op.f('fk_calibration_set_created_by_user_account')),
    sa.ForeignKeyConstraint(['master_rater_id'], ['user_account.id'], name=op.f('fk_calibration_set_master_rater_id_user_account')),
    sa.ForeignKeyConstraint(['scheme_id'], ['scheme.id'], name=op.f('fk_calibration_set_scheme_id_scheme')),
    sa.ForeignKeyConstraint(['study_id'], ['study.id'], name=op.f('fk_calibration_set_study_id_study'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_calibration_set')),
    sa.UniqueConstraint('name', name=op.f('uq_calibration_set_name'))
    )
    op.create_table('calibration_trainee',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('set_id', sa.Integer(), nullable=False),
    sa.Column('rater_id', sa.Integer(), nullable=False),
    sa.Column('assigned_by', sa.Integer(), nullable=True),
    sa.Column('assigned_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('checked_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('passed', sa.Boolean(), nullable=True),
    sa.Column('result', sa.JSON(), nullable=False),
    sa.ForeignKeyConstraint(['assigned_by'], ['user_account.id'], name=op.f('fk_calibration_trainee_assigned_by_user_account')),
    sa.ForeignKeyConstraint(['rater_id'], ['user_account.id'], name=op.f('fk_calibration_trainee_rater_id_user_account')),
    sa.ForeignKeyConstraint(['set_id'], ['calibration_set.id'], name=op.f('fk_calibration_trainee_set_id_calibration_set'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_calibration_trainee')),
    sa.UniqueConstraint('set_id', 'rater_id', name=op.f('uq_calibration_trainee_set_id'))
    )
    op.create_table('calibration_item',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('set_id', sa.Integer(), nullable=False),
    sa.Column('segment_id', sa.Integer(), nullable=False),
    sa.Column('ordinal', sa.Integer(), nullable=False),
    sa.Column('master_scores', sa.JSON(), nullable=False),
    sa.ForeignKeyConstraint(['segment_id'], ['segment.id'], name=op.f('fk_calibration_item_segment_id_segment'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['set_id'], ['calibration_set.id'], name=op.f('fk_calibration_item_set_id_calibration_set'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_calibration_item')),
    sa.UniqueConstraint('set_id', 'segment_id', name=op.f('uq_calibration_item_set_id'))
    )


def downgrade() -> None:
    op.drop_table('calibration_item')
    op.drop_table('calibration_trainee')
    op.drop_table('calibration_set')
