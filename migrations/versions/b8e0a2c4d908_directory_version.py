"""directory version: a token every change of the organisation (units, roles, users, memberships,
away periods) replaces, so that each node keeps the organisation in memory and knows when to reread it

Revision ID: b8e0a2c4d908
Revises: a7d9f1b3c907
Create Date: 2026-12-03 14:30:00

"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = 'b8e0a2c4d908'
down_revision = 'a7d9f1b3c907'
branch_labels = None
depends_on = None


# The tables whose rows the process's copy of the organisation is made of (app.engine.directory):
# users only when what is copied of them changes (not a sign-in or a sign-out).
WATCHED = {"org_units": "", "roles": "", "memberships": "", "delegations": "", "users": " OF active"}


def upgrade():
    op.create_table('directory_version',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('token', sa.String(length=32), nullable=False),
        sa.PrimaryKeyConstraint('id'),
    )
    if op.get_context().dialect.name == "postgresql":
        op.execute("INSERT INTO directory_version (id, token) VALUES (1, md5(random()::text))")
        op.execute("""
CREATE FUNCTION directory_changed() RETURNS trigger AS $$
BEGIN
    UPDATE directory_version SET token = md5(random()::text || clock_timestamp()::text);
    RETURN NULL;
END $$ LANGUAGE plpgsql""")
        for table, columns in WATCHED.items():
            op.execute(f"CREATE TRIGGER {table}_directory_changed AFTER INSERT OR UPDATE{columns} OR DELETE "
                       f"OR TRUNCATE ON {table} FOR EACH STATEMENT EXECUTE FUNCTION directory_changed()")
    else:
        op.execute("INSERT INTO directory_version (id, token) VALUES (1, hex(randomblob(16)))")
        for table, columns in WATCHED.items():
            for change in ("INSERT", f"UPDATE{columns}", "DELETE"):
                op.execute(f"CREATE TRIGGER {table}_{change.split()[0].lower()}_directory_changed AFTER {change} "
                           f"ON {table} BEGIN UPDATE directory_version SET token = hex(randomblob(16)); END")


def downgrade():
    if op.get_context().dialect.name == "postgresql":
        for table in WATCHED:
            op.execute(f"DROP TRIGGER {table}_directory_changed ON {table}")
        op.execute("DROP FUNCTION directory_changed()")
    else:
        for table in WATCHED:
            for change in ("insert", "update", "delete"):
                op.execute(f"DROP TRIGGER {table}_{change}_directory_changed")
    op.drop_table('directory_version')
