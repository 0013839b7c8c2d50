"""Returns and exchanges (seed 004, processes/return_exchange.bpmn and return_period.dmn) through the engine and
the API on a controlled clock: within its period a request is approved by the system, outside it the
branch's sales manager decides; the warehouse confirms what came back and the case records the credit or
the replacement. The decision table at its boundaries, every gateway branch, every deadline, every refusal,
who sees what; the dossier and the failure analysis show the returns."""
import re
import shutil
from datetime import date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from conftest import clear_runtime_rows, edit, fire_due, get_customer, get_user
from flask import current_app
from sqlalchemy import delete, select

from app import db
from app.calendar import clock
from app.domain import failure_analysis, returns
from app.domain.customers import PurchaseRecord
from app.domain.notifications import Notification
from app.engine import definitions
from app.engine.models import COMPLETED, OPEN, Event, Incident, Instance, Task
from app.errors import DefinitionFault, Forbidden

SHANGHAI = ZoneInfo("Asia/Shanghai")
PROCESS = returns.PROCESS_KEY
MONDAY = datetime(2027, 3, 1, 10, 0, tzinfo=SHANGHAI)  # a working day; 2026-12-01 was 90 days before
NINETY_DAYS_BEFORE = date(2026, 12, 1)


def at(*args) -> datetime:
    return datetime(*args, tzinfo=SHANGHAI)


@pytest.fixture
def order(ctx):
    """order(code, delivered_on, tons, amount, delivered_tons=None) adds a purchase record; they go again
    afterwards, with the cases naming them."""
    made: list[int] = []

    def make(code="HD-E1-002", delivered_on=NINETY_DAYS_BEFORE, tons="30", amount="216000", delivered_tons=None,
             product="0号柴油") -> PurchaseRecord:
        record = PurchaseRecord(customer_id=get_customer(code).id, ordered_on=delivered_on - timedelta(days=2),
                                delivered_on=delivered_on, product=product, quantity_tons=Decimal(tons),
                                amount_yuan=Decimal(amount),
                                delivered_tons=Decimal(delivered_tons) if delivered_tons is not None else None)
        db.session.add(record)
        db.session.commit()
        made.append(record.id)
        return record

    yield make
    db.session.rollback()
    clear_runtime_rows()
    db.session.execute(delete(PurchaseRecord).where(PurchaseRecord.id.in_(made)))
    db.session.commit()


def request_data(record: PurchaseRecord, **changes) -> dict:
    return {"customer_id": record.customer_id, "purchase_id": record.id, "kind": "return", "tons": "10",
            "return_reason": "market_moved", "reason_text": "", "note": "客户下游工地停工", **changes}


def file(api, record, by="rep_e1", status=201, now=MONDAY, **changes) -> dict:
    clock.set(now)
    response = api.post(f"/processes/{PROCESS}/instances", by, {"data": request_data(record, **changes)})
    assert response.status_code == status, response.get_json()
    return response.get_json()


def open_tasks(instance_id: int) -> dict[str, Task]:
    db.session.expire_all()
    return {t.spec_id: t for t in db.session.scalars(select(Task).where(Task.instance_id == instance_id,
                                                                         Task.state == OPEN))}


def complete(api, instance_id, spec, username, data, status=200, claim=False):
    task = open_tasks(instance_id)[spec]
    if claim:
        assert api.post(f"/tasks/{task.id}/claim", username).status_code == 200
    response = api.post(f"/tasks/{task.id}/complete", username, {"data": data})
    assert response.status_code == status, response.get_json()
    return response.get_json()


def receive(api, instance_id, tons="10", condition="intact", note="", status=200):
    return complete(api, instance_id, "warehouse_receipt", "biz_east",
                    {"received_tons": tons, "condition": condition, "note": note}, status=status,
                    claim=open_tasks(instance_id)["warehouse_receipt"].assignee_id is None)


def request_of(instance_id) -> returns.ReturnRequest:
    db.session.expire_all()
    return returns.request_of(instance_id)


def instance(instance_id) -> Instance:
    db.session.expire_all()
    return db.session.get(Instance, instance_id)


def events(instance_id, kind) -> list[Event]:
    return list(db.session.scalars(select(Event).where(Event.instance_id == instance_id, Event.type == kind)))


# -- the decision table ---------------------------------------------------------------------------------

def decide(inputs: dict) -> dict:
    return current_app.extensions["engine"].decide(definitions.latest_definition(PROCESS), returns.DECISION, inputs)


@pytest.mark.parametrize("kind, grade, days, period, within", [
    ("direct", "", 0, 90, True), ("direct", "", 90, 90, True), ("direct", "", 91, 90, False),
    ("distributor", "", 90, 90, True), ("distributor", "AAA", 91, 90, False),
    ("distributor", "A", 90, 90, True),
    ("distributor", "B", 60, 60, True), ("distributor", "B", 61, 60, False),
    ("distributor", "C", 30, 30, True), ("distributor", "C", 31, 30, False),
    ("direct", "C", 90, 90, True), ("direct", "B", 91, 90, False),  # the shorter periods are distributors'
])
def test_the_period_table_at_its_boundaries(ctx, kind, grade, days, period, within):
    answer = decide(returns.period_inputs(kind, grade, days))
    assert (answer["period_days"], answer["within_period"]) == (period, within)


# -- the paths ------------------------------------------------------------------------------------------

def test_held_exactly_ninety_days_it_is_approved_by_the_system_and_credited(api, order):
    record = order()  # delivered 2026-12-01, 30 t for 216,000 yuan: 7,200 yuan a ton
    case = file(api, record)
    request = request_of(case["id"])
    assert (request.days_held, request.period_days, request.within_period, request.approval) == (90, 90, True, "auto")
    assert request.decided_by_id is None and request.table_version == f"{PROCESS} v1"
    assert "manager_decision" not in open_tasks(case["id"])
    task = open_tasks(case["id"])["warehouse_receipt"]
    assert task.assignee_id is None and task.is_offered_to(get_user("biz_east"))
    assert not task.is_offered_to(get_user("biz_north"))
    assert [e.data for e in events(case["id"], returns.AUTO_APPROVED)] == [{"days_held": 90, "period_days": 90}]

    receive(api, case["id"])
    request = request_of(case["id"])
    assert instance(case["id"]).outcome == "credited"
    assert (request.received_tons, request.shortfall_tons, request.unit_price_yuan, request.credit_yuan,
            request.replacement_tons) == (Decimal("10.00"), Decimal("0.00"), Decimal("7200.00"),
                                          Decimal("72000.00"), None)
    assert request.received_by.username == "biz_east"
    (settled,) = events(case["id"], returns.SETTLED)
    assert settled.data["credit_yuan"] == "72000.00" and settled.data["settled_as"] == "credited"
    shown = api.get(f"/instances/{case['id']}", "rep_e1").get_json()
    assert shown["status"] == "completed" and shown["outcome"] == "credited"


def test_one_day_more_goes_to_the_sales_manager_who_approves_an_exchange(api, order):
    record = order(delivered_on=NINETY_DAYS_BEFORE - timedelta(days=1))
    case = file(api, record, kind="exchange", return_reason="demand_misjudged", tons="12.5")
    request = request_of(case["id"])
    assert (request.days_held, request.within_period, request.approval) == (91, False, None)
    tasks = open_tasks(case["id"])
    assert set(tasks) == {"manager_decision"} and tasks["manager_decision"].assignee.username == "salesmgr_east"
    assert tasks["manager_decision"].due_at == at(2027, 3, 3, 10, 0)  # two working days

    complete(api, case["id"], "manager_decision", "salesmgr_east", {"decision": "approve", "comment": "老客户，同意换货"})
    request = request_of(case["id"])
    assert (request.approval, request.decided_by.username, request.decision_comment) == (
        "manager", "salesmgr_east", "老客户，同意换货")
    receive(api, case["id"], tons="12.5")
    request = request_of(case["id"])
    assert instance(case["id"]).outcome == "exchanged"
    assert (request.replacement_tons, request.credit_yuan) == (Decimal("12.50"), None)


def test_the_sales_manager_rejects_with_a_reason_and_the_tons_are_free_again(api, order):
    record = order(delivered_on=date(2026, 6, 1), tons="20", amount="144000")
    case = file(api, record, tons="20")
    complete(api, case["id"], "manager_decision", "salesmgr_east", {"decision": "reject", "comment": ""}, status=400)
    complete(api, case["id"], "manager_decision", "salesmgr_east",
             {"decision": "reject", "comment": "已超过九个月，不予退货"})
    done = instance(case["id"])
    assert (done.status, done.outcome) == (COMPLETED, "rejected")
    assert request_of(case["id"]).approval == "rejected"
    assert open_tasks(case["id"]) == {}
    told = db.session.scalars(select(Notification).where(Notification.user_id == get_user("rep_e1").id,
                                                         Notification.kind == "case_ended")).all()
    assert [(n.instance_id, n.data.get("outcome")) for n in told] == [(case["id"], "rejected")]
    assert returns.returnable(db.session.get(PurchaseRecord, record.id)) == Decimal("20.00")


def test_a_distributor_rated_c_has_thirty_days(api, order):
    customer = get_customer("HD-E1-001")
    customer.credit_grade = "C"
    db.session.commit()
    within = file(api, order(code="HD-E1-001", delivered_on=date(2027, 1, 30)))  # 30 days
    assert request_of(within["id"]).approval == "auto"
    beyond = file(api, order(code="HD-E1-001", delivered_on=date(2027, 1, 29)))  # 31 days
    request = request_of(beyond["id"])
    assert (request.period_days, request.within_period, request.approval) == (30, False, None)
    assert "manager_decision" in open_tasks(beyond["id"])


def test_a_shortfall_is_recorded_with_its_reason_and_credited_as_received(api, order):
    case = file(api, order())
    refused = receive(api, case["id"], tons="8", status=400)  # less, and no word why
    assert "note" in refused["error"]["fields"]
    refused = receive(api, case["id"], tons="10.5", status=400)  # more than asked back
    assert "received_tons" in refused["error"]["fields"]
    receive(api, case["id"], tons="8", condition="packaging_damaged", note="两桶在途中泄漏")
    request = request_of(case["id"])
    assert (request.received_tons, request.shortfall_tons, request.credit_yuan, request.condition) == (
        Decimal("8.00"), Decimal("2.00"), Decimal("57600.00"), "packaging_damaged")
    assert request.receipt_note == "两桶在途中泄漏"


def test_nothing_came_back_ends_the_case_so_and_takes_nothing_from_the_order(api, order):
    record = order()
    case = file(api, record, kind="exchange", return_reason="damaged_packaging")
    receive(api, case["id"], tons="0", note="客户未送回")
    assert instance(case["id"]).outcome == "nothing_received"
    request = request_of(case["id"])
    assert request.credit_yuan is None and request.replacement_tons is None
    assert returns.returnable(db.session.get(PurchaseRecord, record.id)) == Decimal("30.00")


# -- refusals -------------------------------------------------------------------------------------------

def test_no_more_tons_than_the_order_still_has(api, order):
    record = order(tons="30", delivered_tons="28")  # 28 t delivered of 30 ordered
    too_many = file(api, record, tons="28.01", status=400)
    assert "28.00" in too_many["error"]["fields"]["tons"][0]
    first = file(api, record, tons="20")
    left = file(api, record, tons="8.01", status=400)  # 20 of 28 are being taken back
    assert "8.00" in left["error"]["fields"]["tons"][0]
    receive(api, first["id"], tons="18", note="2 吨未退回")
    file(api, record, tons="10")  # 18 taken back: 10 left
    assert file(api, record, tons="0.01", status=400)["error"]["fields"]["tons"]


def test_an_order_of_another_customer_is_refused(api, order):
    others = order(code="HD-E1-003")
    refused = file(api, others, customer_id=get_customer("HD-E1-002").id, status=400)
    assert "purchase_id" in refused["error"]["fields"]
    assert file(api, others, purchase_id=999999, status=400)["error"]["fields"]["purchase_id"]


def test_damaged_packaging_is_exchanged_never_refunded(api, order):
    record = order()
    refused = file(api, record, return_reason="damaged_packaging", kind="return", status=400)
    assert "kind" in refused["error"]["fields"]
    with pytest.raises(Exception) as engine_refusal:  # the start hook says so to every caller
        current_app.extensions["engine"].cases.start(PROCESS, get_user("rep_e1"),
                                                     request_data(record, return_reason="damaged_packaging"))
    assert "kind" in engine_refusal.value.fields
    db.session.rollback()
    assert file(api, record, return_reason="damaged_packaging", kind="exchange")["id"]


def test_bad_input_gets_field_errors(api, order):
    record = order()
    assert "reason_text" in file(api, record, return_reason="other", status=400)["error"]["fields"]
    assert "tons" in file(api, record, tons="-1", status=400)["error"]["fields"]
    assert "tons" in file(api, record, tons="很多", status=400)["error"]["fields"]
    assert "kind" in file(api, record, kind="refund", status=400)["error"]["fields"]
    assert "customer_id" in file(api, record, customer_id="", status=400)["error"]["fields"]
    assert file(api, record, return_reason="other", reason_text="客户资金紧张")["id"]
    assert db.session.scalar(select(Instance.id).where(Instance.process_key == PROCESS).limit(1)) is not None


def deploy_edited(engine, tmp_path, old: str, new: str) -> None:
    """A second version of the process with one expression of its BPMN changed."""
    directory = tmp_path / "processes"
    directory.mkdir()
    for name in ("return_exchange.bpmn", "return_period.dmn"):
        shutil.copy(Path(current_app.config["PROCESSES_DIR"]) / name, directory / name)
    edit(directory / "return_exchange.bpmn", old, new)
    engine.deployment.deploy_directory(str(directory))


def test_outside_its_period_the_system_never_approves_even_if_a_definition_says_so(engine, order, tmp_path):
    deploy_edited(engine, tmp_path, "<bpmn:conditionExpression>within_period == True",
                  "<bpmn:conditionExpression>True")
    assert definitions.latest_definition(PROCESS).version == 2
    record = order(delivered_on=NINETY_DAYS_BEFORE - timedelta(days=1))
    clock.set(MONDAY)
    with pytest.raises(DefinitionFault) as refused:
        engine.cases.start(PROCESS, get_user("rep_e1"), request_data(record))
    assert "只能由销售经理批准" in str(refused.value)
    db.session.rollback()
    assert db.session.scalar(select(returns.ReturnRequest.id)) is None  # nothing kept, nothing approved
    clock.set(MONDAY)
    within = engine.cases.start(PROCESS, get_user("rep_e1"), request_data(order()))
    assert request_of(within.id).approval == "auto"  # within its period the edited version still works
    assert db.session.scalar(select(Incident.id).where(Incident.instance_id == within.id)) is None


def test_a_rejected_request_is_never_settled_even_if_a_definition_sends_it_on(engine, order, tmp_path):
    deploy_edited(engine, tmp_path, "<bpmn:conditionExpression>approval == 'manager'",
                  "<bpmn:conditionExpression>True")
    clock.set(MONDAY)
    case = engine.cases.start(PROCESS, get_user("rep_e1"), request_data(order(delivered_on=date(2026, 6, 1))))
    manager, clerk = get_user("salesmgr_east"), get_user("biz_east")
    engine.cases.complete(open_tasks(case.id)["manager_decision"].id, manager, {"decision": "reject", "comment": "不同意"})
    receipt = open_tasks(case.id)["warehouse_receipt"]  # the edited gateway sent it on
    engine.cases.claim(receipt.id, clerk)
    with pytest.raises(DefinitionFault) as refused:
        engine.cases.complete(receipt.id, clerk, {"received_tons": "10", "condition": "intact", "note": ""})
    assert "该申请未获批准" in str(refused.value)
    db.session.rollback()
    request = request_of(case.id)
    assert (request.approval, request.received_at, request.credit_yuan) == ("rejected", None, None)
    assert db.session.scalar(select(Incident.element).where(Incident.instance_id == case.id)) == "settle"


# -- deadlines ------------------------------------------------------------------------------------------

def test_the_sales_managers_deadline_reminds_him_then_tells_the_branch_manager(api, engine, order):
    case = file(api, order(delivered_on=date(2026, 10, 1)))
    assert fire_due(engine, at(2027, 3, 3, 9, 59)) == 0
    assert fire_due(engine, at(2027, 3, 3, 10, 0, 1)) == 1  # two working days: reminded
    (reminder,) = events(case["id"], "reminder_sent")
    assert [t["name"] for t in reminder.data["tasks"]] == ["销售经理审批退换货"]
    assert "decision_overdue_notice" not in open_tasks(case["id"])
    assert fire_due(engine, at(2027, 3, 5, 9, 59)) == 0
    assert fire_due(engine, at(2027, 3, 5, 10, 0, 1)) == 1  # four working days: the branch manager is told
    notice = open_tasks(case["id"])["decision_overdue_notice"]
    assert notice.assignee.username == "mgr_east"
    api.tokens.clear()
    complete(api, case["id"], "manager_decision", "salesmgr_east", {"decision": "reject", "comment": "超期过久"})
    assert instance(case["id"]).outcome == "rejected" and open_tasks(case["id"]) == {}  # the notice closes too


def test_the_warehouse_is_reminded_after_three_working_days(api, engine, order):
    clock.set(at(2027, 3, 5, 10, 0))  # a Friday: three working days is Wednesday
    case = file(api, order(delivered_on=date(2027, 2, 1)), now=at(2027, 3, 5, 10, 0))
    assert open_tasks(case["id"])["warehouse_receipt"].due_at == at(2027, 3, 10, 10, 0)
    assert fire_due(engine, at(2027, 3, 10, 9, 59)) == 0
    assert fire_due(engine, at(2027, 3, 10, 10, 0, 1)) == 1
    (reminder,) = events(case["id"], "reminder_sent")
    assert [t["name"] for t in reminder.data["tasks"]] == ["仓库确认收货"]
    assert "warehouse_receipt" in open_tasks(case["id"])  # still open: the reminder does not cancel it


# -- who sees and does what -----------------------------------------------------------------------------

def test_who_may_file_see_and_decide(api, order):
    record = order()
    assert "customer_id" in file(api, record, by="rep_e2", status=400)["error"]["fields"]  # another territory
    assert "customer_id" in file(api, record, by="biz_north", status=400)["error"]["fields"]  # another branch
    assert file(api, record, by="salesmgr_east", status=403)
    assert file(api, record, by="auditor", status=403)
    by_business = file(api, record, by="biz_east", tons="5")  # the branch's business department files too
    assert by_business["id"]

    beyond = file(api, order(delivered_on=date(2026, 6, 1)))
    assert api.get(f"/instances/{beyond['id']}", "rep_e2").status_code in (403, 404)
    task = open_tasks(beyond["id"])["manager_decision"]
    assert api.post(f"/tasks/{task.id}/complete", "salesmgr_north",
                    {"data": {"decision": "approve", "comment": ""}}).status_code == 403
    assert api.post(f"/tasks/{task.id}/complete", "rep_e1",
                    {"data": {"decision": "approve", "comment": ""}}).status_code == 403
    complete(api, beyond["id"], "manager_decision", "salesmgr_east", {"decision": "approve", "comment": ""})
    receipt = open_tasks(beyond["id"])["warehouse_receipt"]
    assert api.post(f"/tasks/{receipt.id}/claim", "biz_north").status_code == 403
    assert api.post(f"/tasks/{receipt.id}/claim", "auditor").status_code == 403
    assert request_of(beyond["id"]).received_at is None


def test_the_engine_refuses_starters_outside_the_roles(engine, order):
    with pytest.raises(Forbidden):
        engine.cases.start(PROCESS, get_user("salesmgr_east"), request_data(order()))


# -- the dossier, the result and the failure analysis ---------------------------------------------------

def test_the_dossier_shows_the_customers_returns(api, pages, order):
    case = file(api, order())
    receive(api, case["id"], tons="10")
    file(api, order(delivered_on=date(2026, 6, 1)), kind="exchange", return_reason="demand_misjudged")
    pages.login("rep_e1")
    page = pages.client.get(f"/customers/{get_customer('HD-E1-002').id}").get_data(as_text=True)
    assert 'data-testid="returns"' in page and 'data-testid="request-return"' in page
    assert page.count("data-return-id=") == 2
    assert "72000.00" in page
    shown = pages.client.get(f"/cases/{case['id']}").get_data(as_text=True)
    assert 'data-testid="return-result"' in shown and "72000.00" in shown


def test_the_failure_analysis_counts_returns_by_reason(api, order, pages):
    file(api, order(), return_reason="market_moved")
    file(api, order(), return_reason="market_moved", tons="5")
    file(api, order(), kind="exchange", return_reason="damaged_packaging")
    north = file(api, order(code="HB-N1-001"), by="rep_n1", return_reason="other", reason_text="客户转产")
    assert north["id"]
    counts = returns.by_reason(None)
    assert (counts["market_moved"], counts["damaged_packaging"], counts["other"], counts["demand_misjudged"]) == (
        2, 1, 1, 0)
    east = db.session.scalar(select(Instance.customer_id).where(Instance.id == north["id"]))
    assert east is not None
    result, _rows = failure_analysis.analyse(frozenset({get_customer("HD-E1-002").branch.id}), None, None,
                                             clock.now())
    by_key = {row.key: row.count for row in result.returns_by_reason}
    assert by_key == {"market_moved": 2, "damaged_packaging": 1, "demand_misjudged": 0, "other": 0}
    assert [row.key for row in result.returns_by_reason][:2] == ["market_moved", "damaged_packaging"]
    assert returns.by_reason(None, since=date(2027, 3, 2))["market_moved"] == 0
    pages.login("deputy_gm")
    page = pages.client.get("/complaints/analysis").get_data(as_text=True)
    assert 'data-testid="returns-by-reason"' in page


def test_the_sales_manager_and_the_warehouse_see_the_request_on_their_task_pages(api, pages, order):
    case = file(api, order(delivered_on=date(2026, 6, 1)), return_reason="other", reason_text="客户转产", tons="7.5")
    task = open_tasks(case["id"])["manager_decision"]
    pages.login("salesmgr_east")
    page = pages.client.get(f"/tasks/{task.id}").get_data(as_text=True)
    assert 'data-testid="return-request"' in page and "客户转产" in page and "7.50" in page and "273" in page
    answer = api.get(f"/tasks/{task.id}", "salesmgr_east").get_json()
    assert answer["context"]["request"]["days_held"] == 273 and answer["context"]["request"]["within_period"] is False
    complete(api, case["id"], "manager_decision", "salesmgr_east", {"decision": "approve", "comment": ""})
    receipt = open_tasks(case["id"])["warehouse_receipt"]
    assert api.post(f"/tasks/{receipt.id}/claim", "biz_east").status_code == 200
    assert api.get(f"/tasks/{receipt.id}", "biz_east").get_json()["context"]["tons"] == "7.50"
    pages.client.post("/logout", data={"csrf_token": pages.csrf("/inbox")})
    pages.login("biz_east")
    assert 'data-testid="return-request"' in pages.client.get(f"/tasks/{receipt.id}").get_data(as_text=True)


def test_a_withdrawn_request_takes_nothing_from_the_order(api, order):
    record = order()
    case = file(api, record, tons="30")
    assert file(api, record, tons="1", status=400)["error"]["fields"]["tons"]
    withdrawn = api.post(f"/instances/{case['id']}/withdraw", "rep_e1", {"reason": "客户改变主意"})
    assert withdrawn.status_code == 200, withdrawn.get_json()
    assert returns.returnable(db.session.get(PurchaseRecord, record.id)) == Decimal("30.00")
    assert file(api, record, tons="30")["id"]
    assert returns.by_reason(None)["market_moved"] == 1  # the withdrawn one is not counted


def test_sent_back_to_the_rep_and_filed_again_it_is_checked_again(api, order):
    record = order(delivered_on=date(2026, 6, 1))
    case = file(api, record, tons="20")
    task = open_tasks(case["id"])["manager_decision"]
    sent = api.post(f"/tasks/{task.id}/send-back", "salesmgr_east", {"to": "request", "comment": "请核实吨数"})
    assert sent.status_code == 200, sent.get_json()
    resubmit = sent.get_json()
    assert resubmit["form_key"] == "return_request" and resubmit["assignee"] == "rep_e1"
    # His own earlier request does not count against the order's tons.
    done = api.post(f"/tasks/{resubmit['id']}/complete", "rep_e1", {"data": request_data(record, tons="25")})
    assert done.status_code == 200, done.get_json()
    rows = db.session.scalars(select(returns.ReturnRequest).where(returns.ReturnRequest.instance_id == case["id"])).all()
    assert len(rows) == 1 and rows[0].tons == Decimal("25.00") and rows[0].approval is None
    complete(api, case["id"], "manager_decision", "salesmgr_east", {"decision": "approve", "comment": ""})
    receive(api, case["id"], tons="25")
    assert request_of(case["id"]).credit_yuan == Decimal("180000.00")


def test_the_request_page_offers_only_the_filers_customers_and_their_orders(pages, order):
    mine, others = order(), order(code="HB-N1-001")
    pages.login("biz_east")
    page = pages.client.get(f"/requests/new/{PROCESS}").get_data(as_text=True)
    assert "HD-E1-002" in page and "HD-E2-001" in page and "HB-N1-001" not in page
    assert f'value="{mine.id}"' in page and f'value="{others.id}"' not in page
    chosen = pages.client.get(f"/requests/new/{PROCESS}?customer_id={mine.customer_id}").get_data(as_text=True)
    assert re.search(rf'<option value="{mine.id}">[^<]*可退换：30(\.00)? 吨', chosen)
    assert chosen.count("<optgroup") == 1
