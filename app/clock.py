"""The one clock the application reads. Tests and CLI commands may set "now"."""
from datetime import UTC, datetime


class Clock:
    def __init__(self) -> None:
        self._frozen: datetime | None = None

    def now(self) -> datetime:
        """The current time, timezone-aware, in UTC."""
        return self._frozen if self._frozen is not None else datetime.now(UTC)

    def set(self, moment: datetime | None) -> None:
        """Freeze time at `moment` (aware), or unfreeze with None."""
        if moment is not None and moment.tzinfo is None:
            raise ValueError("the clock needs an aware datetime")
        self._frozen = moment.astimezone(UTC) if moment else None


clock = Clock()
