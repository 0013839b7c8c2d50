"""Purchase records (seed 000 "购油记录"): entered by the branch on a page or through the API, and
imported from the sales system as CSV or XLSX, every row checked, all or nothing, never the same file
twice; the branch's staff for its own customers, HQ administrators for all, nobody else.

Messages are asserted by what survives translation (row numbers, the values quoted); the catalogue
translates the words."""
import io
import re
from datetime import date, datetime
from decimal import Decimal

import pytest
from conftest import get_customer, get_user
from openpyxl import Workbook
from sqlalchemy import delete, func, select

from app import db
from app.calendar import clock
from app.domain import purchases
from app.domain.customers import PurchaseImport, PurchaseRecord
from app.errors import Conflict, Forbidden, InvalidData
from app.policy import purchase_branches

HEADER = "客户编码,油品,数量(吨),金额(元),订单日期,实际配送日期,配送数量(吨),是否按时\n"
GOOD = HEADER + ("HD-E1-001,0号柴油,30.5,213500.00,2025-05-04,2025-05-06,30.5,是\n"
                 "HD-E2-002,92号汽油,\"1,200\",\"10,320,000\",2025-05-05,2025-05-09,1180,否\n"
                 "HD-E1-002,0号柴油,8,56000,2025-05-20,,,\n")


@pytest.fixture(autouse=True)
def entered_records(app):
    """The records the tests enter or import are not the seeded demo's: gone after each test (before
    the import batches they point at)."""
    yield
    with app.app_context():
        db.session.execute(delete(PurchaseRecord).where(PurchaseRecord.entered_at.is_not(None)))
        db.session.commit()


def entered() -> int:
    return db.session.scalar(select(func.count(PurchaseRecord.id)).where(PurchaseRecord.entered_at.is_not(None)))


def upload(api, user: str, content: bytes, filename: str = "orders.csv"):
    return api.client.post("/api/v1/purchases/import", headers={"Authorization": f"Bearer {api.token(user)}"},
                           data={"file": (io.BytesIO(content), filename)})


def xlsx(rows: list[list]) -> bytes:
    book = Workbook()
    sheet = book.active
    for row in rows:
        sheet.append(row)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def row_errors(response) -> dict[int, list[str]]:
    body = response.get_json()
    assert response.status_code == 400, body
    assert body["error"]["code"] == "invalid"
    return {row["row"]: row["errors"] for row in body["error"]["fields"]["rows"]}


# -- importing ------------------------------------------------------------------------------------------

def test_a_good_csv_is_imported_whole_with_who_and_which_file(ctx, api):
    response = upload(api, "spec_east", GOOD.encode())
    assert response.status_code == 201, response.get_json()
    answer = response.get_json()
    assert answer["imported"] == 3
    batch = db.session.get(PurchaseImport, answer["import_id"])
    assert (batch.filename, batch.rows, batch.imported_by.username) == ("orders.csv", 3, "spec_east")
    assert batch.sha256 == purchases.sha256_of(GOOD.encode()) == answer["sha256"]
    records = db.session.scalars(select(PurchaseRecord).where(PurchaseRecord.import_id == batch.id)
                                 .order_by(PurchaseRecord.ordered_on)).all()
    assert [(r.customer.code, r.product, r.quantity_tons, r.amount_yuan, r.ordered_on, r.delivered_on,
             r.delivered_tons, r.on_time, r.entered_by.username) for r in records] == [
        ("HD-E1-001", "0号柴油", Decimal("30.50"), Decimal("213500.00"), date(2025, 5, 4), date(2025, 5, 6),
         Decimal("30.50"), True, "spec_east"),
        ("HD-E2-002", "92号汽油", Decimal("1200.00"), Decimal("10320000.00"), date(2025, 5, 5), date(2025, 5, 9),
         Decimal("1180.00"), False, "spec_east"),
        ("HD-E1-002", "0号柴油", Decimal("8.00"), Decimal("56000.00"), date(2025, 5, 20), None, None, None,
         "spec_east"),
    ]


def test_a_good_xlsx_with_date_and_number_cells_and_english_headers_is_imported(ctx, api):
    content = xlsx([
        ["customer_code", "product", "quantity_tons", "amount_yuan", "ordered_on", "delivered_on", "delivered_tons",
         "on_time", "备注"],
        ["HD-E1-003", "0号柴油", 12.25, 85750, datetime(2025, 6, 1), datetime(2025, 6, 2), 12.25, True, "月初"],
        [],  # a blank row is skipped, and the numbering keeps counting
        ["HD-E2-001", "-10号柴油", 40, 290000.5, "2025/06/03", "2025-06-03", 40, "否", None],
    ])
    response = upload(api, "biz_east", content, "订单.xlsx")
    assert response.status_code == 201, response.get_json()
    assert response.get_json()["imported"] == 2
    tons = {r.customer.code: (r.quantity_tons, r.amount_yuan, r.on_time) for r in db.session.scalars(
        select(PurchaseRecord).where(PurchaseRecord.import_id == response.get_json()["import_id"]))}
    assert tons == {"HD-E1-003": (Decimal("12.25"), Decimal("85750.00"), True),
                    "HD-E2-001": (Decimal("40.00"), Decimal("290000.50"), False)}


def test_a_gb18030_csv_as_chinese_excel_saves_it_is_read(ctx, api):
    response = upload(api, "salesmgr_east", GOOD.encode("gb18030"))
    assert response.status_code == 201, response.get_json()
    assert response.get_json()["imported"] == 3


def test_every_bad_row_is_reported_by_its_number_and_nothing_is_imported(ctx, api):
    content = HEADER + (
        "HD-E1-001,0号柴油,10,70000,2025-05-04,2025-05-06,10,是\n"        # 2: good
        "HD-X9-999,0号柴油,10,70000,2025-05-04,2025-05-06,10,是\n"        # 3: unknown customer
        "HB-N1-001,0号柴油,10,70000,2025-05-04,2025-05-06,10,是\n"        # 4: another branch's customer
        "HD-E1-001,0号柴油,ten,70000,2025-05-04,2025-05-06,10,是\n"       # 5: not a number
        "HD-E1-001,0号柴油,-3,70000,2025-05-04,2025-05-06,3,是\n"         # 6: negative tons
        "HD-E1-001,0号柴油,10,70000,2025-13-40,,,\n"                      # 7: not a date
        "HD-E1-001,0号柴油,10,70000,2025-05-10,2025-05-08,10,是\n"        # 8: delivered before ordered
        "HD-E1-001,0号柴油,10\n"                                           # 9: missing cells
        "HD-E1-001,0号柴油,10,70000,2025-05-04,2025-05-06,10,maybe\n"     # 10: neither yes nor no
        "HD-E1-001,0号柴油,10,70000,2025-05-04,2025-05-06,10,是\n"        # 11: the same order as row 2
    )
    before = entered()
    errors = row_errors(upload(api, "spec_east", content.encode()))
    assert sorted(errors) == [3, 4, 5, 6, 7, 8, 9, 10, 11]
    assert any("HD-X9-999" in message for message in errors[3])
    assert any("HB-N1-001" in message for message in errors[4])
    assert any("ten" in message for message in errors[5]) and len(errors[5]) == 1  # not also "required"
    assert len(errors[6]) == 1
    assert any("2025-13-40" in message for message in errors[7])
    assert any("2025-05-08" in message and "2025-05-10" in message for message in errors[8])
    assert len(errors[9]) == 2  # amount and order date are required
    assert any("maybe" in message for message in errors[10])
    assert any("2" in message for message in errors[11])
    assert entered() == before
    assert db.session.scalar(select(func.count(PurchaseImport.id))) == 0


def test_a_missing_column_is_reported_on_the_header_row(ctx, api):
    content = "客户编码,油品,数量(吨),金额(元),订单日期,实际配送日期,配送数量(吨)\n" \
              "HD-E1-001,0号柴油,10,70000,2025-05-04,2025-05-06,10\n"
    errors = row_errors(upload(api, "spec_east", content.encode()))
    assert list(errors) == [1]
    assert any("on_time" in message for message in errors[1])
    assert entered() == 0


def test_the_same_file_twice_adds_nothing_and_a_re_export_of_its_rows_neither(ctx, api):
    assert upload(api, "spec_east", GOOD.encode()).status_code == 201
    count = entered()
    again = upload(api, "biz_east", GOOD.encode(), "orders-again.csv")
    assert again.status_code == 409, again.get_json()
    assert again.get_json()["error"]["code"] == "conflict"
    # The same orders in other bytes (Windows line ends): each row is an order recorded already.
    errors = row_errors(upload(api, "spec_east", GOOD.replace("\n", "\r\n").encode()))
    assert sorted(errors) == [2, 3, 4]
    assert entered() == count
    assert db.session.scalar(select(func.count(PurchaseImport.id))) == 1


def test_files_that_cannot_be_read_are_refused_for_the_file(ctx, api):
    for content in (b"", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 100, b"PK\x03\x04broken",
                    HEADER.encode()):
        response = upload(api, "spec_east", content)
        assert response.status_code == 400, content
        assert response.get_json()["error"]["fields"]["file"], content
    no_file = api.client.post("/api/v1/purchases/import", headers={"Authorization": f"Bearer {api.token('spec_east')}"})
    assert no_file.status_code == 400
    assert entered() == 0


def test_two_imports_of_one_file_at_once_add_it_once(ctx, monkeypatch):
    """The unique SHA-256 holds when the first check misses the other import (it commits in between):
    the second is a Conflict, and its rows are not added."""
    user, now = get_user("spec_east"), clock.now()
    purchases.import_file(user, "a.csv", GOOD.encode(), purchase_branches(user), now)
    # The second import's first look finds neither the file nor its rows, as if the first were not committed.
    monkeypatch.setattr(purchases, "earlier_import", _once(None, purchases.earlier_import))
    monkeypatch.setattr(purchases, "_recorded_keys", lambda keys: set())
    with pytest.raises(Conflict):
        purchases.import_file(user, "b.csv", GOOD.encode(), purchase_branches(user), now)
    assert entered() == 3
    assert db.session.scalar(select(func.count(PurchaseImport.id))) == 1


def _once(first, then):
    calls = []

    def answer(data):
        calls.append(data)
        return first if len(calls) == 1 else then(data)
    return answer


# -- one order ------------------------------------------------------------------------------------------

ENTRY = {"customer_code": "HD-E1-002", "product": "0号柴油", "quantity_tons": "15.5", "amount_yuan": "108500",
         "ordered_on": "2025-07-01", "delivered_on": "2025-07-02", "delivered_tons": "15.5", "on_time": "yes"}


def test_one_order_through_the_api(ctx, api):
    response = api.post("/purchases", "salesmgr_east", ENTRY)
    assert response.status_code == 201, response.get_json()
    answer = response.get_json()
    assert (answer["customer_code"], answer["quantity_tons"], answer["on_time"], answer["entered_by"],
            answer["import_id"]) == ("HD-E1-002", "15.50", True, "salesmgr_east", None)
    again = api.post("/purchases", "salesmgr_east", ENTRY)  # the same order twice
    assert again.status_code == 400 and "ordered_on" in again.get_json()["error"]["fields"]
    late = api.post("/purchases", "salesmgr_east", {**ENTRY, "delivered_on": "2025-06-30"})
    assert late.status_code == 400 and list(late.get_json()["error"]["fields"]) == ["delivered_on"]
    missing = api.post("/purchases", "salesmgr_east", {**ENTRY, "on_time": "", "delivered_tons": ""})
    assert sorted(missing.get_json()["error"]["fields"]) == ["delivered_tons", "on_time"]
    negative = api.post("/purchases", "salesmgr_east", {**ENTRY, "quantity_tons": "-1"})
    assert negative.status_code == 400 and "quantity_tons" in negative.get_json()["error"]["fields"]
    assert entered() == 1


def test_the_page_enters_an_order_and_keeps_what_was_typed_when_it_is_wrong(ctx, pages):
    pages.login("spec_east")
    wrong = pages.submit("/customers/purchases", {**ENTRY, "product": "0号柴油（国六）", "delivered_on": "2025-06-28"})
    assert wrong.status_code == 400
    html = wrong.get_data(as_text=True)
    assert 'value="0号柴油（国六）"' in html and 'value="HD-E1-002"' in html and 'value="2025-06-28"' in html
    assert 'value="108500' in html and re.search(r'<option (selected value="yes"|value="yes" selected)', html)
    assert "error-summary" in html
    assert entered() == 0
    done = pages.submit("/customers/purchases", ENTRY)
    assert done.status_code == 302
    record = db.session.scalar(select(PurchaseRecord).where(PurchaseRecord.entered_at.is_not(None)))
    assert (record.customer.code, record.entered_by.username, record.delivered_tons, record.on_time) == (
        "HD-E1-002", "spec_east", Decimal("15.50"), True)
    listed = pages.client.get("/customers/purchases").get_data(as_text=True)
    assert "HD-E1-002" in listed.split('data-testid="recent-purchases"')[1]


def test_the_page_import_lists_the_bad_rows_and_imports_nothing(ctx, pages):
    pages.login("biz_east")
    content = HEADER + "HD-E1-001,0号柴油,10,70000,2025-05-04,2025-05-06,10,是\nHD-E1-001,0号柴油,-1,7,2025-05-04,,,\n"
    response = pages.client.post("/customers/purchases/import", data={
        "csrf_token": pages.csrf("/customers/purchases"), "file": (io.BytesIO(content.encode()), "orders.csv")})
    assert response.status_code == 400
    html = response.get_data(as_text=True)
    assert 'data-testid="import-errors"' in html and re.findall(r'data-row="(\d+)"', html) == ["3"]
    assert entered() == 0
    good = pages.client.post("/customers/purchases/import", data={
        "csrf_token": pages.csrf("/customers/purchases"), "file": (io.BytesIO(GOOD.encode()), "orders.csv")})
    assert good.status_code == 302
    assert entered() == 3


def test_the_dossier_lists_the_new_fields(ctx, api, pages):
    assert upload(api, "spec_east", GOOD.encode()).status_code == 201
    pages.login("rep_e1")
    html = pages.client.get(f"/customers/{get_customer('HD-E1-001').id}").get_data(as_text=True)
    row = next(r for r in html.split("<tr>") if "2025-05-04" in r)
    assert "2025-05-06" in row and "30.50" in row and "吴芳" in row  # delivered, the quantity, who entered it


# -- who may --------------------------------------------------------------------------------------------

def test_only_the_branch_staff_and_hq_administrators_have_the_page_and_its_link(ctx, pages):
    for username, status in (("spec_east", 200), ("biz_north", 200), ("salesmgr_east", 200), ("admin", 200),
                             ("rep_e1", 403), ("mgr_east", 403), ("hq_mkt", 403), ("auditor", 403)):
        pages.login(username)
        assert pages.client.get("/customers/purchases").status_code == status, username
        listed = pages.client.get("/customers").get_data(as_text=True)
        assert ('data-testid="purchases-link"' in listed) == (status == 200), username
        pages.client.post("/logout", data={"csrf_token": pages.csrf("/inbox")})


def test_a_rep_and_a_reviewer_are_refused_by_the_api_and_the_page(ctx, api, pages):
    for username in ("rep_e1", "auditor"):
        assert api.post("/purchases", username, ENTRY).status_code == 403
        assert upload(api, username, GOOD.encode()).status_code == 403
    pages.login("rep_e1")
    token = pages.csrf("/customers")
    assert pages.client.post("/customers/purchases", data={**ENTRY, "csrf_token": token}).status_code == 403
    assert pages.client.post("/customers/purchases/import", data={
        "csrf_token": token, "file": (io.BytesIO(GOOD.encode()), "orders.csv")}).status_code == 403
    assert entered() == 0


def test_another_branch_neither_records_nor_sees_the_east_branchs_orders(ctx, api, pages):
    assert api.post("/purchases", "spec_east", ENTRY).status_code == 201
    refused = api.post("/purchases", "biz_north", {**ENTRY, "ordered_on": "2025-07-03"})
    assert refused.status_code == 403 and "customer_code" in refused.get_json()["error"]["fields"]
    errors = row_errors(upload(api, "salesmgr_north", GOOD.encode()))
    assert sorted(errors) == [2, 3, 4]
    pages.login("biz_north")
    page = pages.client.get("/customers/purchases").get_data(as_text=True)
    assert "HD-E1-002" not in page.split('data-testid="recent-purchases"')[1]
    assert "HD-E1-" not in page.split('id="purchase-customers"')[1].split("</datalist>")[0]
    typed = pages.submit("/customers/purchases", {**ENTRY, "ordered_on": "2025-07-04"})
    assert typed.status_code == 403 and 'value="HD-E1-002"' in typed.get_data(as_text=True)
    assert entered() == 1


def test_hq_administrators_record_for_every_branch(ctx, api):
    content = HEADER + ("HD-E1-001,0号柴油,10,70000,2025-05-04,2025-05-06,10,是\n"
                        "HB-N1-002,0号柴油,10,70000,2025-05-04,2025-05-06,10,否\n")
    response = upload(api, "admin", content.encode())
    assert response.status_code == 201, response.get_json()
    assert response.get_json()["imported"] == 2


def test_the_domain_refuses_what_the_policy_would(ctx):
    user, now = get_user("spec_east"), clock.now()
    values = {purchases.CUSTOMER_CODE: "HB-N1-001", purchases.PRODUCT: "0号柴油", purchases.TONS: Decimal(1),
              purchases.AMOUNT: Decimal(7000), purchases.ORDERED_ON: date(2025, 1, 2)}
    with pytest.raises(Forbidden):
        purchases.record(user, values, purchase_branches(user), now)
    with pytest.raises(InvalidData):
        purchases.record(user, {**values, purchases.CUSTOMER_CODE: "nobody"}, purchase_branches(user), now)
    assert purchase_branches(get_user("rep_e1")) == frozenset()
    assert purchase_branches(get_user("admin")) is None
    assert purchase_branches(get_user("biz_east")) == {get_customer("HD-E1-001").branch.id}
