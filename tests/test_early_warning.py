"""Early warning (seed 004): urgent reports go by the customer's tier, the receiver sets out measures and
follows them up on the day he names; the computed indicators; the monthly schedule opens the urgent
reports and every branch's routine report."""
from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from conftest import fire_due, get_customer, get_user
from flask import current_app
from sqlalchemy import delete, select

from app import db
from app.calendar import clock
from app.domain import early_warning
from app.domain.credit_rating import CreditRating
from app.domain.customers import PurchaseRecord
from app.domain.star_rating import StarRating
from app.engine import queries
from app.engine.models import OPEN, Instance, Task

SHANGHAI = ZoneInfo("Asia/Shanghai")
E1 = "HD-E1-001"


def at(*args) -> datetime:
    return datetime(*args, tzinfo=SHANGHAI)


def report(engine, code=E1, indicator="overdue_receivables") -> Instance:
    return engine.cases.start(early_warning.PROCESS_KEY, get_user("rep_e1"), {
        "customer_id": get_customer(code).id, "indicator": indicator, "level": "breaks",
        "detail": "应收账款逾期45天，金额38万元"})


def waiting(instance: Instance) -> Task:
    db.session.expire_all()
    return db.session.scalar(select(Task).where(Task.instance_id == instance.id, Task.state == OPEN))


def act(engine, instance: Instance, username: str, data: dict) -> None:
    task = waiting(instance)
    if task.assignee_id is None:
        engine.cases.claim(task.id, get_user(username))
    engine.cases.complete(task.id, get_user(username), data)


@pytest.mark.parametrize("big, key, stars, tier, receiver", [
    (True, True, None, "core", "deputy_gm"),
    (False, True, None, "important", "hq_marketing"),
    (False, False, 3, "big", "salesmgr_east"),
    (False, False, 2, "general", "customer_specialist"),
])
def test_an_urgent_report_goes_by_the_customers_tier(engine, big, key, stars, tier, receiver):
    clock.set(at(2026, 10, 8, 9, 0))
    customer = get_customer(E1)
    customer.big_customer, customer.key_customer = big, key
    if stars:  # September's approved stars, as a star rating case leaves them
        earlier = report(engine, "HD-E1-002")
        db.session.add(StarRating(customer_id=customer.id, month="2026-09", stars=stars, instance_id=earlier.id,
                                  branch_id=customer.branch.id, volume_tons=Decimal(600), amount_yuan=Decimal(0),
                                  suggested_stars=stars))
    db.session.commit()
    try:
        instance = report(engine)
        assert instance.start_data["tier"] == tier
        task = waiting(instance)
        assert (task.assignee.username if task.assignee else task.candidate_role) == receiver
    finally:
        db.session.rollback()
        db.session.execute(delete(StarRating).where(StarRating.month == "2026-09"))
        db.session.commit()


def test_measures_are_followed_up_on_the_day_named_until_the_risk_is_resolved(engine, api):
    clock.set(at(2026, 10, 8, 9, 0))
    instance = report(engine)
    task = waiting(instance)
    assert task.form_key == "warning_measures" and task.candidate_role == "customer_specialist"
    assert api.post(f"/tasks/{task.id}/claim", "spec_east").status_code == 200
    past = api.post(f"/tasks/{task.id}/complete", "spec_east",
                    {"data": {"measures": "暂停赊销", "follow_up_on": "2026-10-01"}})
    assert past.status_code == 400 and "follow_up_on" in past.get_json()["error"]["fields"]
    act(engine, instance, "spec_east", {"measures": "暂停赊销，约见财务总监", "follow_up_on": "2026-10-15"})
    assert waiting(instance) is None  # waits for the day
    fire_due(engine, at(2026, 10, 14, 23, 59))
    assert waiting(instance) is None
    fire_due(engine, at(2026, 10, 15, 0, 0, 1))
    assert waiting(instance).spec_id == "follow_up"
    act(engine, instance, "spec_east", {"resolved": False, "result": "已回款一半"})
    assert waiting(instance).spec_id == "set_measures"  # new measures
    act(engine, instance, "spec_east", {"measures": "余款分两期", "follow_up_on": "2026-10-20"})
    fire_due(engine, at(2026, 10, 20, 0, 0, 1))
    act(engine, instance, "spec_east", {"resolved": True, "result": "全部回款"})
    db.session.expire_all()
    assert db.session.get(Instance, instance.id).outcome == "resolved"


@pytest.fixture
def history(ctx):
    """Purchases of 2026 and credit ratings for the indicators; removed afterwards."""
    def buy(code: str, month: str, tons: str):
        year, number = (int(p) for p in month.split("-"))
        db.session.add(PurchaseRecord(customer_id=get_customer(code).id, ordered_on=date(year, number, 15),
                                      product="0号柴油", quantity_tons=Decimal(tons), amount_yuan=Decimal(tons) * 7000))
        db.session.commit()
    yield buy
    db.session.rollback()
    db.session.execute(delete(PurchaseRecord).where(PurchaseRecord.ordered_on >= date(2030, 1, 1)))
    db.session.commit()


def test_the_computed_indicators(engine, history):
    for month in ("2030-03", "2030-04", "2030-05", "2030-06", "2030-07", "2030-08"):
        history(E1, month, "100")
        history("HD-E1-002", month, "100")
        history("HD-E1-003", month, "100")
    history(E1, "2030-09", "49")  # below half of its own average: broken
    history("HD-E1-002", "2030-09", "69")  # below 70 %: about to be
    history("HD-E1-003", "2030-09", "70")  # not a warning
    now = at(2030, 10, 3)
    assert [(b.indicator, b.level) for b in early_warning.breaches(get_customer(E1), "2030-09", now)] == [
        ("purchase_drop", "breaks")]
    assert [(b.indicator, b.level) for b in early_warning.breaches(get_customer("HD-E1-002"), "2030-09", now)] == [
        ("purchase_drop", "nears")]
    assert early_warning.breaches(get_customer("HD-E1-003"), "2030-09", now) == []


def test_a_credit_downgrade_is_a_warning(engine, history):
    customer = get_customer(E1)
    instance = report(engine)  # any case, for the ratings to point at
    for quarter, grade in (("2030-Q1", "AA"), ("2030-Q2", "A")):
        db.session.add(CreditRating(customer_id=customer.id, quarter=quarter, instance_id=instance.id, scores={},
                                    total=Decimal(80), bad_debt=False, grade=grade, big_customer=False,
                                    key_customer=False, bought_last_year_yuan=Decimal(0), rated_at=at(2030, 7, 5)))
    db.session.commit()
    (downgrade,) = [b for b in early_warning.breaches(customer, "2030-09", at(2030, 10, 3))
                    if b.indicator == "credit_downgrade"]
    assert downgrade.detail == "AA → A"


def test_the_schedule_opens_urgent_reports_once_and_every_branchs_routine_report(engine, history):
    for month in ("2030-03", "2030-04", "2030-05", "2030-06", "2030-07", "2030-08"):
        history(E1, month, "100")
    history(E1, "2030-09", "10")
    clock.set(at(2030, 9, 20, 9, 0))
    engine.deployment.deploy_directory(current_app.config["PROCESSES_DIR"])
    fire_due(engine, at(2030, 10, 3, 8, 0, 1))
    urgent = list(db.session.scalars(select(Instance).where(Instance.process_key == early_warning.PROCESS_KEY)))
    assert [(i.start_data["customer_code"], i.start_data["indicator"]) for i in urgent] == [(E1, "purchase_drop")]
    routine = list(db.session.scalars(select(Instance).where(Instance.process_key == early_warning.ROUTINE_KEY)
                                      .order_by(Instance.id)))
    assert sorted(i.start_data["branch_code"] for i in routine) == ["east", "north"]
    east = next(i for i in routine if i.start_data["branch_code"] == "east")
    rows = {row["code"]: row for row in queries.recorded_rows(east.id, "warnings_listed")}
    assert [b["indicator"] for b in rows[E1]["breaches"]] == ["purchase_drop"] and rows["HD-E1-002"]["breaches"] == []
    act(engine, east, "spec_east", {"report": "浦江石化九月采购骤降，已约谈"})
    act(engine, east, "hq_mkt", {"measures": "营销处跟进价格政策"})
    db.session.expire_all()
    assert db.session.get(Instance, east.id).status == "completed"


def test_the_receivers_task_page_says_what_the_warning_is(engine, pages):
    instance = report(engine)
    pages.login("spec_east")
    page = pages.client.get(f"/tasks/{waiting(instance).id}").get_data(as_text=True)
    assert 'data-testid="warning"' in page and "应收账款逾期" in page and "应收账款逾期45天，金额38万元" in page
