"""The demo (`flask seed-demo`, app/domain/demo.py) on any day: purchase records in each of the last six
calendar months, a star-rating sheet of last month's real purchases, and cases that tell a coherent story:
those the schedules opened say so everywhere the initiator is shown, and every deadline lies ahead or
has passed once."""
from collections import Counter
from datetime import date, datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from conftest import Browser, fire_due, get_customer, get_user
from flask_babel import force_locale
from sqlalchemy import delete, select

from app import db, labels
from app.calendar import clock
from app.domain import credit_rating, demo, org, star_rating
from app.domain.customers import Customer, PurchaseRecord
from app.domain.star_rating import StarRating
from app.engine.models import OPEN, Event, Instance, Task

SHANGHAI = ZoneInfo("Asia/Shanghai")
# Seeding days whose month follows a 30-day month, February (and a leap February), or that are a 31st
# (after a 30-day month): 31-day steps back from them skipped a month.
SEEDING_DAYS = [date(2031, 5, 1), date(2031, 3, 1), date(2032, 3, 1), date(2031, 12, 31), date(2031, 7, 31)]


def at(*args) -> datetime:
    """A moment in company time."""
    return datetime(*args, tzinfo=SHANGHAI)


def month_of(day: date, months_back: int) -> str:
    index = day.year * 12 + day.month - 1 - months_back
    return f"{index // 12:04d}-{index % 12 + 1:02d}"


@pytest.mark.parametrize("today", SEEDING_DAYS, ids=str)
def test_purchases_fall_in_every_one_of_the_last_six_calendar_months(today):
    for fields in demo.CUSTOMERS:
        records = demo._purchases(fields["code"], fields["monthly_demand_tons"], today)
        months = Counter(f"{r.ordered_on:%Y-%m}" for r in records)
        previous = {month_of(today, back) for back in range(1, demo.PURCHASE_MONTHS + 1)}
        assert previous <= set(months), (fields["code"], sorted(previous - set(months)))
        assert set(months) <= previous | {month_of(today, 0)}  # and this month so far
        assert all(r.ordered_on <= today and r.quantity_tons > 0 and r.amount_yuan > 0 for r in records)


@pytest.fixture
def seeded_purchases(ctx):
    """The records the demo makes on a given day; exactly those are removed afterwards."""
    ids = []

    def seed_on(today: date) -> dict[str, list[PurchaseRecord]]:
        made = {}
        for customer in db.session.scalars(select(Customer)):
            made[customer.code] = demo._purchases(customer.code, customer.monthly_demand_tons, today)
            for record in made[customer.code]:
                record.customer_id = customer.id
                db.session.add(record)
        db.session.commit()
        ids.extend(record.id for records in made.values() for record in records)
        return made
    yield seed_on
    db.session.rollback()
    db.session.execute(delete(PurchaseRecord).where(PurchaseRecord.id.in_(ids)))
    db.session.commit()


def suggestion(tons: Decimal) -> int:
    """processes/star_suggestion.dmn: under 100 t one star, 100–500 two, 500–1000 three, 1000 and more four."""
    return 1 if tons < 100 else 2 if tons < 500 else 3 if tons < 1000 else 4


@pytest.mark.parametrize("today", [date(2031, 5, 1), date(2031, 3, 1), date(2031, 12, 31)], ids=str)
def test_a_demo_seeded_that_day_rates_last_months_real_purchases(engine, seeded_purchases, today):
    made = seeded_purchases(today)
    clock.set(datetime(today.year, today.month, today.day, 9, 0, tzinfo=SHANGHAI))
    demo.seed_cases(engine)

    month = month_of(today, 1)
    opened = db.session.scalars(select(Instance).where(Instance.process_key == star_rating.PROCESS_KEY)).all()
    assert sorted(i.unique_key for i in opened) == [f"star_rating:east:{month}", f"star_rating:north:{month}"]
    rows = db.session.scalars(select(StarRating).where(StarRating.month == month)).all()
    assert len(rows) == len(demo.CUSTOMERS)
    for row in rows:
        bought = [r for r in made[row.customer.code] if f"{r.ordered_on:%Y-%m}" == month]
        tons, amount = sum(r.quantity_tons for r in bought), sum(r.amount_yuan for r in bought)
        assert (row.volume_tons, row.amount_yuan) == (tons, amount) and tons > 0, row.customer.code
        assert row.suggested_stars == suggestion(tons), row.customer.code
    assert len({row.suggested_stars for row in rows}) > 1  # the demand differs by customer, so do the stars

    # Seeded on the 1st, the branch has until the 2nd: nothing has passed yet.
    fired = db.session.scalars(select(Event).where(Event.type == "timer_fired",
                                                   Event.instance_id.in_([i.id for i in opened]))).all()
    assert len(fired) == (0 if today.day == 1 else len(opened))


def events(instance: Instance, event_type: str) -> list[Event]:
    return list(db.session.scalars(select(Event).where(Event.instance_id == instance.id, Event.type == event_type)
                                   .order_by(Event.id)))


def open_tasks(instance: Instance) -> dict[str, Task]:
    return {t.spec_id: t for t in db.session.scalars(
        select(Task).where(Task.instance_id == instance.id, Task.state == OPEN))}


def test_a_fresh_demo_tells_a_coherent_story(engine):
    now = at(2026, 12, 2, 10, 30)
    clock.set(now)
    # the star ratings, the credit ratings, the classes of each branch, the requests, a complaint, a
    # registration and the leads
    assert demo.seed_cases(engine) == (len(demo.CUSTOMERS) + 2 + 2 + len(demo.DEMO_CASES) + 1 + 1
                                       + len(demo.DEMO_LEADS))
    assert clock.now() == now  # the catch-up gave the clock back as it found it
    cases = db.session.scalars(select(Instance).order_by(Instance.id)).all()

    # The schedules opened November's star rating of every branch on 1 December, and the third quarter's
    # credit rating of every customer on 1 October: no person, at the firing.
    stars = [i for i in cases if i.process_key == star_rating.PROCESS_KEY]
    assert [i.unique_key for i in stars] == ["star_rating:east:2026-11", "star_rating:north:2026-11"]
    credits = [i for i in cases if i.process_key == credit_rating.PROCESS_KEY]
    assert {i.unique_key for i in credits} == {f"credit_rating:{c['code']}:2026-Q3" for c in demo.CUSTOMERS}
    for instance, opened_at in [*((i, at(2026, 12, 1, 0, 0, 1)) for i in stars),
                                *((i, at(2026, 10, 1, 0, 0, 1)) for i in credits)]:
        (started,) = events(instance, "instance_started")
        assert (instance.started_by_id, instance.started_at, started.data["scheduled"]) == (None, opened_at, True)

    # Every deadline passed once, at its time; no task is reminded twice of one.
    for instance in cases:
        fired = [e.data["spec"] for e in events(instance, "timer_fired")]
        assert len(fired) == len(set(fired)), (instance.process_key, fired)
        reminded = [t["task_id"] for e in events(instance, "reminder_sent") for t in e.data["tasks"]]
        assert len(reminded) == len(set(reminded)), (instance.process_key, reminded)
    east = stars[0]
    (fired,) = events(east, "timer_fired")
    assert (fired.at, fired.data["steps"]) == (at(2026, 12, 2, 0, 0, 1), ["分公司初评"])
    (reminder,) = events(east, "reminder_sent")
    assert [t["task_id"] for t in reminder.data["tasks"]] == [open_tasks(east)["initial_rating"].id]
    assert open_tasks(east)["initial_rating_overdue_notice"].assignee.username == "mgr_east"
    # The credit rating's two steps share the 15 October: each step's timer says which it watches, and
    # one reminder names both.
    rating = next(i for i in credits if i.customer_id == get_customer("HD-E1-002").id)
    assert sorted(step for e in events(rating, "timer_fired") for step in e.data["steps"]) == [
        "计划财务部评定财务指标", "销售部评定非财务指标"]
    (reminder,) = events(rating, "reminder_sent")
    scoring = open_tasks(rating)
    assert reminder.at == at(2026, 10, 15, 0, 0, 1)
    assert sorted(t["task_id"] for t in reminder.data["tasks"]) == sorted(
        [scoring["score_nonfinancial"].id, scoring["score_financial"].id])
    # What people filed today waits for its deadlines.
    for instance in cases:
        if instance.started_by_id is not None:
            assert instance.started_at == now and events(instance, "timer_fired") == []

    # The timer worker `make demo` starts finds nothing to do again.
    assert engine.timers.next_due_at() > now
    assert fire_due(engine, at(2026, 12, 2, 10, 31)) == 0


def test_the_pages_name_the_schedule_as_initiator(app):
    # Seeded in an application context of its own: the pages' requests then have theirs (who is signed in).
    with app.app_context():
        clock.set(at(2026, 12, 2, 10, 30))
        demo.seed_cases(app.extensions["engine"])
        east = db.session.scalar(select(Instance).where(Instance.unique_key == "star_rating:east:2026-11"))
        rating = db.session.scalar(select(Instance).where(
            Instance.unique_key == f"credit_rating:HD-E1-002:{credit_rating.previous_quarter(clock.now())}"))
        east_id, sheet_id = east.id, open_tasks(east)["initial_rating"].id
        rating_id, scoring_id = rating.id, open_tasks(rating)["score_financial"].id
        with app.test_request_context():  # the words in the pages' language, whether the catalogue has them yet
            monthly, quarterly = (labels.opened_by_schedule(i.definition) for i in (east, rating))
        db.session.commit()

    def seen(username: str, url: str) -> str:
        browser = Browser(app)
        browser.login(username)
        page = browser.client.get(url)
        assert page.status_code == 200, url
        return page.get_data(as_text=True)

    for username, url, words in [("spec_east", f"/cases/{east_id}", monthly),  # the case and its history
                                 ("spec_east", "/inbox", monthly),
                                 ("spec_east", f"/tasks/{sheet_id}", monthly),
                                 ("fin_li", f"/tasks/{scoring_id}", quarterly),
                                 ("auditor", f"/compliance/cases/{rating_id}", quarterly),
                                 ("auditor", "/compliance/cases", quarterly)]:
        html = seen(username, url)
        assert words in html, (username, url)
        assert "系统管理员" not in html, (username, url)
    case_page = seen("spec_east", f"/cases/{east_id}")
    assert case_page.count(monthly) == 2  # who opened it, and the history's start
    # Its deadline passed on the 2nd: the history says 已逾期, as the step's badge does, in its red.
    assert "timeline-item event-timer_fired overdue" in case_page and "期限已到" not in case_page
    assert "已逾期" in case_page
    reviewed = seen("auditor", f"/compliance/cases/{east_id}")
    assert "华东分公司" in reviewed and ">east<" not in reviewed  # the branch by its name, not its code
    listed = seen("auditor", "/compliance/cases")
    assert "已升级" in listed and "期限已到" not in listed  # escalated: another state, another word
    assert quarterly in seen("auditor", "/compliance/cases.csv")

    with app.app_context():
        get_user("spec_east").locale = "en"
        db.session.commit()
    assert "Opened by schedule (day 1 of every month)" in seen("spec_east", f"/cases/{east_id}")


@pytest.mark.parametrize(("rule", "words"), [
    ("FREQ=MONTHLY;BYMONTHDAY=1;BYHOUR=0;BYMINUTE=0", "day 1 of every month"),
    ("FREQ=YEARLY;BYMONTH=1,4,7,10;BYMONTHDAY=1;BYHOUR=0;BYMINUTE=0", "the first day of every quarter"),
    ("FREQ=WEEKLY;BYDAY=MO;BYHOUR=8;BYMINUTE=0", "every Monday 08:00"),
    ("RRULE:FREQ=MONTHLY;BYMONTHDAY=-1;BYHOUR=18;BYMINUTE=0", "the last day of every month 18:00"),
    ("FREQ=DAILY;BYHOUR=7;BYMINUTE=30", "every day 07:30"),
    ("FREQ=MONTHLY;BYMONTHDAY=25;BYHOUR=9;BYMINUTE=0;UNTIL=20301231T000000Z", "day 25 of every month 09:00"),
    ("FREQ=MONTHLY;INTERVAL=2;BYMONTHDAY=1", None),  # said in words of its own, not as "every month"
    ("FREQ=MONTHLY;BYDAY=1MO", None),
    ("FREQ=YEARLY;BYMONTH=3;BYMONTHDAY=1", None),
    (None, None),
])
def test_a_schedule_in_words(ctx, rule, words):
    with ctx.test_request_context(), force_locale("en"):
        assert labels.schedule_words(rule) == words



def test_last_months_orders_come_in_as_the_branchs_import(ctx):
    """`seed` keeps the last full month of orders apart and imports them, one file per branch, by its
    business department, through the import (what the purchases page shows as an import)."""
    from app.domain.customers import PurchaseImport
    from app.errors import Conflict

    today, now = date(2031, 5, 20), at(2031, 5, 20, 9, 0)
    east = db.session.scalar(select(org.OrgUnit).where(org.OrgUnit.code == "east"))
    orders = [(code, r) for code in ("HD-E1-001", "HD-E2-001")
              for r in demo._purchases(code, get_customer(code).monthly_demand_tons, today)
              if demo._last_month(r.ordered_on, today)]
    try:
        demo._import(east, orders, today, now)
        (batch,) = db.session.scalars(select(PurchaseImport).where(PurchaseImport.imported_at == now)).all()
        assert (batch.imported_by.username, batch.filename, batch.rows) == (
            "biz_east", "销售系统订单-华东分公司-2031-04.csv", len(orders))
        records = db.session.scalars(select(PurchaseRecord).where(PurchaseRecord.import_id == batch.id)).all()
        assert sorted((r.customer.code, r.ordered_on, r.quantity_tons, r.on_time) for r in records) == sorted(
            (code, r.ordered_on, r.quantity_tons, r.on_time) for code, r in orders)
        with pytest.raises(Conflict):  # the same export twice adds nothing
            demo._import(east, orders, today, now)
    finally:
        db.session.rollback()
        db.session.execute(delete(PurchaseRecord).where(PurchaseRecord.ordered_on >= date(2031, 1, 1)))
        db.session.commit()
