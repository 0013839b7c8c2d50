"""A customer's life through the real pages in headless Chromium: a rep registers a new customer with its
two documents on a phone, the customer specialist approves it and it gets its code; the business
department imports a month of orders, first a file with bad rows (each named, nothing imported), then the
corrected one, then the same file again (nothing added)."""
import re
from datetime import date

import pytest
from browsing import ARTIFACTS, problems_of, sign_in
from conftest import clear_runtime_rows
from playwright.sync_api import expect
from sqlalchemy import delete, func, select

from app import db
from app.domain import demo
from app.domain.customers import Customer, PurchaseRecord

pytestmark = pytest.mark.browser

PDF = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"
HEADER = "客户编码,油品,数量(吨),金额(元),订单日期,实际配送日期,配送数量(吨),是否按时\n"
ORDERS = HEADER + ("HD-E1-001,0号柴油,30.5,213500.00,2025-05-04,2025-05-06,30.5,是\n"
                   "HD-E1-002,92号汽油,12,98400.00,2025-05-09,2025-05-12,11.5,否\n")
BAD_ORDERS = HEADER + ("HD-E1-001,0号柴油,30.5,213500.00,2025-05-04,2025-05-06,30.5,是\n"
                       "HD-E9-999,0号柴油,-3,100,2025-05-04,,,\n")


@pytest.fixture
def registered(app):
    """The customer the test registers and the orders it imports (May 2025, apart from the demo's) go again
    afterwards."""
    yield
    with app.app_context():
        clear_runtime_rows()
        db.session.execute(delete(Customer).where(Customer.code.not_in([c["code"] for c in demo.CUSTOMERS])))
        db.session.execute(delete(PurchaseRecord).where(PurchaseRecord.ordered_on >= date(2025, 5, 1),
                                                        PurchaseRecord.ordered_on < date(2025, 6, 1)))
        db.session.commit()


def script_errors(problems: list[str]) -> list[str]:
    """What went wrong in the page's scripts: a refused form's 400 or 409 is the page working."""
    return [text for text in problems if not re.search(r"status of 40[09] ", text)]


def files(name: str) -> list[dict]:
    return [{"name": name, "mimeType": "application/pdf", "buffer": PDF}]


def test_a_rep_registers_a_customer_on_his_phone_and_the_specialist_gives_it_its_code(browser, base_url, registered):
    rep = sign_in(browser, base_url, "rep_e1", phone=True)
    problems = problems_of(rep)
    rep.goto(f"{base_url}/requests/new")
    rep.locator("a[href$='/requests/new/customer_registration']").click()
    expect(rep.locator("#territory")).to_have_value("E1")  # his one territory, chosen for him
    values = {"#name": "上海临港新能源物流有限公司", "#address": "上海市浦东新区临港大道 88 号",
              "#licence_number": "91310115ma1k4q8r2x", "#legal_representative": "陈国栋", "#contact1_name": "陈立",
              "#contact1_mobile": "13800138000", "#monthly_demand_tons": "120", "#equipment": "50 吨储油罐 2 座",
              "#transport": "自有槽车 3 辆", "#business_scope": "道路货物运输；仓储服务",
              "#visit_notes": "拜访陈总：车队 40 辆重卡，月用柴油约 120 吨"}
    for selector, value in values.items():
        rep.fill(selector, value)
    rep.check("input[name=kind][value=direct]")
    rep.select_option("#invoice_type", "增值税专用发票")
    rep.set_input_files("#licence_scan", files=files("营业执照.pdf"))
    rep.locator("main form button[type=submit]").last.click()
    # One document missing: refused with the field's error, and what was typed is still there.
    expect(rep.locator("#id_copy").locator("xpath=..")).to_contain_text("请附上")
    expect(rep.locator("#name")).to_have_value("上海临港新能源物流有限公司")
    rep.set_input_files("#licence_scan", files=files("营业执照.pdf"))
    rep.set_input_files("#id_copy", files=files("法人身份证.pdf"))
    rep.locator("main form button[type=submit]").last.click()
    expect(rep.locator(".alert-success")).to_contain_text("您的申请已提交")
    rep.screenshot(path=ARTIFACTS / "registration-filed-phone.png", full_page=True)
    case_url = rep.url

    specialist = sign_in(browser, base_url, "spec_east")
    specialist.goto(f"{base_url}/inbox")
    specialist.locator("[data-testid=inbox] a").first.click()
    specialist.get_by_role("button", name="认领").click()
    expect(specialist.locator(".alert-success")).to_be_visible()
    filed = specialist.get_by_test_id("registration-filed")  # what the rep filed, and both documents
    expect(filed.locator("[data-field=name]")).to_have_text("上海临港新能源物流有限公司")
    expect(filed.locator("[data-field=licence_number]")).to_have_text("91310115MA1K4Q8R2X")
    expect(specialist.get_by_test_id("registration-documents")).to_contain_text("法人身份证.pdf")
    specialist.screenshot(path=ARTIFACTS / "registration-check.png", full_page=True)
    specialist.check("input[name=decision][value=approve]")
    specialist.get_by_role("button", name="提交").click()
    expect(specialist.locator(".alert-success")).to_contain_text("已办理")

    rep.goto(case_url)
    result = rep.get_by_test_id("registration-result")
    expect(result).to_contain_text("HD-E1-004")
    rep.screenshot(path=ARTIFACTS / "registration-archived-phone.png", full_page=True)
    result.get_by_role("link", name="HD-E1-004").click()
    expect(rep.get_by_test_id("dossier-registration")).to_contain_text("91310115MA1K4Q8R2X")
    expect(rep.get_by_test_id("dossier-registration")).to_contain_text("营业执照.pdf")
    assert script_errors(problems) == []


def test_the_business_department_imports_a_month_of_orders(browser, base_url, registered, app):
    clerk = sign_in(browser, base_url, "biz_east")
    problems = problems_of(clerk)
    clerk.goto(f"{base_url}/customers/purchases")
    form = clerk.get_by_test_id("purchase-import")
    form.locator("input[type=file]").set_input_files(files=[
        {"name": "五月订单.csv", "mimeType": "text/csv", "buffer": BAD_ORDERS.encode()}])
    form.locator("button[type=submit]").click()
    errors = clerk.get_by_test_id("import-errors")
    expect(errors.locator("[data-row='3']")).to_be_visible()
    expect(errors.locator("[data-row='2']")).to_have_count(0)
    clerk.screenshot(path=ARTIFACTS / "purchase-import-errors.png", full_page=True)
    with app.app_context():
        assert db.session.scalar(select(func.count(PurchaseRecord.id)).where(PurchaseRecord.import_id.is_not(None))) == 0

    def import_orders():
        form = clerk.get_by_test_id("purchase-import")
        form.locator("input[type=file]").set_input_files(files=[
            {"name": "五月订单.csv", "mimeType": "text/csv", "buffer": ORDERS.encode()}])
        form.locator("button[type=submit]").click()

    import_orders()  # the corrected file
    expect(clerk.locator(".alert-success")).to_contain_text("五月订单.csv")
    import_orders()  # the same file again: refused on the file field, naming the import it was
    expect(clerk.get_by_test_id("purchase-import").locator(".invalid-feedback")).to_contain_text("刘洋")
    clerk.screenshot(path=ARTIFACTS / "purchase-import-twice.png", full_page=True)
    with app.app_context():
        imported = db.session.scalars(select(PurchaseRecord).where(PurchaseRecord.import_id.is_not(None))).all()
        assert sorted((r.customer.code, str(r.quantity_tons)) for r in imported) == [("HD-E1-001", "30.50"),
                                                                                       ("HD-E1-002", "12.00")]
    expect(clerk.get_by_test_id("recent-purchases")).to_contain_text("2025-05-09")
    assert script_errors(problems) == []
