"""One WTForms form per form key named in the BPMN. The same class serves the pages and the API.

A form may define `fill_choices(user)`: choices only a page needs to show (a list of all customers,
say). Validation never depends on them, so the API never pays for them.
"""
from flask_wtf import FlaskForm
from werkzeug.datastructures import MultiDict

from forms.dossier_borrow_request import DossierBorrowRequestForm
from forms.dossier_consent import DossierConsentForm

FORMS: dict[str, type[FlaskForm]] = {
    "dossier_borrow_request": DossierBorrowRequestForm,
    "dossier_consent": DossierConsentForm,
}


def build_form(form_key: str, json_data: dict | None = None) -> FlaskForm:
    """The form for `form_key`, bound to the request's form data, or to a JSON object (API, no CSRF)."""
    form_class = FORMS[form_key]
    if json_data is None:
        return form_class()
    values = MultiDict({k: "" if v is None else str(v) for k, v in json_data.items()
                        if not isinstance(v, (dict, list))})
    return form_class(formdata=values, meta={"csrf": False})


def for_display(form: FlaskForm, user) -> FlaskForm:
    """Fill what the page shows but validation does not need."""
    if hasattr(form, "fill_choices"):
        form.fill_choices(user)
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
