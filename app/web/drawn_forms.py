"""The pages' side of a drawn form (forms.drawn): form-js's viewer fills it in the browser, the page's own
form (DrawnPage: the CSRF token and `drawn_data`, the viewer's data as JSON) posts it, and the server judges
it by the same `forms.validated` the JSON API uses. Kept for the new-request page and the task page."""
import json

from flask import request
from flask_babel import lazy_gettext as _l

from app.engine import attachments
from app.errors import InvalidData
from forms import DrawnPage, drawn, drawn_schema, validated

FILES = "drawn_files-"  # + a filepicker's key: the input drawn-form.js fills with its files on submit

UNREADABLE = _l("The form's data could not be read: check the fields and submit again.")


def page_form(form_key: str | None, task=None, definition=None) -> DrawnPage | None:
    """The page's form when `form_key` names a drawn form (of `task`'s version, or of `definition`), with
    its schema as `form.schema`; None for a form of the code."""
    schema = drawn_schema(form_key, task, definition)
    if schema is None:
        return None
    form = DrawnPage()
    form.schema, form.form_key, form.filled, form.errors_by_id = schema, form_key, {}, {}
    return form


def posted(form: DrawnPage, user, task=None, definition=None) -> tuple[dict, list[tuple[str, bytes]]]:
    """What the page posted, as the form keeps it (forms.validated, as for the API), and the filepickers'
    files for the case's attachments, each checked (attachments.checked); InvalidData, with the data kept
    on `form` to show it again and the errors placed by field (`refused`), when it is not valid."""
    files, received, wrong = [], {}, {}
    for key in drawn.file_keys(form.schema):
        for storage in request.files.getlist(FILES + key):
            if not storage.filename:
                continue
            content = storage.read()
            try:
                attachments.checked(storage.filename, content)
            except InvalidData as exc:
                wrong.setdefault(key, []).extend(m for messages in exc.fields.values() for m in messages)
            files.append((storage.filename, content))
            received.setdefault(key, []).append(storage.filename)
    try:
        data = json.loads(form.drawn_data.data or "")
    except ValueError:
        data = None
    if not isinstance(data, dict):
        form.drawn_problems = [(None, str(_l("The form")), [str(UNREADABLE)])]
        raise InvalidData(UNREADABLE, {})
    form.filled = data
    try:
        cleaned = validated(form.form_key, data, task, user=user, definition=definition, files=received)
    except InvalidData as exc:
        refused(form, {**exc.fields, **wrong})
        raise
    if wrong:
        refused(form, wrong)
        raise InvalidData(_l("Some fields are not valid."), wrong)
    return cleaned, files


def refused(form: DrawnPage, errors: dict, message=None) -> None:
    """Put `errors` (by key, as forms.drawn.clean names them) where the page shows them; `message` when
    the refusal names no field (a flow's rule, a conflict)."""
    form.errors_by_id, form.drawn_problems = drawn.placed(form.schema, errors)
    if not errors and message is not None:
        form.drawn_problems = [(None, str(_l("The form")), [str(message)])]


def shown(form: DrawnPage, user, prefill: dict | None = None) -> dict:
    """What the page's template gives the viewer: the schema with the choices offered to `user`, the data
    to show (what was posted, else `prefill`: what was filed before), and the errors by field id."""
    return {"schema": drawn.offered(form.schema, user), "data": form.filled or prefill or {},
            "errors": form.errors_by_id}
