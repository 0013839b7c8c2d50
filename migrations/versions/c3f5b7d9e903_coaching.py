"""one-star coaching: the rep's coaching of each 1-star customer

Revision ID: c3f5b7d9e903
Revises: b2e4a6c8d902
Create Date: 2026-12-03 11:00:00

"""
import sqlalchemy as sa
from alembic import op

import app.db_types  # noqa: F401  (custom column types)

# revision identifiers, used by Alembic.
revision = 'c3f5b7d9e903'
down_revision = 'b2e4a6c8d902'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('one_star_coachings',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('instance_id', sa.Integer(), sa.ForeignKey('instances.id'), nullable=False),
        sa.Column('customer_id', sa.Integer(), sa.ForeignKey('customers.id'), nullable=False),
        sa.Column('month', sa.String(length=7), nullable=False),
        sa.Column('rep_id', sa.Integer(), sa.ForeignKey('users.id'), nullable=False),
        sa.Column('explained', sa.Text(), nullable=False),
        sa.Column('commitments', sa.Text(), nullable=False),
        sa.Column('coached_at', app.db_types.UTCDateTime(timezone=True), nullable=False),
        sa.Column('follow_up_on', sa.Date(), nullable=False),
        sa.Column('kept', sa.String(length=10), nullable=True),
        sa.Column('follow_up_note', sa.Text(), nullable=False),
        sa.Column('followed_up_at', app.db_types.UTCDateTime(timezone=True), nullable=True),
        sa.Column('followed_up_by_id', sa.Integer(), sa.ForeignKey('users.id'), nullable=True),
        sa.Column('next_month', sa.String(length=7), nullable=True),
        sa.Column('next_stars', sa.Integer(), nullable=True),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('customer_id', 'month', name='uq_one_star_coachings_customer_month'))
    with op.batch_alter_table('one_star_coachings') as batch_op:
        batch_op.create_index('ix_one_star_coachings_instance_id', ['instance_id'])
        batch_op.create_index('ix_one_star_coachings_rep_id', ['rep_id'])


def downgrade():
    with op.batch_alter_table('one_star_coachings') as batch_op:
        batch_op.drop_index('ix_one_star_coachings_rep_id')
        batch_op.drop_index('ix_one_star_coachings_instance_id')
    op.drop_table('one_star_coachings')
