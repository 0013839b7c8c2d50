"""Compliance review: the case search and its exports, the case timeline and path, the PDF dossier,
the audit trail download, the segregation-of-duties report, and who sees what (pages and API)."""
from __future__ import annotations

import csv
import io
import os
import re
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import browsing
import pytest
from conftest import case_entries, fire_due, get_customer, get_user
from flask import current_app
from openpyxl import load_workbook
from playwright.sync_api import expect
from pypdf import PdfReader
from sqlalchemy import select, text
from test_star_rating import act, filed_sheet, ratings

from app import db
from app.calendar import clock
from app.domain import demo
from app.engine.models import Event, Instance, Task
from app.read import case_search, timeline

ROOT = Path(__file__).resolve().parent.parent
PROCESS = "dossier_borrowing"
T0 = datetime(2026, 3, 2, 1, 0, tzinfo=UTC)  # 09:00 in Shanghai


def borrow(engine, username: str, code: str, purpose: str = "季度拜访准备") -> Instance:
    return engine.cases.start(PROCESS, get_user(username), {"customer_id": get_customer(code).id, "purpose": purpose,
                                                      "days": 5})


def decide(engine, instance: Instance, username: str, decision: str = "approve", comment: str = "") -> Task:
    db.session.expire_all()
    task = db.session.scalar(select(Task).where(Task.instance_id == instance.id, Task.state == "open"))
    user = get_user(username)
    if task.assignee_id is None:
        engine.cases.claim(task.id, user)
    return engine.cases.complete(task.id, user, {"decision": decision, "comment": comment})


@pytest.fixture
def cases(engine):
    """Three borrowing cases on a controlled clock:
    approved — rep_e2 borrows an E1 dossier on 2 March, rep_e1 and biz_east consent, rep_e2 reads it;
    refused  — rep_n1 asks for an E1 dossier on 10 March, rep_e1 refuses it (“涉及价格机密”);
    waiting  — rep_e1 asks for an N1 dossier on 20 March; its consent deadline (3 days) passes."""
    clock.set(T0)
    approved = borrow(engine, "rep_e2", "HD-E1-001")
    clock.set(T0 + timedelta(hours=2))
    decide(engine, approved, "rep_e1", comment="同意，仅限拜访准备")
    clock.set(T0 + timedelta(hours=5))
    decide(engine, approved, "biz_east", comment="同意")
    clock.set(T0 + timedelta(hours=6))
    current_app.extensions["policy"].read_dossier(get_user("rep_e2"), get_customer("HD-E1-001"), clock.now(), "page")
    db.session.commit()

    clock.set(T0 + timedelta(days=8))
    refused = borrow(engine, "rep_n1", "HD-E1-002")
    clock.set(T0 + timedelta(days=8, hours=1))
    decide(engine, refused, "rep_e1", "reject", "涉及价格机密")

    clock.set(T0 + timedelta(days=18))
    waiting = borrow(engine, "rep_e1", "HB-N1-001")
    clock.set(T0 + timedelta(days=25))
    db.session.expire_all()
    return {"approved": db.session.get(Instance, approved.id), "refused": db.session.get(Instance, refused.id),
            "waiting": db.session.get(Instance, waiting.id)}


def found(pages, query: str = "") -> list[int]:
    page = pages.client.get(f"/compliance/cases?{query}")
    assert page.status_code == 200, page.get_data(as_text=True)[:500]
    return [int(n) for n in re.findall(r'data-case="(\d+)"', page.get_data(as_text=True))]


def test_every_filter_finds_what_it_says(cases, pages):
    ids = {name: instance.id for name, instance in cases.items()}
    pages.login("auditor")
    assert found(pages) == [ids["waiting"], ids["refused"], ids["approved"]]  # newest first
    assert found(pages, "order=asc") == [ids["approved"], ids["refused"], ids["waiting"]]
    assert found(pages, f"process_key={PROCESS}&version=1") == [ids["waiting"], ids["refused"], ids["approved"]]
    assert found(pages, "process_key=complaint_handling") == []
    assert found(pages, "version=99") == []
    assert found(pages, "customer=HD-E1-001") == [ids["approved"]]
    assert found(pages, "customer=申通") == [ids["refused"]]  # words of the customer's name
    assert found(pages, "initiator=rep_n1") == [ids["refused"]]
    assert found(pages, "participant=rep_e1") == [ids["waiting"], ids["refused"], ids["approved"]]
    assert found(pages, "participant=biz_east") == [ids["approved"]]
    assert found(pages, "participant=rep_n1") == [ids["waiting"], ids["refused"]]  # asked to consent, or asked
    assert found(pages, "since=2026-03-10&until=2026-03-10") == [ids["refused"]]
    assert found(pages, "until=2026-03-09") == [ids["approved"]]
    assert found(pages, "status=running") == [ids["waiting"]]
    assert found(pages, "outcome=rejected") == [ids["refused"]]
    assert found(pages, "overdue=y") == [ids["waiting"]]
    assert found(pages, "words=价格机密") == [ids["refused"]]
    assert found(pages, "words=没有这句话") == []


def test_the_search_pages_through_results(cases, pages, app):
    pages.login("auditor")
    app.config["PAGE_SIZE"], size = 2, app.config["PAGE_SIZE"]
    try:
        assert len(found(pages)) == 2 and found(pages, "page=2") == [cases["approved"].id]
    finally:
        app.config["PAGE_SIZE"] = size


def test_a_deadline_passing_marks_the_case_escalated(engine, cases, pages):
    """The borrowing flow's consents have due dates but no timers; the waiting case is overdue, not
    escalated. A case of a process with deadline timers is escalated once one fires."""
    pages.login("auditor")
    assert found(pages, "escalated=y") == []
    clock.set(T0 + timedelta(days=26))
    complaint = engine.cases.start("complaint_handling", get_user("rep_e1"), {
        "customer_id": get_customer("HD-E1-001").id, "channel": "phone", "received_at": "2026-03-27T09:00:00",
        "content": "送货延误两天", "category": "delivery"})
    fire_due(engine, T0 + timedelta(days=40))
    assert found(pages, "escalated=y") == [complaint.id]


def test_bad_search_input_is_a_form_error_and_a_json_error(cases, pages, api):
    pages.login("auditor")
    page = pages.client.get("/compliance/cases?since=2026-13-01&version=x&until=2026-03-01")
    assert page.status_code == 400
    body = page.get_data(as_text=True)
    assert "is-invalid" in body and 'data-testid="results"' not in body
    reversed_period = pages.client.get("/compliance/cases?since=2026-03-10&until=2026-03-01")
    assert reversed_period.status_code == 400
    response = api.get("/instances?since=yesterday", "auditor")
    assert response.status_code == 400 and "since" in response.get_json()["error"]["fields"]
    assert pages.client.get("/compliance/cases.pdf").status_code == 400


def test_exports_carry_the_search_in_csv_and_xlsx(cases, pages):
    pages.login("auditor")
    response = pages.client.get("/compliance/cases.csv?outcome=approved")
    assert response.mimetype == "text/csv" and "attachment" in response.headers["Content-Disposition"]
    rows = list(csv.reader(io.StringIO(response.get_data().decode("utf-8-sig"))))
    assert len(rows) == 2 and rows[1][0] == str(cases["approved"].id)
    assert rows[1][5:8] == ["HD-E1-001", "上海浦江石化贸易有限公司", "李娜"]
    assert rows[1][9] == "2026-03-02 09:00" and rows[1][11] == "5.0"  # company time; hours to the end

    book = load_workbook(io.BytesIO(pages.client.get("/compliance/cases.xlsx").get_data()))
    sheet = book.active
    table = [[cell.value for cell in row] for row in sheet.iter_rows()]
    assert [row[0] for row in table[1:]] == [cases["waiting"].id, cases["refused"].id, cases["approved"].id]
    assert table[1][12] == "是"  # the waiting case is overdue (Chinese by default)


def test_an_export_reads_in_chunks_and_keeps_the_order(cases):
    wanted = case_search.CaseFilter(descending=False)
    exported = list(case_search.all_matching(get_user("auditor"), wanted, clock.now(), chunk=2))
    assert [(i.id, f.overdue) for i, f in exported] == [
        (cases["approved"].id, False), (cases["refused"].id, False), (cases["waiting"].id, True)]
    assert {i.id for i, _ in case_search.all_matching(get_user("rep_n1"), wanted, clock.now())} == {  # his own
        cases["refused"].id, cases["waiting"].id}


def test_the_timeline_has_every_event_in_order_with_who_and_what_changed(cases, pages):
    approved = cases["approved"]
    entries = case_entries(approved)
    stored = db.session.scalars(select(Event.id).where(Event.instance_id == approved.id).order_by(Event.id)).all()
    assert [e.event.id for e in entries] == stored
    consent = next(e for e in entries if e.event.type == "task_completed")
    assert consent.actor.username == "rep_e1" and consent.actor_roles == ("sales_rep",)
    assert consent.actor_unit == "华东一片区（浦东）" and consent.form_data["comment"] == "同意，仅限拜访准备"
    assert all(e.changes == {} for e in entries)  # nobody resubmitted anything

    pages.login("auditor")
    page = pages.client.get(f"/compliance/cases/{approved.id}").get_data(as_text=True)
    rows = re.findall(r'data-event="(\d+)"', page)
    assert [int(r) for r in rows] == stored
    assert "同意，仅限拜访准备" in page and "销售代表" in page and "华东一片区（浦东）" in page
    assert 'data-testid="chain-status"' in page and "alert-success" in page
    assert 'data-testid="loan-reads"' in page and "李娜" in page  # the read made under the loan


def test_a_resubmission_shows_what_it_changed(engine, purchases):
    """A star rating returned by HQ and revised by the branch: the revised sheet's changes are shown."""
    instance, suggested = filed_sheet(engine, purchases)
    act(engine, instance, "hq_review", "hq_mkt", {"decision": "return", "comment": "请复核"})
    act(engine, instance, "revise_rating", "biz_east", ratings(dict(suggested, **{"HD-E1-002": 1}),
                                                               {"HD-E1-002": "按总公司意见调整"}))
    revised = [e for e in case_entries(instance) if e.task and e.task.spec_id == "revise_rating"
               and e.event.type == "task_completed"][0]
    assert "ratings" in revised.changes


def test_the_path_and_the_time_at_each_step(cases):
    path = timeline.path(cases["approved"], clock.now())
    assert {"request_filed", "consent_territory_rep", "rep_decision", "consent_business_dept",
            "grant_loan"} <= path.passed
    assert "consent_branch_manager" not in path.passed and path.waiting == set()
    assert "flow_to_rep" in path.flows and "flow_third_consent" not in path.flows
    assert path.time_at == {"consent_territory_rep": timedelta(hours=2), "consent_business_dept": timedelta(hours=3)}
    waiting = timeline.path(cases["waiting"], clock.now())
    assert waiting.waiting == {"consent_territory_rep"} and waiting.time_at["consent_territory_rep"] == timedelta(days=7)


def test_an_ended_case_keeps_only_the_path_its_diagram_shows(cases):
    """It never runs again: its state is the elements it passed, a fraction of a running case's, and
    nothing can load it as a workflow."""
    from app.engine import definitions, serializer

    ended, running = cases["approved"], cases["waiting"]
    assert len(ended.state) * 3 < len(running.state)
    parsed = definitions.parsed(ended.definition)
    with pytest.raises(ValueError, match="does not run again"):
        serializer.loads(ended.state, parsed.spec, parsed.subprocess_specs)
    assert serializer.reached_in(ended.state, parsed.spec, parsed.subprocess_specs)[0] == timeline.path(
        ended, clock.now()).passed


def test_the_pdf_dossier_is_a_real_pdf_of_the_case(cases, pages):
    pages.login("auditor")
    response = pages.client.get(f"/compliance/cases/{cases['refused'].id}/dossier.pdf")
    assert response.status_code == 200 and response.mimetype == "application/pdf"
    reader = PdfReader(io.BytesIO(response.get_data()))
    content = "".join(page.extract_text() for page in reader.pages)
    assert f"#{cases['refused'].id}" in content and len(reader.pages) >= 2


def test_the_trail_of_a_period_downloads_and_verifies_outside(cases, pages, tmp_path):
    pages.login("auditor")
    response = pages.client.get("/compliance/trail.jsonl?since=2026-03-01&until=2026-03-31")
    assert response.status_code == 200 and "attachment" in response.headers["Content-Disposition"]
    trail = tmp_path / "trail.jsonl"
    trail.write_bytes(response.get_data())
    lines = trail.read_text().splitlines()
    assert len(lines) == db.session.scalar(select(text("count(*)")).select_from(Event))
    checked = subprocess.run([sys.executable, str(ROOT / "tools" / "verify_audit.py"), str(trail)],
                             capture_output=True, text=True)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    trail.write_text("\n".join([lines[0].replace("季度拜访准备", "随便看看"), *lines[1:]]) + "\n")
    tampered = subprocess.run([sys.executable, str(ROOT / "tools" / "verify_audit.py"), str(trail)],
                              capture_output=True, text=True)
    assert tampered.returncode == 1


def test_an_altered_event_shows_on_the_compliance_pages(cases, pages):
    """A row changed behind the application's back (on PostgreSQL only past the trigger)."""
    if db.dialect() == "postgresql":
        db.session.execute(text("SET LOCAL app.audit_maintenance = 'on'"))
    first = db.session.scalar(select(Event).where(Event.instance_id == cases["refused"].id,
                                                  Event.type == "task_completed"))
    db.session.execute(text("UPDATE events SET actor_id = :someone WHERE id = :id"),
                       {"someone": get_user("rep_e2").id, "id": first.id})
    db.session.commit()
    pages.login("auditor")
    page = pages.client.get("/compliance/cases").get_data(as_text=True)
    assert page.count('data-testid="chain-broken"') == 1 and page.count('data-testid="chain-ok"') == 2
    review = pages.client.get(f"/compliance/cases/{cases['refused'].id}").get_data(as_text=True)
    assert "alert-danger" in review and f"event {first.id}" in review


def test_the_segregation_report_lists_overrides(engine, pages):
    instance = borrow(engine, "mgr_east", "HD-E1-001")
    decide(engine, instance, "rep_e1")
    decide(engine, instance, "biz_east")
    task = db.session.scalar(select(Task).where(Task.instance_id == instance.id, Task.state == "open"))
    engine.admin.reassign(task.id, get_user("admin"), get_user("mgr_east"), "副总出差")
    pages.login("auditor")
    page = pages.client.get("/compliance/segregation").get_data(as_text=True)
    overrides = page.split('data-testid="overrides"')[1].split("</table>")[0]
    assert f'data-case="{instance.id}"' in overrides and "副总出差" in overrides and "赵敏" in overrides
    assert 'data-testid="override-count">1<' in page


# -- who sees what --------------------------------------------------------------------------------

# rep_e2 borrows an E1 dossier: rep_e1 consents first, biz_east's department may claim the next step.
# Every demo user, so every role: only the initiator, who took part, who may claim, reviewers, admins.
SEES_THE_CASE = {"rep_e2": True, "rep_e1": True, "biz_east": True, "auditor": True, "admin": True,
                 "mgr_east": False, "rep_n1": False, "hq_mkt": False, "deputy_gm": False, "spec_east": False,
                 "biz_north": False, "mgr_north": False, "salesmgr_east": False, "salesmgr_north": False,
                 "fin_li": False, "sales_dept": False, "leader": False, "legal": False, "contract_admin": False,
                 "contract_admin_n": False}


def test_the_visibility_table_covers_every_demo_user():
    assert set(SEES_THE_CASE) == {username for username, *_ in demo.USERS}


@pytest.fixture
def one_case(engine):
    instance = borrow(engine, "rep_e2", "HD-E1-001")
    decide(engine, instance, "rep_e1", comment="同意")
    return instance.id


@pytest.mark.parametrize("username, sees", SEES_THE_CASE.items())
def test_who_sees_a_case_on_the_pages(app, one_case, username, sees):
    from conftest import Browser
    browser = Browser(app)
    browser.login(username)
    expected = 200 if sees else 403
    assert browser.client.get(f"/cases/{one_case}").status_code == expected
    assert browser.client.get(f"/cases/{one_case}/diagram.bpmn").status_code == expected
    reviewer = username in ("auditor", "admin")
    assert browser.client.get(f"/compliance/cases/{one_case}").status_code == (200 if reviewer else 403)
    assert browser.client.get(f"/compliance/cases/{one_case}/dossier.pdf").status_code == (200 if reviewer else 403)
    assert browser.client.get("/compliance/cases").status_code == (200 if reviewer else 403)
    assert browser.client.get("/compliance/trail.jsonl").status_code == (200 if reviewer else 403)


@pytest.mark.parametrize("username, sees", SEES_THE_CASE.items())
def test_who_sees_a_case_through_the_api(api, one_case, username, sees):
    assert api.get(f"/instances/{one_case}", username).status_code == (200 if sees else 403)
    listed = [item["id"] for item in api.get("/instances", username).get_json()["items"]]
    assert (one_case in listed) == sees
    assert api.get(f"/instances/{one_case}/events", username).status_code == (200 if sees else 403)


def test_reviewers_change_nothing(app, api, one_case):
    """Every write a reviewer tries is a 403, on the pages and the API; reading and signing out work."""
    task = db.session.scalar(select(Task).where(Task.instance_id == one_case, Task.state == "open"))
    from conftest import Browser
    browser = Browser(app)
    browser.login("auditor")
    token = browser.csrf(f"/cases/{one_case}")
    for url in (f"/tasks/{task.id}/claim", f"/tasks/{task.id}", f"/cases/{one_case}/attachments",
                f"/requests/new/{PROCESS}", f"/admin/cases/{one_case}/suspend"):
        assert browser.client.post(url, data={"csrf_token": token}).status_code == 403, url
    for path, body in ((f"/tasks/{task.id}/claim", {}), (f"/tasks/{task.id}/complete", {"data": {}}),
                       (f"/processes/{PROCESS}/instances", {"data": {}}), (f"/instances/{one_case}/suspend", {})):
        response = api.post(path, "auditor", body)
        assert response.status_code == 403 and response.get_json()["error"]["code"] == "forbidden", path
    assert api.get(f"/instances/{one_case}", "auditor").status_code == 200
    assert browser.client.post("/language/en", data={"csrf_token": token}).status_code in (302, 303)
    db.session.expire_all()
    assert db.session.get(Task, task.id).assignee_id is None  # nothing changed


# -- in a browser ------------------------------------------------------------------------------------



@pytest.mark.browser
def test_a_reviewer_finds_a_closed_loan_sees_its_path_and_files_its_pdf(cases, browser, base_url, tmp_path):
    approved_id = cases["approved"].id
    db.session.rollback()  # SQLite: the pages' server must not wait on this session's transaction
    page = browsing.sign_in(browser, base_url, "auditor")
    problems = browsing.problems_of(page)
    page.get_by_role("link", name="合规审查").click()
    page.fill("#customer", "HD-E1-001")
    page.select_option("#outcome", "approved")
    page.get_by_role("button", name="搜索").click()
    results = page.get_by_test_id("results")
    expect(results.locator("[data-case]")).to_have_count(1)
    expect(results.get_by_test_id("chain-ok")).to_be_visible()
    results.get_by_role("link", name=f"#{approved_id}").click()

    expect(page.get_by_test_id("chain-status")).to_contain_text("可验证")
    diagram = page.get_by_test_id("diagram")
    for passed in ("consent_territory_rep", "consent_business_dept", "grant_loan"):
        expect(diagram.locator(f'g.step-done[data-element-id="{passed}"]')).to_have_count(1)
    expect(diagram.locator('g.step-done[data-element-id="consent_branch_manager"]')).to_have_count(0)
    expect(diagram.locator('g.flow-taken[data-element-id="flow_to_rep"]')).to_have_count(1)
    expect(diagram.locator(".step-time")).to_have_count(2)
    expect(page.get_by_test_id("timeline")).to_contain_text("同意，仅限拜访准备")
    expect(page.get_by_test_id("loan-reads")).to_contain_text("李娜")
    if os.environ.get("SCREENSHOTS"):
        browsing.ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=str(browsing.ARTIFACTS / "compliance-case.png"), full_page=True)

    with page.expect_download() as download:
        page.get_by_test_id("dossier-pdf").click()
    saved = tmp_path / download.value.suggested_filename
    download.value.save_as(saved)
    reader = PdfReader(saved)  # a real PDF: it opens, and it is this case's
    text_of_pdf = "".join(p.extract_text() for p in reader.pages)
    assert f"#{approved_id}" in text_of_pdf and "同意，仅限拜访准备" in text_of_pdf
    assert problems == []
    page.context.close()
