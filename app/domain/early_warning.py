"""Early warning (客户预警, seed 004): routine reports each month per branch, and an urgent report as soon
as a customer breaks or nears a warning indicator. An urgent report goes by the customer's tier; the
receiver sets out measures, and the measures are followed up on the date he names.

Seed 004's tiers read onto this company's data: core (核心客户) = big customers; important (重要客户) = the
other key customers; big (大客户, by volume) = 3–4 stars in the latest star rating; general = the rest.
Its receivers: core → the deputy general manager; important → HQ marketing (the marketing director's
office); big → the branch's sales manager; general → the branch's customer specialists.
Indicators computed from the records (each month, for the month before): purchases dropping against
the customer's own average, a credit downgrade, a major complaint still open; overdue receivables are
reported by people (the ledger is not in this system).
"""
from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal

from sqlalchemy import func, select

from app import db
from app.calendar import local
from app.domain import assignment, credit_rating, org, star_rating
from app.domain.complaints import Complaint
from app.domain.customers import Customer, PurchaseRecord, trading
from app.domain.patrols import copy_to_relationship_manager
from app.engine import queries
from app.engine.models import RUNNING, Instance
from app.engine.plugins import Assignment, AssignmentError, CaseStart, Flow, Process, ServiceCall
from app.errors import InvalidData
from app.i18n import _l

PROCESS_KEY = "early_warning"  # an urgent report
ROUTINE_KEY = "warning_report"  # a branch's routine report of a month

CORE, IMPORTANT, BIG, GENERAL = "core", "important", "big", "general"
BREAKS, NEARS = "breaks", "nears"
INDICATORS = ("purchase_drop", "credit_downgrade", "major_complaint", "overdue_receivables")
GRADE_ORDER = ("C", "B", "A", "AA", "AAA")
# Last month's purchases against the average of the six before: below half breaks, below 70 % nears.
DROP_BREAKS, DROP_NEARS = Decimal("0.5"), Decimal("0.7")
COMPLAINT_OPEN_DAYS = 15  # a major complaint still open after this long breaks the indicator


def tier_of(customer: Customer) -> str:
    if customer.big_customer:
        return CORE
    if customer.key_customer:
        return IMPORTANT
    latest = star_rating.history(customer.id)[:1]
    return BIG if latest and latest[0].stars >= 3 else GENERAL


@dataclass(frozen=True)
class Breach:
    indicator: str
    level: str  # breaks | nears
    detail: str


def _tons(customer_id: int, since: date, until: date) -> Decimal:
    return Decimal(db.session.scalar(select(func.coalesce(func.sum(PurchaseRecord.quantity_tons), 0)).where(
        PurchaseRecord.customer_id == customer_id, PurchaseRecord.ordered_on >= since,
        PurchaseRecord.ordered_on < until)))


def breaches(customer: Customer, month: str, now: datetime) -> list[Breach]:
    """The computed warning indicators the customer breaks or nears in `month` (YYYY-MM)."""
    found = []
    first, following = star_rating.month_bounds(month)
    six_before = date(first.year - (1 if first.month <= 6 else 0), (first.month - 7) % 12 + 1, 1)
    average = _tons(customer.id, six_before, first) / 6
    if average > 0:
        share = _tons(customer.id, first, following) / average
        level = BREAKS if share < DROP_BREAKS else NEARS if share < DROP_NEARS else None
        if level:
            found.append(Breach("purchase_drop", level, f"{share:.0%}"))
    ratings = credit_rating.history(customer.id)[:2]
    if len(ratings) == 2 and _rank(ratings[0].grade) < _rank(ratings[1].grade):
        found.append(Breach("credit_downgrade", BREAKS, f"{ratings[1].grade or '-'} → {ratings[0].grade or '-'}"))
    open_major = db.session.scalar(select(func.count()).select_from(Complaint).join(
        Instance, Complaint.instance_id == Instance.id).where(
        Complaint.customer_id == customer.id, Complaint.severity == "major", Instance.status == RUNNING,
        Complaint.received_at < now - timedelta(days=COMPLAINT_OPEN_DAYS)))
    if open_major:
        found.append(Breach("major_complaint", BREAKS, str(open_major)))
    return found


def _rank(grade: str | None) -> int:
    return GRADE_ORDER.index(grade) if grade in GRADE_ORDER else -1


# -- opening cases ---------------------------------------------------------------------------------

def prepare_urgent(data: dict, _reporter, now: datetime, resubmitting: int | None = None) -> CaseStart:
    """An urgent report about one customer and one indicator; the schedule's are one per customer,
    indicator and month."""
    customer = db.session.get(Customer, data.get("customer_id"))
    if customer is None:
        raise InvalidData(_l("Unknown customer."), {"customer_id": [_l("Unknown customer.")]})
    if data.get("indicator") not in INDICATORS:
        raise InvalidData(_l("Choose a warning indicator."), {"indicator": [_l("Choose a warning indicator.")]})
    month = data.get("month")
    return CaseStart(data={"customer_id": customer.id, "customer_code": customer.code, "customer_name": customer.name,
                           "branch_id": customer.branch.id, "branch_name": customer.branch.name,
                           "tier": tier_of(customer), "indicator": data["indicator"],
                           "level": data.get("level") or BREAKS, "detail": str(data.get("detail") or "")},
                     business_key=f"customer:{customer.id}", customer_id=customer.id,
                     unique_key=f"{PROCESS_KEY}:{customer.code}:{data['indicator']}:{month}" if month else None)


def urgent_starts(due: datetime) -> list[dict]:
    """What the schedule opens (the 3rd of each month): an urgent report for every computed indicator a
    customer broke or neared last month."""
    month = star_rating.previous_month(due)
    return [{"customer_id": customer.id, "indicator": breach.indicator, "level": breach.level,
             "detail": breach.detail, "month": month}
            for customer in db.session.scalars(select(Customer).where(trading()).order_by(Customer.code))
            for breach in breaches(customer, month, due)]


def prepare_routine(data: dict, _starter, now: datetime, resubmitting: int | None = None) -> CaseStart:
    branch = org.branch_named(data.get("branch"))
    month = str(data.get("month", ""))
    if not star_rating.MONTH.match(month) or month >= local(now).strftime("%Y-%m"):
        message = _l("Only a month that has ended can be reported.")
        raise InvalidData.on("month", message)
    return CaseStart(data={"branch_id": branch.id, "branch_code": branch.code, "branch_name": branch.name,
                           "month": month},
                     business_key=f"branch:{branch.code}", unique_key=f"{ROUTINE_KEY}:{branch.code}:{month}")


def routine_starts(due: datetime) -> list[dict]:
    """What the schedule opens (the 3rd of each month): last month's routine report of every branch."""
    month = star_rating.previous_month(due)
    return [{"branch": code, "month": month} for code in org.unit_codes(org.BRANCH)]


WARNINGS_LISTED = "warnings_listed"  # the event recording a routine report's customers


def listed_warnings(instance_id: int) -> list[dict]:
    """The customers a routine report is about, with their tiers and warnings, as its service listed them."""
    return queries.recorded_rows(instance_id, WARNINGS_LISTED)


def warning_list(call: ServiceCall) -> dict:
    """Service task `prepare_warning_list`: every customer of the branch with its tier and the
    indicators it broke or neared in the month, recorded in the case for the routine report."""
    territories = select(org.OrgUnit.id).where(org.OrgUnit.parent_id == call.data["branch_id"])
    rows = []
    for customer in db.session.scalars(select(Customer).where(Customer.territory_id.in_(territories), trading())
                                       .order_by(Customer.code)):
        rows.append({"code": customer.code, "name": customer.name, "tier": tier_of(customer),
                     "breaches": [asdict(b) for b in breaches(customer, call.data["month"], call.case.now)]})
        if rows[-1]["breaches"]:  # seed 004 关系管理: the relationship manager hears of his customer's warnings
            copy_to_relationship_manager(call.case, customer.id)
    call.case.record(WARNINGS_LISTED, {"rows": rows}, system=True)  # what the report is about, kept
    return {}



def warning_receiver(data: dict) -> Assignment:
    """Who receives an urgent warning report, by the customer's `tier` (seed 004): core → the deputy
    general manager; important → HQ marketing; big → the branch's sales manager; general → the branch's
    customer specialists. A group rule that, for some tiers, finds one person (who then has the task)."""
    by_tier = {CORE: assignment.deputy_gm, IMPORTANT: assignment.hq_marketing, BIG: assignment.branch_sales_manager,
               GENERAL: assignment.branch_customer_specialist}
    if data.get("tier") not in by_tier:
        raise AssignmentError(f"the case names no customer tier ({data.get('tier')!r})")
    return by_tier[data["tier"]](data)


FLOW = Flow(
    name="early_warning",
    processes={PROCESS_KEY: Process(start=prepare_urgent, scheduled=urgent_starts),
               ROUTINE_KEY: Process(start=prepare_routine, scheduled=routine_starts,
                                    starters=frozenset({org.ADMIN}))},
    forms="forms.early_warning",
    group_rules={"warning_receiver": warning_receiver},
    services={"prepare_warning_list": warning_list},
    comment_fields=("measures",),
    event_words={WARNINGS_LISTED: _l("Warning indicators listed")},
    rule_words={
        "warning_receiver": _l("Receiver of an urgent warning, by the customer's tier"),
    },
    form_words={
        "early_warning_start": _l("Urgent warning report"),
        "warning_measures": _l("Measures against a warning"),
        "warning_follow_up": _l("Follow-up of the measures"),
        "warning_report_start": _l("Opening a branch's routine warning report"),
        "warning_routine_report": _l("Branch's routine warning report"),
        "warning_routine_review": _l("Marketing's reading of the routine report"),
    },
)
