"""Purchase records (seed 000 "购油记录"): orders with their actual delivery, entered one by one by the
branch or imported from the sales system as CSV or XLSX. The system-generated dossier fields (seed 003:
quantity, amount, average price) and every figure the flows use are computed from them.

An import reads every row, reports each bad one by its row number in the file (the header is row 1) and
what is wrong with it, and adds all the rows or none. The same file never comes in twice: its SHA-256 is
kept, unique, with the import (a second try is a Conflict). Besides, an order is one per customer, order
date, product, tons and amount: a row repeating a recorded order (a re-exported file whose bytes differ)
or an earlier row of the same file is a bad row too, and so is such an entry on the page.

Who may: the caller passes the branches the user works for (app.policy.purchase_branches; None for every
branch); a row of another branch's customer is a bad row.
"""
from __future__ import annotations

import csv
import hashlib
import io
import re
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal, InvalidOperation

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import joinedload

from app import db
from app.calendar import local
from app.domain import leads, org
from app.domain.customers import Customer, PurchaseImport, PurchaseRecord
from app.errors import Conflict, Forbidden, InvalidData
from app.i18n import _l

MAX_BYTES = 5 * 1024 * 1024
MAX_ROWS = 10_000
MAX_COLUMNS = 40

# The columns of the sales system's export, in its order, and the headers each may carry.
CUSTOMER_CODE, PRODUCT, TONS, AMOUNT = "customer_code", "product", "quantity_tons", "amount_yuan"
ORDERED_ON, DELIVERED_ON, DELIVERED_TONS, ON_TIME = "ordered_on", "delivered_on", "delivered_tons", "on_time"
COLUMNS = (CUSTOMER_CODE, PRODUCT, TONS, AMOUNT, ORDERED_ON, DELIVERED_ON, DELIVERED_TONS, ON_TIME)
HEADERS = {
    CUSTOMER_CODE: ("客户编码", "客户编号", "客户代码", "customer code", "customer"),
    PRODUCT: ("油品", "产品", "品名", "product"),
    TONS: ("数量(吨)", "数量", "吨数", "订购数量", "tons", "quantity (tons)", "quantity"),
    AMOUNT: ("金额(元)", "金额", "amount (yuan)", "amount", "yuan"),
    ORDERED_ON: ("订单日期", "下单日期", "order date", "ordered on", "ordered"),
    DELIVERED_ON: ("实际配送日期", "配送日期", "实际交货日期", "delivery date", "delivered on", "actual delivery date"),
    DELIVERED_TONS: ("配送数量(吨)", "配送数量", "实际配送数量", "quantity delivered", "delivered tons",
                     "delivered (tons)"),
    ON_TIME: ("是否按时", "按时配送", "按时", "on time", "on time or not"),
}
COLUMN_WORDS = {
    CUSTOMER_CODE: _l("Customer code"), PRODUCT: _l("Product"), TONS: _l("Tons"), AMOUNT: _l("Amount (yuan)"),
    ORDERED_ON: _l("Order date"), DELIVERED_ON: _l("Actual delivery date"),
    DELIVERED_TONS: _l("Quantity delivered (tons)"), ON_TIME: _l("On time"),
}
YES = frozenset({"是", "按时", "准时", "y", "yes", "true", "1", "√", "✓"})
NO = frozenset({"否", "延迟", "逾期", "未按时", "n", "no", "false", "0", "×"})
DATE_FORMATS = ("%Y-%m-%d", "%Y/%m/%d", "%Y.%m.%d", "%Y%m%d", "%Y-%m-%d %H:%M:%S", "%Y/%m/%d %H:%M:%S",
                "%Y-%m-%d %H:%M", "%Y/%m/%d %H:%M")
THOUSANDS = re.compile(r"^-?\d{1,3}(,\d{3})+(\.\d+)?$")
CENT = Decimal("0.01")
LIMITS = {TONS: Decimal("1e10"), DELIVERED_TONS: Decimal("1e10"), AMOUNT: Decimal("1e12")}


@dataclass
class RowError:
    row: int
    errors: list = field(default_factory=list)

    def as_json(self) -> dict:
        return {"row": self.row, "errors": [str(message) for message in self.errors]}


class RowsRefused(InvalidData):
    """An import refused for its bad rows (nothing was added): each with its row number and reasons."""

    def __init__(self, rows: list[RowError]):
        super().__init__(_l("%(count)s row(s) of the file are not valid: nothing was imported.", count=len(rows)),
                         {"rows": [row.as_json() for row in rows]})
        self.rows = rows


def file_refused(message) -> InvalidData:
    return InvalidData.on("file", message)


# -- reading a file -----------------------------------------------------------------------------------

def read_table(data: bytes) -> list[tuple[int, list]]:
    """The file's rows as (row number, cells), CSV (UTF-8, or GB18030 as Chinese Excel saves it) or XLSX
    (its first sheet), told apart by their bytes, not by the file's name."""
    if not data:
        raise file_refused(_l("The file is empty."))
    if len(data) > MAX_BYTES:
        raise file_refused(_l("The file is larger than %(mb)s MB.", mb=MAX_BYTES // (1024 * 1024)))
    if data.startswith(b"PK\x03\x04"):
        return _read_xlsx(data)
    if data.startswith(b"\xd0\xcf\x11\xe0"):
        raise file_refused(_l("Excel 97–2003 files (.xls) are not read: save the sheet as XLSX or CSV."))
    return _read_csv(data)


def _read_xlsx(data: bytes) -> list[tuple[int, list]]:
    from openpyxl import load_workbook

    try:
        workbook = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception:  # a damaged or foreign ZIP: openpyxl raises many kinds
        raise file_refused(_l("This file cannot be read as an XLSX workbook.")) from None
    try:
        sheet = workbook.worksheets[0]
        rows = []
        for number, cells in enumerate(sheet.iter_rows(max_col=MAX_COLUMNS, values_only=True), start=1):
            if number > MAX_ROWS + 1:
                raise file_refused(_l("The file has more than %(count)s rows.", count=MAX_ROWS))
            rows.append((number, list(cells)))
        return rows
    except InvalidData:
        raise
    except Exception:
        raise file_refused(_l("This file cannot be read as an XLSX workbook.")) from None
    finally:
        workbook.close()


def _read_csv(data: bytes) -> list[tuple[int, list]]:
    if b"\x00" in data:
        raise file_refused(_l("Send a CSV or XLSX file."))
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            text = data.decode(encoding)
            break
        except UnicodeDecodeError:
            continue
    else:
        raise file_refused(_l("The CSV file is neither UTF-8 nor GB18030 text."))
    first_line = text.split("\n", 1)[0]
    delimiter = max((",", "\t", ";"), key=first_line.count)
    rows = []
    try:
        for number, cells in enumerate(csv.reader(io.StringIO(text, newline=""), delimiter=delimiter), start=1):
            if number > MAX_ROWS + 1:
                raise file_refused(_l("The file has more than %(count)s rows.", count=MAX_ROWS))
            rows.append((number, cells[:MAX_COLUMNS]))
    except csv.Error:
        raise file_refused(_l("This file cannot be read as CSV.")) from None
    return rows


def _blank(value) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def _header_key(value) -> str:
    return re.sub(r"\s+", " ", str(value or "").replace("（", "(").replace("）", ")").strip().lower())


ALIASES = {_header_key(name): column for column, names in HEADERS.items() for name in (column, *names)}


def columns_of(header: list) -> tuple[dict[str, int], list]:
    """Which cell of a row holds which column, from the header row; and what is wrong with the header."""
    positions: dict[str, int] = {}
    errors = []
    for index, cell in enumerate(header):
        column = ALIASES.get(_header_key(cell))
        if column is None:
            continue  # a column we do not read (remarks, say)
        if column in positions:
            errors.append(_l("Column “%(name)s” appears twice.", name=str(cell).strip()))
        positions[column] = index
    missing = [column for column in COLUMNS if column not in positions]
    if missing:
        errors.append(_l("Missing column(s): %(columns)s.",
                         columns="、".join(f"{COLUMN_WORDS[column]} ({column})" for column in missing)))
    return positions, errors


# -- one value ----------------------------------------------------------------------------------------

class _Bad(Exception):
    def __init__(self, message):
        self.message = message


def _text(value) -> str:
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return str(value).strip() if value is not None else ""


def _decimal(value) -> Decimal | None:
    if _blank(value):
        return None
    if isinstance(value, bool):
        raise _Bad(_l("“%(value)s” is not a number.", value=value))
    if isinstance(value, (int, float, Decimal)):
        number = Decimal(str(value))
    else:
        text = value.strip().replace("，", ",")
        if THOUSANDS.match(text):
            text = text.replace(",", "")
        try:
            number = Decimal(text)
        except InvalidOperation:
            raise _Bad(_l("“%(value)s” is not a number.", value=value.strip())) from None
    if not number.is_finite():
        raise _Bad(_l("“%(value)s” is not a number.", value=value))
    return number


def _date(value) -> date | None:
    if _blank(value):
        return None
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    text = _text(value)
    for pattern in DATE_FORMATS:
        try:
            return datetime.strptime(text, pattern).date()
        except ValueError:
            continue
    raise _Bad(_l("“%(value)s” is not a date (write it as YYYY-MM-DD).", value=text))


def _yes_no(value) -> bool | None:
    if _blank(value):
        return None
    if isinstance(value, bool):
        return value
    text = _text(value).lower()
    if text in YES:
        return True
    if text in NO:
        return False
    raise _Bad(_l("“%(value)s” is neither yes (是) nor no (否).", value=_text(value)))


PARSERS = {CUSTOMER_CODE: _text, PRODUCT: _text, TONS: _decimal, AMOUNT: _decimal, ORDERED_ON: _date,
           DELIVERED_ON: _date, DELIVERED_TONS: _decimal, ON_TIME: _yes_no}


# -- one order ----------------------------------------------------------------------------------------

def check(values: dict, today: date) -> dict[str, list]:
    """What is wrong with an order's typed values (customer aside), by column: the same rules for a row
    of a file, the page's form and the API."""
    errors: dict[str, list] = {}

    def wrong(column, message):
        errors.setdefault(column, []).append(message)

    for column in (CUSTOMER_CODE, PRODUCT, TONS, AMOUNT, ORDERED_ON):
        if values.get(column) in (None, ""):
            wrong(column, _l("Required."))
    if len(values.get(PRODUCT) or "") > 80:
        wrong(PRODUCT, _l("At most 80 characters."))
    for column in (TONS, AMOUNT, DELIVERED_TONS):
        number = values.get(column)
        if number is None:
            continue
        if number < 0:
            wrong(column, _l("Cannot be negative."))
        elif column == TONS and number == 0:
            wrong(column, _l("Must be more than 0."))
        elif number >= LIMITS[column]:
            wrong(column, _l("Too large."))
        if number != number.quantize(CENT):
            wrong(column, _l("At most two decimals."))
    ordered, delivered = values.get(ORDERED_ON), values.get(DELIVERED_ON)
    if ordered is not None and ordered > today:
        wrong(ORDERED_ON, _l("Cannot be after today."))
    if delivered is not None:
        if ordered is not None and delivered < ordered:
            wrong(DELIVERED_ON, _l("The delivery (%(delivered)s) cannot be before the order (%(ordered)s).",
                                   delivered=delivered.isoformat(), ordered=ordered.isoformat()))
        if delivered > today:
            wrong(DELIVERED_ON, _l("Cannot be after today."))
        if values.get(DELIVERED_TONS) is None:
            wrong(DELIVERED_TONS, _l("Give the quantity delivered."))
        if values.get(ON_TIME) is None:
            wrong(ON_TIME, _l("Say whether it was delivered on time."))
    else:
        if values.get(DELIVERED_TONS) is not None:
            wrong(DELIVERED_ON, _l("Give the delivery date of the quantity delivered."))
        if values.get(ON_TIME) is not None:
            wrong(DELIVERED_ON, _l("Give the delivery date, or leave “on time” empty."))
    return errors


def customer_refusal(customer: Customer | None, code: str, branches: frozenset[int] | None):
    """Why an order may not be recorded for the customer of this code by someone of `branches`."""
    if customer is None:
        return _l("No customer has the code “%(code)s”.", code=code)
    if branches is not None and customer.branch.id not in branches:
        return _l("%(code)s is a customer of another branch.", code=code)
    return None


def _key(customer_id: int, values: dict) -> tuple:
    return (customer_id, values[ORDERED_ON], values[PRODUCT], values[TONS], values[AMOUNT])


def _recorded_keys(keys: list[tuple]) -> set[tuple]:
    """Which of these (customer, order date, product, tons, amount) are recorded orders already."""
    if not keys:
        return set()
    found = set()
    columns = (PurchaseRecord.customer_id, PurchaseRecord.ordered_on, PurchaseRecord.product,
               PurchaseRecord.quantity_tons, PurchaseRecord.amount_yuan)
    for start in range(0, len(keys), 500):
        chunk = keys[start:start + 500]
        customer_ids = {key[0] for key in chunk}
        days = [key[1] for key in chunk]
        query = select(*columns).where(PurchaseRecord.customer_id.in_(customer_ids),
                                       PurchaseRecord.ordered_on >= min(days),
                                       PurchaseRecord.ordered_on <= max(days))
        found |= {tuple(row) for row in db.session.execute(query)}
    return found & set(keys)


def _customers_by_code(codes: set[str]) -> dict[str, Customer]:
    if not codes:
        return {}
    return {c.code: c for c in db.session.scalars(select(Customer).where(Customer.code.in_(codes)))}


def _record(customer: Customer, values: dict, user: org.User, now: datetime,
            batch: PurchaseImport | None = None) -> PurchaseRecord:
    delivered_tons = values.get(DELIVERED_TONS)
    return PurchaseRecord(customer_id=customer.id, product=values[PRODUCT], quantity_tons=values[TONS].quantize(CENT),
                          amount_yuan=values[AMOUNT].quantize(CENT), ordered_on=values[ORDERED_ON],
                          delivered_on=values.get(DELIVERED_ON),
                          delivered_tons=None if delivered_tons is None else delivered_tons.quantize(CENT),
                          on_time=values.get(ON_TIME), entered_by_id=user.id, entered_at=now, import_batch=batch)


def record(user: org.User, values: dict, branches: frozenset[int] | None, now: datetime) -> PurchaseRecord:
    """One order entered by hand (page or API): `values` by column, typed (dates, decimals, a bool or
    None); InvalidData by column when it is not valid, Forbidden for another branch's customer."""
    values = {**values, CUSTOMER_CODE: (values.get(CUSTOMER_CODE) or "").strip(),
              PRODUCT: (values.get(PRODUCT) or "").strip()}
    errors = check(values, local(now).date())
    customer = None
    if values[CUSTOMER_CODE]:
        customer = _customers_by_code({values[CUSTOMER_CODE]}).get(values[CUSTOMER_CODE])
        refusal = customer_refusal(customer, values[CUSTOMER_CODE], branches)
        if customer is not None and refusal:  # another branch's customer: not his to record
            raise Forbidden(refusal, {CUSTOMER_CODE: [refusal]})
        if refusal:
            errors.setdefault(CUSTOMER_CODE, []).append(refusal)
    if not errors and _recorded_keys([_key(customer.id, values)]):
        errors[ORDERED_ON] = [_l("This order (customer, date, product, tons and amount) is recorded already.")]
    if errors:
        raise InvalidData(_l("Some fields are not valid."), errors)
    entry = _record(customer, values, user, now)
    db.session.add(entry)
    leads.first_orders([entry], user, now)  # a potential customer's first order converts it
    db.session.commit()
    return entry


# -- a whole file -------------------------------------------------------------------------------------

def sha256_of(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def earlier_import(data: bytes) -> PurchaseImport | None:
    return db.session.scalar(select(PurchaseImport).where(PurchaseImport.sha256 == sha256_of(data)))


def _already(batch: PurchaseImport) -> Conflict:
    return Conflict(_l("This file was imported already (import %(id)s by %(name)s, %(count)s orders): nothing "
                       "was added.", id=batch.id, name=batch.imported_by.display_name, count=batch.rows))


def parse(data: bytes, branches: frozenset[int] | None, today: date) -> list[tuple[Customer, dict]]:
    """Every order of the file with its customer, or RowsRefused naming each bad row and why (InvalidData
    for a file that cannot be read at all)."""
    table = [(number, cells) for number, cells in read_table(data) if not all(_blank(cell) for cell in cells)]
    if not table:
        raise file_refused(_l("The file is empty."))
    (header_number, header), body = table[0], table[1:]
    positions, header_errors = columns_of(header)
    if header_errors:
        raise RowsRefused([RowError(header_number, header_errors)])
    if not body:
        raise file_refused(_l("The file has a header but no orders."))
    width = max(positions.values()) + 1
    parsed: list[tuple[int, dict, list, set]] = []
    for number, cells in body:
        cells = list(cells) + [None] * (width - len(cells))
        values, errors, unreadable = {}, [], set()
        for column in COLUMNS:
            try:
                values[column] = PARSERS[column](cells[positions[column]])
            except _Bad as bad:
                values[column] = None
                unreadable.add(column)
                errors.append(_l("%(column)s: %(problem)s", column=COLUMN_WORDS[column], problem=bad.message))
        parsed.append((number, values, errors, unreadable))
    customers = _customers_by_code({values[CUSTOMER_CODE] for _, values, _, _ in parsed if values[CUSTOMER_CODE]})
    seen: dict[tuple, int] = {}
    orders, rows = [], []
    for number, values, errors, unreadable in parsed:
        for column, messages in check(values, today).items():
            if column not in unreadable:  # "required" would only repeat that it could not be read
                errors += [_l("%(column)s: %(problem)s", column=COLUMN_WORDS[column], problem=m) for m in messages]
        customer = customers.get(values[CUSTOMER_CODE])
        if values[CUSTOMER_CODE]:
            refusal = customer_refusal(customer, values[CUSTOMER_CODE], branches)
            if refusal:
                errors.append(_l("%(column)s: %(problem)s", column=COLUMN_WORDS[CUSTOMER_CODE], problem=refusal))
                customer = None
        if not errors and customer is not None:
            key = _key(customer.id, values)
            if key in seen:
                errors.append(_l("The same order as row %(row)s.", row=seen[key]))
            else:
                seen[key] = number
        if errors:
            rows.append(RowError(number, errors))
        else:
            orders.append((number, customer, values))
    recorded = _recorded_keys([_key(customer.id, values) for _, customer, values in orders])
    for number, customer, values in orders:
        if _key(customer.id, values) in recorded:
            rows.append(RowError(number, [_l("This order (customer, date, product, tons and amount) is "
                                             "recorded already.")]))
    if rows:
        raise RowsRefused(sorted(rows, key=lambda row: row.row))
    return [(customer, values) for _, customer, values in orders]


def import_file(user: org.User, filename: str, data: bytes, branches: frozenset[int] | None,
                now: datetime) -> PurchaseImport:
    """Every order of the file, or none (RowsRefused, InvalidData); Conflict for a file imported before."""
    batch = earlier_import(data)
    if batch is not None:
        raise _already(batch)
    orders = parse(data, branches, local(now).date())
    batch = PurchaseImport(sha256=sha256_of(data), filename=(filename or "")[:200], rows=len(orders),
                           imported_by_id=user.id, imported_at=now)
    db.session.add(batch)
    records = [_record(customer, values, user, now, batch) for customer, values in orders]
    db.session.add_all(records)
    try:
        leads.first_orders(records, user, now)  # a potential customer's first order converts it
        db.session.commit()
    except IntegrityError:  # the same file, at the same moment, by someone else
        db.session.rollback()
        batch = earlier_import(data)
        if batch is None:
            raise
        raise _already(batch) from None
    return batch


# -- reading them back --------------------------------------------------------------------------------

def customers_of(branches: frozenset[int] | None) -> list[Customer]:
    """The customers whose orders someone of `branches` records, by code."""
    customers = db.session.scalars(select(Customer).order_by(Customer.code)).all()
    return [c for c in customers if branches is None or c.branch.id in branches]


def recent(branches: frozenset[int] | None, limit: int = 50) -> list[PurchaseRecord]:
    """The orders entered or imported most recently for these branches' customers."""
    ids = [c.id for c in customers_of(branches)]
    if not ids:
        return []
    return list(db.session.scalars(
        select(PurchaseRecord).options(joinedload(PurchaseRecord.customer), joinedload(PurchaseRecord.entered_by))
        .where(PurchaseRecord.customer_id.in_(ids), PurchaseRecord.entered_at.is_not(None))
        .order_by(PurchaseRecord.entered_at.desc(), PurchaseRecord.id.desc()).limit(limit)))

