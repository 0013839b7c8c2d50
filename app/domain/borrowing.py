"""Dossier borrowing (借阅, seeds 000 and 001): what a request must satisfy, the consents a loan needs,
and the loan it grants.

Who must consent is the company's rule, not the diagram's: the rep of the dossier's territory, then the
business department of its branch, then, for a requester who is not a sales rep, the branch manager;
for 1 to 30 days. Deploying refuses a version whose loan can be reached without those consent steps
(`check_definition`), and the loan itself is refused, into an incident, unless the case's recorded
consents satisfy the rule for this requester and dossier (`consent_refusal`).
"""
from __future__ import annotations

from datetime import datetime, timedelta
from itertools import product

from sqlalchemy import literal, select

from app import db
from app.calendar import local_text
from app.domain import org
from app.domain.customers import Customer, DossierLoan
from app.domain.dossiers import active_loan, is_owning_rep
from app.engine import projection
from app.engine.definitions import Problem
from app.engine.models import RUNNING, STEP, Instance
from app.engine.parser import ApprovalUserTask, TopicServiceTask
from app.engine.plugins import CaseStart, Flow, Process, ServiceCall, ServiceRefused, group_rules
from app.engine.validation import outputs_given, ways_to
from app.errors import InvalidData
from app.i18n import _l

PROCESS_KEY = "dossier_borrowing"
GRANT_TOPIC = "grant_dossier_loan"
MIN_DAYS, MAX_DAYS = 1, 30


def prepare_request(data: dict, requester: org.User, now: datetime, resubmitting: int | None = None) -> CaseStart:
    """Check a borrowing request against the rules and add the facts the flow decides on (again, when
    the requester revises case `resubmitting` after a send-back)."""
    customer = db.session.get(Customer, data["customer_id"])
    if customer is None:
        raise InvalidData(_l("Unknown customer."), {"customer_id": [_l("Unknown customer.")]})
    if is_owning_rep(requester, customer):
        message = _l("This customer is in your own territory: open the dossier directly.")
        raise InvalidData.on("customer_id", message)
    loan = active_loan(requester, customer, now)
    if loan is not None:
        message = _l("You can already read this dossier until %(until)s.", until=local_text(loan.expires_at))
        raise InvalidData.on("customer_id", message)
    days = data.get("days")
    if isinstance(days, bool) or not isinstance(days, int) or not MIN_DAYS <= days <= MAX_DAYS:
        message = _l("A dossier is lent for 1 to 30 days.")
        raise InvalidData.on("days", message)
    pending = db.session.scalar(select(Instance.id).where(
        Instance.process_key == PROCESS_KEY, Instance.status == literal(RUNNING, literal_execute=True),
        Instance.started_by_id == requester.id, Instance.customer_id == customer.id,
        Instance.id != (resubmitting or 0)).limit(1))
    if pending is not None:
        message = _l("You already have a request for this dossier in progress (case %(id)s).", id=pending)
        raise InvalidData.on("customer_id", message)
    return CaseStart(
        data={
            "customer_id": customer.id,
            "customer_code": customer.code,
            "customer_name": customer.name,
            "purpose": data["purpose"],
            "days": days,
            # A rep of another territory needs two consents; anyone else needs three (三级同意).
            "requester_is_sales_rep": requester.has_role(org.SALES_REP),
        },
        business_key=f"customer:{customer.id}",
        customer_id=customer.id,
    )


# -- the consents a loan needs ------------------------------------------------------------------------

REP, BUSINESS, MANAGER = "territory_rep", "business_dept", "branch_manager"
CONSENT_WORDS = {
    REP: _l("the rep of the customer's territory"),
    BUSINESS: _l("the business department of the customer's branch"),
    MANAGER: _l("the manager of the customer's branch"),
}


def required_consents(requester: org.User, customer: Customer) -> dict[str, set[int]]:
    """Whose consent a loan of this dossier to this requester needs, level by level: the people who hold
    each level's role for the dossier (its territory's rep; its branch's business supervisors; for a
    requester who is not a sales rep, its branch manager)."""
    branch = org.branch_id_of(customer.territory_id)
    business = org.department_id(branch, "business")
    levels = {REP: set(org.member_ids(org.SALES_REP, customer.territory_id)),
              BUSINESS: set(org.member_ids(org.BUSINESS_SUPERVISOR, business)) if business else set()}
    if not org.holds_role(requester.id, org.SALES_REP):
        levels[MANAGER] = set(org.member_ids(org.BRANCH_MANAGER, branch))
    return levels


def _speaks_for(holders: set[int], step_events: list[tuple]) -> set[int]:
    """Who may decide a step in the holders' place, as the step's history shows: the superior segregation
    of duties sent it to when it passed a holder over, and whoever a holder (or such a person) handed it
    to or was away for. An administrator's reassignment makes nobody a consenter: after one, only a
    holder himself (or whom he hands it to) counts."""
    entitled = set(holders)
    for event_type, _task_id, _actor_id, data in step_events:
        if event_type == "duty_rerouted" and data.get("passed_over_id") in entitled:
            entitled.add(data.get("assignee_id"))
        elif event_type == "task_delegated" and data.get("owner_id") in entitled:
            entitled.add(data.get("deputy_id"))
        elif event_type == "task_transferred" and data.get("from") in entitled:
            entitled.add(data.get("to"))
    return entitled


def recorded_consents(instance: Instance, history: list[tuple], requester: org.User,
                      customer: Customer) -> dict[str, list[int]]:
    """For each level the loan needs, the approval steps of the case whose final decision is a consent
    given by someone who speaks for that level (their task ids). Only what was decided since the
    request was last (re)submitted counts; a step decided again counts with its newest decision."""
    since = max((i for i, (event_type, *_rest) in enumerate(history) if event_type == "request_resubmitted"),
                default=-1)
    steps = {task.id: task.spec_id for task in projection.case_rows(instance.id) if task.kind == STEP and task.approval}
    by_step: dict[str, list[tuple]] = {}
    for event in history[since + 1:]:
        if event[1] in steps:
            by_step.setdefault(steps[event[1]], []).append(event)
    levels = required_consents(requester, customer)
    found: dict[str, list[int]] = {level: [] for level in levels}
    for step_events in by_step.values():
        decisions = [e for e in step_events if e[0] == "task_completed"]
        if not decisions:
            continue
        _type, task_id, actor_id, data = decisions[-1]
        if (data.get("form_data") or {}).get("decision") != "approve":
            continue
        for level, holders in levels.items():
            if actor_id in _speaks_for(holders, step_events):
                found[level].append(task_id)
    return found


NO_REQUEST = _l("The case names no requester or no known customer: no loan is granted.")
REQUEST_CHANGED = _l("The case's data no longer matches the request: a loan is granted only for the customer and "
                     "the days that were requested and consented to.")


def consent_refusal(instance: Instance, data: dict, history: list[tuple]):
    """Why no loan may be granted in this case now (a message), or None: for each level the company
    requires, its own approval step consented to by someone who speaks for it, and the loan the request
    asked for (its customer and days, 1 to 30, as filed and consented to)."""
    request = instance.start_data or {}
    requester = db.session.get(org.User, instance.started_by_id) if instance.started_by_id else None
    customer = db.session.get(Customer, request.get("customer_id"))
    if requester is None or customer is None:
        return NO_REQUEST
    consents = recorded_consents(instance, history, requester, customer)
    levels = list(consents)
    # Each level needs a step of its own (one decision never counts twice).
    if not any(len(set(chosen)) == len(chosen) for chosen in product(*(consents[level] for level in levels))):
        missing = [level for level in levels if not consents[level]] or levels
        return _l("No loan is granted without the consent of %(whom)s.",
                  whom="; ".join(str(CONSENT_WORDS[level]) for level in missing))
    if data.get("customer_id") != customer.id or data.get("days") != request.get("days"):
        return REQUEST_CHANGED
    days = request.get("days")
    if isinstance(days, bool) or not isinstance(days, int) or not MIN_DAYS <= days <= MAX_DAYS:
        return _l("A dossier is lent for 1 to 30 days, not %(days)s.", days=days)
    return None


def grant_loan(call: ServiceCall) -> dict:
    """Service task `grant_dossier_loan`: read-only access from now for the requested days, once the
    company's rule holds (else ServiceRefused: an incident, no loan)."""
    data, case = call.data, call.case
    refusal = consent_refusal(case.instance, data, case.history())
    if refusal is not None:
        raise ServiceRefused(refusal)
    now = case.now
    loan = DossierLoan(customer_id=data["customer_id"], borrower_id=case.instance.started_by_id,
                       instance_id=case.instance.id, purpose=data["purpose"], days=data["days"],
                       starts_at=now, expires_at=now + timedelta(days=data["days"]))
    db.session.add(loan)
    db.session.flush()
    case.record("loan_granted", {"loan_id": loan.id, "customer_id": loan.customer_id,
                                 "borrower_id": loan.borrower_id, "expires_at": loan.expires_at.isoformat()})
    return {"loan_id": loan.id}


# -- what any version of the process must keep ---------------------------------------------------------

CONSENT_STEPS = {
    REP: lambda spec: isinstance(spec, ApprovalUserTask) and spec.assignee_rule == "territory_rep",
    BUSINESS: lambda spec: isinstance(spec, ApprovalUserTask) and "branch_business_dept" in group_rules(spec.candidate_rule),
    MANAGER: lambda spec: isinstance(spec, ApprovalUserTask) and spec.assignee_rule == "branch_manager",
}
DEPLOY_WORDS = {
    REP: 'the territory rep\'s consent (a user task with camunda:assignee="territory_rep")',
    BUSINESS: 'the business department\'s consent (a user task with camunda:candidateGroups="branch_business_dept")',
    MANAGER: 'the branch manager\'s consent (a user task with camunda:assignee="branch_manager") on the way of '
             'a requester who is not a sales rep (requester_is_sales_rep false)',
}


def _grants(spec) -> bool:
    return isinstance(spec, TopicServiceTask) and spec.topic == GRANT_TOPIC


def check_definition(specs: list) -> list[Problem]:
    """Deploying refuses a borrowing version whose loan can be reached from the start without passing the
    consents: every path from the start to a `grant_dossier_loan` service task passes the territory rep's
    and the business department's consent steps, and every path a requester who is not a sales rep may
    take (`requester_is_sales_rep` false, as far as the conditions say) also the branch manager's. The
    loan is granted in the process itself, not in a subprocess or a called process."""
    process, *others = specs
    problems = [Problem(task_spec.name, "the loan is granted in the borrowing process itself, after its consents, "
                                        "not in a subprocess or a called process")
                for other in others for task_spec in other.task_specs.values() if _grants(task_spec)]
    lacking: dict[str, set[str]] = {}
    for levels, facts in (((REP, BUSINESS), {}), ((MANAGER,), {"requester_is_sales_rep": False})):
        for grant, ways in ways_to(process, _grants, CONSENT_STEPS, outputs_given(facts)).items():
            lacking.setdefault(grant, set()).update(level for passed in ways for level in levels if level not in passed)
    for grant, levels in sorted(lacking.items()):
        if levels:
            problems.append(Problem(grant, "the loan can be reached from the start without "
                                    + "; ".join(DEPLOY_WORDS[level] for level in (REP, BUSINESS, MANAGER)
                                                if level in levels)
                                    + ": every path from the start to it must pass the consents the company "
                                      "requires"))
    return problems


FLOW = Flow(
    name="dossier_borrowing",
    processes={PROCESS_KEY: Process(start=prepare_request, check=check_definition, sensitive=True)},
    forms="forms.borrowing",
    services={"grant_dossier_loan": grant_loan},
    tables=(DossierLoan,),
    event_words={"loan_granted": _l("Read access granted")},
    form_words={
        "dossier_borrow_request": _l("Dossier borrowing request"),
        "dossier_consent": _l("Consent to a dossier loan"),
    },
)
