"""What the application plugs into the engine, and the small types both sides speak.

The engine runs BPMN; what a rule, a service or a start hook *means* is the application's. At start-up
the app factory fills one `Extensions` from the flows it collects (each a `Flow`, declared beside its
rules in app/domain) and from the company-wide parts: who may do what (`permission`), how people are
told (`notify`), segregation of duties (`duties`) and deputies (`deputy_for`).

A BPMN names the plugged-in parts:
- `camunda:assignee` a person rule, `camunda:candidateGroups` group rules (comma-separated): rule(case
  data) → Assignment;
- `camunda:topic` a service: service(ServiceCall) → data for the case;
- `camunda:formKey` a form: the application validates a step's data with it before the engine runs it;
  `camunda-forms:deployment:<form id>` (Camunda 8's convention) names a form drawn in the browser (a
  form-js schema deployed with the process version, like a DMN table), which `drawn_forms` judges;
- the process's id its start hook (checks a new case's data) and, with a `schedule`, what one firing
  opens.
"""
from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

# A form key naming a drawn form: `camunda-forms:deployment:<form id>`, the id being the schema's `id`.
DRAWN_FORM_PREFIX = "camunda-forms:deployment:"


def drawn_form_id(form_key: str | None) -> str | None:
    """The id of the drawn form a form key names, or None when the key names a form of the code."""
    if isinstance(form_key, str) and form_key.startswith(DRAWN_FORM_PREFIX):
        return form_key[len(DRAWN_FORM_PREFIX):]
    return None


@dataclass
class CaseStart:
    """What a start hook hands the engine: the case's data and how to find the case again."""

    data: dict
    business_key: str | None = None
    # What the case is about, as the application counts it (here: a customer), for searches.
    customer_id: int | None = None
    # Set when there may only ever be one such case (the database refuses a second one).
    unique_key: str | None = None


@dataclass
class ServiceCall:
    """What a BPMN service task hands its service.

    `case` is the engine's CaseContext (the instance, who acts, now, `record` for events);
    `decide(inputs)` applies the DMN decision the service task names (None if it names none);
    `properties` are the service task's own settings (camunda:properties).
    """

    data: dict
    case: Any
    decide: Callable[[dict], dict] | None = None
    properties: dict = field(default_factory=dict)


@dataclass(frozen=True)
class Assignment:
    """Whom a rule found: one person, or a group (a role in an org unit) whose members claim the task."""

    assignee_id: int | None = None
    candidate_role: str | None = None
    candidate_org_unit_id: int | None = None


class AssignmentError(Exception):
    """A rule found nobody; the case cannot go on until the organisation is fixed."""


class ServiceRefused(Exception):
    """A service refuses what the case asks of it, whatever its definition says (a loan without the
    consents the company requires, say). Like a definition's fault, nothing of the step is kept and it
    becomes an incident on the service task's element (`element`, noted by the engine)."""

    def __init__(self, message):
        super().__init__(str(message))
        self.message = message
        self.element: str | None = None


def group_rules(text: str | None) -> list[str]:
    """The rules of a `camunda:candidateGroups` value (or a `readers` property), in order."""
    return [rule.strip() for rule in (text or "").split(",") if rule.strip()]


@dataclass(frozen=True)
class Reroute:
    """An approval step sent to a superior: whom the rule chose, why he may not take it, who takes it."""

    passed_over_id: int
    passed_over_name: str
    reason: str
    superior_id: int


Rule = Callable[[dict], Assignment]
Service = Callable[[ServiceCall], dict | None]
# hook(data, user, now, resubmitting=None): `resubmitting` names the case whose initiator revises his
# request after a send-back.
StartHook = Callable[..., CaseStart]
ScheduledStarts = Callable[[datetime], list[dict]]


@dataclass(frozen=True)
class Process:
    """What Python decides about one process (its BPMN decides the rest)."""

    start: StartHook | None = None  # checks a new case's data and adds derived facts
    scheduled: ScheduledStarts | None = None  # a scheduled process: the cases one firing opens
    starters: frozenset[str] | None = None  # roles that may open a case by hand (None: anyone)
    starting_units: frozenset[str] | None = None  # org units (codes) whose people may (None: anywhere)
    # check(specs) → [Problem]: what any version of the process must keep (deploying refuses one that
    # does not), e.g. the consents a loan may not be granted without.
    check: Callable[[list], list] | None = None
    # Maker–checker: a version deployed from the administration pages takes effect only once a second
    # person (another process administrator, or a compliance reviewer) has approved it (APPROVE_VERSION).
    sensitive: bool = False
    # Why its cases are never withdrawn by their initiator (words for the 409), if they never are.
    never_withdrawn: Any = None
    # `result(instance)`: the facts of an ended case a reader looks for first (the plan, the stars …),
    # for the template templates/results/<process key>.html that leads its pages.
    result: Callable[[Any], dict] | None = None


@dataclass(frozen=True)
class Flow:
    """A flow, declared in one place beside its rules: its processes, where its forms are, the rules,
    services and sandbox helpers its BPMN names, the fields holding people's words, and its tables."""

    name: str
    processes: Mapping[str, Process] = field(default_factory=dict)
    forms: str | None = None  # the module whose FORMS maps this flow's form keys to form classes
    person_rules: Mapping[str, Rule] = field(default_factory=dict)
    group_rules: Mapping[str, Rule] = field(default_factory=dict)
    services: Mapping[str, Service] = field(default_factory=dict)
    helpers: Mapping[str, Callable] = field(default_factory=dict)  # more functions for expressions
    comment_fields: tuple[str, ...] = ()  # fields of its forms that hold a person's own words
    tables: tuple[type, ...] = ()  # the models it keeps (a migration creates them)
    # How people read the events its services record and the outcomes its end events name.
    event_words: Mapping[str, Any] = field(default_factory=dict)
    outcome_words: Mapping[str, Any] = field(default_factory=dict)
    # How the modeler names the rules and the form keys it plugs in.
    rule_words: Mapping[str, Any] = field(default_factory=dict)
    form_words: Mapping[str, Any] = field(default_factory=dict)


# Who may do what: `permission(user, action, subject, **context)` says why not (a message), or None.
# The engine asks it before each operation; the application's policy answers, the same way it answers
# its pages and its API.
VIEW, START, CLAIM, DECIDE, COMPLETE, ACT = "view", "start", "claim", "decide", "complete", "act"
TAKE_OVER = "take_over"
WITHDRAW, URGE, ATTACH, COPY, ADMINISTER = "withdraw", "urge", "attach", "copy", "administer"
APPROVE_VERSION = "approve_version"  # approve or reject a pending version of a sensitive process
Permission = Callable[..., Any]


class Duties(Protocol):
    """Segregation of duties on approval steps (user tasks with the `approval` property)."""

    def excluded(self, instance, spec_id: str) -> dict[int, str]:
        """Who may not decide step `spec_id` of the case, and why."""

    def conflict(self, task, user) -> str | None:
        """Why `user` may not decide this task (a rule's code), or None."""

    def reroute(self, instance, spec_id: str, offers: list[Assignment]) -> Reroute | None:
        """Where a new approval step goes instead of where its rule put it (None: it stays)."""


class DrawnForms(Protocol):
    """What the application says about a drawn form's schema (a form-js schema, JSON)."""

    def problems(self, schema) -> list:
        """Why the schema cannot be deployed (messages, rendered with str()); empty when it can."""

    def keys(self, schema) -> set[str]:
        """The keys its data has at the top level: the names a condition may read of it."""

    def case_facts(self, schema, data: dict) -> dict:
        """What a case started with this form is about, from its cleaned data: `customer_id` and
        `branch_id` (ids) when the form chose a customer or a branch; the assignment rules read them."""


class _NoDrawnForms:
    def problems(self, _schema) -> list:
        return ["no drawn forms plugged in"]

    def keys(self, _schema) -> set[str]:
        return set()

    def case_facts(self, _schema, _data) -> dict:
        return {}


class _NoDuties:
    def excluded(self, instance, spec_id):
        return {}

    def conflict(self, task, user):
        return None

    def reroute(self, instance, spec_id, offers):
        return None


def _nobody_is_told(*_args, **_kwargs) -> None:
    return None


def _no_deputies(_user_id, _process_key, _now):
    return None


def _no_policy(_user, action, _subject, **_context):
    return f"no policy is plugged in: {action} refused"


# Words of a decision that are a person's own, besides each flow's (Flow.comment_fields).
COMMENT_FIELDS = ("comment", "note")


@dataclass
class Extensions:
    """Everything the application plugs in, filled once at start-up."""

    person_rules: dict[str, Rule] = field(default_factory=dict)
    group_rules: dict[str, Rule] = field(default_factory=dict)
    services: dict[str, Service] = field(default_factory=dict)
    processes: dict[str, Process] = field(default_factory=dict)
    forms: Mapping[str, Any] = field(default_factory=dict)  # the form keys a BPMN may name
    # Processes declared from the administration pages: key → their Process (None: not one of them).
    declared: Callable[[str], Process | None] = staticmethod(lambda _process_key: None)
    # Drawn forms (`camunda-forms:deployment:<id>`): which schemas may be deployed, what data they give.
    drawn_forms: DrawnForms = field(default_factory=_NoDrawnForms)
    # validate(form key, data, task=None, *, user=None, definition=None) → the data as the step's form
    # keeps it, or InvalidData: `task` the task it completes, else a start on version `definition`; `user`
    # who fills it in (a drawn form offers him his choices and is checked against the version's schema).
    validate: Callable[..., dict] = staticmethod(lambda _form_key, data, _task=None, **_who: data)
    helpers: dict[str, Callable] = field(default_factory=dict)
    comment_fields: tuple[str, ...] = COMMENT_FIELDS
    permission: Permission = _no_policy
    notify: Callable[..., None] = _nobody_is_told  # notify(user ids, kind, at, instance_id=, task_id=, …)
    duties: Duties = field(default_factory=_NoDuties)
    deputy_for: Callable[[int, str, datetime], Any] = _no_deputies  # (user id, process key, now) → User

    def add(self, flow: Flow) -> None:
        """Plug in a flow; a rule, service, helper or process key that another flow already has is an
        error (two flows must not mean different things by one name)."""
        for mine, theirs in ((self.person_rules, flow.person_rules), (self.group_rules, flow.group_rules),
                             (self.services, flow.services), (self.processes, flow.processes),
                             (self.helpers, flow.helpers)):
            clash = sorted(set(mine) & set(theirs))
            if clash:
                raise ValueError(f"flow {flow.name!r}: {', '.join(clash)} already plugged in by another flow")
            mine.update(theirs)
        self.comment_fields += tuple(name for name in flow.comment_fields if name not in self.comment_fields)

    def add_all(self, flows: Iterable[Flow]) -> None:
        for flow in flows:
            self.add(flow)

    def rule(self, name: str) -> Rule | None:
        return self.person_rules.get(name) or self.group_rules.get(name)

    def process(self, process_key: str) -> Process | None:
        """What is decided about a process outside its BPMN: by its flow's code, or, for one declared from
        the administration pages, by its declaration (`declared`)."""
        return self.processes.get(process_key) or self.declared(process_key)

    def starters(self, process_key: str) -> frozenset[str] | None:
        process = self.process(process_key)
        return process.starters if process else None

    def starting_units(self, process_key: str) -> frozenset[str] | None:
        process = self.process(process_key)
        return process.starting_units if process else None

    def sensitive(self, process_key: str) -> bool:
        process = self.process(process_key)
        return bool(process and process.sensitive)

    def result_of(self, instance) -> dict | None:
        """The facts an ended case leads with (Process.result), or None."""
        process = self.processes.get(instance.process_key)
        return process.result(instance) if process and process.result and instance.ended_at else None

    def never_withdrawn(self, process_key: str):
        """Why the process's cases are never withdrawn, or None when they may be."""
        process = self.processes.get(process_key)
        return process.never_withdrawn if process else None
