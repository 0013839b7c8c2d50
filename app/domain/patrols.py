"""Patrols and relationship managers (客户的巡视管理、关系管理, seed 004 "客户预警管理的措施").

The tier (`tier_of`, the one place that says it): a customer whose value class (app.domain.classes, kind
"value") is core is a core customer (核心客户); otherwise a key or big customer (Customer.key_customer,
big_customer, from the credit rating) is an important one (重要客户); every other customer is general
(一般客户). A customer with no value class yet is core if it is a big customer.

Patrols by tier: core customers by senior management (the deputy general manager in charge), important
ones by a department manager (the branch's sales manager), general ones by sales staff (the territory's
rep). Sales staff patrol on a regular rhythm, twice a month (due on the 15th and on the month's last day);
managers once a month, on a day of their choosing (due by the month's end). On the 1st the schedule opens
each branch's month (processes/patrol_plan.bpmn): the plan lists who patrols whom by when, each patrol is
a task for its patroller (told three days ahead, reminded when late), and records what was found; a
problem found becomes a task for the person who must solve it, with a due date, followed until it is: it
is never closed without its solution written.

Relationship managers (关系经理): every core and important customer has one, a named person set by the
branch manager. He is shown on the dossier and is copied every complaint about the customer and its
warnings (`copy_to_relationship_manager`, called where those flows start; the group rule
`relationship_manager` lets any BPMN copy to him with the standard `copy_to_readers` step).
"""
from __future__ import annotations

import calendar
from datetime import date, datetime

from sqlalchemy import ForeignKey, String, Text, UniqueConstraint, select
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app import db
from app.calendar import local
from app.db_types import UTCDateTime
from app.domain import org
from app.domain.assignment import person_named
from app.domain.customers import Customer, trading
from app.domain.star_rating import MONTH
from app.engine import queries, readers
from app.engine.models import Task
from app.engine.plugins import Assignment, AssignmentError, CaseStart, Flow, Process, ServiceCall
from app.errors import Conflict, Forbidden, InvalidData
from app.i18n import _l

PROCESS_KEY = "patrol_plan"
CORE, IMPORTANT, GENERAL = "core", "important", "general"
TIERS = (CORE, IMPORTANT, GENERAL)
TIER_WORDS = {CORE: _l("Core customer"), IMPORTANT: _l("Important customer"), GENERAL: _l("General customer")}
REP_PATROL_DAYS = (15, 31)  # the sales staff's regular rhythm: due on these days (31: the month's last day)
REMIND_DAYS_AHEAD = 3
PATROLS_PLANNED = "patrols_planned"  # the event recording the plan's rows
PATROL_DUE = "patrol_due"  # the notification telling a patroller his patrol is near
RELATIONSHIP_COPY = "relationship_copy"  # the notification of a case copied to the relationship manager
TEXT_MAX = 4000


def tier_of(customer: Customer) -> str:
    """The customer's tier for patrols and relationship managers (see the module's words)."""
    from app.domain import (
        classes,  # here: classes reads complaints and warnings, which copy through this module
    )
    value = classes.current_classes(customer.id).get(classes.VALUE)
    if value is not None and value.value == "core":
        return CORE
    if value is None and customer.big_customer:
        return CORE
    if customer.key_customer or customer.big_customer:
        return IMPORTANT
    return GENERAL


def needs_relationship_manager(customer: Customer) -> bool:
    return tier_of(customer) in (CORE, IMPORTANT)


class Patrol(db.Model):
    """One patrol of a month's plan: who patrols which customer by when, and what he found; a problem found
    with the person who must solve it, by when, and the solution."""

    __tablename__ = "patrols"
    __table_args__ = (UniqueConstraint("instance_id", "position", name="uq_patrols_instance_position"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    instance_id: Mapped[int] = mapped_column(ForeignKey("instances.id"))
    position: Mapped[int]  # its index in the plan (the sub-process instance's `patrol_index`)
    branch_id: Mapped[int] = mapped_column(ForeignKey("org_units.id"))
    month: Mapped[str] = mapped_column(String(7))
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"), index=True)
    tier: Mapped[str] = mapped_column(String(10))
    patroller_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    regular: Mapped[bool]  # on the sales staff's fixed rhythm (else: any day of the month)
    due_on: Mapped[date]
    patrolled_on: Mapped[date | None]
    findings: Mapped[str] = mapped_column(Text, default="")
    reported_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    problem: Mapped[str] = mapped_column(Text, default="")
    solver_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    solve_by: Mapped[date | None]
    solution: Mapped[str] = mapped_column(Text, default="")
    solved_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    customer: Mapped[Customer] = relationship()
    patroller: Mapped[org.User] = relationship(foreign_keys=[patroller_id])
    solver: Mapped[org.User | None] = relationship(foreign_keys=[solver_id])


def of_customer(customer_id: int, limit: int = 20) -> list[Patrol]:
    """A customer's patrols, latest due first (the dossier's 巡视)."""
    return list(db.session.scalars(select(Patrol).where(Patrol.customer_id == customer_id)
                                   .order_by(Patrol.due_on.desc(), Patrol.id.desc()).limit(limit)))


def of_case(instance_id: int) -> list[Patrol]:
    return list(db.session.scalars(select(Patrol).where(Patrol.instance_id == instance_id).order_by(Patrol.position)))


def _patrol(instance_id: int, position: int) -> Patrol:
    return db.session.scalar(select(Patrol).where(Patrol.instance_id == instance_id, Patrol.position == position))


# -- who patrols whom, and when ----------------------------------------------------------------------

def _month_days(month: str) -> tuple[int, int, int]:
    year, number = int(month[:4]), int(month[5:])
    return year, number, calendar.monthrange(year, number)[1]


def planned(customer: Customer, month: str) -> list[tuple[str, int, bool, date]]:
    """The customer's patrols of `month`: (tier, patroller's user id, regular, due day). Raises
    AssignmentError when the organisation has nobody for a tier."""
    tier = tier_of(customer)
    year, number, last = _month_days(month)
    if tier == CORE:
        people = org.users_with_role(org.DEPUTY_GM, org.headquarters().id) \
            or org.users_with_role(org.LEADERSHIP, org.department_of(org.headquarters(), "leadership").id)
        regular, days = False, (last,)
    elif tier == IMPORTANT:
        people = org.users_with_role(org.SALES_MANAGER, customer.branch.id) \
            or org.users_with_role(org.BRANCH_MANAGER, customer.branch.id)
        regular, days = False, (last,)
    else:
        people = org.users_with_role(org.SALES_REP, customer.territory_id)
        regular, days = True, tuple(min(day, last) for day in REP_PATROL_DAYS)
    if not people:
        raise AssignmentError(f"nobody patrols {customer.code} ({tier})")
    return [(tier, people[0].id, regular, date(year, number, day)) for day in days]


def prepare_plan(data: dict, _starter, now: datetime, resubmitting: int | None = None) -> CaseStart:
    """One branch's patrols of one month (this month or a later one); never a second plan."""
    branch = org.branch_named(data.get("branch"))
    month = str(data.get("month", "")).strip()
    if not MONTH.match(month):
        message = _l("A month is written YYYY-MM, e.g. 2026-10.")
        raise InvalidData.on("month", message)
    if month < local(now).strftime("%Y-%m"):
        message = _l("Patrols are planned for this month or a later one.")
        raise InvalidData.on("month", message)
    return org.branch_month_case(PROCESS_KEY, branch, month, resubmitting, lambda case: _l(
        "%(branch)s already has a patrol plan for %(month)s (case %(id)s).", branch=branch.name, month=month,
        id=case))


def scheduled_starts(due: datetime) -> list[dict]:
    """What the schedule opens on the 1st: this month's patrol plan of every branch."""
    month = local(due).strftime("%Y-%m")
    return [{"branch": code, "month": month} for code in org.unit_codes(org.BRANCH)]


def plan(call: ServiceCall) -> dict:
    """Service task `plan_patrols`: every customer of the branch by its tier, with its patroller and due
    days; each a row (followed until done) and the plan recorded in the case."""
    data, case = call.data, call.case
    territories = select(org.OrgUnit.id).where(org.OrgUnit.parent_id == data["branch_id"])
    rows = []
    for customer in db.session.scalars(select(Customer).where(Customer.territory_id.in_(territories), trading())
                                       .order_by(Customer.code)):
        for tier, patroller_id, regular, due_on in planned(customer, data["month"]):
            position = len(rows)
            db.session.add(Patrol(instance_id=case.instance.id, position=position, branch_id=data["branch_id"],
                                  month=data["month"], customer_id=customer.id, tier=tier, patroller_id=patroller_id,
                                  regular=regular, due_on=due_on))
            rows.append({"position": position, "customer_id": customer.id, "code": customer.code,
                         "name": customer.name, "tier": tier, "patroller_id": patroller_id, "regular": regular,
                         "due_on": due_on.isoformat()})
    case.record(PATROLS_PLANNED, {"rows": rows}, system=True)
    return {"patrols": rows, "patrol_count": len(rows)}


def _rank(task, spec_id: str) -> int:
    """Where a task stands among its case's tasks of one step, by when they were opened (0 first)."""
    ids = list(db.session.scalars(select(Task.id).where(Task.instance_id == task.instance_id,
                                                       Task.spec_id == spec_id).order_by(Task.id)))
    return ids.index(task.id) if task.id in ids else -1


def patrol_of_task(task) -> Patrol | None:
    """The patrol a task is about: a patrol's task (all of a plan's open together, in the plan's order) or
    a problem's (opened one by one, as the problems were reported); None if the case says otherwise."""
    rows = of_case(task.instance_id)
    if task.spec_id == "patrol_customer":
        rank = _rank(task, "patrol_customer")
        row = rows[rank] if 0 <= rank < len(rows) else None
        return row if row is not None and row.patroller_id in (task.assignee_id, task.owner_id) else None
    if task.spec_id == "solve_problem":
        reported = sorted((r for r in rows if r.solver_id is not None), key=lambda r: (r.reported_at, r.position))
        rank = _rank(task, "solve_problem")
        row = reported[rank] if 0 <= rank < len(reported) else None
        return row if row is not None and row.solver_id in (task.assignee_id, task.owner_id) else None
    return None


def planned_rows(instance_id: int) -> list[dict]:
    """The plan as its service recorded it."""
    return queries.recorded_rows(instance_id, PATROLS_PLANNED)


def patroller(data: dict) -> Assignment:
    """The patroller of one patrol of the plan (the sub-process instance's `patrol_index`)."""
    rows, index = data.get("patrols"), data.get("patrol_index")
    row = rows[index] if isinstance(rows, list) and isinstance(index, int) and 0 <= index < len(rows) else None
    person = db.session.get(org.User, row.get("patroller_id")) if row else None
    if person is None or not person.active:
        raise AssignmentError(f"the patrol plan names no active patroller (index {index!r})")
    return Assignment(assignee_id=person.id)


def remind_patroller(call: ServiceCall) -> dict:
    """Service task `remind_patroller`: the patroller is told that his patrol is due in a few days."""
    row = call.data["patrols"][call.data["patrol_index"]]
    customer = db.session.get(Customer, row["customer_id"])
    call.case.uow.ext.notify([row["patroller_id"]], PATROL_DUE, call.case.now, instance_id=call.case.instance.id,
                             task=f"{customer.code} {customer.name} · {row['due_on']}")
    call.case.record("patrol_reminded", {"customer_code": customer.code, "patroller_id": row["patroller_id"],
                                         "due_on": row["due_on"]}, system=True)
    return {}


def record_patrol(call: ServiceCall) -> dict:
    """Service task `record_patrol`: what the patroller found; a problem with its solver and due day."""
    data, case = call.data, call.case
    patrol = _patrol(case.instance.id, data["patrol_index"])
    patrol.patrolled_on = date.fromisoformat(data["patrolled_on"])
    patrol.findings, patrol.reported_at = (data.get("findings") or "").strip(), case.now
    if data.get("problem_found"):
        patrol.problem = (data.get("problem") or "").strip()
        patrol.solver_id, patrol.solve_by = data["solver_id"], date.fromisoformat(data["solve_by"])
    return {"problem_found": bool(data.get("problem_found"))}


def record_solution(call: ServiceCall) -> dict:
    """Service task `record_patrol_solution`: the problem solved, with the solution written."""
    patrol = _patrol(call.case.instance.id, call.data["patrol_index"])
    solution = (call.data.get("solution") or "").strip()
    if not solution:  # the form sees to it; the record never closes a problem without one
        raise InvalidData(_l("Write the solution: a problem is not closed without it."),
                          {"solution": [_l("Write the solution: a problem is not closed without it.")]})
    patrol.solution, patrol.solved_at = solution, call.case.now
    return {}


def solver_candidates(branch_id: int) -> list[org.User]:
    """Who may be made to solve a patrol's problem, or be a relationship manager: the active people of the
    branch, then of headquarters; compliance reviewers and process administrators (only those roles) aside."""
    bystanders = {org.AUDITOR, org.ADMIN}
    people = [u for u in db.session.scalars(select(org.User).where(org.User.active).order_by(org.User.org_unit_id,
                                                                                             org.User.id))
              if any(m.role.code not in bystanders for m in u.memberships)]
    branch_of = {u.id: org.branch_of(u.org_unit) for u in people}
    return ([u for u in people if branch_of[u.id] is not None and branch_of[u.id].id == branch_id]
            + [u for u in people if branch_of[u.id] is None])


def result(instance) -> dict:
    """What an ended plan leads with: its patrols, what was found and solved."""
    return {"patrols": of_case(instance.id), "month": (instance.start_data or {}).get("month")}


# -- relationship managers ---------------------------------------------------------------------------

def may_set_relationship_manager(user: org.User, customer: Customer) -> bool:
    """The branch manager of the customer's branch sets its relationship manager."""
    return user.has_role(org.BRANCH_MANAGER, customer.branch.id)


def relationship_branches(user: org.User) -> list[int]:
    """The branches whose relationship managers `user` sets."""
    return [m.org_unit_id for m in user.memberships if m.role.code == org.BRANCH_MANAGER]


def relationship_manager(customer: Customer) -> org.User | None:
    return db.session.get(org.User, customer.relationship_manager_id) if customer.relationship_manager_id else None


def set_relationship_manager(customer: Customer, person_id: int | None, by: org.User, now: datetime) -> Customer:
    """Name (or, with None, clear) the customer's relationship manager: a core or important customer's,
    an active person of its branch or of headquarters (the policy saw that `by` may)."""
    if person_id is None:
        customer.relationship_manager_id = None
        db.session.commit()
        return customer
    if not needs_relationship_manager(customer):
        message = _l("Only core and important customers have a relationship manager; %(code)s is a general "
                     "customer.", code=customer.code)
        raise Conflict.on("person_id", message)
    person = db.session.get(org.User, person_id)
    if person is None or not person.active or person not in solver_candidates(customer.branch.id):
        message = _l("Choose an active person of the customer's branch or of headquarters.")
        raise InvalidData.on("person_id", message)
    customer.relationship_manager_id = person.id
    db.session.commit()
    return customer


def branch_customers(branch_ids: list[int]) -> list[tuple[Customer, str]]:
    """The customers of these branches with their tiers, core and important first (the page's list)."""
    territories = select(org.OrgUnit.id).where(org.OrgUnit.parent_id.in_(branch_ids))
    customers = db.session.scalars(select(Customer).where(Customer.territory_id.in_(territories), trading())
                                   .order_by(Customer.code))
    return sorted(((c, tier_of(c)) for c in customers), key=lambda pair: TIERS.index(pair[1]))


def relationship_manager_rule(data: dict) -> Assignment:
    """Group rule `relationship_manager`, for a `readers` property of the standard `copy_to_readers` step:
    the relationship manager of the case's customer (nobody, if it has none)."""
    customer = db.session.get(Customer, data.get("customer_id"))
    if customer is None:
        raise AssignmentError(f"the case names no known customer ({data.get('customer_id')!r})")
    return Assignment(assignee_id=customer.relationship_manager_id) if customer.relationship_manager_id \
        else Assignment()


def copy_to_relationship_manager(case, customer_id: int, note: str = "") -> list[org.User]:
    """Copy a case about a customer (a complaint, a warning) to its relationship manager, if it has one
    (抄送): he reads it, is told, and the case's history says so. Called where those flows start."""
    customer = db.session.get(Customer, customer_id)
    person = relationship_manager(customer) if customer is not None else None
    if person is None:
        return []
    added = case.add_readers([person], note, kind=RELATIONSHIP_COPY)
    if added:
        case.record("case_copied", readers.event_data(added, note), system=True)
    return added


def refuse_unless_branch_manager(user: org.User, customer: Customer) -> None:
    if not may_set_relationship_manager(user, customer):
        raise Forbidden(_l("Only the branch manager of the customer's branch sets its relationship manager."))


FLOW = Flow(
    name="patrols",
    processes={PROCESS_KEY: Process(start=prepare_plan, scheduled=scheduled_starts,
                                    starters=frozenset({org.ADMIN}), result=result)},
    forms="forms.patrols",
    person_rules={"patroller": patroller,
                  "patrol_problem_solver": person_named("solver_id", "the patrol names no active solver")},
    group_rules={"relationship_manager": relationship_manager_rule},
    services={"plan_patrols": plan, "remind_patroller": remind_patroller, "record_patrol": record_patrol,
              "record_patrol_solution": record_solution},
    comment_fields=("findings", "problem", "solution"),
    tables=(Patrol,),
    event_words={PATROLS_PLANNED: _l("Patrols planned"), "patrol_reminded": _l("Patroller reminded")},
    outcome_words={"patrols_done": _l("Every patrol done and every problem solved")},
    rule_words={
        "patroller": _l("Patroller of a planned patrol"),
        "patrol_problem_solver": _l("Person named to solve a patrol's problem"),
        "relationship_manager": _l("Relationship manager of the case's customer"),
    },
    form_words={
        "patrol_plan_start": _l("Opening a branch's patrol plan"),
        "patrol_report": _l("Patrol report"),
        "patrol_problem_solution": _l("Solving a problem found on patrol"),
    },
)
