"""Visits (拜回访, seeds 000, 001, 004): each rep plans the month's visits from last month's sales and
this month's target (approved by the branch's sales manager); every visit is recorded into the
customer's dossier; the visit frequency of seed 004 by customer level and role makes visits due, and
overdue ones show in the visitor's inbox; every branch sends HQ a weekly summary by Monday.

Customer levels read from the latest star rating: 4 stars is level 1 … 1 star level 4, not rated
level 5. Roles: the territory's rep (业务经理), the branch's sales manager and manager, HQ marketing
(营销总监); the regional manager of the seed has no counterpart in this company.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy import ForeignKey, Index, String, Text, func, select
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app import db
from app.calendar import local
from app.db_types import UTCDateTime
from app.domain import org, star_rating
from app.domain.assignment import person_named
from app.domain.customers import Customer, PurchaseRecord, trading
from app.engine import queries
from app.engine.plugins import CaseStart, Flow, Process, ServiceCall
from app.errors import Conflict, InvalidData
from app.i18n import _l

PLAN_KEY, SUMMARY_KEY = "visit_plan", "visit_summary"
# The events recording what a plan's and a summary's steps show (the rows their services listed).
PLAN_SHEET, WEEK_LISTED = "visit_sheet", "visits_listed"
REP, SALES_MANAGER, MANAGER, MARKETING = org.SALES_REP, org.SALES_MANAGER, org.BRANCH_MANAGER, org.HQ_MARKETING
# Days between visits by customer level (1–5) and role (seed 004 §3(2)); None: no visits required.
INTERVAL_DAYS = {
    1: {REP: 3, SALES_MANAGER: 7, MANAGER: 15, MARKETING: 30},
    2: {REP: 7, SALES_MANAGER: 15, MANAGER: 30, MARKETING: 61},
    3: {REP: 15, SALES_MANAGER: 30, MANAGER: 61, MARKETING: 182},
    4: {REP: 30, SALES_MANAGER: 61, MANAGER: 91, MARKETING: 365},
    5: {REP: 30, SALES_MANAGER: 91, MANAGER: 182, MARKETING: None},
}


# What a visit record says (seed 000), each a text.
VIEW_FIELDS = ("products", "delivery", "business_process", "service", "other_views")


def level_of(customer: Customer) -> int:
    latest = star_rating.history(customer.id)[:1]
    return 5 - latest[0].stars if latest else 5


class VisitRecord(db.Model):
    """A visit, recorded into the customer's dossier: who went, in which role, when, and what was said
    about the products, delivery, the business process, service, and anything else (seed 000)."""

    __tablename__ = "visit_records"
    __table_args__ = (Index("ix_visit_records_customer_role_day", "customer_id", "role", "visited_on"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"))
    visitor_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    role: Mapped[str] = mapped_column(String(40))
    visited_on: Mapped[date]
    products: Mapped[str] = mapped_column(Text, default="")
    delivery: Mapped[str] = mapped_column(Text, default="")
    business_process: Mapped[str] = mapped_column(Text, default="")
    service: Mapped[str] = mapped_column(Text, default="")
    other_views: Mapped[str] = mapped_column(Text, default="")
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime())

    customer: Mapped[Customer] = relationship()
    visitor: Mapped[org.User] = relationship()


def visiting_role(user: org.User, customer: Customer) -> str | None:
    """The role in which this user visits this customer (None: he has none toward it)."""
    branch = customer.branch
    if user.has_role(REP, customer.territory_id):
        return REP
    if user.has_role(SALES_MANAGER, branch.id):
        return SALES_MANAGER
    if user.has_role(MANAGER, branch.id):
        return MANAGER
    if user.has_role(MARKETING):
        return MARKETING
    return None


def record(customer: Customer, user: org.User, values: dict, now: datetime) -> VisitRecord:
    """A visit into the dossier, in the role the user visits the customer in (the policy saw that he has
    one)."""
    role = visiting_role(user, customer)
    if values["visited_on"] > local(now).date():
        message = _l("A visit cannot be recorded before it happens.")
        raise InvalidData.on("visited_on", message)
    visit = VisitRecord(customer_id=customer.id, visitor_id=user.id, role=role, recorded_at=now, **values)
    db.session.add(visit)
    db.session.commit()
    return visit


def recorded_rows(instance_id: int, event_type: str) -> list[dict]:
    """The rows a plan's or a summary's service listed (PLAN_SHEET, WEEK_LISTED)."""
    return queries.recorded_rows(instance_id, event_type)


def of_customer(customer_id: int, limit: int = 20) -> list[VisitRecord]:
    return list(db.session.scalars(select(VisitRecord).where(VisitRecord.customer_id == customer_id)
                                   .order_by(VisitRecord.visited_on.desc(), VisitRecord.id.desc()).limit(limit)))


@dataclass(frozen=True)
class DueVisit:
    customer: Customer
    role: str
    last: date | None
    due: date

    def overdue(self, today: date) -> bool:
        return self.due < today


def _customers_of(user: org.User) -> list[tuple[Customer, str]]:
    """The customers this user must visit, with the role he visits them in (one query)."""
    territories = [m.org_unit_id for m in user.memberships if m.role.code == REP]
    branches = [m.org_unit_id for m in user.memberships if m.role.code in (SALES_MANAGER, MANAGER)]
    query = select(Customer).join(org.OrgUnit, Customer.territory_id == org.OrgUnit.id).order_by(Customer.code)
    if not user.has_role(MARKETING):
        if not territories and not branches:
            return []
        query = query.where(Customer.territory_id.in_(territories) | org.OrgUnit.parent_id.in_(branches))
    return [(customer, role) for customer in db.session.scalars(query)
            if (role := visiting_role(user, customer)) is not None]


def due_visits(user: org.User, now: datetime) -> list[DueVisit]:
    """Every visit the frequency table asks of this user, soonest due first: due the interval after his
    role's last visit (anyone in that role counts), or today if never visited. Three queries, whatever
    the number of customers (the inbox shows the overdue ones)."""
    customers = _customers_of(user)
    if not customers:
        return []
    ids = [customer.id for customer, _role in customers]
    newest = (select(star_rating.StarRating.customer_id, func.max(star_rating.StarRating.month).label("month"))
              .where(star_rating.StarRating.customer_id.in_(ids), star_rating.StarRating.stars.is_not(None))
              .group_by(star_rating.StarRating.customer_id).subquery())
    stars = dict(db.session.execute(select(star_rating.StarRating.customer_id, star_rating.StarRating.stars).join(
        newest, (star_rating.StarRating.customer_id == newest.c.customer_id)
        & (star_rating.StarRating.month == newest.c.month))).all())
    last_visits = {(customer_id, role): day for customer_id, role, day in db.session.execute(
        select(VisitRecord.customer_id, VisitRecord.role, func.max(VisitRecord.visited_on))
        .where(VisitRecord.customer_id.in_(ids)).group_by(VisitRecord.customer_id, VisitRecord.role))}
    today = local(now).date()
    result = []
    for customer, role in customers:
        interval = INTERVAL_DAYS[5 - stars[customer.id] if customer.id in stars else 5][role]
        if interval is None:
            continue
        last = last_visits.get((customer.id, role))
        result.append(DueVisit(customer, role, last, last + timedelta(days=interval) if last else today))
    return sorted(result, key=lambda visit: (visit.due, visit.customer.code))


def overdue_visits(user: org.User, now: datetime) -> list[DueVisit]:
    today = local(now).date()
    return [visit for visit in due_visits(user, now) if visit.overdue(today)]


# -- the monthly plan ------------------------------------------------------------------------------

def prepare_plan(data: dict, _starter, now: datetime, resubmitting: int | None = None) -> CaseStart:
    """One rep's visit plan for one month (this month or the next); never a second one."""
    rep = db.session.scalar(select(org.User).where(org.User.username == str(data.get("rep", ""))))
    territory = next((m.org_unit for m in rep.memberships if m.role.code == REP), None) if rep else None
    if territory is None:
        raise InvalidData(_l("Name a sales rep."), {"rep": [_l("Name a sales rep.")]})
    month = str(data.get("month", ""))
    if not star_rating.MONTH.match(month):
        message = _l("A month is written YYYY-MM, e.g. 2026-10.")
        raise InvalidData.on("month", message)
    unique_key = f"{PLAN_KEY}:{rep.username}:{month}"
    existing = queries.case_with_key(unique_key, besides=resubmitting)
    if existing is not None:
        message = _l("%(name)s already has a visit plan for %(month)s (case %(id)s).", name=rep.display_name,
                     month=month, id=existing)
        raise Conflict.on("month", message)
    return CaseStart(data={"rep_id": rep.id, "rep_name": rep.display_name, "territory_id": territory.id,
                           "branch_id": territory.parent_id, "branch_name": territory.parent.name, "month": month,
                           "last_month": _month_before(month)},
                     business_key=f"rep:{rep.username}", unique_key=unique_key)


def _month_before(month: str) -> str:
    index = int(month[:4]) * 12 + int(month[5:]) - 2
    return f"{index // 12}-{index % 12 + 1:02d}"


def plan_starts(due: datetime) -> list[dict]:
    """What the schedule opens on the 1st: this month's plan of every rep."""
    month = local(due).strftime("%Y-%m")
    reps = db.session.scalars(select(org.User.username).join(org.Membership).join(org.Role)
                              .where(org.Role.code == REP, org.User.active).order_by(org.User.username))
    return [{"rep": username, "month": month} for username in reps]


def plan_sheet(call: ServiceCall) -> dict:
    """Service task `prepare_visit_plan`: every customer of the rep's territory with last month's tons,
    its level and how many visits the frequency table asks of the rep this month; recorded in the case."""
    first = date(int(call.data["last_month"][:4]), int(call.data["last_month"][5:]), 1)
    following = (first + timedelta(days=32)).replace(day=1)
    rows = []
    for customer in db.session.scalars(select(Customer).where(Customer.territory_id == call.data["territory_id"],
                                                              trading()).order_by(Customer.code)):
        tons = db.session.scalar(select(func.coalesce(func.sum(PurchaseRecord.quantity_tons), 0)).where(
            PurchaseRecord.customer_id == customer.id, PurchaseRecord.ordered_on >= first,
            PurchaseRecord.ordered_on < following))
        level = level_of(customer)
        rows.append({"code": customer.code, "name": customer.name, "level": level, "last_month_tons": str(tons),
                     "visits_required": math.ceil(30 / INTERVAL_DAYS[level][REP])})
    call.case.record(PLAN_SHEET, {"rows": rows}, system=True)
    return {}


# -- the weekly summary ----------------------------------------------------------------------------

def prepare_summary(data: dict, _starter, now: datetime, resubmitting: int | None = None) -> CaseStart:
    """One branch's summary of the week before `monday` (YYYY-MM-DD, a Monday); never a second one."""
    branch = org.branch_named(data.get("branch"))
    try:
        monday = date.fromisoformat(str(data.get("monday", "")))
    except ValueError:
        monday = None
    if monday is None or monday.weekday() != 0:
        message = _l("Name the Monday the summary is due, as YYYY-MM-DD.")
        raise InvalidData.on("monday", message)
    unique_key = f"{SUMMARY_KEY}:{branch.code}:{monday.isoformat()}"
    if queries.case_with_key(unique_key) is not None:
        message = _l("%(branch)s's summary for that week exists already.", branch=branch.name)
        raise Conflict.on("monday", message)
    return CaseStart(data={"branch_id": branch.id, "branch_code": branch.code, "branch_name": branch.name,
                           "monday": monday.isoformat(), "week_from": (monday - timedelta(days=7)).isoformat()},
                     business_key=f"branch:{branch.code}", unique_key=unique_key)


def summary_starts(due: datetime) -> list[dict]:
    """What the schedule opens on Monday morning: every branch's summary of the week before."""
    monday = local(due).date()
    return [{"branch": code, "monday": monday.isoformat()} for code in org.unit_codes(org.BRANCH)]


def summary_rows(call: ServiceCall) -> dict:
    """Service task `prepare_visit_summary`: the branch's visits of the week before, recorded in the case."""
    week_from, monday = date.fromisoformat(call.data["week_from"]), date.fromisoformat(call.data["monday"])
    territories = select(org.OrgUnit.id).where(org.OrgUnit.parent_id == call.data["branch_id"])
    visits = db.session.scalars(select(VisitRecord).join(Customer).where(
        Customer.territory_id.in_(territories), VisitRecord.visited_on >= week_from, VisitRecord.visited_on < monday)
        .order_by(VisitRecord.visited_on, VisitRecord.id))
    rows = [{"code": v.customer.code, "name": v.customer.name, "visitor": v.visitor.display_name, "role": v.role,
             "visited_on": v.visited_on.isoformat(), "views": "；".join(
                 text for text in (v.products, v.delivery, v.business_process, v.service, v.other_views) if text)}
            for v in visits]
    call.case.record(WEEK_LISTED, {"rows": rows}, system=True)
    return {"visit_count": len(rows)}



FLOW = Flow(
    name="visits",
    processes={PLAN_KEY: Process(start=prepare_plan, scheduled=plan_starts, starters=frozenset({org.ADMIN})),
               SUMMARY_KEY: Process(start=prepare_summary, scheduled=summary_starts, starters=frozenset({org.ADMIN}))},
    forms="forms.visits",
    person_rules={"plan_rep": person_named("rep_id", "the plan names no active rep")},
    services={"prepare_visit_plan": plan_sheet, "prepare_visit_summary": summary_rows},
    tables=(VisitRecord,),
    event_words={PLAN_SHEET: _l("Visits required listed"), WEEK_LISTED: _l("Last week's visits listed")},
    rule_words={
        "plan_rep": _l("Sales rep whose visit plan it is"),
    },
    form_words={
        "visit_plan_start": _l("Opening a rep's visit plan"),
        "visit_plan_sheet": _l("Visit plan of the month"),
        "visit_plan_approval": _l("Sales manager's approval of a visit plan"),
        "visit_summary_start": _l("Opening a week's visit summary"),
        "visit_summary_report": _l("Weekly visit summary"),
        "visit_summary_read": _l("Marketing's reading of the visit summary"),
    },
)
