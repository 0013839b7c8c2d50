"""The complaints failure analysis (失误分析): what goes wrong, where, whose fault, how fast we answer.

Counts the `complaints` rows (one per complaint case) by category, branch, responsible person or
unit and month, the share sent up to the deputy general manager, how long acknowledgement and
feedback take, repeat complaints, and whether last quarter's biggest categories went down. Besides the
complaints, seed 004's 失误分析制度 counts every kind of failure by the person who answers for it
(`by_person`): complaints (their responsible), returns and exchanges and contract instalments not paid
by their day (the rep of the customer's territory), warnings whose measures came late (who had the
step), and whether a person's failures of the quarter before last recurred last quarter. Plain functions over the database; the pages
(app/web/complaints.py) only parse the request and render.

Times: months, quarters and the date filter are Asia/Shanghai calendar days (`received_at`, stored
in UTC). Percentiles are `statistics.quantiles(..., n=10, method="inclusive")` (linear
interpolation between the closest ranks, as Excel's PERCENTILE.INC); the median is
`statistics.median`. With no value there is none; with one value it is both the median and the 90th.
"""
from __future__ import annotations

import statistics
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import joinedload

from app import db, exports
from app.calendar import COMPANY_TZ, day_start, local
from app.domain import contracts, early_warning, org, returns, warning_totals
from app.domain.complaints import CATEGORIES, Complaint
from app.engine.models import OPEN, STEP, Task
from app.errors import InvalidData
from app.i18n import _l

TOP_CATEGORIES = 3  # the quarter comparison follows the quarter before last's top three
TOP_REPEAT_CUSTOMERS = 5


# -- which branches ------------------------------------------------------------------------------

def scope(allowed: frozenset[int] | None, branch_id: int | None) -> frozenset[int] | None:
    """The branches to count: the one asked for, or all the reader may see (`allowed`, None: every
    branch; the policy decides it, and whether he may ask for this one)."""
    if branch_id is None:
        return allowed
    unit = db.session.get(org.OrgUnit, branch_id)
    if unit is None or unit.kind != org.BRANCH:
        raise InvalidData(_l("No such branch."), {"branch": [_l("No such branch.")]})
    return frozenset({branch_id})


def branches(allowed: frozenset[int] | None) -> list[org.OrgUnit]:
    """The branches a filter may offer."""
    query = select(org.OrgUnit).where(org.OrgUnit.kind == org.BRANCH).order_by(org.OrgUnit.code)
    if allowed is not None:
        query = query.where(org.OrgUnit.id.in_(allowed))
    return list(db.session.scalars(query))


# -- which complaints ----------------------------------------------------------------------------

def complaints(branch_ids: frozenset[int] | None, since: date | None = None,
               until: date | None = None) -> list[Complaint]:
    """Complaints received from `since` to `until` (company-time days, both included) in the branches
    (None: all), oldest first; not those closed as recorded by mistake."""
    query = (select(Complaint).options(joinedload(Complaint.branch)).where(Complaint.dismissed_at.is_(None))
             .order_by(Complaint.received_at, Complaint.id))
    if branch_ids is not None:
        query = query.where(Complaint.branch_id.in_(branch_ids))
    if since is not None:
        query = query.where(Complaint.received_at >= day_start(since))
    if until is not None:
        query = query.where(Complaint.received_at < day_start(until + timedelta(days=1)))
    return list(db.session.scalars(query).unique())


# -- figures -------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Count:
    key: str  # a category code, a branch code, a responsible's name ("" = not determined), "YYYY-MM"
    label: str  # the branch's name; otherwise the key (the page translates codes)
    count: int


@dataclass(frozen=True)
class Durations:
    """Hours from one moment to another, over the complaints that have both."""

    count: int
    median: float | None
    p90: float | None


@dataclass(frozen=True)
class RepeatCustomer:
    customer_id: int
    code: str
    name: str
    repeats: int  # its repeat complaints in the selection
    complaints: int  # all its complaints in the selection


@dataclass(frozen=True)
class QuarterRow:
    category: str
    before: int  # complaints in the quarter before last
    last: int  # in last quarter

    @property
    def went_down(self) -> bool:
        return self.last < self.before


@dataclass(frozen=True)
class QuarterComparison:
    before: str  # "2026 Q2"
    last: str
    rows: list[QuarterRow]


@dataclass
class Analysis:
    total: int
    by_category: list[Count]
    by_branch: list[Count]
    by_responsible: list[Count]
    by_month: list[Count]
    escalated: int
    acknowledgement: Durations
    feedback: Durations
    repeats: int
    repeat_customers: list[RepeatCustomer]
    quarters: QuarterComparison
    # Return and exchange requests filed in the same days and branches, by reason (app.domain.returns).
    returns_by_reason: list[Count] = field(default_factory=list)
    # Every kind of failure by the person who answers for it, with last quarters' recurrence.
    by_person: list[PersonRow] = field(default_factory=list)

    @property
    def escalated_share(self) -> float | None:
        return self.escalated / self.total if self.total else None


def hours(start: datetime | None, end: datetime | None) -> float | None:
    if start is None or end is None:
        return None
    return (end - start).total_seconds() / 3600


def durations(values: Iterable[float | None]) -> Durations:
    """Median and 90th percentile (inclusive method) of the values that exist."""
    data = sorted(v for v in values if v is not None)
    if not data:
        return Durations(0, None, None)
    if len(data) == 1:  # statistics.quantiles needs two points before Python 3.13
        return Durations(1, data[0], data[0])
    return Durations(len(data), statistics.median(data),
                     statistics.quantiles(data, n=10, method="inclusive")[8])


def responsible_of(complaint: Complaint) -> str:
    return (complaint.responsible or "").strip()


def month_of(moment: datetime) -> str:
    return local(moment).strftime("%Y-%m")


def _months(first: str, last: str) -> list[str]:
    year, month = map(int, first.split("-"))
    months = []
    while f"{year:04d}-{month:02d}" <= last:
        months.append(f"{year:04d}-{month:02d}")
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    return months


def _ranked(counter: Counter, labels: dict[str, str] | None = None) -> list[Count]:
    """Most first; equal counts by key."""
    return [Count(key, (labels or {}).get(key, key), n)
            for key, n in sorted(counter.items(), key=lambda item: (-item[1], item[0]))]


def by_category(rows: Sequence[Complaint]) -> list[Count]:
    """Every known category (none is 0), then any other code found; most first, then in CATEGORIES' order."""
    counter = Counter({code: 0 for code in CATEGORIES})
    counter.update(c.category for c in rows)
    order = {code: i for i, code in enumerate(CATEGORIES)}
    return [Count(key, key, n) for key, n in
            sorted(counter.items(), key=lambda item: (-item[1], order.get(item[0], len(order)), item[0]))]


def by_month(rows: Sequence[Complaint]) -> list[Count]:
    """Company-time months from the first complaint's to the last one's, months without any as 0."""
    counter = Counter(month_of(c.received_at) for c in rows)
    if not counter:
        return []
    return [Count(m, m, counter[m]) for m in _months(min(counter), max(counter))]


def repeat_customers(rows: Sequence[Complaint], limit: int = TOP_REPEAT_CUSTOMERS) -> list[RepeatCustomer]:
    repeats = Counter(c.customer_id for c in rows if c.repeat)
    totals = Counter(c.customer_id for c in rows)
    customers = {c.customer_id: c.customer for c in rows}
    ranked = sorted(repeats.items(), key=lambda item: (-item[1], customers[item[0]].code))[:limit]
    return [RepeatCustomer(cid, customers[cid].code, customers[cid].name, n, totals[cid]) for cid, n in ranked]


def returns_by_reason(branch_ids: frozenset[int] | None, since: date | None = None,
                      until: date | None = None) -> list[Count]:
    """Return and exchange requests filed from `since` to `until` in the branches, by reason: every reason
    (none is 0), most first, then in returns.REASONS' order."""
    counter = returns.by_reason(branch_ids, since, until)
    order = {code: i for i, code in enumerate(returns.REASONS)}
    return [Count(key, str(returns.REASONS.get(key, key)), n) for key, n in
            sorted(counter.items(), key=lambda item: (-item[1], order.get(item[0], len(order)), item[0]))]


# -- quarters --------------------------------------------------------------------------------------

def _quarter_start(index: int) -> datetime:
    """Start (UTC) of calendar quarter number `index` (year * 4 + quarter - 1) in company time."""
    return datetime(index // 4, index % 4 * 3 + 1, 1, tzinfo=COMPANY_TZ).astimezone(UTC)


def _quarter_name(index: int) -> str:
    return f"{index // 4} Q{index % 4 + 1}"


def quarter_comparison(branch_ids: frozenset[int] | None, now: datetime) -> QuarterComparison:
    """The quarter before last's top categories (most first, equal counts by code), their counts then and
    last quarter. Calendar quarters in company time before the one `now` is in; the date filter does
    not apply, the branches do."""
    here = local(now)
    current = here.year * 4 + (here.month - 1) // 3
    before, last = current - 2, current - 1

    def counts(index: int) -> Counter:
        query = (select(Complaint.category, func.count(Complaint.id))
                 .where(Complaint.received_at >= _quarter_start(index),
                        Complaint.received_at < _quarter_start(index + 1), Complaint.dismissed_at.is_(None))
                 .group_by(Complaint.category))
        if branch_ids is not None:
            query = query.where(Complaint.branch_id.in_(branch_ids))
        return Counter(dict(db.session.execute(query).all()))

    earlier, later = counts(before), counts(last)
    top = _ranked(earlier)[:TOP_CATEGORIES]
    return QuarterComparison(_quarter_name(before), _quarter_name(last),
                             [QuarterRow(c.key, c.count, later[c.key]) for c in top])


# -- failures by responsible person (seed 004 失误分析制度) --------------------------------------------

COMPLAINT, RETURN, LATE_PAYMENT, LATE_MEASURES = "complaint", "return", "late_payment", "late_measures"
FAILURE_KINDS = {COMPLAINT: _l("Complaints"), RETURN: _l("Returns and exchanges"),
                 LATE_PAYMENT: _l("Payments not in on time"), LATE_MEASURES: _l("Warnings acted on late")}
# The warning steps whose lateness is a failure: the measures against a customer's or a branch's warning.
MEASURES_STEPS = {(early_warning.PROCESS_KEY, "set_measures"), (warning_totals.PROCESS_KEY, "set_measures")}


@dataclass(frozen=True)
class Failure:
    kind: str
    person: str  # the display name of who answers for it; "" = not determined
    at: datetime


@dataclass(frozen=True)
class PersonRow:
    person: str
    counts: dict[str, int]  # by kind, in the selection
    before: int  # every kind, the quarter before last
    last: int  # every kind, last quarter

    @property
    def total(self) -> int:
        return sum(self.counts.values())

    @property
    def recurred(self) -> bool:
        """Failures of the quarter before last came again last quarter."""
        return self.before > 0 and self.last > 0


def _rep_names(territory_ids: set[int]) -> dict[int, str]:
    names = {}
    for territory_id in territory_ids:
        reps = org.users_with_role(org.SALES_REP, territory_id)
        names[territory_id] = reps[0].display_name if reps else ""
    return names


def failures(branch_ids: frozenset[int] | None, since: date | None, until: date | None,
             now: datetime) -> list[Failure]:
    """Every failure in the branches (None: all) from `since` to `until` (company days, both included):
    complaints received, returns filed, measures due then."""
    found = [Failure(COMPLAINT, responsible_of(c), c.received_at) for c in complaints(branch_ids, since, until)]
    filed = returns.filed(branch_ids, since, until)
    reps = _rep_names({r.customer.territory_id for r in filed})
    found += [Failure(RETURN, reps[r.customer.territory_id], r.requested_at) for r in filed]
    late_payments = contracts.late_instalments(branch_ids, since, until)
    reps = _rep_names({item.contract.customer.territory_id for item in late_payments})
    found += [Failure(LATE_PAYMENT, reps[item.contract.customer.territory_id], day_start(item.due_on))
              for item in late_payments]
    query = select(Task).where(
        Task.kind == STEP, Task.process_key.in_({key for key, _ in MEASURES_STEPS}),
        Task.spec_id.in_({spec for _, spec in MEASURES_STEPS}), Task.due_at.is_not(None),
        (Task.completed_at > Task.due_at) | ((Task.state == OPEN) & (Task.due_at < now)))
    if since is not None:
        query = query.where(Task.due_at >= day_start(since))
    if until is not None:
        query = query.where(Task.due_at < day_start(until + timedelta(days=1)))
    for task in db.session.scalars(query):
        if branch_ids is None or (task.instance.start_data or {}).get("branch_id") in branch_ids:
            person = task.completed_by or task.assignee
            found.append(Failure(LATE_MEASURES, person.display_name if person else "", task.due_at))
    return found


def _quarter_days(index: int) -> tuple[date, date]:
    """The first and the last day of calendar quarter number `index` (year * 4 + quarter - 1)."""
    first = date(index // 4, index % 4 * 3 + 1, 1)
    return first, date((index + 1) // 4, (index + 1) % 4 * 3 + 1, 1) - timedelta(days=1)


def by_person(branch_ids: frozenset[int] | None, since: date | None, until: date | None,
              now: datetime) -> list[PersonRow]:
    """Each person's failures by kind from `since` to `until` (company days, both included), most first,
    with his failures of the last two full quarters before `now` (whatever the dates), so that the page
    says whose problems recurred."""
    here = local(now)
    current = here.year * 4 + (here.month - 1) // 3
    before = Counter(f.person for f in failures(branch_ids, *_quarter_days(current - 2), now))
    last = Counter(f.person for f in failures(branch_ids, *_quarter_days(current - 1), now))
    counts: dict[str, Counter] = {}
    for failure in failures(branch_ids, since, until, now):
        counts.setdefault(failure.person, Counter())[failure.kind] += 1
    rows = [PersonRow(person, {kind: kinds[kind] for kind in FAILURE_KINDS}, before[person], last[person])
            for person, kinds in counts.items()]
    return sorted(rows, key=lambda row: (-row.total, row.person))


# -- the whole analysis ------------------------------------------------------------------------------

def analyse(branch_ids: frozenset[int] | None, since: date | None, until: date | None,
            now: datetime) -> tuple[Analysis, list[Complaint]]:
    """The analysis of the selected complaints, and the complaints themselves."""
    rows = complaints(branch_ids, since, until)
    branch_names = {c.branch.code: c.branch.name for c in rows}
    analysis = Analysis(
        total=len(rows),
        by_category=by_category(rows),
        by_branch=_ranked(Counter(c.branch.code for c in rows), branch_names),
        by_responsible=_ranked(Counter(responsible_of(c) for c in rows)),
        by_month=by_month(rows),
        escalated=sum(1 for c in rows if c.escalated_at is not None),
        acknowledgement=durations(hours(c.recorded_at, c.acknowledged_at) for c in rows),
        feedback=durations(hours(c.received_at, c.feedback_at) for c in rows),
        repeats=sum(1 for c in rows if c.repeat),
        repeat_customers=repeat_customers(rows),
        quarters=quarter_comparison(branch_ids, now),
        returns_by_reason=returns_by_reason(branch_ids, since, until),
        by_person=by_person(branch_ids, since, until, now),
    )
    return analysis, rows


# -- CSV ---------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class ExportRow:
    case_id: int
    received_at: str  # company time, ISO 8601 with offset
    branch: str
    customer_code: str
    category: str
    channel: str
    responsible: str
    severity: str | None
    proposed_severity: str | None
    escalated: bool
    hours_to_acknowledgement: float | None
    hours_to_feedback: float | None
    customer_response: str | None
    repeat: bool


def export_rows(rows: Sequence[Complaint]) -> list[ExportRow]:
    return [ExportRow(case_id=c.instance_id, received_at=local(c.received_at).isoformat(timespec="seconds"),
                      branch=c.branch.name, customer_code=c.customer.code, category=c.category, channel=c.channel,
                      responsible=responsible_of(c), severity=c.severity, proposed_severity=c.proposed_severity,
                      escalated=c.escalated_at is not None,
                      hours_to_acknowledgement=hours(c.recorded_at, c.acknowledged_at),
                      hours_to_feedback=hours(c.received_at, c.feedback_at),
                      customer_response=c.customer_response, repeat=bool(c.repeat))
            for c in rows]


def to_csv(header: Sequence[str], rows: Iterable[ExportRow], show=lambda kind, value: value) -> bytes:
    """The export as exports.to_csv writes it. `show(kind, value)` turns codes into words: kind is
    "category", "channel", "severity", "customer_response" or "yes_no"."""
    def hours_cell(value: float | None) -> str:
        return "" if value is None else f"{value:.2f}"

    return exports.to_csv(header, ([
        r.case_id, r.received_at, r.branch, r.customer_code, show("category", r.category),
        show("channel", r.channel), r.responsible, show("severity", r.severity),
        show("severity", r.proposed_severity), show("yes_no", r.escalated), hours_cell(r.hours_to_acknowledgement),
        hours_cell(r.hours_to_feedback), show("customer_response", r.customer_response), show("yes_no", r.repeat)]
        for r in rows))
