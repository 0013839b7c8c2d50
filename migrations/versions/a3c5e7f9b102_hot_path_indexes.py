"""indexes for look-ups that grew with the data: a customer's running cases by their initiator (a
partial index), a borrower's loans of one dossier by when they end

Revision ID: a3c5e7f9b102
Revises: f2b9d4c6a817
Create Date: 2026-12-02 18:50:00

"""
from alembic import op
import sqlalchemy as sa

# revision identifiers, used by Alembic.
revision = 'a3c5e7f9b102'
down_revision = 'f2b9d4c6a817'
branch_labels = None
depends_on = None

RUNNING_ONLY = sa.text("status = 'running'")


def upgrade():
    with op.batch_alter_table('instances', schema=None) as batch_op:
        batch_op.create_index('ix_instances_running_customer', ['customer_id', 'started_by_id'], unique=False,
                              sqlite_where=RUNNING_ONLY, postgresql_where=RUNNING_ONLY)
    with op.batch_alter_table('dossier_loans', schema=None) as batch_op:
        batch_op.drop_index('ix_dossier_loans_borrower_id')
        batch_op.create_index('ix_dossier_loans_borrower_customer', ['borrower_id', 'customer_id', 'expires_at'],
                              unique=False)


def downgrade():
    with op.batch_alter_table('dossier_loans', schema=None) as batch_op:
        batch_op.drop_index('ix_dossier_loans_borrower_customer')
        batch_op.create_index('ix_dossier_loans_borrower_id', ['borrower_id'], unique=False)
    with op.batch_alter_table('instances', schema=None) as batch_op:
        batch_op.drop_index('ix_instances_running_customer')
