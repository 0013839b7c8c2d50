"""The JSON API (/api/v1): the same rules as the pages, bearer tokens instead of a session.

Errors are {"error": {"code", "message", "fields"}} with 400, 401, 403, 404, 409 or 422.
"""
import re
from datetime import datetime
from functools import wraps

from flask import Blueprint, g, jsonify, request
from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from app import db
from app.calendar import clock, local
from app.domain import (
    accounts,
    attachments,
    delegation,
    dossier_upkeep,
    dossiers,
    notifications,
    org,
    star_rating,
    visits,
)
from app.domain.customers import Customer
from app.engine import case_search, definitions, queries
from app.engine.models import AFTER_SIGN, Event, Instance, Task
from app.errors import AppError, Forbidden, InvalidData, NotFound
from app.web import engine, refuse_changes_by_reviewers
from app.web.auth import login_limit
from app.web.case_filters import read_filters
from app.web.files import send_attachment
from app.web.operation_forms import (
    AwayForm,
    BatchForm,
    CopyForm,
    ReasonForm,
    SendBackForm,
    SignerForm,
    TransferForm,
    UrgeForm,
    from_json,
)
from app.web.tasks import approve_each
from forms import build_form, context, describe, form_data, task_form
from forms.dossier_update import DossierEditForm
from forms.visits import VisitRecordForm

bp = Blueprint("api", __name__)


class Unauthorized(AppError):
    status, code = 401, "unauthorized"


def token_required(view):
    @wraps(view)
    def wrapper(*args, **kwargs):
        header = request.headers.get("Authorization", "")
        scheme, _, token = header.partition(" ")
        user = accounts.user_for_token(token.strip(), clock.now()) if scheme.lower() == "bearer" else None
        if user is None:
            raise Unauthorized(_l("A valid bearer token is required."))
        g.api_user = user
        refuse_changes_by_reviewers(user)
        return view(*args, **kwargs)
    return wrapper


def json_body() -> dict:
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        raise InvalidData(_l("The request body must be a JSON object."))
    return body


def validated(form_key: str, data, task: Task | None = None) -> dict:
    """Run the form named by the BPMN (bound to its task, if any) over JSON data; field errors become a 400."""
    if not isinstance(data, dict):
        raise InvalidData(_l("`data` must be a JSON object."), {"data": [_l("Must be an object.")]})
    form = task_form(task, json_data=data) if task else build_form(form_key, json_data=data)
    if not form.validate():
        raise InvalidData(_l("Some fields are not valid."), form.errors)
    return form_data(form)


def iso(moment):
    return moment.isoformat() if moment else None


def task_json(task: Task) -> dict:
    return {"id": task.id, "name": task.name, "process_key": task.process_key, "instance_id": task.instance_id,
            "form_key": task.form_key, "state": task.state,
            "assignee": task.assignee.username if task.assignee else None,
            "candidate_role": task.candidate_role, "candidate_org_unit_id": task.candidate_org_unit_id,
            "due_at": iso(task.due_at), "created_at": iso(task.created_at)}


def instance_json(instance: Instance) -> dict:
    return {"id": instance.id, "process_key": instance.process_key, "version": instance.definition.version,
            "status": instance.status, "outcome": instance.outcome, "started_by": instance.started_by.username if instance.started_by else None,
            "started_at": iso(instance.started_at), "ended_at": iso(instance.ended_at),
            "data": instance.start_data,
            "tasks": [task_json(t) for t in queries.open_tasks_of([instance.id])[instance.id]]}


def event_json(event: Event) -> dict:
    return {"id": event.id, "type": event.type, "actor": event.actor.username if event.actor else None,
            "at": iso(event.at), "task": event.task_id, "data": event.data}


def customer_json(customer: Customer) -> dict:
    return {"id": customer.id, "code": customer.code, "name": customer.name, "branch": customer.branch.name,
            "territory": customer.territory.name, "kind": customer.kind}


@bp.route("/tokens", methods=["POST"])
@login_limit()
def create_token():
    body = json_body()
    user = accounts.authenticate(str(body.get("username", "")).strip(), str(body.get("password", "")))
    if user is None:
        raise Unauthorized(_l("Wrong user name or password."))
    return jsonify(token=accounts.issue_token(user, clock.now())), 201


@bp.route("/processes")
@token_required
def list_processes():
    return jsonify([{"key": d.key, "version": d.version, "name": d.name, "start_form_key": d.start_form_key}
                    for d in definitions.latest_definitions()])


@bp.route("/processes/<key>/instances", methods=["POST"])
@token_required
def start_instance(key: str):
    definition = definitions.latest_definition(key)
    if definition is None:
        raise NotFound(_l("No such process."))
    data = json_body().get("data", {})
    if definition.start_form_key:
        data = validated(definition.start_form_key, data)
    instance = engine().start(key, g.api_user, data)
    return jsonify(instance_json(instance)), 201


@bp.route("/instances")
@token_required
def list_instances():
    """The cases the caller may see, filtered as the compliance search filters them (process_key,
    version, customer, initiator, participant, since, until, status, outcome, overdue, escalated,
    words, sort, order), a page at a time (page, per_page up to 200)."""
    result = case_search.page(g.api_user, read_filters(request.args), clock.now(),
                              request.args.get("page", 1, type=int), request.args.get("per_page", 50, type=int))
    return jsonify({"items": [instance_json(i) for i in result.items], "page": result.page,
                    "pages": result.pages, "total": result.total})


@bp.route("/instances/<int:instance_id>")
@token_required
def get_instance(instance_id: int):
    return jsonify(instance_json(queries.visible_instance(g.api_user, instance_id)))


@bp.route("/instances/<int:instance_id>/events")
@token_required
def instance_events(instance_id: int):
    instance = queries.visible_instance(g.api_user, instance_id)
    return jsonify([event_json(e) for e in queries.events_of(instance)])


def attachment_json(attachment) -> dict:
    return {"id": attachment.id, "filename": attachment.filename, "content_type": attachment.content_type,
            "size": attachment.size, "sha256": attachment.sha256, "uploaded_by": attachment.uploaded_by.username,
            "uploaded_at": iso(attachment.uploaded_at)}


@bp.route("/instances/<int:instance_id>/attachments", methods=["GET", "POST"])
@token_required
def instance_attachments(instance_id: int):
    """GET: the case's files. POST (multipart, field `file`, repeatable): attach files, all or none."""
    if request.method == "GET":
        queries.visible_instance(g.api_user, instance_id)
        return jsonify([attachment_json(a) for a in attachments.of_case(instance_id)])
    files = [(f.filename, f.read()) for f in request.files.getlist("file") if f.filename]
    if not files:
        raise InvalidData(_l("Send the files as multipart form data, field `file`."),
                          {"file": [_l("Choose a file to attach.")]})
    added = engine().attach(instance_id, g.api_user, files)
    return jsonify([attachment_json(a) for a in added]), 201


@bp.route("/instances/<int:instance_id>/attachments/<int:attachment_id>")
@token_required
def get_attachment(instance_id: int, attachment_id: int):
    queries.visible_instance(g.api_user, instance_id)
    return send_attachment(instance_id, attachment_id)


@bp.route("/tasks")
@token_required
def list_tasks():
    page = request.args.get("page", 1, type=int)
    per_page = min(request.args.get("per_page", 50, type=int), 200)
    # A task's JSON names no case and the list has no total: load neither.
    result = queries.inbox_page(g.api_user, page, per_page, cases=False, count=False)
    return jsonify([task_json(t) for t in result.items])


@bp.route("/tasks/<int:task_id>")
@token_required
def get_task(task_id: int):
    task = queries.visible_task(g.api_user, task_id)
    form = task_form(task, json_data={})
    return jsonify({**task_json(task), "fields": describe(form), "context": context(form),
                    "case": instance_json(task.instance)})


@bp.route("/tasks/<int:task_id>/claim", methods=["POST"])
@token_required
def claim_task(task_id: int):
    return jsonify(task_json(engine().claim(task_id, g.api_user)))


@bp.route("/tasks/<int:task_id>/complete", methods=["POST"])
@token_required
def complete_task(task_id: int):
    task = queries.visible_task(g.api_user, task_id)
    data = validated(task.form_key, json_body().get("data", {}), task)
    task = engine().complete(task.id, g.api_user, data)
    return jsonify({"task": task_json(task), "instance": instance_json(task.instance)})


@bp.route("/customers")
@token_required
def list_customers():
    customers = db.session.scalars(select(Customer).order_by(Customer.code))
    return jsonify([customer_json(c) for c in customers])


def _plain(value):
    """JSON for dossier values: numbers and text as they are, decimals and dates as strings."""
    return value if value is None or isinstance(value, (int, str)) else str(value)


@bp.route("/customers/<int:customer_id>")
@token_required
def get_dossier(customer_id: int):
    customer = dossiers.get_customer(customer_id)
    read = dossiers.read_dossier(g.api_user, customer, clock.now(), channel="api")
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
    dossier_upkeep.check_editor(g.api_user, customer)
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
    if visits.visiting_role(g.api_user, customer) is None:
        raise Forbidden(_l("Only the customer's rep, its branch's managers and HQ marketing record visits."))
    form = _checked(VisitRecordForm)
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
    if not star_rating.may_see_stars(g.api_user, customer):
        raise Forbidden(_l("Star ratings are for the customer's branch and headquarters."))
    name = lambda user: user.username if user else None  # noqa: E731
    return jsonify([{"month": r.month, "stars": r.stars, "initial_stars": r.initial_stars,
                     "second_round_stars": r.second_round_stars, "approved_by": name(r.approved_by),
                     "initial_by": name(r.initial_by), "second_round_by": name(r.second_round_by)}
                    for r in star_rating.history(customer.id)])


@bp.route("/customers/<int:customer_id>/access-log")
@token_required
def get_access_log(customer_id: int):
    customer = dossiers.get_customer(customer_id)
    dossiers.check_access_log_right(g.api_user, customer)
    return jsonify([{"user": r.user.username, "at": iso(r.at), "ground": r.ground, "loan_id": r.loan_id,
                     "channel": r.channel} for r in dossiers.access_log(customer)])


def _date_time_arg(name: str, errors: dict):
    """An ISO 8601 date-time with offset from the query string (None if absent); problems go to `errors`."""
    value = request.args.get(name, "").strip()
    if not value:
        return None
    # An unencoded "+08:00" arrives as " 08:00": a query string turns "+" into a space.
    value = re.sub(r" (\d\d(:?\d\d)?)$", r"+\1", value)
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        moment = None
    if moment is None or moment.tzinfo is None:
        errors[name] = [_l("Not an ISO 8601 date-time with offset, e.g. 2026-01-01T00:00:00+08:00.")]
        return None
    return moment


def _int_arg(name: str, errors: dict, default: int | None = None):
    value = request.args.get(name, "").strip()
    if not value:
        return default
    try:
        return int(value)
    except ValueError:
        errors[name] = [_l("Must be a whole number.")]
        return default


@bp.route("/events")
@token_required
def search_events():
    """The compliance search over the audit trail (compliance reviewers only), newest first.

    Filters: actor (user name or id), process_key, type, since (inclusive), until (exclusive),
    instance; page and per_page (at most 200).
    """
    if not g.api_user.has_role(org.AUDITOR):
        raise Forbidden(_l("Only compliance reviewers may search the audit trail."))
    errors: dict = {}
    since, until = _date_time_arg("since", errors), _date_time_arg("until", errors)
    if since is not None and until is not None and until <= since:
        errors["until"] = [_l("Must be later than `since`.")]
    instance_id = _int_arg("instance", errors)
    page = max(_int_arg("page", errors, 1), 1)
    per_page = min(max(_int_arg("per_page", errors, 50), 1), 200)
    if errors:
        raise InvalidData(_l("Some search parameters are not valid."), errors)
    actor = request.args.get("actor", "").strip() or None
    result = queries.search_events(actor=actor, process_key=request.args.get("process_key") or None,
                                   event_type=request.args.get("type") or None, since=since, until=until,
                                   instance_id=instance_id, page=page, per_page=per_page)
    return jsonify(items=[event_json(e) for e in result.items], page=result.page, pages=result.pages,
                   total=result.total)


# -- approval operations -------------------------------------------------------------------------

def _checked(form_class, **kwargs):
    """An operation's form over the JSON body; field errors become a 400."""
    form = from_json(form_class, json_body(), **kwargs)
    if not form.validate():
        raise InvalidData(_l("Some fields are not valid."), form.errors)
    return form


@bp.route("/tasks/<int:task_id>/transfer", methods=["POST"])
@token_required
def transfer_task(task_id: int):
    """{to: user name, comment}: hand the task to another eligible person."""
    form = _checked(TransferForm)
    return jsonify(task_json(engine().transfer(task_id, g.api_user, form.to.person, form.comment.data.strip())))


@bp.route("/tasks/<int:task_id>/signers", methods=["POST"])
@token_required
def add_signer(task_id: int):
    """{signer, position: before_sign | after_sign, comment, data: the decision (after_sign)}."""
    form = _checked(SignerForm)
    decision = None
    if form.position.data == AFTER_SIGN:
        task = queries.visible_task(g.api_user, task_id)
        decision = validated(task.form_key, json_body().get("data", {}), task)
    side = engine().add_signer(task_id, g.api_user, form.signer.person, form.position.data, form.comment.data or "",
                               decision)
    return jsonify(task_json(side)), 201


@bp.route("/tasks/<int:task_id>/send-back", methods=["GET", "POST"])
@token_required
def send_back_task(task_id: int):
    """GET: the steps it may go back to; POST {to, comment}: send it back there."""
    task = queries.visible_task(g.api_user, task_id)
    targets = engine().send_back_targets(task) if task.is_open else []
    if request.method == "GET":
        return jsonify([{"step": step, "name": name} for step, name in targets])
    form = _checked(SendBackForm, targets=targets)
    return jsonify(task_json(engine().send_back(task_id, g.api_user, form.to.data, form.comment.data.strip())))


@bp.route("/tasks/<int:task_id>/urge", methods=["POST"])
@token_required
def urge_task(task_id: int):
    form = _checked(UrgeForm)
    task = queries.visible_task_of_case(g.api_user, task_id)
    return jsonify(task_json(engine().urge(task.id, g.api_user, (form.comment.data or "").strip())))


@bp.route("/tasks/approve", methods=["POST"])
@token_required
def approve_tasks():
    """{tasks: [ids], comment}: approve each on its own; {results: {id: null (approved) | why not}}."""
    form = _checked(BatchForm)
    results = approve_each(g.api_user, form.tasks.data, (form.comment.data or "").strip())
    return jsonify(results={str(task_id): why for task_id, why in results.items()})


@bp.route("/instances/<int:instance_id>/withdraw", methods=["POST"])
@token_required
def withdraw_instance(instance_id: int):
    form = _checked(ReasonForm)
    return jsonify(instance_json(engine().withdraw(instance_id, g.api_user, form.reason.data.strip())))


@bp.route("/instances/<int:instance_id>/readers", methods=["POST"])
@token_required
def copy_instance(instance_id: int):
    """{readers: [user names], note}: copy the case to them."""
    queries.visible_instance(g.api_user, instance_id)
    form = _checked(CopyForm)
    added = engine().copy_to(instance_id, g.api_user, form.readers.people, (form.note.data or "").strip())
    return jsonify(readers=[person.username for person in added]), 201


@bp.route("/copied")
@token_required
def copied_instances():
    result = queries.copied_to(g.api_user, request.args.get("page", 1, type=int), 50)
    return jsonify([instance_json(i) for i in result.items])


@bp.route("/notifications")
@token_required
def list_notifications():
    result = notifications.page_of(g.api_user, request.args.get("page", 1, type=int), 50)
    return jsonify(unread=notifications.unread_count(g.api_user), items=[
        {"id": n.id, "kind": n.kind, "text": n.text, "instance_id": n.instance_id, "task_id": n.task_id,
         "at": iso(n.at), "read": n.read_at is not None, "comment": n.data.get("comment", "")} for n in result.items])


@bp.route("/notifications/read", methods=["POST"])
@token_required
def read_notifications():
    """{ids: [...]} or {} for all."""
    ids = json_body().get("ids")
    if ids is not None and not (isinstance(ids, list) and all(isinstance(i, int) for i in ids)):
        raise InvalidData(_l("Some fields are not valid."), {"ids": [_l("A list of notification ids.")]})
    notifications.mark_read(g.api_user, clock.now(), ids)
    return jsonify(unread=notifications.unread_count(g.api_user))


@bp.route("/me/away", methods=["GET", "POST"])
@token_required
def away_periods():
    """GET: my away periods (and those I am deputy in); POST {deputy, starts_at, ends_at (company time),
    processes: [keys], person (administrators: someone else)}."""
    if request.method == "POST":
        form = _checked(AwayForm)
        starts_at, ends_at = form.period()
        delegation.set_period(form.person.person or g.api_user, form.deputy.person, starts_at, ends_at,
                              form.processes.data, g.api_user, clock.now())
    return jsonify([{"id": p.id, "person": p.user.username, "deputy": p.deputy.username, "starts_at": iso(p.starts_at),
                     "ends_at": iso(p.ends_at), "processes": p.process_keys}
                    for p in delegation.periods_of(g.api_user, clock.now())]), 201 if request.method == "POST" else 200


# -- process administration (administrators only; the engine refuses everyone else) -------------

def _administrator():
    if not g.api_user.has_role(org.ADMIN):
        raise Forbidden(_l("Only process administrators may do this."))


@bp.route("/instances/<int:instance_id>/<action>", methods=["POST"])
@token_required
def administer_instance(instance_id: int, action: str):
    """suspend | resume | terminate | migrate, with {reason}."""
    if action not in ("suspend", "resume", "terminate", "migrate"):
        raise NotFound(_l("No such action."))
    instance = getattr(engine(), action)(instance_id, g.api_user, str(json_body().get("reason", "")))
    return jsonify(instance_json(instance))


@bp.route("/tasks/<int:task_id>/reassign", methods=["POST"])
@token_required
def reassign_task(task_id: int):
    body = json_body()
    _administrator()
    person = db.session.scalar(select(org.User).where(org.User.username == str(body.get("assignee", ""))))
    if person is None:
        raise InvalidData(_l("No such person."), {"assignee": [_l("No such person.")]})
    return jsonify(task_json(engine().reassign(task_id, g.api_user, person, str(body.get("reason", "")))))


def incident_json(incident) -> dict:
    return {"id": incident.id, "process_key": incident.process_key, "instance_id": incident.instance_id,
            "task_id": incident.task_id, "operation": incident.operation, "element": incident.element,
            "error": incident.error, "data": incident.data, "occurred_at": iso(incident.occurred_at),
            "resolved_at": iso(incident.resolved_at), "resolution": incident.resolution}


@bp.route("/incidents")
@token_required
def list_incidents():
    _administrator()
    return jsonify([incident_json(i) for i in queries.incidents(resolved=request.args.get("resolved") == "true")])


@bp.route("/incidents/<int:incident_id>/<action>", methods=["POST"])
@token_required
def settle_incident(incident_id: int, action: str):
    """retry {data (optional, corrected)} | close {note}."""
    body = json_body()
    if action == "retry":
        data = body.get("data")
        if data is not None and not isinstance(data, dict):
            raise InvalidData(_l("The data must be a JSON object."), {"data": [_l("Must be an object.")]})
        incident = engine().retry_incident(incident_id, g.api_user, data)
    elif action == "close":
        incident = engine().close_incident(incident_id, g.api_user, str(body.get("note", "")))
    else:
        raise NotFound(_l("No such action."))
    return jsonify(incident_json(incident))
