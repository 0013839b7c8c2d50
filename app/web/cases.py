"""Filing requests, following my requests, and the case page."""
from flask import Blueprint, Response, abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required

from app.calendar import clock
from app.engine import attachments, definitions, queries
from app.engine.plugins import ADMINISTER, ATTACH, START, WITHDRAW
from app.errors import Conflict, InvalidData
from app.read import timeline
from app.web import drawn_forms, engine, policy
from app.web.files import send_attachment
from app.web.operation_forms import CopyForm, ReasonForm, UrgeForm
from forms import build_form, drawn, drawn_schema, for_display, form_data, uploaded_files

bp = Blueprint("cases", __name__)


@bp.route("/requests")
@login_required
def my_requests():
    page = queries.my_requests_page(current_user, request.args.get("page", 1, type=int),
                                    current_app.config["PAGE_SIZE"])
    waiting = queries.open_tasks_of([i.id for i in page.items])
    refusals = {i.id: queries.last_refusal(i) for i in page.items if i.outcome == "rejected"}
    return render_template("cases/my_requests.html", page=page, waiting=waiting, refusals=refusals)


@bp.route("/requests/new")
@login_required
def startable():
    processes = [d for d in definitions.latest_definitions()
                 if d.start_form_key and policy().may(current_user, START, d)]
    return render_template("cases/startable.html", processes=processes)


@bp.route("/requests/new/<key>", methods=["GET", "POST"])
@login_required
def new_request(key: str):
    definition = definitions.latest_definition(key)
    if definition is None or not definition.start_form_key:
        abort(404)
    policy().require(current_user, START, definition)
    drawn_form = drawn_forms.page_form(definition.start_form_key, definition=definition)
    if drawn_form is not None:
        return _new_drawn_request(key, definition, drawn_form)
    form = build_form(definition.start_form_key)
    if request.method == "GET" and request.args.get("customer_id", type=int) and hasattr(form, "customer_id"):
        form.customer_id.data = request.args.get("customer_id", type=int)
    if form.validate_on_submit():
        files = uploaded_files(form)
        try:
            for name, content in files:  # refuse a bad file before anything is filed
                attachments.checked(name, content)
            instance = engine().cases.start(key, current_user, form_data(form))
            if files:
                engine().cases.attach(instance.id, current_user, files)
        except (InvalidData, Conflict) as exc:
            for name, messages in exc.fields.items():
                getattr(form, name).errors.extend(messages)
        else:
            flash(_l("Your request has been filed (case %(id)s).", id=instance.id), "success")
            return redirect(url_for("cases.case", instance_id=instance.id))
    status = 400 if request.method == "POST" else 200
    return render_template("cases/new_request.html", definition=definition,
                           form=for_display(form, current_user)), status


def _new_drawn_request(key: str, definition, form):
    """A request whose start form is drawn (app.web.drawn_forms): what was posted is kept on a refusal."""
    if form.validate_on_submit():
        try:
            data, files = drawn_forms.posted(form, current_user, definition=definition)
            instance = engine().cases.start(key, current_user, data)
            if files:  # the filepickers' files, as a code form's
                engine().cases.attach(instance.id, current_user, files)
        except (InvalidData, Conflict) as exc:
            if not form.drawn_problems:  # the flow's own refusal, after the form's check
                drawn_forms.refused(form, exc.fields, exc.message)
        else:
            flash(_l("Your request has been filed (case %(id)s).", id=instance.id), "success")
            return redirect(url_for("cases.case", instance_id=instance.id))
    status = 400 if request.method == "POST" else 200
    return render_template("cases/new_request.html", definition=definition, form=form,
                           drawn=drawn_forms.shown(form, current_user)), status


@bp.route("/cases/<int:instance_id>")
@login_required
def case(instance_id: int):
    instance = policy().visible_instance(current_user, instance_id)
    tasks = queries.tasks_of(instance)
    return render_template("cases/case.html", instance=instance, events=queries.events_of(instance),
                           tasks=tasks, refusal=queries.last_refusal(instance),
                           path=timeline.path(instance, clock.now()),
                           attachments=attachments.of_case(instance.id),
                           newest=(definitions.latest_definition(instance.process_key)
                                   if policy().may(current_user, ADMINISTER) else None),
                           may_attach=policy().may(current_user, ATTACH, instance),
                           may_withdraw=policy().may(current_user, WITHDRAW, instance) and engine().operations.withdrawable(instance),
                           withdraw_form=ReasonForm(), copy_form=CopyForm(), urge_form=UrgeForm(),
                           readers=queries.readers_of(instance))


@bp.app_context_processor
def inject_case_result():
    """For the pages of an ended case: the facts it leads with (_macros.html `case_result`); for a drawn
    form's data, what was filed by the form's labels (_macros.html `case_summary`, `history`)."""
    return {"result_of": lambda instance: engine().extensions.result_of(instance), "drawn_filed": drawn_filed}


def drawn_filed(form_key: str | None, data, definition, leave_out=()) -> list[tuple[str, object]]:
    """What was filed in a drawn form (`form_key` of the case's version `definition`) by its labels, but
    the keys `leave_out` (shown otherwise); [] for a form of the code, whose pages show what matters of it
    by themselves."""
    schema = drawn_schema(form_key, definition=definition) if isinstance(data, dict) else None
    if schema is None:
        return []
    return drawn.readable(schema, {key: value for key, value in data.items() if key not in leave_out})


@bp.route("/cases/<int:instance_id>/attachments", methods=["POST"])
@login_required
def attach(instance_id: int):
    files = [(f.filename, f.read()) for f in request.files.getlist("attachments") if f.filename]
    try:
        if not files:
            raise InvalidData(_l("Choose a file to attach."))
        added = engine().cases.attach(instance_id, current_user, files)
    except InvalidData as exc:
        flash(" ".join(str(m) for messages in exc.fields.values() for m in messages) or str(exc.message), "danger")
    else:
        flash(_l("%(count)s file(s) attached.", count=len(added)), "success")
    return redirect(url_for("cases.case", instance_id=instance_id))


@bp.route("/cases/<int:instance_id>/attachments/<int:attachment_id>")
@login_required
def attachment(instance_id: int, attachment_id: int):
    """A file of a case, to those who may see the case; always as a download."""
    policy().visible_instance(current_user, instance_id)
    return send_attachment(instance_id, attachment_id)


@bp.route("/cases/<int:instance_id>/diagram.bpmn")
@login_required
def diagram(instance_id: int):
    """The exact definition version the case runs on, for the diagram viewer."""
    instance = policy().visible_instance(current_user, instance_id)
    return Response(instance.definition.bpmn_xml, mimetype="application/xml")


@bp.route("/cases/<int:instance_id>/withdraw", methods=["POST"])
@login_required
def withdraw(instance_id: int):
    form = ReasonForm()
    if not form.validate_on_submit():
        flash(_l("Say why you withdraw the request."), "danger")
    else:
        engine().operations.withdraw(instance_id, current_user, form.reason.data.strip())
        flash(_l("Your request has been withdrawn."), "success")
    return redirect(url_for("cases.case", instance_id=instance_id))


@bp.route("/cases/<int:instance_id>/readers", methods=["POST"])
@login_required
def copy_to(instance_id: int):
    """Copy the case to readers (抄送): anyone who may see it may do so."""
    policy().visible_instance(current_user, instance_id)
    form = CopyForm()
    if not form.validate_on_submit():
        flash(" ".join(str(m) for messages in form.errors.values() for m in messages), "danger")
    else:
        try:
            added = engine().operations.copy_to(instance_id, current_user, form.readers.people, (form.note.data or "").strip())
        except InvalidData as exc:
            flash(exc.message, "danger")
        else:
            flash(_l("Copied to %(names)s.", names="、".join(p.display_name for p in added)), "success")
    return redirect(url_for("cases.case", instance_id=instance_id))


@bp.route("/copied")
@login_required
def copied():
    """Cases copied to me (抄送给我), read-only."""
    page = queries.copied_to(current_user, request.args.get("page", 1, type=int), current_app.config["PAGE_SIZE"])
    return render_template("cases/copied.html", page=page, waiting=queries.open_tasks_of([i.id for i in page.items]))
