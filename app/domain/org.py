"""The company's organisation: headquarters, branches, territories and departments, and the roles people
hold in them. The tables are the engine's directory (users, roles, memberships, org units); this module
says what the kinds of unit and the role codes mean here."""
from __future__ import annotations

from sqlalchemy import select

from app import db
from app.engine import directory, queries
from app.engine.directory import Membership, OrgUnit, Role, User, holds_role, member_ids, users_with_role
from app.engine.plugins import CaseStart
from app.errors import Conflict, InvalidData
from app.i18n import _l

__all__ = ["Membership", "OrgUnit", "Role", "User", "holds_role", "member_ids", "users_with_role", "branch_named"]

# Kinds of org unit.
HQ, BRANCH, TERRITORY, DEPARTMENT = "hq", "branch", "territory", "department"

# Role codes. Their display names live with the pages (translated), the codes are stable.
SALES_REP = "sales_rep"
CUSTOMER_SPECIALIST = "customer_specialist"
BUSINESS_SUPERVISOR = "business_supervisor"
BRANCH_MANAGER = "branch_manager"
SALES_MANAGER = "sales_manager"
DEPUTY_GM = "deputy_gm"
HQ_MARKETING = "hq_marketing"
LEADERSHIP = "leadership"
SALES_DEPARTMENT = "sales_department"
FINANCE = "finance"
AUDITOR = "auditor"
ADMIN = "admin"
LEGAL = "legal"  # the legal department (法务部门): reviews contracts before they are signed
CONTRACT_ADMIN = "contract_admin"  # a branch's contract administrator (合同管理人员): tracks signed contracts


def branch_of(unit: OrgUnit | None) -> OrgUnit | None:
    """The branch a unit belongs to (itself if it is one; None at headquarters)."""
    found = branch_id_of(unit.id) if unit is not None else None
    return db.session.get(OrgUnit, found) if found is not None else None


def branch_id_of(unit_id: int | None) -> int | None:
    """`branch_of` by id, from the process's copy of the organisation (no query for the walk)."""
    units = directory.snapshot().units
    unit = units.get(unit_id)
    while unit is not None and unit.kind != BRANCH:
        unit = units.get(unit.parent_id)
    return unit.id if unit else None


def department_id(unit_id: int, function: str) -> int | None:
    """The department of the unit that does `function` ("business", "marketing" …), by id (no query)."""
    return next((unit.id for unit in directory.snapshot().children(unit_id, DEPARTMENT) if unit.function == function),
                None)


def department_of(unit: OrgUnit, function: str) -> OrgUnit | None:
    found = department_id(unit.id, function)
    return db.session.get(OrgUnit, found) if found is not None else None


def unit(unit_id: int | None) -> directory.Unit | None:
    """A unit as the process's copy of the organisation has it (no query)."""
    return directory.snapshot().units.get(unit_id)


def codes_up_from(unit_id: int | None) -> list[str]:
    """The codes of a unit and of every unit above it, nearest first (no query)."""
    units, codes = directory.snapshot().units, []
    found = units.get(unit_id)
    while found is not None:
        codes.append(found.code)
        found = units.get(found.parent_id)
    return codes


def unit_name(unit_id: int | None) -> str:
    found = unit(unit_id)
    return found.name if found else f"#{unit_id}"


def unit_codes(kind: str) -> list[str]:
    """The codes of every unit of a kind (each branch, each territory), in order: whom a schedule opens
    a case for."""
    return list(db.session.scalars(select(OrgUnit.code).where(OrgUnit.kind == kind).order_by(OrgUnit.code)))


def headquarters_id() -> int | None:
    return next((unit.id for unit in directory.snapshot().units.values() if unit.kind == HQ), None)


def headquarters() -> OrgUnit | None:
    found = headquarters_id()
    return db.session.get(OrgUnit, found) if found is not None else None


def colleagues(user: User) -> list[User]:
    """Active people of the user's branch (or of headquarters, for someone there), himself aside: whom
    he may pick to hand a task on to or ask for an opinion (the policy checks the rest)."""
    branch = branch_of(user.org_unit)
    people = db.session.scalars(select(User).where(User.active, User.id != user.id).order_by(User.username))
    return [person for person in people if branch_of(person.org_unit) == branch]


def branch_named(code) -> OrgUnit:
    """The branch whose code a start form names (its field `branch`); InvalidData on that field if none."""
    branch = db.session.scalar(select(OrgUnit).where(OrgUnit.code == str(code or ""), OrgUnit.kind == BRANCH))
    if branch is None:
        raise InvalidData(_l("No such branch."), {"branch": [_l("No such branch.")]})
    return branch


def branch_month_case(process_key: str, branch: OrgUnit, month: str, besides: int | None, already) -> CaseStart:
    """The start of a flow's one case per branch and month (unique key `process_key:branch:month`); a
    Conflict on the field `month`, in the flow's words `already(case id)`, when that case exists other
    than `besides` (the request being resubmitted)."""
    unique_key = f"{process_key}:{branch.code}:{month}"
    existing = queries.case_with_key(unique_key, besides=besides)
    if existing is not None:
        message = already(existing)
        raise Conflict.on("month", message)
    return CaseStart(data={"branch_id": branch.id, "branch_code": branch.code, "branch_name": branch.name,
                           "month": month},
                     business_key=f"branch:{branch.code}", unique_key=unique_key)
