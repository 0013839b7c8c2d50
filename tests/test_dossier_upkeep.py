"""Dossier upkeep (seeds 000, 003): the rep edits his own territory's dossiers (only there; the code and
system-generated fields are never typed; every change is kept), and before each month ends every
branch sends HQ the month's changes with a note; HQ sees them as a diff, files or returns the report."""
from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from conftest import fire_due, get_customer, get_user
from flask import current_app
from sqlalchemy import select

from app import db
from app.calendar import clock
from app.domain import dossier_upkeep
from app.domain.dossier_upkeep import DossierChange
from app.engine.models import OPEN, Event, Instance, Task
from app.errors import Conflict, Forbidden, InvalidData
from app.policy import EDIT_DOSSIER

SHANGHAI = ZoneInfo("Asia/Shanghai")
PROCESS = "dossier_update"
E1 = "HD-E1-001"  # a customer of territory E1 (rep_e1), branch east


def at(*args) -> datetime:
    return datetime(*args, tzinfo=SHANGHAI)


@pytest.fixture
def dossier(ctx):
    """Put the E1 customer's typed fields back after the test."""
    customer = get_customer(E1)
    kept = {name: getattr(customer, name) for name in dossier_upkeep.KIND_OF}
    yield customer
    db.session.rollback()
    customer = get_customer(E1)
    for name, value in kept.items():
        setattr(customer, name, value)
    db.session.commit()


def test_the_rep_edits_his_own_dossier_and_every_change_is_kept(dossier):
    clock.set(at(2026, 10, 10, 9, 0))
    changes = dossier_upkeep.edit(dossier, get_user("rep_e1"), {"phone": "021-58300000", "status": "暂停供货",
                                                                "equipment": dossier.equipment}, clock.now())
    assert sorted((c.field, c.kind, c.new) for c in changes) == [("phone", "dynamic", "021-58300000"),
                                                                 ("status", "dynamic", "暂停供货")]
    assert get_customer(E1).phone == "021-58300000"
    policy = current_app.extensions["policy"]
    with pytest.raises(Forbidden):
        policy.require(get_user("rep_e2"), EDIT_DOSSIER, dossier)  # another territory
    with pytest.raises(Forbidden):
        policy.require(get_user("biz_east"), EDIT_DOSSIER, dossier)
    with pytest.raises(InvalidData):
        dossier_upkeep.edit(dossier, get_user("rep_e1"), {"code": "HD-E1-999"}, clock.now())
    with pytest.raises(InvalidData):
        dossier_upkeep.edit(dossier, get_user("rep_e1"), {"credit_grade": "AAA"}, clock.now())


def test_the_api_and_the_page_edit_only_typed_fields_of_ones_own_territory(dossier, api, pages):
    response = api.post(f"/customers/{dossier.id}/dossier", "rep_e1", {"settlement_method": "周结"})
    assert response.status_code == 200 and response.get_json() == [
        {"field": "settlement_method", "kind": "dynamic", "old": "月结", "new": "周结"}]
    assert api.post(f"/customers/{dossier.id}/dossier", "rep_e1", {"key_customer": True}).status_code == 400
    assert api.post(f"/customers/{dossier.id}/dossier", "rep_e1", {"monthly_demand_tons": "-1"}).status_code == 400
    assert api.post(f"/customers/{dossier.id}/dossier", "rep_e2", {"phone": "1"}).status_code == 403
    pages.login("rep_e1")
    page = pages.client.get(f"/customers/{dossier.id}/edit").get_data(as_text=True)
    assert 'name="code"' not in page and 'name="credit_grade"' not in page and 'name="phone"' in page
    assert "周结" in pages.client.get(f"/customers/{dossier.id}").get_data(as_text=True)  # the change list


def report_tasks(instance: Instance) -> dict[str, Task]:
    db.session.expire_all()
    return {t.spec_id: t for t in db.session.scalars(select(Task).where(Task.instance_id == instance.id,
                                                                        Task.state == OPEN))}


def act(engine, instance: Instance, spec: str, username: str, data: dict) -> None:
    task = report_tasks(instance)[spec]
    if task.assignee_id is None:
        engine.cases.claim(task.id, get_user(username))
    engine.cases.complete(task.id, get_user(username), data)


def test_the_month_end_report_carries_the_changes_to_hq_as_a_diff(engine, dossier, api):
    clock.set(at(2026, 10, 10, 9, 0))
    dossier_upkeep.edit(dossier, get_user("rep_e1"), {"delivery_route": "高桥油库—张江"}, clock.now())
    clock.set(at(2026, 10, 25, 9, 0))
    report = engine.cases.start(PROCESS, get_user("admin"), {"branch": "east", "month": "2026-10"})
    with pytest.raises(Conflict):
        engine.cases.start(PROCESS, get_user("admin"), {"branch": "east", "month": "2026-10"})
    with pytest.raises(InvalidData):
        engine.cases.start(PROCESS, get_user("admin"), {"branch": "east", "month": "2026-11"})  # not yet
    north = engine.cases.start(PROCESS, get_user("admin"), {"branch": "north", "month": "2026-10"})
    assert dossier_upkeep.reported_in(north.id) == []  # the east branch's change is not the north's
    (change,) = dossier_upkeep.reported_in(report.id)
    assert (change.field, change.old, change.new) == ("delivery_route", "高桥油库—张江—川沙", "高桥油库—张江")

    send = report_tasks(report)["send_report"]
    assert send.due_at == at(2026, 11, 1)  # before the month ends
    shown = api.get(f"/tasks/{send.id}", "spec_east").get_json()["context"]["changes"]
    assert [(c["customer"], c["field"], c["new"]) for c in shown] == [(E1, "delivery_route", "高桥油库—张江")]
    assert api.post(f"/tasks/{send.id}/claim", "spec_east").status_code == 200
    unexplained = api.post(f"/tasks/{send.id}/complete", "spec_east", {"data": {"note": ""}})
    assert unexplained.status_code == 400 and "note" in unexplained.get_json()["error"]["fields"]
    act(engine, report, "send_report", "spec_east", {"note": "浦江石化配送路线调整"})

    # HQ returns it once, the branch completes the note, HQ files it.
    act(engine, report, "review_report", "hq_mkt", {"decision": "return", "comment": "请写明调整原因"})
    act(engine, report, "send_report", "spec_east", {"note": "浦江石化配送路线调整：川沙段封路"})
    act(engine, report, "review_report", "hq_mkt", {"decision": "approve", "comment": ""})
    db.session.expire_all()
    assert db.session.get(Instance, report.id).outcome == "approved"

    # A change goes to HQ once: next month's report starts empty.
    clock.set(at(2026, 11, 25, 9, 0))
    assert dossier_upkeep.reported_in(engine.cases.start(PROCESS, get_user("admin"),
                                                   {"branch": "east", "month": "2026-11"}).id) == []


def test_the_schedule_opens_every_branchs_report_on_the_25th_and_reminds_at_month_end(engine, dossier):
    clock.set(at(2026, 10, 20, 9, 0))
    engine.deployment.deploy_directory(current_app.config["PROCESSES_DIR"])
    fire_due(engine, at(2026, 10, 25, 9, 0, 1))
    reports = list(db.session.scalars(select(Instance).where(Instance.process_key == PROCESS)))
    assert sorted(r.start_data["branch_code"] for r in reports) == ["east", "north"]
    assert {r.start_data["month"] for r in reports} == {"2026-10"}
    fire_due(engine, at(2026, 11, 1, 0, 0, 1))
    reminded = db.session.scalars(select(Event).where(Event.instance_id == reports[0].id,
                                                      Event.type == "reminder_sent")).all()
    assert len(reminded) == 1
    assert db.session.scalar(select(DossierChange.id)) is None
