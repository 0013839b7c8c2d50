"""GET /api/v1/openapi.json: the API as an OpenAPI 3.1 document, built with apispec from the app's routes,
the declarations next to them (`@operation`, see contract.py), the views' docstrings and the forms the
views bind; built once per app, in English. GET /api/v1/docs: Swagger UI over it."""
import inspect
import re
import sys
from dataclasses import dataclass

from apispec import APISpec
from flask import Blueprint, current_app, jsonify, render_template
from flask_babel import force_locale

from app.web.api.contract import (
    COMPONENTS,
    FORM_COMPONENTS,
    OBJECT,
    STRING,
    Example,
    Operation,
    Param,
    form_ref,
    obj,
    operation,
    ref,
)
from app.web.api.form_schema import field_schema, form_schema
from forms import FORMS, NOT_DATA

bp = Blueprint("openapi", __name__)

PREFIX = "/api/v1"
BEARER = "bearerToken"
DESCRIPTION = """The JSON API of the customer approvals system: the same rules as the pages.

Sign in with `POST /tokens {username, password}`; every other call sends the token it answers as
`Authorization: Bearer <token>` (no CSRF token; a token lasts `API_TOKEN_HOURS`, 12 hours by default).
Moments are ISO 8601 with an offset; "company time" is Asia/Shanghai. Every error answers
`{"error": {"code", "message", "fields"}}` with its status; `fields` maps each field to its messages
(a list of rows keeps each row's messages by field), and `message` is in the user's language."""


@dataclass(frozen=True)
class ErrorStatus:
    code: str
    description: str


ERRORS = {
    400: ErrorStatus("invalid", "Not valid: the body is not a JSON object, or `fields` says what is wrong "
                                "with each field."),
    401: ErrorStatus("unauthorized", "No valid bearer token (or, for `POST /tokens`, a wrong user name or "
                                     "password)."),
    403: ErrorStatus("forbidden", "The user may not do this (compliance reviewers change nothing)."),
    404: ErrorStatus("not_found", "No such thing (or no such action)."),
    409: ErrorStatus("conflict", "Not possible in its present state, or changed by someone else first."),
    422: ErrorStatus("definition_fault", "The process definition failed at run time (`definition_fault`, an "
                                         "incident is recorded) or nobody can be assigned (`unassignable`)."),
    429: ErrorStatus("too_many_requests", "Too many failed sign-ins: wait a few minutes."),
}
ERROR = obj({"error": obj({
    "code": STRING,
    "message": STRING,
    "fields": {"type": "object", "description": "Field name -> its messages (a list of strings; for a list of "
                                                "rows, a list of each row's messages by field)."},
})})
PATH_WORDS = {"instance_id": "The case's id.", "task_id": "The task's id.", "customer_id": "The customer's id.",
              "attachment_id": "The file's id.", "incident_id": "The incident's id.",
              "key": "The process key (`GET /processes`).", "action": "What to do."}
RULE_ARGUMENT = re.compile(r"<(?:(\w+):)?(\w+)>")


@bp.route("/openapi.json")
@operation(summary="This document", responses={200: ("The OpenAPI 3.1 document.", OBJECT)},
           examples=(Example("document", "The document, without a token", None, 200),))
def openapi_document():
    """The API as an OpenAPI 3.1 document, generated from the routes and forms; no token needed."""
    if "openapi" not in current_app.extensions:
        with force_locale("en"):
            current_app.extensions["openapi"] = build_document(current_app)
    return jsonify(current_app.extensions["openapi"])


@bp.route("/docs")
@operation(summary="Browsable reference", responses={200: ("Swagger UI over this document.", STRING, "text/html")},
           examples=(Example("page", "The page, without a token", None, 200),))
def docs_page():
    """The reference as a page (Swagger UI); no token needed to read it."""
    return render_template("api/docs.html")


def build_document(app) -> dict:
    spec = APISpec(title="Customer approvals API", version="1", openapi_version="3.1.0",
                   info={"description": DESCRIPTION}, servers=[{"url": PREFIX}])
    spec.components.security_scheme(BEARER, {
        "type": "http", "scheme": "bearer", "bearerFormat": "opaque",
        "description": "A token from `POST /tokens`, sent as `Authorization: Bearer <token>`."})
    tags = {}
    for rule in sorted(app.url_map.iter_rules(), key=lambda r: r.rule):
        if not rule.endpoint.startswith("api."):
            continue
        view = app.view_functions[rule.endpoint]
        tag = rule.endpoint.split(".")[1]
        tags.setdefault(tag, (sys.modules[view.__module__].__doc__ or "").strip().split("\n")[0])
        methods = sorted(rule.methods - {"HEAD", "OPTIONS"})
        spec.path(path=_path(rule.rule), operations={
            method.lower(): _operation(rule, method, view, tag, several=len(methods) > 1) for method in methods})
    for name, description in tags.items():
        spec.tag({"name": name, "description": description})
    spec.components.schema("Error", ERROR)
    spec.components.schema("FormData", form_data_schema())
    for name, (form_class, partial) in sorted(FORM_COMPONENTS.items()):
        schema = {**form_schema(_blank(form_class)), "title": form_class.__name__}
        if partial:
            schema.pop("required", None)
        spec.components.schema(name, schema)
    for name, schema in sorted(COMPONENTS.items()):
        spec.components.schema(name, schema)
    return spec.to_dict()


def form_data_schema() -> dict:
    """`data` of a start or a completion: the fields of the form the process (`start_form_key`) or the
    task (`form_key`) names."""
    drawn = {"type": "object", "title": "camunda-forms:deployment:<form id>",
             "description": "A drawn form's data: its fields by key (`GET /processes/{key}/start-form`, `GET "
                            "/tasks/{task_id}` list them, with the form-js schema); what it lacks is not kept."}
    return {"description": "The fields of the form named by the process's `start_form_key` (`GET /processes`) "
                           "or the task's `form_key` (`GET /tasks/{task_id}` lists its `fields`).",
            "anyOf": [*({**form_ref(FORMS[key]), "title": key} for key in sorted(FORMS)), drawn]}


def _blank(form_class):
    """The form as the API binds it, with nothing filled in: choices set by its constructor are there."""
    return form_class(formdata=None, meta={"csrf": False})


def _path(rule: str) -> str:
    return RULE_ARGUMENT.sub(r"{\2}", rule.removeprefix(PREFIX))


def _operation(rule, method: str, view, tag: str, several: bool) -> dict:
    declarations = getattr(view, "openapi", {})
    declared: Operation | None = declarations.get(method) or declarations.get(None)
    if declared is None:
        raise LookupError(f"{method} {rule.rule} has no @operation")
    needs_token = getattr(view, "requires_token", False)
    name = rule.endpoint.rsplit(".", 1)[1]
    result = {"operationId": f"{name}_{method.lower()}" if several else name, "tags": [tag],
              "summary": declared.summary, "description": inspect.getdoc(view) or "",
              "parameters": _path_parameters(rule, declared) + _query_parameters(declared.query),
              "responses": _responses(declared, needs_token, writes=method != "GET"),
              "security": [{BEARER: []}] if needs_token else []}
    if declared.body is not None:
        body = form_ref(declared.body) if isinstance(declared.body, type) else declared.body
        result["requestBody"] = {"required": True, "content": {declared.body_media_type: {"schema": body}}}
    _add_examples(result, declared, f"{method} {rule.rule}")
    return result


def _path_parameters(rule, declared: Operation) -> list[dict]:
    return [{"name": name, "in": "path", "required": True, "description": PATH_WORDS.get(name, ""),
             "schema": declared.path.get(name) or {"type": "integer" if converter == "int" else "string"}}
            for converter, name in RULE_ARGUMENT.findall(rule.rule)]


def _query_parameters(query) -> list[dict]:
    parameters = []
    for entry in query:
        if isinstance(entry, Param):
            parameters.append({"name": entry.name, "in": "query", "description": entry.description,
                               "schema": entry.schema})
        else:  # a form bound to the query string
            parameters += [{"name": name, "in": "query", "schema": field_schema(field)}
                           for name, field in _blank(entry)._fields.items() if field.type not in NOT_DATA]
    return parameters


def _responses(declared: Operation, needs_token: bool, writes: bool) -> dict:
    responses = {}
    for status, (description, schema, *media_type) in declared.responses.items():
        responses[str(status)] = {"description": description}
        if schema is not None:
            responses[str(status)]["content"] = {(media_type or ["application/json"])[0]: {"schema": schema}}
    # Behind a token: 401 without a valid one; and compliance reviewers' writes are 403.
    implied = {401, 403} if needs_token and writes else {401} if needs_token else set()
    for status in sorted({*declared.errors, *implied}):
        responses[str(status)] = {"description": ERRORS[status].description,
                                  "content": {"application/json": {"schema": ref("Error")}}}
    return responses


def _add_examples(result: dict, declared: Operation, where: str) -> None:
    """Each example's request parts where OpenAPI keeps them (the parameters', the body's), its answer
    under its status, and an index of them (`x-examples`: who sends each, and the status it gets)."""
    parameters = {(p["in"], p["name"]): p for p in result["parameters"]}
    for example in declared.examples:
        shown = {"summary": example.summary}
        if str(example.status) not in result["responses"]:
            raise LookupError(f"{where}: example {example.name!r} answers an undocumented {example.status}")
        for place, values in (("path", example.path), ("query", example.query)):
            for name, value in values.items():
                parameters[(place, name)].setdefault("examples", {})[example.name] = {**shown, "value": value}
        missing = [name for place, name in parameters if place == "path" and name not in example.path]
        if missing:
            raise LookupError(f"{where}: example {example.name!r} gives no {', '.join(missing)}")
        if example.body is not None:
            result["requestBody"]["content"][declared.body_media_type].setdefault("examples", {})[example.name] = \
                {**shown, "value": example.body}
        answer = example.response
        if answer is None and example.status in ERRORS:
            answer = {"error": {"code": ERRORS[example.status].code, "message": example.summary, "fields": {}}}
        if answer is not None:
            content = next(iter(result["responses"][str(example.status)]["content"].values()))
            content.setdefault("examples", {})[example.name] = {**shown, "value": answer}
    if declared.examples:
        result["x-examples"] = [{"name": e.name, "summary": e.summary, "user": e.user, "status": e.status}
                                for e in declared.examples]
