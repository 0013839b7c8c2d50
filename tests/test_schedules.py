"""Schedules as iCalendar RRULEs in company time (app.engine.schedules): the next firing across month
ends, February, quarters and weeks, always strictly after the moment asked about, and the values a
deploy refuses."""
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from app.engine import schedules
from app.engine.schedules import ScheduleError, parse

SHANGHAI = ZoneInfo("Asia/Shanghai")
MONTHLY = "FREQ=MONTHLY;BYMONTHDAY=1;BYHOUR=0;BYMINUTE=0"
QUARTERLY = "FREQ=YEARLY;BYMONTH=1,4,7,10;BYMONTHDAY=1;BYHOUR=0;BYMINUTE=0"
WEEKLY = "FREQ=WEEKLY;BYDAY=MO;BYHOUR=8;BYMINUTE=0"


def at(*args) -> datetime:
    """A moment in company time."""
    return datetime(*args, tzinfo=SHANGHAI)


def firings(text: str, moment: datetime, count: int) -> list[datetime]:
    rule, found = parse(text), []
    for _ in range(count):
        moment = rule.next_after(moment)
        found.append(moment)
    return found


def test_the_1st_of_every_month_at_midnight_in_shanghai_is_16_00_utc_the_day_before():
    due = parse(MONTHLY).next_after(at(2027, 1, 15, 12, 0))
    assert due == at(2027, 2, 1) and due.tzinfo is UTC
    assert due == datetime(2027, 1, 31, 16, 0, tzinfo=UTC)  # +08:00, no summer time


def test_the_next_firing_is_strictly_after_the_moment():
    rule = parse(MONTHLY)
    assert rule.next_after(at(2027, 2, 1)) == at(2027, 3, 1)  # exactly at a firing: the next one
    assert rule.next_after(at(2027, 2, 1) - timedelta(microseconds=1)) == at(2027, 2, 1)
    assert rule.next_after(at(2027, 2, 1, 0, 0, 1)) == at(2027, 3, 1)
    weekly = parse(WEEKLY)
    assert weekly.next_after(at(2027, 3, 1, 8, 0)) == at(2027, 3, 8, 8, 0)  # a Monday at 08:00


def test_the_moment_may_be_in_any_time_zone():
    rule = parse("FREQ=MONTHLY;BYMONTHDAY=25;BYHOUR=9;BYMINUTE=0")
    in_utc = datetime(2027, 1, 25, 0, 59, tzinfo=UTC)  # 08:59 in Shanghai
    in_new_york = in_utc.astimezone(ZoneInfo("America/New_York"))
    assert rule.next_after(in_utc) == rule.next_after(in_new_york) == at(2027, 1, 25, 9, 0)
    assert rule.next_after(in_utc + timedelta(minutes=1)) == at(2027, 2, 25, 9, 0)  # 09:00 itself is past
    with pytest.raises(ValueError):
        rule.next_after(datetime(2027, 1, 1))  # naive


def test_month_ends_february_and_the_31st():
    assert firings(MONTHLY, at(2027, 1, 31, 23, 59), 3) == [at(2027, 2, 1), at(2027, 3, 1), at(2027, 4, 1)]
    # The 31st: only the months that have one.
    assert firings("FREQ=MONTHLY;BYMONTHDAY=31;BYHOUR=18;BYMINUTE=0", at(2027, 1, 31, 18, 0), 3) == [
        at(2027, 3, 31, 18, 0), at(2027, 5, 31, 18, 0), at(2027, 7, 31, 18, 0)]
    # The last day of the month, 28th, 29th (a leap year), 31st, 30th.
    assert firings("FREQ=MONTHLY;BYMONTHDAY=-1;BYHOUR=18;BYMINUTE=0", at(2028, 1, 31, 18, 0), 3) == [
        at(2028, 2, 29, 18, 0), at(2028, 3, 31, 18, 0), at(2028, 4, 30, 18, 0)]
    assert parse("FREQ=MONTHLY;BYMONTHDAY=-1;BYHOUR=18;BYMINUTE=0").next_after(at(2027, 2, 1)) == at(2027, 2, 28, 18, 0)
    # 29 February, every four years.
    assert firings("FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=29;BYHOUR=0;BYMINUTE=0", at(2027, 1, 1), 2) == [
        at(2028, 2, 29), at(2032, 2, 29)]


def test_the_year_end_in_company_time():
    # 31 December 16:00 UTC is already 1 January in Shanghai.
    assert parse(MONTHLY).next_after(datetime(2027, 12, 31, 15, 59, tzinfo=UTC)) == at(2028, 1, 1)
    assert parse(MONTHLY).next_after(datetime(2027, 12, 31, 16, 0, tzinfo=UTC)) == at(2028, 2, 1)


@pytest.mark.parametrize("text", [QUARTERLY, "FREQ=MONTHLY;INTERVAL=3;BYMONTHDAY=1;BYHOUR=0;BYMINUTE=0"])
def test_each_quarter_on_its_1st_whatever_the_month_asked_from(text):
    rule = parse(text)
    assert rule.next_after(at(2027, 1, 1)) == at(2027, 4, 1)  # at the quarter's start: the next quarter
    assert rule.next_after(at(2027, 2, 14, 10, 0)) == at(2027, 4, 1)
    assert rule.next_after(at(2027, 3, 31, 23, 59)) == at(2027, 4, 1)
    assert rule.next_after(at(2027, 5, 1)) == at(2027, 7, 1)
    assert rule.next_after(at(2027, 12, 1)) == at(2028, 1, 1)
    assert firings(text, at(2027, 10, 1), 4) == [at(2028, 1, 1), at(2028, 4, 1), at(2028, 7, 1), at(2028, 10, 1)]


def test_every_monday_at_8():
    rule = parse(WEEKLY)
    assert rule.next_after(at(2027, 3, 3, 12, 0)) == at(2027, 3, 8, 8, 0)  # a Wednesday: the next Monday
    assert rule.next_after(at(2027, 3, 8, 7, 59)) == at(2027, 3, 8, 8, 0)  # Monday morning, before 08:00
    assert rule.next_after(at(2027, 3, 8, 8, 1)) == at(2027, 3, 15, 8, 0)
    # Across a month and a year end.
    assert firings(WEEKLY, at(2027, 12, 25), 3) == [at(2027, 12, 27, 8, 0), at(2028, 1, 3, 8, 0),
                                                    at(2028, 1, 10, 8, 0)]
    assert all(due.astimezone(SHANGHAI).weekday() == 0 for due in firings(WEEKLY, at(2027, 1, 1), 60))


def test_shanghai_is_08_00_all_year():
    """No summer time: the firings keep their offset and their hour in UTC, January as July."""
    for due in firings(MONTHLY, at(2027, 1, 1), 12) + firings(WEEKLY, at(2027, 1, 1), 52):
        assert due.astimezone(SHANGHAI).utcoffset() == timedelta(hours=8)
    assert {due.hour for due in firings(WEEKLY, at(2027, 1, 1), 52)} == {0}  # 08:00 is 00:00 UTC
    assert {due.hour for due in firings(MONTHLY, at(2027, 1, 1), 12)} == {16}


def test_what_a_rule_leaves_out_comes_from_the_company_calendar():
    """The start is ours, 1 January 2000 00:00 company time: an RRULE without a time fires at 00:00,
    a monthly one without a day on the 1st, and an INTERVAL counts from January 2000."""
    assert parse("FREQ=MONTHLY").next_after(at(2027, 5, 5)) == at(2027, 6, 1)
    assert parse("RRULE:FREQ=DAILY;BYHOUR=9").next_after(at(2027, 5, 5, 9, 0)) == at(2027, 5, 6, 9, 0)
    assert parse("freq=weekly;byday=fr;byhour=17;byminute=30").next_after(at(2027, 5, 5)) == at(2027, 5, 7, 17, 30)
    assert parse("FREQ=MONTHLY;INTERVAL=6;BYMONTHDAY=15").next_after(at(2027, 2, 1)) == at(2027, 7, 15)


def test_an_interval_counts_from_2000_however_far_from_it():
    biweekly = parse("FREQ=WEEKLY;INTERVAL=2;BYDAY=MO;BYHOUR=8;BYMINUTE=0")
    monday = biweekly.next_after(at(2090, 6, 1))
    assert biweekly.next_after(monday) == monday + timedelta(weeks=2)
    # Weeks count from the one holding 1 January 2000 (from Monday 27 December): its Mondays are every
    # other one from 10 January.
    assert (monday - at(2000, 1, 10, 8, 0)) % timedelta(weeks=2) == timedelta(0)
    every_third_day = parse("FREQ=DAILY;INTERVAL=3;BYHOUR=6;BYMINUTE=0")
    assert (every_third_day.next_after(at(2041, 7, 7)) - at(2000, 1, 1, 6, 0)) % timedelta(days=3) == timedelta(0)


def test_a_schedule_with_an_until_stops_after_it():
    rule = parse("FREQ=MONTHLY;BYMONTHDAY=1;BYHOUR=0;BYMINUTE=0;UNTIL=20270601T000000Z")
    assert rule.next_after(at(2027, 5, 15)) == at(2027, 6, 1)
    assert rule.next_after(at(2027, 6, 1)) is None


@pytest.mark.parametrize("text, words", [
    ("every month", "not an iCalendar RRULE"),
    ("monthly on day 1 at 00:00", "not an iCalendar RRULE"),
    ("BYMONTHDAY=1;BYHOUR=0", "not an iCalendar RRULE"),
    ("FREQ=FORTNIGHTLY", "not an iCalendar RRULE"),
    ("FREQ=MONTHLY;RDATE=20270101", "not an iCalendar RRULE"),
    ("FREQ=DAILY;BYHOUR=24", "not an iCalendar RRULE"),
    ("FREQ=MONTHLY;BYDAY=XX", "not an iCalendar RRULE"),
    ("FREQ=MONTHLY;BYMONTHDAY=1;UNTIL=20301231", "UTC"),  # an UNTIL in company time is ambiguous
    ("FREQ=HOURLY", "at most once a day"),
    ("FREQ=MINUTELY", "at most once a day"),
    ("FREQ=SECONDLY", "at most once a day"),
    ("FREQ=DAILY;BYHOUR=8,14", "at most once a day"),
    ("FREQ=DAILY;BYMINUTE=0,30", "at most once a day"),
    ("FREQ=DAILY;BYSECOND=30", "at most once a day"),
    ("FREQ=MONTHLY;BYMONTHDAY=32", "never fires"),
    ("FREQ=MONTHLY;BYMONTH=2;BYMONTHDAY=31", "never fires"),
    ("FREQ=MONTHLY;BYMONTH=4,6,9,11;BYMONTHDAY=31", "never fires"),
    ("FREQ=DAILY;BYMONTH=2;BYMONTHDAY=30", "never fires"),
    ("FREQ=DAILY;INTERVAL=7;BYDAY=MO", "never fires"),  # 1 January 2000 was a Saturday
    ("DTSTART:20270101T000000Z\nRRULE:FREQ=MONTHLY", "leave DTSTART out"),
    ("FREQ=MONTHLY;DTSTART=20270101T000000", "leave DTSTART out"),
    ("FREQ=MONTHLY;COUNT=12", "leave COUNT out"),
])
def test_a_value_the_application_cannot_fire_is_refused_in_words(text, words):
    with pytest.raises(ScheduleError, match=words) as refused:
        parse(text)
    assert str(refused.value).startswith(f"schedule {text!r}: ")


def test_the_refusal_of_a_value_that_is_no_rrule_shows_how_to_write_one():
    with pytest.raises(ScheduleError) as refused:
        parse("every month")
    assert "FREQ=MONTHLY;BYMONTHDAY=1;BYHOUR=0;BYMINUTE=0" in str(refused.value)
    assert "Asia/Shanghai" in str(refused.value)


def test_the_processes_schedules_read_as_before():
    """The values in processes/ fire on their days, in company time."""
    moment = datetime(2027, 3, 14, 5, 0, tzinfo=UTC)
    assert parse("FREQ=MONTHLY;BYMONTHDAY=25;BYHOUR=9;BYMINUTE=0").next_after(moment) == at(2027, 3, 25, 9, 0)
    assert parse("FREQ=MONTHLY;BYMONTHDAY=3;BYHOUR=8;BYMINUTE=0").next_after(moment) == at(2027, 4, 3, 8, 0)
    assert parse("FREQ=MONTHLY;BYMONTHDAY=1;BYHOUR=8;BYMINUTE=0").next_after(moment) == at(2027, 4, 1, 8, 0)
    assert parse(QUARTERLY).next_after(moment) == at(2027, 4, 1)
    assert parse(WEEKLY).next_after(moment) == at(2027, 3, 15, 8, 0)
    assert schedules.ANCHOR == at(2000, 1, 1)
