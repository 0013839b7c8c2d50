"""Processes and opening cases of them."""
from flask import Blueprint, g, jsonify
from flask_babel import lazy_gettext as _l

from app.engine import definitions
from app.errors import NotFound
from app.web import engine
from app.web.api.common import instance_json, json_body, token_required
from forms import validated

bp = Blueprint("processes", __name__)


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
    instance = engine().cases.start(key, g.api_user, data)
    return jsonify(instance_json(instance)), 201
