"""The compliance step report (issue 7): how often each step of each process ran in a period, how long it
took, how often it was late and how often a deadline passed while it waited; per process, how many cases
started and finished and how long they took.

Read from the tasks, events and instances tables (never from workflow state) in three statements,
whatever the amount of data; medians and 90th percentiles are computed in Python exactly as the
complaints failure analysis computes them (failure_analysis.durations), in hours.

Steps: the user tasks created in the period (company-time days, both included). Cancelled ones are left
out (a boundary timer, a return or a terminated case took them away: nobody did them). Completed
ones have a duration, from creation to completion; open ones count as executions but have none yet.
Overdue: completed after the due time, or still open past it at `now`. Escalated: a deadline timer fired
in the case (a `timer_fired` event) while the task was open, from the moment it was created (a timer
already due when its task began fires at that very moment, and so does the firing that opens a notice
step) up to its completion, or `now`.
Processes: the cases started in the period; completed ones have a duration, from start to end.
"""
from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import Row, Select, exists, func, literal, select

from app import db
from app.calendar import day_start, end_of_day
from app.domain.failure_analysis import Durations, durations, hours
from app.engine.definitions import latest_definitions
from app.engine.models import CANCELLED, COMPLETED, DONE, OPEN, Event, Instance, Task

TIMER_FIRED = "timer_fired"


@dataclass(frozen=True)
class StepRow:
    """One step (BPMN user task) of one process over the period."""

    process_key: str
    spec_id: str
    name: str
    executions: int  # completed and open tasks
    open: int
    duration: Durations  # hours from creation to completion, over the completed tasks
    overdue: int
    escalated: int


@dataclass(frozen=True)
class ProcessTotals:
    """One process's cases started in the period."""

    process_key: str
    name: str  # its latest version's
    started: int
    completed: int  # by now
    duration: Durations  # hours from start to end, over the completed cases


@dataclass(frozen=True)
class ProcessReport:
    totals: ProcessTotals
    steps: list[StepRow]


def _in_period(query: Select, column, since: date | None, until: date | None) -> Select:
    """Rows whose `column` falls on the company-time days from `since` to `until`, both included."""
    if since is not None:
        query = query.where(column >= day_start(since))
    if until is not None:
        query = query.where(column < end_of_day(until))
    return query


def _overdue(task: Row, now: datetime) -> bool:
    """Completed after its due time, or open past it (as Task.is_overdue)."""
    return task.due_at is not None and (task.completed_at or now) > task.due_at


def _step_row(process_key: str, spec_id: str, name: str, tasks: list[Row], now: datetime) -> StepRow:
    completed = [t for t in tasks if t.state == DONE]
    return StepRow(process_key, spec_id, name, executions=len(tasks),
                   open=sum(1 for t in tasks if t.state == OPEN),
                   duration=durations(hours(t.created_at, t.completed_at) for t in completed),
                   overdue=sum(1 for t in tasks if _overdue(t, now)),
                   escalated=sum(1 for t in tasks if t.escalated))


def steps(process_key: str | None, since: date | None, until: date | None, now: datetime) -> list[StepRow]:
    """Every step with tasks created in the period (of one process, or of all), by process key, then in
    the order the steps first appeared in it. One statement: whether a timer fired while a task was
    open is asked of the events table for each row by the database, not by a query per task."""
    still_open_until = func.coalesce(Task.completed_at, literal(now, Task.completed_at.type))
    escalated = exists().where(Event.instance_id == Task.instance_id, Event.type == TIMER_FIRED,
                               Event.at >= Task.created_at, Event.at < still_open_until)
    query = (select(Task.process_key, Task.spec_id, Task.name, Task.state, Task.created_at, Task.completed_at,
                    Task.due_at, escalated.label("escalated"))
             .where(Task.state != CANCELLED)
             .order_by(Task.process_key, Task.created_at, Task.id))
    if process_key:
        query = query.where(Task.process_key == process_key)
    by_step: dict[tuple[str, str, str], list[Row]] = {}
    for task in db.session.execute(_in_period(query, Task.created_at, since, until)):
        by_step.setdefault((task.process_key, task.spec_id, task.name), []).append(task)
    return [_step_row(*step, tasks, now) for step, tasks in by_step.items()]


def processes(process_key: str | None, since: date | None, until: date | None) -> list[ProcessTotals]:
    """Every deployed process (or the one asked for), by key, with its cases started in the period: a
    process nobody used in the period shows as such instead of missing."""
    query = select(Instance.process_key, Instance.status, Instance.started_at, Instance.ended_at)
    if process_key:
        query = query.where(Instance.process_key == process_key)
    cases: dict[str, list[Row]] = {}
    for case in db.session.execute(_in_period(query, Instance.started_at, since, until)):
        cases.setdefault(case.process_key, []).append(case)
    totals = []
    for definition in latest_definitions():
        if process_key and definition.key != process_key:
            continue
        started = cases.get(definition.key, [])
        completed = [c for c in started if c.status == COMPLETED]
        totals.append(ProcessTotals(definition.key, definition.name, started=len(started),
                                    completed=len(completed),
                                    duration=durations(hours(c.started_at, c.ended_at) for c in completed)))
    return totals


def report(process_key: str | None, since: date | None, until: date | None,
           now: datetime) -> list[ProcessReport]:
    """The page and the CSV: each process's totals with its steps."""
    by_process: dict[str, list[StepRow]] = {}
    for row in steps(process_key, since, until, now):
        by_process.setdefault(row.process_key, []).append(row)
    return [ProcessReport(totals, by_process.get(totals.process_key, []))
            for totals in processes(process_key, since, until)]


def _hundredths(value: float | None) -> float | None:
    return None if value is None else round(value, 2)


def csv_rows(sections: Iterable[ProcessReport]) -> list[list]:
    """One line per step for exports.to_csv: process name and key, step name and id, executions, open,
    median and 90th percentile hours (to the hundredth), overdue, escalated."""
    return [[section.totals.name, step.process_key, step.name, step.spec_id, step.executions, step.open,
             _hundredths(step.duration.median), _hundredths(step.duration.p90), step.overdue, step.escalated]
            for section in sections for step in section.steps]
