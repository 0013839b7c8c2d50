"""What every process may use without a flow of its own: the `countersigner` rule of a countersign
(会签/或签), and the service topics `copy_to_readers` and `remind_overdue`."""
from __future__ import annotations

from app import db
from app.engine import projection, readers
from app.engine.directory import User
from app.engine.models import OPEN
from app.engine.plugins import Assignment, AssignmentError, Flow, ServiceCall, group_rules


def countersigner(data: dict) -> Assignment:
    """One signer of a countersign: a multi-instance user task with a loop cardinality of
    `len(signers)` (a list of user ids) and element variable `signer_index`; each instance's person."""
    signers, index = data.get("signers"), data.get("signer_index")
    person = (db.session.get(User, signers[index])
              if isinstance(signers, list) and isinstance(index, int) and 0 <= index < len(signers) else None)
    if person is None or not person.active:
        raise AssignmentError(f"the countersign names no active person (signers {signers!r}, index {index!r})")
    return Assignment(assignee_id=person.id)


def copy_to_readers(call: ServiceCall) -> dict:
    """Service task `copy_to_readers`: copy the case to whom the task's `readers` rules find (a rule that
    finds a group copies to each of its members)."""
    ext = call.case.uow.ext
    people = [db.session.get(User, user_id) for rule in group_rules(call.properties.get("readers"))
              for user_id in projection.members(projection.resolve(ext, rule, call.data))]
    note = call.properties.get("note", "")
    added = readers.add(ext, call.case.instance.id, people, None, call.case.now, note)
    if added:
        call.case.record("case_copied", readers.event_data(added, note), system=True)
    return {}


def remind_overdue(call: ServiceCall) -> dict:
    """Service task `remind_overdue`: remind whoever has an overdue task in the case (the case history
    says who was reminded of what). Decided once the case's tasks are written: a task that is overdue
    the moment it opens is reminded too. Deadlines that pass together (a timer on each of two parallel
    steps) run a reminder each: one operation reminds of a task once."""
    call.case.when_tasks_synced(lambda: _remind(call.case))
    return {}


def _remind(case) -> None:
    already = {task["task_id"] for event_type, data, _, _ in case.events if event_type == "reminder_sent"
               for task in data["tasks"]}
    overdue = [task for task in projection.case_rows(case.instance.id)
               if task.state == OPEN and task.due_at is not None and task.due_at < case.now]
    reminded = [{"task_id": task.id, "name": task.name, "assignee_id": task.assignee_id,
                 "candidate_role": task.candidate_role, "candidate_org_unit_id": task.candidate_org_unit_id}
                for task in overdue if task.id not in already]
    if reminded:
        case.record("reminder_sent", {"tasks": reminded}, system=True)


STANDARD = Flow(name="standard", person_rules={"countersigner": countersigner},
                services={"copy_to_readers": copy_to_readers, "remind_overdue": remind_overdue})
