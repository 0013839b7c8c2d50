"""Who may do what to which case, task, dossier or report: every such rule of the company, in one place.

Pages, the API, the exports and the engine's own operations (through `permission`, plugged into the
engine) all ask here. An action is a name in RULES; its rule says why a person may not (a message in
his language) or nothing when he may:

    policy.why_not(user, ACTION, subject, **context) -> message | None
    policy.may(...) -> bool
    policy.require(...)                               # Forbidden with the message

What a rule reads is the organisation (roles in units), the case's tasks and readers, and the dossier's
territory and loans. Compliance reviewers read everything and change nothing, but for one thing: as the
second person of maker–checker they approve or reject a pending process version (APPROVE_VERSION).
"""
from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from sqlalchemy import and_, exists, or_, select, true
from sqlalchemy.orm import joinedload

from app import db
from app.calendar import clock
from app.domain import contracts, dossiers, leads, org, patrols, segregation, visits
from app.domain.customers import Customer, DossierLoan, DossierRead
from app.engine.models import OPEN, RUNNING, CaseReader, Instance, ProcessDefinition, Task
from app.engine.plugins import (
    ACT,
    ADMINISTER,
    APPROVE_VERSION,
    ATTACH,
    CLAIM,
    COMPLETE,
    COPY,
    DECIDE,
    START,
    TAKE_OVER,
    URGE,
    VIEW,
    WITHDRAW,
    Extensions,
)
from app.engine.queries import offered_to
from app.errors import Forbidden, NotFound
from app.i18n import _l

# The application's own actions, besides the engine's (app.engine.plugins).
VIEW_TASK, CHANGE, REVIEW = "view_task", "change", "review"
READ_DOSSIER, EDIT_DOSSIER, SEE_ACCESS_LOG, SEE_STARS = "read_dossier", "edit_dossier", "see_access_log", "see_stars"
RECORD_VISIT, ANALYSE_COMPLAINTS = "record_visit", "analyse_complaints"
RECORD_PURCHASES = "record_purchases"
SET_AWAY, END_AWAY = "set_away", "end_away"
SEE_LEADS, LOG_CONTACT, SEE_CONTACTS, SET_LEAD_RHYTHM = "see_leads", "log_contact", "see_contacts", "set_lead_rhythm"
SET_RELATIONSHIP_MANAGER = "set_relationship_manager"
SEE_CONTRACTS, TRACK_CONTRACT = "see_contracts", "track_contract"  # app.domain.contracts

# Who reads the complaints analysis: these roles every branch, those only the branches they work in.
ALL_BRANCH_ANALYSTS = frozenset({org.DEPUTY_GM, org.LEADERSHIP, org.HQ_MARKETING, org.AUDITOR})
OWN_BRANCH_ANALYSTS = frozenset({org.BRANCH_MANAGER, org.SALES_MANAGER})
# Who sees a customer's stars besides whoever may read its dossier.
BRANCH_STAR_READERS = (org.CUSTOMER_SPECIALIST, org.BRANCH_MANAGER, org.SALES_MANAGER, org.BUSINESS_SUPERVISOR)
HQ_STAR_READERS = (org.HQ_MARKETING, org.LEADERSHIP, org.DEPUTY_GM, org.AUDITOR)
# Who enters and imports purchase records: these roles for their branch's customers; HQ administrators all.
PURCHASE_CLERKS = frozenset({org.BUSINESS_SUPERVISOR, org.CUSTOMER_SPECIALIST, org.SALES_MANAGER})

READ_ONLY = _l("Compliance reviewers read cases; they do not change them.")
ADMINISTRATORS_ONLY = _l("Only process administrators may do this.")


def is_reviewer(user: org.User) -> bool:
    return user.has_role(org.AUDITOR)


# -- cases and tasks ----------------------------------------------------------------------------------

def visible_cases(user: org.User):
    """Which cases a user may see, as a condition on `instances`: its initiator, anyone who has or had a
    task in it (or for whom a deputy has one), whoever may claim one of its tasks, its readers (抄送), and
    compliance reviewers and process administrators (all cases)."""
    if user.has_role(org.AUDITOR) or user.has_role(org.ADMIN):
        return true()
    involved = exists().where(Task.instance_id == Instance.id,
                              or_(Task.assignee_id == user.id, Task.completed_by_id == user.id,
                                  Task.owner_id == user.id, and_(Task.state == OPEN, offered_to(user))))
    copied = exists().where(CaseReader.instance_id == Instance.id, CaseReader.user_id == user.id)
    return or_(Instance.started_by_id == user.id, involved, copied)


def _view(user, instance: Instance, **_):
    if not db.session.scalar(select(exists().where(Instance.id == instance.id, visible_cases(user)))):
        return _l("This case is not yours to see.")
    return None


def _view_task(user, task: Task, **_):
    unclaimed_candidate = task.state == OPEN and task.assignee_id is None and task.is_offered_to(user)
    if user.id not in (task.assignee_id, task.completed_by_id, task.owner_id) and not unclaimed_candidate:
        return _l("This task is not yours.")
    return None


def _start(user, definition: ProcessDefinition, *, starters: Callable[[str], frozenset | None],
           starting_units: Callable[[str], frozenset | None], **_):
    """Who may open a case: a holder of one of the process's starting roles (if it names any), in one
    of its starting units or a unit under one (if it names any)."""
    roles, units = starters(definition.key), starting_units(definition.key)
    if roles is not None and not any(user.has_role(role) for role in roles):
        return _l("You may not open cases of this process.")
    if units and not any(units & set(org.codes_up_from(m.org_unit_id)) for m in user.memberships):
        return _l("You may not open cases of this process.")
    return None


def _claim(user, task: Task, **_):
    return None if task.is_offered_to(user) else _l("This task is not for you.")


def _decide(user, task: Task, **_):
    """Segregation of duties: nobody decides an approval step of a case he started, or at two levels."""
    reason = segregation.conflict(task, user)
    return segregation.REFUSALS[reason] if reason else None


def _complete(user, task: Task, **_):
    if task.assignee_id == user.id:
        return None
    if task.assignee_id is None and task.is_offered_to(user):
        return _l("Claim this task before you complete it.")
    return _l("This task is not yours.")


def _act(user, task: Task, **_):
    """Hand on, add a signer, send back: the task's assignee."""
    if task.assignee_id == user.id:
        return None
    if task.assignee_id is None:
        return _l("Only the task's assignee may do this; claim it first if it is offered to you.")
    return _l("This task is not yours.")


def _take_over(person, task: Task, *, by: org.User, **_):
    """Whether `person` may get the task from `by` (handed on, or asked as a signer): he is active, may
    decide it (segregation of duties) and is one who could have had it: a member of the group it was
    offered to, or someone of the same branch (or headquarters)."""
    if person.id == by.id or not person.active:
        return _l("Choose an active person other than yourself.")
    rule = segregation.conflict(task, person)
    if rule:
        return _l("%(name)s may not decide this step: he %(rule)s.", name=person.display_name,
                  rule=segregation.RULE_WORDS[rule])
    if task.candidate_role is not None:
        if not person.has_role(task.candidate_role, task.candidate_org_unit_id):
            return _l("%(name)s is not one of those this task is offered to.", name=person.display_name)
    elif org.branch_of(person.org_unit) != org.branch_of(by.org_unit):
        return _l("%(name)s works in another branch.", name=person.display_name)
    return None


def _withdraw(user, instance: Instance, **_):
    return None if instance.started_by_id == user.id else _l("Only the initiator may withdraw a request.")


def _urge(user, task: Task, **_):
    return None if task.instance.started_by_id == user.id else _l("Only the initiator may urge.")


def _attach(user, instance: Instance, **_):
    """Files go onto running cases, from the people who work on them (who may see them)."""
    if instance.status != RUNNING:
        return _l("Files can be attached to a running case by the people who work on it.")
    return _view(user, instance)


def _copy(user, instance: Instance, **_):
    return _view(user, instance)


def _administer(user, _subject=None, **_):
    return None if user.has_role(org.ADMIN) else ADMINISTRATORS_ONLY


def _review(user, _subject=None, **_):
    """The compliance pages, the audit trail and its search: compliance reviewers, and process
    administrators (who see every case anyway)."""
    return None if user.has_role(org.AUDITOR) or user.has_role(org.ADMIN) else _l("Only compliance reviewers may do this.")


def _change(user, _subject=None, *, doing: str | None = None, **_):
    """Whether a user may change anything (a request that writes; `doing` the action it is, if known):
    never a compliance reviewer, but for his one change, approving or rejecting a pending process version."""
    return READ_ONLY if is_reviewer(user) and doing != APPROVE_VERSION else None


def _approve_version(user, definition: ProcessDefinition | None = None, **_):
    """Maker–checker: a pending version of a sensitive process is approved (or rejected) by a second person,
    another process administrator than the one who deployed it, or a compliance reviewer."""
    if not (user.has_role(org.ADMIN) or user.has_role(org.AUDITOR)):
        return _l("Only process administrators and compliance reviewers approve or reject a new version.")
    if definition is not None and definition.deployed_by_id == user.id:
        return _l("You deployed this version: another process administrator or a compliance reviewer must "
                  "approve or reject it.")
    return None


# -- dossiers and reports ------------------------------------------------------------------------------

NO_DOSSIER_ACCESS = _l("You have no access to this dossier. Borrow it first.")


def _read_dossier(user, customer: Customer, *, now: datetime | None = None, **_):
    """Dossiers are trade secrets: the rep of its territory, or whoever borrowed it (seeds 000, 001)."""
    return NO_DOSSIER_ACCESS if dossiers.ground(user, customer, now or clock.now()) is None else None


def readable_customer_ids(user: org.User, now: datetime) -> set[int]:
    """The customers whose dossiers this user may open right now (READ_DOSSIER for a whole list)."""
    territories = [m.org_unit_id for m in user.memberships if m.role.code == org.SALES_REP]
    own = select(Customer.id).where(Customer.territory_id.in_(territories))
    lent = select(DossierLoan.customer_id).where(DossierLoan.borrower_id == user.id,
                                                 DossierLoan.starts_at <= now, DossierLoan.expires_at > now)
    return set(db.session.scalars(own.union(lent)))


def _edit_dossier(user, customer: Customer, **_):
    if not dossiers.is_owning_rep(user, customer):
        return _l("Only the rep of the customer's territory edits its dossier.")
    return None


def _see_access_log(user, customer: Customer, **_):
    """The owning rep, the customer's branch management and compliance reviewers."""
    if dossiers.is_owning_rep(user, customer) or user.has_role(org.AUDITOR):
        return None
    business = org.department_of(customer.branch, "business")
    if user.has_role(org.BRANCH_MANAGER, customer.branch.id) or (
            business is not None and user.has_role(org.BUSINESS_SUPERVISOR, business.id)):
        return None
    return _l("Only the owning rep, the branch's management and compliance see the access log.")


def _see_stars(user, customer: Customer, **_):
    """Stars are the branch's and HQ's business: the customer's branch staff, HQ's raters and leaders,
    compliance reviewers, and the owning rep."""
    branch = customer.branch
    in_branch = any(m.role.code in BRANCH_STAR_READERS and org.branch_of(m.org_unit) == branch
                    for m in user.memberships)
    if in_branch or any(user.has_role(role) for role in HQ_STAR_READERS) or dossiers.is_owning_rep(user, customer):
        return None
    return _l("Star ratings are for the customer's branch and headquarters.")


def _record_visit(user, customer: Customer, **_):
    if visits.visiting_role(user, customer) is None:
        return _l("Only the customer's rep, its branch's managers and HQ marketing record visits.")
    return None


def analysable_branches(user: org.User) -> frozenset[int] | None:
    """The branches whose complaints `user` may analyse (None: every branch; empty: none)."""
    if user.role_codes() & ALL_BRANCH_ANALYSTS:
        return None
    return frozenset(unit.id for m in user.memberships if m.role.code in OWN_BRANCH_ANALYSTS
                     for unit in [org.branch_of(m.org_unit)] if unit is not None)


def _analyse_complaints(user, branch_id: int | None = None, **_):
    allowed = analysable_branches(user)
    if allowed is not None and not allowed:
        return _l("The complaints analysis is for branch managers, sales managers, the deputy general manager, "
                  "company leaders, HQ marketing and compliance reviewers.")
    if branch_id is not None and allowed is not None and branch_id not in allowed:
        return _l("You may analyse only your own branch's complaints.")
    return None


def purchase_branches(user: org.User) -> frozenset[int] | None:
    """The branches whose customers' purchase records `user` enters and imports (None: every branch, an
    HQ administrator; empty: none)."""
    if user.has_role(org.ADMIN):
        return None
    return frozenset(unit.id for m in user.memberships if m.role.code in PURCHASE_CLERKS
                     for unit in [org.branch_of(m.org_unit)] if unit is not None)


def _record_purchases(user: org.User, customer: Customer | None = None, **_):
    """Enter or import purchase records (no customer: any at all; else: this customer's): the customer's
    branch's business department, customer specialists and sales manager, and HQ administrators (a
    compliance reviewer is none of them). `purchase_branches` is the list form."""
    allowed = purchase_branches(user)
    if allowed is not None and not allowed:
        return _l("Purchase records are entered by the branch's business department, customer specialists and "
                  "sales manager, and by HQ administrators.")
    if customer is not None and allowed is not None and customer.branch.id not in allowed:
        return _l("This customer is not one of your branch's.")
    return None


def _see_leads(user: org.User, _subject=None, **_):
    """The lead list: a territory's rep (his territories'), a branch's sales manager and manager (the
    branch's), process administrators and compliance reviewers (all)."""
    if not leads.may_list_leads(user):
        return _l("Leads are for the territory's rep, the branch's managers, process administrators and "
                  "compliance reviewers.")
    return None


def _log_contact(user: org.User, customer: Customer, **_):
    """A contact with a potential customer: its territory's rep, its branch's sales manager and manager."""
    if not leads.may_log_contact(user, customer):
        return _l("Only the territory's rep and the branch's managers log contacts with a potential customer.")
    return None


def _see_contacts(user: org.User, customer: Customer, *, now: datetime | None = None, **_):
    """The contact log: whoever logs contacts, and whoever may read the dossier or see its access log."""
    if leads.may_log_contact(user, customer) or user.has_role(org.AUDITOR) or user.has_role(org.ADMIN):
        return None
    if dossiers.ground(user, customer, now or clock.now()) is not None:
        return None
    return _l("The contact log is for the territory's rep, the branch's managers and those who may read the "
              "dossier.")


def _set_lead_rhythm(user: org.User, branch=None, **_):
    """A branch's rhythm of contacts: its sales manager, and process administrators."""
    if branch is None:
        allowed = bool(leads.rhythm_branches(user))
    else:
        allowed = leads.may_set_rhythm(user, branch)
    return None if allowed else _l("Only the branch's sales manager sets its rhythm of contacts.")


def _see_contracts(user: org.User, customer: Customer | None = None, **_):
    """A customer's contracts (no customer: the list of those one may see): app.domain.contracts.may_see."""
    allowed = contracts.may_list(user) if customer is None else contracts.may_see(user, customer)
    return None if allowed else _l("Contracts are for the customer's rep, its branch's contract administrators and "
                                   "managers, the legal department, the deputy general manager and compliance.")


def _track_contract(user: org.User, customer: Customer | None = None, **_):
    """Payments and documents received against a contract: the contract administrators of its branch."""
    if not contracts.may_track(user, customer):
        return _l("Payments and documents are entered by the contract administrators of the customer's branch.")
    return None


def _set_relationship_manager(user: org.User, customer: Customer | None = None, **_):
    """A customer's relationship manager (seed 004 关系管理): the manager of its branch (no customer: any
    branch's manager, for the list)."""
    allowed = patrols.may_set_relationship_manager(user, customer) if customer is not None \
        else bool(patrols.relationship_branches(user))
    return None if allowed else _l("Only the branch manager of the customer's branch sets its relationship manager.")


def _set_away(user, person: org.User, **_):
    """One's own away periods; an administrator's for someone who is away."""
    if person.id != user.id and not user.has_role(org.ADMIN):
        return _l("Only an administrator may set a deputy for someone else.")
    return None


def _end_away(user, period, **_):
    if period is None or not (period.user_id == user.id or user.has_role(org.ADMIN)):
        return _l("This away period is not yours.")
    return None


# -- the table ---------------------------------------------------------------------------------------

def _changes(rule: Callable) -> Callable:
    """An action that changes a case: never a compliance reviewer's (he reads everything, changes
    nothing), whoever he is asked about."""
    def checked(user, subject, **context):
        return READ_ONLY if is_reviewer(user) else rule(user, subject, **context)
    return checked


RULES: dict[str, Callable] = {
    VIEW: _view, VIEW_TASK: _view_task, DECIDE: _decide, ADMINISTER: _administer, REVIEW: _review, CHANGE: _change,
    APPROVE_VERSION: _approve_version,
    **{action: _changes(rule) for action, rule in {
        START: _start, CLAIM: _claim, COMPLETE: _complete, ACT: _act, TAKE_OVER: _take_over, WITHDRAW: _withdraw,
        URGE: _urge, ATTACH: _attach, COPY: _copy}.items()},
    READ_DOSSIER: _read_dossier, EDIT_DOSSIER: _edit_dossier, SEE_ACCESS_LOG: _see_access_log,
    SEE_STARS: _see_stars, RECORD_VISIT: _record_visit, ANALYSE_COMPLAINTS: _analyse_complaints,
    SET_AWAY: _set_away, END_AWAY: _end_away, RECORD_PURCHASES: _record_purchases, SEE_LEADS: _see_leads,
    SEE_CONTACTS: _see_contacts, **{action: _changes(rule) for action, rule in {
        LOG_CONTACT: _log_contact, SET_LEAD_RHYTHM: _set_lead_rhythm}.items()},
    SET_RELATIONSHIP_MANAGER: _changes(_set_relationship_manager),
    SEE_CONTRACTS: _see_contracts, **{action: _changes(rule) for action, rule in {TRACK_CONTRACT: _track_contract}.items()},
}


class Policy:
    """The rules above, with what they need of the plugged-in flows (who may open which process)."""

    def __init__(self, extensions: Extensions):
        self.starters, self.starting_units = extensions.starters, extensions.starting_units

    def why_not(self, user: org.User, action: str, subject=None, **context):
        return RULES[action](user, subject, starters=self.starters, starting_units=self.starting_units, **context)

    def may(self, user: org.User, action: str, subject=None, **context) -> bool:
        return self.why_not(user, action, subject, **context) is None

    def require(self, user: org.User, action: str, subject=None, **context) -> None:
        refusal = self.why_not(user, action, subject, **context)
        if refusal:
            raise Forbidden(refusal)

    # What the pages and the API fetch through the policy: the thing, if the user may see it.

    def read_dossier(self, user: org.User, customer: Customer, now: datetime, channel: str) -> DossierRead:
        """Read a dossier if the user may: the read is logged with its ground (own territory, a loan)."""
        ground = dossiers.ground(user, customer, now)
        if ground is None:
            raise Forbidden(NO_DOSSIER_ACCESS)
        return dossiers.log_read(user, customer, ground, now, channel)

    def visible_instance(self, user: org.User, instance_id: int) -> Instance:
        instance = db.session.get(Instance, instance_id)
        if instance is None:
            raise NotFound(_l("No such case."))
        self.require(user, VIEW, instance)
        return instance

    def visible_task(self, user: org.User, task_id: int) -> Task:
        """A task its assignee may see, or, while nobody has claimed it, a member of its candidate group."""
        task = _task(task_id)
        self.require(user, VIEW_TASK, task)
        return task

    def visible_task_of_case(self, user: org.User, task_id: int) -> Task:
        """A task of a case the user may see (to urge it, say), whoever holds it."""
        task = _task(task_id)
        self.require(user, VIEW, task.instance)
        return task


def _task(task_id: int) -> Task:
    # With who started its case: every page and answer about a task names him.
    task = db.session.get(Task, task_id, options=[joinedload(Task.instance).joinedload(Instance.started_by)])
    if task is None:
        raise NotFound(_l("No such task."))
    return task
