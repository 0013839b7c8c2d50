"""complaints closed as not a complaint: when, and the sales manager's reason (a complaint is never withdrawn)

Revision ID: f2b9d4c6a817
Revises: e7a4c1f9b306
Create Date: 2026-12-02 11:30:00

"""
from alembic import op
import sqlalchemy as sa

import app.db_types

# revision identifiers, used by Alembic.
revision = 'f2b9d4c6a817'
down_revision = 'e7a4c1f9b306'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('complaints', schema=None) as batch_op:
        batch_op.add_column(sa.Column('dismissed_at', app.db_types.UTCDateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('dismissed_reason', sa.Text(), nullable=True))


def downgrade():
    with op.batch_alter_table('complaints', schema=None) as batch_op:
        batch_op.drop_column('dismissed_reason')
        batch_op.drop_column('dismissed_at')
