"""One WTForms form per form key named in the BPMN. The same class serves the pages and the API.

A form may define `setup(user)` to fill choices that depend on who fills it in.
"""
from flask_wtf import FlaskForm
from werkzeug.datastructures import MultiDict

from forms.dossier_borrow_request import DossierBorrowRequestForm
from forms.dossier_consent import DossierConsentForm

FORMS: dict[str, type[FlaskForm]] = {
    "dossier_borrow_request": DossierBorrowRequestForm,
    "dossier_consent": DossierConsentForm,
}


def build_form(form_key: str, user, json_data: dict | None = None, **kwargs) -> FlaskForm:
    """The form for `form_key`, bound to the request's form data, or to a JSON object (API, no CSRF)."""
    form_class = FORMS[form_key]
    if json_data is not None:
        values = MultiDict({k: "" if v is None else str(v) for k, v in json_data.items()
                            if not isinstance(v, (dict, list))})
        form = form_class(formdata=values, meta={"csrf": False}, **kwargs)
    else:
        form = form_class(**kwargs)
    if hasattr(form, "setup"):
        form.setup(user)
    return form


def form_data(form: FlaskForm) -> dict:
    """The submitted values, without buttons and the CSRF token."""
    return {name: field.data for name, field in form._fields.items()
            if field.type not in ("CSRFTokenField", "SubmitField")}


def describe(form: FlaskForm) -> list[dict]:
    """The form's fields for API clients: name, type, label, required, choices and bounds."""
    fields = []
    for name, field in form._fields.items():
        if field.type in ("CSRFTokenField", "SubmitField"):
            continue
        entry = {"name": name, "type": field.type, "label": str(field.label.text),
                 "required": bool(field.flags.required)}
        if getattr(field, "choices", None) is not None:
            entry["choices"] = [{"value": choice.value, "label": str(choice.label)} for choice in field.iter_choices()]
        for validator in field.validators:
            for bound in ("min", "max"):
                if getattr(validator, bound, None) not in (None, -1):
                    entry[bound] = getattr(validator, bound)
        fields.append(entry)
    return fields
