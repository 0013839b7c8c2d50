"""visit records: every visit to a customer, by whom and in which role, and what was said

Revision ID: c9f4a2b7e815
Revises: b3e8f1d5c702
Create Date: 2026-11-26 19:00:00

"""
from alembic import op
import sqlalchemy as sa
import app.db_types  # noqa: F401  (custom column types)

# revision identifiers, used by Alembic.
revision = 'c9f4a2b7e815'
down_revision = 'b3e8f1d5c702'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('visit_records',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('customer_id', sa.Integer(), sa.ForeignKey('customers.id'), nullable=False),
        sa.Column('visitor_id', sa.Integer(), sa.ForeignKey('users.id'), nullable=False),
        sa.Column('role', sa.String(length=40), nullable=False),
        sa.Column('visited_on', sa.Date(), nullable=False),
        sa.Column('products', sa.Text(), nullable=False),
        sa.Column('delivery', sa.Text(), nullable=False),
        sa.Column('business_process', sa.Text(), nullable=False),
        sa.Column('service', sa.Text(), nullable=False),
        sa.Column('other_views', sa.Text(), nullable=False),
        sa.Column('recorded_at', app.db_types.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint('id'))
    op.create_index('ix_visit_records_customer_role_day', 'visit_records', ['customer_id', 'role', 'visited_on'])
    op.create_index('ix_visit_records_visitor_id', 'visit_records', ['visitor_id'])


def downgrade():
    op.drop_index('ix_visit_records_visitor_id', table_name='visit_records')
    op.drop_index('ix_visit_records_customer_role_day', table_name='visit_records')
    op.drop_table('visit_records')
