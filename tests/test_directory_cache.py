"""Each process keeps the organisation in memory (app.engine.directory) and reads it again when the
database's directory token changes: a change made anywhere (another node, a script, plain SQL) is seen by
the next transaction, and nothing else makes it read again."""
from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select, text

from app import db
from app.calendar import clock
from app.domain import delegation, org
from app.engine import directory
from tests.conftest import get_user


@pytest.fixture
def elsewhere(ctx):
    """Run SQL through a connection of its own, as another node or a script would, and commit it (after
    the test's own transaction ended: SQLite has one writer)."""
    connection = db.current_engine().connect()

    def run(sql: str, **params) -> None:
        db.session.commit()
        connection.execute(text(sql), params)
        connection.commit()
    yield run
    connection.close()


def token() -> str:
    return db.session.scalar(text("SELECT token FROM directory_version"))


def territory(code: str) -> int:
    return db.session.scalar(select(org.OrgUnit.id).where(org.OrgUnit.code == code))


def test_nothing_changed_means_nothing_read_again(ctx):
    first = directory.snapshot()
    db.session.commit()
    rep = get_user("rep_e1")
    rep.session_generation += 1  # a sign-out is no change of the organisation
    db.session.commit()
    assert directory.snapshot() is first
    assert org.member_ids(org.SALES_REP, territory("E1")) == (rep.id,)


def test_a_membership_added_elsewhere_is_seen_by_the_next_transaction(ctx, elsewhere):
    e2, rep_e1 = territory("E2"), get_user("rep_e1")
    role = db.session.scalar(select(org.Role.id).where(org.Role.code == org.SALES_REP))
    assert rep_e1.id not in org.member_ids(org.SALES_REP, e2)
    before = token()
    elsewhere("INSERT INTO memberships (user_id, role_id, org_unit_id) VALUES (:u, :r, :t)",
              u=rep_e1.id, r=role, t=e2)
    try:
        assert token() != before
        assert rep_e1.id in org.member_ids(org.SALES_REP, e2)
    finally:
        elsewhere("DELETE FROM memberships WHERE user_id = :u AND org_unit_id = :t", u=rep_e1.id, t=e2)
    assert rep_e1.id not in org.member_ids(org.SALES_REP, e2)


def test_a_person_made_inactive_elsewhere_is_no_longer_a_member(ctx, elsewhere):
    manager = get_user("mgr_east")
    branch = db.session.scalar(select(org.OrgUnit.id).where(org.OrgUnit.code == "east"))
    assert org.member_ids(org.BRANCH_MANAGER, branch) == (manager.id,)
    elsewhere("UPDATE users SET active = false WHERE id = :u", u=manager.id)
    try:
        assert org.member_ids(org.BRANCH_MANAGER, branch) == ()
    finally:
        elsewhere("UPDATE users SET active = true WHERE id = :u", u=manager.id)
    assert org.member_ids(org.BRANCH_MANAGER, branch) == (manager.id,)


def test_a_change_rolled_back_leaves_nothing_behind(ctx):
    e2, rep_e1 = territory("E2"), get_user("rep_e1")
    role = db.session.scalar(select(org.Role).where(org.Role.code == org.SALES_REP))
    assert rep_e1.id not in org.member_ids(org.SALES_REP, e2)
    db.session.add(org.Membership(user=rep_e1, role=role, org_unit_id=e2))
    db.session.flush()
    assert rep_e1.id in org.member_ids(org.SALES_REP, e2)  # the transaction sees what it wrote
    db.session.rollback()
    assert rep_e1.id not in org.member_ids(org.SALES_REP, e2)


def test_an_away_period_set_elsewhere_is_seen_at_once(ctx, elsewhere):
    manager, deputy = get_user("mgr_east"), get_user("salesmgr_east")
    now = clock.now()
    assert delegation.deputy_for(manager.id, "dossier_borrowing", now) is None
    elsewhere("INSERT INTO delegations (user_id, deputy_id, starts_at, ends_at, process_keys, created_by_id, "
              "created_at) VALUES (:u, :d, :s, :e, '[]', :u, :s)", u=manager.id, d=deputy.id,
              s=(now - timedelta(hours=1)).replace(tzinfo=None), e=(now + timedelta(days=1)).replace(tzinfo=None))
    assert delegation.deputy_for(manager.id, "dossier_borrowing", now) == deputy
    assert delegation.deputy_for(manager.id, "dossier_borrowing", now + timedelta(days=2)) is None
