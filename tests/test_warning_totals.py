"""Early warning by a branch's totals and ratios (seed 004): on the 3rd of each month every branch's
figures of the month before are judged by processes/warning_totals.dmn; a broken one goes to company
leadership as an urgent report, with measures followed up until the risk is resolved."""
from __future__ import annotations

from datetime import datetime

import pytest
from conftest import fire_due, get_customer, get_user
from flask import current_app
from sqlalchemy import func, select

from app import db
from app.calendar import COMPANY_TZ, clock
from app.domain import early_warning, org, warning_totals
from app.domain.customers import Customer
from app.engine import definitions
from app.engine.models import OPEN, Instance, Task
from app.errors import Conflict, Forbidden, InvalidData

PROCESS = warning_totals.PROCESS_KEY
SIX_MONTHS = [f"2027-{month:02d}" for month in range(1, 7)]


def at(*args) -> datetime:
    return datetime(*args, tzinfo=COMPANY_TZ)


def decide(inputs: dict) -> str:
    return current_app.extensions["engine"].decide(definitions.latest_definition(PROCESS), "warning_totals",
                                                   inputs)["level"]


@pytest.mark.parametrize(("indicator", "value", "level"), [
    ("branch_purchase_drop", 69.9, "breaks"), ("branch_purchase_drop", 70, "nears"),
    ("branch_purchase_drop", 84.9, "nears"), ("branch_purchase_drop", 85, ""),
    ("breaking_share", 19.9, ""), ("breaking_share", 20, "nears"), ("breaking_share", 30, "breaks"),
    ("overdue_share", 9.9, ""), ("overdue_share", 10, "nears"), ("overdue_share", 20, "breaks"),
    ("open_major_complaints", 1, ""), ("open_major_complaints", 2, "nears"), ("open_major_complaints", 3, "breaks"),
])
def test_the_thresholds_at_their_boundaries(ctx, indicator, value, level):
    assert decide({"indicator": indicator, "value": value}) == level


def east_codes() -> list[str]:
    east = select(org.OrgUnit.id).where(org.OrgUnit.parent.has(org.OrgUnit.code == "east"))
    return list(db.session.scalars(select(Customer.code).where(Customer.territory_id.in_(east))
                                   .order_by(Customer.code)))


def buy_six_months_then(purchases, july_tons: str) -> None:
    for month in SIX_MONTHS:
        purchases(month, {code: "100" for code in east_codes()})
    purchases("2027-07", {code: july_tons for code in east_codes()})


def open_task(instance_id: int) -> Task:
    db.session.expire_all()
    return db.session.scalar(select(Task).where(Task.instance_id == instance_id, Task.state == OPEN))


def start(engine, month="2027-07") -> Instance:
    clock.set(at(2027, 8, 3, 9, 0))
    return engine.cases.start(PROCESS, get_user("admin"), {"branch": "east", "month": month})


def test_a_broken_total_goes_to_leadership_and_is_followed_up_until_resolved(engine, purchases, api):
    buy_six_months_then(purchases, "60")
    instance = start(engine)
    rows = {row["indicator"]: row for row in warning_totals.listed_totals(instance.id)}
    assert (rows["branch_purchase_drop"]["value"], rows["branch_purchase_drop"]["level"]) == ("60.0", "breaks")
    assert rows["open_major_complaints"] == {"indicator": "open_major_complaints", "value": "0", "level": ""}
    task = open_task(instance.id)
    assert task.spec_id == "set_measures" and task.is_offered_to(get_user("leader"))
    assert not task.is_offered_to(get_user("mgr_east"))
    shown = api.get(f"/tasks/{task.id}", "leader").get_json()
    assert {row["indicator"] for row in shown["context"]["totals"]} == set(warning_totals.INDICATORS)
    assert api.post(f"/tasks/{task.id}/claim", "leader").status_code == 200
    early = api.post(f"/tasks/{task.id}/complete", "leader",
                     {"data": {"measures": "分公司本周内走访全部客户", "follow_up_on": "2027-08-03"}})
    assert early.status_code == 400 and "follow_up_on" in early.get_json()["error"]["fields"]
    done = api.post(f"/tasks/{task.id}/complete", "leader",
                    {"data": {"measures": "分公司本周内走访全部客户", "follow_up_on": "2027-08-10"}})
    assert done.status_code == 200, done.get_json()
    assert open_task(instance.id) is None  # waiting for the follow-up day
    fire_due(engine, at(2027, 8, 10, 0, 0, 1))
    follow_up = open_task(instance.id)
    assert follow_up.spec_id == "follow_up"
    engine.cases.claim(follow_up.id, get_user("leader"))
    engine.cases.complete(follow_up.id, get_user("leader"), {"resolved": False, "result": "仍未恢复"})
    again = open_task(instance.id)
    assert again.spec_id == "set_measures"  # not resolved: new measures
    engine.cases.claim(again.id, get_user("leader"))
    engine.cases.complete(again.id, get_user("leader"), {"measures": "调整价格政策", "follow_up_on": "2027-08-20"})
    fire_due(engine, at(2027, 8, 20, 0, 0, 1))
    last = open_task(instance.id)
    engine.cases.claim(last.id, get_user("leader"))
    engine.cases.complete(last.id, get_user("leader"), {"resolved": True, "result": "采购量已回升"})
    db.session.expire_all()
    assert db.session.get(Instance, instance.id).outcome == "resolved"


def test_figures_within_bounds_end_the_case_and_are_kept(engine, purchases, pages):
    buy_six_months_then(purchases, "100")
    instance = start(engine)
    pages.login("admin")
    page = pages.client.get(f"/cases/{instance.id}").get_data(as_text=True)
    assert 'data-testid="warning-totals"' in page and 'data-indicator="branch_purchase_drop"' in page
    db.session.expire_all()
    assert db.session.get(Instance, instance.id).outcome == "no_totals_broken"
    rows = {row["indicator"]: row for row in warning_totals.listed_totals(instance.id)}
    assert rows["branch_purchase_drop"] == {"indicator": "branch_purchase_drop", "value": "100.0", "level": ""}


def test_the_shares_count_the_branchs_customers(engine, purchases):
    buy_six_months_then(purchases, "100")
    codes = east_codes()
    clock.set(at(2027, 7, 15, 10, 0))
    for code in codes[:2]:  # reported for overdue receivables in July
        engine.cases.start(early_warning.PROCESS_KEY, get_user("rep_e1"), {
            "customer_id": get_customer(code).id, "indicator": "overdue_receivables", "level": "breaks",
            "detail": "应收账款逾期 45 天"})
    instance = start(engine)
    rows = {row["indicator"]: row for row in warning_totals.listed_totals(instance.id)}
    expected = f"{200 / len(codes):.1f}"
    assert rows["overdue_share"]["value"] == expected
    assert rows["breaking_share"]["value"] == "0.0"


def test_a_branch_without_purchases_before_is_not_measured_on_them(engine):
    instance = start(engine, month="2020-01")
    rows = {row["indicator"]: row for row in warning_totals.listed_totals(instance.id)}
    assert rows["branch_purchase_drop"] == {"indicator": "branch_purchase_drop", "value": None, "level": ""}


def test_one_case_per_branch_and_ended_month_opened_by_the_schedule_or_an_administrator(engine):
    assert warning_totals.scheduled_starts(at(2027, 8, 3, 9, 0)) == [
        {"branch": code, "month": "2027-07"} for code in org.unit_codes(org.BRANCH)]
    start(engine)
    with pytest.raises(Conflict):
        start(engine)
    with pytest.raises(InvalidData):
        start(engine, month="2027-08")  # not ended yet
    with pytest.raises(Forbidden):
        engine.cases.start(PROCESS, get_user("rep_e1"), {"branch": "east", "month": "2027-06"})
    assert db.session.scalar(select(func.count(Instance.id)).where(Instance.process_key == PROCESS)) == 1
    definition = definitions.latest_definition(PROCESS)
    assert definition.schedule == "FREQ=MONTHLY;BYMONTHDAY=3;BYHOUR=9;BYMINUTE=0"
