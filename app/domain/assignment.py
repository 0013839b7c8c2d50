"""Assignment rules: who a BPMN task means ("rep of the dossier's territory"), resolved at run time.

The BPMN names a rule in `camunda:assignee` (a rule that finds one person) or
`camunda:candidateGroups` (a rule that finds a role in an org unit, whose members claim the task).
Each rule reads the case's data; rules about a dossier read `customer_id`.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from app.domain import org
from app.domain.customers import Customer
from app.extensions import db


class AssignmentError(Exception):
    """A rule found nobody; the case cannot go on until the organisation is fixed."""


@dataclass(frozen=True)
class Assignment:
    assignee_id: int | None = None
    candidate_role: str | None = None
    candidate_org_unit_id: int | None = None


def _customer(data: dict) -> Customer:
    customer = db.session.get(Customer, data.get("customer_id"))
    if customer is None:
        raise AssignmentError(f"the case names no known customer ({data.get('customer_id')!r})")
    return customer


def _the_one(role: str, unit: org.OrgUnit) -> Assignment:
    people = org.users_with_role(role, unit.id)
    if not people:
        raise AssignmentError(f"nobody holds the role {role} in {unit.name}")
    return Assignment(assignee_id=people[0].id)


def territory_rep(data: dict) -> Assignment:
    """The sales rep of the territory the case's customer belongs to."""
    return _the_one(org.SALES_REP, _customer(data).territory)


def branch_manager(data: dict) -> Assignment:
    """The manager of the branch the case's customer belongs to."""
    return _the_one(org.BRANCH_MANAGER, _customer(data).branch)


def branch_business_dept(data: dict) -> Assignment:
    """The business department supervisors of the customer's branch; any one of them claims."""
    branch = _customer(data).branch
    department = branch.department("business")
    if department is None:
        raise AssignmentError(f"{branch.name} has no business department")
    return Assignment(candidate_role=org.BUSINESS_SUPERVISOR, candidate_org_unit_id=department.id)


PERSON_RULES: dict[str, Callable[[dict], Assignment]] = {
    "territory_rep": territory_rep,
    "branch_manager": branch_manager,
}
GROUP_RULES: dict[str, Callable[[dict], Assignment]] = {
    "branch_business_dept": branch_business_dept,
}


def resolve(rule: str, data: dict) -> Assignment:
    handler = PERSON_RULES.get(rule) or GROUP_RULES.get(rule)
    if handler is None:
        raise AssignmentError(f"unknown assignment rule {rule!r}")
    return handler(data)
