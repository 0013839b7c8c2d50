"""The inbox and the task page: read the case, claim, decide, and the operations around a decision
(transfer, signers, send back, urge, batch approval)."""
from flask import Blueprint, current_app, flash, g, redirect, render_template, request, url_for
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required

from app.calendar import clock
from app.domain import org, visits
from app.engine import queries
from app.engine.models import STEP
from app.engine.plugins import ACT, CLAIM
from app.errors import AppError, InvalidData
from app.read import timeline
from app.web import drawn_forms, engine, policy
from app.web.operation_forms import BatchForm, SendBackForm, SignerForm, TransferForm, UrgeForm
from forms import DrawnPage, batch_approvable, for_display, form_data, problems, task_form, validated

bp = Blueprint("tasks", __name__)


@bp.app_context_processor
def inject_form_problems():
    """For the summary above every page's form that came back with errors (_macros.html `form_head`)."""
    return {"form_problems": problems}


@bp.route("/")
@login_required
def home():
    return redirect(url_for("tasks.inbox"))


@bp.route("/inbox")
@login_required
def inbox():
    page = queries.inbox_page(current_user, request.args.get("page", 1, type=int),
                              current_app.config["PAGE_SIZE"])
    g.inbox_waiting = page.total  # the top bar's count: already known, not counted again
    return render_template("tasks/inbox.html", page=page, batch_form_keys=batch_approvable(), batch_form=BatchForm(),
                           overdue_visits=visits.overdue_visits(current_user, clock.now()))


def _render_task(task, form, status=200, **operation_forms):
    if isinstance(form, DrawnPage) and "drawn" not in operation_forms:  # a drawn form's page
        operation_forms["drawn"] = drawn_forms.shown(form, current_user)
    instance = task.instance
    may_act = task.is_open and policy().may(current_user, ACT, task)
    operations = may_act and task.kind == STEP
    if operations:
        operation_forms.setdefault("transfer_form", TransferForm(prefix="transfer"))
        operation_forms.setdefault("signer_form", SignerForm(prefix="sign") if task.approval else None)
        operation_forms.setdefault("send_back_form", SendBackForm(prefix="back", targets=engine().operations.send_back_targets(task)))
    return render_template(
        "tasks/task.html", task=task, instance=instance, form=for_display(form, current_user),
        may_act=may_act, operations=operations, colleagues=org.colleagues(current_user) if operations else [],
        may_claim=task.is_open and task.assignee_id is None and policy().may(current_user, CLAIM, task),
        returned=queries.return_behind(task) if task.is_open else None,
        about=queries.task_about(task), events=queries.events_of(instance), tasks=queries.tasks_of(instance),
        path=timeline.path(instance, clock.now()), **operation_forms), status


def _operation(task_id: int, form, act, done_message, **render):
    """Run an operation from its form on the task page; on a refusal, show the page with the reason."""
    task = policy().visible_task(current_user, task_id)
    if form.validate_on_submit():
        try:
            act(task, form)
        except AppError as exc:
            for name, messages in exc.fields.items():
                if hasattr(form, name):
                    getattr(form, name).errors.extend(messages)
            if not exc.fields:
                flash(exc.message, "danger")
        else:
            flash(done_message, "success")
            return redirect(url_for("tasks.inbox"))
    return _render_task(task, _page_form(task), 400, **render)


def _page_form(task, prefill: dict | None = None):
    """The form of the task page: a drawn form's (app.web.drawn_forms, the data to show in `filled`), or
    the code's."""
    drawn_form = drawn_forms.page_form(task.form_key, task)
    if drawn_form is None:
        return task_form(task, prefill=prefill)
    drawn_form.filled = prefill or {}
    return drawn_form


def _decision(task, form) -> tuple[dict, list[tuple[str, bytes]]]:
    """The posted decision, checked by the task's form (drawn or of the code), and a drawn form's files
    for the case's attachments; InvalidData, with the fields' errors on `form`, when it is not valid (CSRF
    included)."""
    if not form.validate_on_submit():
        raise InvalidData(_l("Some fields are not valid."), {})
    if isinstance(form, DrawnPage):
        return drawn_forms.posted(form, current_user, task)
    return form_data(form), []


@bp.route("/tasks/<int:task_id>", methods=["GET", "POST"])
@login_required
def task(task_id: int):
    task = policy().visible_task(current_user, task_id)
    form = _page_form(task, prefill=queries.previous_submission(task) if request.method == "GET" else None)
    if request.method == "POST":
        try:
            decision, files = _decision(task, form)
        except InvalidData:
            return _render_task(task, form, 400)
        try:
            engine().cases.complete(task.id, current_user, decision)
            if files:  # a drawn form's filepickers'
                engine().cases.attach(task.instance_id, current_user, files)
        except InvalidData as exc:
            if isinstance(form, DrawnPage):
                drawn_forms.refused(form, exc.fields, exc.message)
            else:
                for name, messages in exc.fields.items():
                    getattr(form, name).errors.extend(messages)
            return _render_task(task, form, 400)
        flash(_l("Done: “%(name)s”.", name=task.name), "success")
        return redirect(url_for("tasks.inbox"))
    return _render_task(task, form)


@bp.route("/tasks/<int:task_id>/claim", methods=["POST"])
@login_required
def claim(task_id: int):
    engine().cases.claim(task_id, current_user)
    flash(_l("You have claimed this task; it is now yours to decide."), "success")
    return redirect(url_for("tasks.task", task_id=task_id))


@bp.route("/tasks/<int:task_id>/transfer", methods=["POST"])
@login_required
def transfer(task_id: int):
    form = TransferForm(prefix="transfer")
    return _operation(task_id, form, lambda task, f: engine().operations.transfer(task.id, current_user, f.to.person,
                                                                        f.comment.data.strip()),
                      _l("Handed on."), transfer_form=form)


@bp.route("/tasks/<int:task_id>/signers", methods=["POST"])
@login_required
def add_signer(task_id: int):
    """A signer before the approver; one after him comes with his decision (the task form)."""
    form = SignerForm(prefix="sign")

    def act(task, f):
        decision = None
        if f.position.data != "before_sign":
            try:
                decision, _files = _decision(task, _page_form(task))
            except InvalidData:
                raise InvalidData(_l("Decide first: the signer decides after you."),
                                  {"position": [_l("Decide first: the signer decides after you.")]}) from None
        engine().operations.add_signer(task.id, current_user, f.signer.person, f.position.data, f.comment.data or "",
                            decision)
    return _operation(task_id, form, act, _l("Signer added: the task waits for his opinion."), signer_form=form)


@bp.route("/tasks/<int:task_id>/send-back", methods=["POST"])
@login_required
def send_back(task_id: int):
    task = policy().visible_task(current_user, task_id)
    form = SendBackForm(prefix="back", targets=engine().operations.send_back_targets(task) if task.is_open else ())
    return _operation(task_id, form, lambda t, f: engine().operations.send_back(t.id, current_user, f.to.data,
                                                                      f.comment.data.strip()),
                      _l("Sent back."), send_back_form=form)


@bp.route("/tasks/<int:task_id>/urge", methods=["POST"])
@login_required
def urge(task_id: int):
    form = UrgeForm()
    task = policy().visible_task_of_case(current_user, task_id)
    if form.validate_on_submit():
        try:
            engine().operations.urge(task.id, current_user, (form.comment.data or "").strip())
        except AppError as exc:
            flash(exc.message, "danger")
        else:
            flash(_l("Urged: %(name)s has been told.", name=task.name), "success")
    return redirect(url_for("cases.case", instance_id=task.instance_id))


def approve_each(user, task_ids: list[int], comment: str) -> dict[int, str | None]:
    """Approve each task with the same comment, each validated by its own form and completed in its own
    transaction: one that fails (its reason is returned for it) does not stop the others."""
    results: dict[int, str | None] = {}
    for task_id in task_ids:
        try:
            task = policy().visible_task(user, task_id)
            try:  # by the task's form, drawn or of the code
                decision = validated(task.form_key, {"decision": "approve", "comment": comment}, task, user=user)
            except InvalidData:
                raise InvalidData(_l("This task needs its own form: open it to decide.")) from None
            engine().cases.complete(task.id, user, decision)
            results[task_id] = None
        except AppError as exc:
            results[task_id] = str(exc.message)
    return results


@bp.route("/inbox/approve", methods=["POST"])
@login_required
def approve_many():
    """Approve the chosen tasks with one comment; each on its own."""
    form = BatchForm()
    if not form.validate_on_submit():
        flash(" ".join(str(m) for messages in form.errors.values() for m in messages), "danger")
        return redirect(url_for("tasks.inbox"))
    results = approve_each(current_user, form.tasks.data, (form.comment.data or "").strip())
    failed = {task_id: why for task_id, why in results.items() if why}
    if len(failed) < len(results):
        flash(_l("%(count)s task(s) approved.", count=len(results) - len(failed)), "success")
    for task_id, why in failed.items():
        flash(_l("Task %(id)s: %(why)s", id=task_id, why=why), "danger")
    return redirect(url_for("tasks.inbox"))
