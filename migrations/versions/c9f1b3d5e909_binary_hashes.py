"""audit hashes as 32 bytes instead of 64 hex characters

The audit trail's SHA-256 digests (events.prev_hash and hash, instances.chain_head, audit_checkpoints'
prev_hash and hash) become their 32 raw bytes (app.db_types.Sha256: the application still reads and
writes hex). Existing rows are converted: on PostgreSQL by ALTER ... USING decode(…, 'hex'), a rewrite of
the table that fires no row trigger (events' append-only trigger refuses UPDATE); on SQLite, which has
no unhex() before 3.41 and no such trigger, by an UPDATE through a function of this connection, before
the table is copied with its new column types (batch mode). Downgrading gives the lowercase hex back.
A value that is not 64 hex characters stops the upgrade: the trail is not converted into something
else than it says.

Revision ID: c9f1b3d5e909
Revises: b8e0a2c4d908
Create Date: 2026-12-03 14:31:00

"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = 'c9f1b3d5e909'
down_revision = 'b8e0a2c4d908'
branch_labels = None
depends_on = None

# table: (its hash columns, whether they may be NULL)
HASH_COLUMNS = {
    "events": (("prev_hash", "hash"), True),
    "instances": (("chain_head",), True),
    "audit_checkpoints": (("prev_hash", "hash"), False),
}
HEX = sa.String(length=64)
BYTES = sa.LargeBinary(length=32)


def _from_hex(value):
    """SQLite's stand-in for unhex(): 64 hex characters (as text, or as the bytes of that text) → 32 bytes."""
    if value is None:
        return None
    text = value.decode("ascii") if isinstance(value, bytes) else value
    raw = bytes.fromhex(text)
    if len(raw) != 32:
        raise ValueError(f"not a SHA-256 digest in hex: {text!r}")
    return raw


def upgrade():
    bind = op.get_bind()
    if bind.dialect.name == "sqlite":
        bind.connection.driver_connection.create_function("audit_hash_from_hex", 1, _from_hex, deterministic=True)
        for table, (columns, _) in HASH_COLUMNS.items():
            # A BLOB stays a BLOB in a column of text affinity, and the copy below (CAST AS BLOB) keeps it.
            op.execute(f"UPDATE {table} SET " + ", ".join(f"{c} = audit_hash_from_hex({c})" for c in columns))
    for table, (columns, nullable) in HASH_COLUMNS.items():
        with op.batch_alter_table(table, schema=None) as batch_op:
            for column in columns:
                batch_op.alter_column(column, existing_type=HEX, type_=BYTES, existing_nullable=nullable,
                                      postgresql_using=f"decode({column}, 'hex')")


def downgrade():
    bind = op.get_bind()
    if bind.dialect.name == "sqlite":
        for table, (columns, _) in HASH_COLUMNS.items():
            # hex() of NULL is '', hence the CASE; hex() is upper case, the application's hex lower.
            op.execute(f"UPDATE {table} SET " + ", ".join(
                f"{c} = CASE WHEN {c} IS NULL THEN NULL ELSE lower(hex({c})) END" for c in columns))
    for table, (columns, nullable) in HASH_COLUMNS.items():
        with op.batch_alter_table(table, schema=None) as batch_op:
            for column in columns:
                batch_op.alter_column(column, existing_type=BYTES, type_=HEX, existing_nullable=nullable,
                                      postgresql_using=f"encode({column}, 'hex')")
