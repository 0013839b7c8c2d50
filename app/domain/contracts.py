"""Contracts (合同管理, seed 001 §9): the review before signing, and the tracking of a signed contract.

Before signing, the rep of the customer's territory files the contract on the company's template approved
by the legal department (TEMPLATES), with every term the seed names (product, specification, quantity,
quality, price, settlement, both sides' rights and duties, dispute resolution), its payment instalments
and the documents due with their dates, and what he checked about the counterparty (9.1): its legal
personality, its business rights and its capacity to perform, each confirmed with what he saw; its credit
standing is the grade the quarterly credit rating gave it (Customer.credit_grade), shown, never typed;
and the signer, the legal representative or an agent whose authorisation is valid, with the document
attached (the legal representative's certificate or ID, or the power of attorney). Nothing is filed
without it.

processes/contract_review.bpmn: the legal department reviews (or refuses, or sends it back to the rep),
the department head approves (the sales manager of the customer's branch: the rep's department), and,
above the amount the process states, the deputy general manager in charge too. Then the rep signs, and
`register_contract` keeps the contract (refused, into an incident, without a legal department member's
approval since the request was last filed, or without the signer's document: `signing_refusal`; and
deploying refuses a version where signing can be reached without both reviews: `check_definition`).

Signed, the branch's contract administrator tracks it (9.3): deliveries come from the customer's purchase
records of the contract's product within its period, payments are entered (ContractPayment), documents
are marked received. The process waits for each due date in turn (a timer on `next_due_on`); at the end
of a due day a payment short of what is due by then, or a document not in, goes at once to the department
head (a notice in his inbox), and the rep and the administrators are told. The administrator closes the
contract as fulfilled (only when nothing is outstanding) or as terminated, with the reason.
"""
from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal, InvalidOperation

from sqlalchemy import Date, ForeignKey, Numeric, String, Text, select
from sqlalchemy.orm import Mapped, joinedload, mapped_column, relationship

from app import db
from app.calendar import local
from app.db_types import JSONDoc, UTCDateTime
from app.domain import assignment, org
from app.domain.customers import Customer, PurchaseRecord
from app.engine import attachments, projection
from app.engine.definitions import Problem
from app.engine.models import Event, Instance
from app.engine.parser import ApprovalUserTask, TopicServiceTask
from app.engine.plugins import (
    Assignment,
    AssignmentError,
    CaseStart,
    Flow,
    Process,
    ServiceCall,
    ServiceRefused,
)
from app.engine.validation import ways_to
from app.errors import Conflict, InvalidData, NotFound
from app.i18n import _l

PROCESS_KEY = "contract_review"
# The company's contract templates the legal department approved (公司经法务部门审核的书面制式合同文本).
TEMPLATES = {"HT-CPY-2026": _l("Oil products sales contract, 2026 edition (HT-CPY-2026)")}
PRODUCTS = ("0号柴油", "92号汽油", "95号汽油")
LEGAL_REPRESENTATIVE, AUTHORISED_AGENT = "legal_representative", "authorised_agent"
SIGNER_CAPACITIES = {LEGAL_REPRESENTATIVE: _l("Legal representative"),
                     AUTHORISED_AGENT: _l("Agent with a power of attorney")}
# What the rep confirms he checked about the counterparty (9.1), each with what he saw.
CHECKS = {
    "legal_personality": _l("Legal personality (法人资格)"),
    "business_rights": _l("Business rights (经营权)"),
    "capacity": _l("Capacity to perform (履约能力)"),
}
PAYMENT, DOCUMENT = "payment", "document"
SIGNED, FULFILLED, TERMINATED = "signed", "fulfilled", "terminated"
FULFILLED_OUTCOME, TERMINATED_OUTCOME = "contract_fulfilled", "contract_terminated"  # the case's end events
STATUS_WORDS = {SIGNED: _l("Signed, being performed"), FULFILLED: _l("Fulfilled"), TERMINATED: _l("Terminated")}
CENT = Decimal("0.01")

# Events and topics
SIGNED_EVENT, OVERDUE_EVENT, CLOSED_EVENT = "contract_signed", "contract_overdue", "contract_closed"
REGISTER_TOPIC = "register_contract"
LEGAL_RULE, HEAD_RULE = "hq_legal", "contract_department_head"
# Notification kind (app.domain.notifications.TEXTS)
OVERDUE_NOTICE = "contract_overdue"


class Contract(db.Model):
    """A signed contract, kept by `register_contract` from the case that reviewed it."""

    __tablename__ = "contracts"

    id: Mapped[int] = mapped_column(primary_key=True)
    instance_id: Mapped[int] = mapped_column(ForeignKey("instances.id"), unique=True)
    number: Mapped[str] = mapped_column(String(40), unique=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"), index=True)
    branch_id: Mapped[int] = mapped_column(ForeignKey("org_units.id"), index=True)
    template: Mapped[str] = mapped_column(String(40))
    product: Mapped[str] = mapped_column(String(80))
    specification: Mapped[str] = mapped_column(String(200))
    quantity_tons: Mapped[Decimal] = mapped_column(Numeric(12, 2))
    quality: Mapped[str] = mapped_column(Text)
    unit_price_yuan: Mapped[Decimal] = mapped_column(Numeric(12, 2))
    amount_yuan: Mapped[Decimal] = mapped_column(Numeric(14, 2))
    settlement: Mapped[str] = mapped_column(Text)
    rights_duties: Mapped[str] = mapped_column(Text)
    dispute_resolution: Mapped[str] = mapped_column(Text)
    starts_on: Mapped[date] = mapped_column(Date)
    ends_on: Mapped[date] = mapped_column(Date)
    signer_name: Mapped[str] = mapped_column(String(60))
    signer_capacity: Mapped[str] = mapped_column(String(30))
    # What the rep checked about the counterparty, with the credit grade it had then.
    checks: Mapped[dict] = mapped_column(JSONDoc, default=dict)
    signed_on: Mapped[date] = mapped_column(Date)
    signed_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    status: Mapped[str] = mapped_column(String(20), default=SIGNED)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    closed_note: Mapped[str] = mapped_column(Text, default="")

    customer: Mapped[Customer] = relationship(lazy="joined")
    branch: Mapped[org.OrgUnit] = relationship()
    signed_by: Mapped[org.User | None] = relationship()
    items: Mapped[list[ContractDueItem]] = relationship(
        back_populates="contract", order_by="(ContractDueItem.due_on, ContractDueItem.id)")
    payments: Mapped[list[ContractPayment]] = relationship(
        back_populates="contract", order_by="(ContractPayment.paid_on, ContractPayment.id)")


class ContractDueItem(db.Model):
    """What a contract says is due by a date: an instalment of its price, or a document to hand in."""

    __tablename__ = "contract_due_items"

    id: Mapped[int] = mapped_column(primary_key=True)
    contract_id: Mapped[int] = mapped_column(ForeignKey("contracts.id"), index=True)
    kind: Mapped[str] = mapped_column(String(10))  # payment | document
    due_on: Mapped[date] = mapped_column(Date)
    amount_yuan: Mapped[Decimal | None] = mapped_column(Numeric(14, 2))  # an instalment's
    title: Mapped[str] = mapped_column(String(200), default="")  # a document's
    received_on: Mapped[date | None] = mapped_column(Date)  # a document's, once in
    received_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    checked_at: Mapped[datetime | None] = mapped_column(UTCDateTime())  # its due date's check ran
    overdue: Mapped[bool] = mapped_column(default=False)  # outstanding at that check: reported to the head

    contract: Mapped[Contract] = relationship(back_populates="items")


class ContractPayment(db.Model):
    """A payment received against a contract, entered by the contract administrator. Never changed."""

    __tablename__ = "contract_payments"

    id: Mapped[int] = mapped_column(primary_key=True)
    contract_id: Mapped[int] = mapped_column(ForeignKey("contracts.id"), index=True)
    paid_on: Mapped[date] = mapped_column(Date)
    amount_yuan: Mapped[Decimal] = mapped_column(Numeric(14, 2))
    reference: Mapped[str] = mapped_column(String(120), default="")
    entered_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    entered_at: Mapped[datetime] = mapped_column(UTCDateTime())

    contract: Mapped[Contract] = relationship(back_populates="payments")
    entered_by: Mapped[org.User] = relationship()


# -- who ---------------------------------------------------------------------------------------------

def territories_of(user: org.User | None) -> list[org.OrgUnit]:
    """The territories whose rep `user` is: whose customers' contracts he files."""
    if user is None:
        return []
    return sorted((m.org_unit for m in user.memberships if m.role.code == org.SALES_REP
                   and m.org_unit.kind == org.TERRITORY), key=lambda unit: unit.code)


def customers_of(user: org.User) -> list[Customer]:
    territories = [t.id for t in territories_of(user)]
    return list(db.session.scalars(select(Customer).where(Customer.territory_id.in_(territories),
                                                          Customer.potential.is_(False))
                                   .order_by(Customer.code))) if territories else []


def _legal_department() -> org.OrgUnit:
    hq = org.headquarters()
    department = org.department_of(hq, "legal") if hq is not None else None
    if department is None:
        raise AssignmentError("headquarters has no legal department")
    return department


def _case_branch(data: dict) -> org.OrgUnit:
    branch = db.session.get(org.OrgUnit, data.get("branch_id"))
    if branch is None or branch.kind != org.BRANCH:
        raise AssignmentError(f"the case names no known branch ({data.get('branch_id')!r})")
    return branch


def hq_legal(data: dict) -> Assignment:
    """The legal department (法务部门) at headquarters: any of its members claims the review."""
    return Assignment(candidate_role=org.LEGAL, candidate_org_unit_id=_legal_department().id)


def department_head(data: dict) -> Assignment:
    """The department head (部门领导) of a contract: the sales manager of the customer's branch, who leads
    the rep's department; late payments and documents go to him."""
    branch = _case_branch(data)
    return assignment.the_one(org.SALES_MANAGER, branch.id)


def branch_contract_admin(data: dict) -> Assignment:
    """The contract administrators (合同管理人员) of the customer's branch."""
    return Assignment(candidate_role=org.CONTRACT_ADMIN, candidate_org_unit_id=_case_branch(data).id)


def _holds_in_branch(user: org.User, roles: set[str], branch: org.OrgUnit) -> bool:
    return any(m.role.code in roles and org.branch_of(m.org_unit) == branch for m in user.memberships)


# Who reads every contract, and who reads those of his own branch.
ALL_CONTRACT_READERS = frozenset({org.LEGAL, org.DEPUTY_GM, org.LEADERSHIP, org.AUDITOR, org.ADMIN})
BRANCH_CONTRACT_READERS = frozenset({org.CONTRACT_ADMIN, org.SALES_MANAGER, org.BRANCH_MANAGER})


def may_see(user: org.User, customer: Customer) -> bool:
    """A customer's contracts: the rep of its territory, its branch's contract administrators, sales
    manager and manager; the legal department, the deputy general manager, company leaders, compliance
    reviewers and process administrators. Not a rep of another territory, even with the dossier on loan."""
    if user.role_codes() & ALL_CONTRACT_READERS:
        return True
    if any(m.role.code == org.SALES_REP and m.org_unit_id == customer.territory_id for m in user.memberships):
        return True
    return _holds_in_branch(user, set(BRANCH_CONTRACT_READERS), customer.branch)


def may_track(user: org.User, customer: Customer | None = None) -> bool:
    """Enter payments and documents received: the contract administrators of the customer's branch (with
    no customer: of any branch)."""
    if customer is None:
        return org.CONTRACT_ADMIN in user.role_codes()
    return _holds_in_branch(user, {org.CONTRACT_ADMIN}, customer.branch)


def may_list(user: org.User) -> bool:
    return bool(user.role_codes() & (ALL_CONTRACT_READERS | BRANCH_CONTRACT_READERS)) or bool(territories_of(user))


def visible(user: org.User, customer_id: int | None = None) -> list[Contract]:
    """The contracts `user` may see (of one customer, if asked), newest first."""
    query = select(Contract).order_by(Contract.signed_on.desc(), Contract.id.desc())
    if customer_id is not None:
        query = query.where(Contract.customer_id == customer_id)
    return [contract for contract in db.session.scalars(query) if may_see(user, contract.customer)]


def get(contract_id: int) -> Contract:
    contract = db.session.get(Contract, contract_id)
    if contract is None:
        raise NotFound(_l("No such contract."))
    return contract


def of_case(instance_id: int) -> Contract | None:
    return db.session.scalar(select(Contract).where(Contract.instance_id == instance_id))


def reviews_of(customer_id: int) -> list[Instance]:
    """The customer's contract reviews not yet signed (running, or ended without a contract)."""
    signed = select(Contract.instance_id)
    return list(db.session.scalars(select(Instance).where(
        Instance.process_key == PROCESS_KEY, Instance.customer_id == customer_id, Instance.id.not_in(signed))
        .order_by(Instance.id.desc())))


# -- filing --------------------------------------------------------------------------------------


def _decimal(value, field: str, label) -> Decimal:
    try:
        number = Decimal(str(value)).quantize(CENT)
    except (InvalidOperation, TypeError, ValueError):
        raise InvalidData.on(field, _l("%(what)s is not a number.", what=label)) from None
    if number <= 0:
        raise InvalidData.on(field, _l("%(what)s must be more than 0.", what=label))
    return number


def _day(value, field: str) -> date:
    try:
        return value if isinstance(value, date) else date.fromisoformat(str(value)[:10])
    except ValueError:
        raise InvalidData.on(field, _l("Not a date.")) from None


def _blank(row: dict) -> bool:
    return all(value in (None, "") for value in (row or {}).values())


def products() -> list[str]:
    """The products a contract may name: the company's, and any its purchase records know."""
    known = set(db.session.scalars(select(PurchaseRecord.product).distinct()))
    return sorted(set(PRODUCTS) | known)


def amount_of(quantity: Decimal, price: Decimal) -> Decimal:
    return (quantity * price).quantize(CENT)


def prepare_contract(data: dict, user, now: datetime, resubmitting: int | None = None) -> CaseStart:
    """The rep's contract review request: a customer of his own territory, the approved template, every
    term, instalments adding up to the price, documents with their dates, the counterparty's checks
    confirmed, and the signer's capacity (an agent's authorisation valid today). The form checked each
    field; these are the rules every caller meets (the engine's too)."""
    try:
        customer = db.session.get(Customer, int(data.get("customer_id") or 0))
    except (TypeError, ValueError):
        customer = None
    if customer is None or customer.territory_id not in {t.id for t in territories_of(user)}:
        raise InvalidData.on("customer_id", _l("File contracts for customers of your own territory only."))
    if customer.potential:
        raise InvalidData.on("customer_id", _l("A potential customer has no dossier to sign with yet."))
    if data.get("contract_template") not in TEMPLATES:
        raise InvalidData.on("contract_template", _l("Use a contract template the legal department approved."))
    if data.get("product") not in products():
        raise InvalidData.on("product", _l("Unknown product."))
    for name in ("specification", "quality", "settlement", "rights_duties", "dispute_resolution", "signer_name"):
        if not str(data.get(name) or "").strip():
            raise InvalidData.on(name, _l("This field is required."))
    for name in CHECKS:
        if data.get(f"{name}_checked") is not True or not str(data.get(f"{name}_note") or "").strip():
            raise InvalidData.on(f"{name}_checked", _l("Check this about the counterparty and say what you saw: a "
                                                 "contract is not filed without it."))
    quantity = _decimal(data.get("quantity_tons"), "quantity_tons", _l("The quantity"))
    price = _decimal(data.get("unit_price_yuan"), "unit_price_yuan", _l("The price"))
    amount = amount_of(quantity, price)
    starts_on, ends_on = _day(data.get("starts_on"), "starts_on"), _day(data.get("ends_on"), "ends_on")
    if ends_on < starts_on:
        raise InvalidData.on("ends_on", _l("The contract cannot end before it starts."))
    today = local(now).date()
    capacity = data.get("signer_capacity")
    if capacity not in SIGNER_CAPACITIES:
        raise InvalidData.on("signer_capacity", _l("Say whether the signer is the legal representative or an agent."))
    valid_until = None
    if capacity == AUTHORISED_AGENT:
        if data.get("authorisation_valid_until") in (None, ""):
            raise InvalidData.on("authorisation_valid_until", _l("Give the date the power of attorney is valid until."))
        valid_until = _day(data.get("authorisation_valid_until"), "authorisation_valid_until")
        if valid_until < today:
            raise InvalidData.on("authorisation_valid_until", _l("The power of attorney has expired: the agent may not sign."))
    elif customer.legal_representative and str(data.get("signer_name")).strip() != customer.legal_representative:
        raise InvalidData.on("signer_name", _l("The dossier names %(name)s as the legal representative: an agent needs "
                                         "a power of attorney.", name=customer.legal_representative))
    payments = []
    for row in data.get("payments") or []:
        if _blank(row):
            continue
        due_on = _day(row.get("due_on"), "payments")
        if due_on < starts_on:
            raise InvalidData.on("payments", _l("An instalment cannot be due before the contract starts."))
        payments.append({"due_on": due_on.isoformat(),
                         "amount_yuan": str(_decimal(row.get("amount_yuan"), "payments", _l("An instalment")))})
    if not payments:
        raise InvalidData.on("payments", _l("Give at least one instalment with its due date."))
    total = sum(Decimal(row["amount_yuan"]) for row in payments)
    if total != amount:
        raise InvalidData.on("payments", _l("The instalments add up to %(total)s yuan, the contract to %(amount)s yuan.",
                                      total=f"{total:,.2f}", amount=f"{amount:,.2f}"))
    documents = []
    for row in data.get("documents") or []:
        if _blank(row):
            continue
        title = str(row.get("title") or "").strip()
        if not title or row.get("due_on") in (None, ""):
            raise InvalidData.on("documents", _l("Each document needs its name and its due date."))
        due_on = _day(row.get("due_on"), "documents")
        if due_on < starts_on:
            raise InvalidData.on("documents", _l("A document cannot be due before the contract starts."))
        documents.append({"title": title, "due_on": due_on.isoformat()})
    branch = customer.branch
    facts = {
        "customer_id": customer.id, "customer_code": customer.code, "customer_name": customer.name,
        "territory_id": customer.territory_id, "branch_id": branch.id, "branch_name": branch.name,
        # The credit standing the system knows (seed 001's quarterly rating), never typed.
        "credit_grade": customer.credit_grade or "",
        "quantity_tons": str(quantity), "unit_price_yuan": str(price), "amount_yuan": str(amount),
        # For the process's gateway on the amount (a number; the text above is what people read).
        "amount_value": float(amount),
        "starts_on": starts_on.isoformat(), "ends_on": ends_on.isoformat(),
        "authorisation_valid_until": valid_until.isoformat() if valid_until else None,
        "payments": payments, "documents": documents,
    }
    return CaseStart(data={**data, **facts}, business_key=f"customer:{customer.code}", customer_id=customer.id)


# -- what signing needs --------------------------------------------------------------------------------

def _decided_steps(instance: Instance, history: list[tuple]) -> list[tuple[int, int | None, dict]]:
    """The approval steps decided since the request was last (re)filed, each with its newest decision:
    (task id, who decided, the decision's data)."""
    since = max((i for i, (event_type, *_rest) in enumerate(history) if event_type == "request_resubmitted"),
                default=-1)
    steps = {task.id for task in projection.case_rows(instance.id) if task.approval}
    last: dict[int, tuple] = {}
    for event_type, task_id, actor_id, data in history[since + 1:]:
        if event_type == "task_completed" and task_id in steps:
            last[task_id] = (task_id, actor_id, (data or {}).get("form_data") or {})
    return list(last.values())


def legal_approval(instance: Instance, history: list[tuple]) -> bool:
    """Whether a member of the legal department approved the contract as it was last filed."""
    legal = _legal_department_id()
    for _task_id, actor_id, form_data in _decided_steps(instance, history):
        actor = db.session.get(org.User, actor_id) if actor_id else None
        if form_data.get("decision") == "approve" and actor is not None and actor.has_role(org.LEGAL, legal):
            return True
    return False


def _legal_department_id() -> int | None:
    hq = org.headquarters()
    department = org.department_of(hq, "legal") if hq is not None else None
    return department.id if department else None


def saved_history(instance_id: int) -> list[tuple]:
    return [tuple(row) for row in db.session.execute(
        select(Event.type, Event.task_id, Event.actor_id, Event.data).where(Event.instance_id == instance_id)
        .order_by(Event.id))]


NO_LEGAL_REVIEW = _l("A contract is not signed without the legal department's review: no legal department "
                     "member has approved it as it was last filed.")
NO_SIGNER_DOCUMENT = _l("The signer's document (the legal representative's certificate or the power of "
                        "attorney) must be attached before the contract is reviewed or signed.")


def document_refusal(instance_id: int):
    return None if attachments.of_case(instance_id) else NO_SIGNER_DOCUMENT


def signing_refusal(instance: Instance, history: list[tuple], signed_on: date | None = None):
    """Why the contract of this case may not be signed (a message), or None: the legal department's
    approval, the signer's document, and an agent's authorisation still valid on the signing day."""
    if not legal_approval(instance, history):
        return NO_LEGAL_REVIEW
    refusal = document_refusal(instance.id)
    if refusal:
        return refusal
    data = instance.start_data or {}
    valid_until = data.get("authorisation_valid_until")
    if signed_on is not None and valid_until and signed_on > date.fromisoformat(valid_until):
        return _l("The agent's power of attorney was valid until %(day)s: it cannot sign on %(signed)s.",
                  day=valid_until, signed=signed_on.isoformat())
    return None


def signing_refusal_of(instance_id: int, signed_on: date | None = None):
    """`signing_refusal` of case `instance_id` as its saved history stands (the signing form asks)."""
    return signing_refusal(db.session.get(Instance, instance_id), saved_history(instance_id), signed_on)


def documents_of(instance_id: int) -> list:
    """The files attached to a contract review (the signer's document among them)."""
    return attachments.of_case(instance_id)


def _number(customer: Customer, instance_id: int, signed_on: date) -> str:
    prefix = customer.code.split("-", 1)[0] if "-" in customer.code else customer.branch.code.upper()
    return f"HT-{prefix}-{signed_on.year}-{instance_id:05d}"


def register(call: ServiceCall) -> dict:
    """Service task `register_contract`: the signed contract, its instalments and documents due, kept; refused
    (an incident, nothing kept) without the legal department's approval or the signer's document."""
    data, case = call.data, call.case
    instance = case.instance
    signed_on = _day(data.get("signed_on") or local(case.now).date(), "signed_on")
    refusal = signing_refusal(instance, case.history(), signed_on)
    if refusal:
        raise ServiceRefused(refusal)
    filed = instance.start_data or {}
    customer = db.session.get(Customer, filed["customer_id"])
    contract = Contract(
        instance_id=instance.id, number=_number(customer, instance.id, signed_on), customer_id=customer.id,
        branch_id=customer.branch.id, template=filed["contract_template"], product=filed["product"],
        specification=filed["specification"], quantity_tons=Decimal(filed["quantity_tons"]),
        quality=filed["quality"], unit_price_yuan=Decimal(filed["unit_price_yuan"]),
        amount_yuan=Decimal(filed["amount_yuan"]), settlement=filed["settlement"],
        rights_duties=filed["rights_duties"], dispute_resolution=filed["dispute_resolution"],
        starts_on=date.fromisoformat(filed["starts_on"]), ends_on=date.fromisoformat(filed["ends_on"]),
        signer_name=filed["signer_name"], signer_capacity=filed["signer_capacity"],
        checks={**{name: filed.get(f"{name}_note", "") for name in CHECKS}, "credit_grade": filed.get("credit_grade", ""),
                "credit_note": filed.get("credit_note", ""),
                "authorisation_valid_until": filed.get("authorisation_valid_until")},
        signed_on=signed_on, signed_by_id=case.actor.id if case.actor else None, status=SIGNED)
    contract.items = ([ContractDueItem(kind=PAYMENT, due_on=date.fromisoformat(row["due_on"]),
                                       amount_yuan=Decimal(row["amount_yuan"])) for row in filed.get("payments", [])]
                      + [ContractDueItem(kind=DOCUMENT, due_on=date.fromisoformat(row["due_on"]), title=row["title"])
                         for row in filed.get("documents", [])])
    db.session.add(contract)
    db.session.flush()
    case.record(SIGNED_EVENT, {"contract_id": contract.id, "number": contract.number,
                               "signed_on": signed_on.isoformat(), "amount_yuan": str(contract.amount_yuan)})
    return {"contract_id": contract.id, "contract_number": contract.number}


# -- tracking ------------------------------------------------------------------------------------------

def _contract_of_case(call: ServiceCall) -> Contract:
    contract = of_case(call.case.instance.id)
    if contract is None:
        raise ServiceRefused(_l("The case has no signed contract."))
    return contract


def next_due(call: ServiceCall) -> dict:
    """Service task `next_contract_due`: the next date something of the contract falls due that has not been
    checked yet (None: nothing more is due, the wait ends)."""
    contract = _contract_of_case(call)
    pending = [item.due_on for item in contract.items if item.checked_at is None]
    return {"next_due_on": min(pending).isoformat() if pending and contract.status == SIGNED else None}


def paid_total(contract: Contract) -> Decimal:
    return sum((payment.amount_yuan for payment in contract.payments), Decimal("0"))


def due_by(contract: Contract, day: date) -> Decimal:
    return sum((item.amount_yuan for item in contract.items if item.kind == PAYMENT and item.due_on <= day),
               Decimal("0"))


def check_due(call: ServiceCall) -> dict:
    """Service task `check_contract_due`, at the end of a due day: what fell due that day and is not in (the
    payments short of what is due by then, the documents not received) is marked overdue, recorded, and the
    rep and the contract administrators are told; `overdue` sends it to the department head."""
    case = call.case
    contract = _contract_of_case(call)
    day = date.fromisoformat(call.data["next_due_on"])
    batch = [item for item in contract.items if item.checked_at is None and item.due_on <= day]
    short = due_by(contract, day) - paid_total(contract)
    late = []
    for item in batch:
        item.checked_at = case.now
        if contract.status != SIGNED:
            continue
        if item.kind == PAYMENT and short > 0:
            item.overdue = True
            late.append({"kind": PAYMENT, "due_on": item.due_on.isoformat(), "amount_yuan": str(item.amount_yuan)})
        elif item.kind == DOCUMENT and item.received_on is None:
            item.overdue = True
            late.append({"kind": DOCUMENT, "due_on": item.due_on.isoformat(), "title": item.title})
    if not late:
        return {"overdue": False}
    words = []
    if any(entry["kind"] == PAYMENT for entry in late):
        words.append(str(_l("%(short)s yuan of the %(due)s due by %(day)s not paid", short=f"{short:,.2f}",
                            due=f"{due_by(contract, day):,.2f}", day=day.isoformat())))
    words += [str(_l("document “%(title)s” not handed in", title=entry["title"])) for entry in late
              if entry["kind"] == DOCUMENT]
    note = "; ".join(words)
    case.record(OVERDUE_EVENT, {"contract_id": contract.id, "number": contract.number, "due_on": day.isoformat(),
                                "short_yuan": str(max(short, Decimal("0"))), "items": late}, system=True)
    told = [*org.member_ids(org.SALES_REP, contract.customer.territory_id),
            *org.member_ids(org.CONTRACT_ADMIN, contract.branch_id)]
    case.uow.ext.notify(told, OVERDUE_NOTICE, case.now, instance_id=case.instance.id,
                        task=f"{contract.number} {contract.customer.name}", comment=note)
    return {"overdue": True, "overdue_note": note, "overdue_on": day.isoformat()}


def late_instalments(branch_ids: frozenset[int] | None, since: date | None = None,
                     until: date | None = None) -> list[ContractDueItem]:
    """The instalments found unpaid on their due day (from `since` to `until`, both included) in the
    branches (None: all), with their contracts: what the failure analysis counts as late payments."""
    query = (select(ContractDueItem).join(Contract, Contract.id == ContractDueItem.contract_id)
             .options(joinedload(ContractDueItem.contract))
             .where(ContractDueItem.kind == PAYMENT, ContractDueItem.overdue.is_(True))
             .order_by(ContractDueItem.due_on, ContractDueItem.id))
    if branch_ids is not None:
        query = query.where(Contract.branch_id.in_(branch_ids))
    if since is not None:
        query = query.where(ContractDueItem.due_on >= since)
    if until is not None:
        query = query.where(ContractDueItem.due_on <= until)
    return list(db.session.scalars(query))


def outstanding(contract: Contract, today: date) -> dict:
    """What the contract shows: delivered against contracted tons (from the purchase records), paid against
    due (by today, and in all), the documents still to come, and what is overdue."""
    deliveries = deliveries_of(contract)
    delivered = sum((r.delivered_tons for r in deliveries if r.delivered_on is not None and r.delivered_tons),
                    Decimal("0"))
    paid = paid_total(contract)
    due_now = due_by(contract, today)
    documents = [item for item in contract.items if item.kind == DOCUMENT]
    return {
        "contracted_tons": contract.quantity_tons, "delivered_tons": delivered,
        "tons_to_deliver": max(contract.quantity_tons - delivered, Decimal("0")),
        "amount_yuan": contract.amount_yuan, "due_yuan": due_now, "paid_yuan": paid,
        "overdue_yuan": max(due_now - paid, Decimal("0")), "unpaid_yuan": max(contract.amount_yuan - paid, Decimal("0")),
        "documents_missing": [item for item in documents if item.received_on is None],
        "documents_overdue": [item for item in documents if item.received_on is None and item.due_on < today],
        "deliveries": deliveries,
    }


def is_outstanding(figures: dict) -> bool:
    return bool(figures["tons_to_deliver"] > 0 or figures["unpaid_yuan"] > 0 or figures["documents_missing"])


def deliveries_of(contract: Contract) -> list[PurchaseRecord]:
    """The customer's purchase records of the contract's product ordered within its period."""
    return list(db.session.scalars(select(PurchaseRecord).where(
        PurchaseRecord.customer_id == contract.customer_id, PurchaseRecord.product == contract.product,
        PurchaseRecord.ordered_on >= contract.starts_on, PurchaseRecord.ordered_on <= contract.ends_on)
        .order_by(PurchaseRecord.ordered_on, PurchaseRecord.id)))


def record_payment(contract: Contract, user: org.User, values: dict, now: datetime) -> ContractPayment:
    """A payment received: on a contract being performed, not ahead of today nor before the signing, never
    more than what is still unpaid."""
    if contract.status != SIGNED:
        raise Conflict(_l("Contract %(number)s is closed: no more payments are entered.", number=contract.number))
    paid_on = _day(values.get("paid_on"), "paid_on")
    if paid_on > local(now).date():
        raise InvalidData.on("paid_on", _l("A payment cannot be received in the future."))
    if paid_on < contract.signed_on:
        raise InvalidData.on("paid_on", _l("A payment cannot be received before the contract was signed (%(day)s).",
                                     day=contract.signed_on.isoformat()))
    amount = _decimal(values.get("amount_yuan"), "amount_yuan", _l("The amount"))
    unpaid = contract.amount_yuan - paid_total(contract)
    if amount > unpaid:
        raise InvalidData.on("amount_yuan", _l("Only %(unpaid)s yuan of the contract is unpaid.", unpaid=f"{unpaid:,.2f}"))
    payment = ContractPayment(contract=contract, paid_on=paid_on, amount_yuan=amount,
                              reference=str(values.get("reference") or "").strip(), entered_by_id=user.id,
                              entered_at=now)
    db.session.add(payment)
    db.session.commit()
    return payment


def record_document(contract: Contract, user: org.User, values: dict, now: datetime) -> ContractDueItem:
    """A document of the contract handed in, on the day it came (not ahead of today), once."""
    try:
        item_id = int(values.get("item_id") or 0)
    except (TypeError, ValueError):
        item_id = 0
    item = next((i for i in contract.items if i.id == item_id and i.kind == DOCUMENT), None)
    if item is None:
        raise InvalidData.on("item_id", _l("The contract has no such document."))
    if item.received_on is not None:
        raise Conflict(_l("“%(title)s” was received on %(day)s already.", title=item.title,
                          day=item.received_on.isoformat()))
    received_on = _day(values.get("received_on"), "received_on")
    if received_on > local(now).date():
        raise InvalidData.on("received_on", _l("A document cannot be received in the future."))
    item.received_on, item.received_by_id = received_on, user.id
    db.session.commit()
    return item


def close(call: ServiceCall) -> dict:
    """Service task `close_contract`: the administrator's closing, fulfilled or terminated with the reason."""
    case = call.case
    contract = _contract_of_case(call)
    decision = call.data.get("decision")
    contract.status = FULFILLED if decision == "fulfilled" else TERMINATED
    contract.closed_at, contract.closed_note = case.now, str(call.data.get("comment") or "")
    case.record(CLOSED_EVENT, {"contract_id": contract.id, "number": contract.number, "status": contract.status})
    return {}


def result(instance: Instance) -> dict:
    """What an ended contract review leads with: the contract, if one was signed, and its figures."""
    contract = of_case(instance.id)
    return {"contract": contract, "status_words": STATUS_WORDS,
            "figures": outstanding(contract, local(instance.ended_at).date()) if contract else None}


def overdue_contracts(branch_ids: set[int] | None = None) -> list[Contract]:
    """Contracts being performed with something reported overdue (for lists)."""
    query = select(Contract).where(Contract.status == SIGNED, Contract.id.in_(
        select(ContractDueItem.contract_id).where(ContractDueItem.overdue.is_(True))))
    if branch_ids is not None:
        query = query.where(Contract.branch_id.in_(branch_ids))
    return list(db.session.scalars(query))


# -- what any version of the process must keep ---------------------------------------------------------

REVIEW_STEPS = {
    "legal": lambda spec: isinstance(spec, ApprovalUserTask) and LEGAL_RULE in (spec.candidate_rule or ""),
    "head": lambda spec: isinstance(spec, ApprovalUserTask) and spec.assignee_rule == HEAD_RULE,
}
DEPLOY_WORDS = {
    "legal": 'the legal department\'s review (an approval user task with camunda:candidateGroups="hq_legal")',
    "head": 'the department head\'s approval (an approval user task with camunda:assignee="contract_department_head")',
}


def _registers(spec) -> bool:
    return isinstance(spec, TopicServiceTask) and spec.topic == REGISTER_TOPIC


def check_definition(specs: list) -> list[Problem]:
    """Deploying refuses a contract review version where a contract can be signed (`register_contract`)
    on a path from the start that passes no legal review or no department head's approval; and one that
    signs in a subprocess or a called process."""
    process, *others = specs
    problems = [Problem(task_spec.name, "the contract is registered in the contract review process itself, "
                                        "after its reviews, not in a subprocess or a called process")
                for other in others for task_spec in other.task_specs.values() if _registers(task_spec)]
    for target, ways in sorted(ways_to(process, _registers, REVIEW_STEPS).items()):
        lacking = [level for level in REVIEW_STEPS if any(level not in passed for passed in ways)]
        if lacking:
            problems.append(Problem(target, "a contract can be signed on a path from the start without "
                                    + "; ".join(DEPLOY_WORDS[level] for level in lacking)
                                    + ": every path to it must pass the reviews the company requires"))
    if not ways_to(process, _registers, REVIEW_STEPS):
        problems.append(Problem(process.name, f"no path reaches a {REGISTER_TOPIC} service task: a contract "
                                              "review must end in a signed contract when it is approved"))
    return problems


FLOW = Flow(
    name="contract_review",
    processes={PROCESS_KEY: Process(start=prepare_contract, starters=frozenset({org.SALES_REP}),
                                    check=check_definition, sensitive=True, result=result)},
    forms="forms.contracts",
    person_rules={HEAD_RULE: department_head},
    group_rules={LEGAL_RULE: hq_legal, "branch_contract_admin": branch_contract_admin},
    services={REGISTER_TOPIC: register, "next_contract_due": next_due, "check_contract_due": check_due,
              "close_contract": close},
    comment_fields=("legal_personality_note", "business_rights_note", "capacity_note", "credit_note"),
    tables=(Contract, ContractDueItem, ContractPayment),
    event_words={SIGNED_EVENT: _l("Contract signed and registered"),
                 OVERDUE_EVENT: _l("Payment or document overdue: reported to the department head"),
                 CLOSED_EVENT: _l("Contract closed")},
    # Their own codes: "terminated" is already an administrator's termination of any case.
    outcome_words={FULFILLED_OUTCOME: _l("Contract fulfilled"), TERMINATED_OUTCOME: _l("Contract terminated")},
    rule_words={
        HEAD_RULE: _l("Department head of the contract (sales manager of the customer's branch)"),
        LEGAL_RULE: _l("Headquarters' legal department"),
        "branch_contract_admin": _l("Contract administrators of the case's branch"),
    },
    form_words={
        "contract_review_request": _l("Contract review request"),
        "contract_legal_review": _l("Legal department's review of a contract"),
        "contract_approval": _l("Approval of a contract"),
        "contract_signing": _l("Signing a contract"),
        "contract_overdue_notice": _l("A contract's payment or document is overdue"),
        "contract_close": _l("Closing a contract"),
    },
)
