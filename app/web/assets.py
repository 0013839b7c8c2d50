"""Front-end packages installed from npm at set-up, served from node_modules (no CDN, nothing vendored)."""
from pathlib import Path

from flask import Blueprint, abort, current_app, send_from_directory

bp = Blueprint("assets", __name__)

# package name -> the directory inside it that may be served
PACKAGES = {
    "bootstrap": "dist",
    "bpmn-js": "dist",
    "chart.js": "dist",
}


@bp.route("/vendor/<package>/<path:filename>")
def vendor(package: str, filename: str):
    if package not in PACKAGES:
        abort(404)
    root = Path(current_app.config["NODE_MODULES_DIR"]) / package / PACKAGES[package]
    return send_from_directory(root, filename, max_age=86400)
