"""Process administration: the processes and their versions, the modeler, validation, deployment,
downloads and the difference between versions, the approval of a sensitive process's pending version
(maker–checker); running cases (suspend, resume, terminate, reassign); incidents (retry with corrected
data, or close).
Process administrators only; compliance reviewers see the processes and their versions, and approve or
reject a pending version."""
import json
from pathlib import Path
from string import Template
from xml.sax.saxutils import escape

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
from flask_wtf import FlaskForm
from sqlalchemy import select
from wtforms import BooleanField, SelectMultipleField, StringField
from wtforms.validators import DataRequired, Length

from app import db, labels
from app.calendar import clock
from app.domain.org import OrgUnit, Role, User
from app.engine import definitions, queries
from app.engine.definitions import DefinitionError, Problem
from app.engine.models import STATUSES, DrawnProcess, Task
from app.engine.plugins import ADMINISTER, APPROVE_VERSION
from app.errors import Conflict, DefinitionFault, InvalidData, NotFound
from app.policy import REVIEW
from app.read import case_search
from app.read.case_search import CaseFilter
from app.web import date_arg, engine, in_words, policy

bp = Blueprint("admin", __name__, url_prefix="/admin")


# What compliance reviewers reach here besides process administrators: the processes and their versions,
# to judge a pending version against the one in force and approve or reject it (maker–checker).
OPEN_TO_REVIEWERS = {"admin.processes", "admin.process", "admin.diff", "admin.download", "admin.review_version"}


@bp.before_request
@login_required
def only_administrators():
    if request.endpoint in OPEN_TO_REVIEWERS and policy().may(current_user, REVIEW):
        return
    policy().require(current_user, ADMINISTER)


def _process(key: str):
    latest = definitions.latest_definition(key)
    if latest is None:
        raise NotFound(_l("No such process."))
    return latest


def _dmn_files(latest) -> dict[str, str]:
    """Where a process's decisions come from: the tables its newest version uses (edited here, maybe),
    and the .dmn files of processes/ for any it starts to use."""
    return {**definitions.dmn_files(current_app.config["PROCESSES_DIR"]), **latest.dmn_xml}


def _forms(latest, body: dict | None = None) -> dict[str, dict]:
    """The drawn forms a document's steps may name: those the JSON body gives (`forms`: a list of form-js
    schemas, each named by its `id`, or an object of them by form id; the modeler posts every form of the
    process, so what it gives is what the version may have), else, like DMN tables, the forms of the
    version in force and the .form files of processes/ for any it starts to use. DefinitionError for a
    body's forms that are not forms."""
    if body is not None and body.get("forms") is not None:
        return definitions.offered_forms(body["forms"])
    return {**definitions.form_files(current_app.config["PROCESSES_DIR"]), **latest.form_schemas}


def _uploaded_form(upload, latest) -> tuple[str, dict] | None:
    """An uploaded .form file replacing a drawn form the process uses: (its id, its schema); None if the
    process uses no form of that id. DefinitionError if it is not a form."""
    try:
        schema = json.loads(upload.read().decode("utf-8", errors="replace"))
    except ValueError as exc:
        raise DefinitionError(f"{Path(upload.filename).name}: not a JSON document: {exc}") from exc
    ((form_id, found),) = definitions.offered_forms([schema], Path(upload.filename).name).items()
    return (form_id, found) if form_id in latest.form_schemas else None


def _problems_json(problems) -> list[dict]:
    return [{"element": p.element, "message": p.message} for p in problems]


@bp.route("/processes")
def processes():
    return render_template("admin/processes.html", processes=definitions.latest_definitions(),
                           pending=definitions.pending_versions(), running=queries.running_cases_by_process(),
                           administers=policy().may(current_user, ADMINISTER))


class NewProcessForm(FlaskForm):
    key = StringField(_l("Key"), validators=[DataRequired(), Length(max=60)],
                      description=_l("The process's id in its BPMN, file names and addresses: lowercase letters, "
                                     "digits and _, e.g. sample_request. It never changes."))
    name = StringField(_l("Name"), validators=[DataRequired(), Length(max=200)])
    starter_roles = SelectMultipleField(_l("Who may open cases: roles"), choices=[],
                                        description=_l("None chosen: anyone."))
    starter_units = SelectMultipleField(_l("Who may open cases: org units"), choices=[],
                                        description=_l("People of these units and the units under them; none "
                                                       "chosen: anywhere."))
    sensitive = BooleanField(_l("Sensitive: every later version needs a second person's approval"))

    def fill_choices(self) -> "NewProcessForm":
        self.starter_roles.choices = [(code, labels.label(labels.ROLES, code))
                                      for code in db.session.scalars(select(Role.code).order_by(Role.code))]
        self.starter_units.choices = [(unit.code, f"{unit.name} ({unit.code})")
                                      for unit in db.session.scalars(select(OrgUnit).order_by(OrgUnit.code))]
        return self


def _new_process_template(key: str, name: str) -> tuple[str, dict[str, dict]]:
    """The first version of a new process: processes/templates/ (a request, one approval, an end for each
    decision) with its key and name, and its two drawn forms."""
    folder = Path(current_app.config["PROCESSES_DIR"]) / "templates"
    xml = Template((folder / "new_process.bpmn").read_text(encoding="utf-8")).substitute(
        key=key, name=escape(name, {'"': "&quot;"}))
    forms = [json.loads(Template((folder / f"new_process_{part}.form").read_text(encoding="utf-8")).substitute(key=key))
             for part in ("request", "decision")]
    return xml, {form["id"]: form for form in forms}


@bp.route("/new-process", methods=["GET", "POST"])  # not under /processes/: no key can take its address
def new_process():
    """A new process, to be drawn: its declaration, and a first version from the template, which the
    modeler opens next."""
    form = NewProcessForm().fill_choices()
    if form.validate_on_submit():
        key = form.key.data.strip()
        declaration = DrawnProcess(key=key, name=form.name.data.strip(), starter_roles=form.starter_roles.data,
                                   starter_units=form.starter_units.data, sensitive=form.sensitive.data)
        xml, forms = _new_process_template(key, declaration.name)
        try:
            engine().deployment.declare(declaration, xml, forms, current_user, str(_l("New process, from the template")))
        except InvalidData as exc:
            for field, messages in exc.fields.items():
                getattr(form, field).errors = list(getattr(form, field).errors) + list(messages)
        else:
            flash(_l("%(name)s is created from the template: draw its steps and forms, then deploy.",
                     name=declaration.name), "success")
            return redirect(url_for("admin.modeler", key=key))
    return render_template("admin/new_process.html", form=form)


@bp.route("/processes/<key>")
def process(key: str):
    """The process's versions; a pending one with its changes against the version in force, to approve or
    reject (by a second person)."""
    latest = _process(key)
    pending = definitions.pending_version(key)
    return render_template("admin/process.html", latest=latest, versions=definitions.versions(key),
                           running=queries.running_cases_by_version(key), pending=pending,
                           pending_diff=definitions.diff(latest, pending) if pending else None,
                           why_not_review=policy().why_not(current_user, APPROVE_VERSION, pending) if pending else None,
                           administers=policy().may(current_user, ADMINISTER))


@bp.route("/processes/<key>/v<int:number>/review", methods=["POST"])
def review_version(key: str, number: int):
    """Maker–checker: a second person approves the pending version (it takes effect) or rejects it with a
    reason (the version in force stays). The one change compliance reviewers may make."""
    definition = definitions.version(key, number)
    if definition is None:
        raise NotFound(_l("No such version."))
    decision = request.form.get("decision")
    if decision not in ("approve", "reject"):
        raise InvalidData(_l("Approve or reject the version."), {"decision": [_l("Approve or reject the version.")]})
    policy().require(current_user, APPROVE_VERSION, definition)
    try:
        if decision == "approve":
            engine().deployment.approve(definition.id, current_user)
            flash(_l("Version %(version)s of %(name)s is approved: new cases start on it.",
                     version=definition.version, name=definition.name), "success")
        else:
            engine().deployment.reject(definition.id, current_user, request.form.get("reason", ""))
            current = definitions.latest_definition(key)
            flash(_l("Version %(version)s of %(name)s is rejected: version %(current)s stays in force.",
                     version=definition.version, name=definition.name,
                     current=current.version if current else "—"), "success")
    except (InvalidData, Conflict) as exc:
        flash(in_words(exc), "danger")
    return redirect(url_for("admin.process", key=key))


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
    """bpmn-js on the newest version, with its drawn forms (form-js's editor): what the choices' data
    sources may name (roles, org units) is listed beside the forms."""
    latest = _process(key)
    roles = [(code, labels.label(labels.ROLES, code)) for code in db.session.scalars(select(Role.code).order_by(Role.code))]
    units = [(unit.code, unit.name) for unit in db.session.scalars(select(OrgUnit).order_by(OrgUnit.code))]
    return render_template("admin/modeler.html", latest=latest, forms=latest.form_schemas or {}, roles=roles,
                           units=units)


@bp.route("/processes/<key>/decisions/<file_name>")
def decision_editor(key: str, file_name: str):
    """dmn-js on a decision table the newest version uses; deploying makes a new version of the process."""
    latest = _process(key)
    if file_name not in latest.dmn_xml:
        raise NotFound(_l("This process uses no such decision table."))
    return render_template("admin/decision.html", latest=latest, file_name=file_name)


@bp.route("/processes/<key>/decisions/<file_name>.xml")
def decision_xml(key: str, file_name: str):
    latest = _process(key)
    if file_name not in latest.dmn_xml:
        raise NotFound(_l("This process uses no such decision table."))
    return Response(latest.dmn_xml[file_name], mimetype="application/xml",
                    headers={"Content-Disposition": f"attachment; filename={file_name}"})


@bp.route("/processes/<key>/check", methods=["POST"])
def check(key: str):
    """The modeler's Validate: problems by element, nothing saved. The JSON body: `xml`, and the drawn forms
    (`forms`, see `_forms`)."""
    latest = _process(key)
    body = request.get_json(silent=True) or {}
    try:
        problems = engine().deployment.check_document(body.get("xml", ""), f"{key}.bpmn", key, _dmn_files(latest),
                                                      forms=_forms(latest, body))
    except DefinitionError as exc:
        problems = exc.problems
    return jsonify(problems=_problems_json(problems))


@bp.route("/processes/<key>/deploy", methods=["POST"])
def deploy(key: str):
    """Deploy a new version, from the modeler (JSON) or an uploaded file (form), with a change note.
    The JSON: `xml`, `change_note`, and the drawn forms (`forms`, see `_forms`); from the decision table
    editor, it names the DMN file it changed (`dmn_file`, `dmn`) instead of `xml`. An upload is a .bpmn
    file, or a .dmn or .form file replacing a decision table or drawn form the process uses."""
    latest = _process(key)
    dmn_files = _dmn_files(latest)
    from_modeler = request.is_json
    try:
        if from_modeler:
            body = request.get_json(silent=True) or {}
            xml, note, forms = body.get("xml", ""), (body.get("change_note") or "").strip(), _forms(latest, body)
            if body.get("dmn_file") in latest.dmn_xml:
                xml, dmn_files = latest.bpmn_xml, {**dmn_files, body["dmn_file"]: body.get("dmn", "")}
        else:
            upload, forms = request.files.get("file"), _forms(latest)
            note = request.form.get("change_note", "").strip()
            if upload and upload.filename.lower().endswith(".form"):  # a drawn form of this process
                replaced = _uploaded_form(upload, latest)
                if replaced is None:
                    flash(_l("This process uses no such form."), "danger")
                    return redirect(url_for("admin.process", key=key))
                xml, forms = latest.bpmn_xml, {**forms, replaced[0]: replaced[1]}
            else:
                xml = upload.read().decode("utf-8", errors="replace") if upload and upload.filename else ""
                if upload and upload.filename.lower().endswith(".dmn"):  # a decision table of this process
                    if Path(upload.filename).name not in latest.dmn_xml:
                        flash(_l("This process uses no such decision table."), "danger")
                        return redirect(url_for("admin.process", key=key))
                    xml, dmn_files = latest.bpmn_xml, {**dmn_files, Path(upload.filename).name: xml}
        if not xml:
            raise InvalidData(_l("Choose a .bpmn file."), {"file": [_l("Choose a .bpmn file.")]})
        if not note:
            raise InvalidData(_l("Say what changed: the note stays with the version."),
                              {"change_note": [_l("Say what changed: the note stays with the version.")]})
        definition = engine().deployment.deploy_document(xml, f"{key}.bpmn", key, current_user, note, dmn_files,
                                                         forms=forms)
    except (InvalidData, DefinitionError, Conflict) as exc:
        problems = exc.problems if isinstance(exc, DefinitionError) else [Problem(None, str(exc.message))]
        if from_modeler:
            status = 409 if isinstance(exc, Conflict) else 400
            return jsonify(problems=_problems_json(problems)), status
        flash("; ".join(map(str, problems)), "danger")
        return redirect(url_for("admin.process", key=key))
    if definition.is_pending:
        message = _l("Version %(version)s of %(name)s is deployed and waits for approval by another process "
                     "administrator or a compliance reviewer; until then new cases start on version %(current)s.",
                     version=definition.version, name=definition.name, current=latest.version)
    else:
        message = _l("Version %(version)s of %(name)s is deployed: new cases start on it.",
                     version=definition.version, name=definition.name)
    if from_modeler:
        return jsonify(version=definition.version, pending=definition.is_pending, message=str(message)), 201
    flash(message, "success")
    return redirect(url_for("admin.process", key=key))


@bp.route("/processes/<key>/cases")
def cases(key: str):
    """The process's cases, filtered by version, status, start date (company days) and initiator."""
    latest = _process(key)
    status = request.args.get("status") or None
    if status not in (None, *STATUSES):
        raise InvalidData(_l("Unknown status."), {"status": [_l("Unknown status.")]})
    since, until = date_arg("since"), date_arg("until")
    wanted = CaseFilter(process_key=key, version=request.args.get("version", type=int), status=status,
                        since=since, until=until, initiator=request.args.get("initiator", "").strip() or None)
    page = case_search.page(current_user, wanted, clock.now(), request.args.get("page", 1, type=int),
                            current_app.config["PAGE_SIZE"])
    return render_template("admin/cases.html", latest=latest, versions=definitions.versions(key), page=page,
                           waiting=queries.open_tasks_of([i.id for i in page.items]), statuses=STATUSES,
                           args=request.args)


DONE_MESSAGES = {"suspend": _l("The case is suspended."), "resume": _l("The case goes on."),
                 "terminate": _l("The case is terminated."),
                 "migrate": _l("The case runs on the newest version now.")}


@bp.route("/cases/<int:instance_id>/<action>", methods=["POST"])
def administer(instance_id: int, action: str):
    if action not in DONE_MESSAGES:
        raise NotFound(_l("No such action."))
    try:
        getattr(engine().admin, action)(instance_id, current_user, request.form.get("reason", ""))
    except (InvalidData, Conflict) as exc:
        flash(str(exc.message), "danger")
    else:
        flash(DONE_MESSAGES[action], "success")
    return redirect(url_for("cases.case", instance_id=instance_id))


@bp.route("/processes/<key>/migrate", methods=["POST"])
def migrate(key: str):
    """Move the chosen running cases onto the newest version, each on its own; say which could not."""
    _process(key)
    moved, refused = [], []
    for instance_id in request.form.getlist("case", type=int):
        try:
            engine().admin.migrate(instance_id, current_user, request.form.get("reason", ""))
            moved.append(instance_id)
        except (InvalidData, Conflict, NotFound) as exc:
            refused.append(f"#{instance_id}: {exc.message}")
    if moved:
        flash(_l("Moved to the newest version: %(cases)s.", cases=", ".join(f"#{i}" for i in moved)), "success")
    for message in refused:
        flash(message, "danger")
    return redirect(url_for("admin.cases", key=key))


@bp.route("/tasks/<int:task_id>/reassign", methods=["POST"])
def reassign(task_id: int):
    task = db.session.get(Task, task_id)
    if task is None:
        raise NotFound(_l("No such task."))
    person = db.session.scalar(select(User).where(User.username == request.form.get("assignee", "").strip()))
    try:
        if person is None:
            raise InvalidData(_l("No such person."), {"assignee": [_l("No such person.")]})
        engine().admin.reassign(task_id, current_user, person, request.form.get("reason", ""))
    except (InvalidData, Conflict) as exc:
        flash(str(exc.message), "danger")
    else:
        flash(_l("“%(task)s” now waits for %(name)s.", task=task.name, name=person.display_name), "success")
    return redirect(url_for("cases.case", instance_id=task.instance_id))


@bp.route("/incidents")
def incidents():
    return render_template("admin/incidents.html", open_incidents=queries.incidents(resolved=False),
                           resolved=queries.incidents(resolved=True, limit=50))


@bp.route("/incidents/<int:incident_id>/retry", methods=["POST"])
def retry_incident(incident_id: int):
    """Run the failed step again, with the data as corrected on the page."""
    try:
        data = json.loads(request.form.get("data", ""))
        if not isinstance(data, dict):
            raise ValueError
    except ValueError:
        flash(_l("The data must be a JSON object."), "danger")
        return redirect(url_for("admin.incidents"))
    try:
        engine().admin.retry_incident(incident_id, current_user, data)
    except (InvalidData, Conflict, DefinitionFault) as exc:
        flash(in_words(exc), "danger")
    else:
        flash(_l("Incident %(id)s is resolved.", id=incident_id), "success")
    return redirect(url_for("admin.incidents"))


@bp.route("/incidents/<int:incident_id>/close", methods=["POST"])
def close_incident(incident_id: int):
    try:
        engine().admin.close_incident(incident_id, current_user, request.form.get("note", ""))
    except (InvalidData, Conflict) as exc:
        flash(str(exc.message), "danger")
    else:
        flash(_l("Incident %(id)s is closed.", id=incident_id), "success")
    return redirect(url_for("admin.incidents"))
