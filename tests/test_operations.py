"""The approval operations on the borrowing flow (and the star rating's send-back to the branch), through
the engine: transfer, signers, send back, withdraw, urge, copy, proxy, batch, notifications."""
from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from conftest import get_customer, get_user
from flask import current_app
from sqlalchemy import select
from test_star_rating import act, filed_sheet, ratings

from app import db
from app.calendar import clock
from app.domain import delegation, notifications
from app.domain.notifications import Notification
from app.engine.models import AFTER_SIGN, BEFORE_SIGN, HELD, RESUBMIT, WITHDRAWN, Event, Instance, Task
from app.engine.operations import REQUEST
from app.errors import Conflict, Forbidden, InvalidData
from app.mail import send_pending
from app.policy import SET_AWAY

PROCESS = "dossier_borrowing"
REP_STEP, BUSINESS_STEP = "consent_territory_rep", "consent_business_dept"
T0 = datetime(2026, 3, 2, 1, 0, tzinfo=UTC)
APPROVE = {"decision": "approve", "comment": "同意"}


def borrow(engine, username="rep_e2", code="HD-E1-001", purpose="季度拜访准备") -> Instance:
    return engine.cases.start(PROCESS, get_user(username), {"customer_id": get_customer(code).id, "purpose": purpose,
                                                      "days": 5})


def live(instance: Instance, **where) -> Task:
    db.session.expire_all()
    query = select(Task).where(Task.instance_id == instance.id, Task.state.in_(("open", HELD)))
    for name, value in where.items():
        query = query.where(getattr(Task, name) == value)
    return db.session.scalar(query.order_by(Task.id.desc()))


def events(instance: Instance, event_type: str) -> list[Event]:
    return list(db.session.scalars(select(Event).where(Event.instance_id == instance.id, Event.type == event_type)
                                   .order_by(Event.id)))


def told(username: str, kind: str) -> list[Notification]:
    return list(db.session.scalars(select(Notification).where(Notification.user_id == get_user(username).id,
                                                              Notification.kind == kind).order_by(Notification.id)))


@pytest.fixture(autouse=True)
def march(ctx):
    clock.set(T0)


# -- transfer ----------------------------------------------------------------------------------------

def test_transfer_to_an_eligible_person_and_the_refusals(engine):
    instance = borrow(engine)
    step = live(instance)
    rep_e1 = get_user("rep_e1")
    with pytest.raises(InvalidData, match="another branch|另一分公司"):
        engine.operations.transfer(step.id, rep_e1, get_user("rep_n1"), "请代办")
    with pytest.raises(InvalidData) as initiator:
        engine.operations.transfer(step.id, rep_e1, get_user("rep_e2"), "请代办")
    assert "to" in initiator.value.fields  # the initiator may not decide his own request
    with pytest.raises(Forbidden):
        engine.operations.transfer(step.id, get_user("biz_east"), get_user("mgr_east"), "不是我的任务")
    engine.operations.transfer(step.id, rep_e1, get_user("mgr_east"), "我出差，请赵经理代为审核")
    step = live(instance)
    assert (step.assignee.username, step.owner_id) == ("mgr_east", get_user("mgr_east").id)
    assert [e.data["comment"] for e in events(instance, "task_transferred")] == ["我出差，请赵经理代为审核"]
    assert len(told("mgr_east", "task_transferred")) == 1
    engine.cases.complete(step.id, get_user("mgr_east"), APPROVE)
    business = live(instance)
    engine.cases.claim(business.id, get_user("biz_east"))
    with pytest.raises(InvalidData, match="not one of those|不在此任务"):  # a group's task stays in the group
        engine.operations.transfer(business.id, get_user("biz_east"), get_user("spec_east"), "请吴芳处理")


# -- signers -----------------------------------------------------------------------------------------

def test_a_signer_before_decides_first_and_the_task_comes_back(engine):
    instance = borrow(engine)
    step = live(instance)
    side = engine.operations.add_signer(step.id, get_user("rep_e1"), get_user("mgr_east"), BEFORE_SIGN, "请经理先看")
    assert live(instance, id=step.id).state == HELD and side.kind == BEFORE_SIGN
    with pytest.raises(Conflict):  # the approver waits for the signer
        engine.cases.complete(step.id, get_user("rep_e1"), APPROVE)
    with pytest.raises(Forbidden, match="further signers|不能再加签"):
        engine.operations.add_signer(side.id, get_user("mgr_east"), get_user("salesmgr_east"), BEFORE_SIGN, "再加一位")
    engine.cases.complete(side.id, get_user("mgr_east"), {"decision": "approve", "comment": "可以借"})
    step = live(instance, id=step.id)
    assert step.state == "open" and step.assignee.username == "rep_e1"
    engine.cases.complete(step.id, get_user("rep_e1"), APPROVE)
    assert live(instance).spec_id == BUSINESS_STEP
    assert [e.type for e in events(instance, "signer_decided")] == ["signer_decided"]


def test_a_signer_after_decides_last_and_his_refusal_refuses(engine):
    instance = borrow(engine)
    step = live(instance)
    with pytest.raises(InvalidData):  # after oneself: decide first
        engine.operations.add_signer(step.id, get_user("rep_e1"), get_user("mgr_east"), AFTER_SIGN, "请经理复核")
    side = engine.operations.add_signer(step.id, get_user("rep_e1"), get_user("mgr_east"), AFTER_SIGN, "请经理复核",
                             decision=APPROVE)
    assert live(instance).id == side.id  # the case waits for the signer only
    engine.cases.complete(side.id, get_user("mgr_east"), {"decision": "reject", "comment": "涉及价格，不宜外借"})
    db.session.expire_all()
    instance = db.session.get(Instance, instance.id)
    assert instance.outcome == "rejected"
    done = db.session.get(Task, step.id)
    assert done.completed_by.username == "rep_e1" and instance.last_comment == "涉及价格，不宜外借"


def test_signers_go_on_consent_and_approval_steps_only_and_never_to_oneself(engine):
    instance = borrow(engine)
    step = live(instance)
    with pytest.raises(InvalidData):
        engine.operations.add_signer(step.id, get_user("rep_e1"), get_user("rep_e1"), BEFORE_SIGN, "")
    with pytest.raises(InvalidData):
        engine.operations.add_signer(step.id, get_user("rep_e1"), get_user("rep_e1"), "sideways", "")


# -- send back ---------------------------------------------------------------------------------------

def test_send_back_to_an_earlier_step_and_it_runs_on_from_there(engine):
    instance = borrow(engine)
    engine.cases.complete(live(instance).id, get_user("rep_e1"), {"decision": "approve", "comment": "同意，限五天"})
    business = live(instance)
    engine.cases.claim(business.id, get_user("biz_east"))
    assert [t for t, _ in engine.operations.send_back_targets(live(instance))] == [REQUEST, REP_STEP]
    with pytest.raises(InvalidData):  # a step the case has not passed
        engine.operations.send_back(business.id, get_user("biz_east"), "consent_branch_manager", "请经理看")
    with pytest.raises(InvalidData):  # a send-back says why
        engine.operations.send_back(business.id, get_user("biz_east"), REP_STEP, " ")
    again = engine.operations.send_back(business.id, get_user("biz_east"), REP_STEP, "请写明借阅范围")
    assert (again.spec_id, again.assignee.username, again.state) == (REP_STEP, "rep_e1", "open")
    assert db.session.get(Task, business.id).state == "cancelled"
    assert [n.data["comment"] for n in told("rep_e1", "sent_back")] == ["请写明借阅范围"]
    engine.cases.complete(again.id, get_user("rep_e1"), {"decision": "approve", "comment": "仅限合同部分"})
    business = live(instance)
    assert business.spec_id == BUSINESS_STEP and business.assignee_id is None
    engine.cases.claim(business.id, get_user("biz_east"))
    engine.cases.complete(business.id, get_user("biz_east"), APPROVE)
    db.session.expire_all()
    assert db.session.get(Instance, instance.id).outcome == "approved"


def test_sent_back_twice_in_one_instant_it_goes_back_to_the_latest_pass(engine):
    """Two passes of one step completed at the same moment (a frozen clock, a fast client): each send-back
    resets the newest pass (the look-up orders equal moments by the tasks' ids, not by chance)."""
    clock.set(clock.now())  # frozen: every completion below shares one completed_at
    instance = borrow(engine)
    engine.cases.complete(live(instance).id, get_user("rep_e1"), {"decision": "approve", "comment": "同意"})
    for round_ in ("第一次", "第二次"):
        business = live(instance)
        engine.cases.claim(business.id, get_user("biz_east"))
        again = engine.operations.send_back(business.id, get_user("biz_east"), REP_STEP, f"{round_}：请写明范围")
        assert (again.spec_id, again.assignee.username) == (REP_STEP, "rep_e1")
        engine.cases.complete(again.id, get_user("rep_e1"), {"decision": "approve", "comment": round_})
    assert live(instance).spec_id == BUSINESS_STEP


def test_send_back_to_the_request_and_the_initiator_revises_it(engine):
    instance = borrow(engine)
    revise = engine.operations.send_back(live(instance).id, get_user("rep_e1"), REQUEST, "借阅目的太笼统")
    assert (revise.kind, revise.assignee.username, revise.form_key) == (RESUBMIT, "rep_e2", "dossier_borrow_request")
    with pytest.raises(Forbidden):
        engine.cases.complete(revise.id, get_user("rep_e1"), {})
    engine.cases.complete(revise.id, get_user("rep_e2"), {"customer_id": get_customer("HD-E1-001").id,
                                                    "purpose": "核对三月采购分析，准备拜访", "days": 3})
    db.session.expire_all()
    instance = db.session.get(Instance, instance.id)
    assert instance.start_data["purpose"] == "核对三月采购分析，准备拜访" and instance.start_data["days"] == 3
    step = live(instance)
    assert (step.spec_id, step.assignee.username) == (REP_STEP, "rep_e1")
    engine.cases.complete(step.id, get_user("rep_e1"), APPROVE)
    business = live(instance)
    engine.cases.claim(business.id, get_user("biz_east"))
    engine.cases.complete(business.id, get_user("biz_east"), APPROVE)
    db.session.expire_all()
    instance = db.session.get(Instance, instance.id)
    assert instance.outcome == "approved"
    assert [e.type for e in events(instance, "request_resubmitted")] == ["request_resubmitted"]


def test_the_star_rating_goes_back_to_the_branch(engine, purchases):
    instance, suggested = filed_sheet(engine, purchases)
    review = live(instance, spec_id="hq_review")
    engine.cases.claim(review.id, get_user("hq_mkt"))
    again = engine.operations.send_back(review.id, get_user("hq_mkt"), "initial_rating", "HD-E1-002 请复核")
    assert (again.spec_id, again.assignee.username) == ("initial_rating", "spec_east")
    open_specs = set(db.session.scalars(select(Task.spec_id).where(Task.instance_id == instance.id,
                                                                   Task.state == "open")))
    assert open_specs == {"initial_rating"}  # HQ's parts went with the send-back
    act(engine, instance, "initial_rating", "spec_east", ratings(suggested))
    assert {t.spec_id for t in db.session.scalars(select(Task).where(
        Task.instance_id == instance.id, Task.state == "open"))} == {"hq_review", "second_rating"}


# -- withdraw, urge, copy ----------------------------------------------------------------------------

def test_withdraw_before_anyone_decided_only(engine):
    instance = borrow(engine)
    with pytest.raises(Forbidden):
        engine.operations.withdraw(instance.id, get_user("rep_e1"), "不是我的")
    with pytest.raises(InvalidData):
        engine.operations.withdraw(instance.id, get_user("rep_e2"), "")
    engine.operations.withdraw(instance.id, get_user("rep_e2"), "客户已主动提供资料")
    db.session.expire_all()
    instance = db.session.get(Instance, instance.id)
    assert (instance.status, instance.outcome) == (WITHDRAWN, WITHDRAWN) and live(instance) is None
    assert len(told("rep_e1", "case_withdrawn")) == 1

    decided = borrow(engine, code="HD-E1-002")
    engine.cases.complete(live(decided).id, get_user("rep_e1"), APPROVE)
    with pytest.raises(Conflict, match="already decided|已有人"):
        engine.operations.withdraw(decided.id, get_user("rep_e2"), "不需要了")


def test_urge_at_most_every_four_hours(engine):
    instance = borrow(engine)
    step = live(instance)
    with pytest.raises(Forbidden):
        engine.operations.urge(step.id, get_user("mgr_east"))
    engine.operations.urge(step.id, get_user("rep_e2"), "客户下午来访，请尽快")
    clock.set(T0 + timedelta(hours=3, minutes=59))
    with pytest.raises(Conflict):
        engine.operations.urge(step.id, get_user("rep_e2"))
    clock.set(T0 + timedelta(hours=4))
    engine.operations.urge(step.id, get_user("rep_e2"))
    assert [n.data["comment"] for n in told("rep_e1", "task_urged")] == ["客户下午来访，请尽快", ""]


def test_copies_make_readers_who_see_the_case(engine, api):
    instance = borrow(engine)
    assert api.get(f"/instances/{instance.id}", "mgr_north").status_code == 403
    engine.operations.copy_to(instance.id, get_user("rep_e2"), [get_user("mgr_north"), get_user("rep_e1")], "供参考")
    with pytest.raises(InvalidData):  # nobody new
        engine.operations.copy_to(instance.id, get_user("rep_e2"), [get_user("mgr_north")])
    assert api.get(f"/instances/{instance.id}", "mgr_north").status_code == 200
    assert len(told("mgr_north", "case_copied")) == 1
    assert [e.data["people"] for e in events(instance, "case_copied")] == [["孙磊", "张伟"]]


# -- proxy -------------------------------------------------------------------------------------------

def test_an_away_persons_tasks_go_to_his_deputy_on_his_behalf(engine, api):
    rep_e1, deputy = get_user("rep_e1"), get_user("mgr_east")
    delegation.set_period(rep_e1, deputy, T0 - timedelta(days=1), T0 + timedelta(days=7), [], rep_e1, clock.now())
    with pytest.raises(InvalidData, match="overlaps|重叠"):
        delegation.set_period(rep_e1, get_user("biz_east"), T0 + timedelta(days=6), T0 + timedelta(days=9), [],
                              rep_e1, clock.now())
    with pytest.raises(Forbidden):  # only an administrator sets someone else's period
        current_app.extensions["policy"].require(rep_e1, SET_AWAY, get_user("biz_east"))
    instance = borrow(engine)
    step = live(instance)
    assert (step.assignee.username, step.owner_id) == ("mgr_east", rep_e1.id)
    assert len(told("mgr_east", "on_behalf")) == 1
    assert api.get(f"/tasks/{step.id}", "rep_e1").status_code == 200  # both see it
    engine.cases.complete(step.id, deputy, APPROVE)
    business = live(instance)
    assert business.assignee_id is None  # a group's task is not forwarded

    clock.set(T0 + timedelta(days=8))  # back at work
    later = borrow(engine, code="HD-E1-002")
    assert live(later).assignee.username == "rep_e1"


def test_an_administrator_sets_the_period_of_someone_away(engine):
    period = delegation.set_period(get_user("rep_e1"), get_user("mgr_east"), T0, T0 + timedelta(days=3),
                                   ["star_rating"], get_user("admin"), clock.now())
    assert period.created_by_id == get_user("admin").id
    assert live(borrow(engine)).assignee.username == "rep_e1"  # only the star rating is covered


# -- notifications -------------------------------------------------------------------------

def test_new_tasks_notify_and_mail_goes_out_from_the_worker(engine, app, smtp_sink):
    get_user("rep_e1").email = "zhangwei@example.com"
    db.session.commit()
    app.config.update(SMTP_HOST="127.0.0.1", SMTP_PORT=smtp_sink.port)
    try:
        instance = borrow(engine)
        assert notifications.unread_count(get_user("rep_e1")) == 1
        offered = told("biz_east", "task_offered")
        assert offered == []  # not yet: the business department's step comes after the rep's
        assert smtp_sink.messages == []  # nothing is sent by the request itself
        assert send_pending() == 1
        message = smtp_sink.messages[0]
        assert message["To"] == "zhangwei@example.com" and f"/tasks/{live(instance).id}" in message.get_content()
        engine.cases.complete(live(instance).id, get_user("rep_e1"), APPROVE)
        assert len(told("biz_east", "task_offered")) == 1
        notifications.mark_read(get_user("rep_e1"), clock.now())
        assert notifications.unread_count(get_user("rep_e1")) == 0
    finally:
        app.config.update(SMTP_HOST="")
        get_user("rep_e1").email = None
        db.session.commit()


def test_an_unreachable_mail_server_leaves_mail_pending(engine, app):
    get_user("rep_e1").email = "zhangwei@example.com"
    db.session.commit()
    app.config.update(SMTP_HOST="127.0.0.1", SMTP_PORT=9)  # nothing listens there
    try:
        borrow(engine)
        assert send_pending() == 0
        pending = told("rep_e1", "task_assigned")[0]
        assert (pending.email_state, pending.email_attempts) == ("pending", 1)
    finally:
        app.config.update(SMTP_HOST="")
        get_user("rep_e1").email = None
        db.session.commit()


# -- countersign ---------------------------------------------------------------------------------------

@pytest.fixture
def countersign(engine, tmp_path):
    """The test process of a consent several people give (会签, or 或签 when any one suffices)."""
    source = Path(__file__).resolve().parent / "processes" / "countersign.bpmn"
    (tmp_path / "countersign.bpmn").write_text(source.read_text(encoding="utf-8"), encoding="utf-8")
    engine.deployment.deploy_directory(tmp_path)

    def start(usernames, any_one=False) -> Instance:
        return engine.cases.start("countersign", get_user("rep_e2"), {
            "signers": [get_user(name).id for name in usernames], "any_one": any_one})
    return start


def signing(instance: Instance) -> dict[str, Task]:
    db.session.expire_all()
    return {t.assignee.username: t for t in db.session.scalars(select(Task).where(
        Task.instance_id == instance.id, Task.state == "open"))}


def test_a_countersign_needs_everyone_and_the_first_refusal_ends_it(engine, countersign):
    approved = countersign(["rep_e1", "mgr_east", "biz_east"])
    tasks = signing(approved)
    assert set(tasks) == {"rep_e1", "mgr_east", "biz_east"} and len({t.spec_id for t in tasks.values()}) == 1
    for name in ("rep_e1", "mgr_east"):
        engine.cases.complete(tasks[name].id, get_user(name), APPROVE)
        assert db.session.get(Instance, approved.id).status == "running"
    engine.cases.complete(tasks["biz_east"].id, get_user("biz_east"), APPROVE)
    db.session.expire_all()
    assert db.session.get(Instance, approved.id).outcome == "approved"
    # The process's own step copied it to company leadership.
    assert [e.data["people"] for e in events(approved, "case_copied")] == [["何建国"]]
    assert [n.data["comment"] for n in told("leader", "case_copied")] == ["会签已通过"]

    refused = countersign(["rep_e1", "mgr_east"])
    tasks = signing(refused)
    engine.cases.complete(tasks["mgr_east"].id, get_user("mgr_east"), {"decision": "reject", "comment": "不同意"})
    db.session.expire_all()
    assert db.session.get(Instance, refused.id).outcome == "rejected"
    assert db.session.get(Task, tasks["rep_e1"].id).state == "cancelled"


def test_an_either_sign_needs_any_one(engine, countersign):
    instance = countersign(["rep_e1", "mgr_east"], any_one=True)
    tasks = signing(instance)
    engine.cases.complete(tasks["rep_e1"].id, get_user("rep_e1"), APPROVE)
    db.session.expire_all()
    assert db.session.get(Instance, instance.id).outcome == "approved"
    assert db.session.get(Task, tasks["mgr_east"].id).state == "cancelled"


def test_a_copy_step_naming_an_unknown_rule_is_refused_at_deploy(engine, tmp_path):
    from app.engine.definitions import DefinitionError
    source = (Path(__file__).resolve().parent / "processes" / "countersign.bpmn").read_text(encoding="utf-8")
    (tmp_path / "countersign.bpmn").write_text(source.replace('value="company_leadership"', 'value="the_board"'),
                                               encoding="utf-8")
    with pytest.raises(DefinitionError) as refused:
        engine.deployment.deploy_directory(tmp_path)
    assert any(p.element == "copy_to_leadership" and "the_board" in p.message for p in refused.value.problems)
