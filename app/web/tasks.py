"""The inbox and the task page: read the case, claim, decide."""
from flask import Blueprint, current_app, flash, g, redirect, render_template, request, url_for
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required

from app.engine import queries
from app.errors import InvalidData
from app.web import engine
from forms import for_display, form_data, task_form

bp = Blueprint("tasks", __name__)


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
    return render_template("tasks/inbox.html", page=page)


def _render_task(task, form, status=200):
    instance = task.instance
    return render_template(
        "tasks/task.html", task=task, instance=instance, form=for_display(form, current_user),
        may_act=task.is_open and task.assignee_id == current_user.id,
        may_claim=task.is_open and task.assignee_id is None and task.is_offered_to(current_user),
        returned=queries.return_behind(task) if task.is_open else None,
        events=queries.events_of(instance), tasks=queries.tasks_of(instance)), status


@bp.route("/tasks/<int:task_id>", methods=["GET", "POST"])
@login_required
def task(task_id: int):
    task = queries.visible_task(current_user, task_id)
    form = task_form(task)
    if request.method == "POST":
        if not form.validate_on_submit():
            return _render_task(task, form, 400)
        try:
            engine().complete(task.id, current_user, form_data(form))
        except InvalidData as exc:
            for name, messages in exc.fields.items():
                getattr(form, name).errors.extend(messages)
            return _render_task(task, form, 400)
        flash(_l("Done: “%(name)s”.", name=task.name), "success")
        return redirect(url_for("tasks.inbox"))
    return _render_task(task, form)


@bp.route("/tasks/<int:task_id>/claim", methods=["POST"])
@login_required
def claim(task_id: int):
    engine().claim(task_id, current_user)
    flash(_l("You have claimed this task; it is now yours to decide."), "success")
    return redirect(url_for("tasks.task", task_id=task_id))
