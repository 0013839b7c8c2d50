"""Reminders a process sends when a deadline passes (service topic `remind_overdue`)."""
from sqlalchemy import select

from app import db
from app.domain.case import ServiceCall
from app.engine.models import OPEN, Task


def remind_overdue(call: ServiceCall) -> dict:
    """Remind whoever has an overdue task in the case: the case history says who was reminded of
    what. (In-app and e-mail notifications deliver it once they exist.) Decided once the case's
    tasks are written: a task that is overdue the moment it opens is reminded too."""
    call.case.when_tasks_synced(lambda: _remind(call.case))
    return {}


def _remind(case) -> None:
    overdue = db.session.scalars(select(Task).where(Task.instance_id == case.instance.id, Task.state == OPEN,
                                                    Task.due_at < case.now).order_by(Task.id)).all()
    reminded = [{"task_id": task.id, "name": task.name, "assignee_id": task.assignee_id,
                 "candidate_role": task.candidate_role, "candidate_org_unit_id": task.candidate_org_unit_id}
                for task in overdue]
    if reminded:
        case.record("reminder_sent", {"tasks": reminded}, system=True)
