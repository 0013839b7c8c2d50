"""Processes the application opens cases of by itself, on a calendar.

A BPMN timer *start* event is the wrong tool for "on the 1st of every month": SpiffWorkflow keeps
one instance alive for all firings, and `P1M` becomes a fixed 30 days. Instead a process declares
its schedule as a property, visible to administrators in the modeler: an iCalendar recurrence rule
(RFC 5545 RRULE, as calendars and schedulers write them; `RRULE:` in front is allowed), read by
`dateutil.rrule`:

    <bpmn:process id="star_rating" …>
      <bpmn:extensionElements><camunda:properties>
        <camunda:property name="schedule" value="FREQ=MONTHLY;BYMONTHDAY=1;BYHOUR=0;BYMINUTE=0" />
      </camunda:properties></bpmn:extensionElements>

    FREQ=YEARLY;BYMONTH=1,4,7,10;BYMONTHDAY=1;BYHOUR=0;BYMINUTE=0   each quarter, on its 1st at 00:00
    FREQ=MONTHLY;BYMONTHDAY=-1;BYHOUR=18;BYMINUTE=0                 the last day of every month, 18:00
    FREQ=WEEKLY;BYDAY=MO;BYHOUR=8;BYMINUTE=0                        every Monday at 08:00

The calendar is the company's: the hours are company time (Asia/Shanghai), and the rule starts on
1 January 2000 at 00:00 there (ANCHOR): INTERVAL counts from it and what a rule leaves out comes
from it (no time: 00:00; a monthly rule without a day: the 1st). A schedule fires at most once a
day (each firing opens cases for the whole company) and until its property is taken out, or until
its UNTIL (in UTC, `…Z`). Deploying refuses a value dateutil cannot read, DTSTART (the start is
ours), COUNT (counted from 2000 it means nothing), firings more often than daily, and a rule that
never fires (BYMONTH=2;BYMONTHDAY=31).

The next firing is one row in the wake-up table (kind `schedule`, at most one per process), fired by
the same workers as every timer, each case in a transaction of its own (engine.timers); the flow says
what cases a firing opens (Process.scheduled), each with a unique key naming the firing's period and
its subject, so that a firing resumed after a crash opens only the cases still missing.
"""
from __future__ import annotations

from datetime import UTC, datetime
from functools import lru_cache

from dateutil.rrule import rrule, rrulestr
from lxml import etree
from sqlalchemy import delete, select

from app import db
from app.calendar import COMPANY_TZ, local
from app.engine.models import SCHEDULE, ProcessDefinition, Timer

_PROPERTY = ("./bpmn:extensionElements/camunda:properties/camunda:property[@name='schedule']")

ANCHOR = datetime(2000, 1, 1, tzinfo=COMPANY_TZ)
AT_MOST_DAILY = ("YEARLY", "MONTHLY", "WEEKLY", "DAILY")
EXAMPLES = ("'FREQ=MONTHLY;BYMONTHDAY=1;BYHOUR=0;BYMINUTE=0' for the 1st of every month at 00:00, "
            "'FREQ=WEEKLY;BYDAY=MO;BYHOUR=8;BYMINUTE=0' for every Monday at 08:00")


class ScheduleError(ValueError):
    pass


class Schedule:
    """A process's schedule: its RRULE in company time from ANCHOR."""

    def __init__(self, text: str, recurrence: rrule):
        self.text, self.recurrence = text, recurrence

    def next_after(self, moment: datetime) -> datetime | None:
        """The first firing strictly after `moment` (aware), in UTC; None once an UNTIL has passed."""
        if moment.tzinfo is None:
            raise ValueError("next_after needs an aware datetime")
        found = self.recurrence.after(local(moment))
        return found.astimezone(UTC) if found else None

    def last_before(self, moment: datetime) -> datetime | None:
        """The last firing strictly before `moment` (aware), in UTC; None if there was none."""
        if moment.tzinfo is None:
            raise ValueError("last_before needs an aware datetime")
        found = self.recurrence.before(local(moment))
        return found.astimezone(UTC) if found else None


@lru_cache(maxsize=64)
def parse(text: str) -> Schedule:
    """The schedule a `schedule` property declares; ScheduleError, in words for the process's
    administrator, when the application would not fire it. Cached: a rule's firings are worked out
    once per process (dateutil keeps those it found)."""
    body = _body(text)
    parts = rule_parts(text)
    if "DTSTART" in body.upper():
        raise _refused(text, "leave DTSTART out: a schedule starts on 1 January 2000 in company time "
                             "(Asia/Shanghai); give the time of day with BYHOUR and BYMINUTE")
    if "COUNT" in parts:
        raise _refused(text, "leave COUNT out: a schedule fires until its property is taken out, or until "
                             "an UNTIL")
    if (parts.get("FREQ") in ("HOURLY", "MINUTELY", "SECONDLY") or parts.get("BYSECOND", "0") != "0"
            or "," in parts.get("BYHOUR", "") + parts.get("BYMINUTE", "")):
        raise _refused(text, "a schedule fires at most once a day (each firing opens cases for the whole "
                             f"company): FREQ {', '.join(AT_MOST_DAILY)}, one BYHOUR and one BYMINUTE")
    try:
        recurrence = rrulestr(body, dtstart=ANCHOR, cache=True)
    except (ValueError, TypeError, KeyError) as exc:
        raise _refused(text, f"not an iCalendar RRULE ({exc}); write it in company time (Asia/Shanghai), "
                             f"e.g. {EXAMPLES}") from None
    if recurrence.after(ANCHOR, inc=True) is None:
        raise _refused(text, "this rule never fires (no day of the calendar matches it, as with "
                             "BYMONTH=2;BYMONTHDAY=31)")
    return Schedule(text, recurrence)


def _body(text: str) -> str:
    body = text.strip()
    return body[6:] if body[:6].upper() == "RRULE:" else body


def rule_parts(text: str) -> dict[str, str]:
    """A schedule's rule as its parts, names and values upper-case: {"FREQ": "MONTHLY", "BYMONTHDAY": "1"}."""
    return {key.strip().upper(): value.strip().upper()
            for key, _, value in (part.partition("=") for part in _body(text).split(";") if part.strip())}


def _refused(text: str, why: str) -> ScheduleError:
    return ScheduleError(f"schedule {text!r}: {why}")


def declared(process: etree._Element, namespaces: dict) -> str | None:
    """The `schedule` property of a BPMN process element, if it has one."""
    found = process.xpath(_PROPERTY, namespaces=namespaces)
    return found[0].get("value").strip() if found and found[0].get("value") else None


def sync(definition: ProcessDefinition, now: datetime) -> None:
    """Make the process's wake-up match its newest version: one row if it has a schedule that fires
    again, none if not.

    An existing row keeps its time unless the new schedule fires earlier: a redeploy never skips a
    due firing (a worker that was down catches up) and never fires one twice. A firing under way (a
    worker holds it, or retries it) is left to finish; it moves the row on by the newest version.
    """
    row = db.session.scalar(select(Timer).where(Timer.kind == SCHEDULE, Timer.process_key == definition.key))
    if definition.schedule is None:
        if row is not None:
            db.session.execute(delete(Timer).where(Timer.id == row.id))
        return
    due = parse(definition.schedule).next_after(now)
    if due is None:  # its UNTIL has passed; a firing still due stays due
        return
    if row is None:
        db.session.add(Timer(kind=SCHEDULE, process_key=definition.key, due_at=due))
    elif row.firing_at is None and due < row.due_at:
        row.due_at = due
