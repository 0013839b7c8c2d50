"""potential customers: leads through the seed's stages, their contact log

Revision ID: a1d3f5b7c901
Revises: e9a4c6b8d215
Create Date: 2026-12-03 11:00:00

"""
import sqlalchemy as sa
from alembic import op

import app.db_types  # noqa: F401  (custom column types)

# revision identifiers, used by Alembic.
revision = 'a1d3f5b7c901'
down_revision = 'e9a4c6b8d215'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('customers') as batch_op:
        batch_op.add_column(sa.Column('potential', sa.Boolean(), nullable=False, server_default=sa.false()))
    op.create_table('leads',
        sa.Column('customer_id', sa.Integer(), sa.ForeignKey('customers.id'), nullable=False),
        sa.Column('instance_id', sa.Integer(), sa.ForeignKey('instances.id'), nullable=False),
        sa.Column('potential_since', app.db_types.UTCDateTime(timezone=True), nullable=False),
        sa.Column('converted_at', app.db_types.UTCDateTime(timezone=True), nullable=True),
        sa.Column('first_order_id', sa.Integer(), sa.ForeignKey('purchase_records.id', ondelete='SET NULL'),
                  nullable=True),
        sa.Column('last_reminded_on', sa.Date(), nullable=True),
        sa.PrimaryKeyConstraint('customer_id'),
        sa.UniqueConstraint('instance_id', name='uq_leads_instance_id'))
    op.create_table('lead_contacts',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('customer_id', sa.Integer(), sa.ForeignKey('customers.id'), nullable=False),
        sa.Column('kind', sa.String(length=20), nullable=False),
        sa.Column('contacted_on', sa.Date(), nullable=False),
        sa.Column('notes', sa.Text(), nullable=False),
        sa.Column('by_id', sa.Integer(), sa.ForeignKey('users.id'), nullable=False),
        sa.Column('logged_at', app.db_types.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint('id'))
    with op.batch_alter_table('lead_contacts') as batch_op:
        batch_op.create_index('ix_lead_contacts_customer_id', ['customer_id'])
    op.create_table('lead_rhythms',
        sa.Column('branch_id', sa.Integer(), sa.ForeignKey('org_units.id'), nullable=False),
        sa.Column('days', sa.Integer(), nullable=False),
        sa.Column('set_by_id', sa.Integer(), sa.ForeignKey('users.id'), nullable=False),
        sa.Column('set_at', app.db_types.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint('branch_id'))


def downgrade():
    op.drop_table('lead_rhythms')
    with op.batch_alter_table('lead_contacts') as batch_op:
        batch_op.drop_index('ix_lead_contacts_customer_id')
    op.drop_table('lead_contacts')
    op.drop_table('leads')
    with op.batch_alter_table('customers') as batch_op:
        batch_op.drop_column('potential')
