"""Purchase records: one order entered by the branch, and a file of orders imported from the sales
system (CSV or XLSX), all its rows or none."""
from flask import Blueprint, g, jsonify, request
from flask_babel import lazy_gettext as _l

from app.calendar import clock
from app.domain import purchases
from app.errors import InvalidData
from app.policy import RECORD_PURCHASES, purchase_branches
from app.web import policy
from app.web.api.common import NAME, checked, iso, token_required
from app.web.api.contract import (
    BOOLEAN,
    DAY,
    INTEGER,
    MOMENT,
    STRING,
    Example,
    array,
    component,
    error,
    form_ref,
    nullable,
    obj,
    operation,
)
from forms.purchases import PurchaseRecordForm

bp = Blueprint("purchases", __name__)

PURCHASE = component("PurchaseRecord", obj({
    "id": INTEGER, "customer_code": STRING, "product": STRING, "quantity_tons": STRING, "amount_yuan": STRING,
    "ordered_on": DAY, "delivered_on": nullable(DAY), "delivered_tons": nullable(STRING),
    "on_time": nullable(BOOLEAN), "import_id": nullable(INTEGER), "entered_by": NAME, "entered_at": MOMENT,
}))
REFUSED = component("ImportRefused", obj({"error": obj({
    "code": STRING, "message": STRING,
    "fields": {**obj({"rows": array(obj({"row": INTEGER, "errors": array(STRING)}))}, optional=("rows",)),
               "additionalProperties": array(STRING),
               "description": "`rows`: each bad row by its number in the file (the header is row 1) and what is "
                              "wrong with it; `file`: why the file cannot be read at all."},
})}))
FILE_BODY = obj({"file": {"type": "array", "items": {"type": "string", "contentMediaType": "application/octet-stream"},
                          "maxItems": 1,
                          "description": "A CSV (UTF-8 or GB18030) or XLSX file: a header row naming the columns "
                                         "(客户编码, 油品, 数量(吨), 金额(元), 订单日期, 实际配送日期, 配送数量(吨), "
                                         "是否按时, or customer_code, product, quantity_tons, amount_yuan, "
                                         "ordered_on, delivered_on, delivered_tons, on_time), then an order a row."}},
                optional=("file",))
# The examples' orders are old ones, so that they change no month a flow's test reads.
HEADER = "客户编码,油品,数量(吨),金额(元),订单日期,实际配送日期,配送数量(吨),是否按时\n"
GOOD_FILE = HEADER + ("HD-E1-001,0号柴油,30.5,213500.00,2019-03-04,2019-03-06,30.5,是\n"
                      "HD-E1-002,92号汽油,12,103200,2019-03-05,2019-03-09,11.8,否\n")
BAD_FILE = HEADER + ("HD-E1-001,0号柴油,30.5,213500.00,2019-03-04,2019-03-06,30.5,是\n"
                     "HD-E1-001,0号柴油,-3,2100,2019-03-07,2019-03-01,3,是\n")
ENTRY = {"customer_code": "HD-E1-003", "product": "0号柴油", "quantity_tons": 25, "amount_yuan": 176250.5,
         "ordered_on": "2019-04-02", "delivered_on": "2019-04-03", "delivered_tons": 25, "on_time": "yes"}


def purchase_json(record) -> dict:
    return {"id": record.id, "customer_code": record.customer.code, "product": record.product,
            "quantity_tons": str(record.quantity_tons), "amount_yuan": str(record.amount_yuan),
            "ordered_on": record.ordered_on.isoformat(), "delivered_on": iso(record.delivered_on),
            "delivered_tons": None if record.delivered_tons is None else str(record.delivered_tons),
            "on_time": record.on_time, "import_id": record.import_id,
            "entered_by": record.entered_by.username if record.entered_by else None, "entered_at": iso(record.entered_at)}


@bp.route("/purchases", methods=["POST"])
@token_required
@operation(
    summary="Enter an order",
    body=form_ref(PurchaseRecordForm),
    responses={201: ("The order as recorded.", PURCHASE)},
    errors=(400, 403),
    examples=(
        Example("entry", "The east specialist enters a delivered order", "spec_east", 201, body=ENTRY),
        Example("delivered_before_ordered", "A delivery before its order", "spec_east", 400,
                body={**ENTRY, "delivered_on": "2019-04-01"},
                response=error("invalid", "Some fields are not valid.", {"delivered_on": [
                    "The delivery (2019-04-01) cannot be before the order (2019-04-02)."]})),
        Example("other_branch", "The north business department, for an east customer", "biz_north", 403,
                body=ENTRY, response=error("forbidden", "HD-E1-003 is a customer of another branch.",
                                           {"customer_code": ["HD-E1-003 is a customer of another branch."]})),
        Example("rep", "A sales rep does not enter orders", "rep_e1", 403, body=ENTRY),
    ),
)
def enter_purchase():
    """{customer_code, product, quantity_tons, amount_yuan, ordered_on, delivered_on, delivered_tons,
    on_time: yes|no}: the branch's business department, customer specialists and sales manager for the
    branch's customers, HQ administrators for any. A delivery date needs the quantity delivered and
    whether it was on time; it is never before the order; an order repeating a recorded one (customer,
    date, product, tons, amount) is refused."""
    policy().require(g.api_user, RECORD_PURCHASES)
    form = checked(PurchaseRecordForm)
    record = purchases.record(g.api_user, form.values(), purchase_branches(g.api_user), clock.now())
    return jsonify(purchase_json(record)), 201


@bp.route("/purchases/import", methods=["POST"])
@token_required
@operation(
    summary="Import orders",
    body=FILE_BODY,
    body_media_type="multipart/form-data",
    responses={201: ("Every order of the file was imported.", obj({"imported": INTEGER, "import_id": INTEGER,
                                                                     "sha256": STRING, "imported_at": MOMENT})),
               400: ("Nothing was imported: the bad rows by number and why, or why the file cannot be read.",
                     REFUSED)},
    errors=(403, 409),
    examples=(
        Example("import", "The east specialist imports two orders", "spec_east", 201, body={"file": [GOOD_FILE]}),
        Example("bad_rows", "A file with a bad row: nothing is imported", "spec_east", 400,
                body={"file": [BAD_FILE]},
                response={"error": {"code": "invalid", "message": "1 row(s) of the file are not valid: nothing was "
                                                                  "imported.",
                                    "fields": {"rows": [{"row": 3, "errors": [
                                        "Tons: Cannot be negative.",
                                        "Actual delivery date: The delivery (2019-03-01) cannot be before the "
                                        "order (2019-03-07)."]}]}}}),
        Example("no_file", "No file in the form", "spec_east", 400, body={},
                response=error("invalid", "Send the file as multipart form data, field `file`.",
                               {"file": ["Choose a file to import."]})),
        Example("rep", "A sales rep does not import orders", "rep_e1", 403, body={"file": [GOOD_FILE]}),
    ),
)
def import_purchases():
    """Multipart, field `file`: a CSV or XLSX export of the sales system (told apart by its bytes). Every
    row is checked; any bad row refuses the whole file (400, each bad row by its number, the header being
    row 1). The same file a second time adds nothing (409). A row of another branch's customer is a bad
    row."""
    policy().require(g.api_user, RECORD_PURCHASES)
    uploads = [f for f in request.files.getlist("file") if f.filename]
    if len(uploads) != 1:
        raise InvalidData(_l("Send the file as multipart form data, field `file`."),
                          {"file": [_l("Choose a file to import.")]})
    upload = uploads[0]
    try:
        batch = purchases.import_file(g.api_user, upload.filename, upload.read(), purchase_branches(g.api_user),
                                      clock.now())
    except purchases.RowsRefused as exc:
        return jsonify(error={"code": exc.code, "message": str(exc.message),
                              "fields": {"rows": [row.as_json() for row in exc.rows]}}), 400
    return jsonify({"imported": batch.rows, "import_id": batch.id, "sha256": batch.sha256,
                    "imported_at": iso(batch.imported_at)}), 201
