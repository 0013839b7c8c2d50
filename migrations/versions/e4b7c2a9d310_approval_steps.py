"""approval steps: tasks know whether they are a consent or approval (segregation of duties)

Revision ID: e4b7c2a9d310
Revises: b9c048f7d7a8
Create Date: 2026-11-26 15:40:00

"""
from alembic import op
import sqlalchemy as sa

# revision identifiers, used by Alembic.
revision = 'e4b7c2a9d310'
down_revision = 'b9c048f7d7a8'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('tasks', schema=None) as batch_op:
        batch_op.add_column(sa.Column('approval', sa.Boolean(), server_default=sa.text('false'), nullable=False))


def downgrade():
    with op.batch_alter_table('tasks', schema=None) as batch_op:
        batch_op.drop_column('approval')
