"""purchase analyses: the rep's monthly analysis of each key customer (the dossier's 月购油分析)

Revision ID: e9a4c6b8d215
Revises: c2e4a6b8d013
Create Date: 2026-12-03 08:00:00

"""
import sqlalchemy as sa
from alembic import op

import app.db_types  # noqa: F401  (custom column types)

# revision identifiers, used by Alembic.
revision = 'e9a4c6b8d215'
down_revision = 'c2e4a6b8d013'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('purchase_analyses',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('customer_id', sa.Integer(), sa.ForeignKey('customers.id'), nullable=False),
        sa.Column('month', sa.String(length=7), nullable=False),
        sa.Column('rep_id', sa.Integer(), sa.ForeignKey('users.id'), nullable=False),
        sa.Column('text', sa.Text(), nullable=False),
        sa.Column('figures', sa.JSON(), nullable=False),
        sa.Column('instance_id', sa.Integer(), sa.ForeignKey('instances.id'), nullable=False),
        sa.Column('written_at', app.db_types.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('customer_id', 'month', name='uq_purchase_analyses_customer_month'))
    with op.batch_alter_table('purchase_analyses') as batch_op:
        batch_op.create_index('ix_purchase_analyses_rep_id', ['rep_id'])
        batch_op.create_index('ix_purchase_analyses_instance_id', ['instance_id'])


def downgrade():
    with op.batch_alter_table('purchase_analyses') as batch_op:
        batch_op.drop_index('ix_purchase_analyses_instance_id')
        batch_op.drop_index('ix_purchase_analyses_rep_id')
    op.drop_table('purchase_analyses')
