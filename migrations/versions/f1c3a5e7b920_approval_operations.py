"""approval operations: tasks of ours around a step (signers, resubmission), a step live in one row
at a time, comments in the inbox, copies to readers, away periods, notifications, e-mail addresses

Revision ID: f1c3a5e7b920
Revises: e4b7c2a9d310
Create Date: 2026-11-26 16:00:00

"""
from alembic import op
import sqlalchemy as sa
import app.db_types  # noqa: F401  (custom column types)
from sqlalchemy.dialects import postgresql

# revision identifiers, used by Alembic.
revision = 'f1c3a5e7b920'
down_revision = 'e4b7c2a9d310'
branch_labels = None
depends_on = None

JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql')
LIVE = "state IN ('open', 'held')"


def upgrade():
    # The unique constraint on spiff_task_id was created unnamed: name it to drop it (SQLite reflects it
    # without a name; PostgreSQL named it tasks_spiff_task_id_key).
    convention = {"uq": "%(table_name)s_%(column_0_name)s_key"}
    with op.batch_alter_table('tasks', naming_convention=convention) as batch_op:
        batch_op.drop_constraint('tasks_spiff_task_id_key', type_='unique')
        batch_op.add_column(sa.Column('kind', sa.String(length=20), server_default='step', nullable=False))
        batch_op.add_column(sa.Column('parent_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('pending_data', JSON, nullable=True))
        batch_op.create_foreign_key('fk_tasks_parent_id', 'tasks', ['parent_id'], ['id'])
    op.create_index('uq_tasks_live_spiff_task', 'tasks', ['spiff_task_id'], unique=True,
                    sqlite_where=sa.text(LIVE), postgresql_where=sa.text(LIVE))
    with op.batch_alter_table('instances') as batch_op:
        batch_op.add_column(sa.Column('last_comment', sa.String(length=200), nullable=True))
    with op.batch_alter_table('users') as batch_op:
        batch_op.add_column(sa.Column('email', sa.String(length=200), nullable=True))

    op.create_table('case_readers',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('instance_id', sa.Integer(), sa.ForeignKey('instances.id'), nullable=False),
        sa.Column('user_id', sa.Integer(), sa.ForeignKey('users.id'), nullable=False),
        sa.Column('added_by_id', sa.Integer(), sa.ForeignKey('users.id'), nullable=True),
        sa.Column('at', app.db_types.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('instance_id', 'user_id'))
    op.create_index('ix_case_readers_user', 'case_readers', ['user_id', 'at'])

    op.create_table('delegations',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('user_id', sa.Integer(), sa.ForeignKey('users.id'), nullable=False),
        sa.Column('deputy_id', sa.Integer(), sa.ForeignKey('users.id'), nullable=False),
        sa.Column('starts_at', app.db_types.UTCDateTime(timezone=True), nullable=False),
        sa.Column('ends_at', app.db_types.UTCDateTime(timezone=True), nullable=False),
        sa.Column('process_keys', JSON, nullable=False),
        sa.Column('created_by_id', sa.Integer(), sa.ForeignKey('users.id'), nullable=False),
        sa.Column('created_at', app.db_types.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint('id'))
    op.create_index('ix_delegations_user_period', 'delegations', ['user_id', 'starts_at', 'ends_at'])

    op.create_table('notifications',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('user_id', sa.Integer(), sa.ForeignKey('users.id'), nullable=False),
        sa.Column('kind', sa.String(length=30), nullable=False),
        sa.Column('instance_id', sa.Integer(), sa.ForeignKey('instances.id'), nullable=True),
        sa.Column('task_id', sa.Integer(), sa.ForeignKey('tasks.id'), nullable=True),
        sa.Column('at', app.db_types.UTCDateTime(timezone=True), nullable=False),
        sa.Column('data', JSON, nullable=False),
        sa.Column('read_at', app.db_types.UTCDateTime(timezone=True), nullable=True),
        sa.Column('email_state', sa.String(length=10), nullable=True),
        sa.Column('email_attempts', sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint('id'))
    op.create_index('ix_notifications_user_at', 'notifications', ['user_id', 'at'])
    op.create_index('ix_notifications_unread', 'notifications', ['user_id'],
                    sqlite_where=sa.text('read_at IS NULL'), postgresql_where=sa.text('read_at IS NULL'))
    op.create_index('ix_notifications_email', 'notifications', ['email_state'],
                    sqlite_where=sa.text("email_state = 'pending'"),
                    postgresql_where=sa.text("email_state = 'pending'"))


def downgrade():
    op.drop_table('notifications')
    op.drop_table('delegations')
    op.drop_table('case_readers')
    with op.batch_alter_table('users') as batch_op:
        batch_op.drop_column('email')
    with op.batch_alter_table('instances') as batch_op:
        batch_op.drop_column('last_comment')
    op.drop_index('uq_tasks_live_spiff_task', table_name='tasks')
    with op.batch_alter_table('tasks') as batch_op:
        batch_op.drop_constraint('fk_tasks_parent_id', type_='foreignkey')
        batch_op.drop_column('pending_data')
        batch_op.drop_column('parent_id')
        batch_op.drop_column('kind')
        batch_op.create_unique_constraint('tasks_spiff_task_id_key', ['spiff_task_id'])
