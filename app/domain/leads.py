"""Potential customers (潜在客户; seeds 001 §8 and 002 "潜在客户档案的建立"): a lead goes through the seed's
stages — 市场信息采集 → 收集拟似客户 → 筛选确定潜在客户 → 选择目标客户 → 转变为现实客户 — each a recorded
decision of the territory's rep or of his branch's sales manager (processes/lead_development.bpmn).

- The rep opens a case with what he learned of the market (where from, what) and the candidate (name,
  contacts, expected monthly tons, address …): 市场信息采集 and 收集拟似客户.
- He screens the candidate: does it meet the key-customer conditions (001 §8.1: a key customer's standing,
  no business with the company yet)? He proposes it as a potential customer, or drops it.
- The branch's sales manager confirms it (筛选确定潜在客户) or drops it; confirmed, the service task
  `create_potential_customer` gives it its dossier: a Customer row marked potential, numbered by the one
  scheme (app.domain.registration.next_code), a duplicate (same name) refused.
- The rep develops it (telephone, visits, materials sent: 001 §8.3, the contact log below) and proposes
  it as a target; the sales manager chooses it as a target (选择目标客户), sends it back to be developed
  further, or drops it.
- The target waits for its first order (转变为现实客户). When a purchase record of a potential customer is
  recorded (app.domain.purchases calls `first_orders`, in the transaction that records it, whether the
  order was entered on a page, by the API or imported), the customer stops being potential and the
  system completes the case's waiting task with the decision `converted`: the service task `convert_lead`
  records the conversion, the rep is told, the case ends with outcome `converted`. An order that comes
  while the case is still at the development or target-choice step converts it the same way.
- Every decision may drop the lead: the case ends with the stage it was dropped at as its outcome.

The contact log (`LeadContact`) holds each contact with a potential customer, logged by the territory's
rep or his branch's managers. Each branch sets the rhythm of contacts (`LeadRhythm`, days, 14 unless the
branch's sales manager says otherwise); every morning the process `lead_contact_reminders` (one case per
branch) tells the rep of each potential customer whose last contact is that many days old or older,
once per rhythm.

Why the system completes a user task rather than the case waiting on a BPMN message: the engine offers
no message correlation, and a user task keeps the target in the rep's inbox, where he may drop it.
"""
from __future__ import annotations

import logging
from datetime import date, datetime, timedelta

from sqlalchemy import Date, ForeignKey, String, Text, func, select
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app import db
from app.calendar import local
from app.db_types import UTCDateTime
from app.domain import assignment, org, registration
from app.domain.customers import DIRECT, DISTRIBUTOR, Customer, PurchaseRecord
from app.engine import queries
from app.engine.models import OPEN, RUNNING, Instance, Task
from app.engine.plugins import (
    Assignment,
    CaseStart,
    Flow,
    Process,
    ServiceCall,
    ServiceRefused,
)
from app.errors import Conflict, Forbidden, InvalidData, NotFound
from app.i18n import _l

log = logging.getLogger(__name__)

PROCESS_KEY = "lead_development"
REMINDERS_KEY = "lead_contact_reminders"
KINDS = (DISTRIBUTOR, DIRECT)
# Where the market information came from (市场信息采集, seed 001 §8.2: 销售人员的信息反馈, 行业会议 …).
SOURCES = ("rep_feedback", "industry_meeting", "internet", "customer_referral", "supplier", "other")
SOURCE_WORDS = {
    "rep_feedback": _l("Sales staff's feedback"), "industry_meeting": _l("Industry meeting"),
    "internet": _l("Internet search"), "customer_referral": _l("Referred by a customer"),
    "supplier": _l("Through a supplier or intermediary"), "other": _l("Other"),
}
# How the company keeps in touch with a potential customer (seed 001 §8.3).
TELEPHONE, VISIT, MATERIALS = "telephone", "visit", "materials"
CONTACT_KINDS = (TELEPHONE, VISIT, MATERIALS)
CONTACT_WORDS = {TELEPHONE: _l("Telephone call"), VISIT: _l("Visit in person"),
                 MATERIALS: _l("Company materials and product information sent")}
DEFAULT_RHYTHM_DAYS = 14
RHYTHM_BOUNDS = (1, 180)
NOTES_MAX = 1000

# What the system's completion of the waiting task carries (no person's form may send it).
CONVERTED = "converted"
# The stages of seed 002, by the step a running case waits at (the tasks table says which).
CANDIDATE, SCREENING, POTENTIAL, TARGET = "candidate", "screening", "potential", "target"
DROPPED = "dropped"
STAGE_OF_STEP = {"screen_candidate": CANDIDATE, "confirm_potential": SCREENING, "develop_potential": POTENTIAL,
                 "choose_target": POTENTIAL, "develop_target": TARGET}
STAGES = (CANDIDATE, SCREENING, POTENTIAL, TARGET, CONVERTED, DROPPED)
STAGE_WORDS = {
    CANDIDATE: _l("Candidate collected (收集拟似客户)"), SCREENING: _l("Being confirmed as potential (筛选确定潜在客户)"),
    POTENTIAL: _l("Potential customer"), TARGET: _l("Target customer (选择目标客户)"),
    CONVERTED: _l("Became a customer (转变为现实客户)"), DROPPED: _l("Dropped"),
}
DROP_OUTCOMES = ("dropped_candidate", "dropped_potential", "dropped_target")

# Events the services record, and the notification kinds (app.domain.notifications.TEXTS).
POTENTIAL_CREATED = "potential_customer_created"
LEAD_CONVERTED = "lead_converted"
REMINDED = "lead_contacts_reminded"
CONTACT_DUE = "lead_contact_due"


class Lead(db.Model):
    """A potential customer's lead: the case that made it, since when it is potential, when (and by which
    order) it became a customer, and when its rep was last reminded to keep in touch."""

    __tablename__ = "leads"

    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"), primary_key=True)
    instance_id: Mapped[int] = mapped_column(ForeignKey("instances.id"), unique=True)
    potential_since: Mapped[datetime] = mapped_column(UTCDateTime())
    converted_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    first_order_id: Mapped[int | None] = mapped_column(ForeignKey("purchase_records.id", ondelete="SET NULL"))
    last_reminded_on: Mapped[date | None] = mapped_column(Date)

    customer: Mapped[Customer] = relationship()
    instance: Mapped[Instance] = relationship()


class LeadContact(db.Model):
    """One contact with a potential customer (seed 001 §8.3): a telephone call, a visit, materials sent."""

    __tablename__ = "lead_contacts"

    id: Mapped[int] = mapped_column(primary_key=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"), index=True)
    kind: Mapped[str] = mapped_column(String(20))
    contacted_on: Mapped[date] = mapped_column(Date)
    notes: Mapped[str] = mapped_column(Text, default="")
    by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    logged_at: Mapped[datetime] = mapped_column(UTCDateTime())

    customer: Mapped[Customer] = relationship()
    by: Mapped[org.User] = relationship()


class LeadRhythm(db.Model):
    """How many days may pass between two contacts with a branch's potential customers."""

    __tablename__ = "lead_rhythms"

    branch_id: Mapped[int] = mapped_column(ForeignKey("org_units.id"), primary_key=True)
    days: Mapped[int]
    set_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    set_at: Mapped[datetime] = mapped_column(UTCDateTime())

    set_by: Mapped[org.User] = relationship()


# -- who ---------------------------------------------------------------------------------------------

def territories_of(user: org.User | None) -> list[org.OrgUnit]:
    """The territories whose rep `user` is: where he develops leads."""
    return registration.territories_of(user)


def managed_branch_ids(user: org.User) -> set[int]:
    """The branches whose sales manager or manager `user` is."""
    return {unit.id for m in user.memberships if m.role.code in (org.SALES_MANAGER, org.BRANCH_MANAGER)
            for unit in [org.branch_of(m.org_unit)] if unit is not None}


def may_log_contact(user: org.User, customer: Customer) -> bool:
    """The territory's rep, and the branch's sales manager and manager."""
    return user.has_role(org.SALES_REP, customer.territory_id) or customer.branch.id in managed_branch_ids(user)


def lead_rep(data: dict) -> Assignment:
    """The sales rep of the lead's territory."""
    return assignment.the_one(org.SALES_REP, data.get("territory_id"))


# -- opening a lead ------------------------------------------------------------------------------------


def _running_leads_named(name: str, leave_out: int | None) -> int | None:
    wanted = registration._same(name)
    running = db.session.execute(select(Instance.id, Instance.start_data).where(
        Instance.process_key == PROCESS_KEY, Instance.status == RUNNING, Instance.customer_id.is_(None),
        Instance.id != (leave_out or 0)).order_by(Instance.id))
    return next((case_id for case_id, data in running if registration._same((data or {}).get("name", "")) == wanted),
                None)


def prepare_start(data: dict, user, _now, resubmitting: int | None = None) -> CaseStart:
    """The rep's market information and candidate, for his own territory; not a customer the company has
    (or a lead another case develops) already."""
    territory = next((t for t in territories_of(user) if t.code == str(data.get("territory", ""))), None)
    if territory is None:
        raise InvalidData.on("territory", _l("Open leads of your own territory only."))
    name = str(data.get("name") or "").strip()
    if not name:
        raise InvalidData.on("name", _l("Give the candidate's name."))
    if data.get("kind") not in KINDS:
        raise InvalidData.on("kind", _l("Choose distributor or direct customer."))
    if data.get("source") not in SOURCES:
        raise InvalidData.on("source", _l("Choose where the information came from."))
    tons = registration.decimal_or_none(data.get("expected_monthly_tons"))
    if tons is None or tons < 0:
        raise InvalidData.on("expected_monthly_tons", _l("Give the expected monthly tons (0 or more)."))
    found = registration.duplicates(name, "")
    if found:
        raise Conflict(found["name"][0], {"name": found["name"]})
    other = _running_leads_named(name, resubmitting)
    if other is not None:
        message = _l("Lead case %(id)s of this name is in progress.", id=other)
        raise Conflict.on("name", message)
    branch = territory.parent
    return CaseStart(data={**data, "name": name, "expected_monthly_tons": str(tons), "territory_id": territory.id,
                           "territory_code": territory.code, "territory_name": territory.name,
                           "branch_id": branch.id, "branch_code": branch.code, "branch_name": branch.name},
                     business_key=f"lead:{territory.code}:{name}")


# -- the services the BPMN calls -----------------------------------------------------------------------

CANDIDATE_FIELDS = ("name", "kind", "address", "contact1_name", "contact1_mobile", "contact2_name",
                    "contact2_mobile", "other_contacts", "main_products", "downstream_market")


def create_potential(call: ServiceCall) -> dict:
    """Service task `create_potential_customer`: the confirmed candidate's dossier, marked potential, with
    its code by the uniform scheme; refused when another customer has its name meanwhile."""
    data, case = call.data, call.case
    found = registration.duplicates(data.get("name", ""), "")
    if found:
        raise ServiceRefused(found["name"][0])
    territory = db.session.get(org.OrgUnit, data["territory_id"])
    values = {name: str(data.get(name) or "") for name in CANDIDATE_FIELDS}
    customer = Customer(code=registration.next_code(territory), territory_id=territory.id, potential=True,
                        monthly_demand_tons=registration.decimal_or_none(data.get("expected_monthly_tons")), **values)
    db.session.add(customer)
    db.session.flush()
    case.instance.customer_id = customer.id
    db.session.add(Lead(customer_id=customer.id, instance_id=case.instance.id, potential_since=case.now))
    case.record(POTENTIAL_CREATED, {"customer_id": customer.id, "code": customer.code})
    return {"customer_id": customer.id, "customer_code": customer.code}


def convert(call: ServiceCall) -> dict:
    """Service task `convert_lead`: the first order made the potential customer a customer (the purchase
    record did that already; this records it on the case and tells the territory's rep)."""
    case = call.case
    customer = db.session.get(Customer, call.data["customer_id"])
    lead = db.session.get(Lead, customer.id)
    customer.potential = False
    if lead.converted_at is None:
        lead.converted_at = case.now
    order = db.session.get(PurchaseRecord, lead.first_order_id) if lead.first_order_id else None
    facts = {"customer_id": customer.id, "code": customer.code,
             "first_order_id": order.id if order else None,
             "ordered_on": order.ordered_on.isoformat() if order else None,
             "quantity_tons": str(order.quantity_tons) if order else None,
             "amount_yuan": str(order.amount_yuan) if order else None}
    case.record(LEAD_CONVERTED, facts, system=True)
    reps = list(org.member_ids(org.SALES_REP, customer.territory_id))
    case.uow.ext.notify(reps, LEAD_CONVERTED, case.now, instance_id=case.instance.id,
                        task=f"{customer.code} {customer.name}")
    return {"converted_on": local(case.now).date().isoformat()}


# -- the first order -------------------------------------------------------------------------------------

class _Engine:
    """The running engine, handed over by the application when it starts (app.web.leads): the first
    order completes a lead's waiting task through it."""

    engine = None


def use_engine(engine) -> None:
    _Engine.engine = engine


def first_orders(records: list[PurchaseRecord], user: org.User, now: datetime) -> list[int]:
    """Purchase records being recorded (in the caller's transaction, not yet committed): each potential
    customer among theirs stops being potential, and its lead case is completed by the system with the
    decision `converted` (the BPMN then records it and ends the case). The ids of the converted customers."""
    customer_ids = {record.customer_id for record in records}
    if not customer_ids:
        return []
    potential = list(db.session.scalars(select(Customer).where(Customer.id.in_(customer_ids),
                                                               Customer.potential.is_(True))))
    if not potential:
        return []
    db.session.flush()  # the records' ids
    converted = []
    for customer in potential:
        first = min((r for r in records if r.customer_id == customer.id), key=lambda r: (r.ordered_on, r.id))
        customer.potential = False
        lead = db.session.get(Lead, customer.id)
        converted.append(customer.id)
        if lead is None:
            continue  # marked potential by hand, without a lead: nothing waits for it
        lead.converted_at, lead.first_order_id = now, first.id
        _complete_waiting_step(lead, user, now, first)
    return converted


def _complete_waiting_step(lead: Lead, user: org.User, now: datetime, order: PurchaseRecord) -> None:
    engine = _Engine.engine
    task = db.session.scalar(select(Task).where(Task.instance_id == lead.instance_id, Task.state == OPEN,
                                                Task.spec_id.in_(tuple(WAITS_FOR_ORDER))).limit(1))
    if engine is None or task is None:
        if task is not None:
            log.warning("lead case %s waits for its first order but no engine is plugged in", lead.instance_id)
        return
    uow = engine.uow
    try:
        with db.session.begin_nested():  # a failing step loses neither the order nor the conversion
            case = uow.case(task.instance, user, now)
            uow.complete_step(task, user, {"decision": CONVERTED, "first_order_id": order.id,
                                           "comment": ""}, case)
    except Exception:
        log.exception("lead case %s could not be completed on the first order of customer %s",
                      lead.instance_id, lead.customer_id)


# The steps at which a first order converts the lead (the customer exists from the first of them on).
WAITS_FOR_ORDER = ("develop_potential", "choose_target", "develop_target")


# -- the contact log ---------------------------------------------------------------------------------------

def contacts_of(customer_id: int, limit: int = 200) -> list[LeadContact]:
    return list(db.session.scalars(select(LeadContact).where(LeadContact.customer_id == customer_id)
                                   .order_by(LeadContact.contacted_on.desc(), LeadContact.id.desc()).limit(limit)))


def log_contact(customer: Customer, user: org.User, values: dict, now: datetime) -> LeadContact:
    """A contact with a potential customer, by its territory's rep or its branch's managers."""
    if not may_log_contact(user, customer):
        raise Forbidden(_l("Only the territory's rep and the branch's managers log contacts with a potential "
                           "customer."))
    errors: dict[str, list] = {}
    kind = values.get("kind")
    if kind not in CONTACT_KINDS:
        errors["kind"] = [_l("Choose telephone, visit or materials sent.")]
    day = values.get("contacted_on")
    if isinstance(day, str):
        try:
            day = date.fromisoformat(day)
        except ValueError:
            day = None
    if not isinstance(day, date):
        errors["contacted_on"] = [_l("Give the day of the contact as YYYY-MM-DD.")]
    elif day > local(now).date():
        errors["contacted_on"] = [_l("A contact is logged once it has happened.")]
    notes = str(values.get("notes") or "").strip()
    if len(notes) > NOTES_MAX:
        errors["notes"] = [_l("At most %(count)s characters.", count=NOTES_MAX)]
    if errors:
        raise InvalidData(_l("Some fields are not valid."), errors)
    if not customer.potential:
        raise Conflict(_l("%(code)s is not a potential customer: record a visit instead.", code=customer.code))
    contact = LeadContact(customer_id=customer.id, kind=kind, contacted_on=day, notes=notes, by_id=user.id,
                          logged_at=now)
    db.session.add(contact)
    db.session.commit()
    return contact


def last_contacts(customer_ids: list[int]) -> dict[int, date]:
    if not customer_ids:
        return {}
    return dict(db.session.execute(select(LeadContact.customer_id, func.max(LeadContact.contacted_on))
                                   .where(LeadContact.customer_id.in_(customer_ids))
                                   .group_by(LeadContact.customer_id)).all())


# -- the rhythm and the reminders -------------------------------------------------------------------------

def rhythm_days(branch_id: int) -> int:
    rhythm = db.session.get(LeadRhythm, branch_id)
    return rhythm.days if rhythm is not None else DEFAULT_RHYTHM_DAYS


def may_set_rhythm(user: org.User, branch: org.OrgUnit) -> bool:
    """The branch's sales manager, and process administrators."""
    return user.has_role(org.ADMIN) or user.has_role(org.SALES_MANAGER, branch.id)


def rhythm_branches(user: org.User) -> list[org.OrgUnit]:
    """The branches whose rhythm `user` sets."""
    branches = db.session.scalars(select(org.OrgUnit).where(org.OrgUnit.kind == org.BRANCH)
                                  .order_by(org.OrgUnit.code))
    return [branch for branch in branches if may_set_rhythm(user, branch)]


def set_rhythm(branch: org.OrgUnit, user: org.User, days, now: datetime) -> LeadRhythm:
    if not may_set_rhythm(user, branch):
        raise Forbidden(_l("Only the branch's sales manager sets its rhythm of contacts."))
    try:
        days = int(days)
    except (TypeError, ValueError):
        days = None
    low, high = RHYTHM_BOUNDS
    if days is None or not low <= days <= high:
        message = _l("Between %(low)s and %(high)s days.", low=low, high=high)
        raise InvalidData.on("days", message)
    rhythm = db.session.get(LeadRhythm, branch.id) or LeadRhythm(branch_id=branch.id)
    rhythm.days, rhythm.set_by_id, rhythm.set_at = days, user.id, now
    db.session.add(rhythm)
    db.session.commit()
    return rhythm


def prepare_reminders(data: dict, _starter, now: datetime, resubmitting: int | None = None) -> CaseStart:
    """One branch's reminders of one day (today unless given), never twice."""
    branch = org.branch_named(data.get("branch"))
    day = str(data.get("day") or local(now).date().isoformat())
    try:
        date.fromisoformat(day)
    except ValueError:
        raise InvalidData.on("day", _l("Write the day as YYYY-MM-DD.")) from None
    unique_key = f"{REMINDERS_KEY}:{branch.code}:{day}"
    existing = queries.case_with_key(unique_key, besides=resubmitting)
    if existing is not None:
        message = _l("%(branch)s's reminders of %(day)s were sent already (case %(id)s).",
                     branch=branch.name, day=day, id=existing)
        raise Conflict.on("day", message)
    return CaseStart(data={"branch_id": branch.id, "branch_code": branch.code, "branch_name": branch.name,
                           "day": day}, business_key=f"branch:{branch.code}", unique_key=unique_key)


def scheduled_reminders(due: datetime) -> list[dict]:
    day = local(due).date().isoformat()
    return [{"branch": code, "day": day} for code in org.unit_codes(org.BRANCH)]


def due_contacts(branch_id: int, today: date) -> list[tuple[Lead, date, int]]:
    """The branch's potential customers being developed (their lead case running) whose last contact (or,
    without one, the day they became potential) is the rhythm's days old or older and whose rep was not
    reminded within the rhythm: (lead, the day counted from, days since)."""
    days = rhythm_days(branch_id)
    territories = select(org.OrgUnit.id).where(org.OrgUnit.parent_id == branch_id)
    leads = list(db.session.scalars(
        select(Lead).join(Lead.customer).join(Instance, Instance.id == Lead.instance_id)
        .where(Customer.territory_id.in_(territories), Customer.potential.is_(True), Instance.status == RUNNING)
        .order_by(Customer.code)))
    last = last_contacts([lead.customer_id for lead in leads])
    due = []
    for lead in leads:
        since = max(filter(None, [last.get(lead.customer_id), local(lead.potential_since).date()]))
        gap = (today - since).days
        reminded = lead.last_reminded_on
        if gap >= days and (reminded is None or reminded < since + timedelta(days=days)
                            or (today - reminded).days >= days):
            due.append((lead, since, gap))
    return due


def remind(call: ServiceCall) -> dict:
    """Service task `remind_lead_contacts`: tell each rep of the branch's potential customers that are due
    a contact; recorded in the case."""
    case = call.case
    today = date.fromisoformat(call.data["day"])
    rows = []
    for lead, since, gap in due_contacts(call.data["branch_id"], today):
        customer = lead.customer
        reps = list(org.member_ids(org.SALES_REP, customer.territory_id))
        case.uow.ext.notify(reps, CONTACT_DUE, case.now, instance_id=lead.instance_id,
                            task=f"{customer.code} {customer.name}",
                            comment=str(_l("Last contact %(day)s, %(days)s days ago.", day=since.isoformat(),
                                           days=gap)))
        lead.last_reminded_on = today
        rows.append({"customer_id": customer.id, "code": customer.code, "since": since.isoformat(), "days": gap,
                     "reps": reps})
    case.record(REMINDED, {"rows": rows, "rhythm_days": rhythm_days(call.data["branch_id"])}, system=True)
    return {"reminded_count": len(rows)}


# -- reading -------------------------------------------------------------------------------------------

def lead_of(customer_id: int) -> Lead | None:
    return db.session.get(Lead, customer_id)


def stage(instance: Instance, open_steps: list[str]) -> str:
    """The seed's stage of a lead case: by the step it waits at, or by how it ended."""
    if instance.status != RUNNING:
        return CONVERTED if instance.outcome == CONVERTED else DROPPED
    for step in open_steps:
        if step in STAGE_OF_STEP:
            return STAGE_OF_STEP[step]
    return CANDIDATE


def _sees_every_lead(user: org.User) -> bool:
    return user.has_role(org.ADMIN) or user.has_role(org.AUDITOR)


def visible_leads(user: org.User):
    """A condition on `instances` of lead cases `user` may list: his territories' as a rep, his branches'
    as its sales manager or manager, all of them for process administrators and compliance reviewers."""
    query = select(Instance).where(Instance.process_key == PROCESS_KEY)
    if _sees_every_lead(user):
        return query
    territories = [t.id for t in territories_of(user)]
    branches = sorted(managed_branch_ids(user))
    if not territories and not branches:
        return None
    cases = db.session.execute(select(Instance.id, Instance.start_data).where(Instance.process_key == PROCESS_KEY))
    ids = [case_id for case_id, data in cases
           if (data or {}).get("territory_id") in territories or (data or {}).get("branch_id") in branches]
    return query.where(Instance.id.in_(ids))


def may_list_leads(user: org.User) -> bool:
    """Whether the lead list has anything for `user` to see (asked by every page's menu: no case is read)."""
    return _sees_every_lead(user) or bool(territories_of(user)) or bool(managed_branch_ids(user))


def listing(user: org.User, wanted_stage: str | None = None) -> list[dict]:
    """The leads `user` may see, newest first, each with its stage, its customer and its last contact."""
    query = visible_leads(user)
    if query is None:
        raise Forbidden(_l("Leads are for the territory's rep, the branch's managers, process administrators and "
                           "compliance reviewers."))
    instances = list(db.session.scalars(query.order_by(Instance.started_at.desc(), Instance.id.desc())))
    open_tasks = queries.open_tasks_of([instance.id for instance in instances])
    customers = {c.id: c for c in db.session.scalars(select(Customer).where(
        Customer.id.in_([i.customer_id for i in instances if i.customer_id])))}
    last = last_contacts(list(customers))
    rows = []
    for instance in instances:
        tasks = open_tasks.get(instance.id, [])
        current = stage(instance, [task.spec_id for task in tasks])
        if wanted_stage and current != wanted_stage:
            continue
        data = instance.start_data or {}
        customer = customers.get(instance.customer_id)
        rows.append({"instance": instance, "stage": current, "name": data.get("name", ""),
                     "territory": data.get("territory_name", ""), "branch": data.get("branch_name", ""),
                     "expected_monthly_tons": data.get("expected_monthly_tons"), "customer": customer,
                     "tasks": tasks, "last_contact": last.get(customer.id) if customer else None})
    return rows


def result(instance: Instance) -> dict:
    customer = db.session.get(Customer, instance.customer_id) if instance.customer_id else None
    lead = db.session.get(Lead, customer.id) if customer else None
    return {"customer": customer, "lead": lead, "stage": stage(instance, [])}


def get_customer(customer_id: int) -> Customer:
    customer = db.session.get(Customer, customer_id)
    if customer is None:
        raise NotFound(_l("No such customer."))
    return customer


FLOW = Flow(
    name="leads",
    processes={PROCESS_KEY: Process(start=prepare_start, starters=frozenset({org.SALES_REP}), result=result),
               REMINDERS_KEY: Process(start=prepare_reminders, scheduled=scheduled_reminders,
                                      starters=frozenset({org.ADMIN}))},
    forms="forms.leads",
    person_rules={"lead_rep": lead_rep},
    services={"create_potential_customer": create_potential, "convert_lead": convert,
              "remind_lead_contacts": remind},
    comment_fields=("learned",),
    tables=(Lead, LeadContact, LeadRhythm),
    event_words={POTENTIAL_CREATED: _l("Potential customer's dossier created with its code"),
                 LEAD_CONVERTED: _l("First order recorded: became a customer"),
                 REMINDED: _l("Reps reminded of potential customers due a contact")},
    outcome_words={CONVERTED: _l("Became a customer"), "dropped_candidate": _l("Dropped as a candidate"),
                   "dropped_potential": _l("Dropped as a potential customer"),
                   "dropped_target": _l("Dropped as a target customer"),
                   "reminders_sent": _l("Reminders sent")},
    rule_words={"lead_rep": _l("Sales rep of the lead's territory")},
    form_words={
        "lead_development_start": _l("Market information and candidate"),
        "lead_screen": _l("Rep's screening of a candidate"),
        "lead_confirm": _l("Sales manager's confirmation of a potential customer"),
        "lead_develop": _l("Rep's development of a potential customer"),
        "lead_choose_target": _l("Sales manager's choice of a target customer"),
        "lead_target": _l("Target customer waiting for its first order"),
        "lead_contact_reminders_start": _l("Opening a branch's contact reminders"),
    },
)
