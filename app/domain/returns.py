"""Returns and exchanges (退换货管理, seed 004 "售后服务管理"): "客户进货、存货不满3个月的情况下都应该予以退货或调换,
无条件满足。根据客户的不同情况,规定不同的退换货时间,以防止有些人员恶意退换货行为."

The rep of the customer's territory (or the branch's business department) files what the customer asks:
a return (退货, credited) or an exchange (换货, the same product replaced), of how many tons of which order
(one of the customer's purchase records, by its id), and why: the market moved, the downstream demand was
misjudged, damaged packaging, or another reason in words. Damaged packaging is exchanged, never refunded
(seed: 包装破损……应根据实际情况予以调换): a return for it is refused, with the words to ask for an exchange.
No more tons are asked back than the order delivered (its delivered tons, else its tons) less what other
returns of that order took or are taking back (a withdrawn or rejected one takes nothing; a settled one
what the warehouse received).

processes/return_exchange.bpmn then:
- `check_return_period` registers the request (a `ReturnRequest`) and asks processes/return_period.dmn
  whether it is within the period of its customer's kind and credit grade, from the days the goods were
  held (from the order's delivery, or its order date when no delivery is recorded, to the day filed):
  three months (90 days) for every customer, less for distributors of a low credit grade (B 60, C 30 days);
- within its period it is approved by the system (`approve_return_automatically`, which refuses any case the
  table put outside its period, whatever a definition's gateway says); outside it, the branch's sales
  manager approves or rejects it with a reason (`record_return_decision`);
- the branch's business department (which runs the branch's dispatch and warehouse, 销售调运部) confirms
  what came back: the tons received (a shortfall is recorded, with why) and their condition; then
  `settle_return` records the credit (tons received × the order's unit price) or the replacement (the
  tons received, of the same product), and refuses a case that was neither approved within its period
  nor by the sales manager.
The dossier shows the customer's returns; the failure analysis counts them by reason.
"""
from __future__ import annotations

from collections import Counter
from datetime import date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

from sqlalchemy import Date, ForeignKey, Numeric, String, Text, func, select
from sqlalchemy.orm import Mapped, backref, joinedload, mapped_column, relationship

from app import db
from app.calendar import day_start, local
from app.db_types import UTCDateTime
from app.domain import org
from app.domain.customers import Customer, PurchaseRecord
from app.engine.models import WITHDRAWN, Instance
from app.engine.plugins import CaseStart, Flow, Process, ServiceCall, ServiceRefused
from app.errors import InvalidData
from app.i18n import _l

PROCESS_KEY = "return_exchange"
DECISION = "return_period"
RETURN, EXCHANGE = "return", "exchange"
KINDS = {RETURN: _l("Return (credited)"), EXCHANGE: _l("Exchange (replaced)")}
MARKET, DEMAND, PACKAGING, OTHER = "market_moved", "demand_misjudged", "damaged_packaging", "other"
REASONS = {MARKET: _l("The market moved"), DEMAND: _l("Downstream demand misjudged"),
           PACKAGING: _l("Damaged packaging"), OTHER: _l("Other reason")}
# How a request was approved: by the system within its period, by the sales manager, or rejected by him.
AUTO, MANAGER, REJECTED = "auto", "manager", "rejected"
APPROVALS = {AUTO: _l("Approved by the system: within its period"), MANAGER: _l("Approved by the sales manager"),
             REJECTED: _l("Rejected by the sales manager")}
# What the warehouse found of the goods that came back.
INTACT, PACKAGING_DAMAGED, GOODS_DAMAGED = "intact", "packaging_damaged", "goods_damaged"
CONDITIONS = {INTACT: _l("Intact"), PACKAGING_DAMAGED: _l("Packaging damaged"),
              GOODS_DAMAGED: _l("Goods damaged or contaminated")}
# How a case was settled (the end event's outcome; the gateway after `settle_return` reads it).
CREDITED, EXCHANGED, NOTHING_RECEIVED = "credited", "exchanged", "nothing_received"
TONS = Decimal("0.01")
MAX_TONS = Decimal("100000")
TEXT_MAX = 2000
CHECKED, AUTO_APPROVED, DECIDED, SETTLED = ("return_period_checked", "return_auto_approved", "return_decided",
                                            "return_settled")


class ReturnRequest(db.Model):
    """One return or exchange request (one case), what the period table said, who approved it, what the
    warehouse received and what the customer got for it."""

    __tablename__ = "return_requests"

    id: Mapped[int] = mapped_column(primary_key=True)
    instance_id: Mapped[int] = mapped_column(ForeignKey("instances.id"), unique=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"), index=True)
    purchase_id: Mapped[int] = mapped_column(ForeignKey("purchase_records.id"), index=True)
    branch_id: Mapped[int] = mapped_column(ForeignKey("org_units.id"), index=True)
    kind: Mapped[str] = mapped_column(String(10))  # return | exchange
    reason: Mapped[str] = mapped_column(String(20))  # REASONS
    reason_text: Mapped[str] = mapped_column(Text, default="")  # the words of "other" (or more)
    product: Mapped[str] = mapped_column(String(80))  # the order's
    tons: Mapped[Decimal] = mapped_column(Numeric(12, 2))  # asked back
    requested_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    requested_at: Mapped[datetime] = mapped_column(UTCDateTime())
    # The period: held from the delivery (or the order date), days held when filed, the table's answer.
    held_from: Mapped[date] = mapped_column(Date)
    days_held: Mapped[int]
    period_days: Mapped[int]
    within_period: Mapped[bool]
    table_version: Mapped[str] = mapped_column(String(100), default="")
    # The approval: auto | manager | rejected (None: waiting for the sales manager).
    approval: Mapped[str | None] = mapped_column(String(10))
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    decision_comment: Mapped[str] = mapped_column(Text, default="")
    # What came back, as the warehouse confirmed it.
    received_tons: Mapped[Decimal | None] = mapped_column(Numeric(12, 2))
    shortfall_tons: Mapped[Decimal | None] = mapped_column(Numeric(12, 2))
    condition: Mapped[str | None] = mapped_column(String(20))  # CONDITIONS
    receipt_note: Mapped[str] = mapped_column(Text, default="")
    received_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    received_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # What the customer got: a credit (tons received × the order's unit price), or the same product replaced.
    unit_price_yuan: Mapped[Decimal | None] = mapped_column(Numeric(14, 2))
    credit_yuan: Mapped[Decimal | None] = mapped_column(Numeric(14, 2))
    replacement_tons: Mapped[Decimal | None] = mapped_column(Numeric(12, 2))
    settled_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    # `customer.returns` (newest first) is what the dossier's partial reads.
    customer: Mapped[Customer] = relationship(backref=backref(
        "returns", viewonly=True, order_by="desc(ReturnRequest.id)"))
    purchase: Mapped[PurchaseRecord] = relationship()
    instance: Mapped[Instance] = relationship()
    requested_by: Mapped[org.User] = relationship(foreign_keys=[requested_by_id])
    decided_by: Mapped[org.User | None] = relationship(foreign_keys=[decided_by_id])
    received_by: Mapped[org.User | None] = relationship(foreign_keys=[received_by_id])

    @property
    def kind_words(self) -> str:
        return str(KINDS.get(self.kind, self.kind))

    @property
    def reason_words(self) -> str:
        return str(REASONS.get(self.reason, self.reason))

    @property
    def approval_words(self) -> str:
        return str(APPROVALS[self.approval]) if self.approval in APPROVALS else ""

    @property
    def condition_words(self) -> str:
        return str(CONDITIONS[self.condition]) if self.condition in CONDITIONS else ""


# -- what an order can still give back ----------------------------------------------------------------

def order_tons(purchase: PurchaseRecord) -> Decimal:
    """What the customer got of an order: the tons delivered if recorded, else the tons ordered."""
    return Decimal(purchase.delivered_tons if purchase.delivered_tons is not None else purchase.quantity_tons)


def unit_price(purchase: PurchaseRecord) -> Decimal:
    """The order's price per ton (its amount over its tons ordered), to the fen."""
    if not purchase.quantity_tons:
        return Decimal(0)
    return (Decimal(purchase.amount_yuan) / Decimal(purchase.quantity_tons)).quantize(TONS, ROUND_HALF_UP)


def taken_back(purchase_ids: list[int], leave_out: int | None = None) -> dict[int, Decimal]:
    """The tons of each order that its returns took or are taking back: a settled one what the warehouse
    received, a running one what it asks; a rejected or withdrawn one nothing (nor case `leave_out`)."""
    totals = {purchase_id: Decimal(0) for purchase_id in purchase_ids}
    for purchase_id, tons, received, approval, status in db.session.execute(
            select(ReturnRequest.purchase_id, ReturnRequest.tons, ReturnRequest.received_tons, ReturnRequest.approval,
                   Instance.status).join(Instance, Instance.id == ReturnRequest.instance_id)
            .where(ReturnRequest.purchase_id.in_(purchase_ids), ReturnRequest.instance_id != (leave_out or 0))):
        if status != WITHDRAWN and approval != REJECTED:
            totals[purchase_id] += Decimal(received if received is not None else tons)
    return totals


def returnable(purchase: PurchaseRecord, leave_out: int | None = None, taken: Decimal | None = None) -> Decimal:
    """What an order can still give back (`taken`: its tons taken back, if already counted)."""
    if taken is None:
        taken = taken_back([purchase.id], leave_out)[purchase.id]
    return max(order_tons(purchase) - taken, Decimal(0))


def held_from(purchase: PurchaseRecord) -> date:
    """Goods are held from their delivery; an order without a recorded delivery from its order date."""
    return purchase.delivered_on or purchase.ordered_on


# -- filing --------------------------------------------------------------------------------------------

def may_file_for(user: org.User | None, customer: Customer) -> bool:
    """The rep of the customer's territory, or a supervisor of its branch's business department."""
    if user is None:
        return False
    if user.has_role(org.SALES_REP, customer.territory_id):
        return True
    business = org.department_of(customer.branch, "business")
    return business is not None and user.has_role(org.BUSINESS_SUPERVISOR, business.id)


def customers_for(user: org.User) -> list[Customer]:
    """The customers `user` files returns for (the start form's choices)."""
    territories = [m.org_unit_id for m in user.memberships if m.role.code == org.SALES_REP]
    branches = [m.org_unit.parent_id for m in user.memberships
                if m.role.code == org.BUSINESS_SUPERVISOR and m.org_unit.function == "business"]
    query = (select(Customer).join(org.OrgUnit, Customer.territory_id == org.OrgUnit.id)
             .where(Customer.territory_id.in_(territories) | org.OrgUnit.parent_id.in_(branches))
             .order_by(Customer.code))
    return list(db.session.scalars(query))


def orders_of(customer_ids: list[int]) -> list[PurchaseRecord]:
    """The purchase records a request may name, newest first."""
    if not customer_ids:
        return []
    return list(db.session.scalars(select(PurchaseRecord).where(PurchaseRecord.customer_id.in_(customer_ids))
                                   .order_by(PurchaseRecord.customer_id, PurchaseRecord.ordered_on.desc(),
                                             PurchaseRecord.id.desc())))



def _id(value) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        return 0


def _tons(value) -> Decimal | None:
    try:
        tons = Decimal(str(value)).quantize(TONS, ROUND_HALF_UP)
    except (InvalidOperation, ValueError, TypeError):
        return None
    return tons if tons.is_finite() else None


def _shown(tons: Decimal) -> str:
    return str(Decimal(tons).quantize(TONS))


def _text(value) -> str:
    return str(value or "").strip()


def prepare_request(data: dict, user, now: datetime, resubmitting: int | None = None) -> CaseStart:
    """The rules every request meets, whoever files it (the form checked each field): a customer of the
    filer's territory or branch, one of its own orders, a kind and a reason (damaged packaging is exchanged
    only), and no more tons than the order can still give back."""
    customer = db.session.get(Customer, _id(data.get("customer_id")))
    if customer is None or not may_file_for(user, customer):
        raise InvalidData.on("customer_id", _l("File returns for customers of your own territory or branch only."))
    purchase = db.session.get(PurchaseRecord, _id(data.get("purchase_id")))
    if purchase is None or purchase.customer_id != customer.id:
        raise InvalidData.on("purchase_id", _l("Choose one of this customer's own orders."))
    kind, reason = data.get("kind"), data.get("return_reason")
    if kind not in KINDS:
        raise InvalidData.on("kind", _l("Choose return or exchange."))
    if reason not in REASONS:
        raise InvalidData.on("return_reason", _l("Choose the reason."))
    reason_text = _text(data.get("reason_text"))
    if reason == OTHER and not reason_text:
        raise InvalidData.on("reason_text", _l("Say what the other reason is."))
    if len(reason_text) > TEXT_MAX:
        raise InvalidData.on("reason_text", _l("At most 2,000 characters."))
    if reason == PACKAGING and kind == RETURN:
        raise InvalidData.on("kind", _l("Goods with damaged packaging are exchanged, not refunded: ask for an exchange."))
    tons = _tons(data.get("tons"))
    if tons is None or tons <= 0 or tons > MAX_TONS:
        raise InvalidData.on("tons", _l("Give the tons asked back: more than 0."))
    left = returnable(purchase, leave_out=resubmitting)
    if tons > left:
        raise InvalidData.on("tons", _l("At most %(tons)s tons of this order can still be taken back "
                                  "(%(delivered)s delivered, %(taken)s taken back or being taken back).",
                                  tons=_shown(left), delivered=_shown(order_tons(purchase)),
                                  taken=_shown(order_tons(purchase) - left)))
    if held_from(purchase) > local(now).date():
        raise InvalidData.on("purchase_id", _l("This order is not delivered yet."))
    territory = customer.territory
    return CaseStart(data={
        "customer_id": customer.id, "customer_code": customer.code, "customer_name": customer.name,
        "customer_kind": customer.kind, "credit_grade": customer.credit_grade or "",
        "branch_id": territory.parent_id, "territory_id": territory.id,
        "purchase_id": purchase.id, "product": purchase.product, "ordered_on": purchase.ordered_on.isoformat(),
        "held_from": held_from(purchase).isoformat(), "order_tons": str(order_tons(purchase)),
        "unit_price_yuan": str(unit_price(purchase)),
        "kind": kind, "return_reason": reason, "reason_text": reason_text, "tons": str(tons),
        "note": _text(data.get("note"))[:TEXT_MAX]},
        business_key=f"customer:{customer.code}", customer_id=customer.id)


# -- the services the BPMN calls ------------------------------------------------------------------------

def request_of(instance_id: int) -> ReturnRequest | None:
    return db.session.scalar(select(ReturnRequest).where(ReturnRequest.instance_id == instance_id))


def _the_request(call: ServiceCall) -> ReturnRequest:
    request = request_of(call.case.instance.id)
    if request is None:
        raise ServiceRefused(_l("The case has no return request registered: its period was never checked."))
    return request


def period_inputs(customer_kind: str, credit_grade: str | None, days_held: int) -> dict:
    """What processes/return_period.dmn decides on."""
    return {"customer_kind": customer_kind, "credit_grade": credit_grade or "", "days_held": days_held}


def check_period(call: ServiceCall) -> dict:
    """Service task `check_return_period`: the request's row, with the days held and the period table's
    answer. The order is locked and what it can give back counted again (two requests for one order at
    once are taken one after the other)."""
    data, case = call.data, call.case
    instance = case.instance
    purchase = db.session.scalar(select(PurchaseRecord).where(PurchaseRecord.id == data["purchase_id"])
                                 .with_for_update())
    tons = Decimal(data["tons"])
    if purchase is None or tons > returnable(purchase, leave_out=instance.id):
        raise ServiceRefused(_l("The order cannot give back %(tons)s tons any more.", tons=_shown(tons)))
    since = held_from(purchase)
    days = (local(case.now).date() - since).days
    if call.decide is None:
        raise ServiceRefused(_l("The period check names no decision table."))
    answer = call.decide(period_inputs(data["customer_kind"], data.get("credit_grade"), days))
    if "within_period" not in answer or "period_days" not in answer:
        raise ServiceRefused(_l("The return period table has no rule for this customer."))
    within, period = bool(answer["within_period"]), int(answer["period_days"])
    definition = instance.definition
    # A request sent back and filed again is checked again: its row says what it asks now, undecided.
    request = request_of(instance.id) or ReturnRequest(instance_id=instance.id)
    for name, value in dict(
            customer_id=data["customer_id"], purchase_id=purchase.id, branch_id=data["branch_id"], kind=data["kind"],
            reason=data["return_reason"], reason_text=data.get("reason_text") or "", product=purchase.product,
            tons=tons, requested_by_id=instance.started_by_id, requested_at=case.now, held_from=since,
            days_held=days, period_days=period, within_period=within,
            table_version=f"{definition.key} v{definition.version}", approval=None, decided_by_id=None,
            decided_at=None, decision_comment="").items():
        setattr(request, name, value)
    db.session.add(request)
    case.record(CHECKED, {"days_held": days, "period_days": period, "within_period": within}, system=True)
    return {"days_held": days, "period_days": period, "within_period": within}


def approve_automatically(call: ServiceCall) -> dict:
    """Service task `approve_return_automatically`: within its period a request is approved without
    conditions (seed 004); one the table put outside its period never is, whatever the gateway said."""
    request, case = _the_request(call), call.case
    if not request.within_period:
        raise ServiceRefused(_l("This request is outside its return period: only the sales manager approves it."))
    request.approval, request.decided_at = AUTO, case.now
    case.record(AUTO_APPROVED, {"days_held": request.days_held, "period_days": request.period_days}, system=True)
    return {"approval": AUTO}


def record_decision(call: ServiceCall) -> dict:
    """Service task `record_return_decision`: the sales manager's approval or rejection, with his words."""
    request, case = _the_request(call), call.case
    approved = call.data.get("decision") == "approve"
    request.approval = MANAGER if approved else REJECTED
    request.decided_by_id = case.actor.id if case.actor else None
    request.decided_at, request.decision_comment = case.now, _text(call.data.get("comment"))
    case.record(DECIDED, {"approval": request.approval})
    return {"approval": request.approval}


def settle(call: ServiceCall) -> dict:
    """Service task `settle_return`: what the warehouse received, and the credit or the replacement for it.
    Refused for a request approved neither within its period nor by the sales manager."""
    request, case, data = _the_request(call), call.case, call.data
    if not ((request.approval == AUTO and request.within_period) or request.approval == MANAGER):
        raise ServiceRefused(_l("The request was not approved: outside its period the sales manager decides."))
    received = _tons(data.get("received_tons"))
    if received is None or received < 0 or received > request.tons:
        raise ServiceRefused(_l("The tons received must be between 0 and the tons asked back."))
    request.received_tons, request.shortfall_tons = received, request.tons - received
    request.condition, request.receipt_note = data.get("condition"), _text(data.get("note"))
    request.received_by_id = case.actor.id if case.actor else None
    request.received_at = request.settled_at = case.now
    request.unit_price_yuan = unit_price(request.purchase)
    if received == 0:
        settled = NOTHING_RECEIVED
    elif request.kind == RETURN:
        request.credit_yuan = (received * request.unit_price_yuan).quantize(TONS, ROUND_HALF_UP)
        settled = CREDITED
    else:
        request.replacement_tons = received
        settled = EXCHANGED
    figures = {"received_tons": str(received), "shortfall_tons": str(request.shortfall_tons),
               "credit_yuan": str(request.credit_yuan) if request.credit_yuan is not None else None,
               "replacement_tons": str(received) if settled == EXCHANGED else None, "settled_as": settled}
    case.record(SETTLED, figures)
    return figures


# -- reading ---------------------------------------------------------------------------------------------

def of_customer(customer_id: int) -> list[ReturnRequest]:
    return list(db.session.scalars(select(ReturnRequest).where(ReturnRequest.customer_id == customer_id)
                                   .order_by(ReturnRequest.id.desc())))


def result(instance: Instance) -> dict:
    """What an ended return leads with: the request, its approval, what came back and what it gave."""
    return {"request": request_of(instance.id)}


def _filed(query, branch_ids: frozenset[int] | None, since: date | None, until: date | None):
    """`query` narrowed to requests filed from `since` to `until` (company days, both included) in the
    branches (None: all), not withdrawn ones."""
    query = query.join(Instance, Instance.id == ReturnRequest.instance_id).where(Instance.status != WITHDRAWN)
    if branch_ids is not None:
        query = query.where(ReturnRequest.branch_id.in_(branch_ids))
    if since is not None:
        query = query.where(ReturnRequest.requested_at >= day_start(since))
    if until is not None:
        query = query.where(ReturnRequest.requested_at < day_start(until + timedelta(days=1)))
    return query


def by_reason(branch_ids: frozenset[int] | None, since: date | None = None,
              until: date | None = None) -> Counter:
    """Requests filed from `since` to `until` in the branches, by reason, whatever became of them. Every
    reason is there, 0 if none."""
    query = _filed(select(ReturnRequest.reason, func.count(ReturnRequest.id)), branch_ids, since, until)
    counts = Counter({reason: 0 for reason in REASONS})
    counts.update(dict(db.session.execute(query.group_by(ReturnRequest.reason)).all()))
    return counts


def filed(branch_ids: frozenset[int] | None, since: date | None = None,
          until: date | None = None) -> list[ReturnRequest]:
    """The requests filed from `since` to `until` in the branches, with their customers, oldest first."""
    query = _filed(select(ReturnRequest), branch_ids, since, until).options(joinedload(ReturnRequest.customer))
    return list(db.session.scalars(query.order_by(ReturnRequest.requested_at, ReturnRequest.id)))


FLOW = Flow(
    name="return_exchange",
    processes={PROCESS_KEY: Process(start=prepare_request,
                                    starters=frozenset({org.SALES_REP, org.BUSINESS_SUPERVISOR}), result=result)},
    forms="forms.returns",
    services={"check_return_period": check_period, "approve_return_automatically": approve_automatically,
              "record_return_decision": record_decision, "settle_return": settle},
    comment_fields=("reason_text", "note"),
    tables=(ReturnRequest,),
    event_words={CHECKED: _l("Return period checked"), AUTO_APPROVED: _l("Approved by the system within its period"),
                 DECIDED: _l("Sales manager decided the return"), SETTLED: _l("Goods received and settled")},
    outcome_words={CREDITED: _l("Returned and credited"), EXCHANGED: _l("Exchanged"),
                   NOTHING_RECEIVED: _l("Nothing came back")},
    form_words={
        "return_request": _l("Return or exchange request"),
        "return_decision": _l("Sales manager's decision on a return"),
        "return_receipt": _l("Warehouse confirmation of goods returned"),
    },
)
