"""Complaints (processes/complaint_handling.bpmn) through the engine and the API, with a controlled
clock: both paths, the decision table and its override, the unsatisfied customer, the deadlines,
the feedback no case ends without, and attachments with their access rules."""
import io
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from conftest import fire_due, get_customer, get_user
from pypdf import PdfReader
from sqlalchemy import select

from app import db, labels
from app.calendar import clock
from app.domain import failure_analysis
from app.domain.complaints import Complaint
from app.domain.notifications import Notification
from app.engine.models import COMPLETED, OPEN, RUNNING, Event, Instance, Task

SHANGHAI = ZoneInfo("Asia/Shanghai")
MONDAY = datetime(2027, 3, 1, 10, 0, tzinfo=SHANGHAI)  # a working day
PDF = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00\x00\x00\rIHDR" + b"\x00" * 32
EXECUTABLE = b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff\x00\x00" + b"\x00" * 64


@pytest.fixture(autouse=True)
def _database(ctx):
    """Every test here reads the database beside the API calls."""


def at(*args) -> datetime:
    return datetime(*args, tzinfo=SHANGHAI)


def file_complaint(api, customer="HD-E1-003", by="rep_e1", **changes) -> dict:
    clock.set(changes.pop("now", MONDAY))
    data = {"customer_id": get_customer(customer).id, "channel": "phone", "received_at": "2027-03-01T09:30",
            "category": "delivery", "content": "本周两次送货迟到超过半天，影响工地施工", **changes}
    response = api.post("/processes/complaint_handling/instances", by, {"data": data})
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def open_tasks(instance_id: int) -> dict[str, Task]:
    db.session.expire_all()
    return {t.spec_id: t for t in db.session.scalars(select(Task).where(Task.instance_id == instance_id,
                                                                         Task.state == OPEN))}


def act(api, instance_id: int, spec: str, username: str, data: dict, status: int = 200):
    task = open_tasks(instance_id)[spec]
    assert task.assignee.username == username, (spec, task.assignee.username)
    response = api.post(f"/tasks/{task.id}/complete", username, {"data": data})
    assert response.status_code == status, response.get_json()
    return response.get_json()


def complaint(instance_id: int) -> Complaint:
    db.session.expire_all()
    return db.session.scalar(select(Complaint).where(Complaint.instance_id == instance_id))


def instance(instance_id: int) -> Instance:
    db.session.expire_all()
    return db.session.get(Instance, instance_id)


def investigation(severity="general", **changes) -> dict:
    return {"findings": "承运车辆调度失误，两次晚到", "responsible": "华东分公司储运科", "safety_issue": False,
            "claimed_loss_yuan": None, "severity": severity, "reason": "", **changes}


# Told after the complaint was received (09:30) and not after the clock, which the tests keep at 10:00 or later.
ACKNOWLEDGED = {"acknowledgement": "complaint", "note": "已电话联系客户"}
FEEDBACK = {"told_how": "phone", "told_at": "2027-03-01T09:50", "customer_response": "satisfied",
            "customer_words": "表示理解"}


def through_investigation(api, **changes) -> int:
    case = file_complaint(api)
    act(api, case["id"], "acknowledge", "salesmgr_east", ACKNOWLEDGED)
    act(api, case["id"], "investigate", "salesmgr_east", investigation(**changes))
    return case["id"]


def test_a_general_complaint_is_handled_by_the_sales_manager_and_answered(api):
    case = file_complaint(api)
    # At once with the sales manager of the customer's branch.
    assert [(t["name"], t["assignee"]) for t in case["tasks"]] == [("销售经理确认收到投诉", "salesmgr_east")]
    clock.set(at(2027, 3, 1, 11, 0))
    act(api, case["id"], "acknowledge", "salesmgr_east", ACKNOWLEDGED)
    task = open_tasks(case["id"])["investigate"]
    detail = api.get(f"/tasks/{task.id}", "salesmgr_east").get_json()
    assert detail["context"] == {"facts": {"key_customer": False, "repeat_complaint": False},
                                 "proposed_severity": "general"}
    act(api, case["id"], "investigate", "salesmgr_east", investigation())
    act(api, case["id"], "handle_general", "salesmgr_east", {"actions": "更换承运车队，下周起专车配送"})
    assert instance(case["id"]).status == RUNNING  # not without telling the customer
    act(api, case["id"], "feedback_general", "salesmgr_east", dict(FEEDBACK, customer_response=None), status=400)
    act(api, case["id"], "feedback_general", "salesmgr_east", FEEDBACK)

    done = instance(case["id"])
    assert (done.status, done.outcome) == (COMPLETED, "resolved")
    row = complaint(case["id"])
    assert (row.severity, row.proposed_severity, row.escalated_at, row.customer_response) == (
        "general", "general", None, "satisfied")
    assert row.acknowledged_at == at(2027, 3, 1, 11, 0) and row.acknowledged_by.username == "salesmgr_east"
    assert row.received_at == at(2027, 3, 1, 9, 30) and row.received_by.username == "rep_e1"


def test_the_decision_table_proposes_and_an_override_needs_a_reason(api):
    case = file_complaint(api)
    act(api, case["id"], "acknowledge", "salesmgr_east", ACKNOWLEDGED)
    # A safety issue: the table proposes major; calling it general needs a reason.
    refused = act(api, case["id"], "investigate", "salesmgr_east", investigation(safety_issue=True), status=400)
    assert "reason" in refused["error"]["fields"]
    act(api, case["id"], "investigate", "salesmgr_east",
        investigation(safety_issue=True, reason="隐患已当场排除，无人员伤害，按一般处理"))
    row = complaint(case["id"])
    assert (row.proposed_severity, row.severity) == ("major", "general")
    assert row.override_reason == "隐患已当场排除，无人员伤害，按一般处理"
    assert "handle_general" in open_tasks(case["id"])

    # A claimed loss above 50,000 yuan proposes major; agreeing needs no reason.
    second = file_complaint(api, customer="HD-E2-002", by="rep_e2")
    act(api, second["id"], "acknowledge", "salesmgr_east", ACKNOWLEDGED)
    act(api, second["id"], "investigate", "salesmgr_east", investigation("major", claimed_loss_yuan="60000"))
    assert (complaint(second["id"]).proposed_severity, complaint(second["id"]).severity) == ("major", "major")
    assert "plan" in open_tasks(second["id"])


def test_a_second_complaint_within_90_days_is_proposed_major(api):
    first = file_complaint(api, received_at="2027-01-10T09:00")
    second = file_complaint(api)
    assert (complaint(first["id"]).repeat, complaint(second["id"]).repeat) == (False, True)
    act(api, second["id"], "acknowledge", "salesmgr_east", ACKNOWLEDGED)
    task = open_tasks(second["id"])["investigate"]
    assert api.get(f"/tasks/{task.id}", "salesmgr_east").get_json()["context"]["proposed_severity"] == "major"
    third = file_complaint(api, customer="HD-E1-002", received_at="2027-03-01T08:00")
    assert complaint(third["id"]).repeat is False  # another customer


def test_a_major_complaint_goes_to_the_deputy_with_plan_execution_and_confirmation(api):
    case_id = through_investigation(api, severity="major", claimed_loss_yuan="80000")
    assert complaint(case_id).escalated_at is not None
    plan = {"measures": "赔偿误工损失，调整配送计划", "responsible_person_id": get_user("rep_e1").id,
            "due_on": "2027-03-10"}
    act(api, case_id, "plan", "deputy_gm", dict(plan, responsible_person_id=999999), status=400)
    act(api, case_id, "plan", "deputy_gm", plan)
    execution = open_tasks(case_id)["execute"]
    assert execution.assignee.username == "rep_e1" and execution.due_at == at(2027, 3, 11)
    act(api, case_id, "execute", "rep_e1", {"report": "已与客户协商赔偿方案"})
    act(api, case_id, "confirm", "deputy_gm", {"decision": "return"}, status=400)  # say what is missing
    act(api, case_id, "confirm", "deputy_gm", {"decision": "return", "comment": "赔偿协议尚未签署"})
    act(api, case_id, "execute", "rep_e1", {"report": "赔偿协议已签署并支付"})
    act(api, case_id, "confirm", "deputy_gm", {"decision": "approve", "comment": "同意结案"})
    act(api, case_id, "feedback_major", "salesmgr_east", FEEDBACK)
    assert (instance(case_id).status, instance(case_id).outcome) == (COMPLETED, "resolved")


def test_an_unsatisfied_customer_sends_a_general_complaint_to_the_deputy_once(api):
    case_id = through_investigation(api)
    act(api, case_id, "handle_general", "salesmgr_east", {"actions": "致歉并承诺改进"})
    act(api, case_id, "feedback_general", "salesmgr_east", dict(FEEDBACK, customer_response="not_satisfied"))
    assert "plan" in open_tasks(case_id) and complaint(case_id).escalated_at is not None
    act(api, case_id, "plan", "deputy_gm", {"measures": "主管副经理亲自回访", "due_on": "2027-03-12",
                                            "responsible_person_id": get_user("salesmgr_east").id})
    act(api, case_id, "execute", "salesmgr_east", {"report": "已回访"})
    act(api, case_id, "confirm", "deputy_gm", {"decision": "approve"})
    act(api, case_id, "feedback_major", "salesmgr_east", dict(FEEDBACK, customer_response="not_satisfied"))
    done = instance(case_id)  # once: the case ends, on record as not satisfied
    assert (done.status, done.outcome) == (COMPLETED, "closed_unsatisfied")
    assert complaint(case_id).customer_response == "not_satisfied"


def test_acknowledgement_and_feedback_deadlines_fire_on_the_company_calendar(api, engine):
    case = file_complaint(api)  # recorded Monday 10:00
    assert open_tasks(case["id"])["acknowledge"].due_at == at(2027, 3, 1, 15, 0)  # 4 office hours
    assert fire_due(engine, at(2027, 3, 1, 14, 59)) == 0
    assert fire_due(engine, at(2027, 3, 1, 15, 0, 1)) == 1
    reminders = db.session.scalars(select(Event).where(Event.instance_id == case["id"],
                                                       Event.type == "reminder_sent")).all()
    assert [t["name"] for r in reminders for t in r.data["tasks"]] == ["销售经理确认收到投诉"]
    assert "ack_overdue_notice" not in open_tasks(case["id"])
    assert fire_due(engine, at(2027, 3, 2, 10, 0, 1)) == 1  # one working day: the branch manager is told
    assert open_tasks(case["id"])["ack_overdue_notice"].assignee.username == "mgr_east"

    clock.set(at(2027, 3, 2, 11, 0))
    act(api, case["id"], "acknowledge", "salesmgr_east", ACKNOWLEDGED)
    act(api, case["id"], "investigate", "salesmgr_east", investigation())
    assert fire_due(engine, at(2027, 3, 8, 9, 29)) == 0  # received 03-01 09:30: 7 days
    assert fire_due(engine, at(2027, 3, 8, 9, 30, 1)) == 1
    notice = open_tasks(case["id"])["notice_general"]
    assert notice.assignee.username == "deputy_gm" and notice.name == "投诉逾期未答复通知"
    api.tokens.clear()  # a week later: sign in again
    act(api, case["id"], "handle_general", "salesmgr_east", {"actions": "已处理"})
    act(api, case["id"], "feedback_general", "salesmgr_east", FEEDBACK)
    assert instance(case["id"]).status == COMPLETED  # the unread notices close with the case
    assert all(t.state != OPEN for t in db.session.scalars(select(Task).where(Task.instance_id == case["id"])))


def test_a_major_complaint_has_fifteen_days_to_answer(api, engine):
    case_id = through_investigation(api, severity="major", safety_issue=True)
    assert fire_due(engine, at(2027, 3, 8, 9, 30, 1)) == 0  # not 7 days: 15
    assert fire_due(engine, at(2027, 3, 16, 9, 30, 1)) == 1
    assert open_tasks(case_id)["notice_major"].assignee.username == "deputy_gm"


@pytest.fixture
def filed(api):
    return file_complaint(api)


def upload(api, instance_id, username, *files):
    return api.client.post(f"/api/v1/instances/{instance_id}/attachments",
                           headers={"Authorization": f"Bearer {api.token(username)}"},
                           data={"file": [(io.BytesIO(content), name) for name, content in files]},
                           content_type="multipart/form-data")


def test_attachments_are_checked_by_content_and_listed_in_the_history(api, filed):
    response = upload(api, filed["id"], "rep_e1", ("来函扫描.pdf", PDF), ("现场.png", PNG))
    assert response.status_code == 201, response.get_json()
    listed = api.get(f"/instances/{filed['id']}/attachments", "salesmgr_east").get_json()
    assert [(a["filename"], a["content_type"]) for a in listed] == [("来函扫描.pdf", "application/pdf"),
                                                                    ("现场.png", "image/png")]
    download = api.get(f"/instances/{filed['id']}/attachments/{listed[0]['id']}", "salesmgr_east")
    assert download.status_code == 200 and download.data == PDF
    assert download.headers["Content-Type"] == "application/pdf"
    assert download.headers["Content-Disposition"].startswith("attachment")
    events = api.get(f"/instances/{filed['id']}/events", "rep_e1").get_json()
    assert [e["data"]["filename"] for e in events if e["type"] == "attachment_added"] == ["来函扫描.pdf", "现场.png"]


def test_a_disguised_or_oversized_file_is_refused_and_nothing_is_kept(api, filed):
    disguised = upload(api, filed["id"], "rep_e1", ("ok.pdf", PDF), ("letter.pdf", EXECUTABLE))
    assert disguised.status_code == 400
    assert "letter.pdf" in disguised.get_json()["error"]["fields"]["attachments"][0]
    huge = upload(api, filed["id"], "rep_e1", ("scan.pdf", PDF + b"0" * (10 * 1024 * 1024)))
    assert huge.status_code == 400 and "10 MB" in huge.get_json()["error"]["fields"]["attachments"][0]
    assert api.get(f"/instances/{filed['id']}/attachments", "rep_e1").get_json() == []  # all or none


def test_people_outside_the_case_see_neither_it_nor_its_files(api, filed):
    assert upload(api, filed["id"], "rep_e1", ("来函.pdf", PDF)).status_code == 201
    (attachment,) = api.get(f"/instances/{filed['id']}/attachments", "rep_e1").get_json()
    for outsider in ("rep_n1", "biz_north", "spec_east"):
        assert api.get(f"/instances/{filed['id']}", outsider).status_code == 403
        assert api.get(f"/instances/{filed['id']}/attachments", outsider).status_code == 403
        assert api.get(f"/instances/{filed['id']}/attachments/{attachment['id']}", outsider).status_code == 403
        assert upload(api, filed["id"], outsider, ("x.pdf", PDF)).status_code in (403, 404)
    # Compliance reviewers read everything and change nothing.
    assert api.get(f"/instances/{filed['id']}/attachments/{attachment['id']}", "auditor").status_code == 200
    assert upload(api, filed["id"], "auditor", ("x.pdf", PDF)).status_code == 403


def test_a_key_customer_of_three_or_four_stars_is_proposed_major(api):
    from decimal import Decimal

    from app.domain.star_rating import StarRating
    case = file_complaint(api, customer="HD-E1-001")
    customer = get_customer("HD-E1-001")
    # The customer's latest approved rating (recorded here directly, as a star rating case would).
    db.session.add(StarRating(instance_id=case["id"], customer_id=customer.id, branch_id=customer.branch.id,
                              month="2027-02", volume_tons=Decimal("1200"), amount_yuan=Decimal("8640000"),
                              suggested_stars=4, initial_stars=4, stars=4))
    db.session.commit()
    act(api, case["id"], "acknowledge", "salesmgr_east", ACKNOWLEDGED)
    task = open_tasks(case["id"])["investigate"]
    context = api.get(f"/tasks/{task.id}", "salesmgr_east").get_json()["context"]
    assert context == {"facts": {"key_customer": True, "repeat_complaint": False}, "proposed_severity": "major"}
    act(api, case["id"], "investigate", "salesmgr_east", investigation(), status=400)  # general needs a reason
    act(api, case["id"], "investigate", "salesmgr_east", investigation(reason="客户已书面撤回索赔，按一般处理"))
    assert (complaint(case["id"]).proposed_severity, complaint(case["id"]).severity) == ("major", "general")


# -- never withdrawn; "not a complaint" ----------------------------------------------------------------

def test_a_complaint_is_never_withdrawn_by_its_recorder(api, pages):
    case = file_complaint(api)
    refused = api.post(f"/instances/{case['id']}/withdraw", "rep_e1", {"reason": "记错了"})
    assert refused.status_code == 409
    assert "投诉不能撤回" in refused.get_json()["error"]["message"]
    assert instance(case["id"]).status == RUNNING
    pages.login("rep_e1")
    page = pages.client.get(f"/cases/{case['id']}").get_data(as_text=True)
    assert 'data-testid="withdraw"' not in page  # no way offered that would only be refused


def test_one_recorded_by_mistake_is_closed_as_not_a_complaint_and_the_branch_manager_told(api):
    case = file_complaint(api)
    # Not a complaint needs the sales manager's reason.
    refused = act(api, case["id"], "acknowledge", "salesmgr_east", {"acknowledgement": "not_a_complaint"},
                  status=400)
    assert "note" in refused["error"]["fields"]
    act(api, case["id"], "acknowledge", "salesmgr_east",
        {"acknowledgement": "not_a_complaint", "note": "客户来电只是询价，不是投诉"})

    closed = instance(case["id"])
    assert (closed.status, closed.outcome, open_tasks(case["id"])) == (COMPLETED, "not_a_complaint", {})
    recorded = complaint(case["id"])
    assert recorded.dismissed_reason == "客户来电只是询价，不是投诉" and recorded.dismissed_at is not None
    manager = get_user("mgr_east")
    [dismissed] = db.session.scalars(select(Notification).where(Notification.user_id == manager.id,
                                                               Notification.kind == "complaint_dismissed"))
    assert dismissed.instance_id == case["id"] and "不属于投诉" in labels.notification_text(dismissed)
    assert api.get(f"/instances/{case['id']}", "mgr_east").status_code == 200  # he may read the case
    [ended] = db.session.scalars(select(Notification).where(Notification.user_id == get_user("rep_e1").id,
                                                           Notification.kind == "case_ended"))
    assert ended.data["outcome"] == "not_a_complaint"
    assert db.session.scalar(select(Event).where(Event.instance_id == case["id"],
                                                 Event.type == "complaint_dismissed")).data["reason"]

    # It counts neither as the customer's earlier complaint nor in the failure analysis.
    again = file_complaint(api, received_at="2027-03-01T09:40")
    assert complaint(again["id"]).repeat is False
    assert [c.instance_id for c in failure_analysis.complaints(None)] == [again["id"]]


def test_the_review_page_and_the_pdf_show_names_and_local_times_never_keys(api, pages):
    case_id = through_investigation(api, severity="major", claimed_loss_yuan="80000")
    person = get_user("salesmgr_east")
    act(api, case_id, "plan", "deputy_gm", {"measures": "全部退换", "responsible_person_id": person.id,
                                             "due_on": "2027-03-10"})
    pages.login("auditor")
    page = pages.client.get(f"/compliance/cases/{case_id}").get_data(as_text=True)
    pdf = pages.client.get(f"/compliance/cases/{case_id}/dossier.pdf")
    text = "".join(p.extract_text() for p in PdfReader(io.BytesIO(pdf.get_data())).pages)
    customer = get_customer("HD-E1-003")
    for shown in (page, text):
        assert customer.name in shown and person.display_name in shown
        assert "2027-03-01 09:30" in shown and "2027-03-01T09:30" not in shown
        for key in ("customer_code", "customer_name", "branch_id", "responsible_person_id", "customer_id"):
            assert key not in shown, key
