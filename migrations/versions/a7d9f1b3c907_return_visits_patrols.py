"""return-visit reports, patrol plans and findings, relationship managers

Revision ID: a7d9f1b3c907
Revises: f6c8e0a2b906
Create Date: 2026-12-03 11:10:00

"""
import sqlalchemy as sa
from alembic import op

import app.db_types  # noqa: F401  (custom column types)

# revision identifiers, used by Alembic.
revision = 'a7d9f1b3c907'
down_revision = 'f6c8e0a2b906'
branch_labels = None
depends_on = None

MOMENT = app.db_types.UTCDateTime(timezone=True)


def upgrade():
    with op.batch_alter_table('customers') as batch_op:
        batch_op.add_column(sa.Column('relationship_manager_id', sa.Integer(), nullable=True))
        batch_op.create_foreign_key('fk_customers_relationship_manager_id_users', 'users',
                                    ['relationship_manager_id'], ['id'])
    op.create_table('return_visit_reports',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('instance_id', sa.Integer(), sa.ForeignKey('instances.id'), nullable=False),
        sa.Column('customer_id', sa.Integer(), sa.ForeignKey('customers.id'), nullable=False),
        sa.Column('rep_id', sa.Integer(), sa.ForeignKey('users.id'), nullable=False),
        sa.Column('visited_on', sa.Date(), nullable=False),
        sa.Column('evaluation', sa.String(length=20), nullable=False),
        sa.Column('evaluation_notes', sa.Text(), nullable=False),
        sa.Column('market_demand', sa.Text(), nullable=False),
        sa.Column('suggestions', sa.Text(), nullable=False),
        sa.Column('result', sa.Text(), nullable=False),
        sa.Column('filed_at', MOMENT, nullable=False),
        sa.Column('reviewed_by_id', sa.Integer(), sa.ForeignKey('users.id'), nullable=True),
        sa.Column('reviewed_at', MOMENT, nullable=True),
        sa.Column('review_comment', sa.Text(), nullable=False),
        sa.Column('demand_read_at', MOMENT, nullable=True),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('instance_id'))
    op.create_index('ix_return_visit_reports_customer_id', 'return_visit_reports', ['customer_id'])
    op.create_index('ix_return_visit_reports_rep_id', 'return_visit_reports', ['rep_id'])
    op.create_table('return_visit_actions',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('report_id', sa.Integer(), sa.ForeignKey('return_visit_reports.id'), nullable=False),
        sa.Column('position', sa.Integer(), nullable=False),
        sa.Column('person_id', sa.Integer(), sa.ForeignKey('users.id'), nullable=False),
        sa.Column('what', sa.Text(), nullable=False),
        sa.Column('due_on', sa.Date(), nullable=False),
        sa.Column('done_at', MOMENT, nullable=True),
        sa.Column('done_report', sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint('id'))
    op.create_index('ix_return_visit_actions_report_id', 'return_visit_actions', ['report_id'])
    op.create_index('ix_return_visit_actions_person_id', 'return_visit_actions', ['person_id'])
    op.create_table('patrols',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('instance_id', sa.Integer(), sa.ForeignKey('instances.id'), nullable=False),
        sa.Column('position', sa.Integer(), nullable=False),
        sa.Column('branch_id', sa.Integer(), sa.ForeignKey('org_units.id'), nullable=False),
        sa.Column('month', sa.String(length=7), nullable=False),
        sa.Column('customer_id', sa.Integer(), sa.ForeignKey('customers.id'), nullable=False),
        sa.Column('tier', sa.String(length=10), nullable=False),
        sa.Column('patroller_id', sa.Integer(), sa.ForeignKey('users.id'), nullable=False),
        sa.Column('regular', sa.Boolean(), nullable=False),
        sa.Column('due_on', sa.Date(), nullable=False),
        sa.Column('patrolled_on', sa.Date(), nullable=True),
        sa.Column('findings', sa.Text(), nullable=False),
        sa.Column('reported_at', MOMENT, nullable=True),
        sa.Column('problem', sa.Text(), nullable=False),
        sa.Column('solver_id', sa.Integer(), sa.ForeignKey('users.id'), nullable=True),
        sa.Column('solve_by', sa.Date(), nullable=True),
        sa.Column('solution', sa.Text(), nullable=False),
        sa.Column('solved_at', MOMENT, nullable=True),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('instance_id', 'position', name='uq_patrols_instance_position'))
    op.create_index('ix_patrols_customer_id', 'patrols', ['customer_id'])
    op.create_index('ix_patrols_patroller_id', 'patrols', ['patroller_id'])


def downgrade():
    op.drop_index('ix_patrols_patroller_id', table_name='patrols')
    op.drop_index('ix_patrols_customer_id', table_name='patrols')
    op.drop_table('patrols')
    op.drop_index('ix_return_visit_actions_person_id', table_name='return_visit_actions')
    op.drop_index('ix_return_visit_actions_report_id', table_name='return_visit_actions')
    op.drop_table('return_visit_actions')
    op.drop_index('ix_return_visit_reports_rep_id', table_name='return_visit_reports')
    op.drop_index('ix_return_visit_reports_customer_id', table_name='return_visit_reports')
    op.drop_table('return_visit_reports')
    with op.batch_alter_table('customers') as batch_op:
        batch_op.drop_constraint('fk_customers_relationship_manager_id_users', type_='foreignkey')
        batch_op.drop_column('relationship_manager_id')
