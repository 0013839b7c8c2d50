"""Processes the application opens cases of by itself, on a calendar.

A BPMN timer *start* event is the wrong tool for "on the 1st of every month": SpiffWorkflow keeps
one instance alive for all firings, and `P1M` becomes a fixed 30 days. Instead a process declares
its schedule as a property, visible to administrators in the modeler:

    <bpmn:process id="star_rating" …>
      <bpmn:extensionElements><camunda:properties>
        <camunda:property name="schedule" value="monthly on day 1 at 00:00" />
      </camunda:properties></bpmn:extensionElements>

or "quarterly on day 1 at 00:00" (January, April, July and October), or "weekly on Monday at 08:00". The time is the company's
(Asia/Shanghai). The next firing is one row in the wake-up table (kind
`schedule`, at most one per process), fired by the same workers as every timer; the domain says
what cases a firing opens (app.domain.processes.SCHEDULED_STARTS).
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from lxml import etree
from sqlalchemy import delete, select

from app import db
from app.calendar import COMPANY_TZ, local
from app.engine.models import SCHEDULE, ProcessDefinition, Timer

_SCHEDULE = re.compile(r"^(monthly|quarterly) on day (\d{1,2}) at (\d{2}):(\d{2})$")
_WEEKLY = re.compile(r"^weekly on (monday|tuesday|wednesday|thursday|friday|saturday|sunday) at (\d{2}):(\d{2})$")
WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
_PROPERTY = ("./bpmn:extensionElements/camunda:properties/camunda:property[@name='schedule']")


class ScheduleError(ValueError):
    pass


@dataclass(frozen=True)
class Calendar:
    """On a day of every month, or of the first month of every quarter, at a time (company time)."""

    months_apart: int  # 1: monthly; 3: quarterly (from January)
    day: int
    hour: int
    minute: int

    def at(self, year: int, month: int) -> datetime:
        return datetime(year, month, self.day, self.hour, self.minute, tzinfo=COMPANY_TZ).astimezone(UTC)

    def next_after(self, moment: datetime) -> datetime:
        """The first firing strictly after `moment`."""
        here = local(moment)
        index = here.year * 12 + here.month - 1  # months counted from 0
        index -= index % self.months_apart  # the month this period began with
        while True:
            candidate = self.at(index // 12, index % 12 + 1)
            if candidate > moment:
                return candidate
            index += self.months_apart


@dataclass(frozen=True)
class Weekly:
    """On a day of every week, at a time (company time)."""

    weekday: int  # 0: Monday
    hour: int
    minute: int

    def next_after(self, moment: datetime) -> datetime:
        """The first firing strictly after `moment`."""
        here = local(moment)
        day = here.date() + timedelta(days=(self.weekday - here.weekday()) % 7)
        while True:
            candidate = datetime(day.year, day.month, day.day, self.hour, self.minute,
                                 tzinfo=COMPANY_TZ).astimezone(UTC)
            if candidate > moment:
                return candidate
            day += timedelta(days=7)


def parse(text: str) -> Calendar | Weekly:
    weekly = _WEEKLY.match(text.strip().lower())
    if weekly is not None:
        hour, minute = int(weekly.group(2)), int(weekly.group(3))
        if hour > 23 or minute > 59:
            raise ScheduleError(f"schedule {text!r}: the time is not valid")
        return Weekly(WEEKDAYS.index(weekly.group(1)), hour, minute)
    match = _SCHEDULE.match(text.strip())
    if match is None:
        raise ScheduleError(f"schedule {text!r}: write it as 'monthly on day D at HH:MM', "
                            f"'quarterly on day D at HH:MM' or 'weekly on Monday at HH:MM' (company time)")
    every, (day, hour, minute) = match.group(1), (int(group) for group in match.groups()[1:])
    if not 1 <= day <= 28 or hour > 23 or minute > 59:
        raise ScheduleError(f"schedule {text!r}: the day must be 1–28 (every month has it) and the time valid")
    return Calendar(1 if every == "monthly" else 3, day, hour, minute)


def declared(process: etree._Element, namespaces: dict) -> str | None:
    """The `schedule` property of a BPMN process element, if it has one."""
    found = process.xpath(_PROPERTY, namespaces=namespaces)
    return found[0].get("value").strip() if found and found[0].get("value") else None


def sync(definition: ProcessDefinition, now: datetime) -> None:
    """Make the process's wake-up match its newest version: one row if it has a schedule, none if not.

    An existing row keeps its time unless the new schedule fires earlier: a redeploy never skips a
    due firing (a worker that was down catches up) and never fires one twice.
    """
    row = db.session.scalar(select(Timer).where(Timer.kind == SCHEDULE, Timer.process_key == definition.key))
    if definition.schedule is None:
        if row is not None:
            db.session.execute(delete(Timer).where(Timer.id == row.id))
        return
    due = parse(definition.schedule).next_after(now)
    if row is None:
        db.session.add(Timer(kind=SCHEDULE, process_key=definition.key, due_at=due))
    elif due < row.due_at:
        row.due_at = due
