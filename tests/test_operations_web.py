"""The approval operations through the JSON API and the pages: each one, and each refusal with its
status code and the field it names."""
from __future__ import annotations

from datetime import UTC, datetime

import pytest
from conftest import get_customer, get_user
from sqlalchemy import select

from app import db
from app.calendar import clock
from app.engine.models import Task

PROCESS = "dossier_borrowing"
T0 = datetime(2026, 3, 2, 1, 0, tzinfo=UTC)


@pytest.fixture(autouse=True)
def march(ctx):
    clock.set(T0)


def borrow(api, username="rep_e2", code="HD-E1-001", purpose="季度拜访准备") -> dict:
    response = api.post(f"/processes/{PROCESS}/instances", username, {"data": {
        "customer_id": get_customer(code).id, "purpose": purpose, "days": 5}})
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def waiting(api, case: dict) -> dict:
    return api.get(f"/instances/{case['id']}", case["started_by"]).get_json()["tasks"][0]


def test_transfer_through_the_api(api):
    task = waiting(api, borrow(api))
    refused = api.post(f"/tasks/{task['id']}/transfer", "rep_e1", {"to": "rep_n1", "comment": "请代办"})
    assert refused.status_code == 400 and "to" in refused.get_json()["error"]["fields"]
    unknown = api.post(f"/tasks/{task['id']}/transfer", "rep_e1", {"to": "nobody", "comment": "请代办"})
    assert unknown.status_code == 400 and "to" in unknown.get_json()["error"]["fields"]
    silent = api.post(f"/tasks/{task['id']}/transfer", "rep_e1", {"to": "mgr_east"})
    assert silent.status_code == 400 and "comment" in silent.get_json()["error"]["fields"]
    done = api.post(f"/tasks/{task['id']}/transfer", "rep_e1", {"to": "mgr_east", "comment": "请赵经理处理"})
    assert done.status_code == 200 and done.get_json()["assignee"] == "mgr_east"
    assert api.post(f"/tasks/{task['id']}/transfer", "rep_e1", {"to": "biz_east", "comment": "x"}).status_code == 403


def test_signers_through_the_api(api):
    task = waiting(api, borrow(api))
    no_decision = api.post(f"/tasks/{task['id']}/signers", "rep_e1", {"signer": "mgr_east", "position": "after_sign"})
    assert no_decision.status_code == 400
    side = api.post(f"/tasks/{task['id']}/signers", "rep_e1", {"signer": "mgr_east", "position": "before_sign",
                                                              "comment": "请先看"})
    assert side.status_code == 201
    side = side.get_json()
    deeper = api.post(f"/tasks/{side['id']}/signers", "mgr_east", {"signer": "salesmgr_east",
                                                                  "position": "before_sign"})
    assert deeper.status_code == 403  # an added signer adds nobody
    assert api.post(f"/tasks/{task['id']}/complete", "rep_e1",
                    {"data": {"decision": "approve"}}).status_code == 409  # waits for the signer
    assert api.post(f"/tasks/{side['id']}/complete", "mgr_east",
                    {"data": {"decision": "approve", "comment": "可以"}}).status_code == 200
    assert api.post(f"/tasks/{task['id']}/complete", "rep_e1",
                    {"data": {"decision": "approve", "comment": "同意"}}).status_code == 200


def test_send_back_withdraw_urge_through_the_api(api):
    case = borrow(api)
    task = waiting(api, case)
    targets = api.get(f"/tasks/{task['id']}/send-back", "rep_e1").get_json()
    assert [t["step"] for t in targets] == ["request"]  # nothing else was passed yet
    not_passed = api.post(f"/tasks/{task['id']}/send-back", "rep_e1", {"to": "consent_branch_manager",
                                                                       "comment": "看看"})
    assert not_passed.status_code == 400 and "to" in not_passed.get_json()["error"]["fields"]

    assert api.post(f"/tasks/{task['id']}/urge", "rep_e2", {"comment": "请尽快"}).status_code == 200
    again = api.post(f"/tasks/{task['id']}/urge", "rep_e2", {})
    assert again.status_code == 409
    assert api.post(f"/tasks/{task['id']}/urge", "rep_n1", {}).status_code == 403  # not his case

    assert api.post(f"/tasks/{task['id']}/complete", "rep_e1",
                    {"data": {"decision": "approve", "comment": "同意"}}).status_code == 200
    late = api.post(f"/instances/{case['id']}/withdraw", "rep_e2", {"reason": "不需要了"})
    assert late.status_code == 409

    fresh = borrow(api, code="HD-E1-002")
    assert api.post(f"/instances/{fresh['id']}/withdraw", "rep_e2", {}).status_code == 400
    withdrawn = api.post(f"/instances/{fresh['id']}/withdraw", "rep_e2", {"reason": "客户已提供资料"})
    assert withdrawn.status_code == 200 and withdrawn.get_json()["status"] == "withdrawn"


def test_copy_batch_notifications_and_away_through_the_api(api):
    first, second = borrow(api), borrow(api, "rep_n1", "HD-E1-002")
    other = borrow(api, "rep_e1", "HB-N1-001")
    copied = api.post(f"/instances/{first['id']}/readers", "rep_e2", {"readers": ["mgr_north"], "note": "供参考"})
    assert copied.status_code == 201 and copied.get_json()["readers"] == ["mgr_north"]
    assert [c["id"] for c in api.get("/copied", "mgr_north").get_json()] == [first["id"]]
    assert api.post(f"/instances/{first['id']}/readers", "rep_n1", {"readers": ["leader"]}).status_code == 403
    several = api.post(f"/instances/{first['id']}/readers", "rep_e2", {"readers": ["mgr_east", "biz_east"]})
    assert several.status_code == 201 and sorted(several.get_json()["readers"]) == ["biz_east", "mgr_east"]

    ids = [waiting(api, first)["id"], waiting(api, second)["id"], waiting(api, other)["id"]]
    results = api.post("/tasks/approve", "rep_e1", {"tasks": ids, "comment": "同意"}).get_json()["results"]
    assert results[str(ids[0])] is None and results[str(ids[1])] is None and results[str(ids[2])]

    mine = api.get("/notifications", "rep_e1").get_json()
    assert mine["unread"] == 2 and {n["kind"] for n in mine["items"]} == {"task_assigned"}
    assert api.post("/notifications/read", "rep_e1", {}).get_json()["unread"] == 0

    period = {"deputy": "mgr_east", "starts_at": "2026-03-05T08:00", "ends_at": "2026-03-09T18:00"}
    assert api.post("/me/away", "rep_e1", period).status_code == 201
    overlapping = api.post("/me/away", "rep_e1", {**period, "starts_at": "2026-03-08T08:00",
                                                  "ends_at": "2026-03-12T18:00"})
    assert overlapping.status_code == 400 and "starts_at" in overlapping.get_json()["error"]["fields"]
    for_another = api.post("/me/away", "rep_e1", {**period, "person": "rep_e2"})
    assert for_another.status_code == 403
    assert api.post("/me/away", "admin", {**period, "person": "rep_e2", "deputy": "rep_e1"}).status_code == 201


def test_the_task_page_offers_the_operations_to_its_assignee(pages, api):
    case = borrow(api)
    task = waiting(api, case)
    pages.login("rep_e1")
    page = pages.client.get(f"/tasks/{task['id']}").get_data(as_text=True)
    assert all(f'data-testid="{name}"' in page for name in ("transfer", "send-back", "add-signer"))
    assert 'list="colleagues"' in page and '<option value="mgr_east">' in page  # his branch to pick from
    assert '<option value="rep_n1">' not in page
    refused = pages.submit(f"/tasks/{task['id']}", {"transfer-to": "rep_n1", "transfer-comment": "请代办"},
                           f"/tasks/{task['id']}/transfer")
    assert refused.status_code == 400 and "is-invalid" in refused.get_data(as_text=True)
    sent = pages.submit(f"/tasks/{task['id']}", {"back-to": "request", "back-comment": "请写明借阅范围"},
                        f"/tasks/{task['id']}/send-back")
    assert sent.status_code == 302
    assert db.session.scalar(select(Task).where(Task.instance_id == case["id"], Task.kind == "resubmit")) is not None


def test_the_initiator_revises_a_request_sent_back_with_what_he_filed(pages, api):
    case = borrow(api)
    task = waiting(api, case)
    assert api.post(f"/tasks/{task['id']}/send-back", "rep_e1",
                    {"to": "request", "comment": "请写明借阅范围"}).status_code == 200
    revise = db.session.scalar(select(Task).where(Task.instance_id == case["id"], Task.kind == "resubmit"))
    pages.login("rep_e2")
    form = pages.client.get(f"/tasks/{revise.id}").get_data(as_text=True)
    assert "季度拜访准备" in form  # what he filed before
    case_page = pages.client.get(f"/cases/{case['id']}").get_data(as_text=True)
    assert 'data-testid="withdraw"' in case_page and 'data-testid="readers"' in case_page
    assert "请写明借阅范围" in pages.client.get("/notifications").get_data(as_text=True)
    assert pages.client.get("/away").status_code == 200
    revised = pages.submit(f"/tasks/{revise.id}", {"customer_id": get_customer("HD-E1-001").id,
                                                    "purpose": "核对合同条款", "days": "3"})
    assert revised.status_code == 302
    db.session.expire_all()
    assert waiting(api, case)["name"] == "片区销售代表同意"
    assert get_user("rep_e2").id == revise.assignee_id


def test_the_inbox_previews_the_newest_comment_and_offers_batch_approval(pages, api):
    case = borrow(api)
    task = waiting(api, case)
    assert api.post(f"/tasks/{task['id']}/complete", "rep_e1",
                    {"data": {"decision": "approve", "comment": "同意，仅限合同部分"}}).status_code == 200
    pages.login("biz_east")
    inbox = pages.client.get("/inbox").get_data(as_text=True)
    assert 'data-testid="last-comment"' in inbox and "同意，仅限合同部分" in inbox
    assert 'name="tasks"' not in inbox  # offered to his group, not yet his: claim first
    business = waiting(api, case)
    assert api.post(f"/tasks/{business['id']}/claim", "biz_east").status_code == 200
    assert 'name="tasks"' in pages.client.get("/inbox").get_data(as_text=True)
    approved = pages.submit("/inbox", {"tasks": str(business["id"]), "comment": "同意"}, "/inbox/approve")
    assert approved.status_code == 302
    assert api.get(f"/instances/{case['id']}", "rep_e2").get_json()["outcome"] == "approved"
