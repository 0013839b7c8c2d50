"""Visits (seeds 000, 001, 004): visit records into the dossier by who may visit; the frequency table by
customer level and role makes visits due and overdue ones show in the inbox; the monthly plan approved
by the sales manager (or returned); the weekly summary opened every Monday and due that day."""
from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

import pytest
from conftest import fire_due, get_customer, get_user
from flask import current_app
from sqlalchemy import delete, select

from app import db
from app.calendar import clock
from app.domain import visits
from app.domain.star_rating import StarRating
from app.engine import queries
from app.engine.models import OPEN, Event, Instance, Task
from app.errors import Conflict, Forbidden, InvalidData
from app.policy import RECORD_VISIT

SHANGHAI = ZoneInfo("Asia/Shanghai")
E1 = "HD-E1-001"
SAID = {"products": "0号柴油质量稳定", "delivery": "", "business_process": "", "service": "希望夜间配送",
        "other_views": ""}


def at(*args) -> datetime:
    return datetime(*args, tzinfo=SHANGHAI)


def visit(username: str, code: str, day: date):
    """A visit recorded as the pages and the API record it: if the policy lets him."""
    customer, user = get_customer(code), get_user(username)
    current_app.extensions["policy"].require(user, RECORD_VISIT, customer)
    return visits.record(customer, user, {"visited_on": day, **SAID}, clock.now())


def test_the_frequency_table_of_seed_004():
    assert visits.INTERVAL_DAYS[1] == {"sales_rep": 3, "sales_manager": 7, "branch_manager": 15, "hq_marketing": 30}
    assert visits.INTERVAL_DAYS[5]["hq_marketing"] is None


def test_who_records_a_visit_and_in_which_role(ctx):
    clock.set(at(2026, 10, 10, 9, 0))
    assert visit("rep_e1", E1, date(2026, 10, 9)).role == "sales_rep"
    assert visit("salesmgr_east", E1, date(2026, 10, 9)).role == "sales_manager"
    assert visit("mgr_east", E1, date(2026, 10, 8)).role == "branch_manager"
    assert visit("hq_mkt", E1, date(2026, 10, 8)).role == "hq_marketing"
    with pytest.raises(Forbidden):
        visit("rep_e2", E1, date(2026, 10, 9))  # another territory
    with pytest.raises(InvalidData):
        visit("rep_e1", E1, date(2026, 10, 11))  # not yet happened
    assert [v.visitor.username for v in visits.of_customer(get_customer(E1).id)][:2] == ["salesmgr_east", "rep_e1"]


def test_due_and_overdue_visits_follow_the_level_and_show_in_the_inbox(engine, pages):
    clock.set(at(2026, 10, 10, 9, 0))
    due = {v.customer.code: v for v in visits.due_visits(get_user("rep_e1"), clock.now())}
    assert set(due) == {"HD-E1-001", "HD-E1-002", "HD-E1-003"}  # his territory
    assert all(v.due == date(2026, 10, 10) and v.last is None for v in due.values())  # never visited: today
    visit("rep_e1", E1, date(2026, 10, 1))  # level 5 (not rated): every 30 days
    assert {v.customer.code: v.due for v in visits.due_visits(get_user("rep_e1"), clock.now())}[E1] == date(2026, 10, 31)

    # A 4-star customer is level 1: the rep every 3 days.
    rating = StarRating(customer_id=get_customer(E1).id, month="2026-09", stars=4, branch_id=get_customer(E1).branch.id,
                        volume_tons=1200, amount_yuan=0, suggested_stars=4,
                        instance_id=engine.cases.start("early_warning", get_user("rep_e1"), {
                            "customer_id": get_customer(E1).id, "indicator": "overdue_receivables",
                            "detail": "x"}).id)
    db.session.add(rating)
    db.session.commit()
    try:
        overdue = visits.overdue_visits(get_user("rep_e1"), clock.now())
        assert [(v.customer.code, v.due) for v in overdue] == [(E1, date(2026, 10, 4))]
        pages.login("rep_e1")
        inbox = pages.client.get("/inbox").get_data(as_text=True)
        assert 'data-testid="overdue-visits"' in inbox and E1 in inbox
    finally:
        db.session.execute(delete(StarRating).where(StarRating.month == "2026-09"))
        db.session.commit()


def test_the_api_records_and_lists_due_visits(ctx, api):
    clock.set(at(2026, 10, 10, 9, 0))
    customer = get_customer(E1)
    recorded = api.post(f"/customers/{customer.id}/visits", "rep_e1", {"visited_on": "2026-10-09", **SAID})
    assert recorded.status_code == 201 and recorded.get_json()["role"] == "sales_rep"
    silent = api.post(f"/customers/{customer.id}/visits", "rep_e1", {"visited_on": "2026-10-09"})
    assert silent.status_code == 400  # a record says something
    assert api.post(f"/customers/{customer.id}/visits", "rep_n1", {"visited_on": "2026-10-09", **SAID}).status_code == 403
    due = {d["customer"]: d for d in api.get("/visits/due", "rep_e1").get_json()}
    assert due[E1]["due"] == "2026-11-08" and due["HD-E1-002"]["overdue"] is False


def open_task(instance: Instance) -> Task:
    db.session.expire_all()
    return db.session.scalar(select(Task).where(Task.instance_id == instance.id, Task.state == OPEN))


def act(engine, instance: Instance, username: str, data: dict) -> None:
    task = open_task(instance)
    if task.assignee_id is None:
        engine.cases.claim(task.id, get_user(username))
    engine.cases.complete(task.id, get_user(username), data)


def test_the_monthly_plan_is_approved_by_the_sales_manager_or_returned(engine, api):
    clock.set(at(2026, 10, 1, 9, 0))
    plan = engine.cases.start(visits.PLAN_KEY, get_user("admin"), {"rep": "rep_e1", "month": "2026-10"})
    with pytest.raises(Conflict):
        engine.cases.start(visits.PLAN_KEY, get_user("admin"), {"rep": "rep_e1", "month": "2026-10"})
    with pytest.raises(InvalidData):
        engine.cases.start(visits.PLAN_KEY, get_user("admin"), {"rep": "mgr_east", "month": "2026-10"})
    task = open_task(plan)
    assert (task.assignee.username, task.due_at) == ("rep_e1", at(2026, 10, 5))
    sheet = api.get(f"/tasks/{task.id}", "rep_e1").get_json()["context"]["rows"]
    assert [row["code"] for row in sheet] == ["HD-E1-001", "HD-E1-002", "HD-E1-003"]
    assert all(row["visits_required"] == 1 for row in sheet)  # level 5: the rep monthly
    act(engine, plan, "rep_e1", {"target_tons": "1500", "plan": "每周走访浦江石化"})
    assert open_task(plan).assignee.username == "salesmgr_east"
    act(engine, plan, "salesmgr_east", {"decision": "return", "comment": "申通物流也要安排"})
    assert open_task(plan).spec_id == "make_plan"
    act(engine, plan, "rep_e1", {"target_tons": "1500", "plan": "每周走访浦江石化，中旬走访申通物流"})
    act(engine, plan, "salesmgr_east", {"decision": "approve", "comment": ""})
    db.session.expire_all()
    assert db.session.get(Instance, plan.id).outcome == "approved"


def test_a_late_plan_is_reminded_on_the_5th(engine):
    clock.set(at(2026, 10, 1, 9, 0))
    plan = engine.cases.start(visits.PLAN_KEY, get_user("admin"), {"rep": "rep_e1", "month": "2026-10"})
    fire_due(engine, at(2026, 10, 4, 23, 59))
    reminders = select(Event).where(Event.instance_id == plan.id, Event.type == "reminder_sent")
    assert db.session.scalars(reminders).all() == []
    fire_due(engine, at(2026, 10, 5, 0, 0, 1))
    assert len(db.session.scalars(reminders).all()) == 1


def test_every_monday_each_branch_sends_last_weeks_visits(engine):
    clock.set(at(2026, 11, 4, 9, 0))
    visit("rep_e1", E1, date(2026, 11, 3))
    engine.deployment.deploy_directory(current_app.config["PROCESSES_DIR"])
    fire_due(engine, at(2026, 11, 9, 8, 0, 1))  # Monday
    summaries = list(db.session.scalars(select(Instance).where(Instance.process_key == visits.SUMMARY_KEY)))
    assert sorted(s.start_data["branch_code"] for s in summaries) == ["east", "north"]
    east = next(s for s in summaries if s.start_data["branch_code"] == "east")
    assert [(r["code"], r["visitor"]) for r in queries.recorded_rows(east.id, "visits_listed")] == [(E1, "张伟")]
    assert open_task(east).due_at == at(2026, 11, 10)  # by the end of Monday
    fire_due(engine, at(2026, 11, 10, 0, 0, 1))
    assert db.session.scalars(select(Event).where(Event.instance_id == east.id,
                                                  Event.type == "reminder_sent")).all()
    act(engine, east, "spec_east", {"summary": "上周走访浦江石化一次"})
    act(engine, east, "hq_mkt", {"comment": "已阅"})
    db.session.expire_all()
    assert db.session.get(Instance, east.id).status == "completed"
    with pytest.raises(InvalidData):
        engine.cases.start(visits.SUMMARY_KEY, get_user("admin"), {"branch": "east", "monday": "2026-11-10"})  # a Tuesday


def test_the_dossier_page_records_a_visit(ctx, pages):
    clock.set(at(2026, 10, 10, 9, 0))
    customer = get_customer(E1)
    pages.login("rep_e1")
    assert 'data-testid="record-visit"' in pages.client.get(f"/customers/{customer.id}").get_data(as_text=True)
    empty = pages.submit(f"/customers/{customer.id}/visits/new", {"visited_on": "2026-10-09"})
    assert empty.status_code == 400 and "is-invalid" in empty.get_data(as_text=True)
    saved = pages.submit(f"/customers/{customer.id}/visits/new", {"visited_on": "2026-10-09", **SAID})
    assert saved.status_code == 302
    page = pages.client.get(f"/customers/{customer.id}").get_data(as_text=True)
    assert 'data-testid="visits"' in page and "希望夜间配送" in page
