"""Forms an administrator draws in the browser with bpmn.io's form-js: the one server-side check of them.

A drawn form is a form-js schema (`{"type": "default", "components": [...]}`, as form-js 1.x's editor
saves it). The same schema drives the page (form-js's viewer) and this module, so that a drawn form is as
safe as a WTForms one: nothing the schema lacks is stored, no value is trusted from the client.

    problems(schema) -> [message]       why the schema cannot be deployed (empty: it can)
    keys(schema) -> {key}               the keys its data has at the top level (what conditions may read)
    choices(component, user) -> [(value, label)]   what a choice offers this user
    clean(schema, data, user=…, files=…) -> data   the data as it is stored, or InvalidData
    case_facts(schema, data) -> {customer_id, branch_id}   what a case started with it is about
    offered(schema, user) -> schema     what the page gives form-js's viewer (the choices filled in)
    placed(schema, errors) -> ({id: messages}, [(id, label, messages)])   clean's errors as the page shows them
    readable(schema, data) -> [(label, value)]   filed data as a reader sees it

Messages are lazy translations (rendered in the reader's language when shown); a problem names its
component by key (or id) and label.

What is supported, and the decisions taken:
- Data fields: textfield, textarea, number, datetime (subtype "date" only), select, radio, checkbox,
  checklist, taglist, dynamiclist (rows, named by its `path` as form-js does; its rows hold any of the
  other fields but a filepicker, and layout; form-js has no bound on the number of rows, this module
  takes at most ROWS_AT_MOST), filepicker. Layout only: text, spacer, separator, group (its fields are
  stored at the top level, so a group may have no `path`). Anything else (button, html, image, table,
  expression, multipage …) is refused at deploy; `clean` never runs a schema `problems` refuses.
- Keys are names a BPMN condition reads: `^[A-Za-z_][A-Za-z0-9_]*$`, not a Python keyword, each once in
  its namespace (the top level, groups included; each dynamiclist's rows have their own).
- Every key of the form is in the stored data, empty ones too, so a condition never meets a missing
  name: an empty field is None; an empty checklist, taglist or dynamiclist is []; an unticked checkbox
  is False (form-js's own empty values). A filepicker, a layout component, and a field that is
  `disabled` or `readonly` store nothing (the person cannot change what such a field shows, so a posted
  value would be forged); a filepicker's files are the attachments, `files` says which were received.
- Text is trimmed; a `pattern` must match the whole text (form-js's viewer searches, unanchored: the
  server is the stricter), with Python's `re` in ASCII mode (\\d and \\w as in JavaScript); no text is
  longer than TEXT_AT_MOST characters, whatever the schema says.
- A number arrives as a JSON number or as text (the viewer's `serializeToString`, or a page), never a
  boolean, NaN, infinity or exponent notation; its magnitude is below 10^15. It is stored as an int when
  the field's `decimalDigits` is 0, and otherwise always as decimal text ("12.5"), as the company's forms
  keep decimals; `min`, `max`, `decimalDigits` and `increment` are checked exactly (Decimal).
- A date is ISO `YYYY-MM-DD`, a real day; `disallowPassedDates` means today (company time) at the earliest.
- A choice's values are text. Static ones are the schema's `values`; or the component names one of
  SOURCES in its custom properties (`{"source": "customers"}`, `{"source": "people", "role": …,
  "unit": …}`, `{"source": "branches"}`), which offers what THIS user may choose: customers by code (those
  whose dossiers he may read now, his territory's and those on loan to him: app.policy's READ_DOSSIER for
  a list), people by user name (active holders of the role, in the unit or a unit under it), branches by
  org unit code. Codes, not ids: form-js's values are text, a condition and a reader recognise a code,
  and the branch pickers and the visit plan's rep already store code and user name (a code-defined
  form's customer_id is an id; a drawn flow's start resolves the code). form-js's `valuesKey` and
  `valuesExpression` are refused: the page injects the offered values into the schema it gives the
  viewer (`choices`).
- Errors come together, by field; a row's under `<list>-<index>-<key>` (index from 0), as a page names
  its inputs, and the list's own (not a list, too many rows) under the list's key.
- FEEL expressions (text beginning with "=") are refused where they would change what is valid
  (`disabled`, `readonly`, `multiple`, the bounds), and so is `conditional` (hiding by a condition): the
  server does not evaluate FEEL, and a field the page hides must not be required here.
"""
from __future__ import annotations

import keyword
import re
from collections.abc import Callable, Iterator, Mapping
from copy import deepcopy
from dataclasses import dataclass, field
from datetime import date
from decimal import Context, Decimal, InvalidOperation, localcontext

from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from app import db
from app.calendar import clock
from app.domain import org
from app.domain.customers import Customer
from app.errors import InvalidData
from app.policy import readable_customer_ids
from forms.common import today

KEY = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
TEXT_AT_MOST = 10_000  # characters of any text field, whatever its maxLength
ROWS_AT_MOST = 200  # rows of a dynamiclist
DEPTH_AT_MOST = 8  # groups within groups
NUMBER_TEXT = re.compile(r"^[+-]?(\d+(\.\d*)?|\.\d+)$")
NUMBER_BELOW = Decimal(10) ** 15
EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
ISO_DAY = re.compile(r"^\d{4}-\d{2}-\d{2}$")
PAGE_TRUE, PAGE_FALSE = frozenset({"true", "on"}), frozenset({"false", ""})
EXACT = Context(prec=100)  # numbers are at most 40 characters: exact within this precision

NOT_A_FORM = _l("The form is not a form-js schema: an object of type “default” with a list of components.")
REQUIRED = _l("This field is required.")
NOT_OFFERED = _l("Choose one of the offered values.")


# -- choices from the company's data ----------------------------------------------------------------

def _customers(user: org.User, _params: Mapping) -> list[tuple[str, str]]:
    """The customers whose dossiers the user may read now (his territory's, those on loan to him)."""
    visible = readable_customer_ids(user, clock.now())
    if not visible:
        return []
    rows = db.session.execute(select(Customer.code, Customer.name).where(Customer.id.in_(visible))
                              .order_by(Customer.code))
    return [(code, f"{code} {name}") for code, name in rows]


def _people(_user: org.User, params: Mapping) -> list[tuple[str, str]]:
    """Active holders of the role `role`, in the unit `unit` (a code) or a unit under it, if given."""
    within = params.get("unit")
    rows = db.session.execute(
        select(org.User.username, org.User.display_name, org.Membership.org_unit_id)
        .join(org.Membership, org.Membership.user_id == org.User.id).join(org.Role)
        .where(org.Role.code == params["role"], org.User.active).order_by(org.User.username))
    people = {}
    for username, name, unit_id in rows:
        if not within or within in org.codes_up_from(unit_id):
            people.setdefault(username, f"{name} · {org.unit_name(unit_id)}")
    return list(people.items())


def _branches(_user: org.User, _params: Mapping) -> list[tuple[str, str]]:
    rows = db.session.execute(select(org.OrgUnit.code, org.OrgUnit.name)
                              .where(org.OrgUnit.kind == org.BRANCH).order_by(org.OrgUnit.code))
    return [(code, name) for code, name in rows]


def _is_role(code: str) -> bool:
    return db.session.scalar(select(org.Role.id).where(org.Role.code == code)) is not None


def _is_unit(code: str) -> bool:
    return db.session.scalar(select(org.OrgUnit.id).where(org.OrgUnit.code == code)) is not None


@dataclass(frozen=True)
class Source:
    """Where a choice's values come from: `offered(user, properties)` -> [(value, label)]; `parameters`:
    the custom properties it reads, each with a check that its value is known; `needs`: those it must have."""

    offered: Callable[[org.User, Mapping], list[tuple[str, str]]]
    parameters: Mapping[str, Callable[[str], bool]] = field(default_factory=dict)
    needs: tuple[str, ...] = ()


SOURCES: dict[str, Source] = {
    "customers": Source(_customers),
    "people": Source(_people, {"role": _is_role, "unit": _is_unit}, needs=("role",)),
    "branches": Source(_branches),
}


def _source(component: Mapping) -> str | None:
    properties = component.get("properties")
    return properties.get("source") if isinstance(properties, Mapping) else None


def choices(component: Mapping, user: org.User) -> list[tuple[str, str]]:
    """What a choice component offers `user`: its static values, or its source's for him."""
    name = _source(component)
    if name is not None:
        return SOURCES[name].offered(user, component["properties"])
    return [(value["value"], value.get("label") or value["value"]) for value in component.get("values") or []]


# -- the kinds of component: what the schema may say, and how a value is cleaned ----------------------

class Refused(Exception):
    """A field's value is not valid: its messages."""

    def __init__(self, *messages):
        super().__init__(*messages)
        self.messages = list(messages)


def _refuse_any(*checks: tuple[bool, object]) -> None:
    """Refused with the messages of every failed check (holds, message)."""
    failed = [message for holds, message in checks if not holds]
    if failed:
        raise Refused(*failed)


@dataclass
class Filling:
    """Who fills the form in, the files received for it (filepicker key -> file names), and what each
    choice offers him (asked once per component, however many rows)."""

    user: org.User
    files: Mapping[str, list]
    offered: dict[int, set[str]] = field(default_factory=dict)


def _expression(value) -> bool:
    return isinstance(value, str) and value.startswith("=")


def _number(value) -> Decimal | None:
    """A bound of the schema, or a value typed, as a Decimal; None if it is not a number we take."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        text = repr(value)
    elif isinstance(value, str) and len(value.strip()) <= 40 and NUMBER_TEXT.match(value.strip()):
        text = value.strip()
    else:
        return None
    try:
        number = Decimal(text)
    except InvalidOperation:
        return None
    return number if number.is_finite() else None


def _plain(number: Decimal) -> str:
    """A number as people write it: 12.50 -> "12.5", 1E+2 -> "100", -0 -> "0"."""
    with localcontext(EXACT):
        return format(number.normalize() + 0, "f")


def _length(value) -> int | None:
    number = _number(value)
    return int(number) if number is not None and number == number.to_integral_value() and number >= 0 else None


def _validate(component: Mapping) -> Mapping:
    validate = component.get("validate")
    return validate if isinstance(validate, Mapping) else {}


def _text_problems(component: Mapping) -> list:
    validate, found = _validate(component), []
    bounds = {name: validate.get(name) for name in ("minLength", "maxLength") if validate.get(name) not in (None, "")}
    lengths = {name: _length(value) for name, value in bounds.items()}
    if any(length is None for length in lengths.values()):
        found.append(_l("lengths are whole numbers, 0 or more."))
    elif lengths.get("minLength", 0) > lengths.get("maxLength", TEXT_AT_MOST):
        found.append(_l("the minimum length is above the maximum length."))
    if validate.get("pattern"):
        try:
            re.compile(validate["pattern"], re.ASCII)
        except (re.error, TypeError) as exc:
            found.append(_l("the pattern is not a valid regular expression: %(error)s", error=str(exc)))
    if validate.get("validationType") not in (None, "", "custom", "email"):
        found.append(_l("the validation type “%(kind)s” is not supported: give a pattern.",
                        kind=validate["validationType"]))
    return found


def _clean_text(component: Mapping, value, _filling: Filling):
    if value is None:
        return None
    if not isinstance(value, str):
        raise Refused(_l("Must be text."))
    text = value.strip()
    if not text:
        return None
    validate = _validate(component)
    least, most = _length(validate.get("minLength")), _length(validate.get("maxLength"))
    most = min(most, TEXT_AT_MOST) if most is not None else TEXT_AT_MOST
    pattern = validate.get("pattern")
    _refuse_any((least is None or len(text) >= least, _l("At least %(count)s characters.", count=least)),
                (len(text) <= most, _l("At most %(count)s characters.", count=most)),
                (not pattern or re.fullmatch(pattern, text, re.ASCII), _l("Not in the required format.")),
                (validate.get("validationType") != "email" or EMAIL.match(text), _l("Not an e-mail address.")))
    return text


def _number_problems(component: Mapping) -> list:
    validate, found = _validate(component), []
    bounds = {name: validate.get(name) for name in ("min", "max") if validate.get(name) not in (None, "")}
    numbers = {name: _number(value) for name, value in bounds.items()}
    if any(number is None for number in numbers.values()):
        found.append(_l("the minimum and maximum must be numbers."))
    elif len(numbers) == 2 and numbers["min"] > numbers["max"]:
        found.append(_l("the minimum is above the maximum."))
    digits = component.get("decimalDigits")
    if digits is not None and (isinstance(digits, bool) or not isinstance(digits, int) or digits < 0):
        found.append(_l("the decimal digits are a whole number, 0 or more."))
    increment = component.get("increment")
    if increment not in (None, "") and not ((step := _number(increment)) is not None and step > 0):
        found.append(_l("the increment must be a number above 0."))
    return found


def _clean_number(component: Mapping, value, _filling: Filling):
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    number = _number(value)
    if number is None:
        raise Refused(_l("Not a number."))
    if abs(number) >= NUMBER_BELOW:
        raise Refused(_l("The number is too large."))
    validate, digits = _validate(component), component.get("decimalDigits")
    least, most = _number(validate.get("min")), _number(validate.get("max"))
    step = _number(component.get("increment"))
    number = Decimal(_plain(number))
    decimals = max(0, -number.as_tuple().exponent)
    failed = []
    if digits == 0 and decimals:
        failed.append(_l("Must be a whole number."))
    elif digits and decimals > digits:
        failed.append(_l("At most %(count)s digits after the decimal point.", count=digits))
    if least is not None and number < least:
        failed.append(_l("At least %(min)s.", min=_plain(least)))
    if most is not None and number > most:
        failed.append(_l("At most %(max)s.", max=_plain(most)))
    with localcontext(EXACT):
        if step is not None and number % step:
            failed.append(_l("Must be a multiple of %(step)s.", step=_plain(step)))
    if failed:
        raise Refused(*failed)
    return int(number) if digits == 0 else _plain(number)


def _date_problems(component: Mapping) -> list:
    subtype = component.get("subtype", "date")
    return [] if subtype == "date" else [_l("only dates are supported (subtype “date”), not “%(subtype)s”.",
                                            subtype=subtype)]


def _clean_date(component: Mapping, value, _filling: Filling):
    if value is None or value == "":
        return None
    try:
        day = date.fromisoformat(value) if isinstance(value, str) and ISO_DAY.match(value) else None
    except ValueError:
        day = None
    if day is None:
        raise Refused(_l("Not a date (YYYY-MM-DD)."))
    if component.get("disallowPassedDates") is True and day < today():
        raise Refused(_l("The date cannot be in the past: today at the earliest."))
    return day.isoformat()


def _choice_problems(component: Mapping) -> list:
    source, values = _source(component), component.get("values")
    if component.get("valuesKey") or component.get("valuesExpression"):
        return [_l("choices come from values or a data source; valuesKey and valuesExpression are not supported.")]
    if source is not None:
        if values:
            return [_l("give values or a data source, not both.")]
        if not isinstance(source, str) or source not in SOURCES:
            return [_l("the data source “%(source)s” is not known.", source=source)]
        properties, found = component["properties"], []
        for name in SOURCES[source].needs:
            if not properties.get(name):
                found.append(_l("the data source “%(source)s” needs “%(name)s”.", source=source, name=name))
        for name, known in SOURCES[source].parameters.items():
            given = properties.get(name)
            if given and not (isinstance(given, str) and known(given)):
                found.append(_l("%(name)s “%(value)s” is not known.", name=name, value=given))
        return found
    if not values:
        return [_l("a choice needs values or a data source.")]
    offered = [value.get("value") if isinstance(value, Mapping) else None for value in values] \
        if isinstance(values, list) else [None]
    if not all(isinstance(value, str) for value in offered) or len(set(offered)) != len(offered):
        return [_l("every value is an object with a text value, each offered once.")]
    return []


def _allowed(component: Mapping, filling: Filling) -> set[str]:
    if id(component) not in filling.offered:
        filling.offered[id(component)] = {value for value, _label in choices(component, filling.user)}
    return filling.offered[id(component)]


def _clean_choice(component: Mapping, value, filling: Filling):
    if value is None or value == "":
        return None
    if not isinstance(value, str) or value not in _allowed(component, filling):
        raise Refused(NOT_OFFERED)
    return value


def _clean_choices(component: Mapping, value, filling: Filling):
    if value is None:
        return []
    if not isinstance(value, list):
        raise Refused(_l("Must be a list."))
    allowed = _allowed(component, filling)
    _refuse_any((all(isinstance(item, str) and item in allowed for item in value), NOT_OFFERED),
                (len(set(map(str, value))) == len(value), _l("A value is chosen twice.")))
    return list(value)


def _clean_checkbox(_component: Mapping, value, _filling: Filling):
    if isinstance(value, bool):
        return value
    if value is None:
        return False
    if isinstance(value, str) and value.lower() in PAGE_TRUE | PAGE_FALSE:
        return value.lower() in PAGE_TRUE
    raise Refused(_l("Must be true or false."))


def _file_problems(component: Mapping) -> list:
    return [_l("expressions are not supported in “%(property)s”.", property="multiple")] \
        if _expression(component.get("multiple")) else []


def _clean_files(component: Mapping, _value, filling: Filling):
    """Nothing is stored (the viewer's value is only its handle on the files); the files received count."""
    received = filling.files.get(component["key"]) or []
    _refuse_any((received or not _validate(component).get("required"), _l("Choose a file to attach.")),
                (len(received) <= 1 or component.get("multiple") is True, _l("Attach one file only.")))
    return None


def _no_problems(_component: Mapping) -> list:
    return []


@dataclass(frozen=True)
class Kind:
    """A type of component. `clean(component, value, filling)` -> the value stored, None when empty (raises
    Refused); `problems(component)` -> what is wrong with it in a schema; `empty()`: what an empty field
    stores; `keyed`: it has a key (a field); `stored`: its value is stored; `in_rows`: a dynamiclist's rows
    may hold it. Layout has no `clean`; nor has a dynamiclist, whose rows `_clean_rows` cleans."""

    clean: Callable[[Mapping, object, Filling], object] | None = None
    problems: Callable[[Mapping], list] = _no_problems
    empty: Callable[[], object] = lambda: None
    keyed: bool = True
    stored: bool = True
    in_rows: bool = True


LAYOUT = Kind(keyed=False, stored=False)
TEXT = Kind(_clean_text, _text_problems)
CHOICE = Kind(_clean_choice, _choice_problems)
CHOICES = Kind(_clean_choices, _choice_problems, empty=list)
ROWS, GROUP, FILEPICKER = "dynamiclist", "group", "filepicker"
KINDS: dict[str, Kind] = {
    "textfield": TEXT,
    "textarea": TEXT,
    "number": Kind(_clean_number, _number_problems),
    "datetime": Kind(_clean_date, _date_problems),
    "select": CHOICE,
    "radio": CHOICE,
    "checklist": CHOICES,
    "taglist": CHOICES,
    "checkbox": Kind(_clean_checkbox, empty=lambda: False),
    FILEPICKER: Kind(_clean_files, _file_problems, stored=False, in_rows=False),
    ROWS: Kind(empty=list, in_rows=False),  # its rows: _clean_rows
    "text": LAYOUT,
    "spacer": LAYOUT,
    "separator": LAYOUT,
    GROUP: Kind(keyed=False, stored=False, in_rows=False),
}


def _name(component: Mapping):
    """A field's key (a dynamiclist's is its `path`, as form-js names it)."""
    return component.get("path") if component.get("type") == ROWS else component.get("key")


def _fixed(component: Mapping) -> bool:
    """Disabled or read-only: the person cannot change it, so nothing posted for it is stored."""
    return component.get("disabled") is True or component.get("readonly") is True


def _kind(component) -> Kind | None:
    shown = component.get("type") if isinstance(component, Mapping) else None
    return KINDS.get(shown) if isinstance(shown, str) else None


def _fields(components) -> Iterator[tuple[Kind, Mapping]]:
    """The fields of one level that the person fills in, a group's among them (groups within groups)."""
    for component in components if isinstance(components, list) else []:
        kind = _kind(component)
        if kind is None:
            continue
        if component["type"] == GROUP:
            yield from _fields(component.get("components"))
        elif kind.keyed and not _fixed(component) and isinstance(_name(component), str):
            yield kind, component


# -- what cannot be deployed -------------------------------------------------------------------------

def _where(component, index: str) -> str:
    if not isinstance(component, Mapping):
        return index
    name = _name(component) or component.get("id") or index
    return f"{name} “{component['label']}”" if component.get("label") else str(name)


def _key_problems(component: Mapping, seen: set) -> list:
    key = _name(component)
    if not key:
        return [_l("a list needs a path.") if component["type"] == ROWS else _l("a field needs a key.")]
    if not isinstance(key, str) or not KEY.match(key) or keyword.iskeyword(key):
        return [_l("the key “%(key)s” is not a name: letters, digits and _, not starting with a digit.", key=key)]
    if key in seen:
        return [_l("the key “%(key)s” is used twice.", key=key)]
    seen.add(key)
    return []


def _container_problems(component: Mapping, depth: int) -> list:
    if component["type"] == GROUP and component.get("path"):
        return [_l("a group's fields are stored at the top level: leave its path empty.")]
    if component["type"] == ROWS and component.get("isRepeating") is False:
        return [_l("a list's rows repeat: isRepeating cannot be false.")]
    if depth >= DEPTH_AT_MOST:
        return [_l("nested too deeply.")]
    if not isinstance(component.get("components", []), list):
        return [_l("its components are not a list.")]
    return []


def _component_problems(component, index: str, seen: set, in_rows: bool, depth: int) -> list:
    """What is wrong with one component and those inside it; `seen`: the keys of its namespace so far (a
    group's components share it, a dynamiclist's rows have one of their own)."""
    where = _where(component, index)
    kind = _kind(component)
    if kind is None:
        shown = component.get("type") if isinstance(component, Mapping) else None
        message = _l("the component type “%(type)s” is not supported.", type=shown) if isinstance(shown, str) \
            else _l("not a component (an object with a type).")
        return [_l("%(where)s: %(problem)s", where=where, problem=message)]
    found = []
    if in_rows and not kind.in_rows:
        found.append(_l("a %(type)s cannot be in the rows of a list.", type=component["type"]))
    if component.get("conditional"):
        found.append(_l("hiding a field by a condition is not supported."))
    found += [_l("expressions are not supported in “%(property)s”.", property=name)
              for name in ("disabled", "readonly") if _expression(component.get(name))]
    if kind.keyed:
        found += _key_problems(component, seen)
    found += kind.problems(component)
    inner = []
    if component["type"] in (GROUP, ROWS):
        wrong = _container_problems(component, depth)
        found += wrong
        rows = component["type"] == ROWS
        own = set() if rows else seen
        if not wrong:  # the components inside, once the container itself is sound
            inner = [problem for number, child in enumerate(component.get("components", []))
                     for problem in _component_problems(child, f"{index}.{number}", own, in_rows or rows, depth + 1)]
    return [_l("%(where)s: %(problem)s", where=where, problem=problem) for problem in found] + inner


def problems(schema) -> list:
    """Why `schema` cannot be deployed as a drawn form, one message each (lazy); empty when it can."""
    if not isinstance(schema, Mapping) or schema.get("type", "default") != "default" \
            or not isinstance(schema.get("components"), list):
        return [NOT_A_FORM]
    seen: set[str] = set()
    return [problem for number, component in enumerate(schema["components"])
            for problem in _component_problems(component, f"#{number}", seen, in_rows=False, depth=0)]


def keys(schema) -> set[str]:
    """The keys a schema's data has at the top level: what `clean` stores, so what conditions may read."""
    components = schema.get("components") if isinstance(schema, Mapping) else None
    return {_name(component) for kind, component in _fields(components) if kind.stored}


# -- cleaning what was filled in ---------------------------------------------------------------------

def _clean_level(components, data: Mapping, filling: Filling, errors: dict, prefix: str = "") -> dict:
    """The stored values of one level (the form, or one row), every stored field cleaned or empty; each
    field's errors go to `errors` under `prefix` + its key."""
    stored = {}
    for kind, component in _fields(components):
        key = _name(component)
        try:
            if component["type"] == ROWS:
                stored[key] = _clean_rows(component, data.get(key), filling, errors, f"{prefix}{key}-")
                continue
            value = kind.clean(component, data.get(key), filling)
            if kind.stored:
                if _blank(value) and _validate(component).get("required"):
                    raise Refused(REQUIRED)
                stored[key] = kind.empty() if value is None else value
        except Refused as refused:
            errors[f"{prefix}{key}"] = refused.messages
    return stored


def _blank(value) -> bool:
    """Empty as `required` means it: nothing, an empty list, an unticked checkbox (not the number 0)."""
    return value is None or value is False or value == []


def _clean_rows(component: Mapping, rows, filling: Filling, errors: dict, prefix: str) -> list:
    if rows is None:
        return []
    if not isinstance(rows, list) or not all(isinstance(row, Mapping) for row in rows):
        raise Refused(_l("Every row must be an object."))
    if len(rows) > ROWS_AT_MOST:
        raise Refused(_l("At most %(count)s rows.", count=ROWS_AT_MOST))
    return [_clean_level(component.get("components"), row, filling, errors, f"{prefix}{index}-")
            for index, row in enumerate(rows)]


def clean(schema, data, *, user: org.User, files: Mapping[str, list] | None = None) -> dict:
    """`data` (JSON, or what the page's form-js viewer posts) checked against a deployable `schema`, as it
    is stored: every key of the form and nothing else. InvalidData naming every field's errors (a row's as
    `<list>-<index>-<key>`) when it is not valid. `files`: filepicker key -> the names of the files
    received for it. A schema `problems` refuses is a ValueError: it should never have been deployed."""
    wrong = problems(schema)
    if wrong:
        raise ValueError("not a deployable drawn form: " + "; ".join(map(str, wrong)))
    if not isinstance(data, Mapping):
        raise InvalidData(_l("`data` must be a JSON object."), {"data": [_l("Must be an object.")]})
    errors: dict[str, list] = {}
    stored = _clean_level(schema["components"], data, Filling(user, files or {}), errors)
    if errors:
        raise InvalidData(_l("Some fields are not valid."), errors)
    return stored


# -- the page: what form-js's viewer is given, where the errors go, what a reader sees ---------------

def offered(schema: Mapping, user: org.User) -> dict:
    """The schema as the page gives it to form-js's viewer: a copy whose choices' `values` are what each
    offers `user` (`choices`; the viewer's own `valuesKey` is refused, so it shows only these)."""
    shown = deepcopy(dict(schema))

    def fill(components) -> None:
        for component in components if isinstance(components, list) else []:
            if _kind(component) in (CHOICE, CHOICES):
                component["values"] = [{"value": value, "label": label} for value, label in choices(component, user)]
            if isinstance(component, dict):
                fill(component.get("components"))
    fill(shown.get("components"))
    return shown


def _label(component: Mapping) -> str:
    return str(component.get("label") or _name(component))


def placed(schema: Mapping, errors: Mapping[str, list]) -> tuple[dict, list[tuple[str | None, str, list]]]:
    """`clean`'s errors as the page shows them: by field id as form-js's viewer keeps its own (`{id:
    messages}`, a row's field `{id: {row index: messages}}`), and a summary in the form's order, each with
    its field's id and label (a row's as "list label 2 · field label"). An error no field has is summed up
    by its key, without an id."""
    by_id: dict[str, object] = {}
    summary: list[tuple[str | None, str, list]] = []
    left = {key: [str(message) for message in messages] for key, messages in errors.items()}
    for _kind_of, component in _fields(schema.get("components")):
        key = _name(component)
        if key in left:
            messages = left.pop(key)
            by_id[component.get("id") or key] = messages
            summary.append((component.get("id") or key, _label(component), messages))
        if component["type"] != ROWS:
            continue
        row = re.compile(rf"^{re.escape(key)}-(\d+)-(.+)$")
        for name in sorted((n for n in left if row.match(n)), key=lambda n: int(row.match(n).group(1))):
            index, inner = row.match(name).groups()
            part = next((c for _k, c in _fields(component.get("components")) if _name(c) == inner), None)
            if part is None:
                continue
            messages = left.pop(name)
            by_id.setdefault(part.get("id") or inner, {})[index] = messages
            summary.append((part.get("id") or inner, f"{_label(component)} {int(index) + 1} · {_label(part)}", messages))
    summary += [(None, key, messages) for key, messages in left.items()]
    return by_id, summary


def _words(component: Mapping, value) -> str:
    """A choice's value as a reader knows it: its label, or the customer, person or branch it names."""
    source = _source(component)
    if source == "customers":
        row = db.session.execute(select(Customer.code, Customer.name).where(Customer.code == value)).first()
        return f"{row.code} {row.name}" if row else str(value)
    if source == "people":
        person = db.session.scalar(select(org.User).where(org.User.username == value))
        return person.display_name if person else str(value)
    if source == "branches":
        name = db.session.scalar(select(org.OrgUnit.name).where(org.OrgUnit.code == value))
        return name or str(value)
    labels = {entry.get("value"): entry.get("label") for entry in component.get("values") or []
              if isinstance(entry, Mapping)}
    return str(labels.get(value) or value)


def _shown(component: Mapping, value):
    kind = _kind(component)
    if component["type"] == ROWS:
        return [readable(component, row) for row in value or [] if isinstance(row, Mapping)]
    if value is None or value == []:
        return ""
    if kind is CHOICE:
        return _words(component, value)
    if kind is CHOICES:
        return "、".join(_words(component, item) for item in value)
    if component["type"] == "checkbox":
        return str(_l("Yes") if value else _l("No"))
    return value


def readable(schema: Mapping, data: Mapping) -> list[tuple[str, object]]:
    """Filed data as a reader sees it, in the form's order: each field's label, a choice's words for its
    value (a list's rows as lists of the same); keys the form lacks are not shown."""
    return [(_label(component), _shown(component, data.get(_name(component))))
            for kind, component in _fields(schema.get("components"))
            if (kind.stored or component["type"] == ROWS) and _name(component) in data]


def file_keys(schema: dict) -> list[str]:
    """The keys of a drawn form's filepickers (their files go to the case's attachments)."""
    return [component["key"] for kind, component in _fields(schema.get("components"))
            if component["type"] == FILEPICKER]


def describe(schema: dict, user) -> list[dict]:
    """A drawn form's fields for API clients, as `forms.describe` gives a code form's: name (its key), type
    (form-js's), label, required, the choices it offers `user`, min and max, a list's row fields as
    `items`. Layout, attachments (they go to the case's attachments) and fixed fields are left out."""
    def level(components) -> list[dict]:
        fields = []
        for kind, component in _fields(components):
            if not kind.stored and component["type"] != ROWS:
                continue
            name, rules = _name(component), _validate(component)
            entry = {"name": name, "type": component["type"], "label": str(component.get("label") or name),
                     "required": bool(rules.get("required"))}
            if component["type"] == ROWS:
                entry["items"] = level(component.get("components"))
            if kind is CHOICE or kind is CHOICES:
                entry["choices"] = [{"value": value, "label": label} for value, label in choices(component, user)]
            entry.update({bound: rules[bound] for bound in ("min", "max") if rules.get(bound) not in (None, "")})
            fields.append(entry)
        return fields
    return level(schema.get("components"))


# -- what a case started with a drawn form is about ---------------------------------------------------

# The source whose chosen value says what the case is about, and the fact the assignment rules read.
CASE_FACTS = {"customers": ("customer_id", Customer), "branches": ("branch_id", org.OrgUnit)}


def case_facts(schema, data: Mapping) -> dict:
    """From a start form's cleaned data, what the case is about: `customer_id` for the first customer
    chosen from the customers source, `branch_id` for the first branch, by id (the codes the form
    stores are what a person reads; the rules about a branch and the case's customer read ids)."""
    facts = {}
    components = schema.get("components") if isinstance(schema, Mapping) else None
    for _kind_of, component in _fields(components):
        fact = CASE_FACTS.get(_source(component))
        code = data.get(_name(component))
        if fact is None or fact[0] in facts or not isinstance(code, str):
            continue
        name, model = fact
        found = db.session.scalar(select(model.id).where(model.code == code))
        if found is not None:
            facts[name] = found
    return facts
