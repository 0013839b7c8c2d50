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
from app.web.api.common import checked, instance_json, json_body, task_json, token_required
from app.web.operation_forms import BatchForm, SendBackForm, SignerForm, TransferForm, UrgeForm
from app.web.tasks import approve_each
from forms import context, describe, task_form, validated

bp = Blueprint("tasks", __name__)


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
    task = policy().visible_task(g.api_user, task_id)
    form = task_form(task, json_data={})
    return jsonify({**task_json(task), "fields": describe(form), "context": context(form),
                    "case": instance_json(task.instance)})


@bp.route("/tasks/<int:task_id>/claim", methods=["POST"])
@token_required
def claim_task(task_id: int):
    return jsonify(task_json(engine().cases.claim(task_id, g.api_user)))


@bp.route("/tasks/<int:task_id>/complete", methods=["POST"])
@token_required
def complete_task(task_id: int):
    task = policy().visible_task(g.api_user, task_id)
    data = validated(task.form_key, json_body().get("data", {}), task)
    task = engine().cases.complete(task.id, g.api_user, data)
    return jsonify({"task": task_json(task), "instance": instance_json(task.instance)})


@bp.route("/tasks/<int:task_id>/transfer", methods=["POST"])
@token_required
def transfer_task(task_id: int):
    """{to: user name, comment}: hand the task to another eligible person."""
    form = checked(TransferForm)
    return jsonify(task_json(engine().operations.transfer(task_id, g.api_user, form.to.person,
                                                          form.comment.data.strip())))


@bp.route("/tasks/<int:task_id>/signers", methods=["POST"])
@token_required
def add_signer(task_id: int):
    """{signer, position: before_sign | after_sign, comment, data: the decision (after_sign)}."""
    form = checked(SignerForm)
    decision = None
    if form.position.data == AFTER_SIGN:
        task = policy().visible_task(g.api_user, task_id)
        decision = validated(task.form_key, json_body().get("data", {}), task)
    side = engine().operations.add_signer(task_id, g.api_user, form.signer.person, form.position.data,
                                          form.comment.data or "", decision)
    return jsonify(task_json(side)), 201


@bp.route("/tasks/<int:task_id>/send-back", methods=["GET", "POST"])
@token_required
def send_back_task(task_id: int):
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
def urge_task(task_id: int):
    form = checked(UrgeForm)
    task = policy().visible_task_of_case(g.api_user, task_id)
    return jsonify(task_json(engine().operations.urge(task.id, g.api_user, (form.comment.data or "").strip())))


@bp.route("/tasks/approve", methods=["POST"])
@token_required
def approve_tasks():
    """{tasks: [ids], comment}: approve each on its own; {results: {id: null (approved) | why not}}."""
    form = checked(BatchForm)
    results = approve_each(g.api_user, form.tasks.data, (form.comment.data or "").strip())
    return jsonify(results={str(task_id): why for task_id, why in results.items()})


@bp.route("/tasks/<int:task_id>/reassign", methods=["POST"])
@token_required
def reassign_task(task_id: int):
    """{assignee: user name, reason}: process administrators."""
    body = json_body()
    policy().require(g.api_user, ADMINISTER)
    person = db.session.scalar(select(org.User).where(org.User.username == str(body.get("assignee", ""))))
    if person is None:
        raise InvalidData(_l("No such person."), {"assignee": [_l("No such person.")]})
    return jsonify(task_json(engine().admin.reassign(task_id, g.api_user, person, str(body.get("reason", "")))))
