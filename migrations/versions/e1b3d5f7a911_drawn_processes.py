"""processes declared from the administration pages, to be drawn there

Revision ID: e1b3d5f7a911
Revises: d0a2c4e6f910
Create Date: 2026-12-07 15:40:00

"""
import sqlalchemy as sa
from alembic import op

from sqlalchemy.dialects import postgresql

import app.db_types

# revision identifiers, used by Alembic.
revision = "e1b3d5f7a911"
down_revision = "d0a2c4e6f910"
branch_labels = None
depends_on = None

JSON_DOCUMENT = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")


def upgrade():
    op.create_table(
        "drawn_processes",
        sa.Column("key", sa.String(80), primary_key=True),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("starter_roles", JSON_DOCUMENT, nullable=False),
        sa.Column("starter_units", JSON_DOCUMENT, nullable=False),
        sa.Column("sensitive", sa.Boolean(), nullable=False),
        sa.Column("created_at", app.db_types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("created_by_id", sa.Integer(), sa.ForeignKey("users.id"), nullable=False),
    )


def downgrade():
    op.drop_table("drawn_processes")
