"""One WTForms form per form key named in the BPMN, declared by each flow's forms module (FORMS there).
The same class serves the pages and the API.

A form may define
- `fill_choices(user)`: choices only a page needs to show (a list of all customers, say).
  Validation never depends on them, so the API never pays for them;
- `for_task(task)`: bind the form to the task it decides (a rating sheet's rows come from the
  case, not from what is posted); `context()` then tells API clients what the page shows. Every form
  built for a task knows it as `form.task`, for checks against the case (a plan names people of the
  customer's branch);
- `row_name(entry)`: what a row of a list of rows is called in the summary of a form's errors;
- `template`: a template that renders the form's fields on the task page, instead of one by one.

A form key `camunda-forms:deployment:<form id>` names a form drawn in the browser instead (forms.drawn): a
form-js schema deployed with the process version. `validated` checks data against the schema of the
version the step belongs to, which the version itself looks up (`definition.drawn_form(form_key)`: forms
never reach into the engine).
"""
import re
from collections.abc import Mapping
from datetime import date, datetime
from decimal import Decimal

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from sqlalchemy import select
from werkzeug.datastructures import MultiDict
from wtforms import HiddenField

from app import db
from app.calendar import local
from app.domain.customers import Customer
from app.domain.org import OrgUnit, User
from app.errors import InvalidData
from forms import drawn

# Form key -> form class: each flow's forms module declares its FORMS, and the application registers
# them at start-up (app.flows).
FORMS: dict[str, type[FlaskForm]] = {}


def register(forms: Mapping[str, type[FlaskForm]]) -> None:
    """Add a module's forms; one key meaning two forms is an error."""
    for key, form_class in forms.items():
        if FORMS.get(key, form_class) is not form_class:
            raise ValueError(f"form key {key!r} is declared twice ({FORMS[key].__qualname__}, {form_class.__qualname__})")
    FORMS.update(forms)


def batch_approvable() -> frozenset[str]:
    """Forms whose "approve" with a comment is a whole decision: the inbox approves several at once."""
    return frozenset(key for key, form_class in FORMS.items() if getattr(form_class, "batch_approval", False))


def _form_values(data: dict, prefix: str = ""):
    """JSON as WTForms field names: lists of objects become `ratings-0-stars` and so on."""
    for key, value in data.items():
        name = f"{prefix}{key}"
        if isinstance(value, list):
            for index, item in enumerate(value):
                if isinstance(item, dict):
                    yield from _form_values(item, f"{name}-{index}-")
                else:
                    yield f"{name}-{index}", item
        elif not isinstance(value, dict):
            yield name, value


def _form_value(value) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):  # as a checkbox posts it; str(False) would read as checked
        return "true" if value else "false"
    return str(value)


def build_form(form_key: str, json_data: dict | None = None, prefill: dict | None = None) -> FlaskForm:
    """The form for `form_key`, bound to the request's form data (shown first with `prefill`, what was
    filed before), or to a JSON object (API, no CSRF)."""
    form_class = FORMS[form_key]
    if json_data is None:
        return form_class(data=prefill)
    values = MultiDict([(name, _form_value(value)) for name, value in _form_values(json_data)])
    return form_class(formdata=values, meta={"csrf": False})


def task_form(task, json_data: dict | None = None, prefill: dict | None = None) -> FlaskForm:
    """The form that decides `task`, bound to it (see `for_task`: such a form fills itself from the case,
    so `prefill` is for the others)."""
    bound_to_case = hasattr(FORMS[task.form_key], "for_task")
    form = build_form(task.form_key, json_data, None if bound_to_case else prefill)
    form.task = task
    return form.for_task(task) if bound_to_case else form


def drawn_schema(form_key: str | None, task=None, definition=None) -> dict | None:
    """The schema of the drawn form `form_key` names in the version of `task`'s case (a running case keeps
    its version's forms), or in `definition` (the version a case starts on); None for a form of the code."""
    version = definition if definition is not None else getattr(getattr(task, "instance", None), "definition", None)
    return version.drawn_form(form_key) if version is not None else None


def validated(form_key: str, data, task=None, *, user=None, definition=None, files=None) -> dict:
    """JSON data checked by the form named by the BPMN (bound to its task, if any), as the form keeps it;
    InvalidData with the fields' errors if it is not valid. A drawn form is the schema of the task's
    version, or for a start (no task) of `definition`, the version the case starts on; `user` fills it in
    (what its choices offer him): only what the schema has is kept (forms.drawn.clean); `files`: a
    filepicker's key -> the names of the files received for it."""
    schema = drawn_schema(form_key, task, definition)
    if schema is not None:
        if user is None:
            raise ValueError(f"the drawn form {form_key!r} is checked for the person filling it in: give `user`")
        return drawn.clean(schema, data, user=user, files=files)
    if form_key not in FORMS:
        raise ValueError(f"no form {form_key!r}: a drawn form is looked up in its version (give `task` or "
                         "`definition`)")
    if not isinstance(data, dict):
        raise InvalidData(_l("`data` must be a JSON object."), {"data": [_l("Must be an object.")]})
    form = task_form(task, json_data=data) if task else build_form(form_key, json_data=data)
    if not form.validate():
        raise InvalidData(_l("Some fields are not valid."), form.errors)
    return form_data(form)


def context(form: FlaskForm) -> dict:
    """What the task page shows besides the fields, for API clients."""
    return form.context() if hasattr(form, "context") else {}


def for_display(form: FlaskForm, user) -> FlaskForm:
    """Fill what the page shows but validation does not need."""
    if hasattr(form, "fill_choices"):
        form.fill_choices(user)
    return form


class DrawnPage(FlaskForm):
    """The page's own form around a drawn form: the CSRF token and `drawn_data`, the JSON form-js's viewer
    fills in (app/static/build/drawn-form.js writes it on submit). `drawn_problems`: [(field id, label,
    messages)] of the drawn fields, for the summary above the form (`placed`)."""

    drawn_data = HiddenField()
    drawn_problems: tuple | list = ()  # a page's own list, set when what it posted is refused
    template = None


NOT_DATA = ("CSRFTokenField", "SubmitField", "FileField", "MultipleFileField")  # files go to attachments


def _plain(value):
    """Form values as JSON keeps them: dates and moments in ISO 8601, decimals as text."""
    if isinstance(value, (date, datetime)):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, list):
        return [_plain(item) for item in value]
    if isinstance(value, dict):
        return {key: _plain(item) for key, item in value.items()}
    return value


def form_data(form: FlaskForm) -> dict:
    """The submitted values, without buttons, the CSRF token and files, as JSON keeps them."""
    return {name: _plain(field.data) for name, field in form._fields.items() if field.type not in NOT_DATA}


def problems(form: FlaskForm) -> list[tuple[str | None, str, list]]:
    """What is wrong with a form that came back, in the order of its fields, for the summary above it:
    (the id of the input to go to, what it is called, its messages). A row's fields are named by their
    row (`row_name`, else its number); a list's own messages, about the list as a whole, go to the list.
    A drawn form's page (DrawnPage) lists its drawn fields' first, each going to `drawn-field-<its id>`
    (app/static/build/drawn-form.js finds the viewer's input)."""
    found = [(f"drawn-field-{field_id}" if field_id else None, label, messages)
             for field_id, label, messages in getattr(form, "drawn_problems", ())]
    for field in form:
        if field.type == "FieldList":
            on_rows = set()
            for number, entry in enumerate(field.entries, start=1):
                row = form.row_name(entry) if hasattr(form, "row_name") else str(number)
                for part in entry:
                    if part.errors:
                        found.append((part.id, f"{row} · {part.label.text}", part.errors))
                        on_rows.update(str(message) for message in part.errors)
            own = [message for message in field.errors if not isinstance(message, dict) and str(message) not in on_rows]
            if own:
                found.append((field.id, str(field.label.text), own))
        elif field.errors:  # the CSRF token has no input to go to
            found.append((None if field.type == "CSRFTokenField" else field.id, str(field.label.text), field.errors))
    return found


def uploaded_files(form: FlaskForm) -> list[tuple[str, bytes]]:
    """The files a page's form carried, as (name, bytes)."""
    return [(storage.filename, storage.read()) for field in form if field.type == "MultipleFileField"
            for storage in (field.data or []) if getattr(storage, "filename", "")]


def describe(form: FlaskForm) -> list[dict]:
    """The form's fields for API clients: name, type, label, required, choices and bounds."""
    fields = []
    for name, field in form._fields.items():
        if field.type in NOT_DATA:
            continue
        entry = {"name": name, "type": field.type, "label": str(field.label.text),
                 "required": bool(field.flags.required)}
        if field.type == "FieldList":  # a list of rows: describe one row
            entry["items"] = describe(field.unbound_field.args[0]())
        if getattr(field, "choices", None) is not None:
            entry["choices"] = [{"value": choice.value, "label": str(choice.label)} for choice in field.iter_choices()]
        for validator in field.validators:
            for bound in ("min", "max"):
                if getattr(validator, bound, None) not in (None, -1):
                    entry[bound] = getattr(validator, bound)
        fields.append(entry)
    return fields


# Facts a start derives beside what was typed (app.domain's CaseStart data), by their words; the codes and
# names an id's words already show (customer_code, branch_name …) and other internal keys are not shown.
FACT_WORDS = {"customer_kind": _l("Kind"), "month": _l("Month"), "quarter": _l("Quarter rated")}
ISO_MOMENT = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}")


def readable(form_key: str | None, data: dict, definition=None) -> list[tuple[str, object]]:
    """Submitted values as a reader sees them: each field's label, a choice's words for its code, people,
    customers and branches by name, moments in company time as people write them (2026-12-02 09:30).
    Lists of rows come back as they were submitted; no internal key is shown. A drawn form's (named in
    `definition`, the case's version) by its schema's labels (forms.drawn.readable)."""
    schema = drawn_schema(form_key, definition=definition)
    if schema is not None:
        return drawn.readable(schema, data)
    fields = build_form(form_key, json_data={})._fields if form_key in FORMS else {}
    result = []
    for name, value in data.items():
        field = fields.get(name)
        named = _named_by_id(name, value)
        if field is None:
            if name in FACT_WORDS:
                result.append((str(FACT_WORDS[name]), _moment(value)))
            elif named:
                result.append(named)
            continue  # an internal key (branch_id, customer_code …): its words are shown otherwise or not at all
        choices = {str(choice.value): str(choice.label) for choice in field.iter_choices()} \
            if getattr(field, "choices", None) else {}
        shown = choices.get(str(value)) or (named[1] if named else None)
        result.append((str(field.label.text), shown if shown is not None else _moment(value)))
    return result


def _named_by_id(name: str, value) -> tuple[str, str] | None:
    """A customer, person or org unit named by its id (a branch also by its code): (what it is, its
    words), else None."""
    if name == "branch" and isinstance(value, str):  # the branch pickers' value is the branch's code
        unit = db.session.scalar(select(OrgUnit).where(OrgUnit.code == value))
        return (str(_l("Branch")), unit.name) if unit else None
    if name == "rep" and isinstance(value, str):  # the visit plan's rep, by user name
        person = db.session.scalar(select(User).where(User.username == value))
        return (str(_l("Sales rep")), person.display_name) if person else None
    if not isinstance(value, int) or isinstance(value, bool):
        return None
    if name == "customer_id":
        customer = db.session.get(Customer, value)
        return (str(_l("Customer")), f"{customer.code} {customer.name}") if customer else None
    if name.endswith("person_id") or name.endswith("user_id"):
        person = db.session.get(User, value)
        return (str(_l("Person")), f"{person.display_name} · {person.org_unit.name}") if person else None
    if name == "branch_id":
        unit = db.session.get(OrgUnit, value)
        return (str(_l("Branch")), unit.name) if unit else None
    return None


def _moment(value):
    """An ISO 8601 moment as people write it, in company time; anything else as it is."""
    if isinstance(value, str) and ISO_MOMENT.match(value):
        try:
            moment = datetime.fromisoformat(value)
        except ValueError:
            return value
        return f"{local(moment) if moment.tzinfo else moment:%Y-%m-%d %H:%M}"
    return value
