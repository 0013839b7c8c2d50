"""checkpoints get their place in the chain (unique: two checkpoints after the same one are refused);
a schedule's wake-up keeps the firing under way while a worker holds it, so that another worker
resumes the same firing after a crash. Existing checkpoints are numbered in id order.

Revision ID: b7e2d9a4c611
Revises: a3c5e7f9b102
Create Date: 2026-12-03 10:00:00

"""
from alembic import op
import sqlalchemy as sa

import app.db_types

# revision identifiers, used by Alembic.
revision = 'b7e2d9a4c611'
down_revision = 'a3c5e7f9b102'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('audit_checkpoints', schema=None) as batch_op:
        batch_op.add_column(sa.Column('position', sa.Integer(), nullable=True))
    op.execute("UPDATE audit_checkpoints SET position = (SELECT COUNT(*) FROM audit_checkpoints AS earlier "
               "WHERE earlier.id <= audit_checkpoints.id)")
    with op.batch_alter_table('audit_checkpoints', schema=None) as batch_op:
        batch_op.alter_column('position', existing_type=sa.Integer(), nullable=False)
        batch_op.create_unique_constraint('uq_audit_checkpoints_position', ['position'])

    with op.batch_alter_table('timers', schema=None) as batch_op:
        batch_op.add_column(sa.Column('firing_at', app.db_types.UTCDateTime(timezone=True), nullable=True))


def downgrade():
    # A firing under way is due again at its own time: the worker that resumes it opens the same cases.
    op.execute("UPDATE timers SET due_at = firing_at WHERE firing_at IS NOT NULL")
    with op.batch_alter_table('timers', schema=None) as batch_op:
        batch_op.drop_column('firing_at')

    with op.batch_alter_table('audit_checkpoints', schema=None) as batch_op:
        batch_op.drop_constraint('uq_audit_checkpoints_position', type_='unique')
        batch_op.drop_column('position')
