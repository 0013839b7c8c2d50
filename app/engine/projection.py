"""The tables the inboxes read, kept in line with the workflow in the transaction that changes it: a
`tasks` row for each ready user task, with the people its rule names, and a `timers` row for each
waiting timer event. Who hears of a new task or a passed deadline is told here too."""
from __future__ import annotations

import logging
from datetime import datetime

from SpiffWorkflow.bpmn import BpmnWorkflow
from SpiffWorkflow.bpmn.specs.event_definitions.timer import TimerEventDefinition
from SpiffWorkflow.util.task import TaskState
from sqlalchemy import delete, insert, select
from sqlalchemy.orm import lazyload
from sqlalchemy.orm.attributes import set_committed_value

from app import db
from app.engine.directory import User, member_ids
from app.engine.due_dates import due_at, is_literal
from app.engine.models import CANCELLED, HELD, OPEN, STEP, TASK_TIMER, Task, TaskCandidate, Timer
from app.engine.parser import ApprovalUserTask
from app.engine.plugins import Assignment, AssignmentError, group_rules
from app.errors import Unassignable
from app.i18n import _l

log = logging.getLogger(__name__)


def case_rows(instance_id: int) -> list[Task]:
    """Every task row of a case, read once per transaction and kept current by this transaction (its
    changes are on the objects, its new rows are added by `add_row`): what the projection and the
    checks on a case's earlier decisions (segregation of duties, say) look at, without a query each
    and without writing the pending changes first."""
    return db.memo(("case_rows", instance_id), lambda: list(db.session.scalars(
        # Their case is loaded already: not again with each row (a task's instance is joined by default).
        select(Task).where(Task.instance_id == instance_id).options(lazyload(Task.instance)).order_by(Task.id))))


def keep_case_rows(instance_id: int, rows: list[Task]) -> None:
    """A case's task rows, all of them, as the operation's first statement read them: `case_rows`."""
    db.memo(("case_rows", instance_id), lambda: rows)


def add_row(row: Task) -> None:
    """A new task row of a case, in the session and among the case's rows of this transaction."""
    rows = case_rows(row.instance_id)
    db.session.add(row)
    rows.append(row)


def sync_tasks(case, workflow: BpmnWorkflow) -> None:
    ready = {str(t.id): t for t in workflow.get_tasks(state=TaskState.READY, manual=True)}
    live_rows = [] if case.opened else [row for row in case_rows(case.instance.id) if row.state in (OPEN, HELD)]
    steps = [row for row in live_rows if row.kind == STEP]
    for row in steps:
        if row.spiff_task_id not in ready:  # cancelled by the flow (boundary event, end, send-back)
            for side in live_rows:
                if side.parent_id == row.id:  # a signer's or the initiator's task about it goes too
                    side.state = CANCELLED
                    case.record("task_cancelled", {"spec": side.spec_id}, task=side)
            row.state = CANCELLED
            row.withdraw_further_offers()
            case.record("task_cancelled", {"spec": row.spec_id}, task=row)
    known = {row.spiff_task_id for row in steps}
    # The rules read the organisation only: nothing of this operation needs writing before they do.
    with db.session.no_autoflush:
        opened = [_open_task_row(case, spiff_task) for spiff_id, spiff_task in ready.items()
                  if spiff_id not in known]
    set_committed_value(case.instance, "live_tasks", sorted(
        [row for row in live_rows if row.state in (OPEN, HELD)] + opened, key=lambda row: (row.created_at, row.id or 0)))


def resolve(ext, rule: str, data: dict) -> Assignment:
    """Whom a plugged-in assignment rule finds for the case data."""
    handler = ext.rule(rule)
    if handler is None:
        raise AssignmentError(f"unknown assignment rule {rule!r}")
    return handler(data)


def members(assignment: Assignment) -> list[int]:
    """The people an assignment means: its person, or the active members of its group."""
    if assignment.assignee_id is not None:
        return [assignment.assignee_id]
    return list(member_ids(assignment.candidate_role, assignment.candidate_org_unit_id))


def _open_task_row(case, spiff_task) -> Task:
    ext = case.uow.ext
    spec = spiff_task.task_spec
    rule = spec.assignee_rule or spec.candidate_rule
    rerouted = None
    try:
        chosen, *further = [resolve(ext, one, spiff_task.data)
                            for one in ([spec.assignee_rule] if spec.assignee_rule else group_rules(spec.candidate_rule))]
        if spec.name in case.assign_again:  # sent back: to whoever did the step before
            chosen, further = Assignment(assignee_id=case.assign_again[spec.name]), []
        elif spec.approval:
            rerouted = ext.duties.reroute(case.instance, spec.name, [chosen, *further])
            if rerouted:
                chosen, further = Assignment(assignee_id=rerouted.superior_id), []
    except AssignmentError as exc:
        log.warning("case %s, step %s: %s", case.instance.id, spec.name, exc)
        raise Unassignable(_l("Nobody can be found for the step “%(step)s”: %(why)s",
                              step=spec.bpmn_name or spec.name, why=str(exc))) from exc
    # Away: a task meant for him personally goes to his deputy, on his behalf (he stays its owner).
    deputy = (ext.deputy_for(chosen.assignee_id, case.instance.process_key, case.now)
              if chosen.assignee_id else None)
    if deputy and spec.approval and deputy.id in ext.duties.excluded(case.instance, spec.name):
        deputy = None  # the deputy may not decide it: it waits for the person himself
    row = Task(instance_id=case.instance.id, process_key=case.instance.process_key,
               spiff_task_id=str(spiff_task.id), spec_id=spec.name, name=spec.bpmn_name or spec.name,
               form_key=spec.form.key, state=OPEN, assignment_rule=rule, approval=spec.approval,
               assignee_id=deputy.id if deputy else chosen.assignee_id, owner_id=chosen.assignee_id,
               candidate_role=chosen.candidate_role, candidate_org_unit_id=chosen.candidate_org_unit_id,
               due_at=_task_due_at(spiff_task, case.now) if spec.due_date else None,
               created_at=case.now,
               further_candidates=[TaskCandidate(role=group.candidate_role, org_unit_id=group.candidate_org_unit_id)
                                   for group in further])
    add_row(row)
    person = db.session.get(User, row.assignee_id) if row.assignee_id else None
    set_committed_value(row, "assignee", person)  # kept with the row: the operation's answer names him
    case.record("task_created", {"spec": row.spec_id, "rule": rule, "assignee_id": row.assignee_id,
                                 **({"person": person.display_name} if person else {}),
                                 "candidate_role": row.candidate_role,
                                 "candidate_org_unit_id": row.candidate_org_unit_id}, task=row)
    if rerouted:
        case.record("duty_rerouted", {"passed_over_id": rerouted.passed_over_id, "person": rerouted.passed_over_name,
                                      "rule": rerouted.reason, "assignee_id": rerouted.superior_id},
                    task=row, system=True)
    if deputy:
        case.record("task_delegated", {"owner_id": chosen.assignee_id, "deputy_id": deputy.id,
                                       "person": deputy.display_name}, task=row, system=True)
    case.when_tasks_synced(lambda: _tell_about_new_task(row, case, deputy))
    return row


def _tell_about_new_task(row: Task, case, deputy: User | None) -> None:
    """Whoever a new task is for hears of it: its assignee (his deputy, while he is away, on his
    behalf), or the members of the groups it is offered to. A step sent back says so itself."""
    if row.spec_id in case.assign_again:
        return
    notify = case.uow.ext.notify
    if deputy is not None:
        notify([deputy.id], "on_behalf", case.now, instance_id=row.instance_id, task_id=row.id,
               task=row.name, by=db.session.get(User, row.owner_id))
    elif row.assignee_id is not None:
        notify([row.assignee_id], "task_assigned", case.now, instance_id=row.instance_id,
               task_id=row.id, task=row.name, by=case.actor)
    else:
        groups = [(row.candidate_role, row.candidate_org_unit_id)]
        groups += [(group.role, group.org_unit_id) for group in row.further_candidates]
        people = {user_id for role, unit in groups for user_id in member_ids(role, unit)}
        notify(people, "task_offered", case.now, instance_id=row.instance_id, task_id=row.id,
               task=row.name, by=case.actor)


def who_decides(task: Task) -> list[int]:
    """Whoever a task waits for: its signer or the initiator revising (a held step), its assignee, or the
    members of the group it is offered to."""
    if task.state == HELD:
        return list(db.session.scalars(select(Task.assignee_id).where(Task.parent_id == task.id,
                                                                      Task.state == OPEN)))
    if task.assignee_id is not None:
        return [task.assignee_id]
    return list(member_ids(task.candidate_role, task.candidate_org_unit_id))


# -- timers ----------------------------------------------------------------------------------------

def waiting_timers(workflow: BpmnWorkflow):
    """The workflow's timer events that are waiting, subprocesses included."""
    return [task for task in workflow.event_manager.tasks.values()
            if isinstance(task.task_spec.event_definition, TimerEventDefinition)
            and task.has_state(TaskState.WAITING)]


def timer_due(task) -> datetime:
    """When a waiting timer event is due, from what SpiffWorkflow stored when it started waiting."""
    value = task.task_spec.event_definition.details(task).value
    return TimerEventDefinition.get_datetime(value if isinstance(value, str) else value["next"])


def sync_timers(case, workflow: BpmnWorkflow) -> None:
    """The instance's wake-up rows become exactly its waiting timer events."""
    db.session.execute(delete(Timer).where(Timer.instance_id == case.instance.id, Timer.kind == TASK_TIMER))
    rows = [{"kind": TASK_TIMER, "instance_id": case.instance.id, "spiff_task_id": str(task.id),
             "spec_id": task.task_spec.name, "due_at": timer_due(task)}
            for task in waiting_timers(workflow)]
    if rows:
        db.session.execute(insert(Timer), rows)


def record_fired_timers(case, workflow: BpmnWorkflow) -> None:
    """Every timer event that fired, once, in the case history: fired by a worker, or at once because
    its time had already passed when it started waiting (a case opened late, say)."""
    for task in workflow.get_tasks():  # all states: a filtered walk skips what sits under waiting tasks
        if (task.state == TaskState.COMPLETED
                and isinstance(getattr(task.task_spec, "event_definition", None), TimerEventDefinition)
                and not task.internal_data.get("fire_recorded")):
            task.internal_data["fire_recorded"] = True
            value = task.task_spec.event_definition.details(task).value
            due = value if isinstance(value, str) or value is None else value.get("next")
            # A deadline on a step (a boundary timer): the history names the step (parallel steps may
            # each have a timer of the same name), and whoever the step waits for hears of it.
            steps = [sibling for sibling in (task.parent.children if task.parent else [])
                     if isinstance(sibling.task_spec, ApprovalUserTask)]
            case.record("timer_fired", {"spec": task.task_spec.name, "name": task.task_spec.bpmn_name,
                                        "due_at": due, "steps": [step.task_spec.bpmn_name for step in steps]},
                        system=True)
            attached = [str(step.id) for step in steps]
            if attached:
                case.when_tasks_synced(lambda ids=attached: _tell_about_deadline(case, ids))


def _tell_about_deadline(case, spiff_task_ids: list[str]) -> None:
    for row in [row for row in case_rows(case.instance.id)
                if row.spiff_task_id in spiff_task_ids and row.state == OPEN]:
        case.uow.ext.notify(who_decides(row), "deadline_passed", case.now, instance_id=row.instance_id,
                            task_id=row.id, task=row.name)


def _task_due_at(spiff_task, now: datetime) -> datetime:
    """A user task's due time: its `camunda:dueDate` as ISO 8601, or an expression over the case data
    giving ISO 8601 (e.g. `day_after_month(month, 2)`), evaluated in the sandbox."""
    text = spiff_task.task_spec.due_date
    if not is_literal(text):
        text = spiff_task.workflow.script_engine.evaluate(spiff_task, text)
    return due_at(str(text), now)
