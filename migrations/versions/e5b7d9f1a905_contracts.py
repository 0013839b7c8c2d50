"""contracts: the review before signing, and their deliveries, payments and documents due

Revision ID: e5b7d9f1a905
Revises: d4a6c8e0f904
Create Date: 2026-12-03 11:10:00

"""
import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

import app.db_types

# revision identifiers, used by Alembic.
revision = 'e5b7d9f1a905'
down_revision = 'd4a6c8e0f904'
branch_labels = None
depends_on = None

JSON_DOC = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")


def upgrade():
    op.create_table(
        'contracts',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('instance_id', sa.Integer(), nullable=False),
        sa.Column('number', sa.String(length=40), nullable=False),
        sa.Column('customer_id', sa.Integer(), nullable=False),
        sa.Column('branch_id', sa.Integer(), nullable=False),
        sa.Column('template', sa.String(length=40), nullable=False),
        sa.Column('product', sa.String(length=80), nullable=False),
        sa.Column('specification', sa.String(length=200), nullable=False),
        sa.Column('quantity_tons', sa.Numeric(12, 2), nullable=False),
        sa.Column('quality', sa.Text(), nullable=False),
        sa.Column('unit_price_yuan', sa.Numeric(12, 2), nullable=False),
        sa.Column('amount_yuan', sa.Numeric(14, 2), nullable=False),
        sa.Column('settlement', sa.Text(), nullable=False),
        sa.Column('rights_duties', sa.Text(), nullable=False),
        sa.Column('dispute_resolution', sa.Text(), nullable=False),
        sa.Column('starts_on', sa.Date(), nullable=False),
        sa.Column('ends_on', sa.Date(), nullable=False),
        sa.Column('signer_name', sa.String(length=60), nullable=False),
        sa.Column('signer_capacity', sa.String(length=30), nullable=False),
        sa.Column('checks', JSON_DOC, nullable=False),
        sa.Column('signed_on', sa.Date(), nullable=False),
        sa.Column('signed_by_id', sa.Integer(), nullable=True),
        sa.Column('status', sa.String(length=20), nullable=False),
        sa.Column('closed_at', app.db_types.UTCDateTime(timezone=True), nullable=True),
        sa.Column('closed_note', sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(['instance_id'], ['instances.id'], name='fk_contracts_instance'),
        sa.ForeignKeyConstraint(['customer_id'], ['customers.id'], name='fk_contracts_customer'),
        sa.ForeignKeyConstraint(['branch_id'], ['org_units.id'], name='fk_contracts_branch'),
        sa.ForeignKeyConstraint(['signed_by_id'], ['users.id'], name='fk_contracts_signed_by'),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('instance_id', name='uq_contracts_instance_id'),
        sa.UniqueConstraint('number', name='uq_contracts_number'),
    )
    op.create_index('ix_contracts_customer_id', 'contracts', ['customer_id'])
    op.create_index('ix_contracts_branch_id', 'contracts', ['branch_id'])
    op.create_table(
        'contract_due_items',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('contract_id', sa.Integer(), nullable=False),
        sa.Column('kind', sa.String(length=10), nullable=False),
        sa.Column('due_on', sa.Date(), nullable=False),
        sa.Column('amount_yuan', sa.Numeric(14, 2), nullable=True),
        sa.Column('title', sa.String(length=200), nullable=False),
        sa.Column('received_on', sa.Date(), nullable=True),
        sa.Column('received_by_id', sa.Integer(), nullable=True),
        sa.Column('checked_at', app.db_types.UTCDateTime(timezone=True), nullable=True),
        sa.Column('overdue', sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(['contract_id'], ['contracts.id'], name='fk_contract_due_items_contract'),
        sa.ForeignKeyConstraint(['received_by_id'], ['users.id'], name='fk_contract_due_items_received_by'),
        sa.PrimaryKeyConstraint('id'),
    )
    op.create_index('ix_contract_due_items_contract_id', 'contract_due_items', ['contract_id'])
    op.create_table(
        'contract_payments',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('contract_id', sa.Integer(), nullable=False),
        sa.Column('paid_on', sa.Date(), nullable=False),
        sa.Column('amount_yuan', sa.Numeric(14, 2), nullable=False),
        sa.Column('reference', sa.String(length=120), nullable=False),
        sa.Column('entered_by_id', sa.Integer(), nullable=False),
        sa.Column('entered_at', app.db_types.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['contract_id'], ['contracts.id'], name='fk_contract_payments_contract'),
        sa.ForeignKeyConstraint(['entered_by_id'], ['users.id'], name='fk_contract_payments_entered_by'),
        sa.PrimaryKeyConstraint('id'),
    )
    op.create_index('ix_contract_payments_contract_id', 'contract_payments', ['contract_id'])


def downgrade():
    op.drop_index('ix_contract_payments_contract_id', table_name='contract_payments')
    op.drop_table('contract_payments')
    op.drop_index('ix_contract_due_items_contract_id', table_name='contract_due_items')
    op.drop_table('contract_due_items')
    op.drop_index('ix_contracts_branch_id', table_name='contracts')
    op.drop_index('ix_contracts_customer_id', table_name='contracts')
    op.drop_table('contracts')
