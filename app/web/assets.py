"""Front-end packages installed from npm at set-up, served from node_modules (no CDN, nothing vendored).
The modeler's and the decision editor's scripts are bundled from them at set-up (frontend/build.mjs) into
app/static/build/, served as static files."""
from pathlib import Path

from flask import Blueprint, abort, current_app, redirect, send_from_directory, url_for

bp = Blueprint("assets", __name__)

# URL name -> the directory inside node_modules that may be served under it
PACKAGES = {
    "bootstrap": "bootstrap/dist",
    "bpmn-js": "bpmn-js/dist",
    "chart.js": "chart.js/dist",
    "properties-panel": "@bpmn-io/properties-panel/dist/assets",
    "dmn-js": "dmn-js/dist",
    "swagger-ui": "swagger-ui-dist",
}


@bp.route("/vendor/<package>/<path:filename>")
def vendor(package: str, filename: str):
    if package not in PACKAGES:
        abort(404)
    root = Path(current_app.config["NODE_MODULES_DIR"]) / PACKAGES[package]
    return send_from_directory(root, filename, max_age=86400)


@bp.route("/favicon.ico")
def favicon():
    """Browsers and tools ask for it whatever the pages' <link rel="icon"> says."""
    return redirect(url_for("static", filename="favicon.svg"), 301)
