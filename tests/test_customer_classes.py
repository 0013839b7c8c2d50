"""Customer classes (app.domain.classes, processes/customer_classes.bpmn): the ABC class by share of the
branch's amount and the volume tier by monthly average tons, each decided by its table at every
boundary, recomputed by the schedule on a controlled clock, kept as history only on change, a move told
to the territory's rep, and a table edited by a process administrator deciding from its new version on."""
from __future__ import annotations

import shutil
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from conftest import edit, fire_due, get_customer, get_user
from flask import current_app, render_template
from sqlalchemy import delete, select

from app import db
from app.calendar import clock
from app.domain import classes
from app.domain.customers import Customer
from app.domain.notifications import Notification
from app.engine import definitions
from app.engine.models import SCHEDULE, Event, Instance, Timer
from app.errors import Conflict, Forbidden, InvalidData

SHANGHAI = ZoneInfo("Asia/Shanghai")
EAST = ("HD-E1-001", "HD-E1-002", "HD-E1-003", "HD-E2-001", "HD-E2-002")


def at(*args) -> datetime:
    return datetime(*args, tzinfo=SHANGHAI)


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
        "HD-E1-001": {"abc": "A", "volume": "4"},   # 58.3 t a month
        "HD-E1-002": {"abc": "B", "volume": "6"},   # 16.7 t
        "HD-E2-001": {"abc": "C", "volume": "7"},   # exactly 5 t
        "HD-E2-002": {"abc": "C", "volume": "8"},   # 3.3 t
        "HD-E1-003": {"abc": "C", "volume": "8"},   # nothing
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
    assert rows("HD-E1-001") == [("abc", None, "A"), ("volume", None, "4")]
    assert classes.current_classes(get_customer("HD-E1-001").id)["abc"].confirmed_at == at(2028, 2, 1, 2, 0, 1)
    assert rows("HD-E2-002") == [("abc", None, "C"), ("volume", None, "8"), ("abc", "C", "A"), ("volume", "8", "4")]
    assert current("HD-E2-002") == {"abc": "A", "volume": "4"}
    moved = list(db.session.scalars(select(Event).where(Event.type == classes.MOVED).order_by(Event.id)))
    assert [(e.data["customer_code"], e.data["kind"], e.data["from"], e.data["to"]) for e in moved] == [
        ("HD-E2-002", "abc", "C", "A"), ("HD-E2-002", "volume", "8", "4")]
    assert len(told("rep_e2")) == 2 and told("rep_e1") == []
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
