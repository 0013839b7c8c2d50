"""Customers and their dossiers: reading one (logged), the rep's edit, visits, stars and the access log."""
from flask import Blueprint, g, jsonify
from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from app import db
from app.calendar import clock, local
from app.domain import classes, dossier_upkeep, dossiers, star_rating, visits
from app.domain.customers import Customer
from app.errors import InvalidData
from app.policy import EDIT_DOSSIER, RECORD_VISIT, SEE_ACCESS_LOG, SEE_STARS
from app.web import policy
from app.web.api.common import NAME, checked, iso, json_body, token_required
from app.web.api.contract import (
    BOOLEAN,
    DAY,
    INTEGER,
    MOMENT,
    STRING,
    UNKNOWN_ID,
    Example,
    array,
    component,
    error,
    form_ref,
    nullable,
    obj,
    operation,
)
from app.web.operation_forms import from_json
from forms.customer_classes import AttitudeForm
from forms.dossier_update import DossierEditForm
from forms.visits import VisitRecordForm

bp = Blueprint("customers", __name__)

OWN = {"customer_id": 1}  # HD-E1-001, of rep_e1's territory E1
CUSTOMER_FIELDS = {"id": INTEGER, "code": STRING, "name": STRING, "branch": STRING, "territory": STRING, "kind": STRING}
CUSTOMER = component("Customer", obj(CUSTOMER_FIELDS, examples=[
    {"id": 1, "code": "HD-E1-001", "name": "上海浦江石化贸易有限公司", "branch": "华东分公司", "territory": "E1",
     "kind": "distributor"}]))
TEXT_OR_NUMBER = {"type": ["string", "integer", "boolean", "null"]}
DOSSIER = component("Dossier", obj({
    **CUSTOMER_FIELDS,
    "dossier": {"type": "object", "additionalProperties": TEXT_OR_NUMBER,
                "description": "Every field of the dossier: numbers and text as they are, decimals and dates as text."},
    "totals": {"type": "object", "additionalProperties": TEXT_OR_NUMBER},
    "resource_guarantee": BOOLEAN,
    "extra_discount_yuan_per_ton": INTEGER,
    "purchases": array(obj({"ordered_on": DAY, "product": STRING, "quantity_tons": STRING, "amount_yuan": STRING,
                            "delivered_on": nullable(DAY), "delivered_tons": nullable(STRING),
                            "on_time": nullable(BOOLEAN)})),
    "classes": {"type": "object", "additionalProperties": obj({"value": STRING, "since": MOMENT,
                                                               "figures": {"type": "object"}}),
                "description": "Its current class of each kind it has one of (abc, volume, value, attitude), "
                               "with the figures (or the rep's reason) that gave it."},
    "read": {**obj({"ground": STRING, "loan_id": nullable(INTEGER)}),
             "description": "This read, as logged: its ground (own territory, a loan) and the loan it used."},
}))
NO_DOSSIER = error("forbidden", "You may not read this dossier: file a borrowing request.")


def customer_json(customer: Customer) -> dict:
    return {"id": customer.id, "code": customer.code, "name": customer.name, "branch": customer.branch.name,
            "territory": customer.territory.name, "kind": customer.kind}


def _plain(value):
    """JSON for dossier values: numbers and text as they are, decimals and dates as strings."""
    return value if value is None or isinstance(value, (int, str)) else str(value)


@bp.route("/customers")
@token_required
@operation(
    summary="Customers",
    responses={200: ("Every customer, by code (no dossier contents).", array(CUSTOMER))},
    examples=(Example("all", "The customer list", "rep_e2", 200),),
)
def list_customers():
    """Every customer by code, with branch, territory and kind; reading a dossier is another call."""
    customers = db.session.scalars(select(Customer).order_by(Customer.code))
    return jsonify([customer_json(c) for c in customers])


@bp.route("/customers/<int:customer_id>")
@token_required
@operation(
    summary="Read a dossier",
    responses={200: ("The dossier, its purchases, and the read as logged.", DOSSIER)},
    errors=(403, 404),
    examples=(
        Example("own", "rep_e1 reads a customer of his territory", "rep_e1", 200, path=OWN),
        Example("other_territory", "rep_e2 without a loan", "rep_e2", 403, path=OWN, response=NO_DOSSIER),
        Example("unknown", "A customer that does not exist", "rep_e1", 404, path={"customer_id": UNKNOWN_ID},
                response=error("not_found", "No such customer.")),
    ),
)
def get_dossier(customer_id: int):
    """The rep of the territory, someone with a loan, and those the policy lets read it; every read is
    logged with its ground (the dossier's access log)."""
    customer = dossiers.get_customer(customer_id)
    read = policy().read_dossier(g.api_user, customer, clock.now(), channel="api")
    fields = {column.key: _plain(getattr(customer, column.key)) for column in Customer.__table__.columns}
    totals = {k: _plain(v) for k, v in dossiers.purchase_totals(customer).items()}
    return jsonify({**customer_json(customer), "dossier": fields, "totals": totals,
                    "resource_guarantee": customer.resource_guarantee,
                    "extra_discount_yuan_per_ton": customer.extra_discount_yuan_per_ton,
                    "purchases": [{"ordered_on": p.ordered_on.isoformat(), "product": p.product,
                                   "quantity_tons": str(p.quantity_tons), "amount_yuan": str(p.amount_yuan),
                                   "delivered_on": iso(p.delivered_on),
                                   "delivered_tons": None if p.delivered_tons is None else str(p.delivered_tons),
                                   "on_time": p.on_time} for p in customer.purchases],
                    "classes": {kind: {"value": row.value, "since": iso(row.computed_at), "figures": row.latest_figures}
                                for kind, row in classes.current_classes(customer.id).items()},
                    "read": {"ground": read.ground, "loan_id": read.loan_id}})


@bp.route("/customers/<int:customer_id>/dossier", methods=["POST"])
@token_required
@operation(
    summary="Edit a dossier",
    body={**form_ref(DossierEditForm, partial=True),
          "description": "Only the fields to change: the others keep their values."},
    responses={200: ("The changes made.", array(obj({"field": STRING, "kind": STRING, "old": TEXT_OR_NUMBER,
                                                       "new": TEXT_OR_NUMBER})))},
    errors=(400, 403, 404),
    examples=(
        Example("phone", "rep_e1 corrects the telephone number", "rep_e1", 200, path=OWN,
                body={"phone": "021-58300088"}),
        Example("registered", "The registered data changes through the specialist's check", "rep_e1", 400,
                path=OWN, body={"address": "上海市浦东新区张江路 88 号"},
                response=error("invalid", "These are registered data: the customer asks for a change and the "
                               "customer specialist checks it (address).",
                               {"address": ["These are registered data: the customer asks for a change and the "
                                            "customer specialist checks it (address)."]})),
        Example("code", "The code is never typed", "rep_e1", 400, path=OWN, body={"code": "HD-E1-999"},
                response=error("invalid", "These fields are not typed: code.", {"code": ["Not a typed field."]})),
        Example("not_the_rep", "Someone who is not the territory's rep", "rep_e2", 403, path=OWN,
                body={"phone": "021-58300088"}),
    ),
)
def edit_dossier(customer_id: int):
    """{field: value, …}: the rep of the territory changes typed fields (the others keep their values); the
    code and the system-generated fields are never typed (400). The changes made, each kept with who and when."""
    customer = dossiers.get_customer(customer_id)
    policy().require(g.api_user, EDIT_DOSSIER, customer)
    body = json_body()
    dossier_upkeep.refuse_untyped(body)  # registered data, the code and system-generated fields
    form = from_json(DossierEditForm, {**{name: _plain(getattr(customer, name)) for name in dossier_upkeep.KIND_OF},
                                       **body})
    if not form.validate():
        raise InvalidData(_l("Some fields are not valid."), form.errors)
    changes = dossier_upkeep.edit(customer, g.api_user, {name: form[name].data for name in body}, clock.now())
    return jsonify([{"field": c.field, "kind": c.kind, "old": c.old, "new": c.new} for c in changes])


@bp.route("/customers/<int:customer_id>/visits", methods=["POST"])
@token_required
@operation(
    summary="Record a visit",
    body=VisitRecordForm,
    responses={201: ("The visit, with the role it was made in.", obj({"id": INTEGER, "role": STRING,
                                                                       "visited_on": DAY}))},
    errors=(400, 403, 404),
    examples=(
        Example("visit", "rep_e1 records his visit", "rep_e1", 201, path=OWN,
                body={"visited_on": "2026-12-01", "products": "0号柴油需求稳定", "delivery": "希望缩短配送时间"}),
        Example("nothing_said", "A visit with nothing the customer said", "rep_e1", 400, path=OWN,
                body={"visited_on": "2026-12-01"},
                response=error("invalid", "Some fields are not valid.",
                               {"other_views": ["Write down what the customer said about at least one topic."]})),
        Example("other_branch", "Someone not of the customer's branch", "rep_n1", 403, path=OWN,
                body={"visited_on": "2026-12-01", "products": "无"}),
    ),
)
def record_visit(customer_id: int):
    """{visited_on, products, delivery, business_process, service, other_views}: a visit into the dossier,
    by the customer's rep, its branch's sales manager or manager, or HQ marketing, in that role."""
    customer = dossiers.get_customer(customer_id)
    policy().require(g.api_user, RECORD_VISIT, customer)
    form = checked(VisitRecordForm)
    visit = visits.record(customer, g.api_user, form.values(), clock.now())
    return jsonify({"id": visit.id, "role": visit.role, "visited_on": visit.visited_on.isoformat()}), 201


@bp.route("/customers/<int:customer_id>/attitude", methods=["POST"])
@token_required
@operation(
    summary="Judge a customer's attitude",
    body=AttitudeForm,
    responses={200: ("The customer's attitude now, with the one it had before (null: the first judgement).",
                     obj({"attitude": STRING, "previous": nullable(STRING), "as_of": DAY, "reason": STRING}))},
    errors=(400, 403, 404),
    examples=(
        Example("judged", "rep_e1 judges his customer loyal", "rep_e1", 200, path=OWN,
                body={"attitude": "loyal", "reason": "三年来只在我司购油，价格波动时也未转向他处"}),
        Example("no_reason", "An attitude without a reason", "rep_e1", 400, path=OWN, body={"attitude": "switching"},
                response=error("invalid", "Some fields are not valid.", {"reason": ["This field is required."]})),
        Example("not_the_rep", "Someone who is not the territory's rep", "rep_e2", 403, path=OWN,
                body={"attitude": "loyal", "reason": "无"}),
    ),
)
def judge_attitude(customer_id: int):
    """{attitude: loyal | switching | no_loyalty, reason}: the rep of the customer's territory judges its
    attitude (seed 002); kept with the day, a new row of its class history when it changes."""
    customer = dossiers.get_customer(customer_id)
    policy().require(g.api_user, EDIT_DOSSIER, customer)
    form = checked(AttitudeForm)
    row = classes.set_attitude(customer, form.attitude.data, form.reason.data, g.api_user, clock.now())
    db.session.commit()
    figures = row.latest_figures
    return jsonify({"attitude": row.value, "previous": row.previous, "as_of": figures["as_of"],
                    "reason": figures["reason"]})


@bp.route("/visits/due")
@token_required
@operation(
    summary="Visits due",
    responses={200: ("The visits the frequency table asks of the caller.", array(obj({
        "customer": STRING, "role": STRING, "last": MOMENT, "due": DAY, "overdue": BOOLEAN})))},
    examples=(Example("due", "What rep_e1 should visit", "rep_e1", 200),),
)
def due_visits():
    """The visits the frequency table asks of me, soonest due first."""
    today = local(clock.now()).date()
    return jsonify([{"customer": v.customer.code, "role": v.role, "last": iso(v.last), "due": v.due.isoformat(),
                     "overdue": v.overdue(today)} for v in visits.due_visits(g.api_user, clock.now())])


@bp.route("/customers/<int:customer_id>/stars")
@token_required
@operation(
    summary="A customer's stars",
    responses={200: ("Its monthly star ratings, newest first.", array(obj({
        "month": STRING, "stars": INTEGER, "initial_stars": nullable(INTEGER),
        "second_round_stars": nullable(INTEGER), "approved_by": NAME, "initial_by": NAME, "second_round_by": NAME})))},
    errors=(403, 404),
    examples=(
        Example("stars", "The branch's specialist looks", "spec_east", 200, path=OWN),
        Example("other_branch", "A rep of another branch", "rep_n1", 403, path=OWN),
    ),
)
def get_stars(customer_id: int):
    """The customer's approved monthly stars, newest first, with who set them in each round."""
    customer = dossiers.get_customer(customer_id)
    policy().require(g.api_user, SEE_STARS, customer)
    name = lambda user: user.username if user else None  # noqa: E731
    return jsonify([{"month": r.month, "stars": r.stars, "initial_stars": r.initial_stars,
                     "second_round_stars": r.second_round_stars, "approved_by": name(r.approved_by),
                     "initial_by": name(r.initial_by), "second_round_by": name(r.second_round_by)}
                    for r in star_rating.history(customer.id)])


@bp.route("/customers/<int:customer_id>/access-log")
@token_required
@operation(
    summary="A dossier's access log",
    responses={200: ("Every read of the dossier, with its ground.", array(obj({
        "user": STRING, "at": MOMENT, "ground": STRING, "loan_id": nullable(INTEGER), "channel": STRING})))},
    errors=(403, 404),
    examples=(
        Example("log", "rep_e1 sees who read his customer's dossier", "rep_e1", 200, path=OWN),
        Example("other_territory", "rep_e2 may not see it", "rep_e2", 403, path=OWN),
    ),
)
def get_access_log(customer_id: int):
    """Who read the dossier, when, on what ground, through which channel (page, API)."""
    customer = dossiers.get_customer(customer_id)
    policy().require(g.api_user, SEE_ACCESS_LOG, customer)
    return jsonify([{"user": r.user.username, "at": iso(r.at), "ground": r.ground, "loan_id": r.loan_id,
                     "channel": r.channel} for r in dossiers.access_log(customer)])
