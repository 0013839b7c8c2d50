"""The compliance case search: any case by process and version, customer, initiator, participant,
start date, status and outcome, overdue or escalated, and words in its comments. Reads tables only;
what a user may see is the policy's visibility rule, so a reviewer finds every case and anyone else
only his own.
"""
from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import and_, exists, or_, select
from sqlalchemy.orm import joinedload

from app import db, policy
from app.calendar import day_start, end_of_day
from app.domain import org
from app.domain.customers import Customer
from app.engine.models import OPEN, Event, Instance, ProcessDefinition, Task

SORTS = {"started": Instance.started_at, "ended": Instance.ended_at, "case": Instance.id,
         "process": Instance.process_key}


@dataclass(frozen=True)
class CaseFilter:
    process_key: str | None = None
    version: int | None = None
    customer: str | None = None  # a customer code or words of its name
    initiator: str | None = None  # a user name
    participant: str | None = None  # a user name: started it, had a task in it, or acted in it
    since: date | None = None  # started on or after (company days)
    until: date | None = None  # started on or before
    status: str | None = None
    outcome: str | None = None
    overdue: bool = False
    escalated: bool = False
    words: str | None = None
    words_in: tuple[str, ...] = ()  # the fields of decisions holding people's words (Extensions.comment_fields)
    sort: str = "started"
    descending: bool = True


def _user_id(username: str):
    return select(org.User.id).where(org.User.username == username).scalar_subquery()


def overdue_condition(now: datetime):
    """A step of the case is past its due time, or was done after it."""
    return exists().where(Task.instance_id == Instance.id, Task.due_at.is_not(None),
                          or_(and_(Task.state == OPEN, Task.due_at < now), Task.completed_at > Task.due_at))


# A deadline of the case passed (its reminders and escalation notices hang on deadlines).
ESCALATED = exists().where(Event.instance_id == Instance.id, Event.type == "timer_fired")


def statement(user: org.User, wanted: CaseFilter, now: datetime):
    """The matching cases the user may see, in order."""
    query = select(Instance).where(policy.visible_cases(user))
    if wanted.process_key:
        query = query.where(Instance.process_key == wanted.process_key)
    if wanted.version:
        query = query.where(Instance.definition_id.in_(select(ProcessDefinition.id).where(
            ProcessDefinition.version == wanted.version)))
    if wanted.customer:
        # Words of the name, literally: "%" and "_" are characters here, not wildcards.
        query = query.where(Instance.customer_id.in_(select(Customer.id).where(
            or_(Customer.code == wanted.customer, Customer.name.contains(wanted.customer, autoescape=True)))))
    if wanted.initiator:
        query = query.where(Instance.started_by_id == _user_id(wanted.initiator))
    if wanted.participant:
        person = _user_id(wanted.participant)
        query = query.where(or_(
            Instance.started_by_id == person,
            exists().where(Task.instance_id == Instance.id,
                           or_(Task.assignee_id == person, Task.completed_by_id == person)),
            exists().where(Event.instance_id == Instance.id, Event.actor_id == person)))
    if wanted.since:
        query = query.where(Instance.started_at >= day_start(wanted.since))
    if wanted.until:
        query = query.where(Instance.started_at < end_of_day(wanted.until))
    if wanted.status:
        query = query.where(Instance.status == wanted.status)
    if wanted.outcome:
        query = query.where(Instance.outcome == wanted.outcome)
    if wanted.overdue:
        query = query.where(overdue_condition(now))
    if wanted.escalated:
        query = query.where(ESCALATED)
    if wanted.words:
        query = query.where(exists().where(
            Event.instance_id == Instance.id, Event.type == "task_completed",
            or_(*[Event.data["form_data"][name].as_string().contains(wanted.words, autoescape=True)
                  for name in wanted.words_in])))
    column = SORTS.get(wanted.sort, Instance.started_at)
    order = column.desc() if wanted.descending else column.asc()
    return query.order_by(order, Instance.id.desc() if wanted.descending else Instance.id.asc())


def page(user: org.User, wanted: CaseFilter, now: datetime, number: int, per_page: int):
    query = statement(user, wanted, now).options(joinedload(Instance.started_by))
    return db.paginate(query, number, per_page, max_per_page=200)


@dataclass(frozen=True)
class Flags:
    overdue: bool
    escalated: bool


def flags(instance_ids: list[int], now: datetime) -> dict[int, Flags]:
    """Whether each case is (or was) overdue and whether a deadline of it passed: one query."""
    if not instance_ids:
        return {}
    rows = db.session.execute(select(Instance.id, overdue_condition(now), ESCALATED)
                              .where(Instance.id.in_(instance_ids)))
    return {instance_id: Flags(bool(overdue), bool(escalated)) for instance_id, overdue, escalated in rows}


def all_matching(user: org.User, wanted: CaseFilter, now: datetime, chunk: int = 500) -> Iterator[tuple]:
    """Every matching case with its flags, in order, for an export: the ids first, then the cases and
    their flags a chunk at a time (bounded memory and bounded IN lists)."""
    order = statement(user, wanted, now)
    ids = list(db.session.scalars(order.with_only_columns(Instance.id)))
    for start in range(0, len(ids), chunk):
        part = ids[start:start + chunk]
        loaded = {i.id: i for i in db.session.scalars(select(Instance).where(Instance.id.in_(part))
                                                      .options(joinedload(Instance.started_by)))}
        marks = flags(part, now)
        for instance_id in part:
            yield loaded[instance_id], marks[instance_id]
