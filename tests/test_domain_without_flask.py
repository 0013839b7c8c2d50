"""The company's rules need no Flask: the pure ones are plain functions, and the ones that read the
database run on a plain SQLAlchemy session bound to an engine (app.db.bind), with no application and no
application context, as a script or another service would use them."""
import os
from datetime import UTC, datetime

import pytest
from flask import has_app_context
from sqlalchemy import select

from app import db
from app.domain import (
    assignment,
    complaints,
    credit_rating,
    dossiers,
    early_warning,
    org,
    star_rating,
    visits,
)
from app.domain.customers import Customer
from app.domain.failure_analysis import durations
from app.engine.plugins import AssignmentError


def test_pure_rules_are_plain_functions():
    assert not has_app_context()
    assert star_rating.streak([("2026-10", 3), ("2026-09", 3), ("2026-08", 2)], at_least=3) == 2
    assert star_rating.streak([("2026-10", 3), ("2026-08", 3)], at_least=3) == 1  # a gap breaks it
    inputs = credit_rating.grade_inputs({"customer_kind": "direct", "bad_debt": False, **{
        indicator.name: indicator.points for indicator in credit_rating.INDICATORS}})
    assert inputs == {"kind": "direct", "total": 100.0, "credit_full": True, "bad_debt": False}
    assert complaints.severity_inputs({"claimed_loss_yuan": "60000.5", "safety_issue": 1}) == {
        "safety_issue": True, "key_customer": False, "repeat_complaint": False, "claimed_loss_yuan": 60000.5}
    assert visits.INTERVAL_DAYS[2][visits.SALES_MANAGER] == 15
    assert durations([3.0, None, 1.0, 2.0]).median == 2.0


@pytest.fixture
def bound(app):
    """The test database on a plain engine, no application context: what a script would have."""
    engine = db.connect(os.environ["DATABASE_URL"].replace("postgresql://", "postgresql+psycopg://", 1))
    db.bind(engine)
    yield
    db.session.remove()
    db.bind(None)
    engine.dispose()


def test_rules_that_read_the_organisation_run_on_a_plain_session(bound):
    assert not has_app_context()
    customer = db.session.scalar(select(Customer).where(Customer.code == "HD-E1-001"))
    rep_e1 = db.session.scalar(select(org.User).where(org.User.username == "rep_e1"))
    rep_e2 = db.session.scalar(select(org.User).where(org.User.username == "rep_e2"))
    assert assignment.territory_rep({"customer_id": customer.id}).assignee_id == rep_e1.id
    assert assignment.branch_business_dept({"customer_id": customer.id}).candidate_role == org.BUSINESS_SUPERVISOR
    with pytest.raises(AssignmentError):
        assignment.territory_rep({"customer_id": -1})
    now = datetime(2026, 10, 10, tzinfo=UTC)
    assert dossiers.ground(rep_e1, customer, now) == (dossiers.OWN_TERRITORY, None)
    assert dossiers.ground(rep_e2, customer, now) is None  # another territory, no loan
    assert visits.visiting_role(rep_e1, customer) == visits.REP and visits.visiting_role(rep_e2, customer) is None
    assert early_warning.tier_of(customer) == early_warning.GENERAL  # no stars, not a key customer
    assert org.branch_of(customer.territory).code == "east"
