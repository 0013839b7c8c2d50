"""Assignment rules: who a BPMN task means ("rep of the dossier's territory"), resolved at run time.

The BPMN names a rule in `camunda:assignee` (a rule that finds one person) or
`camunda:candidateGroups` (rules, comma-separated, each finding a role in an org unit, whose members
claim the task). Each rule reads the case's data: rules about a branch read `branch_id`, or else the
branch of the case's customer (`customer_id`).
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import select

from app import db
from app.domain import org
from app.domain.customers import Customer


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


def _branch(data: dict) -> org.OrgUnit:
    if data.get("branch_id") is not None:
        branch = db.session.get(org.OrgUnit, data["branch_id"])
        if branch is None or branch.kind != org.BRANCH:
            raise AssignmentError(f"the case names no known branch ({data['branch_id']!r})")
        return branch
    return _customer(data).branch


def _hq_department(function: str) -> org.OrgUnit:
    hq = db.session.scalar(select(org.OrgUnit).where(org.OrgUnit.kind == org.HQ))
    department = hq.department(function) if hq is not None else None
    if department is None:
        raise AssignmentError(f"headquarters has no {function} department")
    return department


def _the_one(role: str, unit: org.OrgUnit) -> Assignment:
    people = org.users_with_role(role, unit.id)
    if not people:
        raise AssignmentError(f"nobody holds the role {role} in {unit.name}")
    return Assignment(assignee_id=people[0].id)


def territory_rep(data: dict) -> Assignment:
    """The sales rep of the territory the case's customer belongs to."""
    return _the_one(org.SALES_REP, _customer(data).territory)


def branch_manager(data: dict) -> Assignment:
    """The manager of the case's branch."""
    return _the_one(org.BRANCH_MANAGER, _branch(data))


def branch_sales_manager(data: dict) -> Assignment:
    """The sales manager (销售经理) of the case's branch."""
    return _the_one(org.SALES_MANAGER, _branch(data))


def deputy_gm(data: dict) -> Assignment:
    """The deputy general manager in charge (主管副经理), at headquarters."""
    hq = db.session.scalar(select(org.OrgUnit).where(org.OrgUnit.kind == org.HQ))
    return _the_one(org.DEPUTY_GM, hq)


def plan_responsible(data: dict) -> Assignment:
    """The person a handling plan made responsible (`responsible_person_id`)."""
    person = db.session.get(org.User, data.get("responsible_person_id"))
    if person is None or not person.active:
        raise AssignmentError(f"the plan names no active person ({data.get('responsible_person_id')!r})")
    return Assignment(assignee_id=person.id)


def branch_business_dept(data: dict) -> Assignment:
    """The business department supervisors of the case's branch; any one of them claims."""
    branch = _branch(data)
    department = branch.department("business")
    if department is None:
        raise AssignmentError(f"{branch.name} has no business department")
    return Assignment(candidate_role=org.BUSINESS_SUPERVISOR, candidate_org_unit_id=department.id)


def branch_customer_specialist(data: dict) -> Assignment:
    """The customer specialists (客户专员) of the case's branch."""
    return Assignment(candidate_role=org.CUSTOMER_SPECIALIST, candidate_org_unit_id=_branch(data).id)


def hq_marketing(data: dict) -> Assignment:
    """Headquarters' marketing office (营销处)."""
    return Assignment(candidate_role=org.HQ_MARKETING, candidate_org_unit_id=_hq_department("marketing").id)


def hq_sales_department(data: dict) -> Assignment:
    """Headquarters' sales department (销售部): the credit rating's non-financial scores."""
    return Assignment(candidate_role=org.SALES_DEPARTMENT, candidate_org_unit_id=_hq_department("sales").id)


def hq_finance(data: dict) -> Assignment:
    """Headquarters' planning and finance department (计划财务部): the credit rating's financial scores."""
    return Assignment(candidate_role=org.FINANCE, candidate_org_unit_id=_hq_department("finance").id)


def company_leadership(data: dict) -> Assignment:
    """The company's leaders (公司领导)."""
    return Assignment(candidate_role=org.LEADERSHIP, candidate_org_unit_id=_hq_department("leadership").id)


def plan_rep(data: dict) -> Assignment:
    """The rep whose visit plan it is (`rep_id`)."""
    person = db.session.get(org.User, data.get("rep_id"))
    if person is None or not person.active:
        raise AssignmentError(f"the plan names no active rep ({data.get('rep_id')!r})")
    return Assignment(assignee_id=person.id)


def countersigner(data: dict) -> Assignment:
    """One signer of a countersign (会签/或签): a multi-instance user task with a loop cardinality of
    `len(signers)` (a list of user ids) and element variable `signer_index`; each instance's person."""
    signers, index = data.get("signers"), data.get("signer_index")
    person = (db.session.get(org.User, signers[index])
              if isinstance(signers, list) and isinstance(index, int) and 0 <= index < len(signers) else None)
    if person is None or not person.active:
        raise AssignmentError(f"the countersign names no active person (signers {signers!r}, index {index!r})")
    return Assignment(assignee_id=person.id)


def warning_receiver(data: dict) -> Assignment:
    """Who receives an urgent warning report, by the customer's `tier` (seed 004): core → the deputy
    general manager; important → HQ marketing; big → the branch's sales manager; general → the branch's
    customer specialists. A group rule that, for some tiers, finds one person (who then has the task)."""
    by_tier = {"core": deputy_gm, "important": hq_marketing, "big": branch_sales_manager,
               "general": branch_customer_specialist}
    if data.get("tier") not in by_tier:
        raise AssignmentError(f"the case names no customer tier ({data.get('tier')!r})")
    return by_tier[data["tier"]](data)


PERSON_RULES: dict[str, Callable[[dict], Assignment]] = {
    "territory_rep": territory_rep,
    "branch_manager": branch_manager,
    "branch_sales_manager": branch_sales_manager,
    "deputy_gm": deputy_gm,
    "plan_responsible": plan_responsible,
    "countersigner": countersigner,
    "plan_rep": plan_rep,
}
GROUP_RULES: dict[str, Callable[[dict], Assignment]] = {
    "branch_business_dept": branch_business_dept,
    "branch_customer_specialist": branch_customer_specialist,
    "hq_marketing": hq_marketing,
    "hq_sales_department": hq_sales_department,
    "hq_finance": hq_finance,
    "warning_receiver": warning_receiver,
    "company_leadership": company_leadership,
}


def group_rules(text: str | None) -> list[str]:
    """The rules of a `camunda:candidateGroups` value, in order."""
    return [rule.strip() for rule in (text or "").split(",") if rule.strip()]


def resolve(rule: str, data: dict) -> Assignment:
    handler = PERSON_RULES.get(rule) or GROUP_RULES.get(rule)
    if handler is None:
        raise AssignmentError(f"unknown assignment rule {rule!r}")
    return handler(data)
