"""Cases: the ones I may see (searched as the compliance search searches), one case, its events and
files, withdrawing, copying, and the administrators' actions on it."""
from flask import Blueprint, g, jsonify, request
from flask_babel import lazy_gettext as _l

from app.calendar import clock
from app.engine import attachments, queries
from app.errors import InvalidData, NotFound
from app.read import case_search
from app.web import engine, policy
from app.web.api.common import (
    checked,
    event_json,
    instance_json,
    instances_json,
    iso,
    json_body,
    token_required,
)
from app.web.case_filters import read_filters
from app.web.files import send_attachment
from app.web.operation_forms import CopyForm, ReasonForm

bp = Blueprint("instances", __name__)


@bp.route("/instances")
@token_required
def list_instances():
    """The cases the caller may see, filtered as the compliance search filters them (process_key,
    version, customer, initiator, participant, since, until, status, outcome, overdue, escalated,
    words, sort, order), a page at a time (page, per_page up to 200)."""
    result = case_search.page(g.api_user, read_filters(request.args), clock.now(),
                              request.args.get("page", 1, type=int), request.args.get("per_page", 50, type=int))
    return jsonify({"items": instances_json(result.items), "page": result.page,
                    "pages": result.pages, "total": result.total})


@bp.route("/instances/<int:instance_id>")
@token_required
def get_instance(instance_id: int):
    return jsonify(instance_json(policy().visible_instance(g.api_user, instance_id)))


@bp.route("/instances/<int:instance_id>/events")
@token_required
def instance_events(instance_id: int):
    instance = policy().visible_instance(g.api_user, instance_id)
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
        policy().visible_instance(g.api_user, instance_id)
        return jsonify([attachment_json(a) for a in attachments.of_case(instance_id)])
    files = [(f.filename, f.read()) for f in request.files.getlist("file") if f.filename]
    if not files:
        raise InvalidData(_l("Send the files as multipart form data, field `file`."),
                          {"file": [_l("Choose a file to attach.")]})
    added = engine().cases.attach(instance_id, g.api_user, files)
    return jsonify([attachment_json(a) for a in added]), 201


@bp.route("/instances/<int:instance_id>/attachments/<int:attachment_id>")
@token_required
def get_attachment(instance_id: int, attachment_id: int):
    policy().visible_instance(g.api_user, instance_id)
    return send_attachment(instance_id, attachment_id)


@bp.route("/instances/<int:instance_id>/withdraw", methods=["POST"])
@token_required
def withdraw_instance(instance_id: int):
    form = checked(ReasonForm)
    return jsonify(instance_json(engine().operations.withdraw(instance_id, g.api_user, form.reason.data.strip())))


@bp.route("/instances/<int:instance_id>/readers", methods=["POST"])
@token_required
def copy_instance(instance_id: int):
    """{readers: [user names], note}: copy the case to them."""
    policy().visible_instance(g.api_user, instance_id)
    form = checked(CopyForm)
    added = engine().operations.copy_to(instance_id, g.api_user, form.readers.people, (form.note.data or "").strip())
    return jsonify(readers=[person.username for person in added]), 201


@bp.route("/copied")
@token_required
def copied_instances():
    result = queries.copied_to(g.api_user, request.args.get("page", 1, type=int), 50)
    return jsonify(instances_json(result.items))


ADMINISTRATIVE_ACTIONS = ("suspend", "resume", "terminate", "migrate")


@bp.route("/instances/<int:instance_id>/<action>", methods=["POST"])
@token_required
def administer_instance(instance_id: int, action: str):
    """suspend | resume | terminate | migrate, with {reason}: process administrators (the engine asks)."""
    if action not in ADMINISTRATIVE_ACTIONS:
        raise NotFound(_l("No such action."))
    instance = getattr(engine().admin, action)(instance_id, g.api_user, str(json_body().get("reason", "")))
    return jsonify(instance_json(instance))
