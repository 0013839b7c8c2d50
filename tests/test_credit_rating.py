"""The quarterly credit rating (seed 001) end to end: the schedule opens a case per customer, the sales
and finance departments score in parallel, the decision table grades (checked at every boundary), big-
and key-customer status follow, and a customer dropping out of key status is flagged."""
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
from app.domain import complaints
from app.domain import credit_rating as credit
from app.domain.customers import Customer, PurchaseRecord
from app.engine import definitions
from app.engine.models import OPEN, Event, Instance, Task
from app.errors import Conflict, Forbidden, InvalidData

SHANGHAI = ZoneInfo("Asia/Shanghai")
PROCESS = "credit_rating"
DISTRIBUTOR_CODE, DIRECT_CODE = "HD-E1-001", "HD-E1-002"  # a distributor and a direct customer


def at(*args) -> datetime:
    return datetime(*args, tzinfo=SHANGHAI)


def grade(kind: str, total, credit_full=False, bad_debt=False) -> str:
    table = definitions.latest_definition(PROCESS)
    return current_app.extensions["engine"].decide(table, "credit_grade", {
        "kind": kind, "total": float(total), "credit_full": credit_full, "bad_debt": bad_debt})["grade"]


@pytest.mark.parametrize("total, expected", [
    (100, "AAA"), ("89.01", "AAA"), (89, "AA"), ("79.01", "AA"), (79, "A"), ("69.01", "A"), (69, "B"),
    ("59.01", "B"), (59, "C"), ("50.01", "C"), (50, "C"), ("49.99", ""), (0, ""),
])
def test_the_distributor_grades_at_every_boundary(ctx, total, expected):
    assert grade("distributor", total) == expected
    assert grade("distributor", total, credit_full=True) == expected  # full credit marks change nothing


@pytest.mark.parametrize("total, credit_full, expected", [
    ("84.01", True, "AAA"), ("84.01", False, "AA"), (100, False, "AA"), (84, True, "AA"), (84, False, "AA"),
    ("74.01", False, "AA"), (74, True, "A"), ("64.01", False, "A"), (64, False, "B"), ("54.01", False, "B"),
    (54, False, "C"), ("45.01", False, "C"), (45, False, "C"), (45, True, "C"), ("44.99", False, ""),
])
def test_the_direct_customer_grades_at_every_boundary(ctx, total, credit_full, expected):
    assert grade("direct", total, credit_full) == expected


@pytest.mark.parametrize("kind", ["distributor", "direct"])
def test_a_bad_debt_record_forbids_every_grade(ctx, kind):
    assert grade(kind, 100, credit_full=True, bad_debt=True) == ""


def test_the_nine_indicators_add_to_100_in_five_categories():
    assert sum(i.points for i in credit.INDICATORS) == 100 and len(credit.INDICATORS) == 9
    assert {i.category for i in credit.INDICATORS} == set(credit.CATEGORIES)
    assert sum(i.points for i in credit.INDICATORS if i.department == credit.SALES) == 60


# -- the flow ----------------------------------------------------------------------------------------

SALES_FULL = {"cooperation_years": 10, "loyalty": 10, "standing": 10, "monthly_volume": 15, "steadiness": 10,
              "timing": 5}
FINANCE_FULL = {"settlement": 15, "leverage": 10, "credit_performance": 15, "bad_debt": False}


@pytest.fixture
def bought(ctx):
    """Purchases of last year (2025) in yuan, for big-customer status."""
    def buy(code: str, yuan: str):
        db.session.add(PurchaseRecord(customer_id=get_customer(code).id, ordered_on=date(2025, 6, 10),
                                      product="0号柴油", quantity_tons=Decimal(1), amount_yuan=Decimal(yuan)))
        db.session.commit()
    yield buy
    db.session.rollback()
    db.session.execute(delete(PurchaseRecord).where(PurchaseRecord.ordered_on == date(2025, 6, 10)))
    db.session.commit()


def start(engine, code: str, quarter: str = "2026-Q1") -> Instance:
    return engine.cases.start(PROCESS, get_user("admin"), {"customer_id": get_customer(code).id, "quarter": quarter})


def scoring(instance: Instance) -> dict[str, Task]:
    db.session.expire_all()
    return {t.spec_id: t for t in db.session.scalars(select(Task).where(Task.instance_id == instance.id,
                                                                        Task.state == OPEN))}


def score(engine, instance: Instance, sales: dict, finance: dict, finance_first=False) -> Instance:
    steps = [("score_nonfinancial", "sales_dept", sales), ("score_financial", "fin_li", finance)]
    for spec, username, data in (reversed(steps) if finance_first else steps):
        task = scoring(instance)[spec]
        engine.cases.claim(task.id, get_user(username))
        engine.cases.complete(task.id, get_user(username), data)
    db.session.expire_all()
    return db.session.get(Instance, instance.id)


def test_both_departments_score_in_parallel_and_the_grade_follows(engine, bought):
    clock.set(at(2026, 4, 3, 9, 0))
    instance = start(engine, DISTRIBUTOR_CODE)
    tasks = scoring(instance)
    assert set(tasks) == {"score_nonfinancial", "score_financial"}
    assert (tasks["score_nonfinancial"].candidate_role, tasks["score_financial"].candidate_role) == (
        "sales_department", "finance")
    assert tasks["score_financial"].due_at == at(2026, 4, 15, 0, 0)  # before the 15th after the quarter
    with pytest.raises(Forbidden):
        engine.cases.claim(tasks["score_financial"].id, get_user("sales_dept"))  # each department its own part
    done = score(engine, instance, SALES_FULL, {**FINANCE_FULL, "settlement": "14.99"}, finance_first=True)
    assert (done.status, done.outcome) == ("completed", "graded")
    (rating,) = credit.history(get_customer(DISTRIBUTOR_CODE).id)
    assert (rating.quarter, rating.total, rating.grade, rating.key_customer, rating.big_customer) == (
        "2026-Q1", Decimal("99.99"), "AAA", True, False)
    customer = get_customer(DISTRIBUTOR_CODE)
    assert (customer.credit_grade, customer.key_customer, customer.big_customer) == ("AAA", True, False)


def test_big_customers_need_the_grade_and_last_years_purchases(engine, bought):
    bought(DISTRIBUTOR_CODE, "50000000")
    bought(DIRECT_CODE, "19999999.99")
    clock.set(at(2026, 4, 3, 9, 0))
    score(engine, start(engine, DISTRIBUTOR_CODE), SALES_FULL, FINANCE_FULL)
    score(engine, start(engine, DIRECT_CODE), SALES_FULL, {**FINANCE_FULL, "credit_performance": 14})
    distributor, direct = get_customer(DISTRIBUTOR_CODE), get_customer(DIRECT_CODE)
    assert (distributor.credit_grade, distributor.big_customer, distributor.key_customer) == ("AAA", True, True)
    assert (direct.credit_grade, direct.big_customer, direct.key_customer) == ("AA", False, True)
    assert complaints.is_key_customer(direct)  # complaints go by the credit rating now


def test_a_customer_dropping_out_of_key_status_is_flagged_and_a_bad_debt_grades_nothing(engine, bought):
    clock.set(at(2026, 4, 3, 9, 0))
    score(engine, start(engine, DIRECT_CODE), SALES_FULL, FINANCE_FULL)
    assert get_customer(DIRECT_CODE).key_customer
    clock.set(at(2026, 7, 2, 9, 0))
    later = score(engine, start(engine, DIRECT_CODE, "2026-Q2"), SALES_FULL, {**FINANCE_FULL, "bad_debt": True})
    customer = get_customer(DIRECT_CODE)
    assert (customer.credit_grade, customer.key_customer, customer.key_follow_up) == (None, False, True)
    classified = db.session.scalar(select(Event).where(Event.instance_id == later.id,
                                                       Event.type == "customer_classified"))
    assert classified.data["lost_key"] is True and classified.data["grade"] is None


def test_a_quarter_is_rated_once_and_only_once_it_has_ended(engine, bought):
    clock.set(at(2026, 4, 3, 9, 0))
    start(engine, DIRECT_CODE)
    with pytest.raises(Conflict):
        start(engine, DIRECT_CODE)
    with pytest.raises(InvalidData):
        start(engine, DIRECT_CODE, "2026-Q2")  # not over yet
    with pytest.raises(InvalidData):
        start(engine, DIRECT_CODE, "2026-Q5")
    with pytest.raises(Forbidden):
        engine.cases.start(PROCESS, get_user("sales_dept"), {"customer_id": get_customer(DIRECT_CODE).id,
                                                       "quarter": "2025-Q4"})


def test_scores_out_of_range_are_refused_by_the_form(api, engine, bought):
    clock.set(at(2026, 4, 3, 9, 0))
    instance = start(engine, DIRECT_CODE)
    task = scoring(instance)["score_nonfinancial"]
    assert api.post(f"/tasks/{task.id}/claim", "sales_dept").status_code == 200
    response = api.post(f"/tasks/{task.id}/complete", "sales_dept", {"data": {**SALES_FULL, "timing": "5.01"}})
    assert response.status_code == 400 and "timing" in response.get_json()["error"]["fields"]


def test_the_schedule_opens_every_customers_rating_after_the_quarter_and_reminds_on_the_15th(engine, bought):
    clock.set(at(2026, 3, 20, 9, 0))
    engine.deployment.deploy_directory(current_app.config["PROCESSES_DIR"])
    fire_due(engine, at(2026, 4, 1, 0, 0, 1))
    opened = list(db.session.scalars(select(Instance).where(Instance.process_key == PROCESS)))
    assert len(opened) == db.session.query(Customer).count()
    assert {i.start_data["quarter"] for i in opened} == {"2026-Q1"}
    def reminders():
        return db.session.scalars(select(Event).where(Event.instance_id == opened[0].id,
                                                      Event.type == "reminder_sent")).all()
    fire_due(engine, at(2026, 4, 14, 23, 59))
    assert reminders() == []
    fire_due(engine, at(2026, 4, 15, 0, 0, 1))
    # Both departments' deadlines pass together: one reminder names each department's step once.
    [reminder] = reminders()
    assert sorted(task["name"] for task in reminder.data["tasks"]) == ["计划财务部评定财务指标", "销售部评定非财务指标"]
    fire_due(engine, at(2026, 7, 1, 0, 0, 1))  # the next quarter
    assert {i.start_data["quarter"] for i in db.session.scalars(
        select(Instance).where(Instance.process_key == PROCESS))} == {"2026-Q1", "2026-Q2"}


def test_a_finished_rating_leads_with_the_grade_and_the_customers_status(engine, bought, pages):
    clock.set(at(2026, 4, 3, 9, 0))
    done = score(engine, start(engine, DISTRIBUTOR_CODE), SALES_FULL, {**FINANCE_FULL, "settlement": "14.99"})
    pages.login("sales_dept")
    page = pages.client.get(f"/cases/{done.id}").get_data(as_text=True)
    result = page[page.index('data-testid="credit-result"'):]
    assert "AAA" in result[:600] and "99.99 分" in result[:600] and "重点客户" in result[:600]
