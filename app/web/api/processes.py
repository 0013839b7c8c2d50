"""Processes and opening cases of them."""
from flask import Blueprint, g, jsonify
from flask_babel import lazy_gettext as _l

from app.engine import definitions
from app.errors import NotFound
from app.web import engine
from app.web.api.common import DRAWN_SCHEMA, FIELD, INSTANCE, instance_json, json_body, token_required
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
from forms import build_form, describe, drawn, drawn_schema, validated

bp = Blueprint("processes", __name__)

PROCESS = component("Process", obj({"key": STRING, "version": INTEGER, "name": STRING,
                                    "start_form_key": nullable(STRING)}))
START_FORM = component("StartForm", obj({"form_key": nullable(STRING), "fields": array(FIELD),
                                         "schema": DRAWN_SCHEMA}))
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


def _latest(key: str):
    definition = definitions.latest_definition(key)
    if definition is None:
        raise NotFound(_l("No such process."))
    return definition


@bp.route("/processes/<key>/start-form")
@token_required
@operation(
    summary="The form of a new case",
    responses={200: ("The start form of the version in force: its key, its fields, and a drawn form's schema.",
                     START_FORM)},
    errors=(404,),
    examples=(
        Example("borrowing", "What a borrowing request holds", "rep_e2", 200, path={"key": "dossier_borrowing"}),
        Example("unknown", "A process that does not exist", "rep_e2", 404, path={"key": "no_such_process"},
                response=error("not_found", "No such process.")),
    ),
)
def start_form(key: str):
    """The fields of `data` for `POST /processes/{key}/instances`: the start form of the version new cases
    start on (no fields when it has none); for a drawn form, also its form-js schema, with the choices
    offered to the caller among its fields."""
    definition = _latest(key)
    schema = drawn_schema(definition.start_form_key, definition=definition)
    if schema is not None:
        fields = drawn.describe(schema, g.api_user)
    else:
        fields = describe(build_form(definition.start_form_key, json_data={})) if definition.start_form_key else []
    return jsonify(form_key=definition.start_form_key, fields=fields, schema=schema)


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
    rating: `{branch, month}`. A drawn start form (`start_form_key` `camunda-forms:deployment:<form id>`)
    takes its fields' keys (`GET /processes/{key}/start-form` lists them); what it lacks is not kept."""
    definition = _latest(key)
    data = json_body().get("data", {})
    if definition.start_form_key:
        data = validated(definition.start_form_key, data, user=g.api_user, definition=definition)
    instance = engine().cases.start(key, g.api_user, data)
    return jsonify(instance_json(instance)), 201
