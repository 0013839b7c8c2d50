"""Incidents (failed steps) for process administrators: the list, a retry with corrected data, closing."""
from flask import Blueprint, g, jsonify, request
from flask_babel import lazy_gettext as _l

from app.engine import queries
from app.engine.plugins import ADMINISTER
from app.errors import InvalidData, NotFound
from app.web import engine, policy
from app.web.api.common import NAME, iso, json_body, token_required
from app.web.api.contract import (
    INTEGER,
    MOMENT,
    OBJECT,
    STRING,
    UNKNOWN_ID,
    Example,
    Param,
    array,
    component,
    nullable,
    obj,
    operation,
)

bp = Blueprint("incidents", __name__)

INCIDENT = component("Incident", obj({
    "id": INTEGER, "process_key": STRING, "instance_id": nullable(INTEGER), "task_id": nullable(INTEGER),
    "operation": {"type": "string", "enum": ["start", "complete", "timer"]}, "element": NAME, "error": STRING,
    "data": {**OBJECT, "description": "What the failed step was given."}, "occurred_at": MOMENT,
    "resolved_at": MOMENT, "resolution": STRING,
}))


def incident_json(incident) -> dict:
    return {"id": incident.id, "process_key": incident.process_key, "instance_id": incident.instance_id,
            "task_id": incident.task_id, "operation": incident.operation, "element": incident.element,
            "error": incident.error, "data": incident.data, "occurred_at": iso(incident.occurred_at),
            "resolved_at": iso(incident.resolved_at), "resolution": incident.resolution}


@bp.route("/incidents")
@token_required
@operation(
    summary="Incidents",
    query=(Param("resolved", {"type": "string", "enum": ["true", "false"], "default": "false"},
                 "`true`: the resolved ones instead of the open ones."),),
    responses={200: ("Failed steps with their element, error and data.", array(INCIDENT))},
    errors=(403,),
    examples=(
        Example("open", "The open incidents", "admin", 200),
        Example("not_admin", "Someone who is not a process administrator", "rep_e1", 403),
    ),
)
def list_incidents():
    """Process administrators: steps that failed at run time (a script stopped by the sandbox, no gateway
    path), open ones unless `resolved=true`."""
    policy().require(g.api_user, ADMINISTER)
    return jsonify([incident_json(i) for i in queries.incidents(resolved=request.args.get("resolved") == "true")])


@bp.route("/incidents/<int:incident_id>/<action>", methods=["POST"])
@token_required
@operation(
    summary="Retry or close an incident",
    path={"action": {"type": "string", "enum": ["retry", "close"]}},
    body=obj({"data": {**OBJECT, "description": "retry: the corrected data, checked by the step's form."},
              "note": {"type": "string", "description": "close: why."}}, optional=("data", "note")),
    responses={200: ("The incident, resolved (or open still when the retry failed again).", INCIDENT)},
    errors=(400, 403, 404, 409, 422),
    examples=(
        Example("unknown", "An incident that does not exist", "admin", 404,
                path={"incident_id": UNKNOWN_ID, "action": "close"}, body={"note": "已处理"}),
        Example("not_admin", "Someone who is not a process administrator", "rep_e1", 403,
                path={"incident_id": UNKNOWN_ID, "action": "retry"}, body={}),
    ),
)
def settle_incident(incident_id: int, action: str):
    """Process administrators: retry {data (optional, corrected)}, after deploying a fix and moving the case
    or with corrected data, or close {note}."""
    body = json_body()
    if action == "retry":
        data = body.get("data")
        if data is not None and not isinstance(data, dict):
            raise InvalidData(_l("The data must be a JSON object."), {"data": [_l("Must be an object.")]})
        incident = engine().admin.retry_incident(incident_id, g.api_user, data)
    elif action == "close":
        incident = engine().admin.close_incident(incident_id, g.api_user, str(body.get("note", "")))
    else:
        raise NotFound(_l("No such action."))
    return jsonify(incident_json(incident))
