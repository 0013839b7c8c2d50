"""Potential customers (seeds 001 §8, 002 "潜在客户档案的建立"): a lead goes through the seed's stages, each a
recorded decision of the rep or his branch's sales manager; confirmed, the candidate gets its dossier
marked potential with its code; its first order (entered, through the API or imported) converts it and
ends the case; its contacts are logged by its rep and branch managers; reps are reminded at the branch's
rhythm; the first deal's marketing-policy support is approved by the branch, and above 50,000 yuan by HQ
marketing too. Real database, engine and BPMN, on a controlled clock.

Tests asserting page text use the English words (test_the_pages_*): switch them to Chinese once the
translations are in."""
from __future__ import annotations

from datetime import date, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from conftest import Browser, fire_due, get_customer, get_user
from flask import current_app
from sqlalchemy import delete, event, select

from app import db
from app.calendar import clock
from app.domain import demo, leads, marketing_support, purchases
from app.domain.customers import Customer, PurchaseRecord
from app.domain.notifications import Notification
from app.engine.models import OPEN, Event, Instance, Task
from app.errors import Conflict, Forbidden, InvalidData
from app.policy import purchase_branches

SHANGHAI = ZoneInfo("Asia/Shanghai")
DEMO_CODES = [c["code"] for c in demo.CUSTOMERS]
CANDIDATE = {"territory": "E1", "source": "industry_meeting", "learned": "行业会议上结识，车队 60 辆，现由民营油库供油，月用柴油约 300 吨",
             "name": "上海洋山港集运物流有限公司", "kind": "direct", "address": "上海市浦东新区洋山港区 1 号",
             "contact1_name": "黄海", "contact1_mobile": "13900139000", "contact2_name": "", "contact2_mobile": "",
             "other_contacts": "", "expected_monthly_tons": "300", "main_products": "集装箱运输",
             "downstream_market": "长三角"}


def at(*args) -> datetime:
    return datetime(*args, tzinfo=SHANGHAI)


@pytest.fixture(autouse=True)
def orders_of_2027(app):
    """The orders a test records (in 2027, apart from the demo's) go again; the customers its leads create
    go with clean_state."""
    yield
    with app.app_context():
        db.session.rollback()
        db.session.execute(delete(PurchaseRecord).where(PurchaseRecord.ordered_on >= date(2027, 1, 1)))
        db.session.commit()


def open_tasks(instance_id: int) -> dict[str, Task]:
    db.session.expire_all()
    return {t.spec_id: t for t in db.session.scalars(select(Task).where(Task.instance_id == instance_id,
                                                                         Task.state == OPEN))}


def decide(engine, instance, spec: str, username: str, decision: str, comment: str = "") -> None:
    task = open_tasks(instance.id)[spec]
    engine.cases.complete(task.id, get_user(username), {"decision": decision, "comment": comment})


def potential_lead(engine, **changes) -> Instance:
    """A lead of rep_e1 confirmed by the east sales manager: its customer exists, marked potential."""
    instance = engine.cases.start(leads.PROCESS_KEY, get_user("rep_e1"), {**CANDIDATE, **changes})
    decide(engine, instance, "screen_candidate", "rep_e1", "propose")
    decide(engine, instance, "confirm_potential", "salesmgr_east", "approve")
    db.session.expire_all()
    return db.session.get(Instance, instance.id)


def order(customer: Customer, day: date, tons="20", amount="150000") -> dict:
    return {purchases.CUSTOMER_CODE: customer.code, purchases.PRODUCT: "0号柴油", purchases.TONS: Decimal(tons),
            purchases.AMOUNT: Decimal(amount), purchases.ORDERED_ON: day, purchases.DELIVERED_ON: None,
            purchases.DELIVERED_TONS: None, purchases.ON_TIME: None}


def events(instance_id: int, kind: str) -> list[Event]:
    return list(db.session.scalars(select(Event).where(Event.instance_id == instance_id, Event.type == kind)))


def notifications(username: str, kind: str) -> list[Notification]:
    return list(db.session.scalars(select(Notification).where(Notification.user_id == get_user(username).id,
                                                               Notification.kind == kind)))


# -- the stages and the conversion -----------------------------------------------------------------------

def test_a_lead_goes_through_the_stages_and_its_first_order_converts_it(engine):
    clock.set(at(2027, 3, 1, 9, 0))
    instance = engine.cases.start(leads.PROCESS_KEY, get_user("rep_e1"), dict(CANDIDATE))
    assert list(open_tasks(instance.id)) == ["screen_candidate"]
    assert open_tasks(instance.id)["screen_candidate"].assignee.username == "rep_e1"
    assert [row["stage"] for row in leads.listing(get_user("rep_e1"))] == [leads.CANDIDATE]

    decide(engine, instance, "screen_candidate", "rep_e1", "propose", "符合重点客户条件，尚无业务往来")
    confirm = open_tasks(instance.id)["confirm_potential"]
    assert confirm.assignee.username == "salesmgr_east"
    assert leads.listing(get_user("salesmgr_east"))[0]["stage"] == leads.SCREENING
    assert db.session.scalar(select(Customer).where(Customer.name == CANDIDATE["name"])) is None

    decide(engine, instance, "confirm_potential", "salesmgr_east", "approve")
    db.session.expire_all()
    instance = db.session.get(Instance, instance.id)
    customer = db.session.get(Customer, instance.customer_id)
    assert customer.potential and customer.code == "HD-E1-004"  # the next of E1 (the demo has 001–003)
    assert customer.territory.code == "E1" and customer.monthly_demand_tons == Decimal("300")
    assert events(instance.id, leads.POTENTIAL_CREATED)[0].data["code"] == "HD-E1-004"
    assert leads.lead_of(customer.id).potential_since == at(2027, 3, 1, 9, 0)

    decide(engine, instance, "develop_potential", "rep_e1", "propose_target", "三次电话、一次拜访，意向明确")
    decide(engine, instance, "choose_target", "salesmgr_east", "develop", "先落实对方油库容量")
    assert list(open_tasks(instance.id)) == ["develop_potential"]  # sent back to be developed further
    decide(engine, instance, "develop_potential", "rep_e1", "propose_target")
    decide(engine, instance, "choose_target", "salesmgr_east", "approve")
    assert list(open_tasks(instance.id)) == ["develop_target"]
    assert [row["stage"] for row in leads.listing(get_user("rep_e1"))] == [leads.TARGET]

    clock.set(at(2027, 3, 20, 10, 0))
    clerk = get_user("spec_east")
    entry = purchases.record(clerk, order(customer, date(2027, 3, 19)), purchase_branches(clerk), clock.now())
    db.session.expire_all()
    customer = db.session.get(Customer, customer.id)
    instance = db.session.get(Instance, instance.id)
    assert not customer.potential
    assert instance.status == "completed" and instance.outcome == leads.CONVERTED
    [converted] = events(instance.id, leads.LEAD_CONVERTED)
    assert converted.data["first_order_id"] == entry.id and converted.data["amount_yuan"] == "150000.00"
    lead = leads.lead_of(customer.id)
    assert lead.converted_at == at(2027, 3, 20, 10, 0) and lead.first_order_id == entry.id
    assert [n.data["task"] for n in notifications("rep_e1", leads.LEAD_CONVERTED)] == ["HD-E1-004 上海洋山港集运物流有限公司"]
    assert [row["stage"] for row in leads.listing(get_user("rep_e1"))] == [leads.CONVERTED]
    # the next order of the customer changes nothing more
    purchases.record(clerk, order(customer, date(2027, 3, 20)), purchase_branches(clerk), clock.now())
    assert len(events(instance.id, leads.LEAD_CONVERTED)) == 1


def test_a_first_order_during_development_converts_the_lead_too(engine):
    clock.set(at(2027, 3, 1, 9, 0))
    instance = potential_lead(engine)
    customer = db.session.get(Customer, instance.customer_id)
    clerk = get_user("biz_east")
    purchases.record(clerk, order(customer, date(2027, 3, 1)), purchase_branches(clerk), clock.now())
    db.session.expire_all()
    assert db.session.get(Instance, instance.id).outcome == leads.CONVERTED
    assert open_tasks(instance.id) == {}


@pytest.mark.parametrize(("steps", "outcome"), [
    ([("screen_candidate", "rep_e1", "drop")], "dropped_candidate"),
    ([("screen_candidate", "rep_e1", "propose"), ("confirm_potential", "salesmgr_east", "drop")],
     "dropped_candidate"),
    ([("screen_candidate", "rep_e1", "propose"), ("confirm_potential", "salesmgr_east", "approve"),
      ("develop_potential", "rep_e1", "drop")], "dropped_potential"),
    ([("screen_candidate", "rep_e1", "propose"), ("confirm_potential", "salesmgr_east", "approve"),
      ("develop_potential", "rep_e1", "propose_target"), ("choose_target", "salesmgr_east", "drop")],
     "dropped_potential"),
    ([("screen_candidate", "rep_e1", "propose"), ("confirm_potential", "salesmgr_east", "approve"),
      ("develop_potential", "rep_e1", "propose_target"), ("choose_target", "salesmgr_east", "approve"),
      ("develop_target", "rep_e1", "drop")], "dropped_target"),
])
def test_every_decision_may_drop_the_lead_with_a_recorded_outcome(engine, steps, outcome):
    clock.set(at(2027, 3, 1, 9, 0))
    instance = engine.cases.start(leads.PROCESS_KEY, get_user("rep_e1"), dict(CANDIDATE))
    for spec, username, decision in steps:
        decide(engine, instance, spec, username, decision, "放弃：对方已签长期合同" if decision == "drop" else "")
    db.session.expire_all()
    instance = db.session.get(Instance, instance.id)
    assert instance.status == "completed" and instance.outcome == outcome
    assert leads.listing(get_user("rep_e1"))[0]["stage"] == leads.DROPPED


def test_dropping_needs_a_reason_and_nobody_may_send_converted(engine):
    clock.set(at(2027, 3, 1, 9, 0))
    instance = engine.cases.start(leads.PROCESS_KEY, get_user("rep_e1"), dict(CANDIDATE))
    task = open_tasks(instance.id)["screen_candidate"]
    with pytest.raises(InvalidData) as refused:
        current_app.extensions["engine"].extensions.validate("lead_screen", {"decision": "drop", "comment": ""}, task)
    assert "comment" in refused.value.fields
    with pytest.raises(InvalidData):
        current_app.extensions["engine"].extensions.validate("lead_target", {"decision": leads.CONVERTED}, task)


def test_a_lead_of_a_customer_the_company_has_or_of_another_running_lead_is_refused(engine):
    clock.set(at(2027, 3, 1, 9, 0))
    with pytest.raises(Conflict) as known:
        engine.cases.start(leads.PROCESS_KEY, get_user("rep_e1"), {**CANDIDATE, "name": "上海浦江石化贸易 有限公司"})
    assert "HD-E1-001" in str(known.value.fields["name"][0])
    engine.cases.start(leads.PROCESS_KEY, get_user("rep_e1"), dict(CANDIDATE))
    with pytest.raises(Conflict):
        engine.cases.start(leads.PROCESS_KEY, get_user("rep_e2"), {**CANDIDATE, "territory": "E2"})
    with pytest.raises(InvalidData) as other:
        engine.cases.start(leads.PROCESS_KEY, get_user("rep_e2"), {**CANDIDATE, "name": "另一家", "territory": "E1"})
    assert "territory" in other.value.fields
    with pytest.raises(Forbidden):
        engine.cases.start(leads.PROCESS_KEY, get_user("salesmgr_east"), {**CANDIDATE, "name": "另一家"})


# -- the API -----------------------------------------------------------------------------------------------

def test_through_the_api_a_lead_becomes_potential_logs_contacts_and_an_import_converts_it(api):
    clock.set(at(2027, 3, 1, 9, 0))
    started = api.post(f"/processes/{leads.PROCESS_KEY}/instances", "rep_e1", {"data": dict(CANDIDATE)})
    assert started.status_code == 201, started.get_json()
    case_id = started.get_json()["id"]
    bad = api.post(f"/processes/{leads.PROCESS_KEY}/instances", "rep_e1",
                   {"data": {**CANDIDATE, "name": "别的公司", "contact1_mobile": "123"}})
    assert bad.status_code == 400 and "contact1_mobile" in bad.get_json()["error"]["fields"]

    def complete(username, data):
        task = next(t for t in api.get(f"/instances/{case_id}", username).get_json()["tasks"] if t["state"] == "open")
        response = api.post(f"/tasks/{task['id']}/complete", username, {"data": data})
        assert response.status_code == 200, response.get_json()

    complete("rep_e1", {"decision": "propose", "comment": ""})
    wrong = api.get(f"/instances/{case_id}", "salesmgr_east").get_json()["tasks"]
    other = api.post(f"/tasks/{[t for t in wrong if t['state'] == 'open'][0]['id']}/complete", "salesmgr_north",
                     {"data": {"decision": "approve", "comment": ""}})
    assert other.status_code in (403, 404)
    complete("salesmgr_east", {"decision": "approve", "comment": ""})
    [row] = api.get("/leads?stage=potential", "salesmgr_east").get_json()
    assert row["instance_id"] == case_id and row["potential"] and row["customer_code"] == "HD-E1-004"
    assert api.get("/leads", "rep_e2").get_json() == []
    assert api.get("/leads", "salesmgr_north").get_json() == []
    assert len(api.get("/leads", "auditor").get_json()) == 1
    assert api.get("/leads", "spec_east").status_code == 403

    customer_id = row["customer_id"]
    clock.set(at(2027, 3, 3, 9, 0))
    api.tokens.clear()  # two days on: fresh tokens
    body = {"kind": "visit", "contacted_on": "2027-03-02", "notes": "上门介绍配送方案"}
    logged = api.post(f"/customers/{customer_id}/contacts", "rep_e1", body)
    assert logged.status_code == 201, logged.get_json()
    assert api.post(f"/customers/{customer_id}/contacts", "salesmgr_east",
                    {**body, "kind": "materials"}).status_code == 201
    assert api.post(f"/customers/{customer_id}/contacts", "rep_e2", body).status_code == 403
    assert api.post(f"/customers/{customer_id}/contacts", "auditor", body).status_code == 403
    assert api.post(f"/customers/{customer_id}/contacts", "salesmgr_north", body).status_code == 403
    ahead = api.post(f"/customers/{customer_id}/contacts", "rep_e1", {**body, "contacted_on": "2027-03-09"})
    assert ahead.status_code == 400 and "contacted_on" in ahead.get_json()["error"]["fields"]
    log = api.get(f"/customers/{customer_id}/contacts", "rep_e1").get_json()
    assert [c["kind"] for c in log] == ["materials", "visit"] and log[1]["by"] == "rep_e1"
    assert api.get(f"/customers/{customer_id}/contacts", "rep_e2").status_code == 403
    assert api.get("/leads", "rep_e1").get_json()[0]["last_contact"] == "2027-03-02"

    complete("rep_e1", {"decision": "propose_target", "comment": ""})
    complete("salesmgr_east", {"decision": "approve", "comment": ""})
    assert api.get("/leads?stage=target", "rep_e1").get_json()[0]["instance_id"] == case_id

    clock.set(at(2027, 3, 15, 9, 0))
    api.tokens.clear()
    csv = ("客户编码,油品,数量(吨),金额(元),订单日期,实际配送日期,配送数量(吨),是否按时\n"
           "HD-E1-004,0号柴油,30,216000,2027-03-14,2027-03-15,30,是\n"
           "HD-E1-001,0号柴油,10,72000,2027-03-14,,,\n")
    import io
    imported = api.client.post("/api/v1/purchases/import", headers={"Authorization": f"Bearer {api.token('spec_east')}"},
                               data={"file": [(io.BytesIO(csv.encode()), "orders.csv")]},
                               content_type="multipart/form-data")
    assert imported.status_code == 201, imported.get_json()
    case = api.get(f"/instances/{case_id}", "rep_e1").get_json()
    assert case["outcome"] == leads.CONVERTED
    assert api.get("/leads?stage=converted", "rep_e1").get_json()[0]["potential"] is False
    late = api.post(f"/customers/{customer_id}/contacts", "rep_e1", body)
    assert late.status_code == 409  # a customer now: its visits are recorded instead


# -- reminders ---------------------------------------------------------------------------------------------

def reminder_cases() -> list[Instance]:
    db.session.expire_all()
    return list(db.session.scalars(select(Instance).where(Instance.process_key == leads.REMINDERS_KEY)
                                   .order_by(Instance.id)))


def test_reps_are_reminded_at_their_branchs_rhythm(engine):
    clock.set(at(2027, 3, 1, 9, 0))
    instance = potential_lead(engine)
    customer = db.session.get(Customer, instance.customer_id)
    leads.set_rhythm(customer.branch, get_user("salesmgr_east"), 10, clock.now())
    with pytest.raises(Forbidden):
        leads.set_rhythm(customer.branch, get_user("salesmgr_north"), 3, clock.now())
    with pytest.raises(InvalidData):
        leads.set_rhythm(customer.branch, get_user("salesmgr_east"), 0, clock.now())
    clock.set(at(2027, 3, 2, 9, 0))
    leads.log_contact(customer, get_user("rep_e1"), {"kind": "telephone", "contacted_on": date(2027, 3, 2),
                                                     "notes": "首次电话"}, clock.now())
    engine.deployment.deploy_directory(current_app.config["PROCESSES_DIR"])  # the schedule's wake-up, on this clock

    def reminded() -> list[Notification]:
        return notifications("rep_e1", leads.CONTACT_DUE)

    fire_due(engine, at(2027, 3, 11, 8, 0, 1))  # nine days after the contact: not yet
    assert {c.start_data["branch_code"] for c in reminder_cases()} == {"east", "north"}
    assert reminded() == []
    fire_due(engine, at(2027, 3, 12, 8, 0, 1))  # ten days: due
    [first] = reminded()
    assert first.data["task"] == f"{customer.code} {customer.name}" and "2027-03-02" in first.data["comment"]
    assert first.instance_id == instance.id
    fire_due(engine, at(2027, 3, 13, 8, 0, 1))  # the next morning: not again within the rhythm
    assert len(reminded()) == 1
    east = [c for c in reminder_cases() if c.start_data["branch_code"] == "east"]
    rows = {c.start_data["day"]: len(events(c.id, leads.REMINDED)[0].data["rows"]) for c in east}
    assert rows["2027-03-12"] == 1 and sum(rows.values()) == 1  # one case a morning since the deployment
    assert "2027-03-03" in rows and "2027-03-13" in rows and {c.outcome for c in east} == {"reminders_sent"}
    leads.log_contact(customer, get_user("rep_e1"), {"kind": "visit", "contacted_on": date(2027, 3, 13),
                                                     "notes": ""}, clock.now())
    fire_due(engine, at(2027, 3, 22, 8, 0, 1))  # nine days after the visit
    assert len(reminded()) == 1
    fire_due(engine, at(2027, 3, 23, 8, 0, 1))  # ten
    assert len(reminded()) == 2
    fire_due(engine, at(2027, 4, 2, 8, 0, 1))  # no contact for ten more days: reminded again
    assert len(reminded()) == 3
    assert notifications("rep_e2", leads.CONTACT_DUE) == []


def test_without_a_rhythm_set_the_branch_reminds_after_fourteen_days_and_never_for_a_converted_one(engine):
    clock.set(at(2027, 3, 1, 9, 0))
    instance = potential_lead(engine)
    customer = db.session.get(Customer, instance.customer_id)
    assert leads.due_contacts(customer.branch.id, date(2027, 3, 14)) == []
    assert [lead.customer_id for lead, _, _ in leads.due_contacts(customer.branch.id, date(2027, 3, 15))] == [customer.id]
    clerk = get_user("spec_east")
    purchases.record(clerk, order(customer, date(2027, 3, 1)), purchase_branches(clerk), clock.now())
    assert leads.due_contacts(customer.branch.id, date(2027, 3, 15)) == []


# -- marketing-policy support --------------------------------------------------------------------------------

def support(engine, customer, amount: int) -> Instance:
    return engine.cases.start(marketing_support.PROCESS_KEY, get_user("rep_e1"), {
        "customer_id": customer.id, "policy": "price_discount", "amount_yuan": amount,
        "reason": "首单让利，争取长期合作"})


def test_marketing_support_within_the_amount_is_the_branchs_decision(engine):
    clock.set(at(2027, 3, 1, 9, 0))
    customer = db.session.get(Customer, potential_lead(engine).customer_id)
    instance = support(engine, customer, 50000)
    assert instance.customer_id == customer.id
    step = open_tasks(instance.id)["branch_approval"]
    assert step.assignee.username == "salesmgr_east" and step.approval
    for outsider in ("rep_e1", "salesmgr_north", "auditor"):  # the initiator decides nothing of his request
        with pytest.raises(Forbidden):
            engine.cases.complete(step.id, get_user(outsider), {"decision": "approve", "comment": ""})
    decide(engine, instance, "branch_approval", "salesmgr_east", "approve")
    db.session.expire_all()
    assert db.session.get(Instance, instance.id).outcome == "approved"
    refused = support(engine, customer, 30000)
    decide(engine, refused, "branch_approval", "salesmgr_east", "reject", "政策额度已用完")
    db.session.expire_all()
    assert db.session.get(Instance, refused.id).outcome == "rejected"
    assert [c.id for c in marketing_support.of_customer(customer.id)] == [refused.id, instance.id]


def test_marketing_support_above_the_amount_needs_hq_marketing_too(engine):
    clock.set(at(2027, 3, 1, 9, 0))
    customer = db.session.get(Customer, potential_lead(engine).customer_id)
    instance = support(engine, customer, 50001)
    decide(engine, instance, "branch_approval", "salesmgr_east", "approve")
    hq = open_tasks(instance.id)["hq_approval"]
    assert hq.assignee_id is None and hq.is_offered_to(get_user("hq_mkt"))
    engine.cases.claim(hq.id, get_user("hq_mkt"))
    decide(engine, instance, "hq_approval", "hq_mkt", "approve")
    db.session.expire_all()
    assert db.session.get(Instance, instance.id).outcome == "approved"
    rejected = support(engine, customer, 80000)
    decide(engine, rejected, "branch_approval", "salesmgr_east", "approve")
    task = open_tasks(rejected.id)["hq_approval"]
    engine.cases.claim(task.id, get_user("hq_mkt"))
    decide(engine, rejected, "hq_approval", "hq_mkt", "reject", "超出首单政策范围")
    db.session.expire_all()
    assert db.session.get(Instance, rejected.id).outcome == "rejected"


def test_marketing_support_is_for_the_reps_own_potential_customers_first_deal(engine):
    clock.set(at(2027, 3, 1, 9, 0))
    customer = db.session.get(Customer, potential_lead(engine).customer_id)
    with pytest.raises(InvalidData):  # a customer that trades with the company already
        engine.cases.start(marketing_support.PROCESS_KEY, get_user("rep_e1"), {
            "customer_id": get_customer("HD-E1-001").id, "policy": "price_discount", "amount_yuan": 1000,
            "reason": "x"})
    with pytest.raises(InvalidData):  # another territory's rep
        engine.cases.start(marketing_support.PROCESS_KEY, get_user("rep_e2"), {
            "customer_id": customer.id, "policy": "price_discount", "amount_yuan": 1000, "reason": "x"})
    with pytest.raises(Forbidden):
        engine.cases.start(marketing_support.PROCESS_KEY, get_user("auditor"), {
            "customer_id": customer.id, "policy": "price_discount", "amount_yuan": 1000, "reason": "x"})
    clerk = get_user("spec_east")
    purchases.record(clerk, order(customer, date(2027, 3, 1)), purchase_branches(clerk), clock.now())
    support(engine, customer, 1000)  # its first order is in: the deal may still be supported
    purchases.record(clerk, order(customer, date(2027, 3, 1), tons="5"), purchase_branches(clerk), clock.now())
    with pytest.raises(InvalidData):  # a second order: no first deal any more
        support(engine, customer, 1000)


# -- pages -------------------------------------------------------------------------------------------------

def test_the_pages_show_the_potential_customer_its_contacts_and_the_leads_by_stage(app):
    clock.set(at(2027, 3, 1, 9, 0))
    with app.app_context():
        customer = db.session.get(Customer, potential_lead(app.extensions["engine"]).customer_id)
        customer_id, code, branch_id = customer.id, customer.code, customer.branch.id
        db.session.commit()
    rep = Browser(app)
    rep.login("rep_e1")
    page = rep.client.get(f"/customers/{customer_id}").get_data(as_text=True)
    assert 'data-testid="potential-badge"' in page and 'data-testid="contact-form"' in page
    token = rep.csrf(f"/customers/{customer_id}")
    posted = rep.client.post(f"/customers/{customer_id}/contacts", data={
        "csrf_token": token, "kind": "telephone", "contacted_on": "2027-03-01", "notes": "电话沟通报价"})
    assert posted.status_code == 302
    page = rep.client.get(f"/customers/{customer_id}").get_data(as_text=True)
    assert "电话沟通报价" in page and 'data-testid="contact-log"' in page
    bad = rep.client.post(f"/customers/{customer_id}/contacts", data={
        "csrf_token": token, "kind": "email", "contacted_on": "2027-03-01", "notes": ""})
    assert bad.status_code == 302
    with app.app_context():
        assert len(leads.contacts_of(customer_id)) == 1  # refused, nothing added
    listing = rep.client.get("/leads?stage=potential").get_data(as_text=True)
    assert f'href="/customers/{customer_id}"' in listing and 'data-stage="potential"' in listing
    assert f">{code}<" in rep.client.get("/customers?potential=yes").get_data(as_text=True)
    assert f">{code}<" not in rep.client.get("/customers?potential=no").get_data(as_text=True)

    other = Browser(app)
    other.login("rep_e2")
    assert other.client.get(f"/customers/{customer_id}").status_code == 403
    token = other.csrf("/customers")
    assert other.client.post(f"/customers/{customer_id}/contacts", data={
        "csrf_token": token, "kind": "telephone", "contacted_on": "2027-03-01"}).status_code == 403
    assert 'data-instance-id' not in other.client.get("/leads").get_data(as_text=True)
    assert other.client.get("/leads/rhythm").status_code == 403

    manager = Browser(app)
    manager.login("salesmgr_east")
    assert manager.client.get("/leads/rhythm").status_code == 200
    token = manager.csrf("/leads/rhythm")
    assert manager.client.post("/leads/rhythm", data={"csrf_token": token, "branch": "east",
                                                      "days": "7"}).status_code == 302
    with app.app_context():
        assert leads.rhythm_days(branch_id) == 7
    assert manager.client.post("/leads/rhythm", data={"csrf_token": token, "branch": "north",
                                                      "days": "7"}).status_code in (400, 403)
    assert manager.client.post("/leads/rhythm", data={"csrf_token": token, "branch": "east",
                                                      "days": "999"}).status_code == 400

    # The branch's managers log contacts on a page of their own (they do not read the dossier).
    page = manager.client.get(f"/customers/{customer_id}/contacts").get_data(as_text=True)
    assert "电话沟通报价" in page and 'data-testid="contact-form"' in page
    token = manager.csrf(f"/customers/{customer_id}/contacts")
    logged = manager.client.post(f"/customers/{customer_id}/contacts", data={
        "csrf_token": token, "kind": "materials", "contacted_on": "2027-03-01", "notes": "寄送产品目录"})
    assert logged.status_code == 302 and logged.headers["Location"].endswith(f"/customers/{customer_id}/contacts")
    assert other.client.get(f"/customers/{customer_id}/contacts").status_code == 403
    with app.app_context():
        assert [c.by.username for c in leads.contacts_of(customer_id)] == ["salesmgr_east", "rep_e1"]
        instance_id = leads.lead_of(customer_id).instance_id
        task_id = db.session.scalar(select(Task.id).where(Task.instance_id == instance_id, Task.state == OPEN))
    decision = rep.client.get(f"/tasks/{task_id}")
    assert decision.status_code == 200 and 'value="propose_target"' in decision.get_data(as_text=True)
    assert 'value="converted"' not in decision.get_data(as_text=True)

    auditor = Browser(app)
    auditor.login("auditor")
    assert 'data-instance-id' in auditor.client.get("/leads").get_data(as_text=True)
    token = auditor.csrf("/leads")
    assert auditor.client.post(f"/customers/{customer_id}/contacts", data={
        "csrf_token": token, "kind": "telephone", "contacted_on": "2027-03-01"}).status_code == 403
    specialist = Browser(app)
    specialist.login("spec_east")
    assert specialist.client.get("/leads").status_code == 403


def test_the_start_page_offers_the_reps_territory(app):
    rep = Browser(app)
    rep.login("rep_e1")
    page = rep.client.get(f"/requests/new/{leads.PROCESS_KEY}")
    assert page.status_code == 200 and 'value="E1"' in page.get_data(as_text=True)
    assert rep.client.get(f"/requests/new/{marketing_support.PROCESS_KEY}").status_code == 200


def test_reminders_leave_a_lead_alone_once_it_ended(engine):
    clock.set(at(2027, 3, 1, 9, 0))
    instance = potential_lead(engine)
    customer = db.session.get(Customer, instance.customer_id)
    decide(engine, instance, "develop_potential", "rep_e1", "drop", "对方无意向")
    assert leads.due_contacts(customer.branch.id, date(2027, 3, 1) + timedelta(days=30)) == []


def test_whether_the_menu_offers_the_lead_list_reads_no_case(engine):
    """Every page's menu asks it: the answer comes from the person's roles, never from the cases."""
    clock.set(at(2027, 3, 1, 9, 0))
    engine.cases.start(leads.PROCESS_KEY, get_user("rep_e1"), dict(CANDIDATE))
    statements = []

    def seen(_connection, _cursor, statement, *_args):
        statements.append(statement)

    people = {username: get_user(username) for username in ("rep_e1", "salesmgr_east", "admin", "auditor", "fin_li")}
    event.listen(db.current_engine(), "before_cursor_execute", seen)
    try:
        answers = {username: leads.may_list_leads(user) for username, user in people.items()}
    finally:
        event.remove(db.current_engine(), "before_cursor_execute", seen)
    assert answers == {"rep_e1": True, "salesmgr_east": True, "admin": True, "auditor": True, "fin_li": False}
    assert not [statement for statement in statements if "instances" in statement]
    assert [row["stage"] for row in leads.listing(people["rep_e1"])] == [leads.CANDIDATE]
    with pytest.raises(Forbidden):
        leads.listing(people["fin_li"])
