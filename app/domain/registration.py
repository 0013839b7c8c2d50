"""A new customer's dossier, numbered (新客户建档; seeds 000 "客户档案的建立", 001 §1–§5 and "客户评价步骤", 003).

The rep of a territory visits the customer and files its basic information (contacts, invoice type,
demand volume, equipment, transport: 000) with the business licence's scan and the legal
representative's ID copy attached (001). The branch's customer specialist checks it (003: 管理层负责审核
确认客户信息), sends it back to the rep or refuses it, or approves it; approved, the service task
`archive_customer` archives it: the Customer row, with its code by the one scheme of 000's 表一,
`<branch>-<territory>-<sequence>` as the demo's codes read (HD-E1-004), from a counter per territory
that only ever goes up (a deleted customer's number is never given again), never typed. The dossier
belongs to the territory and is kept by the branch's business department (000).

Duplicates (the same name, or the same licence number, among customers and among registrations still
in progress) are refused when the rep files, when the specialist approves and when the code is given,
each naming what it duplicates; a refusal consumes no number.

A change a customer asks for to its registered data (its licence's data and its bank account:
app.domain.dossier_upkeep.REGISTERED_FIELDS; 003: 对申请信息变更的客户要认真审核，严格把关，避免欺诈) goes
through the same check, as the process `customer_data_change`: the rep files what the customer asked
for, the same specialist checks it against the same duplicates (and wants the new licence or ID copy
attached when the name, the licence number or the legal representative changes), and approved, the
service task `apply_customer_changes` writes it into the dossier, each field kept as a dossier change
that the month's report carries to headquarters. The rep cannot type these fields himself.
"""
from __future__ import annotations

import re
import unicodedata
from decimal import Decimal, InvalidOperation

from sqlalchemy import ForeignKey, String, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Mapped, mapped_column

from app import db
from app.domain import dossier_upkeep, org
from app.domain.customers import DIRECT, DISTRIBUTOR, Customer
from app.engine import attachments
from app.engine.models import Event, Instance
from app.engine.plugins import CaseStart, Flow, Process, ServiceCall, ServiceRefused
from app.errors import Conflict, InvalidData
from app.i18n import _l

PROCESS_KEY = "customer_registration"
CHANGE_KEY = "customer_data_change"
KINDS = (DISTRIBUTOR, DIRECT)
# 统一社会信用代码: 18 characters, digits and capital letters.
LICENCE = re.compile(r"^[0-9A-Z]{18}$")
# What the rep types, kept on the customer as typed (the code and the system-generated fields never are).
CUSTOMER_FIELDS = ("name", "kind", "address", "licence_number", "legal_representative", "business_scope",
                   "contact1_name", "contact1_mobile",
                   "contact2_name", "contact2_mobile", "other_contacts", "invoice_type", "monthly_demand_tons",
                   "equipment", "transport")
# The files 001 asks for (营业执照, 法定代表人身份证复印件): each a field of the request form.
DOCUMENTS = ("licence_scan", "id_copy")
REGISTERED = "customer_registered"
CHANGED = "customer_data_changed"
# A change of these needs its proof attached: the new licence, or the new legal representative's ID.
LICENCE_BOUND = ("name", "licence_number", "legal_representative")


class CustomerCodeCounter(db.Model):
    """The last sequence number given in a territory, and the code's prefix there (branch-territory). It
    only ever goes up: numbers are never reused, whatever becomes of the customers that had them."""

    __tablename__ = "customer_code_counters"

    territory_id: Mapped[int] = mapped_column(ForeignKey("org_units.id"), primary_key=True)
    prefix: Mapped[str] = mapped_column(String(24))
    last_sequence: Mapped[int] = mapped_column(default=0)


# -- duplicates ----------------------------------------------------------------------------------

def _same(name: str) -> str:
    """A name as duplicates are judged: full-width and half-width forms alike, no spaces, any case."""
    return re.sub(r"\s+", "", unicodedata.normalize("NFKC", name or "")).casefold()


def licence_of(value) -> str:
    return str(value or "").strip().upper()


def duplicates(name: str, licence: str, *, leave_out: int | None = None,
               customer_id: int | None = None) -> dict[str, list]:
    """Field errors for a registration (or a change) to `name` and `licence` that another customer (not
    `customer_id`, the one changing) or another running registration or change (not case `leave_out`)
    already has: each names the customer's code or the case. An empty name or licence is not looked for."""
    found: dict[str, list] = {}
    wanted = _same(name)
    others = Customer.id != (customer_id or 0)
    if licence:
        holder = db.session.scalar(select(Customer).where(Customer.licence_number == licence, others))
        if holder is not None:
            found["licence_number"] = [_l("Customer %(code)s (%(name)s) has this licence number already.",
                                          code=holder.code, name=holder.name)]
    if wanted:
        for code, existing in db.session.execute(select(Customer.code, Customer.name).where(others)
                                                 .order_by(Customer.code)):
            if _same(existing) == wanted:
                found.setdefault("name", []).append(_l("Customer %(code)s has this name already.", code=code))
                break
    running = db.session.execute(select(Instance.id, Instance.start_data).where(
        Instance.process_key.in_((PROCESS_KEY, CHANGE_KEY)), Instance.ended_at.is_(None),
        Instance.id != (leave_out or 0)).order_by(Instance.id))
    for case_id, data in running:
        data = data or {}  # a change case holds the new values of the fields it changes only
        if licence and "licence_number" not in found and licence_of(data.get("licence_number")) == licence:
            found["licence_number"] = [_l("Case %(id)s for this licence number is in progress.", id=case_id)]
        if wanted and "name" not in found and _same(data.get("name", "")) == wanted:
            found["name"] = [_l("Case %(id)s for this name is in progress.", id=case_id)]
    return found


def _refuse_duplicates(name: str, licence: str, leave_out: int | None, customer_id: int | None = None) -> None:
    found = duplicates(name, licence, leave_out=leave_out, customer_id=customer_id)
    if found:
        raise Conflict(next(iter(found.values()))[0], found)


# -- filing --------------------------------------------------------------------------------------

def territories_of(user: org.User | None) -> list[org.OrgUnit]:
    """The territories whose rep `user` is: where he may register customers."""
    if user is None:
        return []
    return sorted((m.org_unit for m in user.memberships
                   if m.role.code == org.SALES_REP and m.org_unit.kind == org.TERRITORY), key=lambda unit: unit.code)



def prepare_registration(data: dict, user, _now, resubmitting: int | None = None) -> CaseStart:
    """The rep's basic-information form: his own territory, a well-formed licence number, no duplicate.
    The form checked each field; these are the rules every caller meets (the engine's too)."""
    territory = next((t for t in territories_of(user) if t.code == str(data.get("territory", ""))), None)
    if territory is None:
        raise InvalidData.on("territory", _l("Register customers of your own territory only."))
    name = str(data.get("name") or "").strip()
    if not name:
        raise InvalidData.on("name", _l("Give the customer's name."))
    if data.get("kind") not in KINDS:
        raise InvalidData.on("kind", _l("Choose distributor or direct customer."))
    licence = licence_of(data.get("licence_number"))
    if not LICENCE.match(licence):
        raise InvalidData.on("licence_number", _l("A unified social credit code is 18 digits and capital letters."))
    _refuse_duplicates(name, licence, resubmitting)
    branch = territory.parent
    return CaseStart(data={**data, "name": name, "licence_number": licence, "territory_id": territory.id,
                           "territory_code": territory.code, "territory_name": territory.name,
                           "branch_id": branch.id, "branch_code": branch.code, "branch_name": branch.name},
                     business_key=f"licence:{licence}")


def check_before_approval(instance_id: int) -> dict[str, list]:
    """What keeps the specialist from approving case `instance_id`, a registration or a change: a
    duplicate that came meanwhile, or a missing document (a registration needs both files of 001; a
    change of the licence's data needs its proof)."""
    instance = db.session.get(Instance, instance_id)
    data = instance.start_data or {}
    problems = duplicates(data.get("name", ""), licence_of(data.get("licence_number")), leave_out=instance_id,
                          customer_id=instance.customer_id if instance.process_key == CHANGE_KEY else None)
    files = len(attachments.of_case(instance_id))
    if instance.process_key == CHANGE_KEY:
        if set(data.get("changes", {})) & set(LICENCE_BOUND) and not files:
            problems.setdefault("decision", []).append(_l(
                "A change of the name, the licence number or the legal representative needs the new licence "
                "or ID copy attached: send the case back to the rep to attach it."))
    elif files < len(DOCUMENTS):
        problems.setdefault("decision", []).append(_l(
            "The licence scan and the legal representative's ID copy must both be attached: send the case back "
            "to the rep to attach them."))
    return problems


# -- numbering -----------------------------------------------------------------------------------

SEQUENCE = re.compile(r"^(?P<prefix>.+)-(?P<number>\d+)$")


def _prefix(territory: org.OrgUnit) -> str:
    """The code prefix of a territory without a counter yet: as its customers' codes read (HD-E1), else
    its branch's part as its other territories' codes read, with the territory's code."""
    codes = list(db.session.scalars(select(Customer.code).where(Customer.territory_id == territory.id)
                                    .order_by(Customer.code)))
    for code in codes:
        if match := SEQUENCE.match(code):
            return match["prefix"]
    siblings = select(org.OrgUnit.id).where(org.OrgUnit.parent_id == territory.parent_id)
    for code in db.session.scalars(select(Customer.code).where(Customer.territory_id.in_(siblings))
                                   .order_by(Customer.code)):
        if "-" in code:
            return f"{code.split('-', 1)[0]}-{territory.code}"
    return f"{territory.parent.code.upper()}-{territory.code}"


def _highest(prefix: str) -> int:
    numbers = [int(match["number"]) for code in db.session.scalars(
        select(Customer.code).where(Customer.code.like(f"{prefix}-%")))
        if (match := SEQUENCE.match(code)) and match["prefix"] == prefix]
    return max(numbers, default=0)


def _bump(territory_id: int):
    """UPDATE … RETURNING: the row is locked until the transaction ends, so two archivings never get one
    number (SQLite's transactions here are IMMEDIATE, so they queue)."""
    return db.session.execute(
        update(CustomerCodeCounter).where(CustomerCodeCounter.territory_id == territory_id)
        .values(last_sequence=CustomerCodeCounter.last_sequence + 1)
        .returning(CustomerCodeCounter.prefix, CustomerCodeCounter.last_sequence)
        .execution_options(synchronize_session=False)).one_or_none()


def next_code(territory: org.OrgUnit) -> str:
    """The territory's next customer code, e.g. HD-E1-004. A territory's first counter starts above the
    highest number its prefix was given (the demo's, or what came before the counters)."""
    given = _bump(territory.id)
    if given is None:
        prefix = _prefix(territory)
        insert = postgresql.insert if db.dialect() == "postgresql" else sqlite.insert
        # Another transaction may make it first: then this one waits for it and takes its next number.
        db.session.execute(insert(CustomerCodeCounter).values(territory_id=territory.id, prefix=prefix,
                                                              last_sequence=_highest(prefix))
                           .on_conflict_do_nothing(index_elements=["territory_id"]))
        given = _bump(territory.id)
    prefix, number = given
    return f"{prefix}-{number:03d}"


def decimal_or_none(value) -> Decimal | None:
    """A typed number as a Decimal; None for nothing or for what is not a number."""
    try:
        return Decimal(str(value)) if value not in (None, "") else None
    except InvalidOperation:
        return None


def archive(call: ServiceCall) -> dict:
    """Service task `archive_customer`: the customer's row with its new code, in the rep's territory (the
    dossier's owner), kept by the branch's business department; the case is then about that customer."""
    data, case = call.data, call.case
    licence = licence_of(data.get("licence_number"))
    found = check_before_approval(case.instance.id)
    if found:  # the specialist's form says so first; every other caller is refused here
        raise ServiceRefused(next(iter(found.values()))[0])
    territory = db.session.get(org.OrgUnit, data["territory_id"])
    values = {name: data.get(name) or "" for name in CUSTOMER_FIELDS}
    values["monthly_demand_tons"] = decimal_or_none(data.get("monthly_demand_tons"))
    values["licence_number"] = licence
    customer = Customer(code=next_code(territory), territory_id=territory.id, **values)
    db.session.add(customer)
    db.session.flush()
    case.instance.customer_id = customer.id
    department = org.department_of(territory.parent, "business")
    filed_with = department.name if department is not None else territory.parent.name
    case.record(REGISTERED, {"customer_id": customer.id, "code": customer.code, "territory": territory.code,
                             "filed_with": filed_with})
    return {"customer_id": customer.id, "customer_code": customer.code, "filed_with": filed_with}


# -- changes to registered data ----------------------------------------------------------------------

def _registered_value(name: str, value) -> str:
    return licence_of(value) if name == "licence_number" else str(value or "").strip()


def proposed_changes(customer: Customer, data: dict) -> dict[str, dict]:
    """{field: {"old": …, "new": …}} for each registered field `data` gives a value that differs from the
    dossier's (a field `data` leaves out or leaves empty keeps its value: registered data is replaced,
    never blanked)."""
    changes = {}
    for name in dossier_upkeep.REGISTERED_FIELDS:
        old, new = getattr(customer, name) or "", _registered_value(name, data.get(name))
        if new and new != old:
                changes[name] = {"old": old, "new": new}
    return changes


def _running_change(customer_id: int, besides: int | None) -> int | None:
    return db.session.scalar(select(Instance.id).where(
        Instance.process_key == CHANGE_KEY, Instance.customer_id == customer_id, Instance.ended_at.is_(None),
        Instance.id != (besides or 0)).limit(1))


def prepare_change(data: dict, user, _now, resubmitting: int | None = None) -> CaseStart:
    """The rep files the change a customer of his territory asked for: something must differ, a new licence
    number be well-formed, a new name be given, and neither be another's; one change of a customer at a
    time."""
    try:
        customer = db.session.get(Customer, int(data.get("customer_id") or 0))
    except (TypeError, ValueError):
        customer = None
    if customer is None or customer.territory_id not in {t.id for t in territories_of(user)}:
        raise InvalidData.on("customer_id", _l("File changes for customers of your own territory only."))
    changes = proposed_changes(customer, data)
    if not changes:
        raise InvalidData.on("name", _l("Nothing differs from the registered data: change at least one field."))
    if "licence_number" in changes and not LICENCE.match(changes["licence_number"]["new"]):
        raise InvalidData.on("licence_number", _l("A unified social credit code is 18 digits and capital letters."))
    running = _running_change(customer.id, resubmitting)
    if running is not None:
        message = _l("A change of this customer's registered data is in progress (case %(id)s).", id=running)
        raise Conflict.on("customer_id", message)
    new = {name: change["new"] for name, change in changes.items()}
    _refuse_duplicates(new.get("name", ""), new.get("licence_number", ""), resubmitting, customer.id)
    territory = customer.territory
    return CaseStart(data={"customer_id": customer.id, "customer_code": customer.code,
                           "customer_name": customer.name, "branch_id": territory.parent_id,
                           "territory_id": territory.id, "changes": changes,
                           "request_note": str(data.get("request_note") or "").strip(), **new},
                     business_key=f"customer:{customer.code}", customer_id=customer.id)


def apply_change(call: ServiceCall) -> dict:
    """Service task `apply_customer_changes`: the approved change goes into the dossier, each field a dossier
    change in the rep's name; refused (an incident) if a duplicate came meanwhile or the dossier no longer
    holds what the change was asked against."""
    case = call.case
    instance = case.instance
    found = check_before_approval(instance.id)
    if found:
        raise ServiceRefused(next(iter(found.values()))[0])
    customer = db.session.get(Customer, instance.customer_id)
    changes = call.data["changes"]
    stale = sorted(name for name, change in changes.items() if (getattr(customer, name) or "") != change["old"])
    if stale:
        raise ServiceRefused(_l("The dossier changed since the request was filed (%(fields)s): file it again.",
                                fields=", ".join(stale)))
    dossier_upkeep.record(customer, instance.started_by, {name: change["new"] for name, change in changes.items()},
                          case.now)
    case.record(CHANGED, {"customer_id": customer.id, "code": customer.code, "fields": sorted(changes)})
    return {"changed_fields": sorted(changes)}


# -- reading -------------------------------------------------------------------------------------

def registration_of(customer_id: int) -> Instance | None:
    """The case that registered a customer (its dossier shows it with its attachments)."""
    return db.session.scalar(select(Instance).where(Instance.process_key == PROCESS_KEY,
                                                    Instance.customer_id == customer_id)
                             .order_by(Instance.id.desc()).limit(1))


def documents(instance_id: int) -> list:
    """The files attached to a registration or a change case (the licence, the ID copy, the proof)."""
    return attachments.of_case(instance_id)


def result(instance: Instance) -> dict:
    """What an ended registration leads with: the customer and its code, where it is filed, the files."""
    customer = db.session.get(Customer, instance.customer_id) if instance.customer_id else None
    registered = db.session.scalar(select(Event.data).where(Event.instance_id == instance.id,
                                                            Event.type == REGISTERED).limit(1))
    return {"customer": customer, "registered": registered or {},
            "attachments": attachments.of_case(instance.id)}


def change_result(instance: Instance) -> dict:
    """What an ended change leads with: the customer, the fields asked for and whether they went in."""
    customer = db.session.get(Customer, instance.customer_id) if instance.customer_id else None
    applied = db.session.scalar(select(Event.id).where(Event.instance_id == instance.id,
                                                       Event.type == CHANGED).limit(1))
    return {"customer": customer, "changes": (instance.start_data or {}).get("changes", {}),
            "words": dossier_upkeep.REGISTERED_FIELDS, "applied": applied is not None,
            "attachments": attachments.of_case(instance.id)}


FLOW = Flow(
    name="customer_registration",
    processes={PROCESS_KEY: Process(start=prepare_registration, starters=frozenset({org.SALES_REP}),
                                    result=result),
               CHANGE_KEY: Process(start=prepare_change, starters=frozenset({org.SALES_REP}),
                                   result=change_result)},
    forms="forms.registration",
    services={"archive_customer": archive, "apply_customer_changes": apply_change},
    comment_fields=("visit_notes", "request_note"),
    tables=(CustomerCodeCounter,),
    event_words={REGISTERED: _l("Customer archived with its code"),
                 CHANGED: _l("Registered data changed")},
    form_words={
        "customer_registration_request": _l("New customer's basic information"),
        "customer_registration_review": _l("Customer specialist's check of a new customer"),
        "customer_data_change_request": _l("Change of a customer's registered data"),
        "customer_data_change_review": _l("Customer specialist's check of a change of registered data"),
    },
)
