"""Relationship managers (关系经理, seed 004): a customer's relationship manager, read by whoever may read its
dossier, named by the manager of its branch (app.domain.patrols). Patrols and return-visit reports go
through the generic process and task operations (POST /processes/patrol_plan/instances,
POST /processes/return_visit_report/instances, POST /tasks/<id>/complete)."""
from flask import Blueprint, g, jsonify

from app.calendar import clock
from app.domain import dossiers, patrols
from app.policy import SET_RELATIONSHIP_MANAGER
from app.web import policy
from app.web.api.common import NAME, checked, token_required
from app.web.api.contract import (
    INTEGER,
    STRING,
    UNKNOWN_ID,
    Example,
    component,
    error,
    form_ref,
    nullable,
    obj,
    operation,
)
from forms.patrols import RelationshipManagerForm

bp = Blueprint("relationships", __name__)

RELATIONSHIP = component("RelationshipManager", obj({
    "customer_id": INTEGER, "customer_code": STRING,
    "tier": {"type": "string", "enum": list(patrols.TIERS)},
    "needs_relationship_manager": {"type": "boolean"},
    "relationship_manager": {**NAME, "description": "User name; null while none is named."},
    "relationship_manager_id": nullable(INTEGER),
}))
# The examples' customer 1 (HD-E1-001) is a general customer on the seeded data: naming a relationship
# manager for it is refused (409); tests/test_patrols.py names one for a key customer.
GENERAL = "Only core and important customers have a relationship manager; HD-E1-001 is a general customer."


def relationship_json(customer) -> dict:
    manager = patrols.relationship_manager(customer)
    return {"customer_id": customer.id, "customer_code": customer.code, "tier": patrols.tier_of(customer),
            "needs_relationship_manager": patrols.needs_relationship_manager(customer),
            "relationship_manager": manager.username if manager else None,
            "relationship_manager_id": manager.id if manager else None}


@bp.route("/customers/<int:customer_id>/relationship-manager", methods=["GET"])
@token_required
@operation(
    "GET",
    summary="A customer's relationship manager",
    responses={200: ("The customer's tier and its relationship manager.", RELATIONSHIP)},
    errors=(403, 404),
    examples=(
        Example("rep", "The east rep reads it for a customer of his territory", "rep_e1", 200,
                path={"customer_id": 1}),
        Example("other_rep", "A rep of another territory", "rep_e2", 403, path={"customer_id": 1}),
        Example("unknown", "No such customer", "rep_e1", 404, path={"customer_id": UNKNOWN_ID}),
    ),
)
def get_relationship_manager(customer_id: int):
    """Whoever may read the customer's dossier (the read is logged, as every read of it is), and the
    manager of its branch."""
    customer = dossiers.get_customer(customer_id)
    if not policy().may(g.api_user, SET_RELATIONSHIP_MANAGER, customer):
        policy().read_dossier(g.api_user, customer, clock.now(), channel="api")
    return jsonify(relationship_json(customer))


@bp.route("/customers/<int:customer_id>/relationship-manager", methods=["PUT"])
@token_required
@operation(
    "PUT",
    summary="Name a customer's relationship manager",
    body=form_ref(RelationshipManagerForm),
    responses={200: ("The customer's relationship manager as now named.", RELATIONSHIP)},
    errors=(400, 403, 404, 409),
    examples=(
        Example("clear", "The east branch manager names nobody", "mgr_east", 200, path={"customer_id": 1},
                body={"person_id": ""}),
        Example("general", "A general customer has no relationship manager", "mgr_east", 409,
                path={"customer_id": 1}, body={"person_id": 2},
                response=error("conflict", GENERAL, {"person_id": [GENERAL]})),
        Example("not_a_person", "Not a person's id", "mgr_east", 400, path={"customer_id": 1},
                body={"person_id": "someone"}),
        Example("rep", "A sales rep does not name relationship managers", "rep_e1", 403,
                path={"customer_id": 1}, body={"person_id": 2}),
        Example("other_branch", "The north branch manager, for an east customer", "mgr_north", 403,
                path={"customer_id": 1}, body={"person_id": 2}),
        Example("unknown", "No such customer", "mgr_east", 404, path={"customer_id": UNKNOWN_ID},
                body={"person_id": 2}),
    ),
)
def put_relationship_manager(customer_id: int):
    """{person_id: a user id, or empty for nobody}: the manager of the customer's branch names a core or
    important customer's relationship manager, an active person of its branch or of headquarters; he is
    copied every complaint about the customer and its warnings. A general customer gets none (409)."""
    customer = dossiers.get_customer(customer_id)
    policy().require(g.api_user, SET_RELATIONSHIP_MANAGER, customer)
    form = checked(RelationshipManagerForm)
    patrols.set_relationship_manager(customer, form.person_id.data, g.api_user, clock.now())
    return jsonify(relationship_json(customer))
