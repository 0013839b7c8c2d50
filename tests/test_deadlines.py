"""Business deadlines on China's official calendar, in Asia/Shanghai time."""
from datetime import UTC, datetime

import pytest

from app.calendar import COMPANY_TZ as CST
from app.calendar import (
    DeadlineError,
    day_of_month,
    is_working_day,
    next_day_of_month,
    working_days_after,
    working_hours_after,
)
from app.engine.due_dates import due_at


def cst(*args) -> datetime:
    return datetime(*args, tzinfo=CST)


def test_the_calendar_knows_golden_week_and_swapped_weekends():
    assert not is_working_day(cst(2025, 10, 3).date())  # National Day holiday, a Friday
    assert is_working_day(cst(2025, 9, 28).date())  # a Sunday made a working day
    assert is_working_day(cst(2025, 10, 11).date())  # a Saturday made a working day
    assert not is_working_day(cst(2025, 10, 12).date())  # an ordinary Sunday


def test_the_second_of_next_month_is_midnight_in_shanghai_not_utc():
    late_on_the_last_day = cst(2026, 1, 31, 23, 30)
    assert day_of_month(late_on_the_last_day, 2, months_ahead=1) == cst(2026, 2, 2)
    assert day_of_month(late_on_the_last_day, 2, months_ahead=1) == datetime(2026, 2, 1, 16, 0, tzinfo=UTC)
    # 2026-01-31 17:00 UTC is already February 1st in Shanghai.
    assert next_day_of_month(datetime(2026, 1, 31, 17, 0, tzinfo=UTC), 1) == cst(2026, 3, 1)
    assert next_day_of_month(cst(2026, 12, 15), 1) == cst(2027, 1, 1)


def test_working_days_skip_the_holiday_and_count_the_swapped_saturday():
    # Tue 30 Sep 2025 + 2 working days: 1–8 Oct are holidays, 9 Oct is the first working day,
    # 10 Oct the second.
    assert working_days_after(cst(2025, 9, 30, 10, 0), 2) == cst(2025, 10, 10, 10, 0)
    # Fri 10 Oct + 1: Saturday 11 Oct is a working day.
    assert working_days_after(cst(2025, 10, 10, 15, 0), 1) == cst(2025, 10, 11, 15, 0)


def test_working_hours_skip_lunch_nights_and_holidays():
    assert working_hours_after(cst(2026, 3, 3, 11, 0), 2) == cst(2026, 3, 3, 14, 0)  # across lunch
    assert working_hours_after(cst(2026, 3, 3, 17, 0), 4) == cst(2026, 3, 4, 12, 0)  # overnight
    assert working_hours_after(cst(2026, 3, 6, 20, 0), 1) == cst(2026, 3, 9, 10, 0)  # Fri night → Mon
    assert working_hours_after(cst(2025, 9, 30, 17, 0), 4) == cst(2025, 10, 9, 12, 0)  # Golden Week


def test_iso_due_dates():
    start = datetime(2026, 3, 1, 0, 0, tzinfo=UTC)
    assert due_at("P3D", start) == datetime(2026, 3, 4, tzinfo=UTC)
    assert due_at("PT4H", start) == datetime(2026, 3, 1, 4, tzinfo=UTC)
    assert due_at("2026-03-02T00:00:00+08:00", start) == datetime(2026, 3, 1, 16, tzinfo=UTC)
    for bad in ("P3X", "tomorrow", "2026-03-02T00:00:00"):
        with pytest.raises(DeadlineError):
            due_at(bad, start)
