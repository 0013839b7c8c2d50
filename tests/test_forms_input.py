"""What a person types into the flows' forms (issue 16): every required choice starts empty and an empty
one is a field error; choices are narrowed to the person and the case; every typed date is checked
against what the step means, by the application clock in company time. Each refusal is a field error
through the real page (nothing else typed is lost) or the API."""
import io
import re
from datetime import date, timedelta

import pytest
from conftest import get_customer, get_user
from test_complaints import ACKNOWLEDGED, MONDAY, act, file_complaint, investigation, open_tasks

from app.calendar import clock
from forms import FORMS

pytestmark = pytest.mark.usefixtures("ctx")

TODAY = MONDAY.date()  # the complaint tests' clock: Monday 2027-03-01, 10:00 in Shanghai
SELECT = re.compile(r'<select[^>]*\bid="(?P<id>[\w-]+)"[^>]*>(?P<options>.*?)</select>', re.S)


def selects(html: str) -> dict[str, str]:
    """Each select of a page: its id and the options inside it."""
    return {match["id"]: match["options"] for match in SELECT.finditer(html)}


def starts_empty(options: str) -> bool:
    """The first option is the empty "Please choose", and nothing is chosen."""
    return options.lstrip().startswith('<option value="">') and "selected" not in options


def field_errors(html: str, field_id: str) -> str:
    """The text of the summary's entry for one field ('' if it has none)."""
    match = re.search(rf'<li><a href="#{re.escape(field_id)}">[^<]*</a>: ([^<]*)</li>', html)
    return match[1] if match else ""


def plan_task(api) -> int:
    """A major complaint about an east customer, waiting for the deputy's plan: its case."""
    case = file_complaint(api)
    act(api, case["id"], "acknowledge", "salesmgr_east", ACKNOWLEDGED)
    act(api, case["id"], "investigate", "salesmgr_east", investigation("major", claimed_loss_yuan="80000"))
    return case["id"]


PLAN = {"measures": "赔偿误工损失，调整配送计划", "due_on": "2027-03-10"}


# -- required choices --------------------------------------------------------------------------------

def test_the_complaint_intake_starts_with_empty_choices_and_the_recorders_customers_first(pages):
    pages.login("rep_e1")
    page = pages.client.get("/requests/new/complaint_handling").get_data(as_text=True)
    found = selects(page)
    assert all(starts_empty(found[name]) for name in ("customer_id", "channel", "category"))
    # His own territory's customers first, then his branch's, another branch's last.
    codes = re.findall(r">(H[DB]-[A-Z]\d-\d{3}) ", found["customer_id"])
    assert codes[:3] == ["HD-E1-001", "HD-E1-002", "HD-E1-003"]
    assert codes.index("HD-E2-001") < codes.index("HB-N1-001")

    typed = {"customer_id": "", "channel": "", "category": "", "received_at": "2027-02-27T09:30",
             "content": "送货司机态度恶劣"}
    clock.set(MONDAY)
    refused = pages.submit("/requests/new/complaint_handling", typed)
    html = refused.get_data(as_text=True)
    assert refused.status_code == 400
    assert all(field_errors(html, name) for name in ("customer_id", "channel", "category"))
    assert "送货司机态度恶劣" in html and 'value="2027-02-27T09:30"' in html  # nothing else is lost


def test_the_borrowing_form_offers_what_he_would_borrow_and_keeps_the_customer_the_list_passed(pages):
    pages.login("rep_e1")
    found = selects(pages.client.get("/requests/new/dossier_borrowing").get_data(as_text=True))
    assert starts_empty(found["customer_id"])
    assert "HD-E1-" not in found["customer_id"]  # his own territory's he reads without borrowing
    assert "HD-E2-001" in found["customer_id"]
    # From the customer list's "借阅" link: the customer he chose there.
    chosen = get_customer("HD-E2-001").id
    passed = selects(pages.client.get(f"/requests/new/dossier_borrowing?customer_id={chosen}").get_data(as_text=True))
    assert f'<option selected value="{chosen}">' in passed["customer_id"]

    refused = pages.submit("/requests/new/dossier_borrowing", {"customer_id": "", "purpose": "核对合同条款", "days": "5"})
    html = refused.get_data(as_text=True)
    assert refused.status_code == 400 and field_errors(html, "customer_id") and "核对合同条款" in html


def test_every_required_choice_of_the_flows_starts_empty(app):
    """Every required select of every form: it renders "Please choose" first."""
    with app.test_request_context():
        for key, form_class in FORMS.items():
            form = form_class(meta={"csrf": False})
            for field in form:
                if field.type == "SelectField" and field.flags.required and field.name != "stars":
                    field.choices = field.choices or []
                    assert re.match(r'<select[^>]*><option value="">', str(field())), (key, field.name)


def test_the_plans_responsible_person_is_of_the_customers_branch_or_headquarters(api, pages):
    case_id = plan_task(api)
    task = open_tasks(case_id)["plan"]
    pages.login("deputy_gm")
    found = selects(pages.client.get(f"/tasks/{task.id}").get_data(as_text=True))
    options = found["responsible_person_id"]
    assert starts_empty(options) and "data-filter" in pages.client.get(f"/tasks/{task.id}").get_data(as_text=True)
    assert "周杰 · 华东分公司" in options and "冯丽 · 总公司营销处" in options
    assert "华北" not in options  # nobody of another branch
    assert "林晓" not in options and "系统管理员" not in options  # a reviewer, a process administrator
    assert options.index('label="华东分公司"') < options.index('label="总公司"')

    north = act(api, case_id, "plan", "deputy_gm", dict(PLAN, responsible_person_id=get_user("rep_n1").id), status=400)
    assert "responsible_person_id" in north["error"]["fields"]
    empty = pages.submit(f"/tasks/{task.id}", dict(PLAN, responsible_person_id=""))
    html = empty.get_data(as_text=True)
    assert empty.status_code == 400 and field_errors(html, "responsible_person_id") and PLAN["measures"] in html


# -- dates ---------------------------------------------------------------------------------------------

@pytest.mark.parametrize("due_on", ["2001-01-01", (TODAY - timedelta(days=1)).isoformat(),
                                    (TODAY + timedelta(days=400)).isoformat()])
def test_a_plan_is_due_from_today_on_and_within_a_year(api, pages, due_on):
    case_id = plan_task(api)
    task = open_tasks(case_id)["plan"]
    data = dict(PLAN, responsible_person_id=get_user("rep_e1").id, due_on=due_on)
    assert "due_on" in act(api, case_id, "plan", "deputy_gm", data, status=400)["error"]["fields"]
    pages.login("deputy_gm")
    refused = pages.submit(f"/tasks/{task.id}", data)
    html = refused.get_data(as_text=True)
    assert refused.status_code == 400 and field_errors(html, "due_on") and PLAN["measures"] in html
    act(api, case_id, "plan", "deputy_gm", dict(data, due_on=TODAY.isoformat()))  # today will do


def test_the_customer_is_told_after_the_complaint_and_not_later_than_now(api, pages):
    case_id = plan_task(api)
    act(api, case_id, "plan", "deputy_gm", dict(PLAN, responsible_person_id=get_user("rep_e1").id))
    act(api, case_id, "execute", "rep_e1", {"report": "已赔偿"})
    act(api, case_id, "confirm", "deputy_gm", {"decision": "approve"})
    told = {"told_how": "phone", "customer_response": "satisfied", "customer_words": "满意"}
    for when in ("2027-03-01T09:00", "2027-03-01T10:30"):  # before it was received (09:30); after now (10:00)
        refused = act(api, case_id, "feedback_major", "salesmgr_east", dict(told, told_at=when), status=400)
        assert list(refused["error"]["fields"]) == ["told_at"]
    pages.login("salesmgr_east")
    page = pages.submit(f"/tasks/{open_tasks(case_id)['feedback_major'].id}", dict(told, told_at="2027-03-01T10:30"))
    html = page.get_data(as_text=True)
    assert page.status_code == 400 and field_errors(html, "told_at") and "满意" in html
    act(api, case_id, "feedback_major", "salesmgr_east", dict(told, told_at="2027-03-01T09:45"))


def test_a_complaint_is_not_received_before_the_customer_cooperated_with_the_company(api, pages):
    customer = get_customer("HD-E1-001")
    before = customer.cooperation_since - timedelta(days=1)
    clock.set(MONDAY)
    pages.login("rep_e1")
    typed = {"customer_id": customer.id, "channel": "phone", "category": "delivery",
             "received_at": f"{before.isoformat()}T09:30", "content": "送货迟到"}
    refused = pages.submit("/requests/new/complaint_handling", typed)
    html = refused.get_data(as_text=True)
    assert refused.status_code == 400 and customer.cooperation_since.isoformat() in field_errors(html, "received_at")
    assert "送货迟到" in html
    by_api = api.post("/processes/complaint_handling/instances", "rep_e1", {"data": typed})
    assert by_api.status_code == 400 and "received_at" in by_api.get_json()["error"]["fields"]
    file_complaint(api, customer="HD-E1-001", received_at=f"{customer.cooperation_since.isoformat()}T09:30")


def test_a_follow_up_day_comes_after_today(api, engine):
    from test_early_warning import at, report, waiting

    clock.set(at(2026, 10, 8, 9, 0))
    task = waiting(report(engine))
    assert api.post(f"/tasks/{task.id}/claim", "spec_east").status_code == 200
    for day in ("2026-10-08", "2027-12-01"):  # today; more than a year ahead
        refused = api.post(f"/tasks/{task.id}/complete", "spec_east",
                           {"data": {"measures": "暂停赊销", "follow_up_on": day}})
        assert refused.status_code == 400 and list(refused.get_json()["error"]["fields"]) == ["follow_up_on"]
    done = api.post(f"/tasks/{task.id}/complete", "spec_east", {"data": {"measures": "暂停赊销", "follow_up_on": "2026-10-09"}})
    assert done.status_code == 200


def test_a_weekly_summary_is_opened_for_a_monday_that_has_come(api):
    clock.set(MONDAY)
    ahead = api.post("/processes/visit_summary/instances", "admin", {"data": {"branch": "east", "monday": "2027-03-08"}})
    assert ahead.status_code == 400 and "monday" in ahead.get_json()["error"]["fields"]
    assert api.post("/processes/visit_summary/instances", "admin",
                    {"data": {"branch": "east", "monday": "2027-03-01"}}).status_code == 201


def test_cooperation_does_not_start_after_today(pages):
    clock.set(MONDAY)
    customer = get_customer("HD-E1-001")
    pages.login("rep_e1")
    refused = pages.submit(f"/customers/{customer.id}/edit", {"equipment": "新油罐 1 座",
                                                              "cooperation_since": "2027-03-02"})
    html = refused.get_data(as_text=True)
    assert refused.status_code == 400 and field_errors(html, "cooperation_since") and "新油罐 1 座" in html
    assert get_customer("HD-E1-001").cooperation_since == date(2012, 3, 1)


# -- words ---------------------------------------------------------------------------------------------

def test_each_field_of_the_complaint_flow_has_its_own_words(app):
    """Two different fields never share a label (the feedback's customer words had the intake's)."""
    with app.test_request_context():
        named: dict[str, set[str]] = {}
        for key, form_class in FORMS.items():
            if key.startswith("complaint_"):
                for field in form_class(meta={"csrf": False}):
                    named.setdefault(str(field.label.text), set()).add(field.name)
    shared = {label: names for label, names in named.items() if len(names) > 1}
    assert shared == {}


def test_a_form_that_comes_back_says_the_chosen_files_must_be_chosen_again(pages):
    pages.login("rep_e1")
    clock.set(MONDAY)
    typed = {"customer_id": str(get_customer("HD-E1-003").id), "channel": "phone", "category": "",
             "received_at": "2027-02-27T09:30", "content": "送货迟到",
             "csrf_token": pages.csrf("/requests/new/complaint_handling")}
    with_file = pages.client.post("/requests/new/complaint_handling", content_type="multipart/form-data",
                                  data={**typed, "attachments": (io.BytesIO(b"%PDF-1.4\n%%EOF\n"), "来函.pdf")})
    html = with_file.get_data(as_text=True)
    assert with_file.status_code == 400 and field_errors(html, "category")
    assert 'data-testid="files-not-kept"' in html and "来函.pdf" in html
    typed["csrf_token"] = pages.csrf("/requests/new/complaint_handling")
    without = pages.client.post("/requests/new/complaint_handling", data=typed).get_data(as_text=True)
    assert 'data-testid="files-not-kept"' not in without  # nothing was chosen: nothing to choose again
