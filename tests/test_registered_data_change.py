"""A change a customer asks for to its registered data (seed 003: 对申请信息变更的客户要认真审核，严格把关，
避免欺诈) goes through the registration's check: the rep files it, the branch's customer specialist checks
it against the same duplicates and wants the proof of a licence change, and approved, it goes into the
dossier, each field a dossier change of kind `registered`. The rep cannot type these fields himself."""
from __future__ import annotations

import io

import pytest
from conftest import get_customer, get_user
from sqlalchemy import select

from app import db
from app.domain import dossier_upkeep, registration
from app.domain.dossier_upkeep import DossierChange
from app.engine.models import OPEN, Event, Incident, Instance, Task
from app.errors import DefinitionFault, InvalidData

PROCESS = registration.CHANGE_KEY
E1, OTHER_E1, E2 = "HD-E1-001", "HD-E1-003", "HD-E2-001"
LICENCE = "91310115MA1K4Q8R2X"
PDF = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"


@pytest.fixture(autouse=True)
def registered_data(ctx):
    """The demo customers' registered data as it was (the cases and dossier changes go with the runtime rows)."""
    codes = (E1, OTHER_E1)
    kept = {code: {name: getattr(get_customer(code), name) for name in dossier_upkeep.REGISTERED_FIELDS}
            for code in codes}
    yield
    db.session.rollback()
    for code, values in kept.items():
        customer = get_customer(code)
        for name, value in values.items():
            setattr(customer, name, value)
    db.session.commit()


def open_task(instance_id: int) -> Task:
    db.session.expire_all()
    return db.session.scalar(select(Task).where(Task.instance_id == instance_id, Task.state == OPEN))


def file_change(api, status=201, by="rep_e1", code=E1, **values):
    body = {"customer_id": get_customer(code).id, "request_note": "客户来函：公司迁址，银行账户变更", **values}
    response = api.post(f"/processes/{PROCESS}/instances", by, {"data": body})
    assert response.status_code == status, response.get_json()
    return response.get_json()


def check(api, instance_id, decision="approve", status=200, comment=""):
    task = open_task(instance_id)
    assert task.spec_id == "specialist_check"
    if task.assignee_id is None:
        assert api.post(f"/tasks/{task.id}/claim", "spec_east").status_code == 200
    response = api.post(f"/tasks/{task.id}/complete", "spec_east",
                        {"data": {"decision": decision, "comment": comment}})
    assert response.status_code == status, response.get_json()
    return response.get_json()


def attach(api, instance_id, by="rep_e1"):
    response = api.client.post(f"/api/v1/instances/{instance_id}/attachments",
                               headers={"Authorization": f"Bearer {api.token(by)}"},
                               data={"file": [(io.BytesIO(PDF), "新营业执照.pdf")]}, content_type="multipart/form-data")
    assert response.status_code == 201, response.get_json()


def test_an_approved_change_goes_into_the_dossier_as_registered_changes_by_the_rep(api):
    before, account = get_customer(E1).address, get_customer(E1).bank_account
    case = file_change(api, address="上海市浦东新区张江路 99 号", bank_account="工行浦东支行 1001 2345 6789",
                       name=get_customer(E1).name)  # a field as it was is no change
    instance = db.session.get(Instance, case["id"])
    assert sorted(instance.start_data["changes"]) == ["address", "bank_account"]
    assert instance.start_data["changes"]["address"] == {"old": before, "new": "上海市浦东新区张江路 99 号"}
    task = open_task(case["id"])
    assert task.is_offered_to(get_user("spec_east")) and not task.is_offered_to(get_user("rep_e1"))
    shown = api.get(f"/tasks/{task.id}", "spec_east").get_json()
    assert {row["field"] for row in shown["context"]["changes"]} == {"address", "bank_account"}
    check(api, case["id"])
    db.session.expire_all()
    customer = get_customer(E1)
    assert (customer.address, customer.bank_account) == ("上海市浦东新区张江路 99 号", "工行浦东支行 1001 2345 6789")
    changes = db.session.scalars(select(DossierChange).where(DossierChange.customer_id == customer.id)
                                 .order_by(DossierChange.field)).all()
    assert [(c.field, c.kind, c.old, c.changed_by.username) for c in changes] == [
        ("address", "registered", before, "rep_e1"), ("bank_account", "registered", account, "rep_e1")]
    assert db.session.scalar(select(Event.data).where(Event.instance_id == case["id"],
                                                      Event.type == registration.CHANGED))["fields"] == [
        "address", "bank_account"]
    assert api.get(f"/instances/{case['id']}", "rep_e1").get_json()["outcome"] == "approved"


def test_the_same_duplicates_are_refused_and_nothing_is_filed(api):
    other = get_customer(OTHER_E1)
    other.licence_number = LICENCE
    db.session.commit()
    same_name = file_change(api, 409, name=f" {other.name}")
    assert OTHER_E1 in same_name["error"]["fields"]["name"][0]
    same_licence = file_change(api, 409, licence_number=LICENCE.lower())
    assert OTHER_E1 in same_licence["error"]["fields"]["licence_number"][0]
    bad_licence = file_change(api, 400, licence_number="9131")
    assert "licence_number" in bad_licence["error"]["fields"]
    nothing = file_change(api, 400, address=get_customer(E1).address)
    assert "name" in nothing["error"]["fields"]
    no_note = file_change(api, 400, request_note="", address="上海市某路 1 号")
    assert "request_note" in no_note["error"]["fields"]
    assert db.session.scalar(select(Instance.id).where(Instance.process_key == PROCESS)) is None
    # A running change of the same name counts too, as a running registration does.
    pending = file_change(api, address="上海市某路 1 号", name="上海浦江能源有限公司")
    twice = file_change(api, 409, code=OTHER_E1, name="上海浦江能源有限公司")
    assert str(pending["id"]) in twice["error"]["fields"]["name"][0]
    again = file_change(api, 409, address="上海市某路 2 号")  # one change of a customer at a time
    assert str(pending["id"]) in again["error"]["fields"]["customer_id"][0]


def test_a_licence_change_needs_its_proof_before_the_specialist_approves(api):
    case = file_change(api, licence_number=LICENCE, legal_representative="王建国")
    refused = check(api, case["id"], status=400)
    assert "decision" in refused["error"]["fields"]
    attach(api, case["id"])
    check(api, case["id"])
    db.session.expire_all()
    customer = get_customer(E1)
    assert (customer.licence_number, customer.legal_representative) == (LICENCE, "王建国")


def test_a_refused_change_leaves_the_dossier_and_a_reason_is_needed(api):
    address = get_customer(E1).address
    case = file_change(api, address="上海市某路 3 号")
    silent = check(api, case["id"], decision="reject", status=400)
    assert "comment" in silent["error"]["fields"]
    check(api, case["id"], decision="reject", comment="新地址与营业执照不符")
    db.session.expire_all()
    assert get_customer(E1).address == address
    assert api.get(f"/instances/{case['id']}", "rep_e1").get_json()["outcome"] == "rejected"


def test_a_dossier_that_moved_on_meanwhile_is_not_overwritten(engine):
    rep, specialist = get_user("rep_e1"), get_user("spec_east")
    instance = engine.cases.start(PROCESS, rep, {"customer_id": get_customer(E1).id, "address": "上海市某路 4 号",
                                                 "request_note": "客户电话申请"})
    get_customer(E1).address = "别处改过的地址"  # as an import or an older release might have
    db.session.commit()
    task = open_task(instance.id)
    engine.cases.claim(task.id, specialist)
    with pytest.raises(DefinitionFault):
        engine.cases.complete(task.id, specialist, {"decision": "approve", "comment": ""})
    db.session.expire_all()
    assert get_customer(E1).address == "别处改过的地址"
    assert db.session.scalar(select(Incident.element).where(Incident.instance_id == instance.id)) == "apply_changes"


def test_only_the_territory_rep_files_and_others_do_not_see_it(api):
    assert api.post(f"/processes/{PROCESS}/instances", "spec_east",
                    {"data": {"customer_id": get_customer(E1).id, "address": "x", "request_note": "x"}}
                    ).status_code == 403
    other_territory = file_change(api, 400, by="rep_e2", address="上海市某路 5 号")
    assert "customer_id" in other_territory["error"]["fields"]
    case = file_change(api, address="上海市某路 5 号")
    assert api.get(f"/instances/{case['id']}", "rep_n1").status_code in (403, 404)
    assert api.get(f"/instances/{case['id']}", "spec_east").status_code == 200


def test_the_rep_no_longer_types_registered_data_himself(api, ctx):
    customer = get_customer(E1)
    with pytest.raises(InvalidData) as refused:
        dossier_upkeep.edit(customer, get_user("rep_e1"), {"address": "上海", "phone": "021-1"}, None)
    assert set(refused.value.fields) == {"address"}
    answer = api.post(f"/customers/{customer.id}/dossier", "rep_e1", {"bank_account": "123"})
    assert answer.status_code == 400 and "bank_account" in answer.get_json()["error"]["fields"]


def test_the_page_starts_from_the_dossier_and_files_the_proof(pages):
    customer = get_customer(E1)
    pages.login("rep_e1")
    dossier = pages.client.get(f"/customers/{customer.id}").get_data(as_text=True)
    assert 'data-testid="change-registered-data"' in dossier
    url = f"/requests/new/{PROCESS}?customer_id={customer.id}"
    page = pages.client.get(url).get_data(as_text=True)
    assert f'value="{customer.address}"' in page and 'name="proof"' in page
    filed = pages.client.post(url, data={"customer_id": customer.id, "name": customer.name,
                                         "address": "上海市浦东新区张江路 100 号", "request_note": "客户来函",
                                         "csrf_token": pages.csrf(url),
                                         "proof": [(io.BytesIO(PDF), "迁址证明.pdf")]},
                              content_type="multipart/form-data")
    assert filed.status_code == 302, filed.get_data(as_text=True)
    instance = db.session.scalar(select(Instance).where(Instance.process_key == PROCESS))
    assert list(instance.start_data["changes"]) == ["address"]
    pages.client.post("/logout", data={"csrf_token": pages.csrf("/inbox")})
    pages.login("spec_east")
    task = open_task(instance.id)
    pages.client.post(f"/tasks/{task.id}/claim", data={"csrf_token": pages.csrf(f"/tasks/{task.id}")})
    shown = pages.client.get(f"/tasks/{task.id}").get_data(as_text=True)
    assert 'data-testid="registered-data-change"' in shown and "上海市浦东新区张江路 100 号" in shown
