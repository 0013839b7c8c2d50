"""Customer classes (seeds 002, 003), computed from the purchase records and kept as history.

- ABC by purchase amount (002 "按客户购买产品金额进行组织"): a branch's customers ranked by what they
  bought in the last 12 full months, largest first; with `share_before` the share of the branch's amount
  bought by the customers ranked above one, processes/customer_abc.dmn gives A to the customers making
  the first 70 % (share_before < 70), B to the next 20 %, C to the rest (and to one that bought nothing).
- Volume tier (003 "客户分级"): eight tiers by the monthly average tons over the same 12 months, three
  above a threshold and five below it (processes/volume_tier.dmn; the seed's are cigarettes in 件, ours
  read tons: 1 ≥ 500, 2 ≥ 300, 3 ≥ 100 — the threshold —, 4 ≥ 50, 5 ≥ 20, 6 ≥ 10, 7 ≥ 5, 8 below).

A process administrator edits the boundaries in the decision tables, which deploy with
processes/customer_classes.bpmn; the schedule of that process recomputes every branch on the 1st of each
month. A row of `customer_classes` is written only when a customer's class changes (or is first given);
a move is an event of the recomputing case and its territory's sales rep is told.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import ForeignKey, Index, String, func, select
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app import db
from app.calendar import local
from app.db_types import JSONDoc, UTCDateTime
from app.domain import org
from app.domain.customers import Customer, PurchaseRecord
from app.engine import queries
from app.engine.plugins import CaseStart, Flow, Process, ServiceCall
from app.errors import Conflict, Forbidden, InvalidData
from app.i18n import _l

PROCESS_KEY = "customer_classes"
ABC, VOLUME, ATTITUDE = "abc", "volume", "attitude"
DECISIONS = {ABC: "customer_abc", VOLUME: "volume_tier"}  # the decision of each kind, in its .dmn
OUTPUTS = {ABC: "abc_class", VOLUME: "tier"}  # the output of each decision table
KINDS = {ABC: _l("ABC class by purchase amount"), VOLUME: _l("Volume tier"), ATTITUDE: _l("Attitude")}
# Attitude (seed 002 "按客户对待产品的态度"): set by the territory's rep with a reason when he judges it.
LOYAL, SWITCHING, NO_LOYALTY = "loyal", "switching", "no_loyalty"
ATTITUDES = {LOYAL: _l("Loyal customer"), SWITCHING: _l("Brand-switching customer"),
             NO_LOYALTY: _l("No brand loyalty")}
VALUES = {ABC: ("A", "B", "C"), VOLUME: tuple(str(tier) for tier in range(1, 9)), ATTITUDE: tuple(ATTITUDES)}
WINDOW_MONTHS = 12  # the classes read the last 12 full months before the day they are computed for
MOVED = "customer_class_changed"  # the event and the notification of a customer moving class



class CustomerClass(db.Model):
    """A class a customer was given, of one kind, with the figures that gave it; a new row only when the
    class changes (or the first time). The latest row of a kind is the customer's current class."""

    __tablename__ = "customer_classes"
    __table_args__ = (Index("ix_customer_classes_customer_kind", "customer_id", "kind", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"))
    kind: Mapped[str] = mapped_column(String(10))  # abc | volume | attitude
    value: Mapped[str] = mapped_column(String(10))  # A/B/C, the tier 1-8, or an attitude
    previous: Mapped[str | None] = mapped_column(String(10))  # the class it moved from (None: the first)
    # What gave it: amounts, shares, tons, as text; an attitude's {"reason": the rep's words}.
    figures: Mapped[dict] = mapped_column(JSONDoc)
    computed_at: Mapped[datetime] = mapped_column(UTCDateTime())
    # The decision table's version: the process version whose .dmn decided (and its case).
    definition_id: Mapped[int | None] = mapped_column(ForeignKey("process_definitions.id"))
    table_version: Mapped[str] = mapped_column(String(100), default="")
    instance_id: Mapped[int | None] = mapped_column(ForeignKey("instances.id"))
    # The latest recomputation that kept the class, with its figures (None: none since it was given).
    confirmed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    confirmed_figures: Mapped[dict | None] = mapped_column(JSONDoc)
    set_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))  # an attitude's rep

    customer: Mapped[Customer] = relationship()
    set_by: Mapped[org.User | None] = relationship()

    @property
    def latest_figures(self) -> dict:
        return self.confirmed_figures or self.figures


# -- the figures ---------------------------------------------------------------------------------------

def window(as_of: date) -> tuple[date, date]:
    """The 12 full months before `as_of`'s month: [start, end)."""
    end = as_of.replace(day=1)
    index = end.year * 12 + end.month - 1 - WINDOW_MONTHS
    return date(index // 12, index % 12 + 1, 1), end


def _branch_ids(branch_id: int | None) -> list[int]:
    if branch_id is not None:
        return [branch_id]
    return list(db.session.scalars(select(org.OrgUnit.id).where(org.OrgUnit.kind == org.BRANCH)
                                   .order_by(org.OrgUnit.code)))


def _bought(branch_id: int, as_of: date) -> list[tuple[int, str, Decimal, Decimal]]:
    """Every customer of the branch with what it bought in the window: (id, code, yuan, tons)."""
    start, end = window(as_of)
    territory = select(org.OrgUnit.id).where(org.OrgUnit.parent_id == branch_id)
    bought = (select(PurchaseRecord.customer_id, func.sum(PurchaseRecord.amount_yuan).label("yuan"),
                     func.sum(PurchaseRecord.quantity_tons).label("tons"))
              .where(PurchaseRecord.ordered_on >= start, PurchaseRecord.ordered_on < end)
              .group_by(PurchaseRecord.customer_id).subquery())
    rows = db.session.execute(
        select(Customer.id, Customer.code, func.coalesce(bought.c.yuan, 0), func.coalesce(bought.c.tons, 0))
        .outerjoin(bought, bought.c.customer_id == Customer.id)
        .where(Customer.territory_id.in_(territory)))
    return [(cid, code, Decimal(yuan), Decimal(tons)) for cid, code, yuan, tons in rows]


def _period(as_of: date) -> dict:
    start, end = window(as_of)
    last = date(end.year - (end.month == 1), (end.month - 2) % 12 + 1, 1)
    return {"from": start.isoformat()[:7], "to": last.isoformat()[:7], "months": WINDOW_MONTHS}


def abc_figures(branch_id: int, as_of: date) -> dict[int, dict]:
    """Each customer of the branch: its amount, its rank, its share and the share of those above it."""
    rows = sorted(_bought(branch_id, as_of), key=lambda row: (-row[2], row[1]))
    total = sum((row[2] for row in rows), Decimal(0))
    figures, running = {}, Decimal(0)
    for rank, (customer_id, _code, yuan, _tons) in enumerate(rows, start=1):
        share = yuan * 100 / total if total else Decimal(0)
        before = running * 100 / total if total else Decimal(0)
        running += yuan
        figures[customer_id] = {**_period(as_of), "amount_yuan": str(yuan.quantize(Decimal("0.01"))),
                                "branch_amount_yuan": str(total.quantize(Decimal("0.01"))), "rank": rank,
                                "customers": len(rows), "share": _percent(share), "share_before": _percent(before),
                                "share_through": _percent(before + share)}
    return figures


def volume_figures(branch_id: int, as_of: date) -> dict[int, dict]:
    """Each customer of the branch: the tons bought in the window and their monthly average."""
    return {customer_id: {**_period(as_of), "tons": str(tons),
                          "monthly_tons": str((tons / WINDOW_MONTHS).quantize(Decimal("0.001")))}
            for customer_id, _code, _yuan, tons in _bought(branch_id, as_of)}


def _percent(value: Decimal) -> str:
    return str(value.quantize(Decimal("0.0001")))


def decision_inputs(kind: str, figures: dict) -> dict:
    """What a kind's decision table decides on."""
    if kind == ABC:
        return {"amount": float(figures["amount_yuan"]), "share_before": float(figures["share_before"])}
    return {"monthly_tons": float(figures["monthly_tons"])}


FIGURES = {ABC: abc_figures, VOLUME: volume_figures}


def compute(kind: str, as_of: date, decide: Callable[[dict], dict], branch_id: int | None = None
            ) -> dict[int, tuple[str, dict]]:
    """The class of `kind` of every customer of a branch (or of every branch) as of a day, from the
    purchase records: {customer id: (class, figures)}; `decide(inputs)` applies the kind's decision."""
    classes = {}
    for branch in _branch_ids(branch_id):
        for customer_id, figures in FIGURES[kind](branch, as_of).items():
            value = str(decide(decision_inputs(kind, figures))[OUTPUTS[kind]] or "")
            classes[customer_id] = (value, {**figures, "as_of": as_of.isoformat()})
    return classes


@dataclass(frozen=True)
class Move:
    customer_id: int
    kind: str
    previous: str | None
    value: str


def store(kind: str, classes: dict[int, tuple[str, dict]], now: datetime, *, definition_id: int | None = None,
          table_version: str = "", instance_id: int | None = None) -> list[Move]:
    """Keep what `compute` gave: a row where the class is new or changed, the figures of a kept class on
    its current row; the moves (a first class is no move)."""
    current = _current_rows(kind, list(classes))
    moves = []
    for customer_id, (value, figures) in sorted(classes.items()):
        row = current.get(customer_id)
        if row is not None and row.value == value:
            row.confirmed_at, row.confirmed_figures = now, figures
            continue
        db.session.add(CustomerClass(customer_id=customer_id, kind=kind, value=value, figures=figures,
                                     previous=row.value if row else None, computed_at=now,
                                     definition_id=definition_id, table_version=table_version,
                                     instance_id=instance_id))
        if row is not None:
            moves.append(Move(customer_id, kind, row.value, value))
    db.session.flush()
    return moves


def _latest_ids(kind: str | None = None):
    statement = select(func.max(CustomerClass.id)).group_by(CustomerClass.customer_id, CustomerClass.kind)
    return statement.where(CustomerClass.kind == kind) if kind else statement


def _current_rows(kind: str, customer_ids: list[int]) -> dict[int, CustomerClass]:
    if not customer_ids:
        return {}
    return {row.customer_id: row for row in db.session.scalars(
        select(CustomerClass).where(CustomerClass.id.in_(_latest_ids(kind)),
                                    CustomerClass.customer_id.in_(customer_ids)))}


# -- reading them ------------------------------------------------------------------------------------------

def current_classes(customer_id: int) -> dict[str, CustomerClass]:
    """The customer's current class of each kind it has one of: {kind: row}."""
    return {row.kind: row for row in db.session.scalars(
        select(CustomerClass).where(CustomerClass.id.in_(_latest_ids()),
                                    CustomerClass.customer_id == customer_id))}


def history(customer_id: int) -> list[CustomerClass]:
    """Every class the customer was given, newest first."""
    return list(db.session.scalars(select(CustomerClass).where(CustomerClass.customer_id == customer_id)
                                   .order_by(CustomerClass.computed_at.desc(), CustomerClass.id.desc())))


def customers_in_class(kind: str, value: str):
    """A select of the ids of the customers whose current class of `kind` is `value` (for `in_`)."""
    return select(CustomerClass.customer_id).where(CustomerClass.id.in_(_latest_ids(kind)),
                                                   CustomerClass.value == value)


def filter_customers(statement, abc: str | None = None, tier: str | None = None, attitude: str | None = None):
    """A select of customers narrowed to those whose current ABC class is `abc`, volume tier `tier` and
    attitude `attitude` (each if given and known; an unknown value is ignored)."""
    for kind, value in ((ABC, abc), (VOLUME, tier), (ATTITUDE, attitude)):
        if value and value in VALUES[kind]:
            statement = statement.where(Customer.id.in_(customers_in_class(kind, value)))
    return statement


def value_words(kind: str, value: str | None) -> str:
    if not value:
        return "—"
    if kind == ATTITUDE:
        return str(ATTITUDES.get(value, value))
    return str(_l("Class %(value)s", value=value) if kind == ABC else _l("Tier %(value)s", value=value))


def set_attitude(customer: Customer, value: str, reason: str, by: org.User, now: datetime) -> CustomerClass:
    """The territory's rep judges the customer's attitude (seed 002), with a reason, kept with the day: a
    new row when it changes (or the first time); the same judgement again confirms the current one with
    the new reason. Not committed."""
    if by.id not in {user.id for user in org.users_with_role(org.SALES_REP, customer.territory_id)}:
        raise Forbidden(_l("Only the sales rep of the customer's territory judges its attitude."))
    if value not in ATTITUDES:
        raise InvalidData(_l("Unknown attitude."), {"attitude": [_l("Unknown attitude.")]})
    reason = (reason or "").strip()
    if not reason or len(reason) > 1000:
        message = _l("Give the reason for the attitude (at most 1,000 characters).")
        raise InvalidData(message, {"reason": [message]})
    figures = {"reason": reason, "as_of": local(now).date().isoformat()}
    row = _current_rows(ATTITUDE, [customer.id]).get(customer.id)
    if row is not None and row.value == value:
        row.confirmed_at, row.confirmed_figures = now, figures
        return row
    row_ = CustomerClass(customer_id=customer.id, kind=ATTITUDE, value=value, figures=figures,
                         previous=row.value if row else None, computed_at=now, set_by_id=by.id)
    db.session.add(row_)
    db.session.flush()
    return row_


def dossier_context(customer_id: int) -> dict:
    """What templates/customers/_classes.html reads."""
    return {"classes": current_classes(customer_id), "class_history": history(customer_id),
            "class_kinds": KINDS, "class_words": value_words}


# -- the process -------------------------------------------------------------------------------------------

def _branch(code) -> org.OrgUnit:
    branch = db.session.scalar(select(org.OrgUnit).where(org.OrgUnit.code == str(code or ""),
                                                         org.OrgUnit.kind == org.BRANCH))
    if branch is None:
        raise InvalidData(_l("Unknown branch."), {"branch": [_l("Unknown branch.")]})
    return branch


def prepare_start(data: dict, _starter, now: datetime, resubmitting: int | None = None) -> CaseStart:
    """A recomputation of one branch's classes as of a day (today if none), never twice for one day."""
    branch = _branch(data.get("branch"))
    try:
        as_of = date.fromisoformat(str(data.get("as_of") or local(now).date().isoformat()))
    except ValueError:
        raise InvalidData(_l("Write the day as YYYY-MM-DD."), {"as_of": [_l("Write the day as YYYY-MM-DD.")]}) from None
    if as_of > local(now).date():
        message = _l("Classes are computed for today or a day before.")
        raise InvalidData(message, {"as_of": [message]})
    unique_key = f"{PROCESS_KEY}:{branch.code}:{as_of.isoformat()}"
    existing = queries.case_with_key(unique_key, besides=resubmitting)
    if existing is not None:
        message = _l("%(branch)s's classes were already computed for %(day)s (case %(id)s).",
                     branch=branch.name, day=as_of.isoformat(), id=existing)
        raise Conflict(message, {"as_of": [message]})
    return CaseStart(data={"branch_id": branch.id, "branch_code": branch.code, "branch_name": branch.name,
                           "as_of": as_of.isoformat()},
                     business_key=f"branch:{branch.code}", unique_key=unique_key)


def scheduled_starts(due: datetime) -> list[dict]:
    """What the schedule opens (the 1st of each month): every branch's classes as of that day."""
    day = local(due).date().isoformat()
    return [{"branch": code, "as_of": day} for code in org.unit_codes(org.BRANCH)]


def _classify(kind: str, call: ServiceCall) -> dict:
    data, case = call.data, call.case
    instance = case.instance
    definition = instance.definition
    classes = compute(kind, date.fromisoformat(data["as_of"]), call.decide, data["branch_id"])
    moves = store(kind, classes, case.now, definition_id=definition.id, instance_id=instance.id,
                  table_version=f"{definition.key} v{definition.version}")
    for move in moves:
        customer = db.session.get(Customer, move.customer_id)
        case.record(MOVED, {"customer_id": customer.id, "customer_code": customer.code, "kind": move.kind,
                            "from": move.previous, "to": move.value}, system=True)
        reps = [user.id for user in org.users_with_role(org.SALES_REP, customer.territory_id)]
        case.uow.ext.notify(reps, MOVED, case.now, instance_id=instance.id,
                            task=f"{customer.code} {customer.name} · {KINDS[kind]}: "
                                 f"{value_words(kind, move.previous)} → {value_words(kind, move.value)}")
    return {f"{kind}_classified": len(classes), f"{kind}_moved": len(moves)}


def classify_abc(call: ServiceCall) -> dict:
    """Service task `classify_customers_abc`: the branch's ABC classes (processes/customer_abc.dmn)."""
    return _classify(ABC, call)


def classify_volume(call: ServiceCall) -> dict:
    """Service task `classify_customers_volume`: the branch's volume tiers (processes/volume_tier.dmn)."""
    return _classify(VOLUME, call)


FLOW = Flow(
    name="customer_classes",
    processes={PROCESS_KEY: Process(start=prepare_start, scheduled=scheduled_starts,
                                    starters=frozenset({org.ADMIN}))},
    services={"classify_customers_abc": classify_abc, "classify_customers_volume": classify_volume},
    tables=(CustomerClass,),
    event_words={MOVED: _l("Customer class changed")},
    outcome_words={"classes_recomputed": _l("Classes recomputed")},
)
