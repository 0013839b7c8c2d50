"""A contract through the real pages in headless Chromium (the pages in Chinese): the rep files a contract
for review on its own page (first with instalments that do not add up: refused, nothing filed, what he
typed kept), with the power of attorney attached; the legal department claims and approves it; the
department head approves it; it waits for the rep's signature."""
import re
from datetime import timedelta

import pytest
from browsing import ARTIFACTS, problems_of, sign_in
from conftest import clear_runtime_rows, get_customer
from playwright.sync_api import expect
from sqlalchemy import select

from app import db
from app.calendar import clock, local
from app.domain import contracts
from app.engine.models import OPEN, Instance, Task

pytestmark = pytest.mark.browser

PDF = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"


@pytest.fixture
def cleared(app):
    yield
    with app.app_context():
        clear_runtime_rows()
        db.session.commit()


def script_errors(problems: list[str]) -> list[str]:
    """What went wrong in the page's scripts: a refused form's 400 is the page working."""
    return [text for text in problems if not re.search(r"status of 400 ", text)]


def open_task(app, spec: str) -> int:
    with app.app_context():
        return db.session.scalar(select(Task.id).join(Instance, Task.instance_id == Instance.id).where(
            Instance.process_key == contracts.PROCESS_KEY, Task.spec_id == spec, Task.state == OPEN))


def test_the_rep_files_a_contract_legal_reviews_it_and_the_head_approves_it(browser, base_url, app, cleared):
    with app.app_context():
        customer_id = get_customer("HD-E1-003").id
        today = local(clock.now()).date()
    day = lambda days: (today + timedelta(days=days)).isoformat()  # noqa: E731

    rep = sign_in(browser, base_url, "rep_e1")
    problems = problems_of(rep)
    rep.goto(f"{base_url}/contracts/new?customer_id={customer_id}")
    expect(rep.locator("#customer_id")).to_have_value(str(customer_id))
    expect(rep.get_by_test_id("credit-standing")).to_be_visible()
    for name in ("legal_personality", "business_rights", "capacity"):
        rep.check(f"#{name}_checked")
    values = {"#legal_personality_note": "营业执照在有效期内，已年检", "#business_rights_note": "经营范围含成品油自用",
              "#capacity_note": "移动加油车 2 辆，近半年按月采购", "#signer_name": "杨志刚",
              "#authorisation_valid_until": day(365), "#specification": "GB 19147-2016 车用柴油（VI）",
              "#quantity_tons": "100", "#unit_price_yuan": "7000", "#quality": "符合国家标准，以出库化验单为准",
              "#settlement": "分两期电汇", "#rights_duties": "卖方按期配送；买方按期付款、验收",
              "#dispute_resolution": "协商不成的，向卖方所在地人民法院起诉", "#starts_on": day(0), "#ends_on": day(90),
              "#payments-0-due_on": day(30), "#payments-0-amount_yuan": "350000",
              "#payments-1-due_on": day(60), "#payments-1-amount_yuan": "300000",  # 50,000 yuan short
              "#documents-0-title": "增值税发票签收单", "#documents-0-due_on": day(10)}
    for selector, value in values.items():
        rep.fill(selector, value)
    rep.check("input[name=signer_capacity][value=authorised_agent]")
    rep.select_option("#product", "0号柴油")
    rep.set_input_files("#signer_document", files=[{"name": "授权委托书.pdf", "mimeType": "application/pdf",
                                                    "buffer": PDF}])
    rep.get_by_test_id("file-contract").click()
    # Refused: the instalments add up to 650,000 yuan, the contract to 700,000; nothing is filed.
    expect(rep.get_by_test_id("contract-form")).to_contain_text("650,000.00")
    expect(rep.locator("#specification")).to_have_value("GB 19147-2016 车用柴油（VI）")
    rep.screenshot(path=ARTIFACTS / "contract-form-refused.png", full_page=True)
    with app.app_context():
        assert db.session.scalar(select(Instance.id).where(Instance.process_key == contracts.PROCESS_KEY)) is None
    rep.fill("#payments-1-amount_yuan", "350000")
    rep.set_input_files("#signer_document", files=[{"name": "授权委托书.pdf", "mimeType": "application/pdf",
                                                    "buffer": PDF}])
    rep.get_by_test_id("file-contract").click()
    expect(rep.locator(".alert-success")).to_be_visible()
    rep.screenshot(path=ARTIFACTS / "contract-filed.png", full_page=True)

    legal = sign_in(browser, base_url, "legal")
    legal.goto(f"{base_url}/tasks/{open_task(app, 'legal_review')}")
    legal.get_by_role("button", name="认领").click()
    terms = legal.get_by_test_id("contract-terms")
    expect(terms.get_by_test_id("contract-amount")).to_have_text("700,000.00")
    expect(legal.get_by_test_id("contract-documents")).to_contain_text("授权委托书.pdf")
    legal.check("input[name=decision][value=approve]")
    legal.locator("[data-testid=task-form] button[type=submit]").first.click()
    # Approving needs the template confirmed.
    expect(legal.get_by_test_id("error-summary")).to_be_visible()
    legal.check("#template_followed")
    legal.check("input[name=decision][value=approve]")
    legal.fill("#comment", "条款齐全，符合制式文本")
    legal.locator("[data-testid=task-form] button[type=submit]").first.click()
    expect(legal.locator(".alert-success")).to_be_visible()

    head = sign_in(browser, base_url, "salesmgr_east")
    head.goto(f"{base_url}/tasks/{open_task(app, 'head_approval')}")
    expect(head.get_by_test_id("contract-terms")).to_contain_text("增值税发票签收单")
    head.check("input[name=decision][value=approve]")
    head.locator("[data-testid=task-form] button[type=submit]").first.click()
    expect(head.locator(".alert-success")).to_be_visible()
    head.screenshot(path=ARTIFACTS / "contract-approved.png", full_page=True)

    assert open_task(app, "sign_contract") is not None  # 700,000 yuan: no deputy; the rep signs next
    assert open_task(app, "deputy_approval") is None
    assert script_errors(problems) == []
