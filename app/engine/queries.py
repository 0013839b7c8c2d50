"""Read side: inboxes, requests and case histories come from tables, never from workflow state."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l
from sqlalchemy import and_, case, exists, false, func, or_, select

from app.domain import org
from app.engine.models import OPEN, Event, Instance, Task
from app.errors import Forbidden, NotFound
from app.extensions import db


def _candidate_filter(user: org.User):
    """Open, unclaimed tasks offered to a role the user holds in that org unit."""
    pairs = [and_(Task.candidate_role == m.role.code, Task.candidate_org_unit_id == m.org_unit_id)
             for m in user.memberships]
    return and_(Task.assignee_id.is_(None), or_(*pairs) if pairs else false())


def inbox_query(user: org.User):
    """My open tasks and the ones I may claim: overdue and soonest due first, then oldest."""
    return (select(Task).where(Task.state == OPEN, or_(Task.assignee_id == user.id, _candidate_filter(user)))
            .order_by(case((Task.due_at.is_(None), 1), else_=0), Task.due_at, Task.created_at, Task.id))


def inbox_page(user: org.User, page: int, per_page: int):
    return db.paginate(inbox_query(user), page=page, per_page=per_page, error_out=False)


def inbox_count(user: org.User) -> int:
    return db.session.scalar(select(func.count()).select_from(inbox_query(user).order_by(None).subquery()))


def my_requests_page(user: org.User, page: int, per_page: int):
    query = (select(Instance).where(Instance.started_by_id == user.id)
             .order_by(Instance.started_at.desc(), Instance.id.desc()))
    return db.paginate(query, page=page, per_page=per_page, error_out=False)


def open_tasks_of(instance_ids: list[int]) -> dict[int, list[Task]]:
    """Who each case is waiting for."""
    result: dict[int, list[Task]] = {i: [] for i in instance_ids}
    if instance_ids:
        for task in db.session.scalars(select(Task).where(Task.instance_id.in_(instance_ids), Task.state == OPEN)
                                       .order_by(Task.created_at)):
            result[task.instance_id].append(task)
    return result


def events_of(instance: Instance) -> list[Event]:
    return list(db.session.scalars(select(Event).where(Event.instance_id == instance.id)
                                   .order_by(Event.at, Event.id)))


def last_refusal(instance: Instance) -> Event | None:
    """The refusal that ended a case: who refused and why."""
    for event in reversed(events_of(instance)):
        if event.type == "task_completed" and event.data.get("form_data", {}).get("decision") == "reject":
            return event
    return None


def tasks_of(instance: Instance) -> list[Task]:
    return list(db.session.scalars(select(Task).where(Task.instance_id == instance.id)
                                   .order_by(Task.created_at, Task.id)))


def may_view_case(user: org.User, instance: Instance) -> bool:
    """The initiator, anyone who has or had a task in it, whoever may claim one, and compliance."""
    if instance.started_by_id == user.id or user.has_role(org.AUDITOR):
        return True
    involved = select(Task.id).where(Task.instance_id == instance.id,
                                     or_(Task.assignee_id == user.id, Task.completed_by_id == user.id,
                                         and_(Task.state == OPEN, _candidate_filter(user))))
    return db.session.scalar(select(exists(involved)))


def visible_instance(user: org.User, instance_id: int) -> Instance:
    instance = db.session.get(Instance, instance_id)
    if instance is None:
        raise NotFound(_l("No such case."))
    if not may_view_case(user, instance):
        raise Forbidden(_l("This case is not yours to see."))
    return instance


def visible_task(user: org.User, task_id: int) -> Task:
    """A task its assignee may see, or, while nobody has claimed it, a member of its candidate group."""
    task = db.session.get(Task, task_id)
    if task is None:
        raise NotFound(_l("No such task."))
    unclaimed_candidate = (task.state == OPEN and task.assignee_id is None
                           and task.candidate_role is not None
                           and user.has_role(task.candidate_role, task.candidate_org_unit_id))
    if task.assignee_id != user.id and task.completed_by_id != user.id and not unclaimed_candidate:
        raise Forbidden(_l("This task is not yours."))
    return task
