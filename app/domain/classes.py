"""Customer classes (seeds 002, 003), computed from the purchase records and kept as history.

- ABC by purchase amount (002 "按客户购买产品金额进行组织"): a branch's customers ranked by what they
  bought in the last 12 full months, largest first; with `share_before` the share of the branch's amount
  bought by the customers ranked above one, processes/customer_abc.dmn gives A to the customers making
  the first 70 % (share_before < 70), B to the next 20 %, C to the rest (and to one that bought nothing).
- Volume tier (003 "客户分级"): eight tiers by the monthly average tons over the same 12 months, three
  above a threshold and five below it (processes/volume_tier.dmn; the seed's are cigarettes in 件, ours
  read tons: 1 ≥ 500, 2 ≥ 300, 3 ≥ 100 — the threshold —, 4 ≥ 50, 5 ≥ 20, 6 ≥ 10, 7 ≥ 5, 8 below).

- Value class (003 "顾客价值管理"): core (核心客户), general (一般客户) and problem (问题客户) customers
  from five dimensions, each scored 0–100 from what the system knows, over the same 12 months:
  - contribution (贡献度): the customer's amount against the branch's average customer (the ABC
    figures): 50 × amount / average, at most 100 (an average customer 50, twice the average or more
    100, nothing bought 0);
  - support (支持度): how regularly it buys from us, 100 × the months with an order / 12; where the
    dossier states its monthly demand, the mean of that and of 100 × the monthly average tons bought /
    the demand (the share of its demand bought from us, at most 100);
  - credit (信用度): the latest credit grade rated by the end of the day computed for (credit_rating; if
    never rated, the grade on the dossier): AAA 100, AA 85, A 70, B 50, C 30; rated without a grade (a
    bad debt, or too few points) 0; never rated and no grade 50 (not known);
  - growth (成长性): the tons of the window's last 6 months against its first 6: 50 + half the change in
    per cent, between 0 and 100 (doubled or more 100, the same 50, stopped 0); bought only in the last
    6 months 100, in neither 0;
  - influence (影响力): the loyalty the rep judged (the attitude as of that day): loyal 100, not judged
    80, brand-switching 60, no loyalty 40; less 10 for each complaint received in the window (20 for a
    major one; one closed as not a complaint does not count) and 15 for each urgent early-warning
    report about the customer opened in the window; not below 0.
  The weights are a decision table of their own (processes/customer_value_weights.dmn, 30 / 20 / 20 /
  15 / 15, a rule per branch if one wants its own), read by a business rule task before the service;
  the weighted score is Σ weight × score / Σ weights. processes/customer_value.dmn gives the class from
  the weighted score and the credit score (the five scores are its inputs too): problem whatever the
  score without a credit grade (credit < 30), core from 70 with a grade of A or better (credit ≥ 70),
  problem under 40, general the rest. SpiffWorkflow reads one decision per DMN file, hence two files.
  The class row keeps every figure, the five scores, the weights and the weighted score.

A process administrator edits the boundaries and the weights in the decision tables, which deploy with
processes/customer_classes.bpmn; the schedule of that process recomputes every branch on the 1st of each
month. A row of `customer_classes` is written only when a customer's class changes (or is first given);
a move is an event of the recomputing case and its territory's sales rep is told.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import ForeignKey, Index, String, func, select
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app import db
from app.calendar import day_start, end_of_day, local
from app.db_types import JSONDoc, UTCDateTime
from app.domain import early_warning, org
from app.domain.complaints import MAJOR, Complaint
from app.domain.credit_rating import CreditRating
from app.domain.customers import Customer, PurchaseRecord, trading
from app.engine import queries
from app.engine.models import WITHDRAWN, Instance
from app.engine.plugins import CaseStart, Flow, Process, ServiceCall, ServiceRefused
from app.errors import Conflict, Forbidden, InvalidData
from app.i18n import _l

PROCESS_KEY = "customer_classes"
ABC, VOLUME, VALUE, ATTITUDE = "abc", "volume", "value", "attitude"
# The decision of each kind, in its .dmn, and its output.
DECISIONS = {ABC: "customer_abc", VOLUME: "volume_tier", VALUE: "customer_value"}
OUTPUTS = {ABC: "abc_class", VOLUME: "tier", VALUE: "value_class"}
KINDS = {ABC: _l("ABC class by purchase amount"), VOLUME: _l("Volume tier"), VALUE: _l("Value class"),
         ATTITUDE: _l("Attitude")}
# Attitude (seed 002 "按客户对待产品的态度"): set by the territory's rep with a reason when he judges it.
LOYAL, SWITCHING, NO_LOYALTY = "loyal", "switching", "no_loyalty"
ATTITUDES = {LOYAL: _l("Loyal customer"), SWITCHING: _l("Brand-switching customer"),
             NO_LOYALTY: _l("No brand loyalty")}
# Value (seed 003 "顾客价值管理"): see the module's docstring for how each dimension is scored.
CORE, GENERAL, PROBLEM = "core", "general", "problem"
VALUE_CLASSES = {CORE: _l("Core customer"), GENERAL: _l("General customer"), PROBLEM: _l("Problem customer")}
DIMENSIONS = {"contribution": _l("Contribution"), "support": _l("Support"), "credit": _l("Credit"),
              "growth": _l("Growth"), "influence": _l("Influence")}
CREDIT_SCORES = {"AAA": 100, "AA": 85, "A": 70, "B": 50, "C": 30}
NO_GRADE_SCORE, UNRATED_SCORE = 0, 50  # rated without a grade; never rated
LOYALTY_SCORES = {LOYAL: 100, SWITCHING: 60, NO_LOYALTY: 40}
UNJUDGED_LOYALTY = 80
COMPLAINT_POINTS, MAJOR_COMPLAINT_POINTS, WARNING_POINTS = 10, 20, 15  # what each takes off influence
VALUES = {ABC: ("A", "B", "C"), VOLUME: tuple(str(tier) for tier in range(1, 9)), VALUE: tuple(VALUE_CLASSES),
          ATTITUDE: tuple(ATTITUDES)}
WINDOW_MONTHS = 12  # the classes read the last 12 full months before the day they are computed for
MOVED = "customer_class_changed"  # the event and the notification of a customer moving class



class CustomerClass(db.Model):
    """A class a customer was given, of one kind, with the figures that gave it; a new row only when the
    class changes (or the first time). The latest row of a kind is the customer's current class."""

    __tablename__ = "customer_classes"
    __table_args__ = (Index("ix_customer_classes_customer_kind", "customer_id", "kind", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"))
    kind: Mapped[str] = mapped_column(String(10))  # abc | volume | value | attitude
    value: Mapped[str] = mapped_column(String(10))  # A/B/C, the tier 1-8, core/general/problem, or an attitude
    previous: Mapped[str | None] = mapped_column(String(10))  # the class it moved from (None: the first)
    # What gave it: amounts, shares, tons, a value's scores and weights, as text; an attitude's
    # {"reason": the rep's words}.
    figures: Mapped[dict] = mapped_column(JSONDoc)
    computed_at: Mapped[datetime] = mapped_column(UTCDateTime())
    # The decision table's version: the process version whose .dmn decided (and its case).
    definition_id: Mapped[int | None] = mapped_column(ForeignKey("process_definitions.id"))
    table_version: Mapped[str] = mapped_column(String(100), default="")
    instance_id: Mapped[int | None] = mapped_column(ForeignKey("instances.id"))
    # The latest recomputation that kept the class, with its figures (None: none since it was given).
    confirmed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    confirmed_figures: Mapped[dict | None] = mapped_column(JSONDoc)
    set_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))  # an attitude's rep

    customer: Mapped[Customer] = relationship()
    set_by: Mapped[org.User | None] = relationship()

    @property
    def latest_figures(self) -> dict:
        return self.confirmed_figures or self.figures


# -- the figures ---------------------------------------------------------------------------------------

def window(as_of: date) -> tuple[date, date]:
    """The 12 full months before `as_of`'s month: [start, end)."""
    end = as_of.replace(day=1)
    index = end.year * 12 + end.month - 1 - WINDOW_MONTHS
    return date(index // 12, index % 12 + 1, 1), end


def _branch_ids(branch_id: int | None) -> list[int]:
    if branch_id is not None:
        return [branch_id]
    return list(db.session.scalars(select(org.OrgUnit.id).where(org.OrgUnit.kind == org.BRANCH)
                                   .order_by(org.OrgUnit.code)))


def _bought(branch_id: int, as_of: date) -> list[tuple[int, str, Decimal, Decimal]]:
    """Every customer of the branch with what it bought in the window: (id, code, yuan, tons). A potential
    customer (not traded yet, app.domain.leads) is in no class until its first order makes it a customer."""
    start, end = window(as_of)
    territory = select(org.OrgUnit.id).where(org.OrgUnit.parent_id == branch_id)
    bought = (select(PurchaseRecord.customer_id, func.sum(PurchaseRecord.amount_yuan).label("yuan"),
                     func.sum(PurchaseRecord.quantity_tons).label("tons"))
              .where(PurchaseRecord.ordered_on >= start, PurchaseRecord.ordered_on < end)
              .group_by(PurchaseRecord.customer_id).subquery())
    rows = db.session.execute(
        select(Customer.id, Customer.code, func.coalesce(bought.c.yuan, 0), func.coalesce(bought.c.tons, 0))
        .outerjoin(bought, bought.c.customer_id == Customer.id)
        .where(Customer.territory_id.in_(territory), trading()))
    return [(cid, code, Decimal(yuan), Decimal(tons)) for cid, code, yuan, tons in rows]


def _period(as_of: date) -> dict:
    start, end = window(as_of)
    last = date(end.year - (end.month == 1), (end.month - 2) % 12 + 1, 1)
    return {"from": start.isoformat()[:7], "to": last.isoformat()[:7], "months": WINDOW_MONTHS}


def abc_figures(branch_id: int, as_of: date) -> dict[int, dict]:
    """Each customer of the branch: its amount, its rank, its share and the share of those above it."""
    rows = sorted(_bought(branch_id, as_of), key=lambda row: (-row[2], row[1]))
    total = sum((row[2] for row in rows), Decimal(0))
    figures, running = {}, Decimal(0)
    for rank, (customer_id, _code, yuan, _tons) in enumerate(rows, start=1):
        share = yuan * 100 / total if total else Decimal(0)
        before = running * 100 / total if total else Decimal(0)
        running += yuan
        figures[customer_id] = {**_period(as_of), "amount_yuan": str(yuan.quantize(Decimal("0.01"))),
                                "branch_amount_yuan": str(total.quantize(Decimal("0.01"))), "rank": rank,
                                "customers": len(rows), "share": _percent(share), "share_before": _percent(before),
                                "share_through": _percent(before + share)}
    return figures


def volume_figures(branch_id: int, as_of: date) -> dict[int, dict]:
    """Each customer of the branch: the tons bought in the window and their monthly average."""
    return {customer_id: {**_period(as_of), "tons": str(tons),
                          "monthly_tons": str((tons / WINDOW_MONTHS).quantize(Decimal("0.001")))}
            for customer_id, _code, _yuan, tons in _bought(branch_id, as_of)}


def _percent(value: Decimal) -> str:
    return str(value.quantize(Decimal("0.0001")))


# -- the value class's figures --------------------------------------------------------------------------

def _branch_customers(branch_id: int):
    """A select of the ids of the branch's customers, potential ones left out (for `in_`)."""
    return select(Customer.id).where(Customer.territory_id.in_(
        select(org.OrgUnit.id).where(org.OrgUnit.parent_id == branch_id)), trading())


def _months_after(day: date, months: int) -> date:
    index = day.year * 12 + day.month - 1 + months
    return date(index // 12, index % 12 + 1, 1)


def _score(value) -> Decimal:
    """A dimension's score: between 0 and 100, to one decimal."""
    return min(max(Decimal(value), Decimal(0)), Decimal(100)).quantize(Decimal("0.1"))


def _purchase_months(customers, start: date, end: date) -> dict[int, dict]:
    """Each customer's months with an order and its tons in the window's first and last 6 months."""
    middle = _months_after(start, WINDOW_MONTHS // 2)
    found: dict[int, dict] = {}
    for customer_id, day, tons in db.session.execute(
            select(PurchaseRecord.customer_id, PurchaseRecord.ordered_on, func.sum(PurchaseRecord.quantity_tons))
            .where(PurchaseRecord.customer_id.in_(customers), PurchaseRecord.ordered_on >= start,
                   PurchaseRecord.ordered_on < end)
            .group_by(PurchaseRecord.customer_id, PurchaseRecord.ordered_on)):
        one = found.setdefault(customer_id, {"months": set(), "earlier": Decimal(0), "recent": Decimal(0)})
        one["months"].add((day.year, day.month))
        one["recent" if day >= middle else "earlier"] += Decimal(tons)
    return found


def _credit_grades(customers, as_of: date) -> dict[int, tuple[bool, str | None, str | None]]:
    """Each rated customer's latest rating by the end of `as_of`: (rated, grade or None, quarter)."""
    latest = {}
    for rating in db.session.scalars(select(CreditRating).where(
            CreditRating.customer_id.in_(customers), CreditRating.rated_at < end_of_day(as_of))
            .order_by(CreditRating.quarter, CreditRating.rated_at, CreditRating.id)):
        latest[rating.customer_id] = (True, rating.grade, rating.quarter)
    return latest


def _attitudes(customers, as_of: date) -> dict[int, str]:
    """Each judged customer's attitude as it stood at the end of `as_of`."""
    return {customer_id: value for customer_id, value in db.session.execute(
        select(CustomerClass.customer_id, CustomerClass.value).where(
            CustomerClass.kind == ATTITUDE, CustomerClass.customer_id.in_(customers),
            CustomerClass.computed_at < end_of_day(as_of)).order_by(CustomerClass.id))}


def _complaints(customers, start: date, end: date) -> dict[int, tuple[int, int]]:
    """Each customer's complaints received in the window, not closed as no complaint: (all, major)."""
    counts: dict[int, tuple[int, int]] = {}
    for customer_id, severity in db.session.execute(
            select(Complaint.customer_id, func.coalesce(Complaint.severity, Complaint.proposed_severity))
            .where(Complaint.customer_id.in_(customers), Complaint.received_at >= day_start(start),
                   Complaint.received_at < day_start(end), Complaint.dismissed_at.is_(None))):
        every, major = counts.get(customer_id, (0, 0))
        counts[customer_id] = (every + 1, major + (severity == MAJOR))
    return counts


def _warnings(customers, start: date, end: date) -> dict[int, int]:
    """Each customer's urgent early-warning reports opened in the window (not withdrawn)."""
    return {customer_id: count for customer_id, count in db.session.execute(
        select(Instance.customer_id, func.count(Instance.id)).where(
            Instance.process_key == early_warning.PROCESS_KEY, Instance.customer_id.in_(customers),
            Instance.started_at >= day_start(start), Instance.started_at < day_start(end),
            Instance.status != WITHDRAWN).group_by(Instance.customer_id))}


def dimension_scores(branch_id: int, as_of: date) -> dict[int, dict]:
    """Each customer of the branch: the figures of the five value dimensions and their scores (0–100),
    as the module's docstring reads them."""
    abc = abc_figures(branch_id, as_of)
    if not abc:
        return {}
    start, end = window(as_of)
    customers = _branch_customers(branch_id)
    bought = _purchase_months(customers, start, end)
    dossier = {customer_id: (demand, grade) for customer_id, demand, grade in db.session.execute(
        select(Customer.id, Customer.monthly_demand_tons, Customer.credit_grade).where(Customer.id.in_(customers)))}
    grades, attitudes = _credit_grades(customers, as_of), _attitudes(customers, as_of)
    complaints, warnings = _complaints(customers, start, end), _warnings(customers, start, end)
    figures = {}
    for customer_id, amounts in abc.items():
        amount, branch_amount = Decimal(amounts["amount_yuan"]), Decimal(amounts["branch_amount_yuan"])
        average = branch_amount / amounts["customers"]
        contribution = _score(50 * amount / average) if average else _score(0)
        months = bought.get(customer_id, {"months": set(), "earlier": Decimal(0), "recent": Decimal(0)})
        monthly_tons = (months["earlier"] + months["recent"]) / WINDOW_MONTHS
        regularity = Decimal(100 * len(months["months"])) / WINDOW_MONTHS
        demand, dossier_grade = dossier[customer_id]
        demand_share = min(100 * monthly_tons / demand, Decimal(100)) if demand and demand > 0 else None
        support = _score((regularity + demand_share) / 2 if demand_share is not None else regularity)
        rated, grade, quarter = grades.get(customer_id, (False, dossier_grade, None))
        credit = _score(CREDIT_SCORES[grade] if grade in CREDIT_SCORES else NO_GRADE_SCORE if rated else UNRATED_SCORE)
        earlier, recent = months["earlier"], months["recent"]
        change = (recent - earlier) * 100 / earlier if earlier else None
        growth = _score(50 + change / 2 if change is not None else 100 if recent else 0)
        attitude = attitudes.get(customer_id)
        every, major = complaints.get(customer_id, (0, 0))
        warned = warnings.get(customer_id, 0)
        influence = _score(LOYALTY_SCORES.get(attitude, UNJUDGED_LOYALTY) - COMPLAINT_POINTS * (every - major)
                           - MAJOR_COMPLAINT_POINTS * major - WARNING_POINTS * warned)
        figures[customer_id] = {
            **_period(as_of), "amount_yuan": amounts["amount_yuan"], "branch_amount_yuan": amounts["branch_amount_yuan"],
            "customers": amounts["customers"], "branch_average_yuan": str(average.quantize(Decimal("0.01"))),
            "months_with_orders": len(months["months"]), "monthly_tons": str(monthly_tons.quantize(Decimal("0.001"))),
            "monthly_demand_tons": str(demand) if demand else None,
            "demand_share": str(_score(demand_share)) if demand_share is not None else None,
            "credit_grade": grade, "credit_rated": rated, "credit_quarter": quarter,
            "earlier_tons": str(earlier), "recent_tons": str(recent),
            "change": _percent(change) if change is not None else None,
            "attitude": attitude, "complaints": every, "major_complaints": major, "warnings": warned,
            "contribution": str(contribution), "support": str(support), "credit": str(credit),
            "growth": str(growth), "influence": str(influence)}
    return figures


def value_weights(data: dict) -> dict[str, Decimal]:
    """The weight of each dimension as the weights table (customer_value_weights.dmn) put them in the
    case's data (weight_<dimension>): numbers, none negative, not all nought."""
    weights = {}
    for dimension in DIMENSIONS:
        try:
            weights[dimension] = Decimal(str(data[f"weight_{dimension}"]))
        except (KeyError, ArithmeticError, ValueError):
            weights[dimension] = Decimal(-1)
    if any(not weight.is_finite() or weight < 0 for weight in weights.values()) or not sum(weights.values()):
        raise ServiceRefused(_l("The value weights table must give every dimension a weight of 0 or more, "
                                "not all 0 (weight_contribution, weight_support, weight_credit, weight_growth, "
                                "weight_influence)."))
    return weights


def value_figures(branch_id: int, as_of: date, weights: dict[str, Decimal]) -> dict[int, dict]:
    """Each customer of the branch: its dimension scores, the weights and the weighted score
    (Σ weight × score / Σ weights, 0–100)."""
    total = sum(weights.values())
    figures = dimension_scores(branch_id, as_of)
    for one in figures.values():
        score = sum(weights[d] * Decimal(one[d]) for d in DIMENSIONS) / total
        one["weights"] = {d: f"{weights[d].normalize():f}" for d in DIMENSIONS}
        one["score"] = str(score.quantize(Decimal("0.01")))
    return figures


def decision_inputs(kind: str, figures: dict) -> dict:
    """What a kind's decision table decides on."""
    if kind == ABC:
        return {"amount": float(figures["amount_yuan"]), "share_before": float(figures["share_before"])}
    if kind == VALUE:
        return {"score": float(figures["score"]), **{d: float(figures[d]) for d in DIMENSIONS}}
    return {"monthly_tons": float(figures["monthly_tons"])}


FIGURES = {ABC: abc_figures, VOLUME: volume_figures}  # the value class's need the weights: value_figures


def compute(kind: str, as_of: date, decide: Callable[[dict], dict], branch_id: int | None = None,
            figures_of: Callable[[int, date], dict[int, dict]] | None = None) -> dict[int, tuple[str, dict]]:
    """The class of `kind` of every customer of a branch (or of every branch) as of a day, from the
    purchase records: {customer id: (class, figures)}; `decide(inputs)` applies the kind's decision,
    `figures_of(branch id, day)` gives the figures (the kind's FIGURES if not given)."""
    classes = {}
    for branch in _branch_ids(branch_id):
        for customer_id, figures in (figures_of or FIGURES[kind])(branch, as_of).items():
            value = str(decide(decision_inputs(kind, figures))[OUTPUTS[kind]] or "")
            classes[customer_id] = (value, {**figures, "as_of": as_of.isoformat()})
    return classes


@dataclass(frozen=True)
class Move:
    customer_id: int
    kind: str
    previous: str | None
    value: str


def store(kind: str, classes: dict[int, tuple[str, dict]], now: datetime, *, definition_id: int | None = None,
          table_version: str = "", instance_id: int | None = None) -> list[Move]:
    """Keep what `compute` gave: a row where the class is new or changed, the figures of a kept class on
    its current row; the moves (a first class is no move)."""
    current = _current_rows(kind, list(classes))
    moves = []
    for customer_id, (value, figures) in sorted(classes.items()):
        row = current.get(customer_id)
        if row is not None and row.value == value:
            row.confirmed_at, row.confirmed_figures = now, figures
            continue
        db.session.add(CustomerClass(customer_id=customer_id, kind=kind, value=value, figures=figures,
                                     previous=row.value if row else None, computed_at=now,
                                     definition_id=definition_id, table_version=table_version,
                                     instance_id=instance_id))
        if row is not None:
            moves.append(Move(customer_id, kind, row.value, value))
    db.session.flush()
    return moves


def _latest_ids(kind: str | None = None):
    statement = select(func.max(CustomerClass.id)).group_by(CustomerClass.customer_id, CustomerClass.kind)
    return statement.where(CustomerClass.kind == kind) if kind else statement


def _current_rows(kind: str, customer_ids: list[int]) -> dict[int, CustomerClass]:
    if not customer_ids:
        return {}
    return {row.customer_id: row for row in db.session.scalars(
        select(CustomerClass).where(CustomerClass.id.in_(_latest_ids(kind)),
                                    CustomerClass.customer_id.in_(customer_ids)))}


# -- reading them ------------------------------------------------------------------------------------------

def current_classes(customer_id: int) -> dict[str, CustomerClass]:
    """The customer's current class of each kind it has one of: {kind: row}."""
    return {row.kind: row for row in db.session.scalars(
        select(CustomerClass).where(CustomerClass.id.in_(_latest_ids()),
                                    CustomerClass.customer_id == customer_id))}


def history(customer_id: int) -> list[CustomerClass]:
    """Every class the customer was given, newest first."""
    return list(db.session.scalars(select(CustomerClass).where(CustomerClass.customer_id == customer_id)
                                   .order_by(CustomerClass.computed_at.desc(), CustomerClass.id.desc())))


def customers_in_class(kind: str, value: str):
    """A select of the ids of the customers whose current class of `kind` is `value` (for `in_`)."""
    return select(CustomerClass.customer_id).where(CustomerClass.id.in_(_latest_ids(kind)),
                                                   CustomerClass.value == value)


def filter_customers(statement, abc: str | None = None, tier: str | None = None, attitude: str | None = None,
                     value: str | None = None):
    """A select of customers narrowed to those whose current ABC class is `abc`, volume tier `tier`,
    value class `value` and attitude `attitude` (each if given and known; an unknown value is ignored)."""
    for kind, chosen in ((ABC, abc), (VOLUME, tier), (VALUE, value), (ATTITUDE, attitude)):
        if chosen and chosen in VALUES[kind]:
            statement = statement.where(Customer.id.in_(customers_in_class(kind, chosen)))
    return statement


def value_words(kind: str, value: str | None) -> str:
    if not value:
        return "—"
    if kind == ATTITUDE:
        return str(ATTITUDES.get(value, value))
    if kind == VALUE:
        return str(VALUE_CLASSES.get(value, value))
    return str(_l("Class %(value)s", value=value) if kind == ABC else _l("Tier %(value)s", value=value))


def set_attitude(customer: Customer, value: str, reason: str, by: org.User, now: datetime) -> CustomerClass:
    """The territory's rep judges the customer's attitude (seed 002), with a reason, kept with the day: a
    new row when it changes (or the first time); the same judgement again confirms the current one with
    the new reason. Not committed."""
    if by.id not in set(org.member_ids(org.SALES_REP, customer.territory_id)):
        raise Forbidden(_l("Only the sales rep of the customer's territory judges its attitude."))
    if value not in ATTITUDES:
        raise InvalidData(_l("Unknown attitude."), {"attitude": [_l("Unknown attitude.")]})
    reason = (reason or "").strip()
    if not reason or len(reason) > 1000:
        message = _l("Give the reason for the attitude (at most 1,000 characters).")
        raise InvalidData.on("reason", message)
    figures = {"reason": reason, "as_of": local(now).date().isoformat()}
    row = _current_rows(ATTITUDE, [customer.id]).get(customer.id)
    if row is not None and row.value == value:
        row.confirmed_at, row.confirmed_figures = now, figures
        return row
    row_ = CustomerClass(customer_id=customer.id, kind=ATTITUDE, value=value, figures=figures,
                         previous=row.value if row else None, computed_at=now, set_by_id=by.id)
    db.session.add(row_)
    db.session.flush()
    return row_


def dossier_context(customer_id: int) -> dict:
    """What templates/customers/_classes.html reads."""
    return {"classes": current_classes(customer_id), "class_history": history(customer_id),
            "class_kinds": KINDS, "class_words": value_words, "value_dimensions": DIMENSIONS,
            "attitude_words": ATTITUDES}


# -- the process -------------------------------------------------------------------------------------------

def prepare_start(data: dict, _starter, now: datetime, resubmitting: int | None = None) -> CaseStart:
    """A recomputation of one branch's classes as of a day (today if none), never twice for one day."""
    branch = org.branch_named(data.get("branch"))
    try:
        as_of = date.fromisoformat(str(data.get("as_of") or local(now).date().isoformat()))
    except ValueError:
        raise InvalidData(_l("Write the day as YYYY-MM-DD."), {"as_of": [_l("Write the day as YYYY-MM-DD.")]}) from None
    if as_of > local(now).date():
        message = _l("Classes are computed for today or a day before.")
        raise InvalidData.on("as_of", message)
    unique_key = f"{PROCESS_KEY}:{branch.code}:{as_of.isoformat()}"
    existing = queries.case_with_key(unique_key, besides=resubmitting)
    if existing is not None:
        message = _l("%(branch)s's classes were already computed for %(day)s (case %(id)s).",
                     branch=branch.name, day=as_of.isoformat(), id=existing)
        raise Conflict.on("as_of", message)
    return CaseStart(data={"branch_id": branch.id, "branch_code": branch.code, "branch_name": branch.name,
                           "as_of": as_of.isoformat()},
                     business_key=f"branch:{branch.code}", unique_key=unique_key)


def scheduled_starts(due: datetime) -> list[dict]:
    """What the schedule opens (the 1st of each month): every branch's classes as of that day."""
    day = local(due).date().isoformat()
    return [{"branch": code, "as_of": day} for code in org.unit_codes(org.BRANCH)]


def _classify(kind: str, call: ServiceCall, figures_of: Callable[[int, date], dict[int, dict]] | None = None
              ) -> dict:
    data, case = call.data, call.case
    instance = case.instance
    definition = instance.definition
    classes = compute(kind, date.fromisoformat(data["as_of"]), call.decide, data["branch_id"], figures_of)
    moves = store(kind, classes, case.now, definition_id=definition.id, instance_id=instance.id,
                  table_version=f"{definition.key} v{definition.version}")
    for move in moves:
        customer = db.session.get(Customer, move.customer_id)
        case.record(MOVED, {"customer_id": customer.id, "customer_code": customer.code, "kind": move.kind,
                            "from": move.previous, "to": move.value}, system=True)
        reps = list(org.member_ids(org.SALES_REP, customer.territory_id))
        case.uow.ext.notify(reps, MOVED, case.now, instance_id=instance.id,
                            task=f"{customer.code} {customer.name} · {KINDS[kind]}: "
                                 f"{value_words(kind, move.previous)} → {value_words(kind, move.value)}")
    return {f"{kind}_classified": len(classes), f"{kind}_moved": len(moves)}


def classify_abc(call: ServiceCall) -> dict:
    """Service task `classify_customers_abc`: the branch's ABC classes (processes/customer_abc.dmn)."""
    return _classify(ABC, call)


def classify_volume(call: ServiceCall) -> dict:
    """Service task `classify_customers_volume`: the branch's volume tiers (processes/volume_tier.dmn)."""
    return _classify(VOLUME, call)


def classify_value(call: ServiceCall) -> dict:
    """Service task `classify_customers_value`: the branch's value classes (processes/customer_value.dmn)
    from the five dimension scores weighted as the weights table before it put in the case's data."""
    weights = value_weights(call.data)
    return _classify(VALUE, call, lambda branch_id, as_of: value_figures(branch_id, as_of, weights))


FLOW = Flow(
    name="customer_classes",
    processes={PROCESS_KEY: Process(start=prepare_start, scheduled=scheduled_starts,
                                    starters=frozenset({org.ADMIN}))},
    services={"classify_customers_abc": classify_abc, "classify_customers_volume": classify_volume,
              "classify_customers_value": classify_value},
    tables=(CustomerClass,),
    event_words={MOVED: _l("Customer class changed")},
    outcome_words={"classes_recomputed": _l("Classes recomputed")},
)
