"""purchase records: delivered quantity, on time or not, who entered them, and the import batch (file
SHA-256, unique) each came in with

Revision ID: d2f6a8c4e517
Revises: c4d8f2a6e913
Create Date: 2026-12-03 12:00:00

"""
from alembic import op
import sqlalchemy as sa

import app.db_types

# revision identifiers, used by Alembic.
revision = 'd2f6a8c4e517'
down_revision = 'c4d8f2a6e913'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'purchase_imports',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('sha256', sa.String(length=64), nullable=False),
        sa.Column('filename', sa.String(length=200), nullable=False),
        sa.Column('rows', sa.Integer(), nullable=False),
        sa.Column('imported_by_id', sa.Integer(), nullable=False),
        sa.Column('imported_at', app.db_types.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['imported_by_id'], ['users.id'], name='fk_purchase_imports_imported_by'),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('sha256', name='uq_purchase_imports_sha256'),
    )
    with op.batch_alter_table('purchase_records', schema=None) as batch_op:
        batch_op.add_column(sa.Column('delivered_tons', sa.Numeric(precision=12, scale=2), nullable=True))
        batch_op.add_column(sa.Column('on_time', sa.Boolean(), nullable=True))
        batch_op.add_column(sa.Column('import_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('entered_by_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('entered_at', app.db_types.UTCDateTime(timezone=True), nullable=True))
        batch_op.create_foreign_key('fk_purchase_records_import_id', 'purchase_imports', ['import_id'], ['id'],
                                    ondelete='SET NULL')
        batch_op.create_foreign_key('fk_purchase_records_entered_by', 'users', ['entered_by_id'], ['id'])
        batch_op.create_index('ix_purchase_records_import_id', ['import_id'], unique=False)


def downgrade():
    with op.batch_alter_table('purchase_records', schema=None) as batch_op:
        batch_op.drop_index('ix_purchase_records_import_id')
        batch_op.drop_constraint('fk_purchase_records_entered_by', type_='foreignkey')
        batch_op.drop_constraint('fk_purchase_records_import_id', type_='foreignkey')
        batch_op.drop_column('entered_at')
        batch_op.drop_column('entered_by_id')
        batch_op.drop_column('import_id')
        batch_op.drop_column('on_time')
        batch_op.drop_column('delivered_tons')
    op.drop_table('purchase_imports')
