"""After-sales return visits (seed 001 §10, processes/return_visit_report.bpmn) through the API and the
engine on a controlled clock: the rep's report goes into the dossier; the sales manager reads it and
makes follow-up actions, each a task for a person of the branch with its due date, reminded and escalated
when late, and closed only with what was done; market demand reaches HQ marketing. Who may file, read and
act is checked at every step."""
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from conftest import fire_due, get_customer, get_user
from sqlalchemy import select

from app import db
from app.calendar import clock
from app.domain import return_visits as rv
from app.domain.notifications import Notification
from app.engine.models import COMPLETED, OPEN, RUNNING, Event, Instance, Task

SHANGHAI = ZoneInfo("Asia/Shanghai")
MONDAY = datetime(2027, 3, 1, 10, 0, tzinfo=SHANGHAI)  # a working day


@pytest.fixture(autouse=True)
def _database(ctx):
    """Every test here reads the database beside the API calls."""


def at(*args) -> datetime:
    return datetime(*args, tzinfo=SHANGHAI)


REPORT = {"visited_on": "2027-02-27", "evaluation": "satisfied", "evaluation_notes": "对油品质量满意，配送偶有延迟",
          "market_demand": "", "suggestions": "希望周末也能配送", "result": "客户续签意向明确"}


def file_report(api, customer="HD-E1-003", by="rep_e1", status=201, **changes) -> dict:
    clock.set(changes.pop("now", MONDAY))
    data = {"customer_id": get_customer(customer).id, **REPORT, **changes}
    response = api.post("/processes/return_visit_report/instances", by, {"data": data})
    assert response.status_code == status, response.get_json()
    return response.get_json()


def open_tasks(instance_id: int) -> list[Task]:
    db.session.expire_all()
    return list(db.session.scalars(select(Task).where(Task.instance_id == instance_id, Task.state == OPEN)
                                   .order_by(Task.id)))


def the_task(instance_id: int, spec: str, person: str | None = None) -> Task:
    tasks = [t for t in open_tasks(instance_id) if t.spec_id == spec
             and (person is None or (t.assignee and t.assignee.username == person))]
    assert len(tasks) == 1, [(t.spec_id, t.assignee_id) for t in open_tasks(instance_id)]
    return tasks[0]


def act(api, task: Task, username: str, data: dict, status: int = 200) -> dict:
    if task.assignee_id is None:
        assert api.post(f"/tasks/{task.id}/claim", username).status_code == 200
    response = api.post(f"/tasks/{task.id}/complete", username, {"data": data})
    assert response.status_code == status, response.get_json()
    return response.get_json()


def instance(instance_id: int) -> Instance:
    db.session.expire_all()
    return db.session.get(Instance, instance_id)


def action(person: str, what: str, due_on: str) -> dict:
    return {"person_id": get_user(person).id, "what": what, "due_on": due_on}


def test_a_report_without_actions_or_demand_is_read_and_closed(api):
    case = file_report(api)
    report = rv.report_of(case["id"])
    assert (report.customer.code, report.rep.username, report.evaluation) == ("HD-E1-003", "rep_e1", "satisfied")
    assert report in rv.of_customer(get_customer("HD-E1-003").id)  # in the dossier at once
    review = the_task(case["id"], "review", "salesmgr_east")
    assert review.due_at == at(2027, 3, 3, 10, 0)  # two working days
    act(api, review, "salesmgr_east", {"comment": "已阅", "actions": []})
    done = instance(case["id"])
    assert (done.status, done.outcome) == (COMPLETED, "report_closed")
    assert rv.report_of(case["id"]).reviewed_by.username == "salesmgr_east"


def test_actions_become_tasks_for_their_people_and_demand_goes_to_hq_marketing(api):
    case = file_report(api, market_demand="明年二季度起每月增加 200 吨 0 号柴油")
    review = the_task(case["id"], "review", "salesmgr_east")
    act(api, review, "salesmgr_east", {"comment": "安排跟进", "actions": [
        action("rep_e1", "与储运科协调周末配送", "2027-03-05"),
        action("biz_east", "核算周末配送成本", "2027-03-08")]})
    rep_task = the_task(case["id"], "carry_out", "rep_e1")
    biz_task = the_task(case["id"], "carry_out", "biz_east")
    assert [rv.action_of_task(t).what for t in (rep_task, biz_task)] == ["与储运科协调周末配送", "核算周末配送成本"]
    assert api.get(f"/tasks/{biz_task.id}", "biz_east").get_json()["context"]["action"]["due_on"] == "2027-03-08"
    assert (rep_task.due_at, biz_task.due_at) == (at(2027, 3, 6), at(2027, 3, 9))  # the end of each due day
    demand = the_task(case["id"], "read_demand")
    assert demand.candidate_role == "hq_marketing"
    # An action is not closed without what was done.
    refused = act(api, rep_task, "rep_e1", {"done_report": ""}, status=400)
    assert "done_report" in refused["error"]["fields"]
    act(api, biz_task, "rep_e1", {"done_report": "x"}, status=403)  # not his
    act(api, rep_task, "rep_e1", {"done_report": "已与储运科商定每周六配送"})
    act(api, demand, "hq_mkt", {"comment": "纳入二季度资源计划"})
    assert instance(case["id"]).status == RUNNING  # the cost is still to be worked out
    act(api, biz_task, "biz_east", {"done_report": "成本核算完毕，每吨增加 8 元"})
    done = instance(case["id"])
    assert (done.status, done.outcome) == (COMPLETED, "report_closed")
    report = rv.report_of(case["id"])
    assert [(a.person.username, a.due_on.isoformat(), a.done_report) for a in report.actions] == [
        ("rep_e1", "2027-03-05", "已与储运科商定每周六配送"), ("biz_east", "2027-03-08", "成本核算完毕，每吨增加 8 元")]
    assert all(a.done_at is not None for a in report.actions) and report.demand_read_at is not None


def test_demand_without_actions_only_waits_for_marketing(api):
    case = file_report(api, market_demand="下游工地增多，需求上升")
    act(api, the_task(case["id"], "review", "salesmgr_east"), "salesmgr_east", {"actions": []})
    assert [t.spec_id for t in open_tasks(case["id"])] == ["read_demand"]
    act(api, the_task(case["id"], "read_demand"), "hq_mkt", {})
    assert instance(case["id"]).status == COMPLETED


def test_an_action_names_a_person_of_the_branch_with_a_due_date_not_past(api):
    case = file_report(api)
    review = the_task(case["id"], "review", "salesmgr_east")
    for bad, field in ((action("rep_n1", "跟进", "2027-03-05"), "person_id"),  # another branch
                       (action("rep_e1", "跟进", "2027-02-27"), "due_on"),  # in the past
                       (action("rep_e1", "", "2027-03-05"), "what"),
                       ({"person_id": get_user("rep_e1").id, "what": "跟进", "due_on": ""}, "due_on")):
        refused = act(api, review, "salesmgr_east", {"actions": [bad]}, status=400)
        assert field in refused["error"]["fields"]["actions"][0], refused
    assert instance(case["id"]).status == RUNNING and rv.report_of(case["id"]).actions == []


def test_late_reviews_and_actions_are_reminded_then_escalated(api, engine):
    case = file_report(api)
    assert fire_due(engine, at(2027, 3, 3, 9, 59)) == 0
    assert fire_due(engine, at(2027, 3, 3, 10, 0, 1)) == 1  # the review, two working days on
    reminded = db.session.scalars(select(Event).where(Event.instance_id == case["id"],
                                                      Event.type == "reminder_sent")).all()
    assert [t["name"] for r in reminded for t in r.data["tasks"]] == ["销售经理阅处回访报告"]
    clock.set(at(2027, 3, 3, 11, 0))
    api.tokens.clear()
    act(api, the_task(case["id"], "review", "salesmgr_east"), "salesmgr_east",
        {"actions": [action("rep_e1", "回访确认配送时间", "2027-03-04")]})
    assert fire_due(engine, at(2027, 3, 4, 23, 59)) == 0
    assert fire_due(engine, at(2027, 3, 5, 0, 0, 1)) == 1  # its due day has ended: the person is reminded
    told = db.session.scalars(select(Notification).where(Notification.instance_id == case["id"],
                                                         Notification.kind == "deadline_passed")
                              .order_by(Notification.id)).all()
    assert [n.user.username for n in told] == ["salesmgr_east", "rep_e1"]  # the review's, then the action's
    assert [t.spec_id for t in open_tasks(case["id"])] == ["carry_out"]
    assert fire_due(engine, at(2027, 3, 8, 0, 0, 1)) == 1  # three days later the sales manager is told
    notice = the_task(case["id"], "action_overdue_notice")
    assert notice.assignee.username == "salesmgr_east"
    api.tokens.clear()
    clock.set(at(2027, 3, 8, 9, 0))
    act(api, the_task(case["id"], "carry_out"), "rep_e1", {"done_report": "已确认"})
    assert instance(case["id"]).status == COMPLETED
    assert open_tasks(case["id"]) == []  # the unread notice closes with the action


def test_only_the_customers_rep_files_and_only_the_branch_reads(api):
    file_report(api, by="rep_e2", status=403)  # HD-E1-003 is E1's
    file_report(api, by="salesmgr_east", status=403)  # not a rep
    refused = file_report(api, status=400, visited_on="2027-03-02")  # tomorrow
    assert "visited_on" in refused["error"]["fields"]
    file_report(api, status=400, evaluation="thrilled")
    file_report(api, status=400, result="")
    case = file_report(api)
    review = the_task(case["id"], "review", "salesmgr_east")
    act(api, review, "salesmgr_north", {"actions": []}, status=403)
    act(api, review, "rep_e1", {"actions": []}, status=403)
    assert api.get(f"/instances/{case['id']}", "rep_e2").status_code == 403
    assert api.get(f"/instances/{case['id']}", "rep_e1").status_code == 200


def test_the_dossier_shows_the_reports_and_their_actions(api, pages):
    case = file_report(api, market_demand="需求上升")
    act(api, the_task(case["id"], "review", "salesmgr_east"), "salesmgr_east",
        {"actions": [action("rep_e1", "协调周末配送", "2027-03-05")]})
    pages.login("rep_e1")
    page = pages.client.get(f"/customers/{get_customer('HD-E1-003').id}")
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and 'data-testid="return-visits"' in html
    assert "客户续签意向明确" in html and "协调周末配送" in html
    action_page = pages.client.get(f"/tasks/{the_task(case['id'], 'carry_out').id}").get_data(as_text=True)
    assert 'data-testid="return-visit-action-task"' in action_page and "协调周末配送" in action_page


def test_the_rep_files_and_the_sales_manager_reads_on_the_pages(api, pages):
    """Page structure by test ids and the flow's own data (the strings are English until translated)."""
    clock.set(MONDAY)
    customer = get_customer("HD-E1-003")
    pages.login("rep_e1")
    url = f"/requests/new/return_visit_report?customer_id={customer.id}"
    form = pages.client.get(url).get_data(as_text=True)
    assert f'<option selected value="{customer.id}">' in form and "HD-E1-002" in form and "HD-E2-001" not in form
    refused = pages.submit(url, {"customer_id": str(customer.id), "visited_on": "2027-03-05",
                                 "evaluation": "fair", "result": "x"})
    assert refused.status_code == 400 and "is-invalid" in refused.get_data(as_text=True)  # a visit ahead
    filed = pages.submit(url, {"customer_id": str(customer.id), "visited_on": "2027-02-28", "evaluation": "fair",
                               "suggestions": "加快开票", "result": "已回访"})
    assert filed.status_code == 302
    case_id = rv.of_customer(customer.id)[0].instance_id
    pages.client.post("/logout", data={"csrf_token": pages.csrf("/inbox")})
    pages.login("salesmgr_east")
    task_url = f"/tasks/{the_task(case_id, 'review').id}"
    page = pages.client.get(task_url).get_data(as_text=True)
    assert 'data-testid="return-visit-actions"' in page and page.count('data-testid="action-row"') == 3
    done = pages.submit(task_url, {"comment": "安排开票提速", "actions-0-person_id": str(get_user("spec_east").id),
                                   "actions-0-what": "开票周期缩短至两天", "actions-0-due_on": "2027-03-10",
                                   "actions-1-person_id": "", "actions-1-what": "", "actions-1-due_on": "",
                                   "actions-2-person_id": "", "actions-2-what": "", "actions-2-due_on": ""})
    assert done.status_code == 302, done.get_data(as_text=True)
    assert [(a.person.username, a.what) for a in rv.report_of(case_id).actions] == [("spec_east", "开票周期缩短至两天")]
    assert the_task(case_id, "carry_out", "spec_east").due_at == at(2027, 3, 11)
