"""Maker–checker for sensitive processes (issue 15): a new version of the borrowing or the credit rating
deployed from the administration pages waits, pending, until a second person (another process
administrator than its deployer, or a compliance reviewer) has approved it, with its changes against
the version in force before him; a rejection, with a reason, keeps the version in force. Deploying,
approving and rejecting are events of the audit trail (on the chain of events about no case). Files of
processes/ deployed by the command line, and versions of other processes, take effect at once.

The page tests sign in two people, each with a test client of his own: they run outside the `ctx` app
context (which would share one signed-in user between the clients) and read the database in contexts of
their own.
"""
from __future__ import annotations

import io
from pathlib import Path

import pytest
from conftest import Browser, get_customer, get_user
from sqlalchemy import select, text

from app import db
from app.engine import audit, definitions
from app.engine.models import Event, Instance
from app.errors import Conflict, Forbidden, InvalidData

PROCESS = "dossier_borrowing"
PAGE = f"/admin/processes/{PROCESS}"
BORROWING = (Path(__file__).resolve().parent.parent / "processes" / "dossier_borrowing.bpmn").read_text(encoding="utf-8")
RENAMED = BORROWING.replace('name="业务部主管同意"', 'name="业务部主管审核"')


def signed_in(app, username: str) -> Browser:
    browser = Browser(app)
    assert browser.login(username).status_code == 302
    return browser


def upload(browser: Browser, xml: str = RENAMED, note: str = "业务部环节改称审核", key: str = PROCESS):
    page = f"/admin/processes/{key}"
    return browser.client.post(f"{page}/deploy", content_type="multipart/form-data", data={
        "file": (io.BytesIO(xml.encode()), f"{key}.bpmn"), "change_note": note, "csrf_token": browser.csrf(page)})


def review(browser: Browser, number: int, decision: str, reason: str = ""):
    return browser.submit(PAGE, {"decision": decision, "reason": reason}, f"{PAGE}/v{number}/review")


def state(app, key: str = PROCESS) -> dict:
    """The process's versions as the application sees them, and the version a new case starts on."""
    with app.app_context():
        pending = definitions.pending_version(key)
        return {"versions": [d.version for d in definitions.versions(key)],
                "in force": definitions.latest_definition(key).version,
                "pending": pending.version if pending else None}


def new_case_version(app) -> int:
    with app.app_context():
        instance = app.extensions["engine"].cases.start(PROCESS, get_user("rep_e2"), {
            "customer_id": get_customer("HD-E1-002").id, "purpose": "复核合同条款", "days": 3})
        version = instance.definition.version
        app.extensions["engine"].operations.withdraw(instance.id, get_user("rep_e2"), "只是试试版本")
        return version


def caseless_events(app) -> list[tuple]:
    with app.app_context():
        return [(e.type, e.actor.username if e.actor else None, e.data["process_key"], e.data["version"], e.data)
                for e in db.session.scalars(select(Event).where(Event.instance_id.is_(None)).order_by(Event.id))]


def trail_verifies(app) -> bool:
    with app.app_context():
        return audit.verify() == []


# -- pending until a second person approves ---------------------------------------------------------------

def test_a_sensitive_version_waits_and_another_administrator_approves_it(app, second_admin):
    deployer = signed_in(app, "admin")
    deployed = upload(deployer)
    assert deployed.status_code == 302
    assert state(app) == {"versions": [2, 1], "in force": 1, "pending": 2}
    assert new_case_version(app) == 1  # new cases keep starting on the version in force

    listing = deployer.client.get("/admin/processes").get_data(as_text=True)
    assert 'data-testid="pending-badge"' in listing
    page = deployer.client.get(PAGE).get_data(as_text=True)
    assert 'data-testid="pending-version" data-version="2"' in page
    assert "consent_business_dept" in page and "业务部环节改称审核" in page  # its changes and its note
    assert 'data-testid="review-refused"' in page and 'data-testid="review-version"' not in page

    # The one who deployed it may not approve it himself, nor reject it.
    assert review(deployer, 2, "approve").status_code == 403
    assert review(deployer, 2, "reject", "我自己撤回").status_code == 403
    assert state(app)["pending"] == 2

    checker = signed_in(app, second_admin)
    assert 'data-testid="review-version"' in checker.client.get(PAGE).get_data(as_text=True)
    assert review(checker, 2, "approve").status_code == 302
    assert state(app) == {"versions": [2, 1], "in force": 2, "pending": None}
    assert new_case_version(app) == 2
    with app.app_context():
        approved = definitions.version(PROCESS, 2)
        assert (approved.deployed_by.username, approved.approved_by.username) == ("admin", second_admin)

    events = caseless_events(app)
    assert [(t, who, key, number) for t, who, key, number, _ in events] == [
        ("version_deployed", "admin", PROCESS, 2), ("version_approved", second_admin, PROCESS, 2)]
    assert events[0][4]["pending"] is True and events[0][4]["change_note"] == "业务部环节改称审核"
    assert trail_verifies(app)
    assert review(checker, 2, "approve").status_code == 302  # decided already: refused with a message
    assert len(caseless_events(app)) == 2


def test_a_compliance_reviewer_approves_it_and_changes_nothing_else(app):
    upload(signed_in(app, "admin"))
    auditor = signed_in(app, "auditor")
    page = auditor.client.get(PAGE)
    assert page.status_code == 200 and 'data-testid="review-version"' in page.get_data(as_text=True)
    assert 'data-testid="upload"' not in page.get_data(as_text=True)  # the page shows him no administration
    # His one change: no upload, no validation, no other administration.
    token = auditor.csrf(PAGE)
    for url in (f"{PAGE}/deploy", f"{PAGE}/check", "/admin/cases/1/suspend", f"{PAGE}/migrate"):
        assert auditor.client.post(url, json={"xml": RENAMED, "change_note": "x"},
                                   headers={"X-CSRFToken": token}).status_code == 403, url
    for url in (f"{PAGE}/modeler", f"{PAGE}/cases", "/admin/incidents"):
        assert auditor.client.get(url).status_code == 403, url
    assert review(auditor, 2, "approve").status_code == 302
    assert state(app)["in force"] == 2 and new_case_version(app) == 2
    assert [(t, who) for t, who, *_ in caseless_events(app)] == [("version_deployed", "admin"),
                                                                ("version_approved", "auditor")]
    assert trail_verifies(app)


def test_nobody_else_reaches_the_approval(app):
    upload(signed_in(app, "admin"))
    for username in ("mgr_east", "biz_east", "rep_e1"):
        someone = signed_in(app, username)
        assert someone.client.get(PAGE).status_code == 403
        token = someone.csrf("/inbox")
        assert someone.client.post(f"{PAGE}/v2/review", data={"decision": "approve", "csrf_token": token}
                                   ).status_code == 403, username
    assert state(app)["pending"] == 2


def test_a_rejection_with_its_reason_keeps_the_version_in_force(app, second_admin):
    upload(signed_in(app, "admin"))
    checker = signed_in(app, second_admin)
    review(checker, 2, "reject", "  ")  # a rejection needs its reason
    assert state(app)["pending"] == 2
    review(checker, 2, "reject", "审核环节改名未经业务部同意")
    assert state(app) == {"versions": [2, 1], "in force": 1, "pending": None}
    assert new_case_version(app) == 1
    page = checker.client.get(PAGE).get_data(as_text=True)
    assert "审核环节改名未经业务部同意" in page and 'data-testid="pending-version"' not in page
    with app.app_context():
        rejected = definitions.version(PROCESS, 2)
        assert (rejected.rejected_by.username, rejected.rejected_reason, rejected.approved_at) == (
            second_admin, "审核环节改名未经业务部同意", None)
    events = caseless_events(app)
    assert [(t, who) for t, who, *_ in events] == [("version_deployed", "admin"), ("version_rejected", second_admin)]
    assert events[1][4]["reason"] == "审核环节改名未经业务部同意"
    assert trail_verifies(app)

    # The same document may be deployed again, as the next version: pending again.
    upload(signed_in(app, "admin"), note="再次提交")
    assert state(app) == {"versions": [3, 2, 1], "in force": 1, "pending": 3}


def test_one_version_waits_at_a_time(app):
    deployer = signed_in(app, "admin")
    upload(deployer)
    again = deployer.client.post(f"{PAGE}/deploy", json={"xml": RENAMED.replace("审核", "复核"), "change_note": "再改"},
                                 headers={"X-CSRFToken": deployer.csrf(PAGE)})
    assert again.status_code == 409 and "2" in again.get_json()["problems"][0]["message"]
    assert state(app) == {"versions": [2, 1], "in force": 1, "pending": 2}


def test_the_credit_rating_is_sensitive_too(app):
    with app.app_context():
        document = definitions.latest_definition("credit_rating").bpmn_xml
    upload(signed_in(app, "admin"), document.replace('name="客户信用等级评定"', 'name="客户信用评级"', 1),
           note="改名", key="credit_rating")
    assert state(app, "credit_rating") == {"versions": [2, 1], "in force": 1, "pending": 2}


# -- what takes effect at once ------------------------------------------------------------------------------

def test_a_process_that_is_not_sensitive_deploys_at_once(app):
    with app.app_context():
        document = definitions.latest_definition("star_rating").bpmn_xml
    admin = signed_in(app, "admin")
    upload(admin, document.replace('name="分公司初评"', 'name="分公司星级初评"'), note="改名", key="star_rating")
    assert state(app, "star_rating") == {"versions": [2, 1], "in force": 2, "pending": None}
    assert 'data-testid="pending-version"' not in admin.client.get("/admin/processes/star_rating").get_data(as_text=True)
    (event,) = caseless_events(app)
    assert event[:4] == ("version_deployed", "admin", "star_rating", 2) and event[4]["pending"] is False
    assert trail_verifies(app)


def test_the_command_line_installs_a_sensitive_version_at_once(engine, tmp_path):
    (tmp_path / "dossier_borrowing.bpmn").write_text(RENAMED, encoding="utf-8")
    (created,) = engine.deployment.deploy_directory(tmp_path)
    assert (created.version, created.approved_at is not None, created.approved_by_id) == (2, True, None)
    assert definitions.latest_definition(PROCESS).version == 2


# -- the engine's own refusals --------------------------------------------------------------------------------

def test_the_engine_refuses_what_the_pages_refuse(engine, second_admin):
    admin, other = get_user("admin"), get_user(second_admin)
    pending = engine.deployment.deploy_document(RENAMED, "dossier_borrowing.bpmn", PROCESS, admin, "改名", {})
    assert pending.is_pending and definitions.latest_definition(PROCESS).version == 1
    with pytest.raises(Forbidden):
        engine.deployment.approve(pending.id, admin)
    with pytest.raises(Forbidden):
        engine.deployment.approve(pending.id, get_user("mgr_east"))
    with pytest.raises(Conflict):  # another version while this one waits
        engine.deployment.deploy_document(BORROWING.replace("业务部主管同意", "业务部同意"), "dossier_borrowing.bpmn",
                                          PROCESS, other, "再改", {})
    with pytest.raises(InvalidData):
        engine.deployment.reject(pending.id, other, "")
    engine.deployment.approve(pending.id, other)
    with pytest.raises(Conflict):
        engine.deployment.reject(pending.id, get_user("auditor"), "晚了")
    assert definitions.latest_definition(PROCESS).version == 2


def test_a_version_superseded_from_the_command_line_can_no_longer_take_effect(engine, tmp_path):
    pending = engine.deployment.deploy_document(RENAMED, "dossier_borrowing.bpmn", PROCESS, get_user("admin"),
                                                "改名", {})
    (tmp_path / "dossier_borrowing.bpmn").write_text(BORROWING.replace("业务部主管同意", "业务部同意"), encoding="utf-8")
    engine.deployment.deploy_directory(tmp_path)
    assert definitions.latest_definition(PROCESS).version == 3 and definitions.pending_version(PROCESS) is None
    with pytest.raises(Conflict):
        engine.deployment.approve(pending.id, get_user("auditor"))
    engine.deployment.reject(pending.id, get_user("auditor"), "已被新版本取代")
    assert definitions.latest_definition(PROCESS).version == 3


# -- the chain of events about no case ----------------------------------------------------------------------

def test_events_about_no_case_are_one_chain_that_checkpoints_seal(engine, second_admin):
    admin, other = get_user("admin"), get_user(second_admin)
    first = engine.deployment.deploy_document(RENAMED, "dossier_borrowing.bpmn", PROCESS, admin, "改名", {})
    engine.deployment.reject(first.id, other, "不必改名")
    second = engine.deployment.deploy_document(RENAMED, "dossier_borrowing.bpmn", PROCESS, admin, "改名", {})
    engine.deployment.approve(second.id, other)
    chain = list(db.session.scalars(select(Event).where(Event.instance_id.is_(None)).order_by(Event.id)))
    assert [e.type for e in chain] == ["version_deployed", "version_rejected", "version_deployed", "version_approved"]
    assert chain[0].prev_hash == audit.GENESIS
    assert all(later.prev_hash == earlier.hash for earlier, later in zip(chain, chain[1:], strict=False))
    assert audit.verify() == []

    sealed = audit.checkpoint(engine.clock.now())
    assert sealed.heads[audit.CASELESS] == [chain[-1].id, chain[-1].hash]
    # Someone removes the approval from the trail: the checkpoint that sealed it says so.
    if db.dialect() == "postgresql":
        db.session.execute(text("SET LOCAL app.audit_maintenance = 'on'"))
    db.session.execute(text("DELETE FROM events WHERE id = :id"), {"id": chain[-1].id})
    db.session.commit()
    findings = audit.verify()
    assert any(f.event_id == chain[-1].id and f.instance_id is None and f"checkpoint {sealed.id}" in f.problem
               for f in findings), findings


def test_a_started_case_keeps_its_version_whatever_is_approved_later(engine, second_admin):
    case = engine.cases.start(PROCESS, get_user("rep_e2"), {"customer_id": get_customer("HD-E1-002").id,
                                                             "purpose": "复核合同条款", "days": 3})
    pending = engine.deployment.deploy_document(RENAMED, "dossier_borrowing.bpmn", PROCESS, get_user("admin"),
                                                "改名", {})
    with pytest.raises(Conflict):  # nothing newer in force to move it to
        engine.admin.migrate(case.id, get_user("admin"), "迁移")
    engine.deployment.approve(pending.id, get_user(second_admin))
    engine.admin.migrate(case.id, get_user("admin"), "迁移到已批准的版本")
    db.session.expire_all()
    assert db.session.get(Instance, case.id).definition.version == 2
