"""Due times written in BPMN: an ISO 8601 duration counted from a moment, or an ISO 8601 date-time."""
from datetime import UTC, datetime

from SpiffWorkflow.bpmn.specs.event_definitions.timer import TimerEventDefinition


class DeadlineError(ValueError):
    pass


def due_at(expression: str, start: datetime) -> datetime:
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
