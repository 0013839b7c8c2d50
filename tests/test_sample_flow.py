"""A flow is its own files: tests/sample_flow holds one (its BPMN, its forms module, its rules declaring
`FLOW`), plugged in by naming the package in FLOW_PACKAGES, and it runs end to end through the real engine,
the API and the pages without a line changed outside tests/."""
from pathlib import Path

import pytest
from conftest import edit
from sqlalchemy import select

from app import db, labels
from app.engine.definitions import DefinitionError
from app.engine.models import Event, Instance

SAMPLE = Path(__file__).parent / "sample_flow"
PROCESS = "expense_claim"


@pytest.fixture
def deployed(engine):
    assert [d.key for d in engine.deployment.deploy_directory(SAMPLE)] == [PROCESS]
    return engine


def claim(api, username: str, amount: str, purpose: str = "拜访客户的交通和住宿费用"):
    return api.post(f"/processes/{PROCESS}/instances", username, {"data": {"amount": amount, "purpose": purpose}})


def test_the_flow_is_plugged_in_from_its_own_declaration(app):
    extensions = app.extensions["engine"].extensions
    assert "expense_approver" in extensions.person_rules and "settle_expense" in extensions.services
    assert {"expense_claim", "expense_decision"} <= set(extensions.forms)
    assert extensions.processes[PROCESS].start is not None
    assert "expense_claim" in [flow.name for flow in app.extensions["flows"]]
    assert labels.EVENTS["expense_settled"] == "Expense settled"  # how its case history reads


def test_a_claim_within_the_limit_goes_to_the_branch_manager_and_is_settled(api, deployed):
    started = claim(api, "rep_e1", "1200.50")
    assert started.status_code == 201, started.get_json()
    [task] = started.get_json()["tasks"]
    assert (task["assignee"], task["form_key"]) == ("mgr_east", "expense_decision")
    assert started.get_json()["data"]["amount"] == "1200.50"  # what the start hook made of it

    done = api.post(f"/tasks/{task['id']}/complete", "mgr_east", {"data": {"decision": "approve", "comment": "同意"}})
    assert done.status_code == 200, done.get_json()
    instance = done.get_json()["instance"]
    assert (instance["status"], instance["outcome"], instance["tasks"]) == ("completed", "approved", [])
    events = [e["type"] for e in api.get(f"/instances/{instance['id']}/events", "rep_e1").get_json()]
    assert events.index("task_completed") < events.index("expense_settled") < events.index("instance_completed")


def test_a_large_claim_goes_to_the_deputy_and_a_refusal_settles_nothing(api, deployed):
    started = claim(api, "rep_e1", "8000")
    [task] = started.get_json()["tasks"]
    assert task["assignee"] == "deputy_gm"
    assert api.post(f"/tasks/{task['id']}/complete", "mgr_east",
                    {"data": {"decision": "approve"}}).status_code == 403  # not his
    done = api.post(f"/tasks/{task['id']}/complete", "deputy_gm", {"data": {"decision": "reject", "comment": "超标"}})
    assert done.get_json()["instance"]["outcome"] == "rejected"
    instance_id = done.get_json()["instance"]["id"]
    assert db.session.scalar(select(Event.id).where(Event.instance_id == instance_id,
                                                    Event.type == "expense_settled")) is None


def test_its_form_and_its_start_hook_check_the_claim(api, deployed):
    missing = api.post(f"/processes/{PROCESS}/instances", "rep_e1", {"data": {"amount": "10"}})
    assert missing.status_code == 400 and "purpose" in missing.get_json()["error"]["fields"]
    negative = claim(api, "rep_e1", "-5")
    assert negative.status_code == 400 and "amount" in negative.get_json()["error"]["fields"]
    assert db.session.scalar(select(Instance.id).where(Instance.process_key == PROCESS)) is None


def test_its_request_page_renders_its_form(pages, deployed):
    pages.login("rep_e2")
    page = pages.client.get(f"/requests/new/{PROCESS}")
    assert page.status_code == 200
    assert 'name="amount"' in page.get_data(as_text=True) and 'name="purpose"' in page.get_data(as_text=True)
    assert "费用报销" in pages.client.get("/requests/new").get_data(as_text=True)  # anyone may claim expenses


def test_a_definition_naming_parts_no_flow_plugged_in_is_refused(engine, tmp_path):
    copy = tmp_path / "expense_claim.bpmn"
    copy.write_text((SAMPLE / "expense_claim.bpmn").read_text(encoding="utf-8"), encoding="utf-8")
    edit(copy, 'camunda:topic="settle_expense"', 'camunda:topic="pay_out"')
    with pytest.raises(DefinitionError, match="pay_out"):
        engine.deployment.deploy_directory(tmp_path)
