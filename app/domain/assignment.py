"""The organisation's assignment rules: who a BPMN task means ("rep of the dossier's territory"),
resolved at run time, for every flow to name (a flow's own rules live with the flow).

The BPMN names a rule in `camunda:assignee` (a rule that finds one person) or
`camunda:candidateGroups` (rules, comma-separated, each finding a role in an org unit, whose members
claim the task). Each rule reads the case's data: rules about a branch read `branch_id`, or else the
branch of the case's customer (`customer_id`).
"""
from __future__ import annotations

from app import db
from app.domain import org
from app.domain.customers import Customer, summary
from app.engine.plugins import Assignment, AssignmentError, Flow
from app.i18n import _l


def _customer(data: dict) -> Customer:
    # The units above it come from the process's copy of the organisation, not from joins.
    customer = db.session.get(Customer, data.get("customer_id"))
    if customer is None:
        raise AssignmentError(f"the case names no known customer ({data.get('customer_id')!r})")
    return customer


def _branch(data: dict) -> int:
    """The case's branch, by id."""
    if data.get("branch_id") is not None:
        branch = org.unit(int(data["branch_id"])) if str(data["branch_id"]).isdigit() else None
        if branch is None or branch.kind != org.BRANCH:
            raise AssignmentError(f"the case names no known branch ({data['branch_id']!r})")
        return branch.id
    return org.branch_id_of(_customer(data).territory_id)


def _hq_department(function: str) -> int:
    hq = org.headquarters_id()
    department = org.department_id(hq, function) if hq is not None else None
    if department is None:
        raise AssignmentError(f"headquarters has no {function} department")
    return department


def the_one(role: str, unit_id: int | None) -> Assignment:
    """The first active holder of a role in a unit (by id): a flow's own person rules use it too."""
    people = org.member_ids(role, unit_id)
    if not people:
        raise AssignmentError(f"nobody holds the role {role} in {org.unit_name(unit_id)}")
    return Assignment(assignee_id=people[0])


def territory_rep(data: dict) -> Assignment:
    """The sales rep of the territory the case's customer belongs to."""
    return the_one(org.SALES_REP, _customer(data).territory_id)


def branch_manager(data: dict) -> Assignment:
    """The manager of the case's branch."""
    return the_one(org.BRANCH_MANAGER, _branch(data))


def branch_sales_manager(data: dict) -> Assignment:
    """The sales manager (销售经理) of the case's branch."""
    return the_one(org.SALES_MANAGER, _branch(data))


def deputy_gm(data: dict) -> Assignment:
    """The deputy general manager in charge (主管副经理), at headquarters."""
    return the_one(org.DEPUTY_GM, org.headquarters_id())


def branch_business_dept(data: dict) -> Assignment:
    """The business department supervisors of the case's branch; any one of them claims."""
    branch = _branch(data)
    department = org.department_id(branch, "business")
    if department is None:
        raise AssignmentError(f"{org.unit_name(branch)} has no business department")
    return Assignment(candidate_role=org.BUSINESS_SUPERVISOR, candidate_org_unit_id=department)


def branch_customer_specialist(data: dict) -> Assignment:
    """The customer specialists (客户专员) of the case's branch."""
    return Assignment(candidate_role=org.CUSTOMER_SPECIALIST, candidate_org_unit_id=_branch(data))


def hq_marketing(data: dict) -> Assignment:
    """Headquarters' marketing office (营销处)."""
    return Assignment(candidate_role=org.HQ_MARKETING, candidate_org_unit_id=_hq_department("marketing"))


def hq_sales_department(data: dict) -> Assignment:
    """Headquarters' sales department (销售部): the credit rating's non-financial scores."""
    return Assignment(candidate_role=org.SALES_DEPARTMENT, candidate_org_unit_id=_hq_department("sales"))


def hq_finance(data: dict) -> Assignment:
    """Headquarters' planning and finance department (计划财务部): the credit rating's financial scores."""
    return Assignment(candidate_role=org.FINANCE, candidate_org_unit_id=_hq_department("finance"))


def company_leadership(data: dict) -> Assignment:
    """The company's leaders (公司领导)."""
    return Assignment(candidate_role=org.LEADERSHIP, candidate_org_unit_id=_hq_department("leadership"))


def person_named(key: str, missing: str):
    """A rule finding the active person whose user id the case data holds under `key` (a plan's
    person responsible, say); `missing` says what the case lacks when it names nobody active."""
    def rule(data: dict) -> Assignment:
        person = db.session.get(org.User, data.get(key))
        if person is None or not person.active:
            raise AssignmentError(f"{missing} ({data.get(key)!r})")
        return Assignment(assignee_id=person.id)
    return rule


ORGANISATION = Flow(
    name="organisation",
    person_rules={"territory_rep": territory_rep, "branch_manager": branch_manager,
                  "branch_sales_manager": branch_sales_manager, "deputy_gm": deputy_gm},
    group_rules={"branch_business_dept": branch_business_dept,
                 "branch_customer_specialist": branch_customer_specialist, "hq_marketing": hq_marketing,
                 "hq_sales_department": hq_sales_department, "hq_finance": hq_finance,
                 "company_leadership": company_leadership},
    # What a definition may read of a customer (the sandbox helper `customer(id)`).
    helpers={"customer": summary},
    rule_words={
        "territory_rep": _l("Sales rep of the customer's territory"),
        "branch_manager": _l("Manager of the case's branch"),
        "branch_sales_manager": _l("Sales manager of the case's branch"),
        "deputy_gm": _l("Deputy general manager in charge"),
        "branch_business_dept": _l("Business department supervisors of the case's branch"),
        "branch_customer_specialist": _l("Customer specialists of the case's branch"),
        "hq_marketing": _l("Headquarters' marketing office"),
        "hq_sales_department": _l("Headquarters' sales department"),
        "hq_finance": _l("Headquarters' planning and finance department"),
        "company_leadership": _l("Company leadership"),
    },
)
