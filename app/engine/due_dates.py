"""Due times as a BPMN writes them: an ISO 8601 duration from a moment, or an ISO 8601 date-time."""
from __future__ import annotations

from datetime import UTC, datetime

from SpiffWorkflow.bpmn.specs.event_definitions.timer import TimerEventDefinition

from app.calendar import DeadlineError


def due_at(expression: str, start: datetime) -> datetime:
    """An ISO 8601 duration counted from `start`, or an ISO 8601 date-time with an offset."""
    text = expression.strip()
    try:
        if text.upper().startswith("P"):
            parsed = TimerEventDefinition.parse_iso_duration(text)
            return start + TimerEventDefinition.get_timedelta_from_start(parsed, start)
        moment = datetime.fromisoformat(text)
    except Exception as exc:  # SpiffWorkflow raises a bare Exception for bad durations
        raise DeadlineError(f"not an ISO 8601 duration or date-time: {expression!r}") from exc
    if moment.tzinfo is None:
        raise DeadlineError(f"a date-time needs an offset or Z: {expression!r}")
    return moment.astimezone(UTC)


def is_literal(expression: str) -> bool:
    """Whether a due date is written as ISO 8601 itself rather than as an expression giving one."""
    try:
        due_at(expression, datetime.now(UTC))
    except DeadlineError:
        return False
    return True
