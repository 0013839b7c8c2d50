"""The rep's monthly purchase analysis (seed 000 "月购油分析"): on the 1st the schedule opens the month
just ended for every territory, once; the rep sees his key customers' month against the month before
and their own six-month average and writes a short analysis of each (none left empty); each goes into
the customer's dossier, and the branch's sales manager reads the territory's analysis. Only the rep of
the territory sees his sheet, on the pages and through the API."""
from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from conftest import fire_due, get_customer, get_user
from flask import current_app, render_template
from sqlalchemy import func, select

from app import db
from app.calendar import clock
from app.domain import purchase_analysis as analysis
from app.domain.star_rating import StarRating
from app.engine.models import OPEN, Instance, Task
from app.errors import Conflict, Forbidden, InvalidData
from forms import task_form

SHANGHAI = ZoneInfo("Asia/Shanghai")
KEY = ("HD-E1-001", "HD-E1-002", "HD-E2-001")  # HD-E1-003 is no key customer


def at(*args) -> datetime:
    return datetime(*args, tzinfo=SHANGHAI)


@pytest.fixture
def key_customers(engine):
    """KEY are key customers (重点客户): never credit-rated, 4 stars in their latest star rating."""
    clock.set(at(2027, 7, 15, 9, 0))
    holder = engine.cases.start("early_warning", get_user("rep_e1"), {
        "customer_id": get_customer(KEY[0]).id, "indicator": "overdue_receivables", "detail": "x"})
    for code in KEY:
        customer = get_customer(code)
        db.session.add(StarRating(customer_id=customer.id, month="2027-06", stars=4, branch_id=customer.branch.id,
                                  volume_tons=0, amount_yuan=0, suggested_stars=4, instance_id=holder.id))
    db.session.commit()


@pytest.fixture
def bought(purchases):
    """HD-E1-001: 100 t a month from January to May 2027, 160 t in June, 120 t in July; HD-E1-002 only
    50 t in July; HD-E1-003 (not key) 999 t in July."""
    for month in ("2027-01", "2027-02", "2027-03", "2027-04", "2027-05"):
        purchases(month, {"HD-E1-001": "100"})
    purchases("2027-06", {"HD-E1-001": "160"})
    purchases("2027-07", {"HD-E1-001": "120", "HD-E1-002": "50", "HD-E1-003": "999"})


def cases() -> list[Instance]:
    db.session.expire_all()
    return list(db.session.scalars(select(Instance).where(Instance.process_key == analysis.PROCESS_KEY)
                                   .order_by(Instance.id)))


def open_task(instance: Instance) -> Task | None:
    db.session.expire_all()
    return db.session.scalar(select(Task).where(Task.instance_id == instance.id, Task.state == OPEN))


def opened(engine, territory: str = "E1", month: str = "2027-07") -> Instance:
    clock.set(at(2027, 8, 1, 9, 0))
    return engine.cases.start(analysis.PROCESS_KEY, get_user("admin"), {"territory": territory, "month": month})


def test_the_schedule_opens_every_territorys_month_once_on_the_1st(engine, key_customers, bought):
    clock.set(at(2027, 7, 20, 9, 0))
    engine.deployment.deploy_directory(current_app.config["PROCESSES_DIR"])
    fire_due(engine, at(2027, 7, 31, 23, 59, 59))
    assert cases() == []
    fire_due(engine, at(2027, 8, 1, 0, 0, 1))
    found = cases()
    assert sorted(c.start_data["territory_code"] for c in found) == ["E1", "E2", "N1"]
    assert {c.start_data["month"] for c in found} == {"2027-07"}
    fire_due(engine, at(2027, 8, 1, 0, 5))
    fire_due(engine, at(2027, 8, 20, 9, 0))
    assert len(cases()) == 3  # never twice
    with pytest.raises(Conflict):
        engine.cases.start(analysis.PROCESS_KEY, get_user("admin"), {"territory": "E1", "month": "2027-07"})
    by_code = {c.start_data["territory_code"]: c for c in found}
    task = open_task(by_code["E1"])
    # Due three working days after it opened (Sunday 1 August 2027: Wednesday the 4th).
    assert (task.assignee.username, task.form_key) == ("rep_e1", "purchase_analysis_sheet")
    assert task.due_at == at(2027, 8, 4, 0, 0, 1)
    assert open_task(by_code["E2"]).assignee.username == "rep_e2"
    # N1 has no key customer: nothing to analyse.
    assert open_task(by_code["N1"]) is None and by_code["N1"].outcome == "no_customers"


def test_only_a_month_that_has_ended(engine):
    clock.set(at(2027, 7, 15, 9, 0))
    with pytest.raises(InvalidData):
        engine.cases.start(analysis.PROCESS_KEY, get_user("admin"), {"territory": "E1", "month": "2027-07"})
    with pytest.raises(InvalidData):
        engine.cases.start(analysis.PROCESS_KEY, get_user("admin"), {"territory": "east", "month": "2027-06"})


def test_the_sheet_shows_the_month_the_month_before_and_the_six_month_average(engine, key_customers, bought):
    rows = {row["code"]: row for row in analysis.sheet_rows(opened(engine).id)}
    assert list(rows) == ["HD-E1-001", "HD-E1-002"]  # key customers of E1 only
    first = rows["HD-E1-001"]
    assert (first["month"], first["previous_month"]) == ("2027-07", "2027-06")
    assert (first["tons"], first["previous_tons"], first["average_tons"]) == ("120.00", "160.00", "110.00")
    assert (first["amount_yuan"], first["previous_amount_yuan"], first["average_amount_yuan"]) == (
        "840000.00", "1120000.00", "770000.00")
    assert (first["tons_vs_previous_pct"], first["tons_vs_average_pct"]) == ("-25.0", "9.1")
    second = rows["HD-E1-002"]
    assert (second["tons"], second["previous_tons"], second["average_tons"]) == ("50.00", "0.00", "0.00")
    assert second["tons_vs_previous_pct"] is None and second["tons_vs_average_pct"] is None


def test_the_analysis_goes_into_each_dossier_and_the_sales_manager_reads_it(engine, key_customers, bought, api):
    case = opened(engine)
    task = open_task(case)
    first, second = get_customer("HD-E1-001"), get_customer("HD-E1-002")

    # The API shows the sheet to the rep, and to no other rep.
    shown = api.get(f"/tasks/{task.id}", "rep_e1")
    assert shown.status_code == 200
    assert [row["code"] for row in shown.get_json()["context"]["rows"]] == ["HD-E1-001", "HD-E1-002"]
    assert {field["name"] for field in shown.get_json()["fields"]} == {"analyses"}
    assert api.get(f"/tasks/{task.id}", "rep_e2").status_code == 403
    with pytest.raises(Forbidden):
        current_app.extensions["policy"].visible_task(get_user("rep_e2"), task.id)

    # An empty analysis is refused, naming the field.
    empty = api.post(f"/tasks/{task.id}/complete", "rep_e1", {"data": {"analyses": [
        {"customer_id": first.id, "analysis": "六月备货，七月回落"}, {"customer_id": second.id, "analysis": "  "}]}})
    assert empty.status_code == 400
    assert [row["analysis"] for row in empty.get_json()["error"]["fields"]["analyses"]] == [["请填写简要分析。"]]
    missing = api.post(f"/tasks/{task.id}/complete", "rep_e1", {"data": {"analyses": [
        {"customer_id": first.id, "analysis": "六月备货，七月回落"}]}})
    assert missing.status_code == 400
    too_long = api.post(f"/tasks/{task.id}/complete", "rep_e1", {"data": {"analyses": [
        {"customer_id": first.id, "analysis": "长" * 501}, {"customer_id": second.id, "analysis": "新客户首单"}]}})
    assert too_long.status_code == 400
    assert api.post(f"/tasks/{task.id}/complete", "rep_e2", {"data": {"analyses": []}}).status_code == 403
    assert db.session.scalar(select(func.count(analysis.PurchaseAnalysis.id))) == 0

    done = api.post(f"/tasks/{task.id}/complete", "rep_e1", {"data": {"analyses": [
        {"customer_id": first.id, "analysis": "六月备货，七月回落"}, {"customer_id": second.id, "analysis": "新客户首单"}]}})
    assert done.status_code == 200, done.get_json()

    filed = analysis.of_customer(first.id)
    assert [(a.month, a.text, a.rep.username, a.instance_id) for a in filed] == [
        ("2027-07", "六月备货，七月回落", "rep_e1", case.id)]
    assert filed[0].figures["average_tons"] == "110.00" and filed[0].figures["previous_tons"] == "160.00"
    assert [a.text for a in analysis.of_customer(second.id)] == ["新客户首单"]
    assert analysis.of_customer(get_customer("HD-E1-003").id) == []

    # The branch's sales manager reads the territory's analysis and acknowledges it.
    read = open_task(case)
    assert (read.assignee.username, read.form_key) == ("salesmgr_east", "purchase_analysis_read")
    assert api.get(f"/tasks/{read.id}", "salesmgr_north").status_code == 403
    context = api.get(f"/tasks/{read.id}", "salesmgr_east").get_json()["context"]
    assert [(row["code"], row["analysis"]) for row in context["rows"]] == [
        ("HD-E1-001", "六月备货，七月回落"), ("HD-E1-002", "新客户首单")]
    acknowledged = api.post(f"/tasks/{read.id}/complete", "salesmgr_east", {"data": {"comment": "关注浦江石化回落"}})
    assert acknowledged.status_code == 200, acknowledged.get_json()
    db.session.expire_all()
    assert db.session.get(Instance, case.id).outcome == "read"
    assert [a.text for a in analysis.result(db.session.get(Instance, case.id))["analyses"]] == [
        "六月备货，七月回落", "新客户首单"]


def test_the_pages_show_the_sheet_the_reading_and_the_dossiers_part(engine, key_customers, bought, pages):
    case = opened(engine)
    task = open_task(case)
    first, second = get_customer("HD-E1-001"), get_customer("HD-E1-002")
    pages.login("rep_e1")
    page = pages.client.get(f"/tasks/{task.id}").get_data(as_text=True)
    assert 'data-testid="purchase-analysis-sheet"' in page and "110.00" in page and "HD-E1-003" not in page
    refused = pages.submit(f"/tasks/{task.id}", {
        "analyses-0-customer_id": first.id, "analyses-0-analysis": "六月备货，七月回落",
        "analyses-1-customer_id": second.id, "analyses-1-analysis": ""})
    assert "请填写简要分析。" in refused.get_data(as_text=True) and open_task(case).id == task.id
    pages.submit(f"/tasks/{task.id}", {
        "analyses-0-customer_id": first.id, "analyses-0-analysis": "六月备货，七月回落",
        "analyses-1-customer_id": second.id, "analyses-1-analysis": "新客户首单"})
    read = open_task(case)
    assert read.form_key == "purchase_analysis_read"
    with current_app.test_request_context():
        form = task_form(read)
        reading = render_template("forms/purchase_analysis_read.html", form=form)
        part = render_template("customers/_purchase_analysis.html", purchase_analyses=analysis.of_customer(first.id))
        none = render_template("customers/_purchase_analysis.html", purchase_analyses=[])
    assert 'data-testid="purchase-analysis-read"' in reading and "新客户首单" in reading
    assert "2027-07" in part and "六月备货，七月回落" in part and "110.00" in part
    assert 'data-testid="purchase-analyses"' in none
