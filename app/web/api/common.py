"""What the API's blueprints share: the bearer token, reading JSON, and the JSON of what they return."""
import re
from datetime import datetime
from functools import wraps

from flask import current_app, g, request
from flask_babel import lazy_gettext as _l

from app.calendar import clock
from app.engine import queries
from app.engine.models import OPEN, Event, Instance, Task
from app.errors import AppError, InvalidData
from app.web import refuse_changes_by_reviewers
from app.web.api.contract import (
    INTEGER,
    MOMENT,
    OBJECT,
    STRING,
    array,
    component,
    nullable,
    obj,
)
from app.web.operation_forms import from_json


class Unauthorized(AppError):
    status, code = 401, "unauthorized"


def token_required(view):
    @wraps(view)
    def wrapper(*args, **kwargs):
        header = request.headers.get("Authorization", "")
        scheme, _, token = header.partition(" ")
        accounts = current_app.extensions["accounts"]
        user = accounts.user_for_token(token.strip(), clock.now()) if scheme.lower() == "bearer" else None
        if user is None:
            raise Unauthorized(_l("A valid bearer token is required."))
        g.api_user = user
        refuse_changes_by_reviewers(user)
        return view(*args, **kwargs)
    wrapper.requires_token = True  # the OpenAPI document's security and 401 (app/web/api/openapi.py)
    return wrapper


def json_body() -> dict:
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        raise InvalidData(_l("The request body must be a JSON object."))
    return body


def checked(form_class, **kwargs):
    """An operation's form over the JSON body; field errors become a 400."""
    form = from_json(form_class, json_body(), **kwargs)
    if not form.validate():
        raise InvalidData(_l("Some fields are not valid."), form.errors)
    return form


def iso(moment):
    return moment.isoformat() if moment else None


# A field of a form, as `forms.describe` (a form of the code) or `forms.drawn.describe` (a drawn form) gives it.
FIELD = {"type": "object", "description": "A field of the form: name, type, label, required, and its choices, "
                                          "min, max and items (a row's fields) where it has them.",
         "required": ["name", "type", "label", "required"]}
DRAWN_SCHEMA = {**nullable(OBJECT), "description": "The form-js schema of a drawn form (form key "
                                                   "`camunda-forms:deployment:<form id>`); null for a form of the code."}
NAME = nullable(STRING)
TASK_PROPERTIES = {
    "id": INTEGER, "name": STRING, "process_key": STRING, "instance_id": INTEGER,
    "form_key": nullable(STRING), "state": {"type": "string", "description": "open, completed, cancelled …"},
    "assignee": {**NAME, "description": "User name; null while the task waits for its group to claim it."},
    "candidate_role": NAME, "candidate_org_unit_id": nullable(INTEGER), "due_at": MOMENT, "created_at": MOMENT,
}
TASK = component("Task", obj(TASK_PROPERTIES, examples=[{"id": 1, "name": "属地销售代表同意", "process_key": "dossier_borrowing", "instance_id": 1,
              "form_key": "dossier_consent", "state": "open", "assignee": "rep_e1", "candidate_role": None,
              "candidate_org_unit_id": None, "due_at": "2026-12-05T02:00:00+00:00",
              "created_at": "2026-12-02T02:00:00+00:00"}]))


def task_json(task: Task) -> dict:
    return {"id": task.id, "name": task.name, "process_key": task.process_key, "instance_id": task.instance_id,
            "form_key": task.form_key, "state": task.state,
            "assignee": task.assignee.username if task.assignee else None,
            "candidate_role": task.candidate_role, "candidate_org_unit_id": task.candidate_org_unit_id,
            "due_at": iso(task.due_at), "created_at": iso(task.created_at)}


INSTANCE = component("Instance", obj({
    "id": INTEGER, "process_key": STRING, "version": INTEGER,
    "status": {"type": "string", "description": "running, completed, withdrawn, suspended, terminated …"},
    "outcome": NAME, "started_by": NAME, "started_at": MOMENT, "ended_at": MOMENT,
    "data": {**OBJECT, "description": "What the case was started with (the start form's data and derived facts)."},
    "tasks": {**array(TASK), "description": "Its open tasks."},
}, examples=[{"id": 1, "process_key": "dossier_borrowing", "version": 1, "status": "running", "outcome": None,
              "started_by": "rep_e2", "started_at": "2026-12-02T02:00:00+00:00", "ended_at": None,
              "data": {"customer_id": 1, "purpose": "拜访前了解客户合作历史", "days": 7}, "tasks": []}]))
PAGE = {"page": INTEGER, "pages": INTEGER, "total": INTEGER}
INSTANCE_PAGE = component("InstancePage", obj({"items": array(INSTANCE), **PAGE}))


def instance_json(instance: Instance, waiting: list[Task] | None = None) -> dict:
    """A case; `waiting`: its open tasks when the caller read them for a whole page (instances_json),
    else those the case's last operation left, or read now."""
    if waiting is None:
        waiting = [t for t in instance.live_tasks if t.state == OPEN]
    return {"id": instance.id, "process_key": instance.process_key, "version": instance.definition.version,
            "status": instance.status, "outcome": instance.outcome,
            "started_by": instance.started_by.username if instance.started_by else None,
            "started_at": iso(instance.started_at), "ended_at": iso(instance.ended_at),
            "data": instance.start_data,
            "tasks": [task_json(t) for t in waiting]}


def instances_json(instances: list[Instance]) -> list[dict]:
    """A page of cases, their open tasks (with their people) read in one query."""
    waiting = queries.open_tasks_of([instance.id for instance in instances])
    return [instance_json(instance, waiting[instance.id]) for instance in instances]


EVENT = component("Event", obj({
    "id": INTEGER, "type": STRING, "actor": NAME, "at": MOMENT, "task": nullable(INTEGER), "data": OBJECT,
}, examples=[{"id": 7, "type": "instance_started", "actor": "rep_e2", "at": "2026-12-02T02:00:00+00:00",
              "task": None, "data": {}}]))


def event_json(event: Event) -> dict:
    return {"id": event.id, "type": event.type, "actor": event.actor.username if event.actor else None,
            "at": iso(event.at), "task": event.task_id, "data": event.data}


def date_time_arg(name: str, errors: dict):
    """An ISO 8601 date-time with offset from the query string (None if absent); problems go to `errors`."""
    value = request.args.get(name, "").strip()
    if not value:
        return None
    # An unencoded "+08:00" arrives as " 08:00": a query string turns "+" into a space.
    value = re.sub(r" (\d\d(:?\d\d)?)$", r"+\1", value)
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        moment = None
    if moment is None or moment.tzinfo is None:
        errors[name] = [_l("Not an ISO 8601 date-time with offset, e.g. 2026-01-01T00:00:00+08:00.")]
        return None
    return moment


def int_arg(name: str, errors: dict, default: int | None = None):
    value = request.args.get(name, "").strip()
    if not value:
        return default
    try:
        return int(value)
    except ValueError:
        errors[name] = [_l("Must be a whole number.")]
        return default
