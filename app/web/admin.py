"""Process administration: the processes and their versions, the modeler, validation, deployment,
downloads and the difference between versions. Process administrators only."""
from flask import (
    Blueprint,
    Response,
    current_app,
    flash,
    jsonify,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required

from app.domain.org import ADMIN
from app.engine import definitions, queries
from app.engine.definitions import DefinitionError
from app.errors import Forbidden, InvalidData, NotFound
from app.web import engine

bp = Blueprint("admin", __name__, url_prefix="/admin")


@bp.before_request
@login_required
def only_administrators():
    if not current_user.has_role(ADMIN):
        raise Forbidden(_l("Only process administrators may do this."))


def _process(key: str):
    latest = definitions.latest_definition(key)
    if latest is None:
        raise NotFound(_l("No such process."))
    return latest


def _dmn_files() -> dict[str, str]:
    return definitions.dmn_files(current_app.config["PROCESSES_DIR"])


@bp.route("/processes")
def processes():
    return render_template("admin/processes.html", processes=definitions.latest_definitions(),
                           running=queries.running_cases_by_process())


@bp.route("/processes/<key>")
def process(key: str):
    latest = _process(key)
    return render_template("admin/process.html", latest=latest, versions=definitions.versions(key),
                           running=queries.running_cases_by_version(key))


@bp.route("/processes/<key>/v<int:number>.bpmn")
def download(key: str, number: int):
    definition = definitions.version(key, number)
    if definition is None:
        raise NotFound(_l("No such version."))
    return Response(definition.bpmn_xml, mimetype="application/xml",
                    headers={"Content-Disposition": f"attachment; filename={key}-v{number}.bpmn"})


@bp.route("/processes/<key>/diff")
def diff(key: str):
    numbers = (request.args.get("old", type=int), request.args.get("new", type=int))
    old, new = (definitions.version(key, n) if n else None for n in numbers)
    if old is None or new is None:
        raise NotFound(_l("No such version."))
    return render_template("admin/diff.html", old=old, new=new, diff=definitions.diff(old, new))


@bp.route("/processes/<key>/modeler")
def modeler(key: str):
    return render_template("admin/modeler.html", latest=_process(key))


@bp.route("/processes/<key>/check", methods=["POST"])
def check(key: str):
    """The modeler's Validate: problems by element, nothing saved."""
    _process(key)
    xml = (request.get_json(silent=True) or {}).get("xml", "")
    problems = engine().check_document(xml, f"{key}.bpmn", key, _dmn_files())
    return jsonify(problems=[{"element": p.element, "message": p.message} for p in problems])


@bp.route("/processes/<key>/deploy", methods=["POST"])
def deploy(key: str):
    """Deploy a new version, from the modeler (JSON) or an uploaded file (form), with a change note."""
    _process(key)
    from_modeler = request.is_json
    if from_modeler:
        body = request.get_json(silent=True) or {}
        xml, note = body.get("xml", ""), (body.get("change_note") or "").strip()
    else:
        upload = request.files.get("file")
        xml = upload.read().decode("utf-8", errors="replace") if upload and upload.filename else ""
        note = request.form.get("change_note", "").strip()
    try:
        if not xml:
            raise InvalidData(_l("Choose a .bpmn file."), {"file": [_l("Choose a .bpmn file.")]})
        if not note:
            raise InvalidData(_l("Say what changed: the note stays with the version."),
                              {"change_note": [_l("Say what changed: the note stays with the version.")]})
        definition = engine().deploy_document(xml, f"{key}.bpmn", key, current_user, note, _dmn_files())
    except (InvalidData, DefinitionError) as exc:
        problems = getattr(exc, "problems", None) or [None]
        if from_modeler:
            return jsonify(problems=[{"element": getattr(p, "element", None), "message": str(getattr(p, "message", exc))}
                                     for p in problems]), 400
        flash(str(getattr(exc, "message", exc)), "danger")
        return redirect(url_for("admin.process", key=key))
    message = _l("Version %(version)s of %(name)s is deployed: new cases start on it.",
                 version=definition.version, name=definition.name)
    if from_modeler:
        return jsonify(version=definition.version, message=str(message)), 201
    flash(message, "success")
    return redirect(url_for("admin.process", key=key))
