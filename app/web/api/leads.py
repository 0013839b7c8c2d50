"""Potential customers: the leads by stage, a potential customer's contact log, and a branch's rhythm of
contacts. A lead is opened and decided through the generic process and task operations
(POST /processes/lead_development/instances, POST /tasks/<id>/complete)."""
from flask import Blueprint, g, jsonify, request
from flask_babel import lazy_gettext as _l

from app.calendar import clock
from app.domain import leads, org
from app.errors import Forbidden, InvalidData
from app.policy import LOG_CONTACT, SEE_CONTACTS, SEE_LEADS, SET_LEAD_RHYTHM
from app.web import policy
from app.web.api.common import NAME, checked, iso, token_required
from app.web.api.contract import (
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
from forms.leads import ContactForm, RhythmForm

bp = Blueprint("leads", __name__)

LEAD = component("Lead", obj({
    "instance_id": INTEGER, "name": STRING, "territory": STRING, "branch": STRING,
    "stage": {"type": "string", "enum": list(leads.STAGES)}, "outcome": nullable(STRING),
    "expected_monthly_tons": nullable(STRING), "customer_id": nullable(INTEGER), "customer_code": nullable(STRING),
    "potential": {"type": "boolean"}, "last_contact": nullable(DAY), "waiting_for": array(STRING),
    "started_at": MOMENT,
}))
CONTACT = component("LeadContact", obj({
    "id": INTEGER, "customer_id": INTEGER, "kind": {"type": "string", "enum": list(leads.CONTACT_KINDS)},
    "contacted_on": DAY, "notes": STRING, "by": NAME, "logged_at": MOMENT,
}))
RHYTHM = component("LeadRhythm", obj({"branch": STRING, "days": INTEGER}))
# The examples' customer 1 (HD-E1-001) trades with the company: a contact with it is refused (409);
# a potential customer exists only once a lead has been confirmed (tests/test_leads.py logs one).
CONTACT_BODY = {"kind": "telephone", "contacted_on": "2026-12-01", "notes": "电话介绍公司柴油产品与配送服务"}


def lead_json(row: dict) -> dict:
    customer = row["customer"]
    return {"instance_id": row["instance"].id, "name": row["name"], "territory": row["territory"],
            "branch": row["branch"], "stage": row["stage"], "outcome": row["instance"].outcome,
            "expected_monthly_tons": row["expected_monthly_tons"], "customer_id": customer.id if customer else None,
            "customer_code": customer.code if customer else None, "potential": bool(customer and customer.potential),
            "last_contact": iso(row["last_contact"]), "waiting_for": [task.name for task in row["tasks"]],
            "started_at": iso(row["instance"].started_at)}


def contact_json(contact) -> dict:
    return {"id": contact.id, "customer_id": contact.customer_id, "kind": contact.kind,
            "contacted_on": contact.contacted_on.isoformat(), "notes": contact.notes,
            "by": contact.by.username if contact.by else None, "logged_at": iso(contact.logged_at)}


@bp.route("/leads")
@token_required
@operation(
    summary="List leads by stage",
    query=(Param("stage", {"type": "string", "enum": list(leads.STAGES)}, "Only the leads at this stage."),),
    responses={200: ("The leads the user may see, newest first.", array(LEAD))},
    errors=(403,),
    examples=(
        Example("rep", "The east rep's leads", "rep_e1", 200),
        Example("targets", "The east branch's targets, for its sales manager", "salesmgr_east", 200,
                query={"stage": "target"}),
        Example("specialist", "A customer specialist has no leads", "spec_east", 403),
    ),
)
def list_leads():
    """A territory's rep sees his territories' leads, a branch's sales manager and manager the branch's,
    process administrators and compliance reviewers all of them. Stages: candidate (收集拟似客户),
    screening (筛选确定潜在客户), potential, target (选择目标客户), converted (转变为现实客户), dropped."""
    policy().require(g.api_user, SEE_LEADS)
    wanted = request.args.get("stage") or None
    if wanted is not None and wanted not in leads.STAGES:
        raise InvalidData(_l("Unknown stage."), {"stage": [_l("Unknown stage.")]})
    return jsonify([lead_json(row) for row in leads.listing(g.api_user, wanted)])


@bp.route("/customers/<int:customer_id>/contacts", methods=["GET"])
@token_required
@operation(
    "GET",
    summary="A potential customer's contact log",
    responses={200: ("Its contacts, newest first.", array(CONTACT))},
    errors=(403, 404),
    examples=(
        Example("rep", "The east rep reads the log of a customer of his territory", "rep_e1", 200,
                path={"customer_id": 1}),
        Example("other_rep", "A rep of another territory", "rep_e2", 403, path={"customer_id": 1}),
        Example("unknown", "No such customer", "rep_e1", 404, path={"customer_id": UNKNOWN_ID}),
    ),
)
def contacts(customer_id: int):
    """Whoever logs contacts (the territory's rep, the branch's sales manager and manager), whoever may
    read the dossier, process administrators and compliance reviewers."""
    customer = leads.get_customer(customer_id)
    policy().require(g.api_user, SEE_CONTACTS, customer)
    return jsonify([contact_json(contact) for contact in leads.contacts_of(customer.id)])


@bp.route("/customers/<int:customer_id>/contacts", methods=["POST"])
@token_required
@operation(
    "POST",
    summary="Log a contact with a potential customer",
    body=form_ref(ContactForm),
    responses={201: ("The contact as logged.", CONTACT)},
    errors=(400, 403, 404, 409),
    examples=(
        Example("not_potential", "HD-E1-001 trades with the company: record a visit instead", "rep_e1", 409,
                path={"customer_id": 1}, body=CONTACT_BODY,
                response=error("conflict", "HD-E1-001 is not a potential customer: record a visit instead.")),
        Example("bad_kind", "An unknown kind of contact", "rep_e1", 400, path={"customer_id": 1},
                body={**CONTACT_BODY, "kind": "email"}),
        Example("other_rep", "A rep of another territory", "rep_e2", 403, path={"customer_id": 1},
                body=CONTACT_BODY),
        Example("auditor", "Compliance reviewers read; they log nothing", "auditor", 403, path={"customer_id": 1},
                body=CONTACT_BODY),
        Example("unknown", "No such customer", "rep_e1", 404, path={"customer_id": UNKNOWN_ID}, body=CONTACT_BODY),
    ),
)
def log_contact(customer_id: int):
    """{kind: telephone|visit|materials, contacted_on: YYYY-MM-DD (not ahead), notes}: the territory's rep
    or the branch's sales manager or manager, for a potential customer (409 for one that trades already)."""
    customer = leads.get_customer(customer_id)
    policy().require(g.api_user, LOG_CONTACT, customer)
    form = checked(ContactForm)
    contact = leads.log_contact(customer, g.api_user, form.values(), clock.now())
    return jsonify(contact_json(contact)), 201


@bp.route("/leads/rhythm", methods=["POST"])
@token_required
@operation(
    summary="Set a branch's rhythm of contacts",
    body=form_ref(RhythmForm),
    responses={200: ("The branch's rhythm as set.", RHYTHM)},
    errors=(400, 403),
    examples=(
        Example("set", "The east sales manager: every 10 days", "salesmgr_east", 200,
                body={"branch": "east", "days": 10}),
        Example("too_long", "More than 180 days", "salesmgr_east", 400, body={"branch": "east", "days": 400}),
        Example("other_branch", "The east sales manager, for the north branch", "salesmgr_east", 403,
                body={"branch": "north", "days": 10}),
        Example("rep", "A rep does not set it", "rep_e1", 403, body={"branch": "east", "days": 10}),
    ),
)
def set_rhythm():
    """{branch: its code, days: 1–180}: the branch's sales manager, or a process administrator. Every
    morning the rep of each potential customer whose last contact is that many days old is reminded."""
    policy().require(g.api_user, SET_LEAD_RHYTHM)
    form = checked(RhythmForm)
    branch = org.branch_named(form.branch.data)
    if not leads.may_set_rhythm(g.api_user, branch):
        raise Forbidden(_l("Only the branch's sales manager sets its rhythm of contacts."))
    rhythm = leads.set_rhythm(branch, g.api_user, form.days.data, clock.now())
    return jsonify({"branch": branch.code, "days": rhythm.days})
