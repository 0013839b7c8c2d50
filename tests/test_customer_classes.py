"""Customer classes (app.domain.classes, processes/customer_classes.bpmn): the ABC class by share of the
branch's amount, the volume tier by monthly average tons and the value class (core / general / problem)
from five scores weighted by a table, each decided by its table at every boundary, recomputed by the
schedule on a controlled clock, kept as history only on change with the figures that gave it, a move told
to the territory's rep, and a table edited by a process administrator deciding from its new version on."""
from __future__ import annotations

import re
import shutil
from datetime import datetime
from decimal import Decimal
from html import unescape
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from conftest import edit, fire_due, get_customer, get_user
from flask import current_app, render_template
from sqlalchemy import delete, select, update

from app import db
from app.calendar import clock
from app.domain import classes, complaints, early_warning
from app.domain.credit_rating import CreditRating
from app.domain.customers import Customer
from app.domain.notifications import Notification
from app.engine import definitions
from app.engine.models import SCHEDULE, Event, Incident, Instance, Timer
from app.errors import Conflict, DefinitionFault, Forbidden, InvalidData

SHANGHAI = ZoneInfo("Asia/Shanghai")
EAST = ("HD-E1-001", "HD-E1-002", "HD-E1-003", "HD-E2-001", "HD-E2-002")


def at(*args) -> datetime:
    return datetime(*args, tzinfo=SHANGHAI)


def page_text(html: str) -> str:
    """A page's words as a person reads them: no tags, one space between."""
    return re.sub(r"\s+", " ", unescape(re.sub(r"<[^>]+>", " ", html)))


def decide(decision: str, inputs: dict) -> dict:
    return current_app.extensions["engine"].decide(definitions.latest_definition(classes.PROCESS_KEY),
                                                   decision, inputs)


@pytest.mark.parametrize("share_before, amount, expected", [
    (0, 1, "A"), ("69.99", 1, "A"), ("69.9999", 1, "A"), (70, 1, "B"), ("70.01", 1, "B"), ("89.99", 1, "B"),
    (90, 1, "C"), ("90.01", 1, "C"), (100, 1, "C"), (0, 0, "C"),
])
def test_the_abc_class_at_every_boundary(ctx, share_before, amount, expected):
    """A: the customers making the first 70 % (those above them bought less than 70 %), B the next 20 %,
    C the rest and whoever bought nothing."""
    assert decide("customer_abc", {"amount": float(amount), "share_before": float(share_before)})["abc_class"] == expected


@pytest.mark.parametrize("tons, expected", [
    (2000, "1"), (500, "1"), ("499.999", "2"), (300, "2"), ("299.999", "3"), (100, "3"), ("99.999", "4"),
    (50, "4"), ("49.999", "5"), (20, "5"), ("19.999", "6"), (10, "6"), ("9.999", "7"), (5, "7"), ("4.999", "8"),
    (0, "8"),
])
def test_the_volume_tier_at_every_boundary(ctx, tons, expected):
    """Eight tiers by monthly average tons, three at or above the threshold of 100 t and five below."""
    assert decide("volume_tier", {"monthly_tons": float(tons)})["tier"] == expected


def deploy_with_schedule(engine, directory=None) -> None:
    engine.deployment.deploy_directory(directory or current_app.config["PROCESSES_DIR"])
    db.session.execute(delete(Timer).where(Timer.kind == SCHEDULE, Timer.process_key != classes.PROCESS_KEY))
    db.session.commit()


def current(code: str) -> dict[str, str]:
    return {kind: row.value for kind, row in classes.current_classes(get_customer(code).id).items()}


def rows(code: str) -> list[tuple[str, str | None, str]]:
    return [(row.kind, row.previous, row.value) for row in reversed(classes.history(get_customer(code).id))]


def told(username: str) -> list[Notification]:
    return list(db.session.scalars(select(Notification).where(Notification.user_id == get_user(username).id,
                                                              Notification.kind == classes.MOVED)))


@pytest.fixture
def east_2027(purchases):
    """The east branch's 2027: 1,000 t in all (7,000 yuan a ton), so that the shares fall on the
    boundaries: 700 t (A, nobody above), 200 t (those above bought exactly 70 %: B), 60 t (exactly 90 %
    above: C), 40 t (C), nothing (C)."""
    purchases("2027-06", {"HD-E1-001": "700", "HD-E1-002": "200", "HD-E2-001": "60", "HD-E2-002": "40"})
    return purchases


def test_the_schedule_recomputes_every_branch_on_the_1st_and_keeps_history_only_on_change(engine, east_2027):
    clock.set(at(2027, 12, 20, 10, 0))
    deploy_with_schedule(engine)
    assert db.session.scalar(select(Timer.due_at).where(Timer.kind == SCHEDULE,
                                                        Timer.process_key == classes.PROCESS_KEY)) == at(2028, 1, 1, 2)
    assert fire_due(engine, at(2028, 1, 1, 1, 59)) == 0
    assert fire_due(engine, at(2028, 1, 1, 2, 0, 1)) == 1
    opened = list(db.session.scalars(select(Instance).where(Instance.process_key == classes.PROCESS_KEY)
                                     .order_by(Instance.id)))
    assert [(i.start_data["branch_code"], i.start_data["as_of"], i.status) for i in opened] == [
        ("east", "2028-01-01", "completed"), ("north", "2028-01-01", "completed")]

    assert {code: current(code) for code in EAST} == {
        "HD-E1-001": {"abc": "A", "volume": "4", "value": "general"},   # 58.3 t a month
        "HD-E1-002": {"abc": "B", "volume": "6", "value": "problem"},   # 16.7 t
        "HD-E2-001": {"abc": "C", "volume": "7", "value": "problem"},   # exactly 5 t
        "HD-E2-002": {"abc": "C", "volume": "8", "value": "problem"},   # 3.3 t
        "HD-E1-003": {"abc": "C", "volume": "8", "value": "problem"},   # nothing
    }
    # The figures that gave them: the window, the amounts and the shares.
    b = classes.current_classes(get_customer("HD-E1-002").id)["abc"]
    assert (b.figures["from"], b.figures["to"], b.figures["amount_yuan"], b.figures["branch_amount_yuan"],
            b.figures["share"], b.figures["share_before"], b.figures["rank"]) == (
        "2027-01", "2027-12", "1400000.00", "7000000.00", "20.0000", "70.0000", 2)
    assert b.table_version == "customer_classes v1" and b.instance_id == opened[0].id
    assert told("rep_e1") == [] and told("rep_e2") == []  # a first class is no move

    # February: nothing changed for the others; HD-E2-002 bought 900 t in January and moves C → A, 8 → 4.
    east_2027("2028-01", {"HD-E2-002": "900"})
    assert fire_due(engine, at(2028, 2, 1, 2, 0, 1)) == 1
    assert rows("HD-E1-001") == [("abc", None, "A"), ("volume", None, "4"), ("value", None, "general")]
    assert classes.current_classes(get_customer("HD-E1-001").id)["abc"].confirmed_at == at(2028, 2, 1, 2, 0, 1)
    assert rows("HD-E2-002") == [("abc", None, "C"), ("volume", None, "8"), ("value", None, "problem"),
                                 ("abc", "C", "A"), ("volume", "8", "4"), ("value", "problem", "general")]
    assert current("HD-E2-002") == {"abc": "A", "volume": "4", "value": "general"}  # 70.30, but never rated
    moved = list(db.session.scalars(select(Event).where(Event.type == classes.MOVED).order_by(Event.id)))
    assert [(e.data["customer_code"], e.data["kind"], e.data["from"], e.data["to"]) for e in moved] == [
        ("HD-E2-002", "abc", "C", "A"), ("HD-E2-002", "volume", "8", "4"), ("HD-E2-002", "value", "problem", "general")]
    assert len(told("rep_e2")) == 3 and told("rep_e1") == []
    assert "HD-E2-002" in told("rep_e2")[0].data["task"]

    # The list's filter: customers whose current class is A, or tier 8.
    def codes(**filters):
        return set(db.session.scalars(classes.filter_customers(select(Customer.code), **filters)))
    assert codes(abc="A") == {"HD-E1-001", "HD-E2-002"}
    assert codes(tier="8") == {"HD-E1-003", "HB-N1-001", "HB-N1-002"}  # the north bought nothing in the window
    assert codes(abc="C", tier="7") == {"HD-E2-001"}

    # The dossier's partial shows the explanation and the history.
    with current_app.test_request_context():
        page = render_template("customers/_classes.html", **classes.dossier_context(get_customer("HD-E2-002").id))
    assert 'data-testid="class-abc"' in page and "class-history" in page


def test_an_edited_decision_table_decides_from_its_version_on(engine, east_2027, tmp_path):
    clock.set(at(2028, 1, 1, 9, 0))
    admin = get_user("admin")
    engine.cases.start(classes.PROCESS_KEY, admin, {"branch": "east", "as_of": "2028-01-01"})
    assert current("HD-E1-002")["abc"] == "B"
    with pytest.raises(Conflict):
        engine.cases.start(classes.PROCESS_KEY, admin, {"branch": "east", "as_of": "2028-01-01"})

    directory = tmp_path / "processes"
    shutil.copytree(current_app.config["PROCESSES_DIR"], directory)
    dmn = Path(directory) / "customer_abc.dmn"
    edit(dmn, "<text>&lt; 70</text>", "<text>&lt; 80</text>")
    edit(dmn, "<text>70 &lt;= ? &lt; 90</text>", "<text>80 &lt;= ? &lt; 90</text>")
    engine.deployment.deploy_directory(str(directory))
    assert definitions.latest_definition(classes.PROCESS_KEY).version == 2

    clock.set(at(2028, 1, 2, 9, 0))
    engine.cases.start(classes.PROCESS_KEY, admin, {"branch": "east", "as_of": "2028-01-02"})
    row = classes.current_classes(get_customer("HD-E1-002").id)["abc"]
    assert (row.previous, row.value, row.table_version) == ("B", "A", "customer_classes v2")
    assert current("HD-E2-001")["abc"] == "C"  # 90 % above it: still the rest
    assert len(told("rep_e1")) == 1


def test_the_rep_judges_the_attitude_with_a_reason_kept_with_the_day(ctx):
    clock.set(at(2028, 3, 5, 10, 0))
    customer, rep = get_customer("HD-E1-001"), get_user("rep_e1")
    with pytest.raises(Forbidden):  # another territory's rep
        classes.set_attitude(customer, classes.LOYAL, "一直只用我们的油", get_user("rep_e2"), clock.now())
    with pytest.raises(InvalidData):
        classes.set_attitude(customer, classes.LOYAL, "  ", rep, clock.now())
    with pytest.raises(InvalidData):
        classes.set_attitude(customer, "fickle", "?", rep, clock.now())

    classes.set_attitude(customer, classes.LOYAL, "三年来只从我司进油", rep, clock.now())
    clock.set(at(2028, 4, 5, 10, 0))
    classes.set_attitude(customer, classes.LOYAL, "仍只从我司进油", rep, clock.now())  # the same: confirmed
    clock.set(at(2028, 5, 5, 10, 0))
    classes.set_attitude(customer, classes.SWITCHING, "开始试用竞品", rep, clock.now())
    db.session.commit()
    assert rows("HD-E1-001") == [("attitude", None, "loyal"), ("attitude", "loyal", "switching")]
    row = classes.current_classes(customer.id)["attitude"]
    assert (row.figures, row.set_by_id, row.computed_at) == (
        {"reason": "开始试用竞品", "as_of": "2028-05-05"}, rep.id, at(2028, 5, 5, 10, 0))
    first = classes.history(customer.id)[-1]
    assert first.confirmed_figures == {"reason": "仍只从我司进油", "as_of": "2028-04-05"}
    assert set(db.session.scalars(classes.filter_customers(select(Customer.code), attitude="switching"))) == {
        "HD-E1-001"}
    with current_app.test_request_context():
        page = render_template("customers/_classes.html", **classes.dossier_context(customer.id))
    assert "开始试用竞品" in page and 'data-testid="class-attitude"' in page


def test_the_customer_list_filters_by_class_and_the_dossier_explains_it(engine, east_2027, pages):
    clock.set(at(2027, 12, 20, 10, 0))
    deploy_with_schedule(engine)
    assert fire_due(engine, at(2028, 1, 1, 2, 0, 1)) == 1
    pages.login("rep_e1")
    listed = pages.client.get("/customers?abc=A").get_data(as_text=True)
    assert "HD-E1-001" in listed and "HD-E1-002" not in listed and "HD-E1-003" not in listed  # A on 1 January
    assert 'data-testid="filter-tier"' in listed
    everyone = pages.client.get("/customers?abc=nonsense").get_data(as_text=True)  # an unknown class: no filter
    assert "HD-E1-003" in everyone
    dossier = pages.client.get(f"/customers/{get_customer('HD-E1-001').id}")
    assert dossier.status_code == 200 and 'data-testid="class-abc"' in dossier.get_data(as_text=True)


# -- the value class (seed 003) ----------------------------------------------------------------------------

@pytest.mark.parametrize("score, credit, expected", [
    (100, "29.9", "problem"), (100, 0, "problem"),        # no credit grade: a problem whatever the score
    (70, 70, "core"), (100, 100, "core"), ("69.99", 100, "general"), (100, "69.9", "general"),
    (70, 30, "general"), (40, 50, "general"), ("39.99", 100, "problem"), (0, 50, "problem"),
])
def test_the_value_class_at_every_boundary(ctx, score, credit, expected):
    """Problem without a credit grade (credit < 30); core from a weighted score of 70 with a credit grade
    of A or better (credit ≥ 70); problem under 40; general the rest."""
    inputs = {"score": float(score), "credit": float(credit), "contribution": 50.0, "support": 50.0,
              "growth": 50.0, "influence": 50.0}
    assert decide("customer_value", inputs)["value_class"] == expected


def complaint(engine, code: str, received: str, by: str, severity: str | None = None,
              dismissed: bool = False) -> None:
    """A complaint recorded through its flow; its class (or its closing as no complaint) set on its row as
    the sales manager's steps would."""
    instance = engine.cases.start(complaints.PROCESS_KEY, get_user(by), {
        "customer_id": get_customer(code).id, "channel": "phone", "received_at": received,
        "category": "delivery", "content": "送货迟到半天"})
    row = complaints.complaint_of(instance.id)
    row.severity = severity
    if dismissed:
        row.dismissed_at, row.dismissed_reason = clock.now(), "误录"
    db.session.commit()


@pytest.fixture
def east_values(engine, purchases):
    """The east branch's 2027 (7,000 yuan a ton, 7,500 t in all: the average customer 1,500 t):
    - HD-E1-001: 300 t a month to June, 600 t after (5,400 t), rated AAA, loyal, one major complaint;
    - HD-E1-002: 50 t every month, rated AA then A, one complaint (and one closed as no complaint);
    - HD-E2-001: 120 t every month, rated with a bad debt (no grade);
    - HD-E2-002: 60 t in March only, never rated, no brand loyalty, one urgent warning;
    - HD-E1-003: nothing (a complaint of December 2026, before the window)."""
    for month in range(1, 13):
        purchases(f"2027-{month:02d}", {"HD-E1-001": "300" if month <= 6 else "600", "HD-E1-002": "50",
                                        "HD-E2-001": "120"})
    purchases("2027-03", {"HD-E2-002": "60"})
    clock.set(at(2027, 10, 20, 10, 0))
    warning = engine.cases.start(early_warning.PROCESS_KEY, get_user("rep_e2"), {
        "customer_id": get_customer("HD-E2-002").id, "indicator": "purchase_drop", "level": "breaks",
        "detail": "3月后未再进油"})
    for code, quarter, grade, rated in (("HD-E1-001", "2027-Q3", "AAA", at(2027, 10, 10)),
                                        ("HD-E1-002", "2027-Q2", "AA", at(2027, 7, 5)),
                                        ("HD-E1-002", "2027-Q3", "A", at(2027, 10, 10)),
                                        ("HD-E2-001", "2027-Q3", None, at(2027, 10, 10))):
        db.session.add(CreditRating(customer_id=get_customer(code).id, quarter=quarter, instance_id=warning.id,
                                    scores={}, total=Decimal(80 if grade else 70), bad_debt=grade is None,
                                    grade=grade, big_customer=False, key_customer=False,
                                    bought_last_year_yuan=Decimal(0), rated_at=rated))
    complaint(engine, "HD-E1-001", "2027-09-10T09:30", "rep_e1", severity=complaints.MAJOR)
    complaint(engine, "HD-E1-002", "2027-08-01T10:00", "rep_e1", severity=complaints.GENERAL)
    complaint(engine, "HD-E1-002", "2027-08-05T10:00", "rep_e1", dismissed=True)
    complaint(engine, "HD-E1-003", "2026-12-20T10:00", "rep_e1", severity=complaints.GENERAL)
    classes.set_attitude(get_customer("HD-E1-001"), classes.LOYAL, "只用我司的油", get_user("rep_e1"), clock.now())
    classes.set_attitude(get_customer("HD-E2-002"), classes.NO_LOYALTY, "哪家便宜买哪家", get_user("rep_e2"),
                         clock.now())
    db.session.commit()
    return purchases


def scores(code: str) -> tuple:
    figures = classes.current_classes(get_customer(code).id)["value"].latest_figures
    return (*(figures[d] for d in classes.DIMENSIONS), figures["score"])


def test_the_value_class_is_scored_from_the_records_weighted_and_kept_with_its_figures(engine, east_values):
    clock.set(at(2028, 1, 1, 9, 0))
    admin = get_user("admin")
    instance = engine.cases.start(classes.PROCESS_KEY, admin, {"branch": "east", "as_of": "2028-01-01"})
    assert instance.status == "completed"
    assert {code: current(code)["value"] for code in EAST} == {
        "HD-E1-001": "core", "HD-E1-002": "general", "HD-E2-001": "problem", "HD-E2-002": "problem",
        "HD-E1-003": "problem"}
    # contribution, support, credit, growth, influence, and the weighted score (30/20/20/15/15)
    assert scores("HD-E1-001") == ("100.0", "75.0", "100.0", "100.0", "80.0", "92.00")
    assert scores("HD-E1-002") == ("20.0", "57.1", "70.0", "50.0", "70.0", "49.42")
    assert scores("HD-E2-001") == ("48.0", "59.2", "0.0", "50.0", "80.0", "45.74")  # no grade: a problem
    assert scores("HD-E2-002") == ("2.0", "4.7", "50.0", "0.0", "25.0", "15.29")
    assert scores("HD-E1-003") == ("0.0", "0.0", "50.0", "0.0", "80.0", "22.00")
    # What gave them, kept on the row.
    row = classes.current_classes(get_customer("HD-E1-001").id)["value"]
    f = row.figures
    assert (f["amount_yuan"], f["branch_average_yuan"], f["months_with_orders"], f["monthly_tons"],
            f["monthly_demand_tons"], f["demand_share"]) == (
        "37800000.00", "10500000.00", 12, "450.000", "900.00", "50.0")
    assert (f["credit_grade"], f["credit_quarter"], f["earlier_tons"], f["recent_tons"], f["change"]) == (
        "AAA", "2027-Q3", "1800.00", "3600.00", "100.0000")
    assert (f["attitude"], f["complaints"], f["major_complaints"], f["warnings"]) == ("loyal", 1, 1, 0)
    assert f["weights"] == {"contribution": "30", "support": "20", "credit": "20", "growth": "15", "influence": "15"}
    assert (f["from"], f["to"], row.table_version, row.instance_id) == (
        "2027-01", "2027-12", "customer_classes v1", instance.id)
    second = classes.current_classes(get_customer("HD-E1-002").id)["value"].figures
    assert (second["credit_grade"], second["complaints"], second["major_complaints"]) == ("A", 1, 0)
    assert classes.current_classes(get_customer("HD-E2-001").id)["value"].figures["credit_rated"] is True
    assert (classes.current_classes(get_customer("HD-E2-002").id)["value"].figures["warnings"]) == 1
    assert told("rep_e1") == [] and told("rep_e2") == []  # a first class is no move


def test_a_customer_moving_value_class_is_recorded_and_its_rep_told(engine, east_values):
    admin = get_user("admin")
    clock.set(at(2028, 1, 1, 2, 0, 1))
    engine.cases.start(classes.PROCESS_KEY, admin, {"branch": "east"})
    assert current("HD-E2-002")["value"] == "problem"
    # January: HD-E2-002 buys 1,500 t; on 1 February its window (2027-02 to 2028-01) scores it 46.84.
    east_values("2028-01", {"HD-E2-002": "1500"})
    clock.set(at(2028, 2, 1, 2, 0, 1))
    engine.cases.start(classes.PROCESS_KEY, admin, {"branch": "east"})
    assert scores("HD-E2-002") == ("45.7", "21.9", "50.0", "100.0", "25.0", "46.84")
    assert [(kind, previous, value) for kind, previous, value in rows("HD-E2-002") if kind == "value"] == [
        ("value", None, "problem"), ("value", "problem", "general")]
    assert [(kind, previous, value) for kind, previous, value in rows("HD-E1-001") if kind == "value"] == [
        ("value", None, "core")]  # kept: the February figures confirm it
    kept = classes.current_classes(get_customer("HD-E1-001").id)["value"]
    assert (kept.confirmed_at, kept.confirmed_figures["score"], kept.figures["score"]) == (
        at(2028, 2, 1, 2, 0, 1), "86.59", "92.00")
    moved = [e.data for e in db.session.scalars(select(Event).where(Event.type == classes.MOVED)
                                                 .order_by(Event.id)) if e.data["kind"] == "value"]
    assert [(e["customer_code"], e["from"], e["to"]) for e in moved] == [("HD-E2-002", "problem", "general")]
    value_notes = [n for n in told("rep_e2") if str(classes.KINDS[classes.VALUE]) in n.data["task"]]
    assert len(value_notes) == 1 and "HD-E2-002" in value_notes[0].data["task"]
    assert not [n for n in told("rep_e1") if str(classes.KINDS[classes.VALUE]) in n.data["task"]]

    # The list's filter, alone and with another class.
    def codes(**filters):
        return set(db.session.scalars(classes.filter_customers(select(Customer.code), **filters)))
    assert codes(value="core") == {"HD-E1-001"}
    assert codes(value="general") == {"HD-E1-002", "HD-E2-002"}
    assert codes(value="general", abc="A") == {"HD-E2-002"}
    assert "HD-E2-001" in codes(value="problem") and codes(value="nonsense") >= set(EAST)


def test_the_list_filters_by_value_class_and_the_dossier_explains_it(engine, east_values, pages):
    clock.set(at(2028, 1, 1, 9, 0))
    engine.cases.start(classes.PROCESS_KEY, get_user("admin"), {"branch": "east", "as_of": "2028-01-01"})
    pages.login("rep_e1")
    listed = pages.client.get("/customers?value=core").get_data(as_text=True)
    assert 'data-testid="filter-value"' in listed and '<option value="core" selected>' in listed
    assert "HD-E1-001" in listed and "HD-E1-002" not in listed and "HD-E1-003" not in listed
    general = pages.client.get("/customers?value=general&abc=C").get_data(as_text=True)
    assert "HD-E1-002" in general and "HD-E1-001" not in general
    page = pages.client.get(f"/customers/{get_customer('HD-E1-001').id}").get_data(as_text=True)
    assert 'data-testid="class-value"' in page and 'data-testid="value-figures"' in page
    # The class, the weighted score, each dimension's score, its weight and the figures behind it.
    text = page_text(page)
    value = text[text.index("核心客户 2027-01"):]
    assert value.startswith("核心客户 2027-01至2027-12加权总分92.00分（满分100）")
    assert "贡献度 100.0 · 权重30: 购买37,800,000.00元" in value
    assert "支持度 75.0 · 权重20: 12个月中有12个月下单; 月均450.000吨，占其月需求量900.00吨的50.0%" in value
    assert "信用度 100.0 · 权重20: 信用等级AAA (2027-Q3)" in value
    assert "成长性 100.0 · 权重15: 近6个月3600.00吨，此前6个月1800.00吨 (+100.0%)" in value
    assert "影响力 80.0 · 权重15: 忠诚客户; 期内投诉1次（重大1次）；紧急预警0次" in value
    history = text[text.index("时间 分类 原分类 新分类"):]
    assert "总分 92.00 (贡献度 100.0 · 支持度 75.0 · 信用度 100.0 · 成长性 100.0 · 影响力 80.0)" in history


def test_edited_value_weights_decide_from_their_version_on_and_bad_ones_are_refused(engine, east_values, tmp_path):
    clock.set(at(2028, 1, 1, 9, 0))
    admin = get_user("admin")
    engine.cases.start(classes.PROCESS_KEY, admin, {"branch": "east", "as_of": "2028-01-01"})
    assert current("HD-E1-002")["value"] == "general"

    directory = tmp_path / "processes"
    shutil.copytree(current_app.config["PROCESSES_DIR"], directory)
    weights = Path(directory) / "customer_value_weights.dmn"
    # Credit alone: every graded customer's score is its credit score.
    for dimension, weight in (("contribution", 30), ("support", 20), ("growth", 15), ("influence", 15)):
        edit(weights, f'<outputEntry id="every_branch_{dimension}"><text>{weight}</text>',
             f'<outputEntry id="every_branch_{dimension}"><text>0</text>')
    engine.deployment.deploy_directory(str(directory))
    clock.set(at(2028, 1, 2, 9, 0))
    engine.cases.start(classes.PROCESS_KEY, admin, {"branch": "east", "as_of": "2028-01-02"})
    row = classes.current_classes(get_customer("HD-E1-002").id)["value"]
    assert (row.previous, row.value, row.figures["score"], row.table_version) == (
        "general", "core", "70.00", "customer_classes v2")  # A: 70, and a grade of A
    assert row.figures["weights"] == {"contribution": "0", "support": "0", "credit": "20", "growth": "0",
                                      "influence": "0"}
    assert current("HD-E1-003")["value"] == "general"  # never rated: 50
    assert len([n for n in told("rep_e1") if str(classes.KINDS[classes.VALUE]) in n.data["task"]]) == 2

    edit(weights, '<outputEntry id="every_branch_credit"><text>20</text>',
         '<outputEntry id="every_branch_credit"><text>0</text>')
    engine.deployment.deploy_directory(str(directory))
    clock.set(at(2028, 1, 3, 9, 0))
    with pytest.raises(DefinitionFault):  # no weight at all: the service refuses, nothing is kept
        engine.cases.start(classes.PROCESS_KEY, admin, {"branch": "east", "as_of": "2028-01-03"})
    db.session.rollback()
    assert classes.current_classes(get_customer("HD-E1-002").id)["value"].value == "core"
    assert db.session.scalar(select(Incident.element).order_by(Incident.id.desc()).limit(1)) == "classify_value"


def test_a_potential_customer_is_in_no_class_until_it_trades(engine, east_2027):
    """A potential customer (not traded yet) gets no ABC class, tier or value class, and does not count
    among the branch's customers."""
    clock.set(at(2028, 1, 1, 9, 0))
    db.session.execute(update(Customer).where(Customer.code == "HD-E1-003").values(potential=True))
    db.session.commit()
    try:
        engine.cases.start(classes.PROCESS_KEY, get_user("admin"), {"branch": "east", "as_of": "2028-01-01"})
        assert current("HD-E1-003") == {}
        assert classes.current_classes(get_customer("HD-E1-001").id)["abc"].figures["customers"] == 4
    finally:
        db.session.rollback()
        db.session.execute(update(Customer).where(Customer.code == "HD-E1-003").values(potential=False))
        db.session.commit()
