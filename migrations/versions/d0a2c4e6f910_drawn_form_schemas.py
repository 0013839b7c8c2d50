"""drawn forms deployed with the process version

A process version keeps the drawn forms (form-js schemas) its steps name, {form id: schema}, beside its
DMN tables; existing versions have none.

Revision ID: d0a2c4e6f910
Revises: c9f1b3d5e909
Create Date: 2026-12-07 15:00:00

"""
import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

# revision identifiers, used by Alembic.
revision = "d0a2c4e6f910"
down_revision = "c9f1b3d5e909"
branch_labels = None
depends_on = None

JSON_DOCUMENT = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")


def upgrade():
    with op.batch_alter_table("process_definitions", schema=None) as batch_op:
        batch_op.add_column(sa.Column("form_schemas", JSON_DOCUMENT, nullable=False, server_default="{}"))


def downgrade():
    with op.batch_alter_table("process_definitions", schema=None) as batch_op:
        batch_op.drop_column("form_schemas")
