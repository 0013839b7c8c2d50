"""inbox and audit search indexes

Chosen with EXPLAIN on bench/inbox.py's data (1,000,000 completed and 100,000 open tasks, 3.5 million
events), on PostgreSQL and SQLite alike:

- tasks: the inboxes read open tasks only. Two partial indexes replace the two full ones: open tasks
  by assignee, and open unclaimed tasks by candidate role and org unit, each with the sort columns
  and the id (due_at, created_at, id) so that a page of ids comes from the index alone (PostgreSQL's
  indexes do not carry the primary key by themselves, SQLite's do). Splitting on assignee_id
  also keeps SQLite from answering "assignee_id IS NULL" with the assignee index (every unclaimed
  task), which its statistics make look cheap.
- events: (actor_id, at) replaces (actor_id) for one person's actions over a period, newest first;
  (at, instance_id, type) replaces (at): a period's events newest first, and their count by
  process (join instances on instance_id) or by type, without reading the event rows.
- instances: the index on process_key goes. A handful of processes share all the rows, so it
  never narrows anything down, and SQLite (the application never runs ANALYZE, so it has no
  statistics) took it for selective: a process's events of one month were found by reading every
  case of the process and all their events (4.7 s instead of 1 ms for a page).

Revision ID: c61381a8796a
Revises: 495b815d2d1d
Create Date: 2026-11-26 01:10:00.000000

"""
from alembic import op
import sqlalchemy as sa

# revision identifiers, used by Alembic.
revision = 'c61381a8796a'
down_revision = '495b815d2d1d'
branch_labels = None
depends_on = None

OPEN_ASSIGNED = "state = 'open' AND assignee_id IS NOT NULL"
OPEN_UNCLAIMED = "state = 'open' AND assignee_id IS NULL"


def upgrade():
    op.drop_index('ix_tasks_assignee_open', table_name='tasks')
    op.drop_index('ix_tasks_candidates_open', table_name='tasks')
    op.create_index('ix_tasks_open_assignee', 'tasks', ['assignee_id', 'due_at', 'created_at', 'id'],
                    sqlite_where=sa.text(OPEN_ASSIGNED), postgresql_where=sa.text(OPEN_ASSIGNED))
    op.create_index('ix_tasks_open_candidates', 'tasks',
                    ['candidate_role', 'candidate_org_unit_id', 'due_at', 'created_at', 'id'],
                    sqlite_where=sa.text(OPEN_UNCLAIMED), postgresql_where=sa.text(OPEN_UNCLAIMED))

    op.drop_index('ix_events_actor_id', table_name='events')
    op.drop_index('ix_events_at', table_name='events')
    op.create_index('ix_events_actor_at', 'events', ['actor_id', 'at'])
    op.create_index('ix_events_at_instance_type', 'events', ['at', 'instance_id', 'type'])

    op.drop_index('ix_instances_process_key', table_name='instances')


def downgrade():
    op.create_index('ix_instances_process_key', 'instances', ['process_key'])

    op.drop_index('ix_events_at_instance_type', table_name='events')
    op.drop_index('ix_events_actor_at', table_name='events')
    op.create_index('ix_events_at', 'events', ['at'])
    op.create_index('ix_events_actor_id', 'events', ['actor_id'])

    op.drop_index('ix_tasks_open_candidates', table_name='tasks')
    op.drop_index('ix_tasks_open_assignee', table_name='tasks')
    op.create_index('ix_tasks_candidates_open', 'tasks',
                    ['candidate_role', 'candidate_org_unit_id', 'state', 'due_at'])
    op.create_index('ix_tasks_assignee_open', 'tasks', ['assignee_id', 'state', 'due_at'])
