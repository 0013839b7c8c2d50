"""credit rating: quarterly ratings per customer, and the grade, big- and key-customer status on the
customer

Revision ID: a7d2e9c4f613
Revises: f1c3a5e7b920
Create Date: 2026-11-26 17:00:00

"""
from alembic import op
import sqlalchemy as sa
import app.db_types  # noqa: F401  (custom column types)
from sqlalchemy.dialects import postgresql

# revision identifiers, used by Alembic.
revision = 'a7d2e9c4f613'
down_revision = 'f1c3a5e7b920'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('credit_ratings',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('customer_id', sa.Integer(), sa.ForeignKey('customers.id'), nullable=False),
        sa.Column('quarter', sa.String(length=7), nullable=False),
        sa.Column('instance_id', sa.Integer(), sa.ForeignKey('instances.id'), nullable=False),
        sa.Column('scores', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'),
                  nullable=False),
        sa.Column('total', sa.Numeric(6, 2), nullable=False),
        sa.Column('bad_debt', sa.Boolean(), nullable=False),
        sa.Column('grade', sa.String(length=3), nullable=True),
        sa.Column('big_customer', sa.Boolean(), nullable=False),
        sa.Column('key_customer', sa.Boolean(), nullable=False),
        sa.Column('bought_last_year_yuan', sa.Numeric(16, 2), nullable=False),
        sa.Column('rated_at', app.db_types.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('customer_id', 'quarter'))
    op.create_index('ix_credit_ratings_customer_id', 'credit_ratings', ['customer_id'])
    with op.batch_alter_table('customers') as batch_op:
        batch_op.add_column(sa.Column('credit_grade', sa.String(length=3), nullable=True))
        batch_op.add_column(sa.Column('big_customer', sa.Boolean(), server_default=sa.false(), nullable=False))
        batch_op.add_column(sa.Column('key_customer', sa.Boolean(), server_default=sa.false(), nullable=False))
        batch_op.add_column(sa.Column('key_follow_up', sa.Boolean(), server_default=sa.false(), nullable=False))


def downgrade():
    with op.batch_alter_table('customers') as batch_op:
        batch_op.drop_column('key_follow_up')
        batch_op.drop_column('key_customer')
        batch_op.drop_column('big_customer')
        batch_op.drop_column('credit_grade')
    op.drop_index('ix_credit_ratings_customer_id', table_name='credit_ratings')
    op.drop_table('credit_ratings')
