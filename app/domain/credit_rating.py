"""Quarterly credit rating (客户信用等级评定, seed 001): every customer is scored after each quarter on 9
indicators in 5 categories (100 points); the sales department scores the non-financial ones and the
finance department the financial ones, in parallel. The grade comes from a decision table by customer
kind (processes/credit_grade.dmn); a bad-debt record forbids every grade. Then the customer's big- and
key-customer status are recomputed, and a customer that drops out of key status is flagged for
follow-up.

The seed names the categories and the credit-performance indicator but not the others' points; the
nine below are our reading of it (its attachment 1 is not in the seeds).
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import ForeignKey, Numeric, String, UniqueConstraint, func, select
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app import db
from app.calendar import local
from app.db_types import JSONDoc, UTCDateTime
from app.domain import org
from app.domain.customers import DIRECT, DISTRIBUTOR, Customer, PurchaseRecord, trading
from app.engine import queries
from app.engine.plugins import CaseStart, Flow, Process, ServiceCall
from app.errors import Conflict, InvalidData
from app.i18n import _l

PROCESS_KEY = "credit_rating"
SALES, FINANCE = "sales", "finance"  # which department scores an indicator


@dataclass(frozen=True)
class Indicator:
    name: str  # the form field
    category: str
    label: object
    points: int  # the most it scores
    department: str


CATEGORIES = {
    "quality": _l("Quality characteristics (品质特性)"),
    "capacity": _l("Purchasing capacity (吸货能力)"),
    "balance": _l("Purchasing balance (吸货均衡性)"),
    "solvency": _l("Solvency (偿债能力)"),
    "credit": _l("Credit performance (信用履约)"),
}
INDICATORS = (
    Indicator("cooperation_years", "quality", _l("Years of cooperation"), 10, SALES),
    Indicator("loyalty", "quality", _l("Willingness to cooperate and loyalty"), 10, SALES),
    Indicator("standing", "quality", _l("Business qualification and scale"), 10, SALES),
    Indicator("monthly_volume", "capacity", _l("Average monthly purchases"), 15, SALES),
    Indicator("steadiness", "balance", _l("Steadiness of purchases from month to month"), 10, SALES),
    Indicator("timing", "balance", _l("Evenness of purchase timing"), 5, SALES),
    Indicator("settlement", "solvency", _l("Timeliness of payment and settlement"), 15, FINANCE),
    Indicator("leverage", "solvency", _l("Assets and liabilities"), 10, FINANCE),
    Indicator("credit_performance", "credit", _l("Credit performance rate"), 15, FINANCE),
)
CREDIT_PERFORMANCE = "credit_performance"
assert sum(i.points for i in INDICATORS) == 100 and len(INDICATORS) == 9 and len(CATEGORIES) == 5

KEY_GRADES = {DIRECT: ("AAA", "AA"), DISTRIBUTOR: ("AAA",)}
# Bought last year (yuan) for a big customer, and the grades it needs.
BIG_CUSTOMER = {DIRECT: (Decimal(20_000_000), ("AAA", "AA")), DISTRIBUTOR: (Decimal(50_000_000), ("AAA",))}


class CreditRating(db.Model):
    """One customer's rating for one quarter: the scores, the grade and what it made of the customer."""

    __tablename__ = "credit_ratings"
    __table_args__ = (UniqueConstraint("customer_id", "quarter"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"), index=True)
    quarter: Mapped[str] = mapped_column(String(7))  # 2026-Q3
    instance_id: Mapped[int] = mapped_column(ForeignKey("instances.id"))
    scores: Mapped[dict] = mapped_column(JSONDoc)  # indicator -> points, as text
    total: Mapped[Decimal] = mapped_column(Numeric(6, 2))
    bad_debt: Mapped[bool]
    grade: Mapped[str | None] = mapped_column(String(3))  # None: no grade (a bad debt, or too few points)
    big_customer: Mapped[bool]
    key_customer: Mapped[bool]
    bought_last_year_yuan: Mapped[Decimal] = mapped_column(Numeric(16, 2))
    rated_at: Mapped[datetime] = mapped_column(UTCDateTime())

    customer: Mapped[Customer] = relationship()


# -- opening a case ------------------------------------------------------------------------------

def quarter_of(day: date) -> str:
    return f"{day.year}-Q{(day.month - 1) // 3 + 1}"


def previous_quarter(moment: datetime) -> str:
    here = local(moment)
    index = here.year * 4 + (here.month - 1) // 3 - 1
    return f"{index // 4}-Q{index % 4 + 1}"


def _checked_quarter(text, now: datetime) -> str:
    text = str(text or "").strip().upper()
    try:
        year, number = text.split("-Q")
        index = int(year) * 4 + int(number) - 1
        valid = len(year) == 4 and 1 <= int(number) <= 4
    except ValueError:
        valid = False
    if not valid:
        message = _l("Write the quarter as YYYY-Qn, e.g. 2026-Q3.")
        raise InvalidData.on("quarter", message)
    here = local(now)
    if index >= here.year * 4 + (here.month - 1) // 3:
        message = _l("Only a quarter that has ended can be rated.")
        raise InvalidData.on("quarter", message)
    return f"{index // 4}-Q{index % 4 + 1}"


def prepare_start(data: dict, _starter, now: datetime, resubmitting: int | None = None) -> CaseStart:
    """A credit rating of one customer for one quarter that has ended; never a second one."""
    customer = db.session.get(Customer, data.get("customer_id"))
    if customer is None:
        raise InvalidData(_l("Unknown customer."), {"customer_id": [_l("Unknown customer.")]})
    quarter = _checked_quarter(data.get("quarter"), now)
    unique_key = f"{PROCESS_KEY}:{customer.code}:{quarter}"
    existing = queries.case_with_key(unique_key, besides=resubmitting)
    if existing is not None:
        message = _l("%(customer)s already has a credit rating for %(quarter)s (case %(id)s).",
                     customer=customer.name, quarter=quarter, id=existing)
        raise Conflict.on("quarter", message)
    return CaseStart(data={"customer_id": customer.id, "customer_code": customer.code,
                           "customer_name": customer.name, "customer_kind": customer.kind,
                           "branch_id": customer.branch.id, "branch_name": customer.branch.name,
                           "quarter": quarter, "last_month": _last_month(quarter)},
                     business_key=f"customer:{customer.id}", customer_id=customer.id, unique_key=unique_key)


def _last_month(quarter: str) -> str:
    """The quarter's last month, YYYY-MM: deadlines count from its end (day_after_month)."""
    return f"{quarter[:4]}-{int(quarter[-1]) * 3:02d}"


def scheduled_starts(due: datetime) -> list[dict]:
    """What the schedule opens at the start of a quarter: the last quarter's rating of every customer."""
    quarter = previous_quarter(due)
    return [{"customer_id": customer_id, "quarter": quarter}
            for customer_id in db.session.scalars(select(Customer.id).where(trading()).order_by(Customer.code))]


# -- the services the BPMN calls ------------------------------------------------------------------

def scores_of(data: dict) -> dict[str, Decimal]:
    return {i.name: Decimal(str(data[i.name])) for i in INDICATORS}


def grade_inputs(data: dict) -> dict:
    """What the decision table decides on: the customer's kind, the total, whether credit performance
    scored full marks, and whether it has a bad-debt record."""
    scores = scores_of(data)
    return {"kind": data["customer_kind"], "total": float(sum(scores.values())),
            "credit_full": scores[CREDIT_PERFORMANCE] == max(i.points for i in INDICATORS
                                                              if i.name == CREDIT_PERFORMANCE),
            "bad_debt": bool(data["bad_debt"])}


def grade(call: ServiceCall) -> dict:
    """Service task `grade_customer`: the grade from processes/credit_grade.dmn ("" for none)."""
    return {"grade": call.decide(grade_inputs(call.data))["grade"] or ""}


def bought_last_year(customer_id: int, quarter: str) -> Decimal:
    """Yuan bought in the calendar year before the rated quarter's."""
    year = int(quarter[:4]) - 1
    total = db.session.scalar(select(func.coalesce(func.sum(PurchaseRecord.amount_yuan), 0)).where(
        PurchaseRecord.customer_id == customer_id, PurchaseRecord.ordered_on >= date(year, 1, 1),
        PurchaseRecord.ordered_on < date(year + 1, 1, 1)))
    return Decimal(total)


def classify(call: ServiceCall) -> dict:
    """Service task `reclassify_customer`: record the rating, recompute big- and key-customer status,
    and flag a customer that dropped out of key status for follow-up."""
    data, case = call.data, call.case
    customer = db.session.get(Customer, data["customer_id"])
    grade_ = data.get("grade") or None
    bought = bought_last_year(customer.id, data["quarter"])
    threshold, big_grades = BIG_CUSTOMER[customer.kind]
    big = grade_ in big_grades and bought >= threshold
    key = big or grade_ in KEY_GRADES[customer.kind]
    lost_key = customer.key_customer and not key
    scores = scores_of(data)
    total = sum(scores.values()).quantize(Decimal("0.01"))
    db.session.add(CreditRating(customer_id=customer.id, quarter=data["quarter"], instance_id=case.instance.id,
                                scores={name: str(points) for name, points in scores.items()},
                                total=total, bad_debt=bool(data["bad_debt"]), grade=grade_,
                                big_customer=big, key_customer=key, bought_last_year_yuan=bought, rated_at=case.now))
    customer.credit_grade, customer.big_customer, customer.key_customer = grade_, big, key
    if lost_key:
        customer.key_follow_up = True
    elif key:
        customer.key_follow_up = False
    case.record("customer_classified", {"grade": grade_, "total": str(total), "big": big,
                                        "key": key, "lost_key": lost_key})
    return {"big_customer": big, "key_customer": key, "lost_key": lost_key}


def history(customer_id: int) -> list[CreditRating]:
    return list(db.session.scalars(select(CreditRating).where(CreditRating.customer_id == customer_id)
                                   .order_by(CreditRating.quarter.desc())))


def result(instance) -> dict:
    """What a finished credit rating leads with: the grade, the points, and the customer's status."""
    return {"rating": db.session.scalar(select(CreditRating).where(CreditRating.instance_id == instance.id))}


FLOW = Flow(
    name="credit_rating",
    processes={PROCESS_KEY: Process(start=prepare_start, scheduled=scheduled_starts, starters=frozenset({org.ADMIN}),
                                  sensitive=True, result=result)},
    forms="forms.credit_rating",
    services={"grade_customer": grade, "reclassify_customer": classify},
    tables=(CreditRating,),
    event_words={"customer_classified": _l("Credit grade and customer status recorded")},
    outcome_words={"graded": _l("Graded")},
    form_words={
        "credit_rating_start": _l("Opening a quarter's credit rating"),
        "credit_nonfinancial": _l("Non-financial credit indicators"),
        "credit_financial": _l("Financial credit indicators"),
    },
)
