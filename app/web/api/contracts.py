"""Contracts (seed 001 §9): the signed contracts one may see with what is outstanding, and the contract
administrator's entry of a payment received or a document handed in. A contract is filed, reviewed,
approved and signed through the generic process and task operations (POST /processes/contract_review/
instances with the signer's document attached, POST /tasks/<id>/complete)."""
from flask import Blueprint, g, jsonify, request
from flask_babel import lazy_gettext as _l

from app.calendar import clock, local
from app.domain import contracts
from app.errors import InvalidData
from app.policy import SEE_CONTRACTS, TRACK_CONTRACT
from app.web import policy
from app.web.api.common import NAME, checked, iso, token_required
from app.web.api.contract import (
    BOOLEAN,
    DAY,
    INTEGER,
    MOMENT,
    STRING,
    UNKNOWN_ID,
    Example,
    Param,
    array,
    component,
    error,
    form_ref,
    nullable,
    obj,
    operation,
)
from forms.contracts import DocumentReceivedForm, PaymentForm

bp = Blueprint("contracts", __name__)

DUE_ITEM = component("ContractDueItem", obj({
    "id": INTEGER, "kind": {"type": "string", "enum": [contracts.PAYMENT, contracts.DOCUMENT]}, "due_on": DAY,
    "amount_yuan": nullable(STRING), "title": STRING, "received_on": nullable(DAY), "overdue": BOOLEAN,
}))
PAYMENT = component("ContractPayment", obj({
    "id": INTEGER, "contract_id": INTEGER, "paid_on": DAY, "amount_yuan": STRING, "reference": STRING,
    "entered_by": NAME, "entered_at": MOMENT,
}))
CONTRACT = component("Contract", obj({
    "id": INTEGER, "number": STRING, "instance_id": INTEGER, "customer_id": INTEGER, "customer_code": STRING,
    "status": {"type": "string", "enum": [contracts.SIGNED, contracts.FULFILLED, contracts.TERMINATED]},
    "template": STRING, "product": STRING, "specification": STRING, "quantity_tons": STRING,
    "unit_price_yuan": STRING, "amount_yuan": STRING, "starts_on": DAY, "ends_on": DAY, "signed_on": DAY,
    "signer_name": STRING, "signer_capacity": STRING, "credit_grade": STRING,
    "outstanding": obj({
        "contracted_tons": STRING, "delivered_tons": STRING, "tons_to_deliver": STRING, "due_yuan": STRING,
        "paid_yuan": STRING, "overdue_yuan": STRING, "unpaid_yuan": STRING,
        "documents_missing": array(INTEGER), "documents_overdue": array(INTEGER)}),
    "items": array(DUE_ITEM), "payments": array(PAYMENT),
}))
PAYMENT_BODY = {"paid_on": "2026-12-01", "amount_yuan": "350000", "reference": "电汇 1201"}


def item_json(item) -> dict:
    return {"id": item.id, "kind": item.kind, "due_on": item.due_on.isoformat(),
            "amount_yuan": None if item.amount_yuan is None else str(item.amount_yuan), "title": item.title,
            "received_on": iso(item.received_on), "overdue": item.overdue}


def payment_json(payment) -> dict:
    return {"id": payment.id, "contract_id": payment.contract_id, "paid_on": payment.paid_on.isoformat(),
            "amount_yuan": str(payment.amount_yuan), "reference": payment.reference,
            "entered_by": payment.entered_by.username if payment.entered_by else None,
            "entered_at": iso(payment.entered_at)}


def contract_json(contract) -> dict:
    figures = contracts.outstanding(contract, local(clock.now()).date())
    return {
        "id": contract.id, "number": contract.number, "instance_id": contract.instance_id,
        "customer_id": contract.customer_id, "customer_code": contract.customer.code, "status": contract.status,
        "template": contract.template, "product": contract.product, "specification": contract.specification,
        "quantity_tons": str(contract.quantity_tons), "unit_price_yuan": str(contract.unit_price_yuan),
        "amount_yuan": str(contract.amount_yuan), "starts_on": contract.starts_on.isoformat(),
        "ends_on": contract.ends_on.isoformat(), "signed_on": contract.signed_on.isoformat(),
        "signer_name": contract.signer_name, "signer_capacity": contract.signer_capacity,
        "credit_grade": (contract.checks or {}).get("credit_grade") or "",
        "outstanding": {
            **{name: str(figures[name]) for name in ("contracted_tons", "delivered_tons", "tons_to_deliver",
                                                     "due_yuan", "paid_yuan", "overdue_yuan", "unpaid_yuan")},
            "documents_missing": [item.id for item in figures["documents_missing"]],
            "documents_overdue": [item.id for item in figures["documents_overdue"]]},
        "items": [item_json(item) for item in contract.items],
        "payments": [payment_json(payment) for payment in contract.payments],
    }


@bp.route("/contracts")
@token_required
@operation(
    summary="List contracts",
    query=(Param("customer_id", INTEGER, "Only this customer's contracts."),),
    responses={200: ("The signed contracts the user may see, newest first, with what is outstanding.",
                     array(CONTRACT))},
    errors=(400, 403),
    examples=(
        Example("rep", "The east rep's contracts", "rep_e1", 200),
        Example("customer", "One customer's, for the east contract administrator", "contract_admin", 200,
                query={"customer_id": 3}),
        Example("bad_customer", "A customer id that is not a number", "contract_admin", 400,
                query={"customer_id": "three"}),
        Example("finance", "The finance department sees no contracts", "fin_li", 403),
    ),
)
def list_contracts():
    """The rep of a customer's territory, its branch's contract administrators, sales manager and manager;
    the legal department, the deputy general manager, company leaders, compliance reviewers and process
    administrators. Amounts are decimal text."""
    policy().require(g.api_user, SEE_CONTRACTS)
    customer_id = request.args.get("customer_id")
    if customer_id is not None and not customer_id.isdigit():
        raise InvalidData(_l("Not a customer id."), {"customer_id": [_l("Not a customer id.")]})
    return jsonify([contract_json(c) for c in contracts.visible(g.api_user, int(customer_id) if customer_id else None)])


@bp.route("/contracts/<int:contract_id>")
@token_required
@operation(
    summary="A contract with what is outstanding",
    responses={200: ("The contract: its terms, due dates, payments, and delivered against contracted tons.",
                     CONTRACT)},
    errors=(403, 404),
    examples=(
        Example("unknown", "No such contract", "contract_admin", 404, path={"contract_id": UNKNOWN_ID}),
    ),
)
def get_contract(contract_id: int):
    """Whoever may see the customer's contracts (see GET /contracts); a rep of another territory may not,
    even with the dossier on loan."""
    contract = contracts.get(contract_id)
    policy().require(g.api_user, SEE_CONTRACTS, contract.customer)
    return jsonify(contract_json(contract))


@bp.route("/contracts/<int:contract_id>/payments", methods=["POST"])
@token_required
@operation(
    summary="Enter a payment received against a contract",
    body=form_ref(PaymentForm),
    responses={201: ("The payment as entered.", PAYMENT)},
    errors=(400, 403, 404, 409),
    examples=(
        Example("bad_amount", "An amount of nothing", "contract_admin", 400, path={"contract_id": UNKNOWN_ID},
                body={**PAYMENT_BODY, "amount_yuan": "0"}),
        Example("ahead", "A payment received tomorrow", "contract_admin", 400, path={"contract_id": UNKNOWN_ID},
                body={**PAYMENT_BODY, "paid_on": "2026-12-03"}),
        Example("unknown", "No such contract", "contract_admin", 404, path={"contract_id": UNKNOWN_ID},
                body=PAYMENT_BODY),
        Example("rep", "A rep does not enter payments", "rep_e1", 403, path={"contract_id": UNKNOWN_ID},
                body=PAYMENT_BODY, response=error("forbidden", "Payments are entered by the contract administrators "
                                                               "of the customer's branch.")),
        Example("auditor", "Compliance reviewers read; they enter nothing", "auditor", 403,
                path={"contract_id": UNKNOWN_ID}, body=PAYMENT_BODY),
    ),
)
def enter_payment(contract_id: int):
    """{paid_on: YYYY-MM-DD (not ahead, not before the signing), amount_yuan (more than 0, at most what is
    unpaid), reference}: the contract administrators of the customer's branch, on a contract being performed
    (409 once it is closed)."""
    policy().require(g.api_user, TRACK_CONTRACT)
    form = checked(PaymentForm)
    contract = contracts.get(contract_id)
    policy().require(g.api_user, TRACK_CONTRACT, contract.customer)
    payment = contracts.record_payment(contract, g.api_user, form.values(), clock.now())
    return jsonify(payment_json(payment)), 201


@bp.route("/contracts/<int:contract_id>/documents", methods=["POST"])
@token_required
@operation(
    summary="Record a contract's document as received",
    body=form_ref(DocumentReceivedForm),
    responses={200: ("The due item, received.", DUE_ITEM)},
    errors=(400, 403, 404, 409),
    examples=(
        Example("no_item", "No document named", "contract_admin", 400, path={"contract_id": UNKNOWN_ID},
                body={"received_on": "2026-12-01"}),
        Example("unknown", "No such contract", "contract_admin", 404, path={"contract_id": UNKNOWN_ID},
                body={"item_id": 1, "received_on": "2026-12-01"}),
        Example("rep", "A rep does not record documents", "rep_e1", 403, path={"contract_id": UNKNOWN_ID},
                body={"item_id": 1, "received_on": "2026-12-01"}),
    ),
)
def receive_document(contract_id: int):
    """{item_id: the document's due item (GET /contracts/<id>), received_on: YYYY-MM-DD, not ahead}: the
    contract administrators of the customer's branch; once per document (409 the second time)."""
    policy().require(g.api_user, TRACK_CONTRACT)
    form = checked(DocumentReceivedForm)
    contract = contracts.get(contract_id)
    policy().require(g.api_user, TRACK_CONTRACT, contract.customer)
    item = contracts.record_document(contract, g.api_user, form.values(), clock.now())
    return jsonify(item_json(item))
