"""Incidents (failed steps) for process administrators: the list, a retry with corrected data, closing."""
from flask import Blueprint, g, jsonify, request
from flask_babel import lazy_gettext as _l

from app.engine import queries
from app.engine.plugins import ADMINISTER
from app.errors import InvalidData, NotFound
from app.web import engine, policy
from app.web.api.common import iso, json_body, token_required

bp = Blueprint("incidents", __name__)


def incident_json(incident) -> dict:
    return {"id": incident.id, "process_key": incident.process_key, "instance_id": incident.instance_id,
            "task_id": incident.task_id, "operation": incident.operation, "element": incident.element,
            "error": incident.error, "data": incident.data, "occurred_at": iso(incident.occurred_at),
            "resolved_at": iso(incident.resolved_at), "resolution": incident.resolution}


@bp.route("/incidents")
@token_required
def list_incidents():
    policy().require(g.api_user, ADMINISTER)
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
        incident = engine().admin.retry_incident(incident_id, g.api_user, data)
    elif action == "close":
        incident = engine().admin.close_incident(incident_id, g.api_user, str(body.get("note", "")))
    else:
        raise NotFound(_l("No such action."))
    return jsonify(incident_json(incident))
