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
"""
from __future__ import annotations

import re
import unicodedata
from decimal import Decimal, InvalidOperation

from sqlalchemy import ForeignKey, String, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Mapped, mapped_column

from app import db
from app.domain import org
from app.domain.customers import DIRECT, DISTRIBUTOR, Customer
from app.engine import attachments
from app.engine.models import Event, Instance
from app.engine.plugins import CaseStart, Flow, Process, ServiceCall, ServiceRefused
from app.errors import Conflict, InvalidData
from app.i18n import _l

PROCESS_KEY = "customer_registration"
KINDS = (DISTRIBUTOR, DIRECT)
# 统一社会信用代码: 18 characters, digits and capital letters.
LICENCE = re.compile(r"^[0-9A-Z]{18}$")
# What the rep types, kept on the customer as typed (the code and the system-generated fields never are).
CUSTOMER_FIELDS = ("name", "kind", "address", "licence_number", "business_scope", "contact1_name", "contact1_mobile",
                   "contact2_name", "contact2_mobile", "other_contacts", "invoice_type", "monthly_demand_tons",
                   "equipment", "transport")
# The files 001 asks for (营业执照, 法定代表人身份证复印件): each a field of the request form.
DOCUMENTS = ("licence_scan", "id_copy")
REGISTERED = "customer_registered"


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


def duplicates(name: str, licence: str, *, leave_out: int | None = None) -> dict[str, list]:
    """Field errors for a registration of `name` and `licence` that another customer or another running
    registration (not case `leave_out`) already has: each names the customer's code or the case."""
    found: dict[str, list] = {}
    wanted = _same(name)
    if licence:
        holder = db.session.scalar(select(Customer).where(Customer.licence_number == licence))
        if holder is not None:
            found["licence_number"] = [_l("Customer %(code)s (%(name)s) has this licence number already.",
                                          code=holder.code, name=holder.name)]
    if wanted:
        for code, existing in db.session.execute(select(Customer.code, Customer.name).order_by(Customer.code)):
            if _same(existing) == wanted:
                found.setdefault("name", []).append(_l("Customer %(code)s has this name already.", code=code))
                break
    running = db.session.execute(select(Instance.id, Instance.start_data).where(
        Instance.process_key == PROCESS_KEY, Instance.ended_at.is_(None), Instance.id != (leave_out or 0))
        .order_by(Instance.id))
    for case_id, data in running:
        data = data or {}
        if licence and "licence_number" not in found and licence_of(data.get("licence_number")) == licence:
            found["licence_number"] = [_l("Registration case %(id)s of this licence number is in progress.",
                                          id=case_id)]
        if wanted and "name" not in found and _same(data.get("name", "")) == wanted:
            found["name"] = [_l("Registration case %(id)s of this name is in progress.", id=case_id)]
    return found


def _refuse_duplicates(name: str, licence: str, leave_out: int | None) -> None:
    found = duplicates(name, licence, leave_out=leave_out)
    if found:
        raise Conflict(next(iter(found.values()))[0], found)


# -- filing --------------------------------------------------------------------------------------

def territories_of(user: org.User | None) -> list[org.OrgUnit]:
    """The territories whose rep `user` is: where he may register customers."""
    if user is None:
        return []
    return sorted((m.org_unit for m in user.memberships
                   if m.role.code == org.SALES_REP and m.org_unit.kind == org.TERRITORY), key=lambda unit: unit.code)


def _invalid(field: str, message) -> InvalidData:
    return InvalidData(message, {field: [message]})


def prepare_registration(data: dict, user, _now, resubmitting: int | None = None) -> CaseStart:
    """The rep's basic-information form: his own territory, a well-formed licence number, no duplicate.
    The form checked each field; these are the rules every caller meets (the engine's too)."""
    territory = next((t for t in territories_of(user) if t.code == str(data.get("territory", ""))), None)
    if territory is None:
        raise _invalid("territory", _l("Register customers of your own territory only."))
    name = str(data.get("name") or "").strip()
    if not name:
        raise _invalid("name", _l("Give the customer's name."))
    if data.get("kind") not in KINDS:
        raise _invalid("kind", _l("Choose distributor or direct customer."))
    licence = licence_of(data.get("licence_number"))
    if not LICENCE.match(licence):
        raise _invalid("licence_number", _l("A unified social credit code is 18 digits and capital letters."))
    _refuse_duplicates(name, licence, resubmitting)
    branch = territory.parent
    return CaseStart(data={**data, "name": name, "licence_number": licence, "territory_id": territory.id,
                           "territory_code": territory.code, "territory_name": territory.name,
                           "branch_id": branch.id, "branch_code": branch.code, "branch_name": branch.name},
                     business_key=f"licence:{licence}")


def check_before_approval(instance_id: int) -> dict[str, list]:
    """What keeps the specialist from approving case `instance_id`: a duplicate that came meanwhile, or
    a missing document (both files of 001 must be attached)."""
    instance = db.session.get(Instance, instance_id)
    data = instance.start_data or {}
    problems = duplicates(data.get("name", ""), licence_of(data.get("licence_number")), leave_out=instance_id)
    if len(attachments.of_case(instance_id)) < len(DOCUMENTS):
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


def _decimal(value) -> Decimal | None:
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
    values["monthly_demand_tons"] = _decimal(data.get("monthly_demand_tons"))
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


# -- reading -------------------------------------------------------------------------------------

def registration_of(customer_id: int) -> Instance | None:
    """The case that registered a customer (its dossier shows it with its attachments)."""
    return db.session.scalar(select(Instance).where(Instance.process_key == PROCESS_KEY,
                                                    Instance.customer_id == customer_id)
                             .order_by(Instance.id.desc()).limit(1))


def result(instance: Instance) -> dict:
    """What an ended registration leads with: the customer and its code, where it is filed, the files."""
    customer = db.session.get(Customer, instance.customer_id) if instance.customer_id else None
    registered = db.session.scalar(select(Event.data).where(Event.instance_id == instance.id,
                                                            Event.type == REGISTERED).limit(1))
    return {"customer": customer, "registered": registered or {},
            "attachments": attachments.of_case(instance.id)}


FLOW = Flow(
    name="customer_registration",
    processes={PROCESS_KEY: Process(start=prepare_registration, starters=frozenset({org.SALES_REP}),
                                    result=result)},
    forms="forms.registration",
    services={"archive_customer": archive},
    comment_fields=("visit_notes",),
    tables=(CustomerCodeCounter,),
    event_words={REGISTERED: _l("Customer archived with its code")},
    form_words={
        "customer_registration_request": _l("New customer's basic information"),
        "customer_registration_review": _l("Customer specialist's check of a new customer"),
    },
)
