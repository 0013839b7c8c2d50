"""The rep's monthly purchase analysis (月购油分析, seed 000): when a month has ended, every territory's rep
gets his important customers (key customers, 重点客户, as app.domain.complaints.is_key_customer reads them)
with the month's tons and amount against the month before and against their own average of the six
months before it, and writes a short analysis of each; what he writes goes into each customer's dossier
under 月购油分析, and the branch's sales manager reads the territory's analysis.

The schedule fires on the 1st at 00:00 for the month just ended (as the star rating does): the month's
purchase records are complete then, which a firing on the month's last afternoon could not promise.
"""
from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import JSON, ForeignKey, String, Text, UniqueConstraint, and_, select
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app import db
from app.db_types import UTCDateTime
from app.domain import assignment, org
from app.domain.complaints import is_key_customer
from app.domain.customers import Customer, PurchaseRecord, trading
from app.domain.star_rating import MONTH, previous_month
from app.engine import queries
from app.engine.plugins import Assignment, CaseStart, Flow, Process, ServiceCall
from app.errors import Conflict, InvalidData
from app.i18n import _l

PROCESS_KEY = "purchase_analysis"
SHEET_LISTED = "purchase_analysis_listed"  # the event recording the rows the rep was given
AVERAGE_MONTHS = 6
ANALYSIS_MAX = 500  # characters of one customer's analysis


class PurchaseAnalysis(db.Model):
    """One customer's analysis of one month, as its rep wrote it, with the figures he was shown; one per
    customer and month (the dossier's 月购油分析)."""

    __tablename__ = "purchase_analyses"
    __table_args__ = (UniqueConstraint("customer_id", "month", name="uq_purchase_analyses_customer_month"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"))
    month: Mapped[str] = mapped_column(String(7))
    rep_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    text: Mapped[str] = mapped_column(Text)
    figures: Mapped[dict] = mapped_column(JSON)
    instance_id: Mapped[int] = mapped_column(ForeignKey("instances.id"), index=True)
    written_at: Mapped[datetime] = mapped_column(UTCDateTime())

    customer: Mapped[Customer] = relationship()
    rep: Mapped[org.User] = relationship()


def of_customer(customer_id: int, limit: int = 24) -> list[PurchaseAnalysis]:
    """A customer's monthly analyses, newest month first (the dossier's 月购油分析)."""
    return list(db.session.scalars(select(PurchaseAnalysis).where(PurchaseAnalysis.customer_id == customer_id)
                                   .order_by(PurchaseAnalysis.month.desc()).limit(limit)))


def of_case(instance_id: int) -> list[PurchaseAnalysis]:
    return list(db.session.scalars(select(PurchaseAnalysis).join(PurchaseAnalysis.customer)
                                   .where(PurchaseAnalysis.instance_id == instance_id).order_by(Customer.code)))


def sheet_rows(instance_id: int) -> list[dict]:
    """The rows the case's service listed for the rep: each key customer with its figures."""
    return queries.recorded_rows(instance_id, SHEET_LISTED)


# -- the figures -----------------------------------------------------------------------------------

def _month_index(month: str) -> int:
    return int(month[:4]) * 12 + int(month[5:]) - 1


def _month_start(index: int) -> date:
    return date(index // 12, index % 12 + 1, 1)


def _month_name(index: int) -> str:
    return f"{index // 12:04d}-{index % 12 + 1:02d}"


def _change(now: Decimal, then: Decimal) -> str | None:
    """The change from `then` to `now` in per cent, one decimal (None: nothing to compare with)."""
    return None if not then else str(((now - then) * 100 / then).quantize(Decimal("0.1")))


def figures(customer_ids: list[int], month: str) -> dict[int, dict]:
    """Each customer's tons and amount in `month`, in the month before, and its monthly average over the six
    months before `month` (months without orders count as zero), as text; changes in per cent. One query."""
    index = _month_index(month)
    first, following = _month_start(index - AVERAGE_MONTHS), _month_start(index + 1)
    totals: dict[tuple[int, int], tuple[Decimal, Decimal]] = {}
    rows = db.session.execute(
        select(PurchaseRecord.customer_id, PurchaseRecord.ordered_on, PurchaseRecord.quantity_tons,
               PurchaseRecord.amount_yuan)
        .where(PurchaseRecord.customer_id.in_(customer_ids), and_(PurchaseRecord.ordered_on >= first,
                                                                  PurchaseRecord.ordered_on < following)))
    for customer_id, ordered, tons, amount in rows:
        key = (customer_id, ordered.year * 12 + ordered.month - 1)
        before = totals.get(key, (Decimal(0), Decimal(0)))
        totals[key] = (before[0] + Decimal(tons), before[1] + Decimal(amount))
    result = {}
    zero = (Decimal(0), Decimal(0))
    cent = Decimal("0.01")
    for customer_id in customer_ids:
        tons, amount = totals.get((customer_id, index), zero)
        last_tons, last_amount = totals.get((customer_id, index - 1), zero)
        window = [totals.get((customer_id, index - back), zero) for back in range(1, AVERAGE_MONTHS + 1)]
        avg_tons = (sum((w[0] for w in window), Decimal(0)) / AVERAGE_MONTHS).quantize(cent)
        avg_amount = (sum((w[1] for w in window), Decimal(0)) / AVERAGE_MONTHS).quantize(cent)
        result[customer_id] = {
            "month": month, "previous_month": _month_name(index - 1),
            "tons": str(tons.quantize(cent)), "amount_yuan": str(amount.quantize(cent)),
            "previous_tons": str(last_tons.quantize(cent)), "previous_amount_yuan": str(last_amount.quantize(cent)),
            "average_tons": str(avg_tons), "average_amount_yuan": str(avg_amount),
            "tons_vs_previous_pct": _change(tons, last_tons), "tons_vs_average_pct": _change(tons, avg_tons),
            "amount_vs_previous_pct": _change(amount, last_amount),
            "amount_vs_average_pct": _change(amount, avg_amount),
        }
    return result


def key_customers(territory_id: int) -> list[Customer]:
    return [customer for customer in db.session.scalars(
        select(Customer).where(Customer.territory_id == territory_id, trading()).order_by(Customer.code))
        if is_key_customer(customer)]


# -- starting --------------------------------------------------------------------------------------

def _territory(value) -> org.OrgUnit:
    territory = db.session.scalar(select(org.OrgUnit).where(org.OrgUnit.code == str(value or ""),
                                                            org.OrgUnit.kind == org.TERRITORY))
    if territory is None:
        message = _l("No such territory.")
        raise InvalidData.on("territory", message)
    return territory


def prepare_start(data: dict, _starter, now: datetime, resubmitting: int | None = None) -> CaseStart:
    """One territory's analysis of one month that has ended; never a second one."""
    territory = _territory(data.get("territory"))
    month = str(data.get("month", "")).strip()
    if not MONTH.match(month):
        message = _l("A month is written YYYY-MM, e.g. 2026-10.")
        raise InvalidData.on("month", message)
    if month > previous_month(now):
        message = _l("Only a month that has ended can be analysed.")
        raise InvalidData.on("month", message)
    unique_key = f"{PROCESS_KEY}:{territory.code}:{month}"
    existing = queries.case_with_key(unique_key, besides=resubmitting)
    if existing is not None:
        message = _l("%(territory)s already has a purchase analysis for %(month)s (case %(id)s).",
                     territory=territory.name, month=month, id=existing)
        raise Conflict.on("month", message)
    branch = territory.parent
    return CaseStart(data={"territory_id": territory.id, "territory_code": territory.code,
                           "territory_name": territory.name, "branch_id": branch.id, "branch_code": branch.code,
                           "branch_name": branch.name, "month": month},
                     business_key=f"territory:{territory.code}", unique_key=unique_key)


def scheduled_starts(due: datetime) -> list[dict]:
    """What the schedule opens on the 1st at 00:00: the month just ended, for every territory."""
    month = previous_month(due)
    return [{"territory": code, "month": month} for code in org.unit_codes(org.TERRITORY)]


def analysis_rep(data: dict) -> Assignment:
    """The sales rep of the case's territory."""
    return assignment.the_one(org.SALES_REP, data.get("territory_id"))


# -- the services the BPMN calls -------------------------------------------------------------------

def prepare_sheet(call: ServiceCall) -> dict:
    """Service task `prepare_purchase_analysis`: the territory's key customers with their figures,
    recorded in the case (what the rep is shown, kept in the trail)."""
    customers = key_customers(call.data["territory_id"])
    numbers = figures([customer.id for customer in customers], call.data["month"])
    rows = [{"customer_id": customer.id, "code": customer.code, "name": customer.name, **numbers[customer.id]}
            for customer in customers]
    call.case.record(SHEET_LISTED, {"rows": rows}, system=True)
    return {"customer_count": len(rows)}


def file_analyses(call: ServiceCall) -> dict:
    """Service task `file_purchase_analyses`: each customer's analysis into its dossier, with the figures
    the rep was shown (a month analysed again replaces the customer's earlier text of that month)."""
    case, month = call.case, call.data["month"]
    texts = {int(row["customer_id"]): (row.get("analysis") or "").strip() for row in call.data.get("analyses") or []}
    existing = {row.customer_id: row for row in db.session.scalars(select(PurchaseAnalysis).where(
        PurchaseAnalysis.month == month, PurchaseAnalysis.customer_id.in_(list(texts))))}
    filed = 0
    for row in sheet_rows(case.instance.id):
        text = texts.get(row["customer_id"])
        if not text:
            continue  # the form saw to it that every row has one
        numbers = {key: value for key, value in row.items() if key not in ("customer_id", "code", "name")}
        analysis = existing.get(row["customer_id"]) or PurchaseAnalysis(customer_id=row["customer_id"], month=month)
        analysis.rep_id, analysis.text, analysis.figures = case.actor.id, text, numbers
        analysis.instance_id, analysis.written_at = case.instance.id, case.now
        db.session.add(analysis)
        filed += 1
    return {"filed_count": filed}


def result(instance) -> dict:
    """What an ended analysis leads with: each customer's figures and text."""
    return {"analyses": of_case(instance.id), "month": (instance.start_data or {}).get("month")}


FLOW = Flow(
    name="purchase_analysis",
    processes={PROCESS_KEY: Process(start=prepare_start, scheduled=scheduled_starts,
                                    starters=frozenset({org.ADMIN}), result=result)},
    forms="forms.purchase_analysis",
    person_rules={"analysis_rep": analysis_rep},
    services={"prepare_purchase_analysis": prepare_sheet, "file_purchase_analyses": file_analyses},
    tables=(PurchaseAnalysis,),
    event_words={SHEET_LISTED: _l("Key customers' purchases listed")},
    outcome_words={"read": _l("Read by the sales manager"), "no_customers": _l("No key customers to analyse")},
    rule_words={"analysis_rep": _l("Sales rep of the analysed territory")},
    form_words={
        "purchase_analysis_start": _l("Opening a territory's monthly purchase analysis"),
        "purchase_analysis_sheet": _l("Rep's monthly purchase analysis"),
        "purchase_analysis_read": _l("Sales manager's reading of the purchase analysis"),
    },
)
