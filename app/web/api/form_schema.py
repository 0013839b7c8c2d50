"""The JSON Schema (2020-12, as OpenAPI 3.1 has it) of a WTForms form: what the API accepts where a view
binds its body or query string to the form."""
from decimal import Decimal

from wtforms import (
    BooleanField,
    DateField,
    DateTimeField,
    DecimalField,
    FieldList,
    FloatField,
    FormField,
    IntegerField,
    SelectFieldBase,
    SelectMultipleField,
)
from wtforms.validators import Length, NumberRange, Regexp

from forms import NOT_DATA

# DateTimeLocalField's formats: company time, no zone.
LOCAL_MOMENT = r"^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2})?$"


def form_schema(form) -> dict:
    """An object of the form's data fields; those with DataRequired or InputRequired are required."""
    fields = [(name, field) for name, field in form._fields.items() if field.type not in NOT_DATA]
    schema = {"type": "object", "properties": {name: field_schema(field) for name, field in fields}}
    required = [name for name, field in fields if field.flags.required]
    if required:
        schema["required"] = required
    return schema


def field_schema(field) -> dict:
    schema = _value_schema(field)
    schema["title"] = str(field.label.text)
    if field.description:
        schema["description"] = str(field.description)
    if isinstance(field.default, (str, int, float, bool)) and field.default != "":
        schema["default"] = field.default
    return schema


def _value_schema(field) -> dict:
    if isinstance(field, FieldList):
        entry = field.unbound_field.bind(form=None, name=field.short_name, _meta=field.meta)
        entry.process(None)
        schema = {"type": "array", "items": _value_schema(entry)}
        if field.max_entries:  # the rows past it are not read
            schema["maxItems"] = field.max_entries
        return schema
    if isinstance(field, FormField):
        return form_schema(field.form)
    if isinstance(field, SelectMultipleField):
        return {"type": "array", "items": _choice_schema(field)}
    if isinstance(field, SelectFieldBase):
        return _choice_schema(field)
    if isinstance(field, BooleanField):
        return {"type": "boolean"}
    if isinstance(field, DateField):  # before DateTimeField, its base class
        return {"type": "string", "format": "date"}
    if isinstance(field, DateTimeField):  # DateTimeLocalField
        return {"type": "string", "pattern": LOCAL_MOMENT}
    if isinstance(field, IntegerField):
        return {"type": "integer", **_bounds(field)}
    if isinstance(field, (DecimalField, FloatField)):
        return {"type": "number", **_bounds(field)}
    return {"type": "string", **_text_bounds(field)}


def _choice_schema(field) -> dict:
    """A choice: its values when they are fixed and checked; else any value of its type (the choices
    depend on the user or the case, or the flow's rules judge the value)."""
    schema = {"type": "integer" if field.coerce is int else "string"}
    if getattr(field, "validate_choice", True) and field.choices:
        schema["enum"] = [choice.value for choice in field.iter_choices()]
    return schema


def _bounds(field) -> dict:
    bounds = {}
    for validator in field.validators:
        if isinstance(validator, NumberRange):
            for bound, keyword in (("min", "minimum"), ("max", "maximum")):
                value = getattr(validator, bound)
                if value is not None:
                    bounds[keyword] = _number(value)
    return bounds


def _text_bounds(field) -> dict:
    bounds = {}
    for validator in field.validators:
        if isinstance(validator, Length):
            if validator.min > 0:
                bounds["minLength"] = validator.min
            if validator.max != -1:
                bounds["maxLength"] = validator.max
        elif isinstance(validator, Regexp):
            bounds["pattern"] = validator.regex.pattern
    return bounds


def _number(value):
    value = Decimal(str(value))
    return int(value) if value == value.to_integral_value() else float(value)
