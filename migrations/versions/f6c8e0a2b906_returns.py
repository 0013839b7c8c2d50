"""returns and exchanges: the goods asked back, why, and what the warehouse confirmed

Revision ID: f6c8e0a2b906
Revises: e5b7d9f1a905
Create Date: 2026-12-03 11:10:00

"""
import sqlalchemy as sa
from alembic import op

import app.db_types  # noqa: F401  (custom column types)

# revision identifiers, used by Alembic.
revision = 'f6c8e0a2b906'
down_revision = 'e5b7d9f1a905'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('return_requests',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('instance_id', sa.Integer(), sa.ForeignKey('instances.id'), nullable=False),
        sa.Column('customer_id', sa.Integer(), sa.ForeignKey('customers.id'), nullable=False),
        sa.Column('purchase_id', sa.Integer(), sa.ForeignKey('purchase_records.id'), nullable=False),
        sa.Column('branch_id', sa.Integer(), sa.ForeignKey('org_units.id'), nullable=False),
        sa.Column('kind', sa.String(length=10), nullable=False),
        sa.Column('reason', sa.String(length=20), nullable=False),
        sa.Column('reason_text', sa.Text(), nullable=False),
        sa.Column('product', sa.String(length=80), nullable=False),
        sa.Column('tons', sa.Numeric(12, 2), nullable=False),
        sa.Column('requested_by_id', sa.Integer(), sa.ForeignKey('users.id'), nullable=False),
        sa.Column('requested_at', app.db_types.UTCDateTime(timezone=True), nullable=False),
        sa.Column('held_from', sa.Date(), nullable=False),
        sa.Column('days_held', sa.Integer(), nullable=False),
        sa.Column('period_days', sa.Integer(), nullable=False),
        sa.Column('within_period', sa.Boolean(), nullable=False),
        sa.Column('table_version', sa.String(length=100), nullable=False),
        sa.Column('approval', sa.String(length=10), nullable=True),
        sa.Column('decided_by_id', sa.Integer(), sa.ForeignKey('users.id'), nullable=True),
        sa.Column('decided_at', app.db_types.UTCDateTime(timezone=True), nullable=True),
        sa.Column('decision_comment', sa.Text(), nullable=False),
        sa.Column('received_tons', sa.Numeric(12, 2), nullable=True),
        sa.Column('shortfall_tons', sa.Numeric(12, 2), nullable=True),
        sa.Column('condition', sa.String(length=20), nullable=True),
        sa.Column('receipt_note', sa.Text(), nullable=False),
        sa.Column('received_by_id', sa.Integer(), sa.ForeignKey('users.id'), nullable=True),
        sa.Column('received_at', app.db_types.UTCDateTime(timezone=True), nullable=True),
        sa.Column('unit_price_yuan', sa.Numeric(14, 2), nullable=True),
        sa.Column('credit_yuan', sa.Numeric(14, 2), nullable=True),
        sa.Column('replacement_tons', sa.Numeric(12, 2), nullable=True),
        sa.Column('settled_at', app.db_types.UTCDateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('instance_id'))
    with op.batch_alter_table('return_requests') as batch_op:
        batch_op.create_index('ix_return_requests_customer_id', ['customer_id'])
        batch_op.create_index('ix_return_requests_purchase_id', ['purchase_id'])
        batch_op.create_index('ix_return_requests_branch_id', ['branch_id'])


def downgrade():
    with op.batch_alter_table('return_requests') as batch_op:
        batch_op.drop_index('ix_return_requests_branch_id')
        batch_op.drop_index('ix_return_requests_purchase_id')
        batch_op.drop_index('ix_return_requests_customer_id')
    op.drop_table('return_requests')
