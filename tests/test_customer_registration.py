"""A new customer's dossier, numbered (seeds 000, 001, 003): the rep files the basic information with the
licence's scan and the legal representative's ID copy; the branch's customer specialist checks it, sends
it back or refuses it, or approves it; approved, the customer is archived with its code
(branch-territory-sequence, from a counter that never gives a number twice). Duplicates are refused
before any number is given."""
from __future__ import annotations

import io
import threading
import time

import pytest
from conftest import clear_runtime_rows, get_customer, get_user
from flask import render_template
from sqlalchemy import delete, select, update

from app import db
from app.domain import demo, org, registration
from app.domain.customers import Customer
from app.engine import attachments
from app.engine.models import OPEN, Event, Incident, Instance, Task
from app.errors import Conflict, DefinitionFault, Forbidden, InvalidData

PROCESS = registration.PROCESS_KEY
PDF = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00\x00\x00\rIHDR" + b"\x00" * 32
DOCUMENTS = [("营业执照.pdf", PDF), ("法人身份证.png", PNG)]
DEMO_CODES = [c["code"] for c in demo.CUSTOMERS]
LICENCE, OTHER_LICENCE = "91310115MA1K4Q8R2X", "91310115MA1K4Q8R3Y"


def request_data(**changes) -> dict:
    return {"name": "上海临港新能源物流有限公司", "kind": "direct", "territory": "E1", "address": "上海市浦东新区临港大道 88 号",
            "licence_number": LICENCE, "legal_representative": "陈国栋", "contact1_name": "陈立",
            "contact1_mobile": "13800138000", "contact2_name": "", "contact2_mobile": "", "other_contacts": "",
            "invoice_type": "增值税专用发票", "monthly_demand_tons": "120", "equipment": "50 吨储油罐 2 座",
            "transport": "自有槽车 3 辆", "business_scope": "道路货物运输；仓储服务",
            "visit_notes": "拜访陈总：车队 40 辆重卡，月用柴油约 120 吨", **changes}


@pytest.fixture(autouse=True)
def registered(ctx):
    """The customers a test registers go again afterwards (the demo's stay), with the cases naming them."""
    yield
    db.session.rollback()
    clear_runtime_rows()
    db.session.execute(delete(Customer).where(Customer.code.not_in(DEMO_CODES)))
    db.session.commit()


def open_tasks(instance_id: int) -> dict[str, Task]:
    db.session.expire_all()
    return {t.spec_id: t for t in db.session.scalars(select(Task).where(Task.instance_id == instance_id,
                                                                         Task.state == OPEN))}


def upload(api, instance_id, username, *files):
    return api.client.post(f"/api/v1/instances/{instance_id}/attachments",
                           headers={"Authorization": f"Bearer {api.token(username)}"},
                           data={"file": [(io.BytesIO(content), name) for name, content in files]},
                           content_type="multipart/form-data")


def file_by_api(api, by="rep_e1", documents=DOCUMENTS, **changes) -> int:
    response = api.post(f"/processes/{PROCESS}/instances", by, {"data": request_data(**changes)})
    assert response.status_code == 201, response.get_json()
    instance_id = response.get_json()["id"]
    if documents:
        assert upload(api, instance_id, by, *documents).status_code == 201
    return instance_id


def check_by_api(api, instance_id, data, status=200, by="spec_east"):
    task = open_tasks(instance_id)["specialist_check"]
    if task.assignee_id is None:
        assert api.post(f"/tasks/{task.id}/claim", by).status_code == 200
    response = api.post(f"/tasks/{task.id}/complete", by, {"data": data})
    assert response.status_code == status, response.get_json()
    return response.get_json()


def approve(api, instance_id) -> Customer:
    check_by_api(api, instance_id, {"decision": "approve", "comment": "资料齐全"})
    db.session.expire_all()
    return db.session.get(Customer, db.session.get(Instance, instance_id).customer_id)


def file_by_engine(engine, by="rep_e1", **changes) -> Instance:
    rep = get_user(by)
    instance = engine.cases.start(PROCESS, rep, request_data(**changes))
    engine.cases.attach(instance.id, rep, DOCUMENTS)
    return instance


def approve_by_engine(engine, instance: Instance, comment="同意建档") -> Instance:
    specialist = get_user("spec_east")
    task = open_tasks(instance.id)["specialist_check"]
    engine.cases.claim(task.id, specialist)
    engine.cases.complete(task.id, specialist, {"decision": "approve", "comment": comment})
    db.session.expire_all()
    return db.session.get(Instance, instance.id)


# -- through the engine --------------------------------------------------------------------------

def test_an_approved_registration_is_archived_with_the_next_code_of_its_territory(engine):
    instance = file_by_engine(engine)
    task = open_tasks(instance.id)["specialist_check"]
    assert task.assignee_id is None and task.is_offered_to(get_user("spec_east"))  # the east branch's specialists
    assert not task.is_offered_to(get_user("biz_east"))
    assert instance.customer_id is None and get_customer("HD-E1-004") is None  # no code before the check

    instance = approve_by_engine(engine, instance)
    customer = get_customer("HD-E1-004")  # the demo's E1 has 001 … 003
    assert instance.outcome == "approved" and instance.customer_id == customer.id
    assert (customer.name, customer.kind, customer.territory.code, customer.licence_number) == (
        "上海临港新能源物流有限公司", "direct", "E1", LICENCE)
    assert (customer.contact1_mobile, str(customer.monthly_demand_tons), customer.invoice_type) == (
        "13800138000", "120.00", "增值税专用发票")
    (archived,) = db.session.scalars(select(Event).where(Event.instance_id == instance.id,
                                                         Event.type == registration.REGISTERED))
    assert archived.data == {"customer_id": customer.id, "code": "HD-E1-004", "territory": "E1",
                             "filed_with": "华东分公司业务部"}
    assert registration.registration_of(customer.id).id == instance.id
    result = registration.result(instance)
    assert result["customer"].code == "HD-E1-004"
    assert [a.filename for a in result["attachments"]] == ["营业执照.pdf", "法人身份证.png"]

    second = approve_by_engine(engine, file_by_engine(engine, name="上海临港港务油品经销有限公司",
                                                      licence_number=OTHER_LICENCE, kind="distributor"))
    assert db.session.get(Customer, second.customer_id).code == "HD-E1-005"
    # Another territory has its own counter and its branch's prefix (the demo has no specialist in the
    # north to archive one: the numbering is asked directly, and nothing is kept).
    north = get_customer("HB-N1-001").territory
    assert [registration.next_code(north), registration.next_code(north)] == ["HB-N1-003", "HB-N1-004"]
    db.session.rollback()


def test_the_counter_never_gives_a_number_twice(engine):
    first = approve_by_engine(engine, file_by_engine(engine))
    assert db.session.get(Customer, first.customer_id).code == "HD-E1-004"
    # The newest customer goes (say it was archived by mistake): its number is not given again.
    db.session.execute(update(Instance).where(Instance.id == first.id).values(customer_id=None))
    db.session.execute(delete(Customer).where(Customer.code == "HD-E1-004"))
    db.session.commit()
    again = approve_by_engine(engine, file_by_engine(engine))
    assert db.session.get(Customer, again.customer_id).code == "HD-E1-005"
    assert get_customer("HD-E1-004") is None
    counter = db.session.get(registration.CustomerCodeCounter, get_customer("HD-E1-005").territory_id)
    assert (counter.prefix, counter.last_sequence) == ("HD-E1", 5)


def test_every_caller_meets_the_rules_of_the_request(engine):
    rep = get_user("rep_e1")
    with pytest.raises(InvalidData) as other_territory:
        engine.cases.start(PROCESS, rep, request_data(territory="E2"))
    assert "territory" in other_territory.value.fields
    with pytest.raises(InvalidData) as bad_licence:
        engine.cases.start(PROCESS, rep, request_data(licence_number="12345"))
    assert "licence_number" in bad_licence.value.fields
    with pytest.raises(Conflict) as duplicate:
        engine.cases.start(PROCESS, rep, request_data(name="上海浦江石化贸易有限公司"))
    assert "HD-E1-001" in str(duplicate.value.fields["name"][0])
    # A specialist cannot open one (reps register their territory's customers).
    with pytest.raises(Forbidden):
        engine.cases.start(PROCESS, get_user("spec_east"), request_data())


def test_the_archiving_refuses_a_case_without_its_documents_and_keeps_nothing(engine):
    rep, specialist = get_user("rep_e1"), get_user("spec_east")
    instance = engine.cases.start(PROCESS, rep, request_data())
    engine.cases.attach(instance.id, rep, DOCUMENTS[:1])
    task = open_tasks(instance.id)["specialist_check"]
    engine.cases.claim(task.id, specialist)
    with pytest.raises(DefinitionFault):
        engine.cases.complete(task.id, specialist, {"decision": "approve", "comment": ""})
    db.session.expire_all()
    assert get_customer("HD-E1-004") is None and db.session.get(Instance, instance.id).ended_at is None
    assert db.session.scalar(select(Incident.element).where(Incident.instance_id == instance.id)) == "archive_customer"
    assert db.session.get(registration.CustomerCodeCounter, get_customer("HD-E1-001").territory_id) is None


# -- through the API -----------------------------------------------------------------------------

def test_the_api_registers_a_customer_and_the_next_one_gets_the_next_number(api):
    instance_id = file_by_api(api)
    assert approve(api, instance_id).code == "HD-E1-004"
    case = api.get(f"/instances/{instance_id}", "rep_e1").get_json()
    assert case["status"] == "completed" and case["outcome"] == "approved"
    second = file_by_api(api, name="上海临港港务油品经销有限公司", licence_number=OTHER_LICENCE.lower())
    customer = approve(api, second)
    assert (customer.code, customer.licence_number) == ("HD-E1-005", OTHER_LICENCE)  # the form upper-cases it


def test_a_duplicate_is_refused_with_a_field_error_and_consumes_no_number(api):
    assert approve(api, file_by_api(api)).code == "HD-E1-004"
    same_name = api.post(f"/processes/{PROCESS}/instances", "rep_e1",
                         {"data": request_data(licence_number=OTHER_LICENCE)})
    assert same_name.status_code == 409
    assert "HD-E1-004" in same_name.get_json()["error"]["fields"]["name"][0]
    same_licence = api.post(f"/processes/{PROCESS}/instances", "rep_e2",
                            {"data": request_data(name="苏州某某新客户有限公司", territory="E2")})
    assert same_licence.status_code == 409
    assert "HD-E1-004" in same_licence.get_json()["error"]["fields"]["licence_number"][0]
    demo_name = api.post(f"/processes/{PROCESS}/instances", "rep_e1",
                         {"data": request_data(name="上海浦江石化贸易有限公司 ", licence_number=OTHER_LICENCE)})
    assert "HD-E1-001" in demo_name.get_json()["error"]["fields"]["name"][0]
    bad = api.post(f"/processes/{PROCESS}/instances", "rep_e1", {"data": request_data(licence_number="9131011")})
    assert bad.status_code == 400 and "licence_number" in bad.get_json()["error"]["fields"]
    bad_mobile = api.post(f"/processes/{PROCESS}/instances", "rep_e1",
                          {"data": request_data(name="新名字", licence_number=OTHER_LICENCE, contact1_mobile="12345")})
    assert bad_mobile.status_code == 400 and "contact1_mobile" in bad_mobile.get_json()["error"]["fields"]

    # A registration still in progress counts too, and so does the customer archived meanwhile.
    pending = file_by_api(api, name="上海临港港务油品经销有限公司", licence_number=OTHER_LICENCE)
    twice = api.post(f"/processes/{PROCESS}/instances", "rep_e1",
                     {"data": request_data(name="另一个名字有限公司", licence_number=OTHER_LICENCE)})
    assert twice.status_code == 409 and str(pending) in twice.get_json()["error"]["fields"]["licence_number"][0]
    assert approve(api, pending).code == "HD-E1-005"  # nothing refused took a number


def test_the_specialist_cannot_approve_before_both_documents_are_attached(api):
    instance_id = file_by_api(api, documents=DOCUMENTS[:1])
    refused = check_by_api(api, instance_id, {"decision": "approve", "comment": ""}, status=400)
    assert "法定代表人身份证复印件" in refused["error"]["fields"]["decision"][0]
    assert upload(api, instance_id, "rep_e1", DOCUMENTS[1]).status_code == 201
    assert approve(api, instance_id).code == "HD-E1-004"


def test_the_specialist_returns_it_to_the_rep_who_corrects_and_resubmits(api):
    instance_id = file_by_api(api, address="上海市浦东新区")
    task = open_tasks(instance_id)["specialist_check"]
    assert api.post(f"/tasks/{task.id}/claim", "spec_east").status_code == 200
    targets = api.get(f"/tasks/{task.id}/send-back", "spec_east").get_json()
    assert [t["step"] for t in targets] == ["request"]
    sent = api.post(f"/tasks/{task.id}/send-back", "spec_east", {"to": "request", "comment": "地址请写到门牌号"})
    assert sent.status_code == 200, sent.get_json()
    resubmit = sent.get_json()
    assert resubmit["form_key"] == "customer_registration_request" and resubmit["assignee"] == "rep_e1"
    # His own earlier request is no duplicate of itself.
    done = api.post(f"/tasks/{resubmit['id']}/complete", "rep_e1",
                    {"data": request_data(address="上海市浦东新区临港大道 88 号 3 幢")})
    assert done.status_code == 200, done.get_json()
    customer = approve(api, instance_id)
    assert (customer.code, customer.address) == ("HD-E1-004", "上海市浦东新区临港大道 88 号 3 幢")


def test_a_refusal_needs_a_reason_ends_the_case_and_gives_no_number(api):
    instance_id = file_by_api(api)
    silent = check_by_api(api, instance_id, {"decision": "reject", "comment": ""}, status=400)
    assert "comment" in silent["error"]["fields"]
    check_by_api(api, instance_id, {"decision": "reject", "comment": "营业执照已过期"})
    case = api.get(f"/instances/{instance_id}", "rep_e1").get_json()
    assert case["outcome"] == "rejected" and db.session.get(Instance, instance_id).customer_id is None
    assert get_customer("HD-E1-004") is None
    # Refused, it is no longer in progress: once the licence is renewed it may be filed again.
    assert approve(api, file_by_api(api)).code == "HD-E1-004"


def test_a_rep_of_another_territory_does_not_see_the_case(api):
    instance_id = file_by_api(api)
    assert api.get(f"/instances/{instance_id}", "rep_e2").status_code in (403, 404)
    assert api.get(f"/instances/{instance_id}/attachments", "rep_e2").status_code in (403, 404)
    assert api.get(f"/instances/{instance_id}", "rep_n1").status_code in (403, 404)
    assert api.get(f"/instances/{instance_id}", "spec_east").status_code == 200
    other = api.post(f"/processes/{PROCESS}/instances", "rep_e2", {"data": request_data(licence_number=OTHER_LICENCE,
                                                                                        name="新名字")})
    assert other.status_code == 400 and "territory" in other.get_json()["error"]["fields"]


# -- the page ------------------------------------------------------------------------------------

def test_the_page_needs_both_documents_and_files_them_with_the_request(pages):
    pages.login("rep_e1")
    url = f"/requests/new/{PROCESS}"
    page = pages.client.get(url).get_data(as_text=True)
    assert 'name="licence_scan"' in page and 'name="id_copy"' in page and 'value="E1"' in page
    missing = pages.submit(url, request_data())
    assert missing.status_code == 400
    assert "请附上营业执照扫描件" in missing.get_data(as_text=True)
    assert db.session.scalar(select(Instance).where(Instance.process_key == PROCESS)) is None
    filed = pages.client.post(url, data={**request_data(), "csrf_token": pages.csrf(url),
                                         "licence_scan": [(io.BytesIO(PDF), "营业执照.pdf")],
                                         "id_copy": [(io.BytesIO(PNG), "法人身份证.png")]},
                              content_type="multipart/form-data")
    assert filed.status_code == 302, filed.get_data(as_text=True)
    instance = db.session.scalar(select(Instance).where(Instance.process_key == PROCESS))
    assert [a.filename for a in attachments.of_case(instance.id)] == ["营业执照.pdf", "法人身份证.png"]


def test_the_demo_registration_waits_for_the_specialist(engine):
    instance = demo.seed_registration(engine)
    task = open_tasks(instance.id)["specialist_check"]
    assert task.is_offered_to(get_user("spec_east")) and len(attachments.of_case(instance.id)) == 2
    assert approve_by_engine(engine, instance).outcome == "approved"
    assert get_customer("HD-E1-004").licence_number == demo.DEMO_REGISTRATION["licence_number"]


def test_the_ended_case_leads_with_the_code_and_the_dossier_part_renders(api, pages, ctx):
    instance_id = file_by_api(api)
    customer = approve(api, instance_id)
    pages.login("rep_e1")
    case_page = pages.client.get(f"/cases/{instance_id}").get_data(as_text=True)
    assert 'data-testid="registration-result"' in case_page
    assert "HD-E1-004" in case_page and "华东分公司业务部" in case_page and "营业执照.pdf" in case_page
    with ctx.test_request_context():
        case = registration.registration_of(customer.id)
        part = render_template("customers/_registration.html", customer=customer, registration_case=case,
                               registration_files=attachments.of_case(case.id))
    assert LICENCE in part and f"/cases/{instance_id}" in part and "法人身份证.png" in part


def test_two_archivings_at_once_never_share_a_number(app, ctx):
    """The counter's row is locked from the UPDATE … RETURNING to the commit: the second waits, then takes
    the next number (on SQLite the second transaction waits for the write lock)."""
    territory_id = get_customer("HD-E1-001").territory_id
    db.session.commit()
    first_bumped, results = threading.Event(), {}

    def archiving(name: str, hold: float):
        with app.app_context():
            territory = db.session.get(org.OrgUnit, territory_id)
            if name == "second":
                first_bumped.wait(5)
            results[name] = registration.next_code(territory)
            if name == "first":
                first_bumped.set()
                time.sleep(hold)  # still holding the row when the other one asks
            db.session.commit()

    threads = [threading.Thread(target=archiving, args=("first", 0.5)),
               threading.Thread(target=archiving, args=("second", 0))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(10)
    assert results == {"first": "HD-E1-004", "second": "HD-E1-005"}
