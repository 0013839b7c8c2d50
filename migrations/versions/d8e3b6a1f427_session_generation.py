"""session generation: signing out ends every session of the user (an old cookie no longer signs in)

Revision ID: d8e3b6a1f427
Revises: c9f4a2b7e815
Create Date: 2026-11-28 10:00:00

"""
from alembic import op
import sqlalchemy as sa

# revision identifiers, used by Alembic.
revision = 'd8e3b6a1f427'
down_revision = 'c9f4a2b7e815'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.add_column(sa.Column('session_generation', sa.Integer(), nullable=False, server_default='0'))


def downgrade():
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.drop_column('session_generation')
