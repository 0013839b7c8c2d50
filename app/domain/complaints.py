"""Customer complaints (客户投诉, seed 004, DOMAIN §5).

Whoever receives a complaint records it and it goes at once to the sales manager of the customer's
branch, who acknowledges it, investigates and classifies it (a decision table proposes the class).
General complaints the sales manager handles; major ones go to the deputy general manager in charge
(主管副经理), who sets a plan, has it carried out and confirms it. The customer is always told the
result; a customer who is not satisfied sends a general case up to the deputy once. The flow is
processes/complaint_handling.bpmn; this module keeps one `Complaint` row per case (what the failure
analysis counts) and the services the flow calls. Nothing about a complaint is ever deleted.
"""
from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal

from sqlalchemy import ForeignKey, String, Text, func, select
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app import db
from app.calendar import COMPANY_TZ
from app.db_types import UTCDateTime
from app.domain import credit_rating, org, star_rating
from app.domain.assignment import person_named
from app.domain.customers import Customer
from app.domain.patrols import copy_to_relationship_manager
from app.engine.models import Event
from app.engine.plugins import CaseStart, Flow, Process, ServiceCall
from app.errors import InvalidData
from app.i18n import _l

PROCESS_KEY = "complaint_handling"
CHANNELS = ("in_person", "phone", "letter", "email", "meeting", "visit")
CATEGORIES = ("product_quality", "delivery", "price_billing", "service_attitude", "other")
GENERAL, MAJOR = "general", "major"
SATISFIED, NOT_SATISFIED = "satisfied", "not_satisfied"
REPEAT_WINDOW = timedelta(days=90)
IS_COMPLAINT, NOT_A_COMPLAINT = "complaint", "not_a_complaint"  # the sales manager's acknowledgement
# Seed 004: 不论处理得怎样，都要把结果反馈给客户，最忌讳投诉没有下文.
NEVER_WITHDRAWN = _l("A complaint is never withdrawn: whatever happens, the customer is told the result. One "
                     "recorded by mistake is closed by the sales manager as not a complaint, with the reason.")


class Complaint(db.Model):
    __tablename__ = "complaints"

    id: Mapped[int] = mapped_column(primary_key=True)
    instance_id: Mapped[int] = mapped_column(ForeignKey("instances.id"), unique=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"), index=True)
    branch_id: Mapped[int] = mapped_column(ForeignKey("org_units.id"), index=True)
    received_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    channel: Mapped[str] = mapped_column(String(20))
    category: Mapped[str] = mapped_column(String(30))
    content: Mapped[str] = mapped_column(Text)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)  # when the customer complained
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime())  # when it was recorded here
    # A complaint by the same customer within 90 days before this one.
    repeat: Mapped[bool] = mapped_column(default=False)
    acknowledged_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    acknowledged_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    # Investigation
    findings: Mapped[str] = mapped_column(Text, default="")
    responsible: Mapped[str] = mapped_column(String(200), default="")  # person or unit at fault
    proposed_severity: Mapped[str | None] = mapped_column(String(10))  # the decision table's
    severity: Mapped[str | None] = mapped_column(String(10))  # the sales manager's
    override_reason: Mapped[str] = mapped_column(Text, default="")
    escalated_at: Mapped[datetime | None] = mapped_column(UTCDateTime())  # to the deputy GM
    # Feedback to the customer
    feedback_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    customer_response: Mapped[str | None] = mapped_column(String(20))
    # Recorded by mistake: closed by the sales manager as not a complaint, with his reason
    dismissed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    dismissed_reason: Mapped[str | None] = mapped_column(Text)

    customer: Mapped[Customer] = relationship(lazy="joined")
    branch: Mapped[org.OrgUnit] = relationship()
    received_by: Mapped[org.User] = relationship(foreign_keys=[received_by_id])
    acknowledged_by: Mapped[org.User | None] = relationship(foreign_keys=[acknowledged_by_id])


# -- starting ------------------------------------------------------------------------------------

def prepare_intake(data: dict, _recorder, now: datetime, resubmitting: int | None = None) -> CaseStart:
    """A complaint as received: which customer, how, when, what, of which kind."""
    customer = db.session.get(Customer, data.get("customer_id"))
    if customer is None:
        raise InvalidData(_l("Unknown customer."), {"customer_id": [_l("Unknown customer.")]})
    received_at = _moment(data.get("received_at"))
    if received_at > now:
        message = _l("A complaint cannot be received in the future.")
        raise InvalidData.on("received_at", message)
    return CaseStart(data={"customer_id": customer.id, "customer_code": customer.code,
                           "customer_name": customer.name, "branch_id": customer.branch.id,
                           "branch_name": customer.branch.name, "channel": data["channel"],
                           "category": data["category"], "content": data["content"],
                           "received_at": received_at.isoformat()},
                     business_key=f"customer:{customer.id}", customer_id=customer.id)


def _moment(value) -> datetime:
    """An ISO 8601 moment; without an offset it is company time (what a page's date-time field sends)."""
    try:
        moment = value if isinstance(value, datetime) else datetime.fromisoformat(str(value))
    except ValueError:
        message = _l("Not a date and time.")
        raise InvalidData.on("received_at", message) from None
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=COMPANY_TZ)


# -- the services the BPMN calls -------------------------------------------------------------------

def complaint_of(instance_id: int) -> Complaint:
    return db.session.scalar(select(Complaint).where(Complaint.instance_id == instance_id))


def result(instance) -> dict:
    """What a closed complaint leads with: its class and the customer's answer, and for a major one the
    deputy's plan (the latest, if it was sent back) with its person responsible."""
    plans = [data["form_data"] for (data,) in db.session.execute(
        select(Event.data).where(Event.instance_id == instance.id, Event.type == "task_completed")
        .order_by(Event.id)) if data.get("form_key") == "complaint_plan"]
    plan = plans[-1] if plans else None
    person = db.session.get(org.User, plan["responsible_person_id"]) if plan else None
    return {"complaint": complaint_of(instance.id), "plan": plan, "responsible_person": person}


def register(call: ServiceCall) -> dict:
    """The complaint's row, marked as a repeat if the customer complained within 90 days before."""
    data, case = call.data, call.case
    received_at = _moment(data["received_at"])
    earlier = db.session.scalar(select(func.count(Complaint.id)).where(
        Complaint.customer_id == data["customer_id"], Complaint.received_at >= received_at - REPEAT_WINDOW,
        Complaint.received_at <= received_at, Complaint.dismissed_at.is_(None)))
    complaint = Complaint(instance_id=case.instance.id, customer_id=data["customer_id"], branch_id=data["branch_id"],
                          received_by_id=case.instance.started_by_id, channel=data["channel"],
                          category=data["category"], content=data["content"], received_at=received_at,
                          recorded_at=case.now, repeat=bool(earlier))
    db.session.add(complaint)
    copy_to_relationship_manager(case, data["customer_id"])  # seed 004 关系管理: he hears of every complaint
    return {}


def facts(complaint: Complaint) -> dict:
    """What the record says that the decision table weighs: the same for the investigation form
    (which shows and checks the proposal) and for `classify` (which records it)."""
    return {"key_customer": is_key_customer(complaint.customer), "repeat_complaint": complaint.repeat}


def is_key_customer(customer: Customer) -> bool:
    """A key customer (重点客户): as its latest credit rating classified it (seed 001); a customer never
    credit-rated yet counts as key with 3 or 4 stars in its latest star rating."""
    if credit_rating.history(customer.id):
        return customer.key_customer
    latest = star_rating.history(customer.id)[:1]
    return bool(latest) and latest[0].stars >= 3


def record_acknowledgement(call: ServiceCall) -> dict:
    complaint = complaint_of(call.case.instance.id)
    complaint.acknowledged_at, complaint.acknowledged_by_id = call.case.now, call.case.actor.id
    return {}


def dismiss(call: ServiceCall) -> dict:
    """Service task `dismiss_complaint`: the sales manager found it is not a complaint (recorded by mistake)
    and closes it with his reason; the branch manager is told, and may read the case."""
    case = call.case
    complaint = complaint_of(case.instance.id)
    reason = (call.data.get("note") or "").strip()
    complaint.dismissed_at, complaint.dismissed_reason = case.now, reason
    managers = org.users_with_role(org.BRANCH_MANAGER, complaint.branch_id)
    case.add_readers(managers, reason, kind="complaint_dismissed")
    case.record("complaint_dismissed", {"reason": reason})
    return {}


def severity_inputs(data: dict) -> dict:
    """What the decision table (processes/complaint_severity.dmn) decides on."""
    loss = data.get("claimed_loss_yuan")
    return {"safety_issue": bool(data.get("safety_issue")), "key_customer": bool(data.get("key_customer")),
            "repeat_complaint": bool(data.get("repeat_complaint")),
            "claimed_loss_yuan": float(Decimal(str(loss))) if loss not in (None, "") else 0.0}


def classify(call: ServiceCall) -> dict:
    """The investigation is in: the table's proposal and the sales manager's class, with the reason
    if he overrode it. A major complaint goes to the deputy general manager."""
    data, case = call.data, call.case
    complaint = complaint_of(case.instance.id)
    proposed = call.decide(severity_inputs({**data, **facts(complaint)}))["severity"]
    complaint.findings, complaint.responsible = data["findings"], data.get("responsible") or ""
    complaint.proposed_severity, complaint.severity = proposed, data["severity"]
    complaint.override_reason = (data.get("reason") or "") if data["severity"] != proposed else ""
    if data["severity"] == MAJOR:
        complaint.escalated_at = case.now
    return {"proposed_severity": proposed}


def escalate(call: ServiceCall) -> dict:
    """A general complaint whose customer was not satisfied goes up to the deputy, once."""
    complaint = complaint_of(call.case.instance.id)
    complaint.escalated_at = call.case.now
    return {"escalated": True}


def record_feedback(call: ServiceCall) -> dict:
    data = call.data
    complaint = complaint_of(call.case.instance.id)
    complaint.feedback_at, complaint.customer_response = call.case.now, data["customer_response"]
    return {}


FLOW = Flow(
    name="complaint_handling",
    processes={PROCESS_KEY: Process(start=prepare_intake, never_withdrawn=NEVER_WITHDRAWN, result=result)},
    forms="forms.complaints",
    person_rules={"plan_responsible": person_named("responsible_person_id", "the plan names no active person")},
    services={"register_complaint": register, "record_complaint_acknowledgement": record_acknowledgement,
              "dismiss_complaint": dismiss,
              "classify_complaint": classify, "escalate_complaint": escalate,
              "record_complaint_feedback": record_feedback},
    comment_fields=("note", "findings", "reason", "actions", "report", "customer_words"),
    tables=(Complaint,),
    event_words={"complaint_dismissed": _l("Closed as not a complaint")},
    outcome_words={"resolved": _l("Resolved"), "closed_unsatisfied": _l("Closed, customer not satisfied"),
                   "not_a_complaint": _l("Not a complaint")},
    rule_words={
        "plan_responsible": _l("Person responsible named in the complaint's plan"),
    },
    form_words={
        "complaint_intake": _l("Complaint intake"),
        "complaint_acknowledge": _l("Sales manager acknowledges the complaint"),
        "complaint_investigation": _l("Investigating and classifying a complaint"),
        "complaint_handling_record": _l("Sales manager's handling of a general complaint"),
        "complaint_plan": _l("Handling plan of a major complaint"),
        "complaint_execution": _l("Carrying out the plan and reporting"),
        "complaint_confirmation": _l("Confirming a complaint's handling"),
        "complaint_feedback": _l("Telling the customer"),
    },
)
