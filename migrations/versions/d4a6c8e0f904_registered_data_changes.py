"""changes to a customer's registered data through the specialist's check

Revision ID: d4a6c8e0f904
Revises: c3f5b7d9e903
Create Date: 2026-12-03 11:00:00

"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = 'd4a6c8e0f904'
down_revision = 'c3f5b7d9e903'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('customers') as batch_op:
        batch_op.add_column(sa.Column('legal_representative', sa.String(length=60), nullable=False,
                                      server_default=''))


def downgrade():
    with op.batch_alter_table('customers') as batch_op:
        batch_op.drop_column('legal_representative')
