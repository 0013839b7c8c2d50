"""Customers and their dossiers: reading one (logged), the rep's edit, visits, stars and the access log."""
from flask import Blueprint, g, jsonify
from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from app import db
from app.calendar import clock, local
from app.domain import dossier_upkeep, dossiers, star_rating, visits
from app.domain.customers import Customer
from app.errors import InvalidData
from app.policy import EDIT_DOSSIER, RECORD_VISIT, SEE_ACCESS_LOG, SEE_STARS
from app.web import policy
from app.web.api.common import checked, iso, json_body, token_required
from app.web.operation_forms import from_json
from forms.dossier_update import DossierEditForm
from forms.visits import VisitRecordForm

bp = Blueprint("customers", __name__)


def customer_json(customer: Customer) -> dict:
    return {"id": customer.id, "code": customer.code, "name": customer.name, "branch": customer.branch.name,
            "territory": customer.territory.name, "kind": customer.kind}


def _plain(value):
    """JSON for dossier values: numbers and text as they are, decimals and dates as strings."""
    return value if value is None or isinstance(value, (int, str)) else str(value)


@bp.route("/customers")
@token_required
def list_customers():
    customers = db.session.scalars(select(Customer).order_by(Customer.code))
    return jsonify([customer_json(c) for c in customers])


@bp.route("/customers/<int:customer_id>")
@token_required
def get_dossier(customer_id: int):
    customer = dossiers.get_customer(customer_id)
    read = policy().read_dossier(g.api_user, customer, clock.now(), channel="api")
    fields = {column.key: _plain(getattr(customer, column.key)) for column in Customer.__table__.columns}
    totals = {k: _plain(v) for k, v in dossiers.purchase_totals(customer).items()}
    return jsonify({**customer_json(customer), "dossier": fields, "totals": totals,
                    "resource_guarantee": customer.resource_guarantee,
                    "extra_discount_yuan_per_ton": customer.extra_discount_yuan_per_ton,
                    "purchases": [{"ordered_on": p.ordered_on.isoformat(), "product": p.product,
                                   "quantity_tons": str(p.quantity_tons), "amount_yuan": str(p.amount_yuan),
                                   "delivered_on": iso(p.delivered_on)} for p in customer.purchases],
                    "read": {"ground": read.ground, "loan_id": read.loan_id}})


@bp.route("/customers/<int:customer_id>/dossier", methods=["POST"])
@token_required
def edit_dossier(customer_id: int):
    """{field: value, …}: the rep of the territory changes typed fields; the changes made."""
    customer = dossiers.get_customer(customer_id)
    policy().require(g.api_user, EDIT_DOSSIER, customer)
    body = json_body()
    unknown = sorted(set(body) - set(dossier_upkeep.KIND_OF))
    if unknown:  # the code and system-generated fields are never typed
        raise InvalidData(_l("These fields are not typed: %(fields)s.", fields=", ".join(unknown)),
                          {name: [_l("Not a typed field.")] for name in unknown})
    form = from_json(DossierEditForm, {**{name: _plain(getattr(customer, name)) for name in dossier_upkeep.KIND_OF},
                                       **body})
    if not form.validate():
        raise InvalidData(_l("Some fields are not valid."), form.errors)
    changes = dossier_upkeep.edit(customer, g.api_user, {name: form[name].data for name in body}, clock.now())
    return jsonify([{"field": c.field, "kind": c.kind, "old": c.old, "new": c.new} for c in changes])


@bp.route("/customers/<int:customer_id>/visits", methods=["POST"])
@token_required
def record_visit(customer_id: int):
    """{visited_on, products, delivery, business_process, service, other_views}: a visit into the dossier."""
    customer = dossiers.get_customer(customer_id)
    policy().require(g.api_user, RECORD_VISIT, customer)
    form = checked(VisitRecordForm)
    visit = visits.record(customer, g.api_user, form.values(), clock.now())
    return jsonify({"id": visit.id, "role": visit.role, "visited_on": visit.visited_on.isoformat()}), 201


@bp.route("/visits/due")
@token_required
def due_visits():
    """The visits the frequency table asks of me, soonest due first."""
    today = local(clock.now()).date()
    return jsonify([{"customer": v.customer.code, "role": v.role, "last": iso(v.last), "due": v.due.isoformat(),
                     "overdue": v.overdue(today)} for v in visits.due_visits(g.api_user, clock.now())])


@bp.route("/customers/<int:customer_id>/stars")
@token_required
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
def get_access_log(customer_id: int):
    customer = dossiers.get_customer(customer_id)
    policy().require(g.api_user, SEE_ACCESS_LOG, customer)
    return jsonify([{"user": r.user.username, "at": iso(r.at), "ground": r.ground, "loan_id": r.loan_id,
                     "channel": r.channel} for r in dossiers.access_log(customer)])
