"""Contracts (seed 001 §9): the rep files the contract on the approved template with what he checked about
the counterparty and the signer's document; the legal department reviews, the department head approves,
above 1,000,000 yuan the deputy general manager too; the rep signs (never without the legal review); the
contract administrator tracks deliveries (the purchase records), payments and documents; a payment or a
document not in by its due date goes at once to the department head."""
from __future__ import annotations

import io
from datetime import date, datetime
from decimal import Decimal
from types import SimpleNamespace

import pytest
from conftest import edit, fire_due, get_customer, get_user
from flask import current_app
from sqlalchemy import delete, select, update

import forms
from app import db
from app.calendar import COMPANY_TZ, clock
from app.domain import contracts, failure_analysis
from app.domain.contracts import Contract
from app.domain.customers import Customer, PurchaseRecord
from app.domain.notifications import Notification
from app.engine.definitions import DefinitionError
from app.engine.models import OPEN, Event, Instance, Task
from app.engine.plugins import ServiceCall, ServiceRefused
from app.errors import Conflict, Forbidden, InvalidData

PROCESS = contracts.PROCESS_KEY
PDF = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"
DOCUMENT = [("授权委托书.pdf", PDF)]


def at(*args) -> datetime:
    return datetime(*args, tzinfo=COMPANY_TZ)


FILED_AT = at(2027, 3, 1, 10, 0)  # a Monday


def contract_data(customer="HD-E1-003", tons="100", price="7000", payments=None, documents=None, **changes) -> dict:
    amount = Decimal(tons) * Decimal(price)
    half = (amount / 2).quantize(Decimal("0.01"))
    return {
        "customer_id": get_customer(customer).id, "contract_template": "HT-CPY-2026",
        "legal_personality_checked": True, "legal_personality_note": "营业执照在有效期内，已年检",
        "business_rights_checked": True, "business_rights_note": "经营范围含工程机械租赁，自用柴油",
        "capacity_checked": True, "capacity_note": "近半年按月采购，移动加油车 2 辆",
        "credit_note": "", "signer_name": "杨志刚", "signer_capacity": "authorised_agent",
        "authorisation_valid_until": "2027-12-31",
        "product": "0号柴油", "specification": "GB 19147-2016 车用柴油（VI）", "quantity_tons": tons,
        "quality": "符合国家标准，以出库化验单为准", "unit_price_yuan": price,
        "settlement": "分两期电汇", "rights_duties": "卖方按期配送；买方按期付款、验收",
        "dispute_resolution": "协商不成的，向卖方所在地人民法院起诉",
        "starts_on": "2027-03-01", "ends_on": "2027-06-30",
        "payments": payments if payments is not None else [
            {"due_on": "2027-03-31", "amount_yuan": str(half)}, {"due_on": "2027-04-30", "amount_yuan": str(amount - half)}],
        "documents": documents if documents is not None else [{"title": "增值税发票签收单", "due_on": "2027-03-15"}],
        **changes,
    }


@pytest.fixture(autouse=True)
def _clock(app):
    """The company's clock at the filing; the purchase records a test adds go again afterwards. (Page tests
    push no app context of their own: each request gets its own, with its signed-in user.)"""
    clock.set(FILED_AT)
    yield
    with app.app_context():
        db.session.execute(delete(PurchaseRecord).where(PurchaseRecord.ordered_on >= date(2027, 1, 1)))
        db.session.commit()


def open_tasks(instance_id: int) -> dict[str, Task]:
    db.session.expire_all()
    return {t.spec_id: t for t in db.session.scalars(select(Task).where(Task.instance_id == instance_id,
                                                                         Task.state == OPEN))}


def instance(instance_id: int) -> Instance:
    db.session.expire_all()
    return db.session.get(Instance, instance_id)


def valid(form_key: str, data: dict, task=None) -> dict:
    """The data as the form of a page or the API checks and keeps it (InvalidData if it is not valid)."""
    with current_app.test_request_context(json={}):
        return forms.validated(form_key, data, task)


def file(engine, by="rep_e1", attach=DOCUMENT, **changes) -> Instance:
    rep = get_user(by)
    filed = engine.cases.start(PROCESS, rep, valid("contract_review_request", contract_data(**changes)))
    if attach:
        engine.cases.attach(filed.id, rep, attach)
    return filed


def decide(engine, instance_id: int, spec: str, username: str, data: dict) -> None:
    user = get_user(username)
    task = open_tasks(instance_id)[spec]
    if task.assignee_id is None:
        engine.cases.claim(task.id, user)
    engine.cases.complete(task.id, user, valid(task.form_key, data, task))


LEGAL_OK = {"decision": "approve", "template_followed": True, "comment": "条款齐全，符合制式文本"}
APPROVE = {"decision": "approve", "comment": "同意"}


def through_approvals(engine, **changes) -> Instance:
    filed = file(engine, **changes)
    decide(engine, filed.id, "legal_review", "legal", LEGAL_OK)
    decide(engine, filed.id, "head_approval", "salesmgr_east", APPROVE)
    if "deputy_approval" in open_tasks(filed.id):
        decide(engine, filed.id, "deputy_approval", "deputy_gm", APPROVE)
    return filed


def signed(engine, signed_on="2027-03-02", **changes) -> Contract:
    filed = through_approvals(engine, **changes)
    clock.set(at(2027, 3, 2, 15, 0))
    decide(engine, filed.id, "sign_contract", "rep_e1", {"signed_on": signed_on, "comment": ""})
    db.session.expire_all()
    return contracts.of_case(filed.id)


# -- the review ------------------------------------------------------------------------------------

def test_legal_reviews_the_head_approves_and_the_rep_signs(engine):
    filed = file(engine)
    assert filed.start_data["amount_yuan"] == "700000.00" and filed.start_data["amount_value"] == 700000.0
    assert filed.start_data["credit_grade"] == ""  # not rated yet: shown as such, never typed
    legal = open_tasks(filed.id)["legal_review"]
    assert legal.assignee_id is None and legal.is_offered_to(get_user("legal"))
    assert not legal.is_offered_to(get_user("salesmgr_east"))
    decide(engine, filed.id, "legal_review", "legal", LEGAL_OK)
    head = open_tasks(filed.id)["head_approval"]
    assert head.assignee.username == "salesmgr_east"  # the department head: the branch's sales manager
    decide(engine, filed.id, "head_approval", "salesmgr_east", APPROVE)
    tasks = open_tasks(filed.id)
    assert set(tasks) == {"sign_contract"} and tasks["sign_contract"].assignee.username == "rep_e1"
    decide(engine, filed.id, "sign_contract", "rep_e1", {"signed_on": "2027-03-01", "comment": "双方盖章"})
    contract = contracts.of_case(filed.id)
    assert contract.number == f"HT-HD-2027-{filed.id:05d}" and contract.status == contracts.SIGNED
    assert (contract.product, contract.quantity_tons, contract.amount_yuan) == ("0号柴油", Decimal("100.00"),
                                                                               Decimal("700000.00"))
    assert contract.checks["legal_personality"] == "营业执照在有效期内，已年检"
    db.session.expire_all()
    assert [(i.kind, i.due_on.isoformat(), i.amount_yuan, i.title) for i in contracts.of_case(filed.id).items] == [
        ("document", "2027-03-15", None, "增值税发票签收单"), ("payment", "2027-03-31", Decimal("350000.00"), ""),
        ("payment", "2027-04-30", Decimal("350000.00"), "")]
    tasks = open_tasks(filed.id)
    assert set(tasks) == {"track_contract"} and tasks["track_contract"].is_offered_to(get_user("contract_admin"))
    assert not tasks["track_contract"].is_offered_to(get_user("contract_admin_n"))
    assert db.session.scalar(select(Event.id).where(Event.instance_id == filed.id,
                                                    Event.type == contracts.SIGNED_EVENT)) is not None


@pytest.mark.parametrize("amount, deputy", [("1000000", False), ("1000000.01", True), ("1500000", True)])
def test_above_one_million_yuan_the_deputy_general_manager_approves_too(engine, amount, deputy):
    filed = file(engine, tons="1", price=amount)
    decide(engine, filed.id, "legal_review", "legal", LEGAL_OK)
    decide(engine, filed.id, "head_approval", "salesmgr_east", APPROVE)
    tasks = open_tasks(filed.id)
    if deputy:
        assert set(tasks) == {"deputy_approval"} and tasks["deputy_approval"].assignee.username == "deputy_gm"
        decide(engine, filed.id, "deputy_approval", "deputy_gm", APPROVE)
        tasks = open_tasks(filed.id)
    assert set(tasks) == {"sign_contract"}


@pytest.mark.parametrize("spec, username", [("legal_review", "legal"), ("head_approval", "salesmgr_east"),
                                            ("deputy_approval", "deputy_gm")])
def test_each_reviewer_may_refuse_the_contract(engine, spec, username):
    filed = file(engine, tons="200", price="7500")  # 1,500,000 yuan: all three review
    steps = ["legal_review", "head_approval", "deputy_approval"]
    people = {"legal_review": ("legal", LEGAL_OK), "head_approval": ("salesmgr_east", APPROVE),
              "deputy_approval": ("deputy_gm", APPROVE)}
    for step in steps[:steps.index(spec)]:
        decide(engine, filed.id, step, *people[step])
    with pytest.raises(InvalidData):  # a refusal needs its reason
        decide(engine, filed.id, spec, username, {"decision": "reject", "comment": ""})
    decide(engine, filed.id, spec, username, {"decision": "reject", "comment": "付款条件不符合公司规定"})
    ended = instance(filed.id)
    assert ended.outcome == "rejected" and ended.ended_at is not None
    assert contracts.of_case(filed.id) is None


def test_the_legal_department_approves_only_the_template_with_the_signers_document(engine):
    filed = file(engine, attach=None)
    with pytest.raises(InvalidData) as refused:
        decide(engine, filed.id, "legal_review", "legal", {"decision": "approve", "comment": ""})
    assert "template" in str(refused.value.fields) or refused.value.fields.get("decision")
    with pytest.raises(InvalidData) as refused:
        decide(engine, filed.id, "legal_review", "legal", LEGAL_OK)
    assert refused.value.fields["decision"] == [str(contracts.NO_SIGNER_DOCUMENT)]
    engine.cases.attach(filed.id, get_user("rep_e1"), DOCUMENT)
    decide(engine, filed.id, "legal_review", "legal", LEGAL_OK)
    assert set(open_tasks(filed.id)) == {"head_approval"}


def test_a_contract_is_not_signed_without_the_legal_review(engine):
    filed = file(engine)
    # The engine's service refuses, whatever a definition would do: nothing is kept, the reason is given.
    case = SimpleNamespace(instance=instance(filed.id), now=clock.now(), actor=get_user("rep_e1"),
                           history=lambda: contracts.saved_history(filed.id), record=lambda *a, **k: None)
    with pytest.raises(ServiceRefused) as refused:
        contracts.register(ServiceCall(data={"signed_on": "2027-03-01"}, case=case))
    assert refused.value.message == contracts.NO_LEGAL_REVIEW
    assert contracts.of_case(filed.id) is None
    # The signing form refuses too, for any step of a case the legal department has not approved.
    with current_app.test_request_context(json={}):
        form = forms.build_form("contract_signing", json_data={"signed_on": "2027-03-01"})
        form.task = open_tasks(filed.id)["legal_review"]
        assert not form.for_task(form.task).validate()
        assert form.errors["signed_on"] == [contracts.NO_LEGAL_REVIEW]
    # A head's approval is no legal review.
    assert not contracts.legal_approval(instance(filed.id), [
        ("task_completed", open_tasks(filed.id)["legal_review"].id, get_user("salesmgr_east").id,
         {"form_data": {"decision": "approve"}})])
    # Sent back to the rep and filed again: the earlier legal approval no longer counts.
    decide(engine, filed.id, "legal_review", "legal", LEGAL_OK)
    history = contracts.saved_history(filed.id)
    assert contracts.legal_approval(instance(filed.id), history)
    assert not contracts.legal_approval(instance(filed.id), history + [("request_resubmitted", None, None, {})])


@pytest.mark.parametrize("old, new, words", [
    ('sourceRef="contract_filed" targetRef="legal_review"', 'sourceRef="contract_filed" targetRef="head_approval"',
     "legal department"),
    ('sourceRef="legal_decision" targetRef="head_approval"', 'sourceRef="legal_decision" targetRef="amount_gateway"',
     "department head"),
])
def test_deploying_a_version_that_signs_without_the_legal_review_is_refused(engine, tmp_path, app, old, new, words):
    from pathlib import Path
    source = (Path(app.config["PROCESSES_DIR"]) / "contract_review.bpmn").read_text(encoding="utf-8")
    copy = tmp_path / "contract_review.bpmn"
    copy.write_text(source, encoding="utf-8")
    edit(copy, old, new)
    with pytest.raises(DefinitionError) as refused:
        engine.deployment.deploy_document(copy.read_text(encoding="utf-8"), "contract_review.bpmn", PROCESS,
                                          get_user("admin"), "跳过审核", {})
    assert any(p.element == "register" and words in p.message for p in refused.value.problems), refused.value.problems


def test_a_north_contract_goes_to_the_north_branchs_head_and_administrators(engine):
    filed = file(engine, by="rep_n1", customer="HB-N1-002", signer_name="韩磊")
    decide(engine, filed.id, "legal_review", "legal", LEGAL_OK)
    assert open_tasks(filed.id)["head_approval"].assignee.username == "salesmgr_north"
    decide(engine, filed.id, "head_approval", "salesmgr_north", APPROVE)
    decide(engine, filed.id, "sign_contract", "rep_n1", {"signed_on": "2027-03-01"})
    track = open_tasks(filed.id)["track_contract"]
    assert track.is_offered_to(get_user("contract_admin_n")) and not track.is_offered_to(get_user("contract_admin"))
    assert contracts.of_case(filed.id).number.startswith("HT-HB-2027-")


def test_signing_is_refused_after_the_agents_authorisation_expired(engine):
    filed = through_approvals(engine, authorisation_valid_until="2027-03-05")
    clock.set(at(2027, 3, 8, 9, 0))
    with pytest.raises(InvalidData) as refused:
        decide(engine, filed.id, "sign_contract", "rep_e1", {"signed_on": "2027-03-08"})
    assert "2027-03-05" in str(refused.value.fields["signed_on"])
    with pytest.raises(InvalidData):  # nor a day still to come
        decide(engine, filed.id, "sign_contract", "rep_e1", {"signed_on": "2027-03-09"})
    decide(engine, filed.id, "sign_contract", "rep_e1", {"signed_on": "2027-03-04"})
    assert contracts.of_case(filed.id).signed_on == date(2027, 3, 4)


# -- what the rep must file -----------------------------------------------------------------------------

@pytest.mark.parametrize("changes, field", [
    ({"customer": "HD-E2-001"}, "customer_id"),  # another territory's customer
    ({"contract_template": "OWN-2027"}, "contract_template"),
    ({"legal_personality_checked": False}, "legal_personality_checked"),
    ({"capacity_note": ""}, "capacity_note"),
    ({"dispute_resolution": ""}, "dispute_resolution"),
    ({"quantity_tons": "0"}, "quantity_tons"),
    ({"ends_on": "2027-02-01"}, "ends_on"),
    ({"payments": [{"due_on": "2027-03-31", "amount_yuan": "100"}]}, "payments"),  # not the contract's amount
    ({"payments": []}, "payments"),
    ({"payments": [{"due_on": "2027-02-01", "amount_yuan": "700000"}]}, "payments"),  # before the start
    ({"documents": [{"title": "发票签收单", "due_on": ""}]}, "documents"),
    ({"authorisation_valid_until": "2027-02-28"}, "authorisation_valid_until"),  # expired
    ({"authorisation_valid_until": None}, "authorisation_valid_until"),
    ({"signer_capacity": "friend"}, "signer_capacity"),
    ({"product": "煤油"}, "product"),
])
def test_a_request_missing_a_term_or_a_check_is_refused_and_nothing_is_filed(engine, changes, field):
    with pytest.raises(InvalidData) as refused:
        file(engine, **changes)
    assert field in refused.value.fields or any(key.startswith(field) for key in refused.value.fields), \
        refused.value.fields
    db.session.rollback()
    assert db.session.scalar(select(Instance.id).where(Instance.process_key == PROCESS)) is None


def test_the_legal_representative_must_be_the_one_the_dossier_names(engine):
    db.session.execute(update(Customer).where(Customer.code == "HD-E1-003").values(legal_representative="杨志刚"))
    db.session.commit()
    try:
        with pytest.raises(InvalidData) as refused:
            file(engine, signer_capacity="legal_representative", signer_name="杨小刚", authorisation_valid_until=None)
        assert "杨志刚" in str(refused.value.fields["signer_name"][0])
        filed = file(engine, signer_capacity="legal_representative", authorisation_valid_until=None)
        assert filed.start_data["authorisation_valid_until"] is None
    finally:
        db.session.rollback()
        db.session.execute(update(Customer).where(Customer.code == "HD-E1-003").values(legal_representative=""))
        db.session.commit()


def test_the_credit_grade_comes_from_the_rating(engine):
    db.session.execute(update(Customer).where(Customer.code == "HD-E1-003").values(credit_grade="AA"))
    db.session.commit()
    filed = file(engine, credit_grade="AAA")  # typed: ignored
    assert filed.start_data["credit_grade"] == "AA"


# -- tracking --------------------------------------------------------------------------------------------

def deliver(customer: str, ordered_on: date, tons: str, product="0号柴油", delivered=True):
    db.session.add(PurchaseRecord(customer_id=get_customer(customer).id, ordered_on=ordered_on, product=product,
                                  quantity_tons=Decimal(tons), amount_yuan=Decimal(tons) * 7000,
                                  delivered_on=ordered_on if delivered else None,
                                  delivered_tons=Decimal(tons) if delivered else None, on_time=True if delivered else None))
    db.session.commit()


def test_deliveries_come_from_the_purchase_records_and_payments_are_entered(engine):
    contract = signed(engine)
    deliver("HD-E1-003", date(2027, 3, 5), "30")
    deliver("HD-E1-003", date(2027, 3, 20), "25")
    deliver("HD-E1-003", date(2027, 3, 22), "40", delivered=False)  # ordered, not delivered yet
    deliver("HD-E1-003", date(2027, 3, 6), "10", product="92号汽油")  # another product
    deliver("HD-E1-003", date(2027, 2, 20), "10")  # before the contract
    deliver("HD-E1-002", date(2027, 3, 6), "10")  # another customer
    admin = get_user("contract_admin")
    clock.set(at(2027, 3, 25, 10, 0))
    contracts.record_payment(contract, admin, {"paid_on": date(2027, 3, 24), "amount_yuan": "200000",
                                               "reference": "电汇 0324"}, clock.now())
    figures = contracts.outstanding(contract, date(2027, 3, 31))
    assert (figures["contracted_tons"], figures["delivered_tons"], figures["tons_to_deliver"]) == (
        Decimal("100.00"), Decimal("55.00"), Decimal("45.00"))
    assert (figures["due_yuan"], figures["paid_yuan"], figures["overdue_yuan"], figures["unpaid_yuan"]) == (
        Decimal("350000.00"), Decimal("200000.00"), Decimal("150000.00"), Decimal("500000.00"))
    assert [i.title for i in figures["documents_missing"]] == ["增值税发票签收单"]
    assert [r.ordered_on for r in figures["deliveries"]] == [date(2027, 3, 5), date(2027, 3, 20), date(2027, 3, 22)]
    with pytest.raises(InvalidData):  # more than is unpaid
        contracts.record_payment(contract, admin, {"paid_on": date(2027, 3, 25), "amount_yuan": "500000.01"}, clock.now())
    with pytest.raises(InvalidData):  # ahead of today
        contracts.record_payment(contract, admin, {"paid_on": date(2027, 3, 26), "amount_yuan": "1"}, clock.now())
    with pytest.raises(InvalidData):  # before the signing
        contracts.record_payment(contract, admin, {"paid_on": date(2027, 3, 1), "amount_yuan": "1"}, clock.now())
    document = figures["documents_missing"][0]
    contracts.record_document(contract, admin, {"item_id": document.id, "received_on": date(2027, 3, 14)}, clock.now())
    with pytest.raises(Conflict):
        contracts.record_document(contract, admin, {"item_id": document.id, "received_on": date(2027, 3, 14)},
                                  clock.now())


def notices(instance_id: int) -> list[Task]:
    db.session.expire_all()
    return list(db.session.scalars(select(Task).where(Task.instance_id == instance_id,
                                                      Task.spec_id == "overdue_notice").order_by(Task.id)))


def test_a_document_or_a_payment_not_in_on_its_due_date_goes_to_the_department_head_at_once(engine):
    contract = signed(engine)
    case_id = contract.instance_id
    # The document is due by 15 March: nothing before the end of that day.
    assert fire_due(engine, at(2027, 3, 15, 23, 59)) == 0
    fire_due(engine, at(2027, 3, 16, 0, 0, 1))
    (notice,) = notices(case_id)
    assert notice.assignee.username == "salesmgr_east" and notice.state == OPEN
    told = db.session.scalars(select(Notification).where(Notification.kind == contracts.OVERDUE_NOTICE,
                                                         Notification.instance_id == case_id)).all()
    assert {n.user.username for n in told} == {"rep_e1", "contract_admin"}
    assert "增值税发票签收单" in told[0].data["comment"]
    overdue = db.session.scalars(select(Event).where(Event.instance_id == case_id,
                                                     Event.type == contracts.OVERDUE_EVENT)).all()
    assert [e.data["items"][0]["kind"] for e in overdue] == ["document"]
    # Paid in full before the first instalment's date: nothing goes up on 31 March.
    admin = get_user("contract_admin")
    clock.set(at(2027, 3, 30, 10, 0))
    contracts.record_payment(db.session.get(Contract, contract.id), admin,
                             {"paid_on": date(2027, 3, 30), "amount_yuan": "350000"}, clock.now())
    fire_due(engine, at(2027, 4, 1, 0, 0, 1))
    assert len(notices(case_id)) == 1
    # Not the second instalment by 30 April: the head hears of it at once.
    fire_due(engine, at(2027, 5, 1, 0, 0, 1))
    first, second = notices(case_id)
    assert second.assignee.username == "salesmgr_east"
    engine.cases.complete(first.id, get_user("salesmgr_east"), {"comment": "已催收"})
    last = db.session.scalars(select(Event).where(Event.instance_id == case_id, Event.type == contracts.OVERDUE_EVENT)
                              .order_by(Event.id)).all()[-1]
    assert last.data["short_yuan"] == "350000.00" and last.data["items"][0]["kind"] == "payment"
    db.session.expire_all()
    items = {(i.kind, i.due_on.isoformat()): i for i in db.session.get(Contract, contract.id).items}
    assert [items[k].overdue for k in (("document", "2027-03-15"), ("payment", "2027-03-31"),
                                       ("payment", "2027-04-30"))] == [True, False, True]
    # Every due date checked: only the administrator's tracking and the head's unread notice remain.
    assert set(open_tasks(case_id)) == {"track_contract", "overdue_notice"}
    assert instance(case_id).ended_at is None
    # The late instalment is a failure of the customer's rep in the failure analysis (seed 004).
    assert [item.due_on.isoformat() for item in contracts.late_instalments(None)] == ["2027-04-30"]
    rows = {row.person: row for row in failure_analysis.by_person(None, date(2027, 4, 1), date(2027, 4, 30),
                                                                  at(2027, 5, 1, 9, 0))}
    assert rows["张伟"].counts[failure_analysis.LATE_PAYMENT] == 1
    assert contracts.late_instalments(frozenset({get_user("rep_n1").org_unit.parent_id})) == []


def test_the_administrator_closes_a_contract_fulfilled_only_with_nothing_outstanding(engine):
    contract = signed(engine)
    case_id = contract.instance_id
    admin = get_user("contract_admin")
    with pytest.raises(InvalidData) as refused:
        decide(engine, case_id, "track_contract", "contract_admin", {"decision": "fulfilled", "comment": ""})
    assert "decision" in refused.value.fields
    deliver("HD-E1-003", date(2027, 3, 10), "100")
    clock.set(at(2027, 3, 20, 10, 0))
    contract = db.session.get(Contract, contract.id)
    contracts.record_payment(contract, admin, {"paid_on": date(2027, 3, 20), "amount_yuan": "700000"}, clock.now())
    contracts.record_document(contract, admin, {"item_id": contract.items[0].id, "received_on": date(2027, 3, 12)},
                              clock.now())
    decide(engine, case_id, "track_contract", "contract_admin", {"decision": "fulfilled", "comment": "履行完毕"})
    ended = instance(case_id)
    assert ended.outcome == contracts.FULFILLED_OUTCOME and ended.ended_at is not None
    assert db.session.get(Contract, contract.id).status == contracts.FULFILLED
    assert fire_due(engine, at(2027, 5, 1, 0, 0, 1)) == 0  # its due dates wait no more
    with pytest.raises(Conflict):
        contracts.record_payment(db.session.get(Contract, contract.id), admin,
                                 {"paid_on": date(2027, 3, 20), "amount_yuan": "1"}, clock.now())


def test_a_terminated_contract_needs_its_reason(engine):
    contract = signed(engine)
    with pytest.raises(InvalidData):
        decide(engine, contract.instance_id, "track_contract", "contract_admin", {"decision": "terminated"})
    decide(engine, contract.instance_id, "track_contract", "contract_admin",
           {"decision": "terminated", "comment": "客户停业，双方协商解除"})
    assert instance(contract.instance_id).outcome == contracts.TERMINATED_OUTCOME
    assert db.session.get(Contract, contract.id).status == contracts.TERMINATED


# -- who may ------------------------------------------------------------------------------------------

def test_who_sees_and_who_tracks_contracts(engine, app):
    contract = signed(engine)
    customer = contract.customer
    policy = app.extensions["policy"]
    from app.policy import SEE_CONTRACTS, TRACK_CONTRACT
    for username in ("rep_e1", "contract_admin", "salesmgr_east", "mgr_east", "legal", "deputy_gm", "auditor"):
        assert policy.may(get_user(username), SEE_CONTRACTS, customer), username
    for username in ("rep_e2", "rep_n1", "contract_admin_n", "salesmgr_north", "spec_east", "biz_east"):
        assert not policy.may(get_user(username), SEE_CONTRACTS, customer), username
    assert policy.may(get_user("contract_admin"), TRACK_CONTRACT, customer)
    for username in ("rep_e1", "contract_admin_n", "auditor", "salesmgr_east", "legal"):
        assert not policy.may(get_user(username), TRACK_CONTRACT, customer), username
    assert [c.id for c in contracts.visible(get_user("rep_e1"))] == [contract.id]
    assert contracts.visible(get_user("rep_e2")) == []
    with pytest.raises(Forbidden):
        policy.require(get_user("auditor"), TRACK_CONTRACT, customer)


# -- through the API ------------------------------------------------------------------------------------

def api_task(api, instance_id: int, spec: str, username: str, data: dict, status: int = 200):
    task = open_tasks(instance_id)[spec]
    if task.assignee_id is None:
        assert api.post(f"/tasks/{task.id}/claim", username).status_code == 200
    response = api.post(f"/tasks/{task.id}/complete", username, {"data": data})
    assert response.status_code == status, response.get_json()
    return response.get_json()


def test_the_whole_review_and_the_tracking_through_the_api(api, ctx):
    data = contract_data()
    response = api.post(f"/processes/{PROCESS}/instances", "rep_e1", {"data": data})
    assert response.status_code == 201, response.get_json()
    case_id = response.get_json()["id"]
    # Without the signer's document the legal department cannot approve.
    refused = api_task(api, case_id, "legal_review", "legal", LEGAL_OK, status=400)
    assert refused["error"]["fields"]["decision"] == [str(contracts.NO_SIGNER_DOCUMENT)]
    attached = api.client.post(f"/api/v1/instances/{case_id}/attachments",
                               headers={"Authorization": f"Bearer {api.token('rep_e1')}"},
                               data={"file": [(io.BytesIO(PDF), "授权委托书.pdf")]}, content_type="multipart/form-data")
    assert attached.status_code == 201
    api_task(api, case_id, "legal_review", "legal", LEGAL_OK)
    api_task(api, case_id, "head_approval", "rep_e1", APPROVE, status=403)  # not his
    api_task(api, case_id, "head_approval", "salesmgr_east", APPROVE)
    api_task(api, case_id, "sign_contract", "rep_e1", {"signed_on": "2027-03-01"})
    listed = api.get("/contracts", "rep_e1").get_json()
    assert [c["instance_id"] for c in listed] == [case_id]
    contract = listed[0]
    assert contract["outstanding"]["unpaid_yuan"] == "700000.00" and len(contract["items"]) == 3
    assert api.get("/contracts", "rep_e2").get_json() == []  # the list is who may see, not a refusal
    assert api.get(f"/contracts/{contract['id']}", "rep_e2").status_code == 403
    assert api.get(f"/contracts/{contract['id']}", "auditor").status_code == 200
    assert api.get(f"/contracts?customer_id={get_customer('HD-E1-003').id}", "contract_admin").get_json()[0]["id"] \
        == contract["id"]
    clock.set(at(2027, 3, 20, 10, 0))
    api.tokens.clear()  # those of 1 March have expired
    body = {"paid_on": "2027-03-20", "amount_yuan": "350000", "reference": "电汇 0320"}
    for username in ("rep_e1", "contract_admin_n", "auditor", "salesmgr_east"):
        assert api.post(f"/contracts/{contract['id']}/payments", username, body).status_code == 403, username
    entered = api.post(f"/contracts/{contract['id']}/payments", "contract_admin", body)
    assert entered.status_code == 201 and entered.get_json()["entered_by"] == "contract_admin"
    too_much = api.post(f"/contracts/{contract['id']}/payments", "contract_admin", {**body, "amount_yuan": "350000.01"})
    assert too_much.status_code == 400 and "amount_yuan" in too_much.get_json()["error"]["fields"]
    document = next(item for item in contract["items"] if item["kind"] == "document")
    received = api.post(f"/contracts/{contract['id']}/documents", "contract_admin",
                        {"item_id": document["id"], "received_on": "2027-03-14"})
    assert received.status_code == 200 and received.get_json()["received_on"] == "2027-03-14"
    again = api.post(f"/contracts/{contract['id']}/documents", "contract_admin",
                     {"item_id": document["id"], "received_on": "2027-03-14"})
    assert again.status_code == 409
    shown = api.get(f"/contracts/{contract['id']}", "contract_admin").get_json()
    assert (shown["outstanding"]["paid_yuan"], shown["outstanding"]["documents_missing"]) == ("350000.00", [])
    # The first instalment was paid and the document handed in: nothing goes up on their dates.
    assert fire_due(engine_of(api), at(2027, 4, 1, 0, 0, 1)) >= 1
    assert notices(case_id) == []
    api.tokens.clear()
    api_task(api, case_id, "track_contract", "contract_admin", {"decision": "terminated", "comment": "客户停业"})
    closed = api.post(f"/contracts/{contract['id']}/payments", "contract_admin", body)
    assert closed.status_code == 409


def engine_of(api):
    return api.client.application.extensions["engine"]


def test_a_rep_files_only_for_his_own_territory_through_the_api(api, ctx):
    response = api.post(f"/processes/{PROCESS}/instances", "rep_e2", {"data": contract_data()})
    assert response.status_code == 400 and "customer_id" in response.get_json()["error"]["fields"]
    response = api.post(f"/processes/{PROCESS}/instances", "spec_east", {"data": contract_data()})
    assert response.status_code == 403
    response = api.post(f"/processes/{PROCESS}/instances", "rep_e1", {"data": contract_data(quality="")})
    assert response.status_code == 400 and "quality" in response.get_json()["error"]["fields"]
    assert db.session.scalar(select(Instance.id).where(Instance.process_key == PROCESS)) is None


# -- pages ---------------------------------------------------------------------------------------------

def page_data(**changes) -> dict:
    data = contract_data(**changes)
    form = {key: value for key, value in data.items() if not isinstance(value, (list, bool)) and value is not None}
    form.update({f"{name}_checked": "y" for name in contracts.CHECKS})
    for index, row in enumerate(data["payments"]):
        form.update({f"payments-{index}-{key}": value for key, value in row.items()})
    for index, row in enumerate(data["documents"]):
        form.update({f"documents-{index}-{key}": value for key, value in row.items()})
    return form


def test_the_request_page_files_a_contract_with_its_document_and_refuses_an_incomplete_one(pages, app):
    with app.app_context():
        customer_id, form = get_customer("HD-E1-003").id, page_data()
    pages.login("rep_e1")
    page = pages.client.get(f"/contracts/new?customer_id={customer_id}")
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and 'name="payments-3-amount_yuan"' in html and 'name="documents-2-title"' in html
    assert 'data-testid="credit-standing"' in html
    missing = pages.submit("/contracts/new", form)  # no signer's document
    assert missing.status_code == 400 and 'data-testid="error-summary"' in missing.get_data(as_text=True)
    with app.app_context():
        assert db.session.scalar(select(Instance.id).where(Instance.process_key == PROCESS)) is None
    filed = pages.client.post("/contracts/new", data={**form, "csrf_token": pages.csrf("/contracts/new"),
                                                      "signer_document": (io.BytesIO(PDF), "授权委托书.pdf")},
                              content_type="multipart/form-data")
    assert filed.status_code == 302, filed.get_data(as_text=True)[:2000]
    with app.app_context():
        case = db.session.scalar(select(Instance).where(Instance.process_key == PROCESS))
        assert [row["due_on"] for row in case.start_data["payments"]] == ["2027-03-31", "2027-04-30"]
        assert [d.filename for d in contracts.documents_of(case.id)] == ["授权委托书.pdf"]
    from conftest import Browser
    specialist = Browser(app)
    specialist.login("spec_east")
    assert specialist.client.get("/contracts/new").status_code == 403


def test_the_contract_page_shows_what_is_outstanding_to_whom_may_see_it(app):
    from conftest import Browser
    with app.app_context():
        contract = signed(app.extensions["engine"])
        deliver("HD-E1-003", date(2027, 3, 5), "30")
        contract_id, customer_id, number = contract.id, contract.customer_id, contract.number
    rep = Browser(app)
    rep.login("rep_e1")
    html = rep.client.get(f"/contracts/{contract_id}").get_data(as_text=True)
    assert "30.00 / 100.00" in html and 'data-testid="payment-form"' not in html
    dossier = rep.client.get(f"/customers/{customer_id}").get_data(as_text=True)
    assert 'data-testid="dossier-contracts"' in dossier and number in dossier
    other = Browser(app)
    other.login("rep_e2")
    assert other.client.get(f"/contracts/{contract_id}").status_code == 403
    admin = Browser(app)
    admin.login("contract_admin")
    clock.set(at(2027, 3, 20, 10, 0))
    page = f"/contracts/{contract_id}"
    assert 'data-testid="payment-form"' in admin.client.get(page).get_data(as_text=True)
    bad = admin.submit(page, {"paid_on": "2027-03-20", "amount_yuan": "800000"}, f"/contracts/{contract_id}/payments")
    assert bad.status_code == 400
    good = admin.submit(page, {"paid_on": "2027-03-20", "amount_yuan": "100000", "reference": "电汇"},
                        f"/contracts/{contract_id}/payments")
    assert good.status_code == 302
    assert "100,000.00 / 0.00" in admin.client.get(page).get_data(as_text=True)  # nothing due yet by 20 March
    auditor = Browser(app)
    auditor.login("auditor")
    assert auditor.client.get(page).status_code == 200
    assert auditor.submit(page, {"paid_on": "2027-03-20", "amount_yuan": "1"},
                          f"/contracts/{contract_id}/payments").status_code == 403
    assert Browser(app).client.get("/contracts").status_code in (302, 401)
    assert number in admin.client.get("/contracts").get_data(as_text=True)


def test_every_step_of_a_contract_renders_on_its_task_page(app):
    from conftest import Browser
    with app.app_context():
        engine = app.extensions["engine"]
        filed = file(engine, tons="200", price="7500")
        case_id = filed.id
    pages = {}

    def page_of(username: str, spec: str) -> str:
        if username not in pages:
            pages[username] = Browser(app)
            pages[username].login(username)
        with app.app_context():
            task = open_tasks(case_id)[spec]
            if task.assignee_id is None:
                app.extensions["engine"].cases.claim(task.id, get_user(username))
            task_id = task.id
        response = pages[username].client.get(f"/tasks/{task_id}")
        assert response.status_code == 200, (spec, response.get_data(as_text=True)[:1500])
        return response.get_data(as_text=True)

    for spec, username, data in (("legal_review", "legal", LEGAL_OK), ("head_approval", "salesmgr_east", APPROVE),
                                 ("deputy_approval", "deputy_gm", APPROVE),
                                 ("sign_contract", "rep_e1", {"signed_on": "2027-03-01"})):
        html = page_of(username, spec)
        assert 'data-testid="contract-terms"' in html and "1,500,000.00" in html and "授权委托书.pdf" in html
        with app.app_context():
            decide(app.extensions["engine"], case_id, spec, username, data)
    with app.app_context():
        fire_due(app.extensions["engine"], at(2027, 3, 16, 0, 0, 1))
    assert 'data-testid="contract-tracking"' in page_of("salesmgr_east", "overdue_notice")
    assert 'data-testid="contract-link"' in page_of("contract_admin", "track_contract")
    with app.app_context():
        decide(app.extensions["engine"], case_id, "track_contract", "contract_admin",
               {"decision": "terminated", "comment": "协商解除"})
    html = pages["rep_e1"].client.get(f"/cases/{case_id}").get_data(as_text=True)
    assert 'data-testid="contract-result"' in html
    generic = pages["rep_e1"].client.get(f"/requests/new/{PROCESS}")  # the generic request page serves it too
    assert generic.status_code == 200 and 'name="payments-0-due_on"' in generic.get_data(as_text=True)


def test_sent_back_the_rep_revises_and_the_legal_department_reviews_the_new_terms_again(engine):
    filed = file(engine)
    legal, rep, head = get_user("legal"), get_user("rep_e1"), get_user("salesmgr_east")
    task = open_tasks(filed.id)["legal_review"]
    engine.cases.claim(task.id, legal)
    revise = engine.operations.send_back(task.id, legal, "request", "单价需按公司指导价 7200 元/吨")
    revised = contract_data(price="7200")
    engine.cases.complete(revise.id, rep, valid("contract_review_request", revised, revise))
    assert instance(filed.id).start_data["amount_yuan"] == "720000.00"
    clock.set(at(2027, 3, 1, 11, 0))  # the engine finds the step to send back to by when it was done
    decide(engine, filed.id, "legal_review", "legal", LEGAL_OK)
    # The head may send it back to the legal review only (whence it may go on to the rep), never straight to
    # the rep: terms the rep changes are reviewed again before anyone approves them.
    head_task = open_tasks(filed.id)["head_approval"]
    assert [to for to, _name in engine.operations.send_back_targets(head_task)] == ["legal_review"]
    engine.operations.send_back(head_task.id, head, "legal_review", "请法务再核对违约责任条款")
    decide(engine, filed.id, "legal_review", "legal", LEGAL_OK)
    decide(engine, filed.id, "head_approval", "salesmgr_east", APPROVE)
    decide(engine, filed.id, "sign_contract", "rep_e1", {"signed_on": "2027-03-01"})
    assert contracts.of_case(filed.id).amount_yuan == Decimal("720000.00")
