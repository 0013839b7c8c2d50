"""Segregation of duties on the borrowing flow's consents: nobody decides a consent in a case he
started, nobody consents at two levels of one case; the step goes to the person's superior instead,
the case history says why, and an administrator's override is on record."""
from __future__ import annotations

import pytest
from conftest import clear_runtime_rows, get_customer, get_user
from sqlalchemy import delete, select

from app import db
from app.domain import demo, org, segregation
from app.domain.org import Membership, OrgUnit, Role, User
from app.engine.models import Event, Instance, Task
from app.errors import Forbidden

PROCESS = "dossier_borrowing"
REP_STEP, BUSINESS_STEP, MANAGER_STEP = "consent_territory_rep", "consent_business_dept", "consent_branch_manager"


def request(engine, username: str, code: str = "HD-E1-001") -> Instance:
    return engine.cases.start(PROCESS, get_user(username),
                        {"customer_id": get_customer(code).id, "purpose": "季度拜访准备", "days": 5})


def open_task(instance: Instance) -> Task:
    db.session.expire_all()
    return db.session.scalar(select(Task).where(Task.instance_id == instance.id, Task.state == "open"))


def consent(engine, instance: Instance, username: str, spec: str) -> Task:
    task = open_task(instance)
    assert task.spec_id == spec
    user = get_user(username)
    if task.assignee_id is None:
        engine.cases.claim(task.id, user)
    return engine.cases.complete(task.id, user, {"decision": "approve", "comment": f"{username} 同意"})


def events(instance: Instance, event_type: str) -> list[Event]:
    return list(db.session.scalars(select(Event).where(Event.instance_id == instance.id, Event.type == event_type)
                                   .order_by(Event.id)))


def test_a_supervisors_own_request_skips_him_and_no_one_consents_twice(engine):
    """biz_east (another department) asks for an E1 dossier: three consents. His own department's
    consent goes to his superior, the branch manager; the branch manager's own level then goes to the
    deputy general manager, because the branch manager already consented at the level before."""
    instance = request(engine, "biz_east")
    consent(engine, instance, "rep_e1", REP_STEP)

    business = open_task(instance)
    assert business.spec_id == BUSINESS_STEP and business.assignee.username == "mgr_east"
    rerouted = events(instance, "duty_rerouted")
    assert [(e.data["passed_over_id"], e.data["rule"], e.data["assignee_id"]) for e in rerouted] == [
        (get_user("biz_east").id, "initiator", get_user("mgr_east").id)]
    consent(engine, instance, "mgr_east", BUSINESS_STEP)

    manager = open_task(instance)
    assert manager.spec_id == MANAGER_STEP and manager.assignee.username == "deputy_gm"
    last = events(instance, "duty_rerouted")[-1]
    assert (last.data["passed_over_id"], last.data["rule"]) == (get_user("mgr_east").id, "earlier_approval")
    assert last.task_id == manager.id and last.actor_id is None  # the application's doing, on that step
    consent(engine, instance, "deputy_gm", MANAGER_STEP)

    db.session.expire_all()
    assert db.session.get(Instance, instance.id).outcome == "approved"
    deciders = db.session.scalars(select(Task.completed_by_id).where(Task.instance_id == instance.id)).all()
    assert len(set(deciders)) == 3 and get_user("biz_east").id not in deciders


def test_the_branch_managers_own_request_goes_above_him(engine):
    instance = request(engine, "mgr_east")
    consent(engine, instance, "rep_e1", REP_STEP)
    consent(engine, instance, "biz_east", BUSINESS_STEP)
    manager = open_task(instance)
    assert manager.spec_id == MANAGER_STEP and manager.assignee.username == "deputy_gm"
    assert [e.data["rule"] for e in events(instance, "duty_rerouted")] == ["initiator"]


@pytest.fixture
def two_hats(ctx):
    """rep_e1 is also a business supervisor of 华东分公司, and a second supervisor exists."""
    unit = db.session.scalar(select(OrgUnit).where(OrgUnit.code == "east_business"))
    role = db.session.scalar(select(Role).where(Role.code == org.BUSINESS_SUPERVISOR))
    db.session.add(Membership(user=get_user("rep_e1"), role=role, org_unit=unit))
    other = User(username="biz_east_b", display_name="第二主管", org_unit=unit,
                 password_hash=ctx.extensions["accounts"].hash_password(demo.DEMO_PASSWORD))
    other.memberships = [Membership(role=role, org_unit=unit)]
    db.session.add(other)
    db.session.commit()
    yield
    db.session.rollback()
    clear_runtime_rows()  # the cases point at the second supervisor
    db.session.execute(delete(Membership).where(Membership.user_id == other.id))
    db.session.execute(delete(Membership).where(Membership.user_id == get_user("rep_e1").id,
                                                Membership.org_unit_id == unit.id))
    db.session.execute(delete(User).where(User.id == other.id))
    db.session.commit()


def test_a_group_step_stays_with_the_group_but_not_with_who_may_not_take_it(engine, two_hats):
    """The group has members who may decide: the step stays offered to it; the initiator and the rep who
    consented first (who is in the group too) cannot claim it, with the reason."""
    instance = request(engine, "biz_east", "HD-E1-002")
    consent(engine, instance, "rep_e1", REP_STEP)
    business = open_task(instance)
    assert business.assignee_id is None and business.candidate_role == org.BUSINESS_SUPERVISOR
    assert events(instance, "duty_rerouted") == []
    for username, rule in (("biz_east", segregation.INITIATOR), ("rep_e1", segregation.EARLIER_APPROVAL)):
        with pytest.raises(Forbidden) as refused:
            engine.cases.claim(business.id, get_user(username))
        assert str(refused.value.message) == str(segregation.REFUSALS[rule])
    consent(engine, instance, "biz_east_b", BUSINESS_STEP)
    assert open_task(instance).spec_id == MANAGER_STEP


def test_the_api_refuses_the_claim_with_the_reason(engine, api, two_hats):
    instance = request(engine, "biz_east", "HD-E1-002")
    consent(engine, instance, "rep_e1", REP_STEP)
    response = api.post(f"/tasks/{open_task(instance).id}/claim", "biz_east")
    message = response.get_json()["error"]["message"]
    assert response.status_code == 403 and ("someone else" in message or "须由他人决定" in message), message


def test_an_administrators_override_is_allowed_and_on_record(engine):
    instance = request(engine, "mgr_east")
    consent(engine, instance, "rep_e1", REP_STEP)
    consent(engine, instance, "biz_east", BUSINESS_STEP)
    manager = open_task(instance)
    engine.admin.reassign(manager.id, get_user("admin"), get_user("mgr_east"), "副总出差，经理本人确认")
    override = events(instance, "duty_overridden")
    assert [(e.actor_id, e.data["assignee_id"], e.data["rule"]) for e in override] == [
        (get_user("admin").id, get_user("mgr_east").id, "initiator")]
    consent(engine, instance, "mgr_east", MANAGER_STEP)
    db.session.expire_all()
    assert db.session.get(Instance, instance.id).outcome == "approved"
