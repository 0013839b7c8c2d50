"""Dossier upkeep (seeds 000, 003): the rep of a territory keeps its dossiers current, and before each
month ends every branch sends headquarters what changed, with a note; HQ sees each change as a diff.

Seed 003's field kinds: static fields (who the customer is: name, address, scope …) and dynamic ones
(status, phone, settlement, route, cycles …) are typed by the rep; the code (the numbering scheme) is
never retyped; system-generated fields (purchase totals, stars, grades, preferences) are computed and
never typed. Every change is kept, field by field, with who made it and when (DossierChange).

The registered data (the business licence's: name, licence number, legal representative, address,
business scope; and the bank account money goes to) is not typed either: a change the customer asks
for goes through the customer specialist's check (app.domain.registration, 003: 对申请信息变更的客户要认真
审核，严格把关，避免欺诈), and approved, it is kept here as a change of kind `registered` like the others.
"""
from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import ForeignKey, Index, String, Text, select, update
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app import db
from app.calendar import local
from app.db_types import UTCDateTime
from app.domain import org
from app.domain.customers import Customer
from app.domain.star_rating import MONTH
from app.engine.plugins import CaseStart, Flow, Process, ServiceCall
from app.errors import InvalidData
from app.i18n import _l

PROCESS_KEY = "dossier_update"

STATIC, DYNAMIC, REGISTERED = "static", "dynamic", "registered"
# The fields a rep types, by kind (the order of the edit form).
FIELDS = {
    STATIC: ("registered_capital_wan", "cooperation_since", "product_lines", "main_products", "downstream_market",
             "contact1_name", "contact1_mobile", "contact2_name", "contact2_mobile", "other_contacts",
             "invoice_type", "monthly_demand_tons", "equipment", "transport"),
    DYNAMIC: ("status", "phone", "settlement_method", "delivery_route", "order_cycle", "visit_cycle"),
}
KIND_OF = {name: kind for kind, names in FIELDS.items() for name in names}
# Changed only through the specialist's check (the process customer_data_change), with their words.
REGISTERED_FIELDS = {"name": _l("Name"), "licence_number": _l("Unified social credit code"),
                     "legal_representative": _l("Legal representative"), "address": _l("Address"),
                     "business_scope": _l("Business scope"), "bank_account": _l("Bank account")}


class DossierChange(db.Model):
    """One field of one dossier changed: before, after, by whom, when; and the monthly report to HQ that
    carried it (None: not reported yet)."""

    __tablename__ = "dossier_changes"
    __table_args__ = (Index("ix_dossier_changes_unreported", "customer_id", "reported_in_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"))
    field: Mapped[str] = mapped_column(String(40))
    kind: Mapped[str] = mapped_column(String(10))  # static | dynamic
    old: Mapped[str] = mapped_column(Text, default="")
    new: Mapped[str] = mapped_column(Text, default="")
    changed_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    changed_at: Mapped[datetime] = mapped_column(UTCDateTime())
    reported_in_id: Mapped[int | None] = mapped_column(ForeignKey("instances.id"), index=True)

    customer: Mapped[Customer] = relationship()
    changed_by: Mapped[org.User] = relationship()


def _text(value) -> str:
    if value is None:
        return ""
    if isinstance(value, date | datetime):
        return value.isoformat()
    if isinstance(value, Decimal):
        return format(value.normalize(), "f") if value == value.to_integral() else str(value)
    return str(value)


def refuse_untyped(names) -> None:
    """InvalidData naming the fields of `names` a rep does not type: the registered data (through the
    specialist's check), the code and the system-generated fields (never)."""
    registered = sorted(set(names) & set(REGISTERED_FIELDS))
    untyped = sorted(set(names) - set(KIND_OF) - set(REGISTERED_FIELDS))
    fields = {}
    if registered:
        message = _l("These are registered data: the customer asks for a change and the customer specialist "
                     "checks it (%(fields)s).", fields=", ".join(registered))
        fields.update({name: [message] for name in registered})
    if untyped:
        message = _l("These fields are not typed: %(fields)s.", fields=", ".join(untyped))
        fields.update({name: [_l("Not a typed field.")] for name in untyped})
    if fields:
        raise InvalidData(message, fields)


def record(customer: Customer, user: org.User, values: dict, now: datetime) -> list[DossierChange]:
    """Set the dossier's fields to `values`, each one that changed a DossierChange row by `user` (of kind
    `registered` for the registered data). Not committed."""
    changes = []
    for name, value in values.items():
        before = getattr(customer, name)
        if _text(before) != _text(value):
            changes.append(DossierChange(customer_id=customer.id, field=name, kind=KIND_OF.get(name, REGISTERED),
                                         old=_text(before), new=_text(value), changed_by_id=user.id,
                                         changed_at=now))
            setattr(customer, name, value)
    db.session.add_all(changes)
    return changes


def edit(customer: Customer, user: org.User, values: dict, now: datetime) -> list[DossierChange]:
    """The owning rep's edit of his dossier (the policy lets only him: seed 000): every field that
    changed becomes a DossierChange row, in one transaction. Fields that are not typed (the registered
    data, the code, system-generated ones) are refused."""
    refuse_untyped(values)
    changes = record(customer, user, values, now)
    db.session.commit()
    return changes


def changes_of(customer_id: int, limit: int = 50) -> list[DossierChange]:
    return list(db.session.scalars(select(DossierChange).where(DossierChange.customer_id == customer_id)
                                   .order_by(DossierChange.changed_at.desc(), DossierChange.id.desc()).limit(limit)))


def reported_in(instance_id: int) -> list[DossierChange]:
    """The changes a monthly report carried, by customer and field."""
    return list(db.session.scalars(select(DossierChange).where(DossierChange.reported_in_id == instance_id)
                                   .order_by(DossierChange.customer_id, DossierChange.changed_at, DossierChange.id)))


# -- the monthly report --------------------------------------------------------------------------

def prepare_start(data: dict, _starter, now: datetime, resubmitting: int | None = None) -> CaseStart:
    """One branch's report of one month, that month or one that has ended; never a second one."""
    branch = org.branch_named(data.get("branch"))
    month = str(data.get("month", "")).strip()
    if not MONTH.match(month) or month > local(now).strftime("%Y-%m"):
        message = _l("Give this month or an earlier one, as YYYY-MM.")
        raise InvalidData.on("month", message)
    return org.branch_month_case(PROCESS_KEY, branch, month, resubmitting, lambda case: _l(
        "%(branch)s already reports %(month)s (case %(id)s).", branch=branch.name, month=month, id=case))


def scheduled_starts(due: datetime) -> list[dict]:
    """What the schedule opens (the 25th of each month): this month's report of every branch."""
    month = local(due).strftime("%Y-%m")
    return [{"branch": code, "month": month} for code in org.unit_codes(org.BRANCH)]


def collect(call: ServiceCall) -> dict:
    """Service task `collect_dossier_changes`: the branch's changes not reported yet go into this report
    (each change goes to HQ once)."""
    case = call.case
    territories = select(org.OrgUnit.id).where(org.OrgUnit.parent_id == call.data["branch_id"])
    customers = select(Customer.id).where(Customer.territory_id.in_(territories))
    result = db.session.execute(update(DossierChange).where(
        DossierChange.customer_id.in_(customers), DossierChange.reported_in_id.is_(None),
        DossierChange.changed_at < case.now).values(reported_in_id=case.instance.id))
    return {"change_count": result.rowcount}


FLOW = Flow(
    name="dossier_update",
    processes={PROCESS_KEY: Process(start=prepare_start, scheduled=scheduled_starts, starters=frozenset({org.ADMIN}))},
    forms="forms.dossier_update",
    services={"collect_dossier_changes": collect},
    tables=(DossierChange,),
    form_words={
        "dossier_update_start": _l("Opening a branch's month report of dossier changes"),
        "dossier_changes_report": _l("Branch's report of dossier changes"),
        "dossier_changes_review": _l("Headquarters' review of dossier changes"),
    },
)
