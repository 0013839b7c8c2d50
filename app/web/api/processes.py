"""Processes and opening cases of them."""
from flask import Blueprint, g, jsonify
from flask_babel import lazy_gettext as _l

from app.engine import definitions
from app.errors import NotFound
from app.web import engine
from app.web.api.common import INSTANCE, instance_json, json_body, token_required
from app.web.api.contract import (
    FORM_DATA,
    INTEGER,
    STRING,
    Example,
    array,
    component,
    error,
    nullable,
    obj,
    operation,
)
from forms import validated

bp = Blueprint("processes", __name__)

PROCESS = component("Process", obj({"key": STRING, "version": INTEGER, "name": STRING,
                                    "start_form_key": nullable(STRING)}))
BORROWING = {"customer_id": 1, "purpose": "拜访前了解客户合作历史", "days": 7}


@bp.route("/processes")
@token_required
@operation(
    summary="Processes",
    responses={200: ("The latest deployed version of each process.", array(PROCESS))},
    examples=(Example("all", "What rep_e2 may start from", "rep_e2", 200, response=[
        {"key": "dossier_borrowing", "version": 1, "name": "客户档案借阅", "start_form_key": "dossier_borrow_request"}]),),
)
def list_processes():
    """The latest deployed definitions; `start_form_key` names the form of a new case's `data`."""
    return jsonify([{"key": d.key, "version": d.version, "name": d.name, "start_form_key": d.start_form_key}
                    for d in definitions.latest_definitions()])


@bp.route("/processes/<key>/instances", methods=["POST"])
@token_required
@operation(
    summary="Open a case",
    body=obj({"data": FORM_DATA}, optional=("data",)),
    responses={201: ("The new case with its open tasks.", INSTANCE)},
    errors=(400, 403, 404, 409, 422),
    examples=(
        Example("borrow", "rep_e2 asks to borrow the dossier of HD-E1-003", "rep_e2", 201,
                path={"key": "dossier_borrowing"}, body={"data": {**BORROWING, "customer_id": 3}}),
        Example("too_long", "A loan longer than 30 days", "rep_e2", 400, path={"key": "dossier_borrowing"},
                body={"data": {**BORROWING, "days": 90}},
                response=error("invalid", "Some fields are not valid.",
                               {"days": ["Number must be between 1 and 30."]})),
        Example("unknown", "A process that does not exist", "rep_e2", 404, path={"key": "no_such_process"},
                body={"data": {}}, response=error("not_found", "No such process.")),
    ),
)
def start_instance(key: str):
    """`data` is checked by the process's start form; the flow's own rules judge it too (a dossier the
    requester reads already is refused, a star rating of a branch and month that has a case is 409, a
    process administrators open is 403 for others). Borrowing: `{customer_id, purpose, days}`; star
    rating: `{branch, month}`."""
    definition = definitions.latest_definition(key)
    if definition is None:
        raise NotFound(_l("No such process."))
    data = json_body().get("data", {})
    if definition.start_form_key:
        data = validated(definition.start_form_key, data)
    instance = engine().cases.start(key, g.api_user, data)
    return jsonify(instance_json(instance)), 201
