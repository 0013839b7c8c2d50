"""SpiffWorkflow reads the time with `datetime.now()` inside its timer module and has no clock hook.
Point that module at the application clock, so that the engine, its timers and the workers that
wake them agree on "now" (and tests and `--now` can set it)."""
from datetime import datetime

from SpiffWorkflow.bpmn.specs.event_definitions import timer as spiff_timer

from app.calendar import clock


class _ApplicationClockDatetime(datetime):
    @classmethod
    def now(cls, tz=None):
        moment = clock.now()
        return moment.astimezone(tz) if tz is not None else moment.astimezone().replace(tzinfo=None)


def install() -> None:
    spiff_timer.datetime = _ApplicationClockDatetime
