"""A drawn form through the real pages in headless Chromium (issue 21, step 3): the sample request (样品申请,
tests/processes/sample_request.*) is deployed, a rep files it from the new-request page, where form-js's
viewer renders the drawn form (his customers offered, its own messages in Chinese); a quantity above the
form's bound is stopped by the viewer, and, with the viewer's check out of the way, refused by the server
with the error beside the field and the other values kept; a good one files the case; the deputy general
manager decides on the task page, and the case page shows what was filed by the form's labels.
Screenshots of both pages, on a desktop and on a phone, go to test-artifacts/."""
import shutil
from pathlib import Path

import pytest
from browsing import DESKTOP, PHONE, problems_of, screenshot, sign_in
from playwright.sync_api import expect
from sqlalchemy import select

from app import db
from app.engine.models import OPEN, Instance, Task

pytestmark = pytest.mark.browser

HERE = Path(__file__).resolve().parent / "processes"


@pytest.fixture
def drawn(app, tmp_path):
    for name in ("sample_request.bpmn", "sample_request.form", "sample_decision.form"):
        shutil.copy(HERE / name, tmp_path / name)
    with app.app_context():
        app.extensions["engine"].deployment.deploy_directory(tmp_path)
        db.session.commit()


def scalar(app, query):
    with app.app_context():
        return db.session.scalar(query)


def field(page, label: str):
    """The viewer's field with this label (its wrapper: input, errors and all)."""
    return page.locator(".fjs-form-field").filter(has=page.locator("label", has_text=label)).first


def test_a_rep_files_a_drawn_request_and_the_approver_decides(browser, base_url, app, drawn):
    rep = sign_in(browser, base_url, "rep_e1")
    problems = problems_of(rep)
    rep.goto(f"{base_url}/requests/new")
    rep.get_by_role("link", name="样品申请").first.click()
    form = rep.get_by_test_id("drawn-form")
    expect(form).to_have_attribute("data-ready", "true")
    expect(field(rep, "客户")).to_contain_text("请选择")  # the viewer's own word, in Chinese
    field(rep, "客户").locator("input, .fjs-select-display, [role=combobox]").first.click()
    rep.locator(".fjs-dropdownlist-item", has_text="HD-E1-001").first.click()
    field(rep, "产品").get_by_label("0号柴油").check()
    field(rep, "数量").locator("input").fill("5000")
    field(rep, "申请理由").locator("textarea").fill("客户试用新品")

    # The viewer stops it first, in Chinese …
    rep.get_by_role("button", name="提交申请").click()
    expect(field(rep, "数量").locator(".fjs-form-field-error")).to_contain_text("不能大于 1000")
    assert rep.url.endswith("/requests/new/sample_request")
    # … and the server, the authority, refuses it too: beside the field and in the summary, nothing lost.
    rep.evaluate("document.querySelector('[data-testid=start-form]').dataset.serverJudges = 'true'")
    rep.get_by_role("button", name="提交申请").click()
    expect(rep.get_by_test_id("error-summary")).to_contain_text("数量（升）")
    expect(form).to_have_attribute("data-ready", "true")
    expect(field(rep, "数量").locator(".fjs-form-field-error")).to_contain_text("不能大于 1000")
    expect(field(rep, "申请理由").locator("textarea")).to_have_value("客户试用新品")
    expect(field(rep, "产品").get_by_label("0号柴油")).to_be_checked()
    screenshot(rep, "drawn-start-refused-desktop.png")
    rep.get_by_test_id("error-summary").get_by_role("link", name="数量（升）").click()  # leads to the field
    expect(field(rep, "数量").locator("input")).to_be_focused()
    assert scalar(app, select(Instance.id)) is None

    field(rep, "数量").locator("input").fill("20")
    rep.get_by_role("button", name="提交申请").click()
    expect(rep.locator(".alert-success")).to_contain_text("已提交")
    assert [text for text in problems if "status of 400" not in text] == []  # the refused post's status

    task_id = scalar(app, select(Task.id).where(Task.spec_id == "approve", Task.state == OPEN))
    approver = sign_in(browser, base_url, "deputy_gm")
    problems = problems_of(approver)
    approver.goto(f"{base_url}/tasks/{task_id}")
    expect(approver.get_by_test_id("drawn-form")).to_have_attribute("data-ready", "true")
    expect(approver.get_by_test_id("drawn-filed").first).to_contain_text("HD-E1-001")
    field(approver, "审批结果").get_by_label("同意", exact=True).check()
    field(approver, "意见").locator("textarea").fill("同意试用")
    approver.get_by_test_id("task-form").get_by_role("button", name="提交").first.click()
    expect(approver.locator(".alert-success")).to_be_visible()
    approver.goto(f"{base_url}/cases/{scalar(app, select(Instance.id))}")
    summary = approver.locator(".case-summary")
    expect(summary).to_contain_text("数量（升）")
    expect(summary).to_contain_text("0号柴油")
    expect(approver.get_by_test_id("history")).to_contain_text("同意试用")
    assert problems == []


@pytest.mark.parametrize("viewport", [DESKTOP, PHONE], ids=["desktop", "phone"])
def test_the_drawn_pages_look_right(browser, base_url, app, drawn, viewport):
    """Screenshots of the new-request page and the task page; nothing wider than the screen."""
    name = "phone" if viewport is PHONE else "desktop"
    rep = sign_in(browser, base_url, "rep_e1", phone=viewport is PHONE)
    rep.set_viewport_size(viewport)
    rep.goto(f"{base_url}/requests/new/sample_request")
    expect(rep.get_by_test_id("drawn-form")).to_have_attribute("data-ready", "true")
    rep.get_by_role("button", name="提交申请").click()  # the viewer's errors, in Chinese
    screenshot(rep, f"drawn-start-{name}.png")
    assert rep.evaluate("document.documentElement.scrollWidth") <= viewport["width"]
    with app.app_context():
        from conftest import get_customer, get_user
        instance = app.extensions["engine"].cases.start(
            "sample_request", get_user("rep_e1"),
            {"customer": get_customer("HD-E1-001").code, "product": "diesel_0", "quantity": 20, "reason": "客户试用新品"})
        db.session.commit()
        task_id = db.session.scalar(select(Task.id).where(Task.instance_id == instance.id, Task.state == OPEN))
    approver = sign_in(browser, base_url, "deputy_gm", phone=viewport is PHONE)
    approver.set_viewport_size(viewport)
    approver.goto(f"{base_url}/tasks/{task_id}")
    expect(approver.get_by_test_id("drawn-form")).to_have_attribute("data-ready", "true")
    screenshot(approver, f"drawn-task-{name}.png")
    assert approver.evaluate("document.documentElement.scrollWidth") <= viewport["width"]


def test_the_viewers_own_words_are_english_for_an_english_reader(browser, base_url, drawn):
    rep = sign_in(browser, base_url, "rep_e1", locale="en-US")
    rep.get_by_role("button", name="English").click()
    rep.goto(f"{base_url}/requests/new/sample_request")
    expect(rep.locator("html")).to_have_attribute("lang", "en")
    expect(rep.get_by_test_id("drawn-form")).to_have_attribute("data-ready", "true")
    expect(field(rep, "客户")).to_contain_text("Select")
    rep.get_by_role("button", name="File the request").click()
    expect(field(rep, "数量").locator(".fjs-form-field-error")).to_contain_text("Field is required.")
