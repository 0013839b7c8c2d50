"""What happened in one case, for the people who examine it: every event in order with who (in which
role and org unit) and what a submission changed, and the path the case took through its diagram
with the time spent at each step. The page, the API and the PDF dossier all read it from here.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from lxml import etree

from app.domain.org import User
from app.engine import definitions, queries, serializer
from app.engine.models import STEP, Event, Instance, Task

BPMN_NS = "http://www.omg.org/spec/BPMN/20100524/MODEL"


@dataclass(frozen=True)
class Entry:
    """One audit event as a reviewer reads it."""

    event: Event
    task: Task | None
    actor: User | None
    actor_roles: tuple[str, ...]  # role codes the actor holds
    actor_unit: str | None  # the name of the actor's org unit
    form_data: dict  # what the person submitted (start form or task form)
    changes: dict[str, tuple]  # field → (value before, value submitted): see `entries`


def entries(instance: Instance, comment_fields: tuple[str, ...]) -> list[Entry]:
    """Every event of the case, oldest first. A submission's changes are the values it gave differently
    from the last submission of the same form in the case (a sheet revised after a return) or, for
    fields of the request, from the request; of a list of rows, only the rows that differ. Words and
    verdicts are not data: another decision's comment (`comment_fields`) is not a change of this one's."""
    not_changes = ("decision", *comment_fields)
    tasks = {task.id: task for task in queries.tasks_of(instance)}
    request: dict = {}
    by_form: dict[str, dict] = {}
    result = []
    for event in queries.events_of(instance):
        form_data = event.data.get("form_data") or {}
        changes = {}
        if event.type == "instance_started":
            request = dict(form_data)
        elif form_data:
            last = by_form.setdefault(event.data.get("form_key", ""), {})
            before = {**request, **last}
            changes = {name: _difference(before[name], value) for name, value in form_data.items()
                       if name not in not_changes and name in before and before[name] != value}
            last.update(form_data)
        actor = event.actor
        result.append(Entry(event=event, task=tasks.get(event.task_id), actor=actor,
                            actor_roles=tuple(sorted(actor.role_codes())) if actor else (),
                            actor_unit=actor.org_unit.name if actor else None,
                            form_data=form_data, changes=changes))
    return result


def _difference(old, new) -> tuple:
    """(before, after); for two lists of rows, just the rows that differ."""
    if isinstance(old, list) and isinstance(new, list) and len(old) == len(new):
        pairs = [(a, b) for a, b in zip(old, new, strict=True) if a != b]
        return [a for a, _ in pairs], [b for _, b in pairs]
    return old, new


@dataclass
class Path:
    """Where the case has been in its diagram: elements passed, elements it waits at, sequence flows
    taken, and the time spent at each human step (all its visits, the open one up to now)."""

    passed: set[str] = field(default_factory=set)
    waiting: set[str] = field(default_factory=set)
    flows: set[str] = field(default_factory=set)
    time_at: dict[str, timedelta] = field(default_factory=dict)


def path(instance: Instance, now: datetime) -> Path:
    """The case's path. Elements come from the case's own workflow state (gateways, events and service
    tasks leave no rows); a flow counts as taken when the case passed its source and reached its target."""
    parsed = definitions.parsed(instance.definition)
    result = Path()
    result.passed, result.waiting = serializer.reached_in(instance.state, parsed.spec, parsed.subprocess_specs)
    reached = result.passed | result.waiting
    for flow in _sequence_flows(instance.definition.bpmn_xml):
        if flow[1] in result.passed and flow[2] in reached:
            result.flows.add(flow[0])
    for task in queries.tasks_of(instance):
        if task.kind != STEP:
            continue  # a signer's or the initiator's time is the step's own wait
        spent = (task.completed_at or now) - task.created_at
        element = definitions.task_spec(instance.definition, task.spec_id).bpmn_id
        if element != task.spec_id:  # an instance of a countersign: they run side by side, the longest counts
            result.time_at[element] = max(result.time_at.get(element, timedelta()), spent)
        else:  # a step the case came back to counts each time
            result.time_at[element] = result.time_at.get(element, timedelta()) + spent
    return result


def _sequence_flows(bpmn_xml: str) -> list[tuple[str, str, str]]:
    """(id, source, target) of every sequence flow of a definition; the XML was checked at deploy."""
    root = etree.fromstring(bpmn_xml.encode(), etree.XMLParser(resolve_entities=False, no_network=True))
    return [(flow.get("id"), flow.get("sourceRef"), flow.get("targetRef"))
            for flow in root.iter(f"{{{BPMN_NS}}}sequenceFlow")]
