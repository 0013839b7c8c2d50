"""Who may do what (app.policy.RULES), as one table: every action against every demo user (every role).

Each row names an action, the subject it is asked about (built with the real engine and database) and
the people who may; everyone else must be refused, with a message. The table must cover every rule, so
that a new action cannot be added without saying who may do it. The answers that depend on a case's
state (running or not, who decided what, claimed or not, a loan) have focused tests below the table.
"""
from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from conftest import get_customer, get_user
from flask import current_app
from sqlalchemy import select

from app import db
from app.calendar import clock
from app.domain import delegation, demo, org, segregation, star_rating
from app.domain.customers import Customer
from app.engine import definitions
from app.engine.models import OPEN, RUNNING, Instance, Task
from app.engine.plugins import (
    ACT,
    ADMINISTER,
    APPROVE_VERSION,
    ATTACH,
    CLAIM,
    COMPLETE,
    COPY,
    DECIDE,
    START,
    TAKE_OVER,
    URGE,
    VIEW,
    WITHDRAW,
)
from app.policy import (
    ANALYSE_COMPLAINTS,
    CHANGE,
    EDIT_DOSSIER,
    END_AWAY,
    LOG_CONTACT,
    READ_DOSSIER,
    RECORD_PURCHASES,
    RECORD_VISIT,
    REVIEW,
    RULES,
    SEE_ACCESS_LOG,
    SEE_CONTACTS,
    SEE_CONTRACTS,
    SEE_LEADS,
    SEE_STARS,
    SET_AWAY,
    SET_LEAD_RHYTHM,
    SET_RELATIONSHIP_MANAGER,
    TRACK_CONTRACT,
    VIEW_TASK,
    readable_customer_ids,
)

BORROWING = "dossier_borrowing"
REP_STEP, BUSINESS_STEP = "consent_territory_rep", "consent_business_dept"
T0 = datetime(2026, 3, 2, 1, 0, tzinfo=UTC)
APPROVE = {"decision": "approve", "comment": "同意"}

# Every demo user, one of each role (app.domain.demo.USERS), written out.
EVERYONE = frozenset({
    "rep_e1", "rep_e2", "rep_n1",              # sales reps of territories E1, E2 (east) and N1 (north)
    "biz_east", "biz_north",                   # business department supervisors
    "mgr_east", "mgr_north",                   # branch managers
    "salesmgr_east", "salesmgr_north",         # sales managers
    "spec_east",                               # customer specialist (east)
    "fin_li", "sales_dept", "hq_mkt", "leader", "deputy_gm",  # headquarters
    "auditor",                                 # compliance reviewer
    "admin",                                   # process administrator
    "legal", "contract_admin", "contract_admin_n",  # HQ legal; the branches' contract administrators
})

# The subjects the rows are asked about (built by the `subjects` fixture):
#   "rep task":       rep_e2's request for HD-E1-001, waiting for rep_e1's consent (assigned to him);
#   "rep case":       that case;
#   "group task":     rep_e2's request for HD-E1-002 after rep_e1 consented: the business department's
#                     step, offered to the east business supervisors (biz_east), unclaimed;
#   "running case":   that case;
#   "borrowing":      the borrowing process's definition (anyone may open one);
#   "HD-E1-001":      the customer (territory E1, east branch), nobody has borrowed it;
#   "east branch":    the east branch's id;
#   "rep_e1":         the person rep_e1;
#   "rep_e1's away":  an away period of rep_e1's (deputy mgr_east), set by himself.
# A context value that names a demo user is that user.
TABLE: dict[str, tuple[str, dict, frozenset[str]]] = {
    # Cases and tasks.
    # The initiator, the rep who consented, the group it is offered to, compliance and administrators.
    VIEW: ("running case", {}, frozenset({"rep_e2", "rep_e1", "biz_east", "auditor", "admin"})),
    VIEW_TASK: ("rep task", {}, frozenset({"rep_e1"})),
    START: ("borrowing", {}, EVERYONE - {"auditor"}),
    CLAIM: ("group task", {}, frozenset({"biz_east"})),
    DECIDE: ("group task", {}, EVERYONE - {"rep_e2", "rep_e1"}),  # the initiator, and who consented before
    COMPLETE: ("rep task", {}, frozenset({"rep_e1"})),
    ACT: ("rep task", {}, frozenset({"rep_e1"})),
    # Whom rep_e1 may hand his task on to: active people of his branch, not himself, not the initiator.
    TAKE_OVER: ("rep task", {"by": "rep_e1"}, frozenset({"biz_east", "mgr_east", "salesmgr_east", "spec_east",
                                                        "contract_admin"})),
    WITHDRAW: ("running case", {}, frozenset({"rep_e2"})),
    URGE: ("rep task", {}, frozenset({"rep_e2"})),
    ATTACH: ("running case", {}, frozenset({"rep_e2", "rep_e1", "biz_east", "admin"})),  # who work on it
    COPY: ("running case", {}, frozenset({"rep_e2", "rep_e1", "biz_east", "admin"})),
    ADMINISTER: (None, {}, frozenset({"admin"})),
    REVIEW: (None, {}, frozenset({"auditor", "admin"})),
    CHANGE: (None, {}, EVERYONE - {"auditor"}),
    # Maker–checker on a version (here one from processes/, deployed by nobody): a second person, an
    # administrator or a compliance reviewer (the deployer himself may not: tests/test_version_approval.py).
    APPROVE_VERSION: ("borrowing", {}, frozenset({"auditor", "admin"})),
    # Dossiers and reports.
    READ_DOSSIER: ("HD-E1-001", {}, frozenset({"rep_e1"})),
    EDIT_DOSSIER: ("HD-E1-001", {}, frozenset({"rep_e1"})),
    SEE_ACCESS_LOG: ("HD-E1-001", {}, frozenset({"rep_e1", "mgr_east", "biz_east", "auditor"})),
    SEE_STARS: ("HD-E1-001", {}, frozenset({"rep_e1", "spec_east", "mgr_east", "salesmgr_east", "biz_east",
                                            "hq_mkt", "leader", "deputy_gm", "auditor"})),
    RECORD_VISIT: ("HD-E1-001", {}, frozenset({"rep_e1", "salesmgr_east", "mgr_east", "hq_mkt"})),
    # Orders of a customer: its branch's business department, customer specialist and sales manager; HQ's
    # administrators (tests/test_purchases.py: the page and the API).
    RECORD_PURCHASES: ("HD-E1-001", {}, frozenset({"biz_east", "spec_east", "salesmgr_east", "admin"})),
    ANALYSE_COMPLAINTS: ("east branch", {}, frozenset({"mgr_east", "salesmgr_east",
                                                       "deputy_gm", "leader", "hq_mkt", "auditor"})),
    # Leads (app.domain.leads): the reps, the branches' managers, administrators and compliance see them;
    # the territory's rep and the branch's managers log contacts; the sales manager sets the rhythm.
    SEE_LEADS: (None, {}, frozenset({"rep_e1", "rep_e2", "rep_n1", "mgr_east", "mgr_north", "salesmgr_east",
                                     "salesmgr_north", "auditor", "admin"})),
    LOG_CONTACT: ("HD-E1-001", {}, frozenset({"rep_e1", "salesmgr_east", "mgr_east"})),
    SEE_CONTACTS: ("HD-E1-001", {}, frozenset({"rep_e1", "salesmgr_east", "mgr_east", "auditor", "admin"})),
    SET_LEAD_RHYTHM: (None, {}, frozenset({"salesmgr_east", "salesmgr_north", "admin"})),
    # Relationship managers (app.domain.patrols): the customer's branch manager names one.
    SET_RELATIONSHIP_MANAGER: ("HD-E1-001", {}, frozenset({"mgr_east"})),
    # Contracts (app.domain.contracts): who reads them; the branch's contract administrator tracks them.
    SEE_CONTRACTS: ("HD-E1-001", {}, frozenset({"rep_e1", "contract_admin", "salesmgr_east", "mgr_east", "legal",
                                                "deputy_gm", "leader", "auditor", "admin"})),
    TRACK_CONTRACT: ("HD-E1-001", {}, frozenset({"contract_admin"})),
    # Away periods.
    SET_AWAY: ("rep_e1", {}, frozenset({"rep_e1", "admin"})),
    END_AWAY: ("rep_e1's away", {}, frozenset({"rep_e1", "admin"})),
}


# -- helpers ---------------------------------------------------------------------------------------

def policy():
    return current_app.extensions["policy"]


def borrow(engine, username: str, code: str) -> Instance:
    return engine.cases.start(BORROWING, get_user(username),
                              {"customer_id": get_customer(code).id, "purpose": "季度拜访准备", "days": 5})


def open_task(instance: Instance) -> Task:
    db.session.expire_all()
    tasks = list(db.session.scalars(select(Task).where(Task.instance_id == instance.id, Task.state == OPEN)))
    assert len(tasks) == 1, tasks
    return tasks[0]


def who_may(action: str, subject, **context) -> frozenset[str]:
    """The demo users the policy lets do `action`; every refusal must say why."""
    allowed = set()
    for username in sorted(EVERYONE):
        refusal = policy().why_not(get_user(username), action, subject, **context)
        if refusal is None:
            assert policy().may(get_user(username), action, subject, **context)
            allowed.add(username)
        else:
            assert str(refusal).strip(), f"{username} refused {action} without a message"
            assert not policy().may(get_user(username), action, subject, **context)
    return frozenset(allowed)


def mismatch(expected: frozenset[str], actual: frozenset[str]) -> dict:
    return {"wrongly refused": sorted(expected - actual), "wrongly allowed": sorted(actual - expected)}


@pytest.fixture
def subjects(engine):
    clock.set(T0)
    rep_case = borrow(engine, "rep_e2", "HD-E1-001")
    rep_task = open_task(rep_case)
    assert (rep_task.spec_id, rep_task.assignee.username, rep_task.approval) == (REP_STEP, "rep_e1", True)

    running = borrow(engine, "rep_e2", "HD-E1-002")
    engine.cases.complete(open_task(running).id, get_user("rep_e1"), APPROVE)
    group_task = open_task(running)
    assert group_task.spec_id == BUSINESS_STEP and group_task.assignee_id is None
    assert group_task.candidate_role == org.BUSINESS_SUPERVISOR
    assert group_task.candidate_org_unit.code == "east_business"

    rep_e1 = get_user("rep_e1")
    away = delegation.set_period(rep_e1, get_user("mgr_east"), T0 + timedelta(days=1), T0 + timedelta(days=3),
                                 [], by=rep_e1, now=T0)
    customer = get_customer("HD-E1-001")
    return {
        "rep task": rep_task, "rep case": rep_case, "group task": group_task, "running case": running,
        "borrowing": definitions.latest_definition(BORROWING),
        "HD-E1-001": customer, "east branch": customer.branch.id,
        "rep_e1": rep_e1, "rep_e1's away": away, None: None,
    }


# -- the table -------------------------------------------------------------------------------------

def test_the_table_covers_every_rule_and_every_demo_user():
    assert set(TABLE) == set(RULES)
    assert EVERYONE == {username for username, *_ in demo.USERS}
    roles = {role for _, _, _, memberships in demo.USERS for role, _ in memberships}
    assert roles == {org.SALES_REP, org.CUSTOMER_SPECIALIST, org.BUSINESS_SUPERVISOR, org.BRANCH_MANAGER,
                     org.SALES_MANAGER, org.DEPUTY_GM, org.HQ_MARKETING, org.LEADERSHIP, org.SALES_DEPARTMENT,
                     org.FINANCE, org.AUDITOR, org.ADMIN, org.LEGAL, org.CONTRACT_ADMIN}
    for action, (_, _, allowed) in TABLE.items():
        assert allowed <= EVERYONE, f"{action}: unknown users {sorted(allowed - EVERYONE)}"


@pytest.mark.parametrize("action", sorted(TABLE))
def test_who_may(subjects, action):
    subject_name, context, expected = TABLE[action]
    context = {name: get_user(value) if value in EVERYONE else value for name, value in context.items()}
    actual = who_may(action, subjects[subject_name], **context)
    assert actual == expected, mismatch(expected, actual)


# -- what depends on the state of things -----------------------------------------------------------

def test_a_case_is_seen_by_those_involved_in_it_and_its_readers(engine, subjects):
    assert who_may(VIEW, subjects["rep case"]) == {"rep_e2", "rep_e1", "auditor", "admin"}
    engine.operations.copy_to(subjects["rep case"].id, get_user("rep_e2"), [get_user("spec_east")], "供参考")
    assert who_may(VIEW, subjects["rep case"]) == {"rep_e2", "rep_e1", "spec_east", "auditor", "admin"}
    assert who_may(COPY, subjects["rep case"]) == {"rep_e2", "rep_e1", "spec_east", "admin"}


def test_files_go_onto_running_cases_only(engine, subjects):
    running = subjects["running case"]
    task = subjects["group task"]
    engine.cases.claim(task.id, get_user("biz_east"))
    engine.cases.complete(task.id, get_user("biz_east"), APPROVE)
    db.session.expire_all()
    assert db.session.get(Instance, running.id).status != RUNNING
    assert who_may(ATTACH, running) == frozenset()
    # The finished case is still seen, and may still be copied, by those who took part in it.
    assert who_may(VIEW, running) == {"rep_e2", "rep_e1", "biz_east", "auditor", "admin"}
    assert who_may(COPY, running) == {"rep_e2", "rep_e1", "biz_east", "admin"}


def test_the_initiator_may_not_decide_an_approval_step_of_his_case(subjects):
    rep_e2 = get_user("rep_e2")
    assert who_may(DECIDE, subjects["rep task"]) == EVERYONE - {"rep_e2"}
    assert policy().why_not(rep_e2, DECIDE, subjects["rep task"]) == segregation.REFUSALS[segregation.INITIATOR]
    # Nor may he be handed it: the refusal names him.
    refusal = policy().why_not(rep_e2, TAKE_OVER, subjects["rep task"], by=get_user("rep_e1"))
    assert rep_e2.display_name in str(refusal)


def test_nobody_decides_two_levels_of_a_case_but_the_same_level_again(engine, subjects):
    rep_e1 = get_user("rep_e1")
    assert (policy().why_not(rep_e1, DECIDE, subjects["group task"])
            == segregation.REFUSALS[segregation.EARLIER_APPROVAL])
    engine.cases.claim(subjects["group task"].id, get_user("biz_east"))
    again = engine.operations.send_back(subjects["group task"].id, get_user("biz_east"), REP_STEP, "请写明借阅范围")
    assert (again.spec_id, again.assignee.username) == (REP_STEP, "rep_e1")
    # rep_e1 decides the rep's level again; biz_east decided nothing (his step was sent back, not done).
    assert who_may(DECIDE, again) == EVERYONE - {"rep_e2"}


def test_a_group_task_is_claimed_before_it_is_completed_or_acted_on(engine, subjects):
    task = subjects["group task"]
    biz_east = get_user("biz_east")
    assert who_may(VIEW_TASK, task) == {"biz_east"}
    assert who_may(COMPLETE, task) == frozenset()
    assert who_may(ACT, task) == frozenset()
    # The candidate is told to claim it; the others that it is not theirs.
    assert (policy().why_not(biz_east, COMPLETE, task)
            != policy().why_not(get_user("mgr_east"), COMPLETE, task))
    # Nobody in the group but biz_east: he may not hand it on to anyone.
    assert who_may(TAKE_OVER, task, by=biz_east) == frozenset()

    engine.cases.claim(task.id, biz_east)
    task = open_task(subjects["running case"])
    assert task.assignee_id == biz_east.id
    assert who_may(VIEW_TASK, task) == {"biz_east"}
    assert who_may(COMPLETE, task) == {"biz_east"}
    assert who_may(ACT, task) == {"biz_east"}


def test_a_task_assigned_to_a_person_is_offered_to_nobody(subjects):
    assert who_may(CLAIM, subjects["rep task"]) == frozenset()


def test_a_loan_opens_the_dossier_for_its_days_only(engine, subjects):
    rep_case = subjects["rep case"]
    engine.cases.complete(subjects["rep task"].id, get_user("rep_e1"), APPROVE)
    business = open_task(rep_case)
    engine.cases.claim(business.id, get_user("biz_east"))
    engine.cases.complete(business.id, get_user("biz_east"), APPROVE)
    customer = subjects["HD-E1-001"]
    assert who_may(READ_DOSSIER, customer) == {"rep_e1", "rep_e2"}
    assert who_may(READ_DOSSIER, customer, now=T0 + timedelta(days=6)) == {"rep_e1"}  # a 5-day loan
    # Borrowing lets him read it, nothing more.
    assert who_may(EDIT_DOSSIER, customer) == {"rep_e1"}
    assert who_may(SEE_ACCESS_LOG, customer) == TABLE[SEE_ACCESS_LOG][2]
    assert who_may(SEE_STARS, customer) == TABLE[SEE_STARS][2]


def test_scheduled_processes_are_opened_by_hand_by_administrators_only(subjects):
    definition = definitions.latest_definition(star_rating.PROCESS_KEY)
    assert who_may(START, definition) == {"admin"}


def test_branch_staff_analyse_their_own_branch_and_headquarters_every_branch(subjects):
    hq_analysts = {"deputy_gm", "leader", "hq_mkt", "auditor"}
    north = get_customer("HB-N1-001").branch.id
    assert who_may(ANALYSE_COMPLAINTS, north) == hq_analysts | {"mgr_north", "salesmgr_north"}
    assert who_may(ANALYSE_COMPLAINTS, None) == hq_analysts | {"mgr_east", "salesmgr_east", "mgr_north",
                                                               "salesmgr_north"}
    mgr_east = get_user("mgr_east")
    assert (policy().why_not(mgr_east, ANALYSE_COMPLAINTS, north)
            != policy().why_not(get_user("rep_e1"), ANALYSE_COMPLAINTS, north))


def test_an_away_period_is_ended_by_its_owner_or_an_administrator(subjects):
    assert who_may(END_AWAY, None) == frozenset()  # no such period
    assert who_may(SET_AWAY, get_user("admin")) == {"admin"}


def test_compliance_reviewers_are_never_handed_work(subjects):
    """Reviewers read everything and change nothing: not even someone at headquarters, where no branch
    rule stands between them, may hand them a task or ask them to sign."""
    auditor, deputy = get_user("auditor"), get_user("deputy_gm")
    for task in (subjects["rep task"], subjects["group task"]):
        assert policy().why_not(auditor, TAKE_OVER, task, by=deputy) == policy().why_not(auditor, CHANGE)
    assert policy().why_not(get_user("leader"), TAKE_OVER, subjects["rep task"], by=deputy) is None


def test_the_dossiers_one_may_open_are_the_list_form_of_the_same_rule(engine, subjects):
    everyone = db.session.scalars(select(Customer)).all()
    for username in ("rep_e1", "rep_e2", "biz_east", "auditor"):
        user = get_user(username)
        expected = {c.id for c in everyone if policy().may(user, READ_DOSSIER, c, now=T0)}
        assert readable_customer_ids(user, T0) == expected
    assert readable_customer_ids(get_user("rep_e1"), T0) == {c.id for c in everyone if c.territory.code == "E1"}
