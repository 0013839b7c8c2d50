"""The compliance step report (issue 7) over real cases run by the engine on a controlled clock: per step,
executions, median and 90th percentile hours, overdue and escalated; per process, the cases; the period in
company days; the process filter; a bounded number of queries; the page, the CSV and who may see them.

The page tests need the `compliance.reports` and `compliance.reports_csv` views and
app/static/step-report-chart.js.
"""
import json
import os
import re
from datetime import date, datetime, timedelta
from pathlib import Path

import browsing
import pytest
from conftest import Browser, fire_due, get_customer, get_user
from sqlalchemy import event, func, select
from test_failure_analysis import english, read_csv

from app import db
from app.calendar import clock
from app.domain.failure_analysis import Durations
from app.engine.definitions import latest_definitions
from app.engine.models import OPEN, Event, Task
from app.exports import to_csv
from app.read import step_report

BORROWING, DEADLINES, COMPLAINTS = "dossier_borrowing", "consent_with_deadlines", "complaint_handling"
REP_STEP, BUSINESS_STEP, MANAGER_STEP = (
    "consent_territory_rep", "consent_business_dept", "consent_branch_manager")
# consent_with_deadlines: a consent with a reminder after a day, expiring after three
TEST_PROCESSES = Path(__file__).resolve().parent / "processes"


def at(text: str) -> datetime:
    """A moment in company time: at("2026-03-10 10:00")."""
    return datetime.fromisoformat(text + "+08:00")


def borrow(engine, requester: str, customer_code: str, when: str) -> int:
    clock.set(at(when))
    data = {"customer_id": get_customer(customer_code).id, "purpose": "核对月度采购分析", "days": 7}
    return engine.cases.start(BORROWING, get_user(requester), data).id


def decide(engine, instance_id: int, username: str, when: str, decision: str = "approve") -> None:
    """At `when`, `username` takes the case's open task (claiming it if offered to a group) and decides."""
    clock.set(at(when))
    task = db.session.scalar(select(Task).where(Task.instance_id == instance_id, Task.state == OPEN))
    user = get_user(username)
    if task.assignee_id is None:
        engine.cases.claim(task.id, user)
    comment = "同意" if decision == "approve" else "用途不明"
    engine.cases.complete(task.id, user, {"decision": decision, "comment": comment})


def march_of_borrowing(engine) -> None:
    """Five borrowing cases in March 2026, looked at on 10 March 12:00. Steps are due 3 days after creation.

    A  rep 1 h; business dept 96 h (a day late)        -> completed, 97 h
    B  rep 3 h; business dept open since 3 March 12:00 -> overdue by 10 March
    C  (another department) rep 2 h; business dept 2 h; branch manager open since 4 March 13:00 -> overdue
    D  rep refuses after 5 h                           -> completed, 5 h
    E  terminated 1 h after it started: its open rep step is cancelled and not counted
    """
    a = borrow(engine, "rep_e2", "HD-E1-001", "2026-03-02 09:00")
    decide(engine, a, "rep_e1", "2026-03-02 10:00")
    b = borrow(engine, "rep_e2", "HD-E1-002", "2026-03-03 09:00")
    decide(engine, b, "rep_e1", "2026-03-03 12:00")
    c = borrow(engine, "spec_east", "HD-E1-001", "2026-03-04 09:00")
    decide(engine, c, "rep_e1", "2026-03-04 11:00")
    decide(engine, c, "biz_east", "2026-03-04 13:00")
    d = borrow(engine, "rep_n1", "HD-E1-002", "2026-03-05 09:00")
    decide(engine, d, "rep_e1", "2026-03-05 14:00", "reject")
    decide(engine, a, "biz_east", "2026-03-06 10:00")
    e = borrow(engine, "rep_n1", "HD-E1-003", "2026-03-09 09:00")
    clock.set(at("2026-03-09 10:00"))
    engine.admin.terminate(e, get_user("admin"), "重复申请")


MARCH_NOW = at("2026-03-10 12:00")


def figures(row: step_report.StepRow) -> tuple:
    return row.executions, row.open, row.duration, row.overdue, row.escalated


# -- steps ---------------------------------------------------------------------------------------------

def test_each_step_counts_its_executions_hours_and_lateness_in_order_of_first_appearance(engine):
    march_of_borrowing(engine)

    rows = step_report.steps(BORROWING, None, None, MARCH_NOW)

    assert [(r.process_key, r.spec_id, r.name) for r in rows] == [
        (BORROWING, REP_STEP, "片区销售代表同意"), (BORROWING, BUSINESS_STEP, "业务部主管同意"),
        (BORROWING, MANAGER_STEP, "分公司经理同意")]
    rep, business, manager = rows
    # 1, 3, 2 and 5 hours (E's cancelled step is not there); the 90th percentile interpolates: 3 + 0.7 * 2
    assert figures(rep) == (4, 0, Durations(4, 2.5, pytest.approx(4.4)), 0, 0)
    # A's 96 and C's 2 hours; B's open step counts but has no duration; A was late, B is late
    assert figures(business) == (3, 1, Durations(2, 49.0, pytest.approx(86.6)), 2, 0)
    assert figures(manager) == (1, 1, Durations(0, None, None), 1, 0)


def test_overdue_means_strictly_after_the_due_time_or_open_past_it_now(engine):
    on_time = borrow(engine, "rep_e2", "HD-E1-001", "2026-03-02 09:00")  # due 5 March 09:00
    late = borrow(engine, "rep_n1", "HD-E1-001", "2026-03-02 09:00")
    borrow(engine, "spec_east", "HD-E1-001", "2026-03-02 09:00")  # stays open
    decide(engine, on_time, "rep_e1", "2026-03-05 09:00")
    decide(engine, late, "rep_e1", "2026-03-05 09:01")

    def overdue(now: str) -> int:
        rep = step_report.steps(BORROWING, None, None, at(now))[0]
        assert rep.spec_id == REP_STEP
        return rep.overdue

    assert overdue("2026-03-05 09:00") == 1  # the late one; the open one is due this very minute
    assert overdue("2026-03-05 09:00:01") == 2


def test_escalated_when_a_deadline_timer_of_the_same_case_fired_while_the_step_was_open(engine):
    engine.deployment.deploy_directory(TEST_PROCESSES)
    t0 = at("2026-03-02 09:00")

    def start(hours: int) -> int:
        clock.set(t0 + timedelta(hours=hours))
        return engine.cases.start(DEADLINES, get_user("rep_e2"), {"customer_id": get_customer("HD-E1-001").id}).id

    def complete(instance_id: int, hours: int) -> None:
        clock.set(t0 + timedelta(hours=hours))
        task = db.session.scalar(select(Task).where(Task.instance_id == instance_id, Task.state == OPEN))
        engine.cases.complete(task.id, get_user("rep_e1"), {"decision": "approve", "comment": ""})

    reminded = start(0)
    other_case = start(2)  # open while `reminded`'s timer fires, but its own fires only after it is done
    start(3)  # expires
    assert fire_due(engine, t0 + timedelta(hours=24, minutes=1)) == 1  # `reminded`'s one-day reminder
    complete(other_case, 25)
    complete(reminded, 48)
    start(49)  # stays open
    # the expiring one is cancelled by its three-day timer (not counted); the open one is reminded
    assert fire_due(engine, t0 + timedelta(hours=96)) == 2

    [consent] = step_report.steps(DEADLINES, None, None, t0 + timedelta(hours=97))

    assert figures(consent) == (3, 1, Durations(2, 35.5, pytest.approx(45.5)), 0, 2)
    [totals] = step_report.processes(DEADLINES, None, None)
    # reminded 48 h, other_case 23 h, the expired one 93 h (it ended when its timer fired); one runs
    assert (totals.name, totals.started, totals.completed) == ("带期限的同意", 4, 3)
    assert totals.duration == Durations(3, 48.0, pytest.approx(84.0))
    # looked at before the reminder of the open one fired, it was not escalated yet
    [earlier] = step_report.steps(DEADLINES, None, None, t0 + timedelta(hours=96))
    assert earlier.escalated == 1


def test_timers_that_fired_before_a_step_was_created_do_not_escalate_it(ctx, api):
    monday = at("2027-03-01 10:00")  # a working day: acknowledgement due at 15:00, escalated Tuesday 10:00
    clock.set(monday)
    data = {"customer_id": get_customer("HD-E1-003").id, "channel": "phone",
            "received_at": "2027-03-01T09:30", "category": "delivery", "content": "送货迟到"}
    started = api.post(f"/processes/{COMPLAINTS}/instances", "rep_e1", {"data": data})
    assert started.status_code == 201, started.get_json()
    case_id = started.get_json()["id"]
    # one wake-up: the reminder and the escalation are both due
    assert fire_due(ctx.extensions["engine"], at("2027-03-02 11:00")) == 1
    assert db.session.scalar(select(func.count()).select_from(Event).where(
        Event.instance_id == case_id, Event.type == "timer_fired")) == 2
    clock.set(at("2027-03-02 14:00"))
    acknowledge = db.session.scalar(select(Task).where(Task.instance_id == case_id,
                                                       Task.spec_id == "acknowledge"))
    done = api.post(f"/tasks/{acknowledge.id}/complete", "salesmgr_east", {"data": {"acknowledgement": "complaint", "note": "已联系"}})
    assert done.status_code == 200, done.get_json()

    rows = step_report.steps(COMPLAINTS, None, None, at("2027-03-03 09:00"))

    assert [(r.spec_id, figures(r)) for r in rows] == [
        ("acknowledge", (1, 0, Durations(1, 28.0, 28.0), 1, 1)),
        # the branch manager's notice opens at the very moment the escalation fires: that counts
        ("ack_overdue_notice", (1, 1, Durations(0, None, None), 0, 1)),
        # created after both timers fired, due Thursday 14:00
        ("investigate", (1, 1, Durations(0, None, None), 0, 0)),
    ]


# -- processes -------------------------------------------------------------------------------------------

def test_every_process_shows_its_cases_started_and_completed(engine):
    march_of_borrowing(engine)

    totals = {t.process_key: t for t in step_report.processes(None, None, None)}

    assert list(totals) == sorted(d.key for d in latest_definitions())  # every process, none started too
    borrowing = totals[BORROWING]
    # A (97 h) and D (5 h) completed; B and C run; E was terminated
    assert (borrowing.name, borrowing.started, borrowing.completed) == ("客户档案借阅", 5, 2)
    assert borrowing.duration == Durations(2, 51.0, pytest.approx(87.8))
    assert (totals["star_rating"].started, totals["star_rating"].duration) == (0, Durations(0, None, None))


def test_the_report_puts_each_process_with_its_steps_and_filters_by_process(engine):
    march_of_borrowing(engine)
    engine.deployment.deploy_directory(TEST_PROCESSES)
    clock.set(at("2026-03-03 10:00"))
    engine.cases.start(DEADLINES, get_user("rep_e2"), {"customer_id": get_customer("HD-E1-001").id})

    sections = step_report.report(None, None, None, MARCH_NOW)

    steps_by_process = {s.totals.process_key: [r.spec_id for r in s.steps] for s in sections}
    assert list(steps_by_process) == sorted(d.key for d in latest_definitions())
    assert {key: steps for key, steps in steps_by_process.items() if steps} == {
        DEADLINES: ["consent"], BORROWING: [REP_STEP, BUSINESS_STEP, MANAGER_STEP]}
    [only] = step_report.report(DEADLINES, None, None, MARCH_NOW)
    assert (only.totals.process_key, only.totals.started, [figures(r) for r in only.steps]) == (
        DEADLINES, 1, [(1, 1, Durations(0, None, None), 0, 0)])
    assert [r.process_key for r in step_report.steps(BORROWING, None, None, MARCH_NOW)] == [BORROWING] * 3


# -- the period ----------------------------------------------------------------------------------------

def month_turn(engine) -> None:
    """Cases around the end of April 2026, company time."""
    late_march = borrow(engine, "rep_e2", "HD-E1-001", "2026-03-31 23:30")  # 15:30 UTC
    decide(engine, late_march, "rep_e1", "2026-04-01 00:30")  # still 31 March in UTC: business step in April
    early_april = borrow(engine, "rep_e2", "HD-E1-002", "2026-04-01 09:00")
    decide(engine, early_april, "rep_e1", "2026-04-01 10:00")
    borrow(engine, "rep_n1", "HD-E1-001", "2026-04-30 23:59")
    borrow(engine, "rep_n1", "HD-E1-002", "2026-05-01 00:00")


def test_the_period_is_company_days_on_creation_both_ends_included(engine):
    month_turn(engine)
    now = at("2026-05-02 00:00")

    april = step_report.steps(BORROWING, date(2026, 4, 1), date(2026, 4, 30), now)

    # the business step first appeared (00:30 on 1 April) before April's first rep step (09:00)
    assert [(r.spec_id, figures(r)) for r in april] == [
        (BUSINESS_STEP, (2, 2, Durations(0, None, None), 2, 0)),
        (REP_STEP, (2, 1, Durations(1, 1.0, 1.0), 0, 0)),  # 30 April 23:59 is in, 1 May 00:00 is not
    ]
    march = step_report.steps(BORROWING, None, date(2026, 3, 31), now)
    assert [(r.spec_id, r.executions, r.duration) for r in march] == [(REP_STEP, 1, Durations(1, 1.0, 1.0))]
    may = step_report.steps(BORROWING, date(2026, 5, 1), None, now)
    assert [(r.spec_id, r.executions, r.open) for r in may] == [(REP_STEP, 1, 1)]
    # cases count by their start: the late-March one is not April's
    [april_cases] = step_report.processes(BORROWING, date(2026, 4, 1), date(2026, 4, 30))
    assert (april_cases.started, april_cases.completed) == (2, 0)


# -- how it reads the database ---------------------------------------------------------------------------

def queries_of(call) -> int:
    """How many SELECT statements `call` sends to the database."""
    count = 0

    def counted(_connection, _cursor, statement, *_args):
        nonlocal count
        count += statement.lstrip().upper().startswith("SELECT")

    event.listen(db.current_engine(), "before_cursor_execute", counted)
    try:
        call()
    finally:
        event.remove(db.current_engine(), "before_cursor_execute", counted)
    return count


def test_three_queries_whatever_the_number_of_cases_and_steps(engine):
    first = borrow(engine, "rep_e2", "HD-E1-001", "2026-03-02 09:00")
    decide(engine, first, "rep_e1", "2026-03-02 10:00")
    db.session.rollback()  # nothing loaded or pending before counting
    few = queries_of(lambda: step_report.report(None, None, None, MARCH_NOW))
    for code in ("HD-E1-001", "HD-E1-002", "HD-E1-003"):
        case_id = borrow(engine, "rep_n1", code, "2026-03-03 09:00")
        decide(engine, case_id, "rep_e1", "2026-03-03 10:00")
        decide(engine, case_id, "biz_east", "2026-03-03 11:00")
    db.session.rollback()
    many = queries_of(lambda: step_report.report(None, None, None, MARCH_NOW))
    assert few == many == 3


# -- CSV -------------------------------------------------------------------------------------------------

CSV_HEADER = ["Process", "Process key", "Step", "Step id", "Executions", "Still open", "Median hours",
              "90th percentile hours", "Overdue", "Escalated"]


def test_csv_lines_are_steps_with_hours_to_the_hundredth_and_no_formulas():
    totals = step_report.ProcessTotals("p", "=流程", 1, 0, Durations(0, None, None))
    steps = [step_report.StepRow("p", "s1", "@SUM(A1)", 3, 1, Durations(2, 1.25, 86.6 + 1e-9), 1, 2),
             step_report.StepRow("p", "s2", "审批", 1, 1, Durations(0, None, None), 0, 0)]
    rows = step_report.csv_rows([step_report.ProcessReport(totals, steps)])
    assert rows == [["=流程", "p", "@SUM(A1)", "s1", 3, 1, 1.25, 86.6, 1, 2],
                    ["=流程", "p", "审批", "s2", 1, 1, None, None, 0, 0]]
    # step and process names are definition text: the export guards them
    body = to_csv(CSV_HEADER, rows).decode("utf-8-sig")
    assert body.split("\r\n")[1:] == ["'=流程,p,'@SUM(A1),s1,3,1,1.25,86.6,1,2", "'=流程,p,审批,s2,1,1,,,0,0", ""]


# -- the page and the CSV through the views ------------------------------------------------------------

def section_of(page: str, process_key: str) -> str:
    match = re.search(rf'<section [^>]*data-testid="process-{process_key}">(.*?)</section>', page, re.S)
    assert match, process_key
    return match.group(1)


def cell(section: str, step: str, testid: str) -> str:
    row = re.search(rf'<tr data-testid="step-{step}">(.*?)</tr>', section, re.S)
    assert row, step
    return re.search(rf'data-testid="{testid}">([^<]*)<', row.group(1)).group(1)


def shown(section: str, testid: str) -> str:
    return re.search(rf'data-testid="{testid}">([^<]*)<', section).group(1)


def chart_of(section: str) -> dict:
    match = re.search(r"data-step-chart='([^']*)'", section)
    assert match
    return json.loads(match.group(1))


def run_march(app) -> None:
    """The March cases, in an app context of their own (page requests must not share the test's)."""
    with app.app_context():
        march_of_borrowing(app.extensions["engine"])
    clock.set(MARCH_NOW)


def test_compliance_reviewer_reads_the_page(app, pages):
    run_march(app)
    english(pages, "auditor")

    response = pages.client.get("/compliance/reports")

    assert response.status_code == 200
    page = response.get_data(as_text=True)
    borrowing = section_of(page, BORROWING)
    assert [shown(borrowing, t) for t in ("cases-started", "cases-completed", "case-median", "case-p90")] == [
        "5", "2", "51.0", "87.8"]
    columns = ("executions", "open", "median", "p90", "overdue", "escalated")
    assert [cell(borrowing, REP_STEP, t) for t in columns] == ["4", "0", "2.5", "4.4", "0", "0"]
    assert [cell(borrowing, MANAGER_STEP, t) for t in columns] == ["1", "1", "–", "–", "1", "0"]
    assert chart_of(borrowing) == {
        "unit": "Hours", "labels": ["片区销售代表同意", "业务部主管同意", "分公司经理同意"],
        "series": [{"title": "Median", "hours": [2.5, 49.0, None]},
                   {"title": "90th percentile", "hours": [pytest.approx(4.4), pytest.approx(86.6), None]}]}
    assert 'data-testid="no-steps"' in section_of(page, "star_rating")
    # the CSP allows no inline script: Chart.js and the drawing code come from files
    assert re.findall(r"<script(?![^>]*\bsrc=)[^>]*>", page) == []
    assert "/vendor/chart.js/chart.umd.js" in page and "/static/step-report-chart.js" in page
    assert pages.client.get("/static/step-report-chart.js").status_code == 200

    filtered = pages.client.get(f"/compliance/reports?process={BORROWING}&since=2026-03-04&until=2026-03-05")
    page = filtered.get_data(as_text=True)
    assert 'data-testid="process-star_rating"' not in page
    borrowing = section_of(page, BORROWING)
    assert shown(borrowing, "cases-started") == "2"  # C and D
    assert cell(borrowing, REP_STEP, "executions") == "2"
    assert f'<option value="{BORROWING}" selected>' in page
    assert (f'href="/compliance/reports.csv?process={BORROWING}&amp;since=2026-03-04&amp;until=2026-03-05"'
            in page)


def test_csv_through_the_view_follows_the_filters(app, pages):
    run_march(app)
    english(pages, "auditor")

    response = pages.client.get(f"/compliance/reports.csv?process={BORROWING}")

    assert response.mimetype == "text/csv"
    assert response.headers["Content-Disposition"] == "attachment; filename=step-report.csv"
    rows = read_csv(response)
    assert rows == [CSV_HEADER,
                    ["客户档案借阅", BORROWING, "片区销售代表同意", REP_STEP, "4", "0", "2.5", "4.4", "0", "0"],
                    ["客户档案借阅", BORROWING, "业务部主管同意", BUSINESS_STEP, "3", "1", "49.0", "86.6", "2", "0"],
                    ["客户档案借阅", BORROWING, "分公司经理同意", MANAGER_STEP, "1", "1", "", "", "1", "0"]]
    march_5 = read_csv(pages.client.get("/compliance/reports.csv?since=2026-03-05&until=2026-03-05"))
    assert [r[3:6] for r in march_5[1:]] == [[REP_STEP, "1", "0"]]  # D's refusal


def test_bad_filters_are_refused_with_a_reason(pages):
    english(pages, "auditor")
    for query in ("since=2026-13-01", "until=yesterday"):
        for path in ("/compliance/reports", "/compliance/reports.csv"):
            refused = pages.client.get(f"{path}?{query}")
            assert refused.status_code == 400
            assert "Give dates as YYYY-MM-DD." in refused.get_data(as_text=True)
    reversed_period = pages.client.get("/compliance/reports?since=2026-03-02&until=2026-03-01")
    assert reversed_period.status_code == 400
    assert "The start date is after the end date." in reversed_period.get_data(as_text=True)
    assert pages.client.get("/compliance/reports?process=no_such_process").status_code == 400
    assert pages.client.get("/compliance/reports?process=&since=&until=").status_code == 200


def test_nobody_but_reviewers_and_administrators_sees_it(app, pages):
    run_march(app)
    assert pages.client.get("/compliance/reports").status_code == 302  # to the sign-in page
    pages.login("rep_e1")
    assert pages.client.get("/compliance/reports").status_code == 403
    refused = pages.client.get("/compliance/reports.csv")
    assert refused.status_code == 403 and "片区销售代表同意" not in refused.get_data(as_text=True)
    administrator = Browser(app)
    administrator.login("admin")
    assert administrator.client.get("/compliance/reports").status_code == 200


@pytest.mark.browser
def test_charts_are_drawn_and_the_page_fits_a_phone(app, browser, base_url):
    run_march(app)
    page = browsing.sign_in(browser, base_url, "auditor", phone=True)
    problems = browsing.problems_of(page)
    page.goto(f"{base_url}/compliance/reports")
    drawn = page.evaluate(f"() => Chart.getChart('chart-{BORROWING}').data.datasets.map((d) => d.data)")
    assert drawn == [[2.5, 49, None], [4.4, 86.6, None]]  # tenths of hours
    assert page.evaluate("() => document.documentElement.scrollWidth") <= 390  # no sideways scrolling
    if os.environ.get("SCREENSHOTS"):
        page.wait_for_timeout(1200)  # the charts' animation
        browsing.ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=str(browsing.ARTIFACTS / "step-report-phone.png"), full_page=True)
    assert problems == []  # no script error, no CSP refusal
    page.context.close()
