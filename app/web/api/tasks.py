"""Tasks: my inbox, one task with its form, claiming and completing, and the operations around a
decision (transfer, signers, send back, urge, batch approval, an administrator's reassignment)."""
from flask import Blueprint, g, jsonify, request
from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from app import db
from app.domain import org
from app.engine import queries
from app.engine.models import AFTER_SIGN
from app.engine.plugins import ADMINISTER
from app.errors import InvalidData
from app.web import engine, policy
from app.web.api.common import (
    DRAWN_SCHEMA,
    FIELD,
    INSTANCE,
    TASK,
    TASK_PROPERTIES,
    checked,
    instance_json,
    json_body,
    task_json,
    token_required,
)
from app.web.api.contract import (
    CLAIMABLE_TASK,
    FORM_DATA,
    OBJECT,
    SAMPLE_TASK,
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
from app.web.operation_forms import BatchForm, SendBackForm, SignerForm, TransferForm, UrgeForm
from app.web.tasks import approve_each
from forms import context, describe, drawn, drawn_schema, task_form, validated

bp = Blueprint("tasks", __name__)

TASK_1 = {"task_id": SAMPLE_TASK}
CONSENT = {"decision": "approve", "comment": "同意借阅"}
TASK_DETAIL = component("TaskDetail", obj({
    **TASK_PROPERTIES,
    "fields": array(FIELD),
    "context": {**OBJECT, "description": "What the task page shows besides the fields (a rating sheet's rows, "
                                         "a complaint's proposed severity)."},
    "schema": DRAWN_SCHEMA,
    "case": INSTANCE,
}))


@bp.route("/tasks")
@token_required
@operation(
    summary="My inbox",
    query=(Param("page", {"type": "integer", "minimum": 1, "default": 1}),
           Param("per_page", {"type": "integer", "minimum": 1, "maximum": 200, "default": 50})),
    responses={200: ("A page of the tasks waiting for the caller and those he may claim, overdue first.",
                     array(TASK))},
    examples=(Example("inbox", "What waits for rep_e1", "rep_e1", 200),),
)
def list_tasks():
    """The caller's open tasks (his own, and those he holds as a deputy) and his groups' claimable ones."""
    page = request.args.get("page", 1, type=int)
    per_page = min(request.args.get("per_page", 50, type=int), 200)
    # A task's JSON names no case and the list has no total: load neither.
    result = queries.inbox_page(g.api_user, page, per_page, cases=False, count=False)
    return jsonify([task_json(t) for t in result.items])


@bp.route("/tasks/<int:task_id>")
@token_required
@operation(
    summary="One task with its form",
    responses={200: ("The task, its form's fields, what its page shows, and its case.", TASK_DETAIL)},
    errors=(403, 404),
    examples=(
        Example("consent", "rep_e1 opens the consent waiting for him", "rep_e1", 200, path=TASK_1),
        Example("not_his", "Someone it is not for", "rep_n1", 403, path=TASK_1),
        Example("unknown", "A task that does not exist", "rep_e1", 404, path={"task_id": UNKNOWN_ID},
                response=error("not_found", "No such task.")),
    ),
)
def get_task(task_id: int):
    """To its assignee, or to a member of its group while nobody has claimed it. A drawn form's task comes
    with the form's schema (the version's, as form-js's viewer renders it) and its fields' keys."""
    task = policy().visible_task(g.api_user, task_id)
    schema = drawn_schema(task.form_key, task)
    if schema is not None:
        fields, shown = drawn.describe(schema, g.api_user), {}
    else:
        form = task_form(task, json_data={})
        fields, shown = describe(form), context(form)
    return jsonify({**task_json(task), "fields": fields, "context": shown, "schema": schema,
                    "case": instance_json(task.instance)})


@bp.route("/tasks/<int:task_id>/claim", methods=["POST"])
@token_required
@operation(
    summary="Claim a group's task",
    responses={200: ("The task, now the caller's.", TASK)},
    errors=(403, 404, 409),
    examples=(
        Example("claim", "biz_east claims the business department's consent", "biz_east", 200,
                path={"task_id": CLAIMABLE_TASK}),
        Example("outsider", "Someone outside the group", "rep_n1", 403, path={"task_id": CLAIMABLE_TASK}),
    ),
)
def claim_task(task_id: int):
    """A member of the task's candidate group takes it; segregation of duties may keep him from it (403);
    409 when someone claimed it first."""
    return jsonify(task_json(engine().cases.claim(task_id, g.api_user)))


@bp.route("/tasks/<int:task_id>/complete", methods=["POST"])
@token_required
@operation(
    summary="Complete a task",
    body=obj({"data": FORM_DATA}, optional=("data",)),
    responses={200: ("The task, completed, and its case as it goes on.", obj({"task": TASK, "instance": INSTANCE}))},
    errors=(400, 403, 404, 409, 422),
    examples=(
        Example("consent", "rep_e1 consents", "rep_e1", 200, path=TASK_1, body={"data": CONSENT}),
        Example("refuse_silently", "A refusal without a comment", "rep_e1", 400, path=TASK_1,
                body={"data": {"decision": "reject", "comment": ""}},
                response=error("invalid", "Some fields are not valid.",
                               {"comment": ["A refusal needs a comment: the requester is told why."]})),
    ),
)
def complete_task(task_id: int):
    """`data` is checked by the task's form (`form_key`; `GET /tasks/{task_id}` lists its fields). Consents
    `{decision: approve | reject, comment}`, reviews `{decision: approve | return, comment}`, rating sheets
    `{ratings: [{customer_id, stars, reason}]}` …; 422 when the definition fails at this step (an incident
    is recorded and nothing of the step is kept)."""
    task = policy().visible_task(g.api_user, task_id)
    data = validated(task.form_key, json_body().get("data", {}), task, user=g.api_user)
    task = engine().cases.complete(task.id, g.api_user, data)
    return jsonify({"task": task_json(task), "instance": instance_json(task.instance)})


@bp.route("/tasks/<int:task_id>/transfer", methods=["POST"])
@token_required
@operation(
    summary="Transfer a task",
    body=TransferForm,
    responses={200: ("The task, now the other person's.", TASK)},
    errors=(400, 403, 404, 409),
    examples=(
        Example("transfer", "rep_e1 hands his consent to biz_east", "rep_e1", 200, path=TASK_1,
                body={"to": "biz_east", "comment": "本人出差，请代为处理"}),
        Example("initiator", "To the requester himself", "rep_e1", 400, path=TASK_1,
                body={"to": "rep_e2", "comment": "请处理"}),
    ),
)
def transfer_task(task_id: int):
    """{to: user name, comment}: the assignee hands the task (转办) to a member of the group it was offered
    to, or to someone of his branch; 400 (`to`) for someone not eligible."""
    form = checked(TransferForm)
    return jsonify(task_json(engine().operations.transfer(task_id, g.api_user, form.to.person,
                                                          form.comment.data.strip())))


@bp.route("/tasks/<int:task_id>/signers", methods=["POST"])
@token_required
@operation(
    summary="Add a signer",
    body={"allOf": [form_ref(SignerForm), {"type": "object", "properties": {
        "data": {**FORM_DATA, "description": "after_sign: the caller's own decision, by the task's form."}}}]},
    responses={201: ("The signer's task.", TASK)},
    errors=(400, 403, 404, 409),
    examples=(
        Example("before", "rep_e1 asks mgr_east's opinion first", "rep_e1", 201, path=TASK_1,
                body={"signer": "mgr_east", "position": "before_sign", "comment": "请先给意见"}),
        Example("nobody", "A signer nobody is", "rep_e1", 400, path=TASK_1,
                body={"signer": "nobody", "position": "before_sign"},
                response=error("invalid", "Some fields are not valid.",
                               {"signer": ["No active person with the user name “nobody”."]})),
    ),
)
def add_signer(task_id: int):
    """{signer, position: before_sign | after_sign, comment, data: the decision (after_sign)} on a consent
    or approval step (加签): before, he gives his opinion and the task comes back; after, the caller's
    decision is held until the signer has decided. An added signer adds nobody (403)."""
    form = checked(SignerForm)
    decision = None
    if form.position.data == AFTER_SIGN:
        task = policy().visible_task(g.api_user, task_id)
        decision = validated(task.form_key, json_body().get("data", {}), task, user=g.api_user)
    side = engine().operations.add_signer(task_id, g.api_user, form.signer.person, form.position.data,
                                          form.comment.data or "", decision)
    return jsonify(task_json(side)), 201


@bp.route("/tasks/<int:task_id>/send-back", methods=["GET", "POST"])
@token_required
@operation("GET", summary="Where a task may go back",
           responses={200: ("`request` (the initiator's request) and the earlier steps it passed.",
                            array(obj({"step": STRING, "name": STRING})))},
           errors=(403, 404),
           examples=(Example("targets", "Where rep_e1 may send his consent back", "rep_e1", 200, path=TASK_1,
                             response=[{"step": "request", "name": "申请人"}]),))
@operation(
    "POST",
    summary="Send a task back",
    body=SendBackForm,
    responses={200: ("The task the step's person gets again.", TASK)},
    errors=(400, 403, 404, 409),
    examples=(
        Example("to_request", "rep_e1 sends the request back to rep_e2", "rep_e1", 200, path=TASK_1,
                body={"to": "request", "comment": "请写明借阅用途"}),
        Example("not_passed", "A step the case has not passed", "rep_e1", 400, path=TASK_1,
                body={"to": "consent_branch_manager", "comment": "请重新审核"}),
    ),
)
def send_back_task(task_id: int):
    """GET: the steps it may go back to; POST {to, comment}: send it back there (退回); that step's person
    gets it again with what he filed before. A step's `send_back_to` property may restrict where."""
    """GET: the steps it may go back to; POST {to, comment}: send it back there."""
    task = policy().visible_task(g.api_user, task_id)
    targets = engine().operations.send_back_targets(task) if task.is_open else []
    if request.method == "GET":
        return jsonify([{"step": step, "name": name} for step, name in targets])
    form = checked(SendBackForm, targets=targets)
    return jsonify(task_json(engine().operations.send_back(task_id, g.api_user, form.to.data,
                                                           form.comment.data.strip())))


@bp.route("/tasks/<int:task_id>/urge", methods=["POST"])
@token_required
@operation(
    summary="Urge a task",
    body=UrgeForm,
    responses={200: ("The task urged.", TASK)},
    errors=(400, 403, 404, 409),
    examples=(
        Example("urge", "rep_e2 nudges rep_e1", "rep_e2", 200, path=TASK_1, body={"comment": "请尽快处理"}),
        Example("outsider", "Someone who may not see the case", "rep_n1", 403, path=TASK_1, body={}),
    ),
)
def urge_task(task_id: int):
    """The initiator nudges whoever the task waits for (催办); 409 within 4 hours of the last urge."""
    form = checked(UrgeForm)
    task = policy().visible_task_of_case(g.api_user, task_id)
    return jsonify(task_json(engine().operations.urge(task.id, g.api_user, (form.comment.data or "").strip())))


@bp.route("/tasks/approve", methods=["POST"])
@token_required
@operation(
    summary="Approve several tasks",
    body=BatchForm,
    responses={200: ("Each task's result: null when approved, else why not.",
                     obj({"results": {"type": "object", "additionalProperties": nullable(STRING)}}))},
    errors=(400,),
    examples=(
        Example("batch", "rep_e1 approves a task that does not exist", "rep_e1", 200,
                body={"tasks": [UNKNOWN_ID], "comment": "同意"}, response={"results": {str(UNKNOWN_ID): "No such task."}}),
        Example("none", "No task chosen", "rep_e1", 400, body={"tasks": []},
                response=error("invalid", "Some fields are not valid.", {"tasks": ["Choose the tasks to approve."]})),
    ),
)
def approve_tasks():
    """{tasks: [ids], comment}: approve each on its own, consents whose approval with a comment is a whole
    decision; one failure does not stop the others."""
    form = checked(BatchForm)
    results = approve_each(g.api_user, form.tasks.data, (form.comment.data or "").strip())
    return jsonify(results={str(task_id): why for task_id, why in results.items()})


@bp.route("/tasks/<int:task_id>/reassign", methods=["POST"])
@token_required
@operation(
    summary="Reassign a task",
    body=obj({"assignee": STRING, "reason": {"type": "string", "minLength": 1}}),
    responses={200: ("The task, now with the named person.", TASK)},
    errors=(400, 403, 404, 409),
    examples=(
        Example("reassign", "admin gives rep_e1's consent to mgr_east", "admin", 200, path=TASK_1,
                body={"assignee": "mgr_east", "reason": "rep_e1 离职交接"}),
        Example("nobody", "A person who does not exist", "admin", 400, path=TASK_1,
                body={"assignee": "nobody", "reason": "交接"},
                response=error("invalid", "No such person.", {"assignee": ["No such person."]})),
        Example("not_admin", "Someone who is not a process administrator", "rep_e1", 403, path=TASK_1,
                body={"assignee": "mgr_east", "reason": "交接"}),
    ),
)
def reassign_task(task_id: int):
    """{assignee: user name, reason}: process administrators give an open task to someone; an assignment
    segregation of duties would refuse is allowed and listed as an override."""
    body = json_body()
    policy().require(g.api_user, ADMINISTER)
    person = db.session.scalar(select(org.User).where(org.User.username == str(body.get("assignee", ""))))
    if person is None:
        raise InvalidData(_l("No such person."), {"assignee": [_l("No such person.")]})
    return jsonify(task_json(engine().admin.reassign(task_id, g.api_user, person, str(body.get("reason", "")))))
