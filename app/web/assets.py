"""Front-end packages installed from npm at set-up, served from node_modules (no CDN, nothing vendored)."""
from pathlib import Path

from flask import Blueprint, abort, current_app, send_from_directory

bp = Blueprint("assets", __name__)

# URL name -> the directory inside node_modules that may be served under it
PACKAGES = {
    "bootstrap": "bootstrap/dist",
    "bpmn-js": "bpmn-js/dist",
    "chart.js": "chart.js/dist",
    "bpmn-js-properties-panel": "bpmn-js-properties-panel/dist",
    "properties-panel": "@bpmn-io/properties-panel/dist/assets",
    "camunda-bpmn-moddle": "camunda-bpmn-moddle/resources",
    "dmn-js": "dmn-js/dist",
}


@bp.route("/vendor/<package>/<path:filename>")
def vendor(package: str, filename: str):
    if package not in PACKAGES:
        abort(404)
    root = Path(current_app.config["NODE_MODULES_DIR"]) / PACKAGES[package]
    return send_from_directory(root, filename, max_age=86400)
