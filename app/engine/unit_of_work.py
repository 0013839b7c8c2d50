"""The shared middle of every operation on a case, and its one transaction.

An operation loads the instance's state once, runs SpiffWorkflow, saves the state once, brings the
`tasks` table in line with the workflow's ready user tasks (app.engine.projection), and appends audit
events, in one database transaction. Two people acting on one case at once are kept apart by version
columns (optimistic locking): the loser's transaction is rolled back and replayed against the new state,
where it finds out that its task was already done.
"""
from __future__ import annotations

import logging
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from SpiffWorkflow.bpmn import BpmnWorkflow
from SpiffWorkflow.bpmn.script_engine import PythonScriptEngine
from SpiffWorkflow.bpmn.specs.defaults import EndEvent
from SpiffWorkflow.exceptions import SpiffWorkflowException
from SpiffWorkflow.util.task import TaskState
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.orm.exc import StaleDataError

from app import db
from app.calendar import Clock
from app.engine import audit, decisions, definitions, directory, projection, readers, sandbox, serializer
from app.engine.directory import User
from app.engine.file_stores import FileStore
from app.engine.isolation import Evaluators, Limits
from app.engine.models import COMPLETED, DONE, HELD, OPEN, RUNNING, WITHDRAWN, Event, Incident, Instance, Task
from app.engine.plugins import Extensions, ServiceCall, ServiceRefused
from app.errors import Conflict, DefinitionFault, Forbidden, NotFound
from app.i18n import _l

log = logging.getLogger(__name__)

# How often an operation is replayed after losing a version race before giving up.
MAX_ATTEMPTS = 3


class CaseScriptEngine(PythonScriptEngine):
    """Runs scripts and expressions in the sandbox, and service tasks with the plugged-in services, in
    the context of the case being advanced."""

    def __init__(self, case: CaseContext):
        super().__init__(environment=case.uow.sandbox)
        self.case = case

    def evaluate(self, task, expression, external_context=None):
        return _noting_where(task, super().evaluate, expression, external_context)

    def execute(self, task, script, external_context=None):
        return _noting_where(task, super().execute, script, external_context)

    def call_service(self, task, topic=None, **kwargs):
        decision = task.task_spec.decision
        decide = (lambda inputs: decisions.apply(decision, task.workflow, inputs)) if decision else None
        handler = self.case.uow.ext.services[topic]
        try:
            result = handler(ServiceCall(task.data, self.case, decide, task.task_spec.properties))
        except ServiceRefused as exc:
            exc.element = task.task_spec.name
            raise
        task.data.update(result or {})


def _noting_where(task, run, text, external_context):
    """A script stopped by the sandbox is a BaseException that SpiffWorkflow does not wrap: note where."""
    try:
        return run(task, text, external_context)
    except sandbox.ScriptLimitExceeded as exc:
        exc.element = task.task_spec.name
        raise


@dataclass
class CaseContext:
    """One operation on one case: who acts, when, and the events it produces."""

    uow: UnitOfWork
    _instance: Instance
    actor: User | None
    now: datetime
    has_timers: bool = False
    events: list[tuple[str, dict, Task | None, bool]] = field(default_factory=list)
    # Work a service leaves until the tasks table matches the workflow (see `when_tasks_synced`).
    after_sync: list[Callable[[], None]] = field(default_factory=list)
    # Steps sent back: who gets each again (its earlier person), instead of its rule's choice.
    assign_again: dict[str, int] = field(default_factory=dict)
    comment: str = ""  # the words of the decision this operation made, if any (the initiator hears them)
    withdrawn: bool = False  # the initiator withdrew the case in this operation (`advance` ends it so)
    opened: bool = False  # the case was opened by this operation: it has no task rows yet

    @property
    def instance(self) -> Instance:
        """The case; a new one is written when it is first needed (a service, the tasks): the
        definition text a start runs before that holds no write lock."""
        if self._instance.id is None:
            db.session.flush()
            self.opened = True
        return self._instance

    def record(self, event_type: str, data: dict | None = None, task: Task | None = None,
               system: bool = False) -> None:
        """Note an event of this operation; `system` events (a deadline passing, a reminder) are the
        application's, not the acting person's."""
        self.events.append((event_type, data or {}, task, system))

    def when_tasks_synced(self, callback: Callable[[], None]) -> None:
        """Run `callback` once this operation's task rows are written (a reminder names tasks that a
        boundary timer, fired in the same step, has not yet seen as rows)."""
        self.after_sync.append(callback)

    def add_readers(self, people: list[User], note: str, kind: str = "case_copied") -> list[User]:
        """Let these people read the case, told by a notification of `kind` (engine/readers.add)."""
        return readers.add(self.uow.ext, self.instance.id, people, self.actor, self.now, note, kind=kind)

    def history(self) -> list[tuple[str, int | None, int | None, dict]]:
        """The case's events so far, oldest first, this operation's own (not yet written) included, as
        (type, task id, actor id, data): what a service may judge the case by."""
        saved = db.session.execute(select(Event.type, Event.task_id, Event.actor_id, Event.data)
                                   .where(Event.instance_id == self.instance.id).order_by(Event.id)).all()
        actor_id = self.actor.id if self.actor else None
        return [tuple(row) for row in saved] + [
            (event_type, task.id if task else None, None if system else actor_id, data)
            for event_type, data, task, system in self.events]

    def event_rows(self) -> list[dict]:
        """The recorded events as rows, once their tasks have ids (after a flush)."""
        actor_id = self.actor.id if self.actor else None
        return [{"instance_id": self.instance.id, "task_id": task.id if task else None, "type": event_type,
                 "actor_id": None if system else actor_id, "at": self.now, "data": data}
                for event_type, data, task, system in self.events]


class UnitOfWork:
    """What every engine service shares: the clock, the plugged-in extensions, the attachments' store,
    the sandbox, and the transaction each operation runs in."""

    def __init__(self, clock: Clock, ext: Extensions, files: FileStore, limits: Limits):
        self.clock, self.ext, self.files, self.limits = clock, ext, files, limits
        self.evaluators = Evaluators(limits, ext.helpers)
        self.sandbox = sandbox.SandboxEnvironment(ext.helpers, self.evaluators)

    # -- who may --------------------------------------------------------------------------------

    def why_not(self, user: User, action: str, subject, **context):
        """The policy's refusal of `action` (None: allowed)."""
        return self.ext.permission(user, action, subject, **context)

    def require(self, user: User, action: str, subject, **context) -> None:
        refusal = self.why_not(user, action, subject, **context)
        if refusal:
            raise Forbidden(refusal)

    # -- the transaction --------------------------------------------------------------------------

    def run(self, operation: Callable, incident: Callable[[], Incident] | None = None):
        """Run an operation in one transaction, replaying it after a lost version race. When the
        definition fails (a script stopped or failed), nothing is kept and, given `incident` (what the
        operation was), an incident records it for the process administrators."""
        for attempt in range(1, MAX_ATTEMPTS + 1):
            # On SQLite the first try takes the write lock only at its first write: the definition's
            # text, run before it, then never holds up anyone else. A replay queues for the lock.
            lazy = attempt == 1 and db.dialect() == "sqlite"
            current = db.session()
            if lazy and current.in_transaction() and not (current.new or current.dirty or current.deleted):
                db.session.commit()  # the caller's reads so far: the operation begins a transaction of its own
            try:
                with db.lazy_write_lock(lazy):
                    result = operation()
                    db.session.commit()
                return result
            except StaleDataError:
                db.session.rollback()
                log.info("version race lost, replaying (attempt %s)", attempt)
            except OperationalError as exc:
                db.session.rollback()
                if not db.is_write_conflict(exc):
                    raise
                log.info("another writer came first, replaying (attempt %s)", attempt)
            except IntegrityError as exc:
                # The task rows are written before the instance's version check (`advance`): a step that
                # another operation opened meanwhile shows as its live row, already there.
                db.session.rollback()
                if not _live_task_taken(exc):
                    raise
                log.info("a task row was opened by another operation, replaying (attempt %s)", attempt)
            except (sandbox.ScriptLimitExceeded, SpiffWorkflowException, ServiceRefused) as exc:
                db.session.rollback()
                if incident is None:
                    raise DefinitionFault(_l("The process definition failed: %(why)s", why=str(exc))) from None
                recorded = self.record_incident(incident(), exc)
                if isinstance(exc, ServiceRefused):
                    raise DefinitionFault(_l("“%(element)s” refused: %(why)s Nothing was saved and the process "
                                             "administrators were told (incident %(id)s).",
                                             element=recorded.element or "?", id=recorded.id, why=str(exc))) from None
                raise DefinitionFault(_l("The process definition failed at “%(element)s”; nothing was saved and "
                                         "the process administrators were told (incident %(id)s): %(why)s",
                                         element=recorded.element or "?", id=recorded.id, why=str(exc))) from None
            except Exception:
                db.session.rollback()
                raise
        raise Conflict(_l("The case is being changed by others right now. Please try again."))

    def record_incident(self, incident: Incident, error: BaseException) -> Incident:
        """After the failed transaction was rolled back: keep what failed, where, with which data."""
        incident.element = getattr(error, "element", None) or getattr(getattr(error, "task_spec", None), "name", None)
        incident.error = f"{type(error).__name__}: {error}"[:4000]
        incident.occurred_at = self.clock.now()
        db.session.add(incident)
        if incident.instance_id is not None:
            audit.append(db.session.get(Instance, incident.instance_id), [
                {"instance_id": incident.instance_id, "type": "incident", "actor_id": incident.actor_id,
                 "at": incident.occurred_at, "data": {"element": incident.element, "error": incident.error}}])
        db.session.commit()
        log.error("incident %s in %s at %s: %s", incident.id, incident.process_key, incident.element, incident.error)
        return incident

    # -- a case's state -------------------------------------------------------------------------

    def case(self, instance: Instance, actor: User | None, now: datetime | None = None) -> CaseContext:
        return CaseContext(self, instance, actor, now or self.clock.now())

    def open_task(self, task_id: int) -> Task:
        """A task that waits for a decision in a running case (a replay after a rollback reloads it)."""
        # One statement: every row of the task's case (what the operation checks and changes) and the
        # directory's token (the rules then read the organisation from memory).
        case = select(Task.instance_id).where(Task.id == task_id).scalar_subquery()
        loaded = db.session.execute(select(Task, directory.token_column()).where(Task.instance_id == case)
                                    .order_by(Task.id)).all()
        task = next((row for row, _ in loaded if row.id == task_id), None)
        if task is None:
            raise NotFound(_l("No such task."))
        directory.note_token(loaded[0][1])
        projection.keep_case_rows(task.instance_id, [row for row, _ in loaded])
        if task.state == HELD:
            raise Conflict(_l("This task waits for an added signer or for the initiator's revised request."))
        if task.state != OPEN:
            raise Conflict(_l("This task has already been completed."))
        if task.instance.status != RUNNING:
            raise Conflict(_l("The case is suspended by a process administrator; it waits until it is resumed."))
        return task

    def new_workflow(self, case: CaseContext, parsed: definitions.ParsedDefinition) -> BpmnWorkflow:
        case.has_timers = parsed.has_timers
        return BpmnWorkflow(parsed.spec, parsed.subprocess_specs, script_engine=CaseScriptEngine(case))

    def load(self, instance: Instance, case: CaseContext) -> BpmnWorkflow:
        parsed = definitions.parsed(instance.definition)
        case.has_timers = parsed.has_timers
        workflow = serializer.loads(instance.state, parsed.spec, parsed.subprocess_specs)
        # A loaded workflow gets SpiffWorkflow's default script engine; always put ours back.
        workflow.script_engine = CaseScriptEngine(case)
        return workflow

    def advance(self, case: CaseContext, workflow: BpmnWorkflow) -> None:
        """Run the engine to the next wait and write what it changed: first the task rows (the events and
        notifications name them), then the instance in one UPDATE (state, status, comment and chain head
        together, under its version check) with the events. The instance is left untouched until then,
        so that the flushes before the rules' and services' reads never write it early."""
        self._run_engine(workflow)
        instance = case.instance
        if case.has_timers:
            projection.record_fired_timers(case, workflow)
        projection.sync_tasks(case, workflow)
        if case.has_timers:
            projection.sync_timers(case, workflow)
        completed = workflow.is_completed() and not case.withdrawn
        if completed and not _reached_an_end(workflow):  # it ran out of steps: a flow that goes nowhere
            raise FlowRanAway("the flow stopped without reaching an end event")
        db.session.flush()
        for callback in case.after_sync:
            callback()
        if case.withdrawn:
            instance.status = instance.outcome = WITHDRAWN
            instance.ended_at = case.now
        elif completed:
            outcome = _outcome(workflow)
            case.record("instance_completed", {"outcome": outcome})
            self.ext.notify([instance.started_by_id], "case_ended", case.now, instance_id=instance.id, by=case.actor,
                            comment=case.comment, outcome=outcome or COMPLETED)
            instance.status, instance.ended_at, instance.outcome = COMPLETED, case.now, outcome
        if case.comment:
            instance.last_comment = case.comment[:200]
        instance.state = serializer.dumps_ended(workflow) if instance.ended_at else serializer.dumps(workflow)
        audit.append(instance, case.event_rows())  # one statement for all of them, after the instance's UPDATE

    def _run_engine(self, workflow: BpmnWorkflow) -> None:
        """SpiffWorkflow's engine steps up to the next wait, at most `limits.steps` of them and for at most
        `limits.operation_seconds`: past either, the operation stops (and rolls back) naming the elements
        it went round."""
        done: Counter[str] = Counter()
        deadline = time.monotonic() + self.limits.operation_seconds

        def counted(task) -> None:
            done[task.task_spec.name] += 1
            if done.total() > self.limits.steps or time.monotonic() > deadline:
                looping = ", ".join(name for name, _ in done.most_common(3))
                raise FlowRanAway(f"the flow ran more than {self.limits.steps} steps or "
                                  f"{self.limits.operation_seconds:g} s in one operation, round {looping}",
                                  element=done.most_common(1)[0][0])

        workflow.do_engine_steps(did_complete_task=counted)

    def complete_step(self, task: Task, user: User, data: dict, case: CaseContext) -> None:
        """Complete a BPMN step with the decision's data and run the flow on."""
        instance = task.instance
        # The case's rows as they stand, read before this step changes one of them: the change is then
        # written with the rows the step opens, in one flush (projection.case_rows).
        projection.case_rows(instance.id)
        workflow = self.load(instance, case)
        spiff_task = next((t for t in workflow.get_tasks(state=TaskState.READY, manual=True)
                           if str(t.id) == task.spiff_task_id), None)
        if spiff_task is None:  # the projection and the state disagree: never guess
            raise Conflict(_l("This task is no longer waiting for a decision."))
        spiff_task.data.update(data)
        spiff_task.run()
        task.state, task.completed_at, task.completed_by_id = DONE, case.now, user.id
        task.withdraw_further_offers()
        comment = next((str(data[name]) for name in self.ext.comment_fields if data.get(name)), None)
        if comment:
            case.comment = comment  # the inbox's preview (written with the instance, in `advance`)
        case.record("task_completed", {"spec": task.spec_id, "form_key": task.form_key,
                                       "form_data": data}, task=task)
        self.advance(case, workflow)

    # -- events of operations that do not run the flow ------------------------------------------------

    def save_events(self, case: CaseContext) -> None:
        """The events an operation recorded in its context (the flow's own are saved by `advance`)."""
        db.session.flush()
        audit.append(case.instance, case.event_rows())
        case.events.clear()

    def append(self, about: Task | Instance, event_type: str, actor: User, now: datetime, data: dict) -> None:
        """One event about a task or a whole case."""
        instance, task_id = (about.instance, about.id) if isinstance(about, Task) else (about, None)
        audit.append(instance, [{"instance_id": instance.id, "task_id": task_id, "type": event_type,
                                 "actor_id": actor.id, "at": now, "data": data}])
        db.session.flush()


class FlowRanAway(sandbox.ScriptLimitExceeded):
    """The flow itself went on without end in one operation (or ended nowhere)."""

    def __init__(self, message: str, element: str | None = None):
        super().__init__(message)
        self.element = element


def _live_task_taken(exc: IntegrityError) -> bool:
    """The unique index of live task rows refused one (PostgreSQL names the index, SQLite its column)."""
    return "uq_tasks_live_spiff_task" in str(exc) or "tasks.spiff_task_id" in str(exc)


def _reached_an_end(workflow: BpmnWorkflow) -> bool:
    return any(isinstance(task.task_spec, EndEvent) for task in workflow.get_tasks(state=TaskState.COMPLETED))


def _outcome(workflow: BpmnWorkflow) -> str | None:
    ends = [t for t in workflow.get_tasks(state=TaskState.COMPLETED) if isinstance(t.task_spec, EndEvent)]
    ends.sort(key=lambda t: t.last_state_change)
    for end in reversed(ends):
        outcome = (getattr(end.task_spec, "extensions", None) or {}).get("outcome")
        if outcome:
            return outcome
    return None
