"""The complaints failure analysis (失误分析): figures, quarters, CSV and who may see what.

The complaint flow is not finished yet, so the cases are rows written here: an `Instance` and its
`Complaint`, as complaints.register would leave them.
"""
import csv
import io
import json
import os
import re
from datetime import date, datetime, timedelta
from types import SimpleNamespace

import browsing
import pytest
from conftest import Browser, get_customer, get_user
from flask import has_app_context
from sqlalchemy import delete, select

from app import db, exports
from app.calendar import clock
from app.domain import failure_analysis as fa
from app.domain import org
from app.domain.complaints import Complaint
from app.engine.models import Instance, ProcessDefinition
from app.errors import Forbidden
from app.policy import ANALYSE_COMPLAINTS, analysable_branches


def at(text: str) -> datetime:
    """A moment in company time: at("2026-03-10 10:00")."""
    return datetime.fromisoformat(text + "+08:00")


@pytest.fixture
def branch(app) -> dict[str, int]:
    with app.app_context():
        return dict(db.session.execute(select(org.OrgUnit.code, org.OrgUnit.id)).all())


@pytest.fixture
def complaint(app):
    """make(customer_code, received "YYYY-MM-DD HH:MM", **fields) writes a case and its complaint, in an
    app context of its own (page tests must not hold one: Flask would share it, and `g`, with every request).
    ack_hours / feedback_hours: hours from recorded_at / received_at; recorded_after: received -> recorded."""
    made: list[int] = []

    def release_outer_session():
        """A test's own app context (ctx) may hold SQLite's write lock (BEGIN IMMEDIATE) from a read."""
        if has_app_context():
            db.session.rollback()

    def make(customer_code: str, received: str, category: str = "delivery", *, channel: str = "phone",
             responsible: str = "", repeat: bool = False, escalated: bool = False,
             recorded_after: timedelta = timedelta(0), ack_hours: float | None = None,
             feedback_hours: float | None = None, severity: str | None = None,
             proposed_severity: str | None = None, customer_response: str | None = None,
             received_by: str = "rep_e1") -> SimpleNamespace:
        release_outer_session()
        with app.app_context():
            definition_id = db.session.scalar(select(ProcessDefinition.id).order_by(ProcessDefinition.id).limit(1))
            customer, user = get_customer(customer_code), get_user(received_by)
            received_at = at(received)
            recorded_at = received_at + recorded_after
            instance = Instance(definition_id=definition_id, process_key="complaint_handling", state=b"",
                                started_by_id=user.id, started_at=recorded_at, customer_id=customer.id,
                                start_data={"customer_id": customer.id})
            db.session.add(instance)
            db.session.flush()
            row = Complaint(
                instance_id=instance.id, customer_id=customer.id, branch_id=customer.branch.id,
                received_by_id=user.id, channel=channel, category=category, content="投诉内容",
                received_at=received_at, recorded_at=recorded_at, repeat=repeat, responsible=responsible,
                acknowledged_at=recorded_at + timedelta(hours=ack_hours) if ack_hours is not None else None,
                escalated_at=recorded_at + timedelta(days=1) if escalated else None,
                feedback_at=received_at + timedelta(hours=feedback_hours) if feedback_hours is not None else None,
                severity=severity, proposed_severity=proposed_severity, customer_response=customer_response)
            db.session.add(row)
            db.session.commit()
            made.append(row.id)
            return SimpleNamespace(id=row.id, instance_id=instance.id)

    yield make
    # Ours go before clean_state (conftest) deletes their instances.
    release_outer_session()
    with app.app_context():
        db.session.execute(delete(Complaint).where(Complaint.id.in_(made)))
        db.session.commit()


def five_complaints(make):
    make("HD-E1-001", "2026-03-10 10:00", "delivery", responsible="配送车队")
    make("HD-E1-002", "2026-04-01 00:30", "delivery", responsible="配送车队")  # 31 March in UTC
    make("HD-E2-001", "2026-01-05 09:00", "product_quality", responsible="  ")
    make("HB-N1-001", "2026-03-01 09:00", "product_quality")
    make("HB-N1-002", "2026-03-02 09:00", "price_billing", responsible="财务部")


def pairs(counts):
    return [(c.key, c.count) for c in counts]


# -- figures -------------------------------------------------------------------------------------

def test_counts_by_category_branch_responsible_and_local_month(ctx, complaint):
    five_complaints(complaint)
    result, rows = fa.analyse(None, None, None, at("2026-08-15 10:00"))
    assert result.total == len(rows) == 5
    # every known category, none as 0; equal counts in the categories' own order
    assert pairs(result.by_category) == [("product_quality", 2), ("delivery", 2), ("price_billing", 1),
                                         ("service_attitude", 0), ("other", 0)]
    assert [(c.key, c.label, c.count) for c in result.by_branch] == [("east", "华东分公司", 3),
                                                                     ("north", "华北分公司", 2)]
    # blank (or only spaces) is "not determined"
    assert pairs(result.by_responsible) == [("", 2), ("配送车队", 2), ("财务部", 1)]
    # Shanghai months, an empty month in between kept
    assert pairs(result.by_month) == [("2026-01", 1), ("2026-02", 0), ("2026-03", 3), ("2026-04", 1)]


def test_date_range_is_company_days_both_included_and_branch_narrows(ctx, complaint, branch):
    five_complaints(complaint)
    march, _ = fa.analyse(None, date(2026, 3, 1), date(2026, 3, 31), at("2026-08-15 10:00"))
    assert pairs(march.by_month) == [("2026-03", 3)]  # 1 April 00:30 local is not March, though UTC says so
    april, _ = fa.analyse(None, date(2026, 4, 1), None, at("2026-08-15 10:00"))
    assert april.total == 1 and pairs(april.by_responsible) == [("配送车队", 1)]
    north, _ = fa.analyse(frozenset({branch['north']}), None, date(2026, 3, 1), at("2026-08-15 10:00"))
    assert pairs(north.by_category)[:2] == [("product_quality", 1), ("delivery", 0)]
    assert north.total == 1


def test_escalated_share(ctx, complaint):
    complaint("HD-E1-001", "2026-03-01 09:00", escalated=True)
    for day in (2, 3, 4):
        complaint("HD-E1-001", f"2026-03-0{day} 09:00")
    result, _ = fa.analyse(None, None, None, at("2026-08-15 10:00"))
    assert (result.escalated, result.total, result.escalated_share) == (1, 4, 0.25)
    empty, _ = fa.analyse(None, date(2027, 1, 1), None, at("2026-08-15 10:00"))
    assert (empty.total, empty.escalated_share) == (0, None)


def test_median_and_90th_percentile_of_hours(ctx, complaint):
    # acknowledged 1..10 hours after recording (recorded 2 hours after receipt: not counted);
    # feedback 24, 48, 72 hours after receipt on three of them, none on the others
    for hours in range(1, 11):
        complaint("HD-E1-001", f"2026-03-{hours:02d} 09:00", recorded_after=timedelta(hours=2), ack_hours=hours,
                  feedback_hours={1: 24, 2: 48, 3: 72}.get(hours))
    complaint("HD-E1-002", "2026-03-20 09:00")  # neither acknowledged nor answered yet
    result, _ = fa.analyse(None, None, None, at("2026-08-15 10:00"))
    assert result.acknowledgement == fa.Durations(10, 5.5, pytest.approx(9.1))
    assert result.feedback == fa.Durations(3, 48.0, pytest.approx(67.2))


def test_percentiles_of_no_value_and_one_value():
    assert fa.durations([]) == fa.Durations(0, None, None)
    assert fa.durations([None, 3.5]) == fa.Durations(1, 3.5, 3.5)
    assert fa.durations([4.0, 2.0]) == fa.Durations(2, 3.0, pytest.approx(3.8))


def test_repeat_complaints_and_the_customers_with_most(ctx, complaint):
    complaint("HD-E1-001", "2026-03-01 09:00")
    complaint("HD-E1-001", "2026-03-05 09:00", repeat=True)
    complaint("HD-E1-001", "2026-03-09 09:00", repeat=True)
    complaint("HD-E2-001", "2026-03-02 09:00")
    complaint("HD-E2-001", "2026-03-06 09:00", repeat=True)
    complaint("HB-N1-001", "2026-03-03 09:00")
    result, _ = fa.analyse(None, None, None, at("2026-08-15 10:00"))
    assert result.repeats == 3
    assert [(c.code, c.repeats, c.complaints) for c in result.repeat_customers] == [("HD-E1-001", 2, 3),
                                                                                    ("HD-E2-001", 1, 2)]


# -- quarters ----------------------------------------------------------------------------------------

def quarters_of_complaints(make):
    """Q1 2026: quality 4, delivery 3, billing 2, attitude 1. Q2 2026: quality 2, delivery 3, billing 5."""
    make("HD-E1-001", "2026-01-01 00:10", "product_quality")  # 31 Dec 2025 in UTC: Q1 here
    for day in (2, 3, 4):
        make("HB-N1-001", f"2026-02-0{day} 10:00", "product_quality")
    for day in (5, 6, 7):
        make("HD-E1-002", f"2026-03-0{day} 10:00", "delivery")
    make("HD-E2-001", "2026-03-31 23:00", "price_billing")
    make("HD-E2-001", "2026-02-10 10:00", "price_billing")
    make("HD-E2-002", "2026-02-11 10:00", "service_attitude")
    make("HD-E1-001", "2026-04-01 00:30", "delivery")  # 31 March in UTC: Q2 here
    make("HD-E1-001", "2026-05-01 10:00", "delivery")
    make("HB-N1-002", "2026-06-30 23:59", "delivery")
    for day in (1, 2):
        make("HD-E1-003", f"2026-05-1{day} 10:00", "product_quality")
    for day in (1, 2, 3, 4, 5):
        make("HB-N1-002", f"2026-06-0{day} 10:00", "price_billing")
    make("HD-E1-001", "2026-07-01 09:00", "product_quality")  # this quarter: not compared
    make("HD-E1-001", "2025-12-31 23:00", "product_quality")  # Q4 2025: not compared


def test_last_quarters_top_categories_against_the_quarter_before(ctx, complaint):
    quarters_of_complaints(complaint)
    clock.set(at("2026-08-15 10:00"))
    result, _ = fa.analyse(None, date(2026, 8, 1), None, clock.now())  # the date filter does not apply
    comparison = result.quarters
    assert (comparison.before, comparison.last) == ("2026 Q1", "2026 Q2")
    assert [(r.category, r.before, r.last, r.went_down) for r in comparison.rows] == [
        ("product_quality", 4, 2, True), ("delivery", 3, 3, False), ("price_billing", 2, 5, False)]


def test_quarter_comparison_follows_the_branches_and_the_clock(ctx, complaint, branch):
    quarters_of_complaints(complaint)
    east = fa.quarter_comparison(frozenset({branch['east']}), at("2026-07-01 00:00"))
    assert [(r.category, r.before, r.last, r.went_down) for r in east.rows] == [
        ("delivery", 3, 2, True), ("price_billing", 2, 0, True), ("product_quality", 1, 2, False)]
    # still in Q2 one minute earlier (Shanghai), so Q4 2025 against Q1 2026
    earlier = fa.quarter_comparison(None, at("2026-06-30 23:59"))
    assert (earlier.before, earlier.last) == ("2025 Q4", "2026 Q1")
    assert [(r.category, r.before, r.last) for r in earlier.rows] == [("product_quality", 1, 4)]
    year_start = fa.quarter_comparison(None, at("2026-02-10 10:00"))
    assert (year_start.before, year_start.last, year_start.rows) == ("2025 Q3", "2025 Q4", [])


# -- who sees what --------------------------------------------------------------------------------

def test_who_may_analyse_which_branches(ctx, branch):
    east, north = branch["east"], branch["north"]
    policy = ctx.extensions["policy"]
    for username in ("deputy_gm", "leader", "hq_mkt", "auditor"):
        assert analysable_branches(get_user(username)) is None
    assert analysable_branches(get_user("mgr_east")) == {east}
    assert analysable_branches(get_user("salesmgr_east")) == {east}
    assert analysable_branches(get_user("mgr_north")) == {north}
    policy.require(get_user("deputy_gm"), ANALYSE_COMPLAINTS, north)
    assert fa.scope(analysable_branches(get_user("deputy_gm")), north) == {north}
    for username in ("rep_e1", "biz_east", "spec_east", "fin_li", "admin"):
        with pytest.raises(Forbidden):
            policy.require(get_user(username), ANALYSE_COMPLAINTS)
    with pytest.raises(Forbidden):
        policy.require(get_user("mgr_east"), ANALYSE_COMPLAINTS, north)


def english(pages, username):
    pages.login(username)
    pages.submit("/inbox", {"next": "/inbox"}, action="/language/en")


def chart_data(page: str) -> dict:
    match = re.search(r'<script type="application/json" id="analysis-data">(.*?)</script>', page, re.S)
    assert match
    return json.loads(match.group(1))


def test_sales_rep_gets_403_on_page_and_csv_and_no_menu_entry(pages, complaint):
    five_complaints(complaint)
    pages.login("rep_e1")
    assert "/complaints/analysis" not in pages.client.get("/inbox").get_data(as_text=True)
    assert pages.client.get("/complaints/analysis").status_code == 403
    refused = pages.client.get("/complaints/analysis.csv")
    assert refused.status_code == 403 and "配送车队" not in refused.get_data(as_text=True)


def test_page_needs_sign_in(pages):
    assert pages.client.get("/complaints/analysis").status_code == 302
    assert pages.client.get("/complaints/analysis.csv").status_code == 302


def test_deputy_sees_every_branch_on_the_page(pages, complaint, branch):
    five_complaints(complaint)
    complaint("HD-E1-001", "2026-03-11 10:00", "delivery", escalated=True, repeat=True,
              responsible="<b>=ops</b>", ack_hours=3)
    clock.set(at("2026-04-15 10:00"))
    english(pages, "deputy_gm")
    assert 'href="/complaints/analysis"' in pages.client.get("/inbox").get_data(as_text=True)
    response = pages.client.get("/complaints/analysis")
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert re.search(r'data-testid="total">6<', page)
    assert re.search(r'data-testid="escalated-share">16\.7%<', page)  # 1 of 6
    assert re.search(r'data-testid="repeats">1<', page)
    assert "华东分公司" in page and "华北分公司" in page
    assert "&lt;b&gt;=ops&lt;/b&gt;" in page and "<b>=ops" not in page  # escaped
    assert "(not determined)" in page
    data = chart_data(page)
    assert data["categories"]["labels"][:3] == ["Delivery", "Product quality", "Price and billing"]
    assert data["categories"]["counts"] == [3, 2, 1, 0, 0]
    assert data["months"] == {"labels": ["2026-01", "2026-02", "2026-03", "2026-04"], "counts": [1, 0, 4, 1],
                              "title": "Complaints by month"}
    # the CSP allows no inline script: data is JSON, drawing code and Chart.js come from files
    assert re.findall(r'<script(?![^>]*(?:\bsrc=|type="application/json"))[^>]*>', page) == []
    assert '/vendor/chart.js/chart.umd.js' in page and "/static/analysis-chart.js" in page
    assert pages.client.get("/vendor/chart.js/chart.umd.js").status_code == 200
    assert pages.client.get("/static/analysis-chart.js").status_code == 200
    # Q4 2025 is empty: nothing to compare
    assert "No complaints in 2025 Q4." in page
    north = pages.client.get(f"/complaints/analysis?branch={branch['north']}").get_data(as_text=True)
    assert re.search(r'data-testid="total">2<', north) and "华东分公司</td>" not in north
    march = pages.client.get(f"/complaints/analysis?since=2026-03-01&until=2026-03-31&branch={branch['north']}")
    page = march.get_data(as_text=True)
    assert re.search(r'data-testid="total">2<', page)
    assert f'href="/complaints/analysis.csv?since=2026-03-01&amp;until=2026-03-31&amp;branch={branch["north"]}"' in page


def test_branch_manager_sees_only_his_branch(app, complaint, branch):
    five_complaints(complaint)
    for username in ("mgr_east", "salesmgr_east"):
        pages = Browser(app)
        english(pages, username)
        page = pages.client.get("/complaints/analysis").get_data(as_text=True)
        assert re.search(r'data-testid="total">3<', page)
        assert "华北分公司" not in page and "财务部" not in page
        assert chart_data(page)["categories"]["counts"] == [2, 1, 0, 0, 0]  # delivery, quality
        own = pages.client.get(f"/complaints/analysis?branch={branch['east']}")
        assert own.status_code == 200 and re.search(r'data-testid="total">3<', own.get_data(as_text=True))
        other = pages.client.get(f"/complaints/analysis?branch={branch['north']}")
        assert other.status_code == 403 and "华北" not in other.get_data(as_text=True)
        assert pages.client.get(f"/complaints/analysis.csv?branch={branch['north']}").status_code == 403
        rows = read_csv(pages.client.get("/complaints/analysis.csv"))[1:]
        assert sorted(r[3] for r in rows) == ["HD-E1-001", "HD-E1-002", "HD-E2-001"]


def test_bad_filters_are_refused(pages, branch):
    pages.login("deputy_gm")
    assert pages.client.get("/complaints/analysis?since=2026-13-01").status_code == 400
    assert pages.client.get("/complaints/analysis?since=2026-03-02&until=2026-03-01").status_code == 400
    assert pages.client.get("/complaints/analysis?branch=abc").status_code == 400
    assert pages.client.get(f"/complaints/analysis.csv?branch={branch['E1']}").status_code == 400
    assert pages.client.get("/complaints/analysis?since=&until=&branch=").status_code == 200


# -- CSV -------------------------------------------------------------------------------------------------

def read_csv(response) -> list[list[str]]:
    assert response.status_code == 200
    body = response.get_data()
    assert body.startswith(b"\xef\xbb\xbf")  # UTF-8 byte order mark for Excel
    return list(csv.reader(io.StringIO(body.decode("utf-8-sig"), newline="")))


HEADER = ["Case", "Received at", "Branch", "Customer code", "Category", "Channel", "Responsible", "Severity",
          "Proposed severity", "Escalated to the deputy", "Hours to acknowledgement", "Hours to feedback",
          "Customer response", "Repeat complaint"]


def test_csv_has_one_row_per_complaint_with_local_times_and_hours(pages, complaint):
    first = complaint("HD-E1-002", "2026-04-01 00:30", "delivery", channel="visit", responsible="配送车队",
                      recorded_after=timedelta(minutes=30), ack_hours=2.5, feedback_hours=49.25,
                      severity="major", proposed_severity="general", escalated=True, customer_response="satisfied",
                      repeat=True)
    second = complaint("HB-N1-001", "2026-03-01 09:00", "product_quality")
    english(pages, "auditor")
    response = pages.client.get("/complaints/analysis.csv")
    assert response.headers["Content-Disposition"] == "attachment; filename=complaints-analysis.csv"
    assert response.mimetype == "text/csv"
    rows = read_csv(response)
    assert rows[0] == HEADER
    assert rows[1:] == [
        [str(second.instance_id), "2026-03-01T09:00:00+08:00", "华北分公司", "HB-N1-001", "Product quality", "Phone",
         "", "", "", "no", "", "", "", "no"],
        [str(first.instance_id), "2026-04-01T00:30:00+08:00", "华东分公司", "HD-E1-002", "Delivery", "Visit",
         "配送车队", "Major", "General", "yes", "2.50", "49.25", "Satisfied", "yes"],
    ]


def test_csv_filters_by_dates_and_branch(pages, complaint, branch):
    five_complaints(complaint)
    english(pages, "leader")
    march = read_csv(pages.client.get("/complaints/analysis.csv?since=2026-03-01&until=2026-03-31"))[1:]
    assert [(r[1], r[3]) for r in march] == [("2026-03-01T09:00:00+08:00", "HB-N1-001"),
                                             ("2026-03-02T09:00:00+08:00", "HB-N1-002"),
                                             ("2026-03-10T10:00:00+08:00", "HD-E1-001")]
    east_march = read_csv(pages.client.get(
        f"/complaints/analysis.csv?since=2026-03-01&until=2026-03-31&branch={branch['east']}"))[1:]
    assert [r[3] for r in east_march] == ["HD-E1-001"]


def test_csv_cells_cannot_be_formulas(pages, complaint):
    for index, text in enumerate(("=HYPERLINK(\"http://x\",\"y\")", "+1", "-2+3", "@SUM(A1)", " -x", "配送=车队")):
        complaint("HD-E1-001", f"2026-03-0{index + 1} 09:00", responsible=text)
    english(pages, "deputy_gm")
    responsible = [r[6] for r in read_csv(pages.client.get("/complaints/analysis.csv"))[1:]]
    assert responsible == ["'=HYPERLINK(\"http://x\",\"y\")", "'+1", "'-2+3", "'@SUM(A1)", "'-x", "配送=车队"]
    assert exports.csv_safe(None) == "" and exports.csv_safe("=1") == "'=1" and exports.csv_safe(12) == "12"


# -- in a browser ------------------------------------------------------------------------------------

@pytest.mark.browser
def test_charts_are_drawn_and_the_page_fits_a_phone(browser, base_url, complaint):
    five_complaints(complaint)
    page = browsing.sign_in(browser, base_url, "deputy_gm", phone=True)
    problems = browsing.problems_of(page)
    page.goto(f"{base_url}/complaints/analysis")
    drawn = page.evaluate("() => ['chart-categories', 'chart-months'].map("
                          "(id) => window.Chart.getChart(id) && window.Chart.getChart(id).data.datasets[0].data)")
    assert drawn == [[2, 2, 1, 0, 0], [1, 0, 3, 1]]
    assert page.evaluate("() => document.documentElement.scrollWidth") <= 390  # no sideways scrolling
    if os.environ.get("SCREENSHOTS"):
        page.wait_for_timeout(1200)  # the charts' animation
        browsing.ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=str(browsing.ARTIFACTS / "failure-analysis-phone.png"), full_page=True)
    assert problems == []  # no script error, no CSP refusal
    page.context.close()


# -- failures by responsible person (seed 004 失误分析制度) --------------------------------------------

def test_failures_of_every_kind_by_person_and_whose_recurred(engine, complaint, branch):
    from decimal import Decimal

    from app.domain import early_warning, returns
    from app.domain.customers import PurchaseRecord

    complaint("HD-E1-001", "2026-03-10 10:00", responsible="配送车队")  # the quarter before last
    complaint("HD-E1-002", "2026-05-10 10:00", responsible="配送车队")  # last quarter: it recurred
    complaint("HB-N1-001", "2026-03-02 09:00", responsible="财务部")  # not again
    # A return of an E1 customer's order answers to the E1 rep (张伟), in May.
    order = PurchaseRecord(customer_id=get_customer("HD-E1-002").id, ordered_on=date(2026, 4, 20),
                           delivered_on=date(2026, 4, 22), product="0号柴油", quantity_tons=Decimal("30"),
                           amount_yuan=Decimal("216000"))
    db.session.add(order)
    db.session.commit()
    try:
        clock.set(at("2026-05-12 10:00"))
        engine.cases.start(returns.PROCESS_KEY, get_user("rep_e1"), {
            "customer_id": order.customer_id, "purchase_id": order.id, "kind": "return", "tons": "5",
            "return_reason": "demand_misjudged", "reason_text": "", "note": "下游需求判断失误"})
        # A core customer's warning whose measures the deputy general manager has not set by their day.
        core = get_customer("HD-E2-001")
        core.big_customer = True
        db.session.commit()
        clock.set(at("2026-06-01 09:00"))
        engine.cases.start(early_warning.PROCESS_KEY, get_user("rep_e2"), {
            "customer_id": core.id, "indicator": "overdue_receivables", "level": "breaks", "detail": "逾期 60 天"})
        now = at("2026-07-15 10:00")
        rows = {row.person: row for row in fa.by_person(None, None, None, now)}
        assert rows["配送车队"].counts == {fa.COMPLAINT: 2, fa.RETURN: 0, fa.LATE_PAYMENT: 0, fa.LATE_MEASURES: 0}
        assert (rows["配送车队"].before, rows["配送车队"].last, rows["配送车队"].recurred) == (1, 1, True)
        assert (rows["财务部"].total, rows["财务部"].recurred) == (1, False)
        assert rows["张伟"].counts[fa.RETURN] == 1 and rows["张伟"].last == 1
        assert rows["马志远"].counts[fa.LATE_MEASURES] == 1
        assert list(rows)[0] == "配送车队"  # most first
        # The branches and the dates narrow it as they narrow the complaints.
        north = {row.person for row in fa.by_person(frozenset({branch["north"]}), None, None, now)}
        assert north == {"财务部"}
        may = {row.person for row in fa.by_person(None, date(2026, 5, 1), date(2026, 5, 31), now)}
        assert may == {"配送车队", "张伟"}
        # Measures set in time are no failure.
        assert "马志远" not in {row.person for row in fa.by_person(None, None, None, at("2026-06-01 12:00"))}
    finally:
        db.session.rollback()
        db.session.execute(delete(returns.ReturnRequest))
        db.session.execute(delete(PurchaseRecord).where(PurchaseRecord.id == order.id))
        db.session.commit()


def test_the_page_lists_failures_by_person(pages, complaint):
    complaint("HD-E1-001", "2026-03-10 10:00", responsible="配送车队")
    pages.login("deputy_gm")
    page = pages.client.get("/complaints/analysis").get_data(as_text=True)
    assert 'data-testid="by-person"' in page and 'data-person="配送车队"' in page
