"""Expense claims (费用报销), a small flow for the tests: a person claims an amount he spent; up to 5,000
yuan his branch manager approves it, above that the deputy general manager; an approved claim is settled."""
from __future__ import annotations

from decimal import Decimal, InvalidOperation

from app.domain import assignment, org
from app.engine.plugins import Assignment, CaseStart, Flow, Process, ServiceCall
from app.errors import InvalidData

PROCESS_KEY = "expense_claim"
BRANCH_LIMIT = Decimal(5000)  # yuan a branch manager may approve


def prepare_claim(data: dict, claimant: org.User, now, resubmitting: int | None = None) -> CaseStart:
    """A claim of a positive amount; the case remembers the claimant's branch (none at headquarters)."""
    try:
        amount = Decimal(str(data.get("amount")))
    except InvalidOperation:
        amount = Decimal(0)
    if amount <= 0:
        raise InvalidData("An expense claim needs an amount above zero.", {"amount": ["Above zero."]})
    branch = org.branch_of(claimant.org_unit)
    return CaseStart(data={"amount": str(amount), "purpose": data["purpose"],
                           "branch_id": branch.id if branch else None},
                     business_key=f"claimant:{claimant.username}")


def expense_approver(data: dict) -> Assignment:
    """The branch manager of the claimant's branch up to BRANCH_LIMIT; beyond it, or for someone at
    headquarters, the deputy general manager."""
    if data.get("branch_id") is not None and Decimal(data["amount"]) <= BRANCH_LIMIT:
        return assignment.branch_manager(data)
    return assignment.deputy_gm(data)


def settle(call: ServiceCall) -> dict:
    """Service task `settle_expense`: the approved claim is settled, on record."""
    call.case.record("expense_settled", {"amount": call.data["amount"]}, system=True)
    return {"settled": True}


FLOW = Flow(
    name="expense_claim",
    processes={PROCESS_KEY: Process(start=prepare_claim)},
    forms="sample_flow.forms",
    person_rules={"expense_approver": expense_approver},
    services={"settle_expense": settle},
    event_words={"expense_settled": "Expense settled"},
    rule_words={"expense_approver": "Approver of an expense claim"},
    form_words={"expense_claim": "Expense claim", "expense_decision": "Decision on an expense claim"},
)
