"""dossier changes: every field a rep changed in a dossier, and the monthly report that carried it

Revision ID: b3e8f1d5c702
Revises: a7d2e9c4f613
Create Date: 2026-11-26 18:00:00

"""
from alembic import op
import sqlalchemy as sa
import app.db_types  # noqa: F401  (custom column types)

# revision identifiers, used by Alembic.
revision = 'b3e8f1d5c702'
down_revision = 'a7d2e9c4f613'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('dossier_changes',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('customer_id', sa.Integer(), sa.ForeignKey('customers.id'), nullable=False),
        sa.Column('field', sa.String(length=40), nullable=False),
        sa.Column('kind', sa.String(length=10), nullable=False),
        sa.Column('old', sa.Text(), nullable=False),
        sa.Column('new', sa.Text(), nullable=False),
        sa.Column('changed_by_id', sa.Integer(), sa.ForeignKey('users.id'), nullable=False),
        sa.Column('changed_at', app.db_types.UTCDateTime(timezone=True), nullable=False),
        sa.Column('reported_in_id', sa.Integer(), sa.ForeignKey('instances.id'), nullable=True),
        sa.PrimaryKeyConstraint('id'))
    op.create_index('ix_dossier_changes_unreported', 'dossier_changes', ['customer_id', 'reported_in_id'])
    op.create_index('ix_dossier_changes_reported_in_id', 'dossier_changes', ['reported_in_id'])


def downgrade():
    op.drop_index('ix_dossier_changes_reported_in_id', table_name='dossier_changes')
    op.drop_index('ix_dossier_changes_unreported', table_name='dossier_changes')
    op.drop_table('dossier_changes')
