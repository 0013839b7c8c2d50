"""The engine service on its own: races between two people, definition versions, what deploying
refuses, and the task rows it projects — on the real database, with the real BPMN."""
from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

import pytest
from conftest import edit, get_customer, get_user
from sqlalchemy import func, select

from app import db
from app.calendar import clock
from app.domain import org
from app.domain.org import OrgUnit
from app.engine.definitions import DefinitionError
from app.engine.models import BEFORE_SIGN, COMPLETED, DONE, OPEN, Event, Instance, ProcessDefinition, Task
from app.errors import Conflict, Forbidden, NotFound

PROCESS = "dossier_borrowing"
APPROVE = {"decision": "approve", "comment": "同意"}
T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


# -- helpers ---------------------------------------------------------------------------------------

def start(engine, requester: str, customer_code: str, days: int = 7) -> Instance:
    data = {"customer_id": get_customer(customer_code).id, "purpose": "核对月度采购分析", "days": days}
    return engine.cases.start(PROCESS, get_user(requester), data)


def open_task(instance_id: int) -> Task:
    tasks = db.session.scalars(select(Task).where(Task.instance_id == instance_id, Task.state == OPEN)).all()
    assert len(tasks) == 1, tasks
    return tasks[0]


def consent(engine, instance_id: int, username: str) -> Task:
    """`username` takes the case's open task (claiming it if offered to a group) and consents."""
    task, user = open_task(instance_id), get_user(username)
    if task.assignee_id is None:
        engine.cases.claim(task.id, user)
    return engine.cases.complete(task.id, user, APPROVE)


def events_of(instance_id: int, event_type: str, task_id: int | None = None) -> list[Event]:
    query = select(Event).where(Event.instance_id == instance_id, Event.type == event_type)
    if task_id is not None:
        query = query.where(Event.task_id == task_id)
    return list(db.session.scalars(query.order_by(Event.id)))


def definition_count() -> int:
    return db.session.scalar(select(func.count()).select_from(ProcessDefinition))


# -- two people completing one task at once -------------------------------------------------------

def race_to_complete(app, task_id: int, username: str) -> list[str]:
    """Two threads, each in its own app context and session, complete one task at the same moment."""
    barrier = threading.Barrier(2)
    results: list = []

    def complete():
        with app.app_context():
            user = get_user(username)
            db.session.rollback()  # end the read (on SQLite it holds the write lock) before the race
            barrier.wait()
            try:
                app.extensions["engine"].cases.complete(task_id, user, APPROVE)
                results.append("completed")
            except Conflict:
                results.append("conflict")
            except Exception as exc:  # anything else is a failure the assertion shows
                results.append(repr(exc))

    threads = [threading.Thread(target=complete) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not any(thread.is_alive() for thread in threads), "a completion hung"
    return sorted(results)


@pytest.mark.parametrize("customer_code", ["HD-E1-001", "HD-E1-002", "HD-E1-003", "HD-E2-001", "HD-E2-002"])
def test_two_concurrent_completions_of_one_task_give_one_success_and_one_conflict(ctx, engine, customer_code):
    instance = start(engine, "rep_n1", customer_code)
    task = open_task(instance.id)
    instance_id, task_id, assignee = instance.id, task.id, task.assignee.username
    db.session.rollback()  # this test's own session must not hold a transaction during the race

    assert race_to_complete(ctx, task_id, assignee) == ["completed", "conflict"]

    db.session.rollback()
    task = db.session.get(Task, task_id)
    assert (task.state, task.completed_by.username) == (DONE, assignee)
    assert len(events_of(instance_id, "task_completed", task_id)) == 1
    # The winner alone moved the case on: one business-dept task, not two.
    assert len(events_of(instance_id, "task_created")) == 2
    assert open_task(instance_id).spec_id == "consent_business_dept"


def test_a_step_row_another_operation_opened_first_makes_the_completion_replay_never_crash(ctx, engine):
    """The task rows are written before the instance's version check: a live row for the next step,
    there first (on PostgreSQL, another operation's, committed after this one read the rows), is a lost
    race. The operation replays and, while the row stays, answers with a conflict; nothing of it is
    kept. (The row here is of a kind the projection does not count as the step, so that it stands for
    one the operation did not see.)"""
    instance = start(engine, "rep_n1", "HD-E1-001")
    task = open_task(instance.id)
    workflow = engine.uow.load(instance, engine.uow.case(instance, None))
    next_step = next(t for t in workflow.get_tasks() if t.task_spec.name == "consent_business_dept")
    db.session.add(Task(instance_id=instance.id, process_key=PROCESS, spiff_task_id=str(next_step.id),
                        spec_id="consent_business_dept", name="已由另一操作打开", form_key="consent", state=OPEN,
                        kind=BEFORE_SIGN, created_at=clock.now()))
    db.session.commit()
    version = instance.version

    with pytest.raises(Conflict):
        engine.cases.complete(task.id, task.assignee, APPROVE)

    db.session.rollback()
    db.session.expire_all()
    assert db.session.get(Task, task.id).state == OPEN
    assert db.session.get(Instance, instance.id).version == version
    assert events_of(instance.id, "task_completed") == []


def test_the_engine_refuses_with_its_own_errors_outside_a_web_request(engine):
    """CLI commands and timers call the engine without a request: a refusal must still be an AppError."""
    task = open_task(start(engine, "rep_e2", "HD-E1-001").id)
    rep_e1, rep_e2 = get_user("rep_e1"), get_user("rep_e2")

    with pytest.raises(Forbidden):
        engine.cases.complete(task.id, rep_e2, APPROVE)
    with pytest.raises(NotFound):
        engine.cases.complete(987654, rep_e1, APPROVE)
    engine.cases.complete(task.id, rep_e1, APPROVE)
    with pytest.raises(Conflict):
        engine.cases.complete(task.id, rep_e1, APPROVE)


# -- definition versions ----------------------------------------------------------------------------

def test_an_edited_definition_becomes_a_new_version_and_running_cases_stay_on_theirs(engine, bpmn_copy):
    baseline = engine.deployment.deploy_directory(bpmn_copy.parent)
    assert baseline == []  # the same content as the deployed version: nothing new
    old_case = start(engine, "spec_east", "HD-E1-001")
    old_version = old_case.definition.version
    consent(engine, old_case.id, "rep_e1")

    edit(bpmn_copy, 'name="片区销售代表同意"', 'name="片区销售代表审批"')
    edit(bpmn_copy, 'name="分公司经理同意"', 'name="分公司经理审批"')
    created = engine.deployment.deploy_directory(bpmn_copy.parent)

    assert [(d.key, d.version) for d in created] == [(PROCESS, old_version + 1)]
    rows = definition_count()
    assert engine.deployment.deploy_directory(bpmn_copy.parent) == []  # unchanged since: nothing new
    assert definition_count() == rows

    # The running case finishes on the version it started on, with that version's step names.
    consent(engine, old_case.id, "biz_east")
    assert open_task(old_case.id).name == "分公司经理同意"
    consent(engine, old_case.id, "mgr_east")
    old_case = db.session.get(Instance, old_case.id)
    assert (old_case.definition.version, old_case.status, old_case.outcome) == \
        (old_version, COMPLETED, "approved")

    # A new case runs on the new version.
    new_case = start(engine, "sales_dept", "HD-E1-001")
    assert new_case.definition.version == old_version + 1
    assert open_task(new_case.id).name == "片区销售代表审批"
    consent(engine, new_case.id, "rep_e1")
    consent(engine, new_case.id, "biz_east")
    assert open_task(new_case.id).name == "分公司经理审批"


@pytest.mark.parametrize("old, new, named", [
    ('camunda:assignee="territory_rep"', 'camunda:assignee="rep_of_the_moon"', "rep_of_the_moon"),
    ('camunda:candidateGroups="branch_business_dept"', 'camunda:candidateGroups="everyone"', "everyone"),
    ('camunda:formKey="dossier_consent" camunda:assignee="branch_manager"',
     'camunda:formKey="no_such_form" camunda:assignee="branch_manager"', "no_such_form"),
    ('camunda:formKey="dossier_borrow_request"', 'camunda:formKey="no_such_start_form"', "no_such_start_form"),
    ('camunda:topic="grant_dossier_loan"', 'camunda:topic="print_the_dossier"', "print_the_dossier"),
], ids=["assignee-rule", "candidate-rule", "task-form-key", "start-form-key", "service-topic"])
def test_a_definition_the_application_cannot_run_is_refused(engine, bpmn_copy, old, new, named):
    edit(bpmn_copy, old, new)
    rows = definition_count()

    with pytest.raises(DefinitionError, match=named):
        engine.deployment.deploy_directory(bpmn_copy.parent)

    assert definition_count() == rows


def test_one_bad_file_refuses_the_whole_directory(engine, bpmn_copy):
    edit(bpmn_copy, 'name="分公司经理同意"', 'name="分公司经理审批"')  # a good change …
    broken = bpmn_copy.with_name("z_broken.bpmn")  # … deployed before a broken file
    broken.write_text(bpmn_copy.read_text(encoding="utf-8").replace(
        'camunda:topic="grant_dossier_loan"', 'camunda:topic="print_the_dossier"'), encoding="utf-8")
    rows = definition_count()

    with pytest.raises(DefinitionError):
        engine.deployment.deploy_directory(bpmn_copy.parent)

    assert definition_count() == rows


# -- the tasks table --------------------------------------------------------------------------------

def test_task_rows_record_who_by_which_rule_and_by_when(engine):
    clock.set(T0)
    instance = start(engine, "spec_east", "HD-E1-001")
    rep_task = open_task(instance.id)
    clock.set(T0 + timedelta(hours=5))
    consent(engine, instance.id, "rep_e1")
    business_task = open_task(instance.id)
    clock.set(T0 + timedelta(days=1))
    consent(engine, instance.id, "biz_east")
    manager_task = open_task(instance.id)
    east_business = db.session.scalar(select(OrgUnit).where(OrgUnit.code == "east_business"))

    rows = [(t.spec_id, t.assignment_rule, t.assignee.username if t.assignee else None, t.owner_id is not None,
             t.candidate_role, t.candidate_org_unit_id, t.created_at, t.due_at)
            for t in (db.session.get(Task, rep_task.id), business_task, manager_task)]

    assert rows == [
        ("consent_territory_rep", "territory_rep", "rep_e1", True, None, None,
         T0, T0 + timedelta(days=3)),
        # Claimed since by biz_east; offered, when created, to the business supervisors of 华东分公司.
        ("consent_business_dept", "branch_business_dept", "biz_east", True,
         org.BUSINESS_SUPERVISOR, east_business.id, T0 + timedelta(hours=5), T0 + timedelta(hours=5, days=3)),
        ("consent_branch_manager", "branch_manager", "mgr_east", True, None, None,
         T0 + timedelta(days=1), T0 + timedelta(days=4)),
    ]
    assert business_task.claimed_at == T0 + timedelta(days=1)
    created = events_of(instance.id, "task_created")
    assert [e.data["rule"] for e in created] == ["territory_rep", "branch_business_dept", "branch_manager"]
    assert created[1].data["assignee_id"] is None  # nobody was chosen: the group claims
