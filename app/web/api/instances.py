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
    EVENT,
    INSTANCE,
    INSTANCE_PAGE,
    checked,
    event_json,
    instance_json,
    instances_json,
    iso,
    json_body,
    token_required,
)
from app.web.api.contract import (
    INTEGER,
    MOMENT,
    SAMPLE_ATTACHMENT,
    SAMPLE_CASE,
    STRING,
    UNKNOWN_ID,
    Example,
    Param,
    array,
    component,
    error,
    obj,
    operation,
)
from app.web.case_filters import CaseSearchForm, read_filters
from app.web.files import send_attachment
from app.web.operation_forms import CopyForm, ReasonForm

bp = Blueprint("instances", __name__)

CASE = {"instance_id": SAMPLE_CASE}
PAGE = Param("page", {"type": "integer", "minimum": 1, "default": 1}, "The page, from 1.")


@bp.route("/instances")
@token_required
@operation(
    summary="Search cases",
    query=(CaseSearchForm, PAGE, Param("per_page", {"type": "integer", "minimum": 1, "maximum": 200, "default": 50},
                                       "Cases per page.")),
    responses={200: ("A page of the cases the caller may see.", INSTANCE_PAGE)},
    errors=(400,),
    examples=(
        Example("mine", "rep_e2's running cases", "rep_e2", 200, query={"status": "running"}),
        Example("by_customer", "Every case about HD-E1-001, for a reviewer", "auditor", 200,
                query={"customer": "HD-E1-001", "sort": "started", "order": "asc"}),
        Example("bad_filter", "A status that does not exist", "auditor", 400, query={"status": "finished"},
                response=error("invalid", "Some search parameters are not valid.",
                               {"status": ["Not a valid choice."]})),
    ),
)
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
@operation(
    summary="One case",
    responses={200: ("The case with its open tasks.", INSTANCE)},
    errors=(403, 404),
    examples=(
        Example("initiator", "rep_e2 looks at his request", "rep_e2", 200, path=CASE),
        Example("outsider", "Someone with no part in it", "rep_n1", 403, path=CASE,
                response=error("forbidden", "You may not see this case.")),
        Example("unknown", "A case that does not exist", "rep_e2", 404, path={"instance_id": UNKNOWN_ID},
                response=error("not_found", "No such case.")),
    ),
)
def get_instance(instance_id: int):
    """The case, if the caller may see it (its people, their superiors, readers it was copied to, reviewers)."""
    return jsonify(instance_json(policy().visible_instance(g.api_user, instance_id)))


@bp.route("/instances/<int:instance_id>/events")
@token_required
@operation(
    summary="A case's history",
    responses={200: ("Its audit trail, oldest first.", array(EVENT))},
    errors=(403, 404),
    examples=(Example("history", "What happened to rep_e2's request", "rep_e2", 200, path=CASE),),
)
def instance_events(instance_id: int):
    """Every event of the case in order: who, when, at which task, with what was submitted."""
    instance = policy().visible_instance(g.api_user, instance_id)
    return jsonify([event_json(e) for e in queries.events_of(instance)])


ATTACHMENT = component("Attachment", obj({
    "id": INTEGER, "filename": STRING, "content_type": STRING, "size": INTEGER, "sha256": STRING,
    "uploaded_by": STRING, "uploaded_at": MOMENT,
}))
FILES = obj({"file": {"type": "array", "items": {"type": "string", "contentMediaType": "application/octet-stream"},
                      "description": "PDF, JPEG, PNG or office documents (no macros), 10 MB each."}},
            optional=("file",))
PDF = "%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"


def attachment_json(attachment) -> dict:
    return {"id": attachment.id, "filename": attachment.filename, "content_type": attachment.content_type,
            "size": attachment.size, "sha256": attachment.sha256, "uploaded_by": attachment.uploaded_by.username,
            "uploaded_at": iso(attachment.uploaded_at)}


@bp.route("/instances/<int:instance_id>/attachments", methods=["GET", "POST"])
@token_required
@operation("GET", summary="A case's files", responses={200: ("Its attachments.", array(ATTACHMENT))},
           errors=(403, 404), examples=(Example("files", "The files of rep_e2's request", "rep_e2", 200, path=CASE),))
@operation(
    "POST",
    summary="Attach files",
    body=FILES,
    body_media_type="multipart/form-data",
    responses={201: ("The files attached.", array(ATTACHMENT))},
    errors=(400, 403, 404, 409),
    examples=(
        Example("attach", "rep_e2 attaches a PDF", "rep_e2", 201, path=CASE, body={"file": [PDF]}),
        Example("no_file", "No file in the form", "rep_e2", 400, path=CASE, body={},
                response=error("invalid", "Send the files as multipart form data, field `file`.",
                               {"file": ["Choose a file to attach."]})),
    ),
)
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
@operation(
    summary="Download a file",
    responses={200: ("The file as a download, with its own content type.", {}, "*/*")},
    errors=(403, 404),
    examples=(
        Example("download", "rep_e2 downloads the PDF", "rep_e2", 200,
                path={**CASE, "attachment_id": SAMPLE_ATTACHMENT}),
        Example("unknown", "A file the case does not have", "rep_e2", 404,
                path={**CASE, "attachment_id": UNKNOWN_ID}),
    ),
)
def get_attachment(instance_id: int, attachment_id: int):
    """To those who may see the case."""
    policy().visible_instance(g.api_user, instance_id)
    return send_attachment(instance_id, attachment_id)


@bp.route("/instances/<int:instance_id>/withdraw", methods=["POST"])
@token_required
@operation(
    summary="Withdraw a request",
    body=ReasonForm,
    responses={200: ("The case, now withdrawn.", INSTANCE)},
    errors=(400, 403, 404, 409),
    examples=(
        Example("withdraw", "rep_e2 withdraws before anyone decided", "rep_e2", 200, path=CASE,
                body={"reason": "客户已提供所需资料"}),
        Example("no_reason", "Without a reason", "rep_e2", 400, path=CASE, body={"reason": ""},
                response=error("invalid", "Some fields are not valid.", {"reason": ["This field is required."]})),
        Example("not_his", "Someone else's request", "rep_e1", 403, path=CASE, body={"reason": "不再需要"}),
    ),
)
def withdraw_instance(instance_id: int):
    """The initiator, while nobody has decided anything; 409 once someone has, or for a process whose
    cases are never withdrawn (complaints), with its reason."""
    form = checked(ReasonForm)
    return jsonify(instance_json(engine().operations.withdraw(instance_id, g.api_user, form.reason.data.strip())))


@bp.route("/instances/<int:instance_id>/readers", methods=["POST"])
@token_required
@operation(
    summary="Copy a case to readers",
    body=CopyForm,
    responses={201: ("The people it was copied to now.", obj({"readers": array(STRING)}))},
    errors=(400, 403, 404),
    examples=(
        Example("copy", "rep_e2 copies his request to his branch manager", "rep_e2", 201, path=CASE,
                body={"readers": "mgr_east", "note": "请知悉"}, response={"readers": ["mgr_east"]}),
        Example("nobody", "A user name nobody has", "rep_e2", 400, path=CASE, body={"readers": "nobody"},
                response=error("invalid", "Some fields are not valid.",
                               {"readers": ["No active person with the user name “nobody”."]})),
    ),
)
def copy_instance(instance_id: int):
    """{readers: user names (a list, or one text separated by commas or spaces), note}: copy the case to them (抄送); anyone who
    may see the case may. They read it under "Copied to me"."""
    policy().visible_instance(g.api_user, instance_id)
    form = checked(CopyForm)
    added = engine().operations.copy_to(instance_id, g.api_user, form.readers.people, (form.note.data or "").strip())
    return jsonify(readers=[person.username for person in added]), 201


@bp.route("/copied")
@token_required
@operation(
    summary="Cases copied to me",
    query=(PAGE,),
    responses={200: ("A page (50) of the cases copied to the caller, newest first.", array(INSTANCE))},
    examples=(Example("copied", "What was copied to mgr_east", "mgr_east", 200),),
)
def copied_instances():
    """The cases others copied to the caller (抄送), to read."""
    result = queries.copied_to(g.api_user, request.args.get("page", 1, type=int), 50)
    return jsonify(instances_json(result.items))


ADMINISTRATIVE_ACTIONS = ("suspend", "resume", "terminate", "migrate")


@bp.route("/instances/<int:instance_id>/<action>", methods=["POST"])
@token_required
@operation(
    summary="Suspend, resume, terminate or migrate a case",
    path={"action": {"type": "string", "enum": list(ADMINISTRATIVE_ACTIONS)}},
    body=obj({"reason": {"type": "string", "minLength": 1}}),
    responses={200: ("The case, with the action in its history.", INSTANCE)},
    errors=(400, 403, 404, 409, 422),
    examples=(
        Example("suspend", "admin suspends a case", "admin", 200, path={**CASE, "action": "suspend"},
                body={"reason": "客户资料核查中"}),
        Example("resume_running", "Resuming a case that is not suspended", "admin", 409,
                path={**CASE, "action": "resume"}, body={"reason": "核查完毕"}),
        Example("no_reason", "Terminating without a reason", "admin", 400, path={**CASE, "action": "terminate"},
                body={}),
        Example("not_admin", "Someone who is not a process administrator", "rep_e2", 403,
                path={**CASE, "action": "terminate"}, body={"reason": "不再需要"}),
    ),
)
def administer_instance(instance_id: int, action: str):
    """suspend | resume | terminate | migrate, with {reason}: process administrators (the engine asks)."""
    if action not in ADMINISTRATIVE_ACTIONS:
        raise NotFound(_l("No such action."))
    instance = getattr(engine().admin, action)(instance_id, g.api_user, str(json_body().get("reason", "")))
    return jsonify(instance_json(instance))
