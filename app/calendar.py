"""Time and the company's calendar, below everything else: the one clock the application reads, and
business deadlines in company time.

The company runs on Asia/Shanghai time and China's official calendar: public holidays, and the
weekend days that are made working days (调休). The `holidays` package keeps that calendar;
skipping only Saturdays and Sundays would get every Golden Week and Spring Festival wrong.
Times are stored in UTC; these functions take and return aware datetimes.
"""
from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

import holidays

COMPANY_TZ = ZoneInfo("Asia/Shanghai")
# Office hours counted by working_hours_after (local time).
WORKING_PERIODS = ((time(9, 0), time(12, 0)), (time(13, 0), time(18, 0)))


class Clock:
    """The current time as the application sees it. Tests and `--now` may freeze it."""

    def __init__(self) -> None:
        self._frozen: datetime | None = None

    def now(self) -> datetime:
        """The current time, timezone-aware, in UTC."""
        return self._frozen if self._frozen is not None else datetime.now(UTC)

    @property
    def frozen(self) -> datetime | None:
        """The moment the clock is frozen at, or None while it runs (to set it back after a change)."""
        return self._frozen

    def set(self, moment: datetime | None) -> None:
        """Freeze time at `moment` (aware), or unfreeze with None."""
        if moment is not None and moment.tzinfo is None:
            raise ValueError("the clock needs an aware datetime")
        self._frozen = moment.astimezone(UTC) if moment else None


clock = Clock()


class DeadlineError(ValueError):
    pass


@lru_cache(maxsize=16)
def _calendar(year: int) -> holidays.HolidayBase:
    return holidays.China(years=year)


def is_working_day(day: date) -> bool:
    return _calendar(day.year).is_working_day(day)


def local(moment: datetime) -> datetime:
    return moment.astimezone(COMPANY_TZ)


def local_text(moment: datetime | None, seconds: bool = False) -> str:
    """Company time as people read it, the same digits in every language."""
    if not moment:
        return ""
    return local(moment).strftime("%Y-%m-%d %H:%M:%S" if seconds else "%Y-%m-%d %H:%M")


def day_of_month(moment: datetime, day: int, months_ahead: int = 0) -> datetime:
    """00:00 company time on `day` of the month `months_ahead` after `moment`'s (local) month."""
    here = local(moment)
    month_index = here.year * 12 + here.month - 1 + months_ahead
    midnight = datetime(month_index // 12, month_index % 12 + 1, day, tzinfo=COMPANY_TZ)
    return midnight.astimezone(UTC)


def day_after_month(month: str, day: int) -> datetime:
    """00:00 company time on `day` of the month after `month` ("YYYY-MM"): the 2nd after October
    is November 2nd. Monthly deadlines of a case about one month are counted this way."""
    try:
        year, number = (int(part) for part in month.split("-"))
        first = datetime(year, number, 1, tzinfo=COMPANY_TZ)
    except (ValueError, AttributeError) as exc:
        raise DeadlineError(f"not a month (YYYY-MM): {month!r}") from exc
    return day_of_month(first, day, months_ahead=1)


def days_after(moment: datetime, days: int) -> datetime:
    """`days` calendar days after `moment` (a naive moment is company time)."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=COMPANY_TZ)
    return (moment + timedelta(days=days)).astimezone(UTC)


def day_start(day: date) -> datetime:
    """00:00 company time on `day`, in UTC."""
    return datetime.combine(day, time(0), COMPANY_TZ).astimezone(UTC)


def end_of_day(day: date) -> datetime:
    """A deadline "by that date": 00:00 company time on the next day."""
    return datetime.combine(day + timedelta(days=1), time(0), COMPANY_TZ).astimezone(UTC)


def next_day_of_month(moment: datetime, day: int) -> datetime:
    """The first 00:00 company time on `day` of a month that is strictly after `moment`."""
    this_month = day_of_month(moment, day)
    return this_month if this_month > moment else day_of_month(moment, day, months_ahead=1)


def working_days_after(moment: datetime, days: int) -> datetime:
    """The same local time of day, `days` working days after `moment`'s date."""
    here = local(moment)
    current, counted = here.date(), 0
    while counted < days:
        current += timedelta(days=1)
        counted += is_working_day(current)
    return datetime.combine(current, here.timetz()).astimezone(UTC)


def working_hours_after(moment: datetime, hours: float) -> datetime:
    """When `hours` of office time (WORKING_PERIODS on working days) have passed since `moment`."""
    remaining = timedelta(hours=hours)
    here = local(moment)
    day = here.date()
    while True:
        if is_working_day(day):
            for opens, closes in WORKING_PERIODS:
                start = max(datetime.combine(day, opens, COMPANY_TZ), here)
                end = datetime.combine(day, closes, COMPANY_TZ)
                if start >= end:
                    continue
                if end - start >= remaining:
                    return (start + remaining).astimezone(UTC)
                remaining -= end - start
        day += timedelta(days=1)
        here = datetime.combine(day, time(0), COMPANY_TZ)
