"""customer classes: the history of each customer's ABC class, volume tier and attitude (a row when a
class is given or changes), with the figures that gave it and the decision table's version

Revision ID: c2e4a6b8d013
Revises: a9c3e5f7b214
Create Date: 2026-12-03 16:00:00

"""
import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

# revision identifiers, used by Alembic.
revision = 'c2e4a6b8d013'
down_revision = 'a9c3e5f7b214'
branch_labels = None
depends_on = None

JSON = sa.JSON().with_variant(postgresql.JSONB(), 'postgresql')


def upgrade():
    op.create_table(
        'customer_classes',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('customer_id', sa.Integer(), nullable=False),
        sa.Column('kind', sa.String(length=10), nullable=False),
        sa.Column('value', sa.String(length=10), nullable=False),
        sa.Column('previous', sa.String(length=10), nullable=True),
        sa.Column('figures', JSON, nullable=False),
        sa.Column('computed_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('definition_id', sa.Integer(), nullable=True),
        sa.Column('table_version', sa.String(length=100), nullable=False),
        sa.Column('instance_id', sa.Integer(), nullable=True),
        sa.Column('confirmed_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('confirmed_figures', JSON, nullable=True),
        sa.Column('set_by_id', sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(['customer_id'], ['customers.id'], name='fk_customer_classes_customer'),
        sa.ForeignKeyConstraint(['definition_id'], ['process_definitions.id'],
                                name='fk_customer_classes_definition'),
        sa.ForeignKeyConstraint(['instance_id'], ['instances.id'], name='fk_customer_classes_instance'),
        sa.ForeignKeyConstraint(['set_by_id'], ['users.id'], name='fk_customer_classes_set_by'),
        sa.PrimaryKeyConstraint('id'),
    )
    with op.batch_alter_table('customer_classes', schema=None) as batch_op:
        batch_op.create_index('ix_customer_classes_customer_kind', ['customer_id', 'kind', 'id'], unique=False)


def downgrade():
    with op.batch_alter_table('customer_classes', schema=None) as batch_op:
        batch_op.drop_index('ix_customer_classes_customer_kind')
    op.drop_table('customer_classes')
