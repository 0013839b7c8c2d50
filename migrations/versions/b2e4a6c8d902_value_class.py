"""customer value class: its figures on the class history

Revision ID: b2e4a6c8d902
Revises: a1d3f5b7c901
Create Date: 2026-12-03 11:00:00

"""
import sqlalchemy as sa  # noqa: F401
from alembic import op  # noqa: F401

import app.db_types  # noqa: F401  (custom column types)

# revision identifiers, used by Alembic.
revision = 'b2e4a6c8d902'
down_revision = 'a1d3f5b7c901'
branch_labels = None
depends_on = None


def upgrade():
    pass


def downgrade():
    pass
