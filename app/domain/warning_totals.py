"""Early warning by totals and ratios (seed 004 "预警指标…总量指标和比率指标"): besides one customer's
indicators (app.domain.early_warning), the company watches each branch as a whole. On the 3rd of each
month, after the customers' urgent reports have opened, a case per branch computes last month's totals
and ratios; processes/warning_totals.dmn says, indicator by indicator, whether a value breaks or nears
its threshold; a broken one opens an urgent report to the general manager's level (company leadership),
who sets out measures followed up on the day he names, as an urgent report about a customer is.

The indicators, each computed from what the system records:
- `branch_purchase_drop`: the branch's tons last month as a percentage of its monthly average over the
  six months before;
- `breaking_share`: the percentage of the branch's customers that broke a customer indicator last month
  (app.domain.early_warning.breaches);
- `overdue_share`: the percentage of the branch's customers reported for overdue receivables last month
  (urgent reports of that indicator: the ledger is not in this system);
- `open_major_complaints`: the branch's major complaints still open.
"""
from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import func, select

from app import db
from app.calendar import day_start, local
from app.domain import early_warning, org, star_rating
from app.domain.complaints import Complaint
from app.domain.customers import Customer, PurchaseRecord, trading
from app.engine import queries
from app.engine.models import RUNNING, Instance
from app.engine.plugins import CaseStart, Flow, Process, ServiceCall
from app.errors import InvalidData
from app.i18n import _l

PROCESS_KEY = "warning_totals"
INDICATORS = {
    "branch_purchase_drop": _l("Branch's purchases against its six-month average (%)"),
    "breaking_share": _l("Share of the branch's customers that broke an indicator (%)"),
    "overdue_share": _l("Share of the branch's customers reported for overdue receivables (%)"),
    "open_major_complaints": _l("Major complaints still open"),
}
TOTALS_LISTED = "warning_totals_listed"  # the event keeping the month's figures and what the table said


def _six_before(first: date) -> date:
    index = first.year * 12 + first.month - 1 - 6
    return date(index // 12, index % 12 + 1, 1)


def _percent(part, whole) -> Decimal:
    return (Decimal(part) * 100 / Decimal(whole)).quantize(Decimal("0.1")) if whole else Decimal(0)


def figures(branch_id: int, month: str, now: datetime) -> dict[str, Decimal | None]:
    """The branch's value of each indicator for `month` (None: nothing to measure it on, e.g. a branch
    with no purchases in the six months before)."""
    first, following = star_rating.month_bounds(month)
    territories = select(org.OrgUnit.id).where(org.OrgUnit.parent_id == branch_id)
    customers = db.session.scalars(select(Customer).where(Customer.territory_id.in_(territories), trading())
                                   .order_by(Customer.code)).all()
    ids = [customer.id for customer in customers]

    def tons(since: date, until: date) -> Decimal:
        return Decimal(db.session.scalar(select(func.coalesce(func.sum(PurchaseRecord.quantity_tons), 0)).where(
            PurchaseRecord.customer_id.in_(ids), PurchaseRecord.ordered_on >= since,
            PurchaseRecord.ordered_on < until)))

    average = tons(_six_before(first), first) / 6
    breaking = sum(1 for customer in customers
                   if any(b.level == early_warning.BREAKS for b in early_warning.breaches(customer, month, now)))
    reported = db.session.execute(select(Instance.customer_id, Instance.start_data).where(
        Instance.process_key == early_warning.PROCESS_KEY, Instance.customer_id.in_(ids),
        Instance.started_at >= day_start(first), Instance.started_at < day_start(following)))
    overdue = len({customer_id for customer_id, data in reported
                   if (data or {}).get("indicator") == "overdue_receivables"})
    open_major = db.session.scalar(select(func.count()).select_from(Complaint).join(
        Instance, Complaint.instance_id == Instance.id).where(
        Complaint.customer_id.in_(ids), Complaint.severity == "major", Instance.status == RUNNING))
    return {"branch_purchase_drop": _percent(tons(first, following), average) if average else None,
            "breaking_share": _percent(breaking, len(ids)), "overdue_share": _percent(overdue, len(ids)),
            "open_major_complaints": Decimal(open_major)}


# -- the process -----------------------------------------------------------------------------------

def prepare_start(data: dict, _starter, now: datetime, resubmitting: int | None = None) -> CaseStart:
    """One branch's totals of one month that has ended; never twice."""
    branch = org.branch_named(data.get("branch"))
    month = str(data.get("month", ""))
    if not star_rating.MONTH.match(month) or month >= local(now).strftime("%Y-%m"):
        message = _l("Only a month that has ended can be reported.")
        raise InvalidData.on("month", message)
    return org.branch_month_case(PROCESS_KEY, branch, month, resubmitting, lambda case: _l(
        "%(branch)s's totals of %(month)s were computed already (case %(id)s).", branch=branch.name, month=month,
        id=case))


def scheduled_starts(due: datetime) -> list[dict]:
    """What the schedule opens (the 3rd of each month): last month's totals of every branch."""
    month = star_rating.previous_month(due)
    return [{"branch": code, "month": month} for code in org.unit_codes(org.BRANCH)]


def compute(call: ServiceCall) -> dict:
    """Service task `compute_warning_totals`: the branch's figures, each judged by the decision table
    (processes/warning_totals.dmn: `level` breaks, nears or empty), kept in the case for the report;
    `totals_broken` sends it to the general manager's level."""
    rows = []
    for indicator, value in figures(call.data["branch_id"], call.data["month"], call.case.now).items():
        level = "" if value is None else str(call.decide({"indicator": indicator, "value": float(value)})["level"] or "")
        rows.append({"indicator": indicator, "value": None if value is None else str(value), "level": level})
    call.case.record(TOTALS_LISTED, {"rows": rows}, system=True)
    broken = [row["indicator"] for row in rows if row["level"] == early_warning.BREAKS]
    return {"totals_broken": bool(broken), "broken_indicators": broken}


def listed_totals(instance_id: int) -> list[dict]:
    """The figures a case computed, with what the decision table said of each."""
    return queries.recorded_rows(instance_id, TOTALS_LISTED)


def result(instance: Instance) -> dict:
    """What an ended case leads with: the month's figures."""
    return {"totals": listed_totals(instance.id), "words": INDICATORS}


FLOW = Flow(
    name="warning_totals",
    processes={PROCESS_KEY: Process(start=prepare_start, scheduled=scheduled_starts,
                                    starters=frozenset({org.ADMIN}), result=result)},
    forms="forms.warning_totals",
    services={"compute_warning_totals": compute},
    event_words={TOTALS_LISTED: _l("Branch totals and ratios computed")},
    outcome_words={"no_totals_broken": _l("No total or ratio broken")},
    form_words={
        "warning_totals_start": _l("Opening a branch's totals and ratios of a month"),
        "warning_totals_measures": _l("Measures against a branch's broken totals"),
        "warning_totals_follow_up": _l("Follow-up of the measures against a branch's totals"),
    },
)
