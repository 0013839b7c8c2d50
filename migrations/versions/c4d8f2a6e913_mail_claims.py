"""mail claims: a sender marks the notifications it is e-mailing until when, so that it talks to the mail
server outside any transaction and another sender takes them over if it dies

Revision ID: c4d8f2a6e913
Revises: b7e2d9a4c611
Create Date: 2026-12-03 11:00:00

"""
from alembic import op
import sqlalchemy as sa

import app.db_types

# revision identifiers, used by Alembic.
revision = 'c4d8f2a6e913'
down_revision = 'b7e2d9a4c611'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('notifications', schema=None) as batch_op:
        batch_op.add_column(sa.Column('email_claimed_until', app.db_types.UTCDateTime(), nullable=True))


def downgrade():
    with op.batch_alter_table('notifications', schema=None) as batch_op:
        batch_op.drop_column('email_claimed_until')
