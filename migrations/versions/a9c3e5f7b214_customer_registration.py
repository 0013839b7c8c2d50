"""customer registration: the licence number on customers (unique where known), and the customer code
counters per territory (only ever going up), started above the codes already given

Revision ID: a9c3e5f7b214
Revises: d2f6a8c4e517
Create Date: 2026-12-03 15:00:00

"""
import re

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = 'a9c3e5f7b214'
down_revision = 'd2f6a8c4e517'
branch_labels = None
depends_on = None

SEQUENCE = re.compile(r"^(?P<prefix>.+)-(?P<number>\d+)$")


def upgrade():
    with op.batch_alter_table('customers', schema=None) as batch_op:
        batch_op.add_column(sa.Column('licence_number', sa.String(length=18), nullable=True))
        batch_op.create_unique_constraint('uq_customers_licence_number', ['licence_number'])
    counters = op.create_table(
        'customer_code_counters',
        sa.Column('territory_id', sa.Integer(), nullable=False),
        sa.Column('prefix', sa.String(length=24), nullable=False),
        sa.Column('last_sequence', sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(['territory_id'], ['org_units.id'], name='fk_customer_code_counters_territory'),
        sa.PrimaryKeyConstraint('territory_id'),
    )
    # Each territory's counter starts at the highest number its customers' codes were given.
    customers = sa.table('customers', sa.column('code', sa.String), sa.column('territory_id', sa.Integer))
    highest: dict[int, tuple[str, int]] = {}
    for code, territory_id in op.get_bind().execute(sa.select(customers.c.code, customers.c.territory_id)):
        match = SEQUENCE.match(code or "")
        if match and int(match["number"]) > highest.get(territory_id, ("", 0))[1]:
            highest[territory_id] = (match["prefix"], int(match["number"]))
    if highest:
        op.bulk_insert(counters, [{"territory_id": territory_id, "prefix": prefix, "last_sequence": number}
                                  for territory_id, (prefix, number) in highest.items()])


def downgrade():
    op.drop_table('customer_code_counters')
    with op.batch_alter_table('customers', schema=None) as batch_op:
        batch_op.drop_constraint('uq_customers_licence_number', type_='unique')
        batch_op.drop_column('licence_number')
