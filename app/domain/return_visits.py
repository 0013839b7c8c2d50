"""After-sales return visits (售后回访, seed 001 §10): after every return visit the territory's rep files
the return-visit report (《客户回访报告表》, attachment 8): the customer's evaluation, its market demand,
and its suggestions for the service, and reports the result. The branch's sales manager reads it and
turns a suggestion or a problem into follow-up actions, each a task for a person of the branch with a due
date, followed until it is done; market demand reaches HQ marketing, who read it.

The flow is processes/return_visit_report.bpmn. This module keeps the report (`ReturnVisitReport`, the
dossier's 回访报告 beside the visit records of app.domain.visits) and its actions (`ReturnVisitAction`),
and the services the flow calls. Each action is one instance of a multi-instance sub-process: its
person's task (due at the end of its day, reminded when overdue), then the record of what was done.
"""
from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import ForeignKey, String, Text, select
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app import db
from app.calendar import local
from app.db_types import UTCDateTime
from app.domain import org
from app.domain.customers import Customer
from app.engine.models import Task
from app.engine.plugins import Assignment, AssignmentError, CaseStart, Flow, Process, ServiceCall
from app.errors import Forbidden, InvalidData
from app.i18n import _l

PROCESS_KEY = "return_visit_report"
# The customer's overall evaluation (客户评价), as the report form asks it.
EVALUATIONS = ("very_satisfied", "satisfied", "fair", "dissatisfied")
TEXT_MAX = 4000
ACTIONS_MAX = 20


class ReturnVisitReport(db.Model):
    """One return-visit report (《客户回访报告表》): who visited the customer when, what the customer said,
    and the sales manager's reading of it."""

    __tablename__ = "return_visit_reports"

    id: Mapped[int] = mapped_column(primary_key=True)
    instance_id: Mapped[int] = mapped_column(ForeignKey("instances.id"), unique=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"), index=True)
    rep_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    visited_on: Mapped[date]
    evaluation: Mapped[str] = mapped_column(String(20))  # EVALUATIONS
    evaluation_notes: Mapped[str] = mapped_column(Text, default="")  # 客户评价信息
    market_demand: Mapped[str] = mapped_column(Text, default="")  # 市场需求信息
    suggestions: Mapped[str] = mapped_column(Text, default="")  # 服务改进建议
    result: Mapped[str] = mapped_column(Text)  # 回访结果
    filed_at: Mapped[datetime] = mapped_column(UTCDateTime())
    reviewed_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    reviewed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    review_comment: Mapped[str] = mapped_column(Text, default="")
    demand_read_at: Mapped[datetime | None] = mapped_column(UTCDateTime())  # by HQ marketing

    customer: Mapped[Customer] = relationship()
    rep: Mapped[org.User] = relationship(foreign_keys=[rep_id])
    reviewed_by: Mapped[org.User | None] = relationship(foreign_keys=[reviewed_by_id])
    actions: Mapped[list[ReturnVisitAction]] = relationship(back_populates="report",
                                                             order_by="ReturnVisitAction.position")


class ReturnVisitAction(db.Model):
    """A follow-up action the sales manager made of a report: who does what by when, and what was done."""

    __tablename__ = "return_visit_actions"

    id: Mapped[int] = mapped_column(primary_key=True)
    report_id: Mapped[int] = mapped_column(ForeignKey("return_visit_reports.id"), index=True)
    position: Mapped[int]  # its index in the sales manager's list (the sub-process instance's)
    person_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    what: Mapped[str] = mapped_column(Text)
    due_on: Mapped[date]
    done_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    done_report: Mapped[str] = mapped_column(Text, default="")

    report: Mapped[ReturnVisitReport] = relationship(back_populates="actions")
    person: Mapped[org.User] = relationship()


def of_customer(customer_id: int, limit: int = 20) -> list[ReturnVisitReport]:
    """A customer's return-visit reports, newest visit first (the dossier's 回访报告)."""
    return list(db.session.scalars(select(ReturnVisitReport).where(ReturnVisitReport.customer_id == customer_id)
                                   .order_by(ReturnVisitReport.visited_on.desc(), ReturnVisitReport.id.desc())
                                   .limit(limit)))


def report_of(instance_id: int) -> ReturnVisitReport | None:
    return db.session.scalar(select(ReturnVisitReport).where(ReturnVisitReport.instance_id == instance_id))


def action_of_task(task) -> ReturnVisitAction | None:
    """The follow-up action a `carry_out` task is about: a report's action tasks open together, in the
    order of its actions; None if the case says otherwise."""
    report = report_of(task.instance_id)
    if report is None or task.spec_id != "carry_out":
        return None
    ids = list(db.session.scalars(select(Task.id).where(Task.instance_id == task.instance_id,
                                                       Task.spec_id == "carry_out").order_by(Task.id)))
    rank = ids.index(task.id) if task.id in ids else -1
    action = report.actions[rank] if 0 <= rank < len(report.actions) else None
    return action if action is not None and action.person_id in (task.assignee_id, task.owner_id) else None


def action_candidates(branch_id: int) -> list[org.User]:
    """Whom a follow-up action may name: the active people of the branch (its territories and departments
    included), compliance reviewers and process administrators aside."""
    bystanders = {org.AUDITOR, org.ADMIN}
    people = db.session.scalars(select(org.User).where(org.User.active).order_by(org.User.org_unit_id, org.User.id))
    return [person for person in people
            if (branch := org.branch_of(person.org_unit)) is not None and branch.id == branch_id
            and any(m.role.code not in bystanders for m in person.memberships)]


# -- starting ------------------------------------------------------------------------------------

def prepare_report(data: dict, rep, now: datetime, resubmitting: int | None = None) -> CaseStart:
    """A report about one of the rep's own customers, of a visit that has happened."""
    customer = db.session.get(Customer, data.get("customer_id"))
    if customer is None:
        raise InvalidData(_l("Unknown customer."), {"customer_id": [_l("Unknown customer.")]})
    if rep is None or not rep.has_role(org.SALES_REP, customer.territory_id):
        message = _l("Only the rep of the customer's territory files its return-visit report.")
        raise Forbidden(message, {"customer_id": [message]})
    try:
        visited_on = date.fromisoformat(str(data.get("visited_on", "")))
    except ValueError:
        message = _l("Write the day as YYYY-MM-DD.")
        raise InvalidData.on("visited_on", message) from None
    if visited_on > local(now).date():
        message = _l("A visit cannot be reported before it happens.")
        raise InvalidData.on("visited_on", message)
    if data.get("evaluation") not in EVALUATIONS:
        message = _l("Choose the customer's evaluation.")
        raise InvalidData.on("evaluation", message)
    words = {name: str(data.get(name) or "").strip()[:TEXT_MAX]
             for name in ("evaluation_notes", "market_demand", "suggestions", "result")}
    if not words["result"]:
        message = _l("Report the result of the visit.")
        raise InvalidData.on("result", message)
    return CaseStart(data={"customer_id": customer.id, "customer_code": customer.code, "customer_name": customer.name,
                           "branch_id": customer.branch.id, "branch_name": customer.branch.name,
                           "visited_on": visited_on.isoformat(), "evaluation": data["evaluation"], **words,
                           "has_demand": bool(words["market_demand"])},
                     business_key=f"customer:{customer.id}", customer_id=customer.id)


# -- the services the BPMN calls -------------------------------------------------------------------

def register(call: ServiceCall) -> dict:
    """Service task `register_return_visit`: the report into the customer's dossier."""
    data, case = call.data, call.case
    db.session.add(ReturnVisitReport(
        instance_id=case.instance.id, customer_id=data["customer_id"], rep_id=case.instance.started_by_id,
        visited_on=date.fromisoformat(data["visited_on"]), evaluation=data["evaluation"],
        evaluation_notes=data["evaluation_notes"], market_demand=data["market_demand"],
        suggestions=data["suggestions"], result=data["result"], filed_at=case.now))
    return {}


def file_review(call: ServiceCall) -> dict:
    """Service task `file_return_visit_review`: the sales manager's reading and the actions he set, each a
    row followed until done; `action_count` says whether any sub-process instances run."""
    data, case = call.data, call.case
    report = report_of(case.instance.id)
    report.reviewed_by_id, report.reviewed_at = case.actor.id, case.now
    report.review_comment = (data.get("comment") or "").strip()
    actions = [action for action in data.get("actions") or [] if action.get("person_id")]
    for position, action in enumerate(actions):
        db.session.add(ReturnVisitAction(report_id=report.id, position=position, person_id=int(action["person_id"]),
                                         what=action["what"].strip(), due_on=date.fromisoformat(action["due_on"])))
    return {"actions": actions, "action_count": len(actions)}


def record_action_done(call: ServiceCall) -> dict:
    """Service task `record_return_visit_action`: one action done, with what its person reports."""
    case = call.case
    report = report_of(case.instance.id)
    action = next(a for a in report.actions if a.position == call.data["action_index"])
    action.done_at, action.done_report = case.now, (call.data.get("done_report") or "").strip()
    return {}


def record_demand_read(call: ServiceCall) -> dict:
    """Service task `record_return_visit_demand_read`: HQ marketing has the customer's market demand."""
    report_of(call.case.instance.id).demand_read_at = call.case.now
    return {}


def action_person(data: dict) -> Assignment:
    """The person of one follow-up action (the sub-process instance's `action_index`)."""
    actions, index = data.get("actions"), data.get("action_index")
    entry = actions[index] if isinstance(actions, list) and isinstance(index, int) and 0 <= index < len(actions) \
        else None
    person = db.session.get(org.User, entry.get("person_id")) if entry else None
    if person is None or not person.active:
        raise AssignmentError(f"the return-visit action names no active person (index {index!r})")
    return Assignment(assignee_id=person.id)


def result(instance) -> dict:
    """What an ended report leads with: the report and its actions."""
    return {"report": report_of(instance.id)}


FLOW = Flow(
    name="return_visits",
    processes={PROCESS_KEY: Process(start=prepare_report, starters=frozenset({org.SALES_REP}), result=result)},
    forms="forms.return_visits",
    person_rules={"return_visit_action_person": action_person},
    services={"register_return_visit": register, "file_return_visit_review": file_review,
              "record_return_visit_action": record_action_done,
              "record_return_visit_demand_read": record_demand_read},
    comment_fields=("done_report",),
    tables=(ReturnVisitReport, ReturnVisitAction),
    outcome_words={"report_closed": _l("Report read and followed up")},
    rule_words={"return_visit_action_person": _l("Person of a return visit's follow-up action")},
    form_words={
        "return_visit_report": _l("Return-visit report"),
        "return_visit_review": _l("Sales manager's reading of a return-visit report"),
        "return_visit_action_done": _l("Follow-up action of a return visit"),
        "return_visit_demand_read": _l("Marketing's reading of a customer's market demand"),
    },
)
