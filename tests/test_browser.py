"""The whole borrowing flow through the real pages in headless Chromium."""
import re
from datetime import timedelta

import pytest
from browsing import ARTIFACTS, sign_in
from conftest import get_customer, get_user
from playwright.sync_api import expect
from sqlalchemy import select

from app import db
from app.calendar import clock, local
from app.domain.star_rating import previous_month
from app.engine.models import OPEN, Instance, Task

pytestmark = pytest.mark.browser


def consent_first_task(page, base_url, comment, claim=False):
    page.goto(f"{base_url}/inbox")
    page.locator("[data-testid=inbox] a").first.click()
    if claim:
        page.get_by_role("button", name="认领").click()
        expect(page.locator(".alert-success")).to_be_visible()
    page.get_by_label("同意", exact=True).check()
    page.fill("#comment", comment)
    page.get_by_role("button", name="提交").click()
    expect(page.locator(".alert-success")).to_contain_text("已办理")
    page.context.close()


def test_borrowing_through_the_pages(browser, base_url):
    ARTIFACTS.mkdir(exist_ok=True)
    # The customer specialist (another department) asks to borrow an E1 dossier: three consents.
    requester = sign_in(browser, base_url, "spec_east", phone=True)
    requester.goto(f"{base_url}/customers")
    row = requester.locator("tr", has_text="HD-E1-001")
    row.get_by_role("link", name="借阅").click()
    expect(requester.locator("#customer_id")).to_have_value(re.compile(r"\d+"))
    requester.fill("#purpose", "核对年度合同条款，准备续签谈判")
    requester.fill("#days", "5")
    requester.get_by_role("button", name="提交申请").click()
    expect(requester.locator(".alert-success")).to_contain_text("您的申请已提交")
    requester.screenshot(path=ARTIFACTS / "case-filed-phone.png", full_page=True)
    case_url = requester.url

    rep = sign_in(browser, base_url, "rep_e1")
    rep.goto(f"{base_url}/inbox")
    expect(rep.get_by_test_id("inbox")).to_contain_text("片区销售代表同意")
    rep.locator("[data-testid=inbox] a").first.click()
    expect(rep.locator(".case-summary")).to_contain_text("核对年度合同条款")
    rep.screenshot(path=ARTIFACTS / "task-page.png", full_page=True)
    consent_first_task(rep, base_url, "同意，注意保密")

    consent_first_task(sign_in(browser, base_url, "biz_east"), base_url, "同意", claim=True)
    consent_first_task(sign_in(browser, base_url, "mgr_east"), base_url, "同意借阅五天")

    requester.goto(case_url)
    expect(requester.get_by_test_id("approved")).to_be_visible()
    requester.get_by_role("link", name="查阅档案").click()
    expect(requester.get_by_test_id("dossier-title")).to_contain_text("上海浦江石化贸易有限公司")
    expect(requester.get_by_test_id("read-ground")).to_contain_text("借阅只读")
    requester.screenshot(path=ARTIFACTS / "dossier-on-loan-phone.png", full_page=True)


def test_the_specialist_files_the_rating_sheet_and_it_goes_to_hq(browser, base_url):
    ARTIFACTS.mkdir(exist_ok=True)
    # A process administrator opens last month's rating of the east branch by hand.
    admin = sign_in(browser, base_url, "admin")
    admin.goto(f"{base_url}/requests/new/star_rating")
    admin.select_option("#branch", "east")
    admin.fill("#month", previous_month(clock.now()))
    admin.get_by_role("button", name="提交申请").click()
    expect(admin.locator(".alert-success")).to_be_visible()
    admin.context.close()

    specialist = sign_in(browser, base_url, "spec_east", phone=True)
    specialist.goto(f"{base_url}/inbox")
    specialist.locator("[data-testid=inbox] a", has_text="分公司初评").click()
    specialist.get_by_role("button", name="认领").click()
    sheet = specialist.get_by_test_id("rating-sheet")
    expect(sheet.locator("tbody tr")).to_have_count(5)
    specialist.screenshot(path=ARTIFACTS / "rating-sheet-phone.png", full_page=True)

    # Change the last customer's star without a reason: refused, nothing lost; the page comes back at
    # that row, with a summary at the top naming it; then with a reason.
    first = sheet.locator("tbody tr").last
    code = first.get_attribute("data-customer")
    suggested = first.locator("select").input_value()
    changed = "1" if suggested != "1" else "2"
    first.locator("select").select_option(changed)
    specialist.get_by_role("button", name="提交").click()
    expect(specialist.locator(".invalid-feedback").first).to_contain_text(code)
    summary = specialist.get_by_test_id("error-summary")
    expect(summary).to_contain_text(code)
    first = specialist.get_by_test_id("rating-sheet").locator(f"tr[data-customer='{code}']")
    # forms.js (deferred) moves the focus there once it runs: wait for it rather than race it.
    specialist.wait_for_function("code => document.activeElement?.closest('tr')?.dataset.customer === code", arg=code)
    expect(first.locator("input[type=text]")).to_be_in_viewport()
    specialist.screenshot(path=ARTIFACTS / "rating-sheet-error-phone.png")
    summary.locator("a").first.click()  # the summary's link leads to the field
    expect(first.locator("input[type=text]")).to_be_focused()
    expect(first.locator("select")).to_have_value(changed)
    first.locator("input[type=text]").fill("本月到货不足，按实际调整")
    specialist.get_by_role("button", name="提交").click()
    expect(specialist.locator(".alert-success")).to_contain_text("已办理")

    hq = sign_in(browser, base_url, "hq_mkt")
    hq.goto(f"{base_url}/inbox")
    expect(hq.get_by_test_id("inbox")).to_contain_text("营销处")
    hq.locator("[data-testid=inbox] a", has_text="营销处").first.click()
    hq.get_by_role("button", name="认领").click()
    expect(hq.get_by_test_id("rating-sheet")).to_be_visible()
    hq.screenshot(path=ARTIFACTS / "rating-at-hq.png", full_page=True)


def open_task_named(page, base_url, name):
    page.goto(f"{base_url}/inbox")
    page.locator("[data-testid=inbox] a", has_text=name).first.click()
    expect(page.get_by_test_id("task-form")).to_be_visible()


def submit_task(page):
    page.get_by_role("button", name="提交", exact=True).click()
    expect(page.locator(".alert-success")).to_contain_text("已办理")


def test_a_major_complaint_from_intake_to_the_customers_answer(browser, base_url):
    ARTIFACTS.mkdir(exist_ok=True)
    # A sales rep took the customer's call: he records it, with the customer's letter.
    rep = sign_in(browser, base_url, "rep_e1", phone=True)
    rep.goto(f"{base_url}/requests/new/complaint_handling")
    for choice in ("#customer_id", "#channel", "#category"):  # nothing is chosen for him
        expect(rep.locator(choice)).to_have_value("")
        expect(rep.locator(f"{choice} option:checked")).to_have_text("请选择")
    rep.get_by_role("button", name="提交申请").click()
    expect(rep.get_by_test_id("error-summary")).to_contain_text("客户")
    rep.select_option("#customer_id", label="HD-E1-001 上海浦江石化贸易有限公司")
    rep.select_option("#channel", "phone")
    # Dates relative to today (the server's clock runs): received last week, told yesterday, due in 3 weeks.
    today = local(clock.now()).date()
    rep.fill("#received_at", f"{today - timedelta(days=7)}T09:30")
    rep.select_option("#category", "product_quality")
    rep.fill("#content", "客户反映上周到货的0号柴油浑浊，怀疑含水，要求退换")
    rep.set_input_files("#attachments", files=[{"name": "客户来函.pdf", "mimeType": "application/pdf",
                                                 "buffer": b"%PDF-1.4\n%%EOF\n"}])
    rep.get_by_role("button", name="提交申请").click()
    expect(rep.locator(".alert-success")).to_contain_text("您的申请已提交")
    expect(rep.get_by_test_id("attachments")).to_contain_text("客户来函.pdf")
    case_url = rep.url

    manager = sign_in(browser, base_url, "salesmgr_east")
    open_task_named(manager, base_url, "销售经理确认收到投诉")
    manager.check("input[name=acknowledgement][value=complaint]")
    submit_task(manager)
    open_task_named(manager, base_url, "调查与定性")
    expect(manager.get_by_test_id("severity-proposal")).to_be_visible()
    manager.fill("#findings", "抽检确认油品含水超标，系储罐排水不及时")
    manager.fill("#responsible", "高桥油库")
    manager.check("#safety_issue")
    manager.check("input[name=severity][value=major]")
    manager.screenshot(path=ARTIFACTS / "complaint-investigation.png", full_page=True)
    submit_task(manager)

    deputy = sign_in(browser, base_url, "deputy_gm")
    open_task_named(deputy, base_url, "制定处理方案")
    deputy.fill("#measures", "全部退换，油库整改排水制度，三日内完成")
    deputy.select_option("#responsible_person_id", label="周杰 · 华东分公司")
    deputy.fill("#due_on", str(today + timedelta(days=21)))
    submit_task(deputy)

    open_task_named(manager, base_url, "落实方案并报告")
    manager.fill("#report", "已全部退换，油库排水制度已整改")
    submit_task(manager)
    open_task_named(deputy, base_url, "确认处理完成")
    deputy.check("input[name=decision][value=approve]")
    submit_task(deputy)

    open_task_named(manager, base_url, "答复客户")
    manager.select_option("#told_how", "visit")
    manager.fill("#told_at", f"{today - timedelta(days=1)}T15:00")
    manager.check("input[name=customer_response][value=satisfied]")
    submit_task(manager)

    rep.goto(case_url)
    expect(rep.locator(".case-summary")).to_contain_text("已解决")
    # The closed case leads with its result: class, plan, person responsible, due date, the customer's answer.
    result = rep.get_by_test_id("case-result")
    for words in ("重大", "全部退换，油库整改排水制度", "周杰", str(today + timedelta(days=21)), "满意", "高桥油库"):
        expect(result).to_contain_text(words)
    assert result.bounding_box()["y"] < rep.locator(".case-summary").bounding_box()["y"]  # it leads
    rep.screenshot(path=ARTIFACTS / "complaint-closed-phone.png", full_page=True)


def test_an_administrator_adds_a_step_in_the_modeler_and_new_cases_take_it(browser, base_url, app):
    admin = sign_in(browser, base_url, "admin")
    admin.goto(f"{base_url}/admin/processes/dossier_borrowing")
    admin.get_by_test_id("open-modeler").click()
    admin.wait_for_selector("g.djs-element[data-element-id=consent_territory_rep]")
    # A new user task between the request and the rep's consent (drawn with the modeler's own
    # commands, as the palette and context pad do), then described in the properties panel.
    task_id = admin.evaluate("""() => {
      const m = window.processModeler, registry = m.get('elementRegistry'), modeling = m.get('modeling');
      const start = registry.get('request_filed'), rep = registry.get('consent_territory_rep');
      const task = modeling.createShape({type: 'bpmn:UserTask'}, {x: 215, y: 90}, start.parent);
      modeling.reconnectEnd(registry.get('flow_to_rep'), task, {x: 215, y: 90});
      modeling.connect(task, rep);
      m.get('selection').select(task);
      return task.id;
    }""")
    panel = admin.locator("#properties")
    # In Chinese, in our terms: assignment rules and form keys by their names, the palette beside the start.
    expect(admin.locator(".djs-palette [data-action='create.task']")).to_have_attribute("aria-label", "创建任务")
    palette = admin.locator(".djs-palette").bounding_box()
    start = admin.locator("g.djs-element[data-element-id=request_filed]").bounding_box()
    assert start["x"] > palette["x"] + palette["width"]
    for group, field in (("常规", "name"), ("处理人与期限", "assignee"), ("表单", "formKey")):
        if not admin.locator(f"#bio-properties-panel-{field}").is_visible():  # groups open and close on a click
            panel.locator(".bio-properties-panel-group-header", has_text=group).first.click()
    admin.fill("#bio-properties-panel-name", "分公司经理预审")
    admin.select_option("#bio-properties-panel-assignee", "branch_manager")
    expect(admin.locator("#bio-properties-panel-assignee option:checked")).to_contain_text("分公司的经理")
    expect(panel).not_to_contain_text("EL")  # due dates as ISO durations or our helpers
    expect(panel).to_contain_text("working_days(2)")
    # A form key the document names but no flow plugs in (a hand-edited file, say) is shown as unknown.
    admin.evaluate(f"""() => {{ const m = window.processModeler;
      m.get('modeling').updateProperties(m.get('elementRegistry').get('{task_id}'), {{'camunda:formKey': 'no_such_form'}});
      m.get('selection').select([]); }}""")
    admin.locator("#validate").click()  # the problem names the task and selects it in the diagram
    problem = admin.get_by_test_id("modeler-outcome").locator(".alert-danger")
    expect(problem).to_contain_text("分公司经理预审")
    expect(problem).to_contain_text("no_such_form")
    assert admin.evaluate("() => window.processModeler.get('selection').get().map((e) => e.id)") == [task_id]
    expect(admin.locator("#bio-properties-panel-formKey option:checked")).to_contain_text("no_such_form")
    admin.select_option("#bio-properties-panel-formKey", "dossier_consent")
    admin.wait_for_timeout(500)
    admin.locator("#validate").click()
    expect(admin.get_by_test_id("modeler-outcome").locator(".alert-success")).to_be_visible()
    admin.fill("#change-note", "借阅申请先经分公司经理预审")
    admin.locator("#deploy").click()
    expect(admin.get_by_test_id("modeler-outcome").locator(".alert-success")).to_contain_text("2")
    admin.screenshot(path=ARTIFACTS / "modeler.png", full_page=True)

    # Borrowing is sensitive: the version waits until a second person, here the compliance reviewer,
    # approves it on the process page, having seen what changed.
    admin.goto(f"{base_url}/admin/processes/dossier_borrowing")
    expect(admin.get_by_test_id("pending-version")).to_contain_text(task_id)
    expect(admin.get_by_test_id("review-refused")).to_be_visible()  # not by the one who deployed it
    with app.app_context():
        assert engine_of(app).cases.start("dossier_borrowing", get_user("rep_e2"), {
            "customer_id": get_customer("HD-E1-001").id, "purpose": "核对合同", "days": 2}).definition.version == 1
    for phone in (False, True):
        auditor = sign_in(browser, base_url, "auditor", phone=phone)
        auditor.goto(f"{base_url}/admin/processes")
        expect(auditor.get_by_test_id("pending-badge")).to_be_visible()
        auditor.goto(f"{base_url}/admin/processes/dossier_borrowing")
        expect(auditor.get_by_test_id("pending-version").get_by_test_id("diff")).to_contain_text(task_id)
        auditor.screenshot(path=ARTIFACTS / f"version-pending{'-phone' if phone else ''}.png", full_page=True)
        if phone:
            auditor.get_by_test_id("review-version").locator("button.btn-success").click()
            expect(auditor.locator(".alert-success")).to_be_visible()
            auditor.screenshot(path=ARTIFACTS / "version-approved-phone.png", full_page=True)
        auditor.context.close()

    with app.app_context():
        engine = app.extensions["engine"]
        instance = engine.cases.start("dossier_borrowing", get_user("rep_e2"),
                                {"customer_id": get_customer("HD-E1-002").id, "purpose": "核对合同", "days": 2})
        assert instance.definition.version == 2

        def open_task():
            db.session.expire_all()
            return db.session.scalar(select(Task).where(Task.instance_id == instance.id, Task.state == OPEN))
        first = open_task()
        assert (first.spec_id, first.name, first.assignee.username) == (task_id, "分公司经理预审", "mgr_east")
        engine.cases.complete(first.id, get_user("mgr_east"), {"decision": "approve", "comment": "可以"})
        assert open_task().spec_id == "consent_territory_rep"  # and on through the rest of the flow
        assert db.session.get(Instance, instance.id).status == "running"


def engine_of(app):
    return app.extensions["engine"]


def test_the_decision_table_editor_shows_the_star_suggestion_table(browser, base_url):
    admin = sign_in(browser, base_url, "admin")
    errors = []
    admin.on("pageerror", lambda error: errors.append(str(error)))
    admin.goto(f"{base_url}/admin/processes/star_rating/decisions/star_suggestion.dmn")
    table = admin.get_by_test_id("decision-editor").locator(".tjs-table")
    expect(table.locator("tbody tr")).to_have_count(4)
    expect(table).to_contain_text("上月购油量（吨）")
    admin.locator("#deploy").click()  # unchanged: refused, and said so
    expect(admin.get_by_test_id("decision-outcome").locator(".alert-danger")).to_be_visible()
    assert errors == []


def test_hand_on_send_back_revise_and_approve(browser, base_url):
    """rep_e1 hands his consent to the branch manager; the manager sends the request back to the
    requester, who revises it; then the consents go through and the loan is granted."""
    requester = sign_in(browser, base_url, "rep_e2", phone=True)
    requester.goto(f"{base_url}/requests/new/dossier_borrowing?customer_id=1")
    requester.fill("#purpose", "了解客户近况")
    requester.fill("#days", "5")
    requester.get_by_role("button", name="提交申请").click()
    expect(requester.locator(".alert-success")).to_contain_text("您的申请已提交")
    case_url = requester.url

    rep = sign_in(browser, base_url, "rep_e1")
    rep.goto(f"{base_url}/inbox")
    rep.locator("[data-testid=inbox] a", has_text="片区销售代表同意").first.click()
    rep.get_by_test_id("transfer").locator("summary").click()
    rep.fill("#transfer-to", "rep_n1")  # another branch: refused, with the reason
    rep.fill("#transfer-comment", "我出差，请代为审核")
    rep.get_by_role("button", name="转办", exact=True).click()
    expect(rep.get_by_test_id("transfer").locator(".invalid-feedback")).to_contain_text("另一分公司")
    rep.fill("#transfer-to", "mgr_east")
    rep.get_by_role("button", name="转办", exact=True).click()
    expect(rep.locator(".alert-success")).to_contain_text("已转办")
    rep.context.close()

    manager = sign_in(browser, base_url, "mgr_east")
    expect(manager.get_by_test_id("unread-count")).to_be_visible()
    manager.get_by_test_id("notifications").click()
    manager.locator("[data-kind=task_transferred]").first.click()
    manager.get_by_test_id("send-back").locator("summary").click()
    manager.select_option("#back-to", "request")
    manager.fill("#back-comment", "请写明需要查阅哪些内容")
    manager.get_by_role("button", name="退回", exact=True).click()
    expect(manager.locator(".alert-success")).to_contain_text("已退回")
    manager.context.close()

    requester.goto(f"{base_url}/notifications")
    requester.locator("[data-kind=sent_back]").first.click()
    expect(requester.locator("#purpose")).to_have_value("了解客户近况")  # what he filed before
    requester.fill("#purpose", "核对三月采购分析与合同条款")
    requester.get_by_role("button", name="提交", exact=True).click()
    expect(requester.locator(".alert-success")).to_be_visible()

    consent_first_task(sign_in(browser, base_url, "rep_e1"), base_url, "写清楚了，同意")
    consent_first_task(sign_in(browser, base_url, "biz_east"), base_url, "同意", claim=True)
    requester.goto(case_url)
    expect(requester.get_by_test_id("approved")).to_be_visible()
    expect(requester.get_by_test_id("history")).to_contain_text("已退回")
    requester.screenshot(path=ARTIFACTS / "sent-back-and-approved-phone.png", full_page=True)
    requester.context.close()


def test_the_two_departments_score_a_credit_rating_side_by_side(browser, base_url):
    """An administrator opens last quarter's rating of a customer; the sales department and the finance
    department each find their part in their inbox and score it, in either order; the grade follows."""
    admin = sign_in(browser, base_url, "admin")
    admin.goto(f"{base_url}/requests/new/credit_rating")
    admin.select_option("#customer_id", label="HD-E1-001 上海浦江石化贸易有限公司")
    admin.fill("#quarter", "2020-Q4")
    admin.get_by_role("button", name="提交申请").click()
    expect(admin.locator(".alert-success")).to_be_visible()
    case_url = admin.url
    admin.context.close()

    finance = sign_in(browser, base_url, "fin_li", phone=True)
    finance.goto(f"{base_url}/inbox")
    finance.locator("[data-testid=inbox] a", has_text="计划财务部评定财务指标").click()
    finance.get_by_role("button", name="认领").click()
    finance.fill("#settlement", "15")
    finance.fill("#leverage", "12")  # more than its 10 points: refused, nothing lost
    finance.fill("#credit_performance", "15")
    finance.get_by_role("button", name="提交", exact=True).click()
    expect(finance.locator(".invalid-feedback")).to_contain_text("10")
    expect(finance.locator("#settlement")).to_have_value("15")
    finance.fill("#leverage", "9.5")
    finance.get_by_role("button", name="提交", exact=True).click()
    expect(finance.locator(".alert-success")).to_be_visible()
    finance.screenshot(path=ARTIFACTS / "credit-finance-phone.png", full_page=True)
    finance.context.close()

    sales = sign_in(browser, base_url, "sales_dept")
    sales.goto(f"{base_url}/inbox")
    sales.locator("[data-testid=inbox] a", has_text="销售部评定非财务指标").click()
    sales.get_by_role("button", name="认领").click()
    for field, points in (("cooperation_years", "10"), ("loyalty", "9"), ("standing", "10"),
                          ("monthly_volume", "15"), ("steadiness", "10"), ("timing", "5")):
        sales.fill(f"#{field}", points)
    sales.get_by_role("button", name="提交", exact=True).click()
    expect(sales.locator(".alert-success")).to_be_visible()
    sales.goto(case_url)
    expect(sales.get_by_test_id("history")).to_contain_text("AAA (98.50)")
    sales.context.close()


def test_the_pages_ask_for_nothing_missing_and_the_editors_run_production_builds(browser, base_url):
    """No 404 for the icon on any page, and dmn-js's Inferno is its production build (no development
    warning); the decision editor speaks Chinese."""
    admin = sign_in(browser, base_url, "admin")
    failed, said = [], []
    admin.on("response", lambda response: failed.append(response.url) if response.status >= 400 else None)
    admin.on("console", lambda message: said.append(message.text))
    admin.goto(f"{base_url}/inbox")
    icon = admin.evaluate("() => fetch('/favicon.ico').then((r) => [r.status, r.headers.get('content-type')])")
    assert icon == [200, "image/svg+xml; charset=utf-8"] or icon[0] == 200 and icon[1].startswith("image/svg")
    admin.goto(f"{base_url}/admin/processes/star_rating/decisions/star_suggestion.dmn")
    expect(admin.locator(".dmn-decision-table-container")).to_be_visible()
    expect(admin.locator(".dmn-decision-table-container")).to_contain_text("命中策略：唯一")
    assert failed == []
    assert not [text for text in said if "Inferno" in text or "development build" in text]
    admin.context.close()


def test_the_top_bar_keeps_what_waits_visible_on_a_phone_and_one_row_in_english(browser, base_url, app):
    with app.app_context():  # a request waiting for the E1 rep: his inbox count and a notification
        engine_of(app).cases.start("dossier_borrowing", get_user("rep_e2"), {
            "customer_id": get_customer("HD-E1-001").id, "purpose": "核对合同", "days": 2})
    phone = sign_in(browser, base_url, "rep_e1", phone=True)
    expect(phone.get_by_test_id("bar-inbox-count")).to_have_text("1")  # without opening the menu
    expect(phone.get_by_test_id("bar-unread-count")).to_be_visible()
    expect(phone.locator("#mainnav")).not_to_be_visible()
    assert phone.locator("nav.navbar").bounding_box()["height"] < 70  # one row
    # The customer list is a card per customer: the name on a line of its own, not two characters a line.
    phone.goto(f"{base_url}/customers")
    name = phone.locator("tr[data-customer-id] td.name").first.bounding_box()
    assert name["width"] > 300 and name["height"] < 60
    expect(phone.locator("tr[data-customer-id] td.action a").first).to_have_css("white-space", "nowrap")
    phone.screenshot(path=ARTIFACTS / "customers-phone.png", full_page=True)
    phone.context.close()
    for username in ("admin", "auditor", "mgr_east"):  # those with the most menu items
        desk = sign_in(browser, base_url, username, locale="en-US")
        desk.locator("button[lang=en]").click()
        expect(desk.get_by_test_id("notifications")).to_contain_text("Notifications")
        assert desk.locator("nav.navbar").bounding_box()["height"] < 70, username
        desk.locator("button[lang=zh]").click()  # the next test's pages speak Chinese again
        desk.context.close()


@pytest.mark.parametrize("phone", [False, True], ids=["desktop", "phone"])
def test_a_case_diagram_opens_readable_and_zooms_fits_and_goes_full_screen(browser, base_url, app, phone):
    with app.app_context():
        instance = engine_of(app).cases.start("complaint_handling", get_user("rep_e1"), {
            "customer_id": get_customer("HD-E1-001").id, "channel": "phone", "category": "delivery",
            "received_at": f"{local(clock.now()):%Y-%m-%dT%H:%M}", "content": "送货迟到"})
        case_id = instance.id
        task_id = db.session.scalar(select(Task.id).where(Task.instance_id == case_id, Task.state == OPEN))
    page = sign_in(browser, base_url, "rep_e1", phone=phone)
    page.goto(f"{base_url}/cases/{case_id}")
    page.wait_for_selector("#diagram g.djs-element[data-element-id=acknowledge]")
    zoom = "() => window.caseDiagram.get('canvas').zoom()"
    assert page.evaluate(zoom) >= 1  # the complaint flow is wide: it opens at 100 %, not as a thumbnail
    # Labels at least 11 px as drawn; the step the case waits at is in view.
    sizes = page.evaluate("""() => Array.from(document.querySelectorAll('#diagram .djs-label text, #diagram .djs-visual text'))
      .filter((t) => t.textContent.trim()).map((t) => parseFloat(getComputedStyle(t).fontSize))""")
    assert sizes and min(sizes) * page.evaluate(zoom) >= 11
    assert page.evaluate("""() => {  // the step the case waits at lies inside the diagram's frame
      const step = document.querySelector('#diagram g.djs-element[data-element-id=acknowledge]').getBoundingClientRect();
      const frame = document.getElementById('diagram').getBoundingClientRect();
      return step.left >= frame.left && step.right <= frame.right && step.top >= frame.top && step.bottom <= frame.bottom;
    }""")
    controls = page.get_by_test_id("diagram-controls")
    before = page.evaluate(zoom)
    controls.get_by_role("button", name="放大").click()
    assert page.evaluate(zoom) == pytest.approx(before * 1.25, rel=0.01)
    controls.get_by_role("button", name="适应窗口").click()
    assert page.evaluate(zoom) < before  # the whole flow, smaller
    controls.get_by_role("button", name="全屏").click()
    assert page.evaluate("() => document.fullscreenElement?.dataset.testid || "
                         "document.querySelector('.diagram-expanded')?.dataset.testid") == "diagram-frame"
    page.screenshot(path=ARTIFACTS / f"diagram-full-screen{'-phone' if phone else ''}.png")
    page.context.close()
    # The task page shows it too, as readable.
    manager = sign_in(browser, base_url, "salesmgr_east", phone=phone)
    manager.goto(f"{base_url}/tasks/{task_id}")
    manager.wait_for_selector("#diagram g.djs-element[data-element-id=acknowledge].step-open")
    assert manager.evaluate(zoom) >= 1
    manager.context.close()
