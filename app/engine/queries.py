"""Read side: inboxes, requests and case histories come from tables, never from workflow state."""
from __future__ import annotations

from datetime import datetime
from functools import lru_cache

from sqlalchemy import and_, bindparam, exists, false, func, literal, or_, select, union_all
from sqlalchemy.orm import joinedload, lazyload

from app import db
from app.engine.directory import User
from app.engine.models import (
    DONE,
    OPEN,
    RESUBMIT,
    RUNNING,
    STEP,
    CaseReader,
    Event,
    Incident,
    Instance,
    Task,
    TaskCandidate,
)


def case_with_key(unique_key: str, besides: int | None = None) -> int | None:
    """The case that holds a flow's unique key (one per branch and month, say), other than `besides`
    (the case whose request is being resubmitted); None if there is none."""
    return db.session.scalar(select(Instance.id).where(Instance.unique_key == unique_key,
                                                       Instance.id != (besides or 0)))


def offered_to(user: User):
    """Unclaimed tasks offered to a role the user holds in that org unit (first or further group)."""
    if not user.memberships:
        return false()
    pairs = [and_(Task.candidate_role == m.role.code, Task.candidate_org_unit_id == m.org_unit_id)
             for m in user.memberships]
    further = exists().where(TaskCandidate.task_id == Task.id, or_(*[
        and_(TaskCandidate.role == m.role.code, TaskCandidate.org_unit_id == m.org_unit_id)
        for m in user.memberships]))
    return and_(Task.assignee_id.is_(None), or_(*pairs, further))


@lru_cache(maxsize=64)
def _inbox_statements(groups: int):
    """The inbox's two statements for a user in `groups` groups (role in an org unit), built once.

    Rows: my open tasks, the open unclaimed ones offered to each of my groups, one SELECT each, and
    one SELECT for those offered to a group of mine only as a further group (TaskCandidate), glued
    with UNION ALL: the parts never overlap (assigned or not; one membership per role and unit; the
    last part leaves out what the others found). Each SELECT on tasks spells out the condition of
    its partial index (models.OPEN_ASSIGNED, OPEN_UNCLAIMED) with 'open' written into the SQL, not
    bound, and reads only what the index holds: SQLite and PostgreSQL answer it from the index
    alone. Parameters: see _inbox_parameters.
    """
    is_open = Task.state == literal(OPEN, literal_execute=True)
    columns = (Task.id, Task.due_at.is_(None).label("no_due_date"), Task.due_at, Task.created_at)
    parts = [select(*columns).where(is_open, Task.assignee_id == bindparam("user_id"))]
    parts += [select(*columns).where(is_open, Task.assignee_id.is_(None),
                                     Task.candidate_role == bindparam(f"role_{i}"),
                                     Task.candidate_org_unit_id == bindparam(f"unit_{i}"))
              for i in range(groups)]
    if groups:
        mine = [(bindparam(f"role_{i}"), bindparam(f"unit_{i}")) for i in range(groups)]
        offered_further = select(TaskCandidate.task_id).where(
            or_(*[and_(TaskCandidate.role == role, TaskCandidate.org_unit_id == unit) for role, unit in mine]))
        offered_first = or_(*[and_(Task.candidate_role == role, Task.candidate_org_unit_id == unit)
                              for role, unit in mine])
        parts.append(select(*columns).where(is_open, Task.assignee_id.is_(None), Task.id.in_(offered_further),
                                            ~offered_first))
    rows = union_all(*parts)
    # Ordered on the UNION itself (by output column names): SQLite sorts each part and merges them.
    order = rows.selected_columns
    ordered = rows.order_by(order.no_due_date, order.due_at, order.created_at, order.id)
    return ordered, select(func.count()).select_from(rows.subquery("inbox"))


def _inbox_parameters(user: User) -> dict:
    parameters = {"user_id": user.id}
    for i, membership in enumerate(user.memberships):
        parameters[f"role_{i}"], parameters[f"unit_{i}"] = membership.role.code, membership.org_unit_id
    return parameters


def inbox_query(user: User):
    """My open tasks and the ones I may claim, overdue and soonest due first (none due last), then oldest:
    their ids (first column). Returns the statement and its parameters, for `db.session.scalars`.
    """
    return _inbox_statements(len(user.memberships))[0], _inbox_parameters(user)


def _with_cases(query):
    """What an inbox row shows besides the task: who has it or may claim it, and whose case it is."""
    return query.options(joinedload(Task.assignee), joinedload(Task.candidate_org_unit),
                         joinedload(Task.instance).joinedload(Instance.started_by))


def inbox_page(user: User, page: int, per_page: int, *, cases: bool = True, count: bool = True) -> db.Page:
    """One page of the inbox; without `cases` the tasks come without their cases (and the names
    of the groups they are offered to), without `count` the page has no total.

    The page's ids are sorted and cut from the indexes alone (inbox_query), and only then joined to
    their tasks and cases. Sorted after the joins, every matching task (thousands for a busy group)
    would be joined to its case first."""
    page, per_page = db.page_bounds(page, per_page)
    statement, parameters = inbox_query(user)
    ids = statement.limit(per_page).offset((page - 1) * per_page).subquery("page")
    query = select(Task).join(ids, Task.id == ids.c.id)
    query = (_with_cases(query) if cases
             else query.options(joinedload(Task.assignee), lazyload(Task.instance)))
    query = query.order_by(ids.c.no_due_date, ids.c.due_at, ids.c.created_at, ids.c.id)
    items = list(db.session.scalars(query, parameters))
    return db.Page(items, page, per_page, inbox_count(user) if count else None)


def inbox_count(user: User) -> int:
    return db.session.scalar(_inbox_statements(len(user.memberships))[1], _inbox_parameters(user))


def my_requests_page(user: User, page: int, per_page: int):
    query = (select(Instance).where(Instance.started_by_id == user.id)
             .order_by(Instance.started_at.desc(), Instance.id.desc()))
    return db.paginate(query, page, per_page)


# What pages and the API show of a task's people: load it with the task, not one query per row.
_WHO = (joinedload(Task.assignee), joinedload(Task.candidate_org_unit))


def open_tasks_of(instance_ids: list[int]) -> dict[int, list[Task]]:
    """Who each case is waiting for."""
    result: dict[int, list[Task]] = {i: [] for i in instance_ids}
    if instance_ids:
        for task in db.session.scalars(select(Task).where(Task.instance_id.in_(instance_ids), Task.state == OPEN)
                                       .options(*_WHO).order_by(Task.created_at)):
            result[task.instance_id].append(task)
    return result


def running_cases_by_process() -> dict[str, int]:
    return dict(db.session.execute(select(Instance.process_key, func.count()).where(Instance.status == RUNNING)
                                   .group_by(Instance.process_key)).all())


def running_cases_by_version(process_key: str) -> dict[int, int]:
    """Running cases per definition version id of one process."""
    return dict(db.session.execute(select(Instance.definition_id, func.count())
                                   .where(Instance.process_key == process_key, Instance.status == RUNNING)
                                   .group_by(Instance.definition_id)).all())


def incidents(resolved: bool, limit: int | None = None) -> list[Incident]:
    """Open incidents oldest first; resolved ones newest first."""
    query = select(Incident).where(Incident.resolved_at.is_not(None) if resolved else Incident.resolved_at.is_(None))
    query = query.order_by(Incident.occurred_at.desc() if resolved else Incident.occurred_at, Incident.id)
    return list(db.session.scalars(query.limit(limit) if limit else query))


def events_of(instance: Instance) -> list[Event]:
    return list(db.session.scalars(select(Event).where(Event.instance_id == instance.id)
                                   .order_by(Event.at, Event.id)))


def recorded_rows(instance_id: int, event_type: str) -> list[dict]:
    """The rows a case's service recorded for its people to act on (a routine report's customers, a
    plan's sheet), from the newest such event: what the step was shown, kept in the trail."""
    event = db.session.scalar(select(Event).where(Event.instance_id == instance_id, Event.type == event_type)
                              .order_by(Event.id.desc()).limit(1))
    return event.data["rows"] if event is not None else []


def last_refusal(instance: Instance) -> Event | None:
    """The refusal that ended a case: who refused and why."""
    for event in reversed(events_of(instance)):
        if event.type == "task_completed" and event.data.get("form_data", {}).get("decision") == "reject":
            return event
    return None


def return_behind(task: Task) -> Event | None:
    """The return that brought this task about (the decision completed just before it was created),
    if it was one: who sent the case back and what must change."""
    completed = db.session.scalar(select(Event).where(Event.instance_id == task.instance_id,
                                                      Event.type == "task_completed", Event.at <= task.created_at)
                                  .order_by(Event.at.desc(), Event.id.desc()).limit(1))
    if completed is not None and completed.data.get("form_data", {}).get("decision") == "return":
        return completed
    return None


def tasks_of(instance: Instance) -> list[Task]:
    return list(db.session.scalars(select(Task).where(Task.instance_id == instance.id).options(*_WHO)
                                   .order_by(Task.created_at, Task.id)))


def previous_submission(task: Task) -> dict | None:
    """What was filed before for a task that comes round again: the request, for the initiator revising
    it; a step sent back, its last decision."""
    if task.kind == RESUBMIT:
        return task.instance.start_data
    if task.kind != STEP or task.state != OPEN:
        return None
    event = db.session.scalar(select(Event).join(Task, Event.task_id == Task.id).where(
        Task.instance_id == task.instance_id, Task.spec_id == task.spec_id, Task.state == DONE,
        Event.type == "task_completed").order_by(Event.id.desc()).limit(1))
    return event.data.get("form_data") if event is not None else None


def task_about(task: Task) -> Task | None:
    """The step a task of ours is about (a signer's opinion, a revised request)."""
    return db.session.get(Task, task.parent_id) if task.parent_id else None


def readers_of(instance: Instance) -> list[CaseReader]:
    return list(db.session.scalars(select(CaseReader).where(CaseReader.instance_id == instance.id)
                                   .options(joinedload(CaseReader.user)).order_by(CaseReader.at)))


def copied_to(user: User, page: int, per_page: int):
    """The cases copied to this user (抄送给我), newest copy first."""
    query = (select(Instance).join(CaseReader, CaseReader.instance_id == Instance.id)
             .where(CaseReader.user_id == user.id).order_by(CaseReader.at.desc(), Instance.id.desc()))
    return db.paginate(query, page, per_page)


def _actor_id(actor: str | int):
    """A user name, or failing that a numeric user id, as the id to filter on (None: nobody)."""
    if isinstance(actor, int):
        return actor
    found = db.session.scalar(select(User.id).where(User.username == actor))
    if found is None and actor.isdigit():
        return int(actor)
    return found


def search_events(*, actor: str | int | None = None, process_key: str | None = None,
                  event_type: str | None = None, since: datetime | None = None, until: datetime | None = None,
                  instance_id: int | None = None, page: int = 1, per_page: int = 50):
    """The compliance search over the audit trail, newest first, one page of it.

    `actor` is a user name or a user id; `since` is inclusive and `until` exclusive (aware
    datetimes). Every filter given must hold.
    """
    query = select(Event)
    if actor is not None:
        actor_id = _actor_id(actor)
        query = query.where(Event.actor_id == actor_id if actor_id is not None else false())
    if process_key:
        query = query.join(Instance, Event.instance_id == Instance.id).where(Instance.process_key == process_key)
    if event_type:
        query = query.where(Event.type == event_type)
    if since is not None:
        query = query.where(Event.at >= since)
    if until is not None:
        query = query.where(Event.at < until)
    if instance_id is not None:
        query = query.where(Event.instance_id == instance_id)
    query = query.order_by(Event.at.desc(), Event.id.desc())
    return db.paginate(query, page, per_page, max_per_page=200)
