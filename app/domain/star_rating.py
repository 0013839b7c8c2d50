"""The monthly star rating (客户星级评定, seed 000, DOMAIN §2).

Each month every branch rates its customers 1 to 4 stars on last month's purchases. The branch's
initial rating splits: 1–2 stars go to HQ marketing for review, 3–4 stars to HQ marketing's second
rating and then to company leadership. The flow lives in processes/star_rating.bpmn; this module
keeps the rating sheet (one `StarRating` row per customer and month), the services the flow calls,
and the preferential policy that follows from the history.
"""
from __future__ import annotations

import re
from datetime import date, datetime
from decimal import Decimal
from functools import partial

from sqlalchemy import ForeignKey, Numeric, String, Text, UniqueConstraint, and_, func, insert, select, update
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app import db
from app.calendar import local
from app.db_types import UTCDateTime
from app.domain import org
from app.domain.customers import Customer, PurchaseRecord, trading
from app.engine import queries
from app.engine.plugins import CaseStart, Flow, Process, ServiceCall
from app.errors import Conflict, DefinitionFault, InvalidData
from app.i18n import _l

PROCESS_KEY = "star_rating"
STARS = (1, 2, 3, 4)
LOW, HIGH = (1, 2), (3, 4)  # HQ review only / HQ second rating and leadership approval
# Preferential policy (seed 000, 星级客户优惠政策): (stars at least, for at least N consecutive months)
RESOURCE_GUARANTEE = (2, 2)  # supplied like the company's own stations when supply is rationed
EXTRA_DISCOUNT = (3, 3)
EXTRA_DISCOUNT_YUAN_PER_TON = 5

MONTH = re.compile(r"^(\d{4})-(0[1-9]|1[0-2])$")


class StarRating(db.Model):
    """One customer's rating for one month, round by round. Created when the case prepares the
    sheet (purchases and the suggestion are computed, never typed); `stars` is set once approved."""

    __tablename__ = "star_ratings"
    __table_args__ = (UniqueConstraint("customer_id", "month"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    instance_id: Mapped[int] = mapped_column(ForeignKey("instances.id"), index=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"))
    branch_id: Mapped[int] = mapped_column(ForeignKey("org_units.id"))
    month: Mapped[str] = mapped_column(String(7))  # YYYY-MM, the month rated
    volume_tons: Mapped[Decimal] = mapped_column(Numeric(12, 2))
    amount_yuan: Mapped[Decimal] = mapped_column(Numeric(14, 2))
    suggested_stars: Mapped[int]
    initial_stars: Mapped[int | None]
    initial_reason: Mapped[str] = mapped_column(Text, default="")
    initial_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    second_round_stars: Mapped[int | None]
    second_round_reason: Mapped[str] = mapped_column(Text, default="")
    second_round_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    stars: Mapped[int | None]  # final, once its part is approved and the case finalised
    approved_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    approved_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    customer: Mapped[Customer] = relationship(lazy="joined")
    initial_by: Mapped[org.User | None] = relationship(foreign_keys=[initial_by_id])
    second_round_by: Mapped[org.User | None] = relationship(foreign_keys=[second_round_by_id])
    approved_by: Mapped[org.User | None] = relationship(foreign_keys=[approved_by_id])

    @property
    def decided_stars(self) -> int | None:
        """The stars as the case stands: the second round's if there was one, else the branch's."""
        return self.second_round_stars if self.second_round_stars is not None else self.initial_stars


# -- starting ------------------------------------------------------------------------------------

def month_bounds(month: str) -> tuple[date, date]:
    year, number = (int(part) for part in month.split("-"))
    following = date(year + number // 12, number % 12 + 1, 1)
    return date(year, number, 1), following


def previous_month(moment: datetime) -> str:
    here = local(moment)
    index = here.year * 12 + here.month - 2
    return f"{index // 12:04d}-{index % 12 + 1:02d}"


def _branch(value) -> org.OrgUnit:
    query = select(org.OrgUnit).where(org.OrgUnit.kind == org.BRANCH)
    if isinstance(value, int) or (isinstance(value, str) and value.isdigit()):
        branch = db.session.scalar(query.where(org.OrgUnit.id == int(value)))
    else:
        branch = db.session.scalar(query.where(org.OrgUnit.code == str(value or "")))
    if branch is None:
        message = _l("Unknown branch.")
        raise InvalidData.on("branch", message)
    return branch


def _checked_month(value, now: datetime) -> str:
    month = str(value or "").strip()
    if not MONTH.match(month):
        message = _l("A month is written YYYY-MM, e.g. 2026-10.")
        raise InvalidData.on("month", message)
    if month > previous_month(now):
        message = _l("Only a month that has ended can be rated.")
        raise InvalidData.on("month", message)
    return month


def prepare_start(data: dict, _starter, now: datetime, resubmitting: int | None = None) -> CaseStart:
    """A star rating for one branch and one month; there is never a second one."""
    branch = _branch(data.get("branch"))
    month = _checked_month(data.get("month"), now)
    unique_key = f"{PROCESS_KEY}:{branch.code}:{month}"
    existing = queries.case_with_key(unique_key)
    if existing is not None:
        message = _l("%(branch)s already has a star rating for %(month)s (case %(id)s).",
                     branch=branch.name, month=month, id=existing)
        raise Conflict.on("month", message)
    return CaseStart(data={"branch_id": branch.id, "branch_code": branch.code, "branch_name": branch.name,
                           "month": month},
                     business_key=f"branch:{branch.code}", unique_key=unique_key)


def scheduled_starts(due: datetime) -> list[dict]:
    """What the schedule opens at `due` (the 1st, 00:00 in Shanghai): last month's rating, per branch."""
    month = previous_month(due)
    return [{"branch": code, "month": month} for code in org.unit_codes(org.BRANCH)]


# -- the services the BPMN calls -------------------------------------------------------------------

def prepare_sheet(call: ServiceCall) -> dict:
    """Every customer of the branch with last month's purchases and the suggestion of the decision
    table (processes/star_suggestion.dmn)."""
    data, case = call.data, call.case
    first, following = month_bounds(data["month"])
    in_month = and_(PurchaseRecord.customer_id == Customer.id, PurchaseRecord.ordered_on >= first,
                    PurchaseRecord.ordered_on < following)
    customers = db.session.execute(
        select(Customer.id, Customer.code,
               func.coalesce(func.sum(PurchaseRecord.quantity_tons), 0).label("tons"),
               func.coalesce(func.sum(PurchaseRecord.amount_yuan), 0).label("amount"))
        .join(org.OrgUnit, Customer.territory_id == org.OrgUnit.id).outerjoin(PurchaseRecord, in_month)
        .where(org.OrgUnit.parent_id == data["branch_id"], trading()).group_by(Customer.id, Customer.code)
        .order_by(Customer.code)).all()
    rows = []
    for customer in customers:
        tons, amount = Decimal(customer.tons), Decimal(customer.amount)
        suggestion = call.decide({"volume_tons": float(tons), "amount_yuan": float(amount)}).get("stars")
        if suggestion not in STARS:
            raise DefinitionFault(_l("The star suggestion table gives no star (1–4) for %(code)s (%(tons)s t).",
                                     code=customer.code, tons=tons))
        rows.append({"instance_id": case.instance.id, "customer_id": customer.id, "branch_id": data["branch_id"],
                     "month": data["month"], "volume_tons": tons, "amount_yuan": amount,
                     "suggested_stars": suggestion, "initial_reason": "", "second_round_reason": ""})
    if rows:
        db.session.execute(insert(StarRating), rows)
    return {"customer_count": len(rows)}


def sheet(instance_id: int, part: tuple[int, ...] | None = None) -> list[StarRating]:
    """The case's rating rows in customer order; `part` keeps those the branch gave these stars."""
    query = select(StarRating).where(StarRating.instance_id == instance_id)
    if part is not None:
        query = query.where(StarRating.initial_stars.in_(part))
    return list(db.session.scalars(query.join(StarRating.customer).order_by(Customer.code)))


def _ratings(data: dict) -> dict[int, dict]:
    return {int(r["customer_id"]): r for r in data.get("ratings") or []}


def record_initial(call: ServiceCall) -> dict:
    """The branch's sheet (first filing or revision): its stars and reasons; a revision starts HQ's
    part afresh."""
    ratings, case = _ratings(call.data), call.case
    rows = sheet(case.instance.id)
    for row in rows:
        rating = ratings[row.customer_id]  # the form saw to it that every customer is rated
        row.initial_stars, row.initial_reason = int(rating["stars"]), rating.get("reason") or ""
        row.initial_by_id = case.actor.id
        row.second_round_stars, row.second_round_reason, row.second_round_by_id = None, "", None
        row.approved_by_id = row.approved_at = None
    return {"low_count": sum(r.initial_stars in LOW for r in rows),
            "high_count": sum(r.initial_stars in HIGH for r in rows)}


def record_second_round(call: ServiceCall) -> dict:
    """HQ marketing's second rating of the 3–4 star customers."""
    ratings, case = _ratings(call.data), call.case
    for row in sheet(case.instance.id, HIGH):
        rating = ratings[row.customer_id]
        row.second_round_stars, row.second_round_reason = int(rating["stars"]), rating.get("reason") or ""
        row.second_round_by_id = case.actor.id
    return {}


def approve_part(call: ServiceCall, part: tuple[int, ...]) -> dict:
    """HQ marketing (1–2 stars) or leadership (3–4 stars) approved their part: remember who."""
    case = call.case
    db.session.execute(update(StarRating).where(StarRating.instance_id == case.instance.id,
                                                StarRating.initial_stars.in_(part))
                       .values(approved_by_id=case.actor.id, approved_at=case.now))
    return {}


def finalize(call: ServiceCall) -> dict:
    """Both parts approved: the final stars go into the history and the preferential flags follow."""
    case = call.case
    rows = sheet(case.instance.id)
    counts = {str(stars): 0 for stars in STARS}
    for row in rows:
        row.stars = row.decided_stars
        counts[str(row.stars)] += 1
    db.session.flush()
    for row in rows:
        refresh_preferences(row.customer)
    case.record("star_rating_final", {"month": call.data["month"], "counts": counts})
    return {"final_counts": counts}


# -- history and the preferential policy ---------------------------------------------------------

def history(customer_id: int) -> list[StarRating]:
    """A customer's approved monthly stars, newest first."""
    return list(db.session.scalars(select(StarRating).where(StarRating.customer_id == customer_id,
                                                            StarRating.stars.is_not(None))
                                   .order_by(StarRating.month.desc())))


def _month_index(month: str) -> int:
    year, number = (int(part) for part in month.split("-"))
    return year * 12 + number - 1


def streak(months: list[tuple[str, int]], at_least: int) -> int:
    """How many consecutive calendar months, up to the newest of `months` ([(YYYY-MM, stars)],
    newest first), had at least `at_least` stars."""
    count, expected = 0, None
    for month, stars in months:
        index = _month_index(month)
        if (expected is not None and index != expected) or stars < at_least:
            break
        count, expected = count + 1, index - 1
    return count


def refresh_preferences(customer: Customer) -> None:
    """Recompute the customer's preferential flags from the history up to its newest month."""
    months = [(row.month, row.stars) for row in history(customer.id)]
    customer.resource_guarantee = streak(months, RESOURCE_GUARANTEE[0]) >= RESOURCE_GUARANTEE[1]
    customer.extra_discount_yuan_per_ton = (
        EXTRA_DISCOUNT_YUAN_PER_TON if streak(months, EXTRA_DISCOUNT[0]) >= EXTRA_DISCOUNT[1] else 0)


def result(instance) -> dict:
    """What a finished rating leads with: each customer's resulting stars, and how many have each."""
    rows = list(db.session.scalars(select(StarRating).where(StarRating.instance_id == instance.id)
                                   .order_by(StarRating.stars.desc(), StarRating.customer_id)))
    counts = {stars: sum(1 for row in rows if row.stars == stars) for stars in (4, 3, 2, 1)}
    return {"ratings": rows, "counts": counts}


FLOW = Flow(
    name="star_rating",
    processes={PROCESS_KEY: Process(start=prepare_start, scheduled=scheduled_starts, starters=frozenset({org.ADMIN}),
                                  result=result)},
    forms="forms.star_rating",
    services={"prepare_star_rating_sheet": prepare_sheet, "record_initial_stars": record_initial,
              "record_second_round_stars": record_second_round,
              "approve_low_stars": partial(approve_part, part=LOW), "approve_high_stars": partial(approve_part, part=HIGH),
              "finalize_star_rating": finalize},
    tables=(StarRating,),
    event_words={"star_rating_final": _l("Final stars recorded")},
    outcome_words={"no_customers": _l("Nothing to rate")},
    form_words={
        "star_rating_start": _l("Opening a month's star rating"),
        "star_rating_sheet": _l("Branch's star rating sheet"),
        "star_low_review": _l("Marketing's review of 1–2 stars"),
        "star_second_rating": _l("Marketing's second rating of 3–4 stars"),
        "star_high_approval": _l("Leadership's approval of 3–4 stars"),
        "star_rating_inform": _l("Telling the customers their stars"),
    },
)
