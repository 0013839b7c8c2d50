"""How the API's views describe themselves for the OpenAPI document (app/web/api/openapi.py builds it):
an `@operation(...)` next to each route (its summary, body, query, responses, errors and examples; the
view's docstring is its description), and the shapes of the answers beside the JSON they describe
(`component`).

Examples are sent to the app by tests/test_openapi.py, and tell one story on the demo data:
rep_e2 asks to borrow the dossier of customer 1 (HD-E1-001): case 1, waiting at rep_e1's consent, task 1,
with a PDF attached (attachment 1); and of customer 2: case 2, which rep_e1 consented to, now at the east
business department's consent, task 3, for biz_east to claim.
"""
from dataclasses import dataclass, field

SAMPLE_CASE, SAMPLE_TASK, SAMPLE_ATTACHMENT = 1, 1, 1
CLAIMABLE_CASE, CLAIMABLE_TASK = 2, 3
UNKNOWN_ID = 987654  # what no example's story has

# Component name -> JSON Schema, filled by `component` as the view modules are imported.
COMPONENTS: dict[str, dict] = {}
# Component name -> (the WTForms form class whose JSON Schema it is, whether its fields may be left out);
# built with the document.
FORM_COMPONENTS: dict[str, tuple[type, bool]] = {}


def component(name: str, schema: dict) -> dict:
    """Register a named schema; a reference to it."""
    COMPONENTS[name] = schema
    return ref(name)


def ref(name: str) -> dict:
    return {"$ref": f"#/components/schemas/{name}"}


def form_ref(form_class: type, partial: bool = False) -> dict:
    """A reference to the JSON Schema of a form's fields, named after the class; `partial`: none of them
    required (a body that changes only the fields it names)."""
    name = f"{form_class.__name__}Partial" if partial else form_class.__name__
    FORM_COMPONENTS[name] = (form_class, partial)
    return ref(name)


# The data of a start or task form: whichever form the process or task names (see openapi.form_data_schema).
FORM_DATA = ref("FormData")

STRING = {"type": "string"}
INTEGER = {"type": "integer"}
BOOLEAN = {"type": "boolean"}
OBJECT = {"type": "object"}
MOMENT = {"type": ["string", "null"], "format": "date-time"}
DAY = {"type": "string", "format": "date"}


def nullable(schema: dict) -> dict:
    return {"anyOf": [schema, {"type": "null"}]}


def array(items: dict) -> dict:
    return {"type": "array", "items": items}


def obj(properties: dict, optional: tuple = (), **more) -> dict:
    """An object with these properties and no others; all of them present unless `optional`."""
    required = [name for name in properties if name not in optional]
    return {"type": "object", "properties": properties, **({"required": required} if required else {}),
            "additionalProperties": False, **more}


def error(code: str, message: str, fields: dict | None = None) -> dict:
    """An error answer, as app/factory.py writes it."""
    return {"error": {"code": code, "message": message, "fields": fields or {}}}


@dataclass(frozen=True)
class Param:
    """A query-string parameter."""

    name: str
    schema: dict
    description: str = ""


@dataclass(frozen=True)
class Example:
    """A request and its answer. `user`: the demo user whose bearer token is sent (None: none). `path`:
    the path parameters (the story's ids, see above); `response`: the answer's body, when worth showing
    (an error's is shown from its code and message)."""

    name: str
    summary: str
    user: str | None
    status: int
    path: dict = field(default_factory=dict)
    query: dict = field(default_factory=dict)
    body: dict | None = None
    response: object = None


@dataclass(frozen=True)
class Operation:
    summary: str
    responses: dict  # status -> (description, JSON Schema of the body, or None for none)
    body: object = None  # a form class, or a JSON Schema
    body_media_type: str = "application/json"
    query: tuple = ()  # Params, or a form class whose fields are the parameters
    errors: tuple = ()  # the error statuses besides 401 (which every view behind a token may answer)
    path: dict = field(default_factory=dict)  # path parameter -> its schema, where the rule says too little
    examples: tuple = ()


def operation(method: str | None = None, **declaration):
    """Describe the view for one of its methods (the rule's only one when None)."""
    def declare(view):
        view.__dict__.setdefault("openapi", {})[method] = Operation(**declaration)
        return view
    return declare
