"""The engine service: every change to a case goes through here, in one database transaction.

Start, claim and complete each load the instance's state once, run SpiffWorkflow, save the state
once, bring the `tasks` table in line with the workflow's ready user tasks, and append audit events.
Two people acting on one case at once are kept apart by version columns (optimistic locking):
the loser's transaction is rolled back and retried against the new state, where it finds out
that its task was already done.
"""
from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path

from flask_babel import lazy_gettext as _l
from SpiffWorkflow.bpmn import BpmnWorkflow
from SpiffWorkflow.bpmn.script_engine import PythonScriptEngine
from SpiffWorkflow.bpmn.specs.defaults import EndEvent
from SpiffWorkflow.bpmn.specs.event_definitions.timer import TimerEventDefinition
from SpiffWorkflow.util.task import TaskState
from sqlalchemy import delete, func, insert, select
from sqlalchemy.orm.exc import StaleDataError

from app.domain import assignment, processes
from app.domain.case import CaseStart
from app.domain.org import User
from app.engine import definitions, sandbox, serializer, spiff_clock, validation
from app.engine.deadlines import due_at
from app.engine.models import (
    CANCELLED,
    COMPLETED,
    DONE,
    OPEN,
    TASK_TIMER,
    Event,
    Instance,
    ProcessDefinition,
    Task,
    Timer,
)
from app.errors import Conflict, DefinitionFault, Forbidden, NotFound, Unassignable
from app.extensions import db

log = logging.getLogger(__name__)
spiff_clock.install()
SANDBOX = sandbox.SandboxEnvironment()  # stateless: one for all workflows

# How often an operation is replayed after losing a version race before giving up.
MAX_ATTEMPTS = 3


class CaseScriptEngine(PythonScriptEngine):
    """Runs service tasks with the domain's services, in the context of the case being advanced."""

    def __init__(self, case: CaseContext):
        super().__init__(environment=SANDBOX)
        self.case = case

    def call_service(self, task, topic=None, **kwargs):
        handler = processes.SERVICES[topic]
        task.data.update(handler(task.data, self.case) or {})


@dataclass
class CaseContext:
    """One operation on one case: who acts, when, and the events it produces."""

    instance: Instance
    actor: User | None
    now: datetime
    has_timers: bool = False
    events: list[tuple[str, dict, Task | None]] = field(default_factory=list)

    def record(self, event_type: str, data: dict | None = None, task: Task | None = None) -> None:
        self.events.append((event_type, data or {}, task))

    def event_rows(self) -> list[dict]:
        """The recorded events as rows, once their tasks have ids (after a flush)."""
        actor_id = self.actor.id if self.actor else None
        return [{"instance_id": self.instance.id, "task_id": task.id if task else None, "type": event_type,
                 "actor_id": actor_id, "at": self.now, "data": data} for event_type, data, task in self.events]


class EngineService:
    def __init__(self, clock):
        self.clock = clock

    # -- definitions ---------------------------------------------------------------------------

    def deploy_directory(self, directory: str | Path) -> list[ProcessDefinition]:
        """Deploy every .bpmn file; unchanged files create nothing, changed ones a new version."""
        created = []
        try:
            for path in definitions.bpmn_files(str(directory)):
                created += definitions.deploy(path.read_text(encoding="utf-8"), path.name,
                                              self.clock.now(), validation.definition_problems)
            db.session.commit()
        except Exception:
            db.session.rollback()
            raise
        return created

    # -- operations ----------------------------------------------------------------------------

    def start(self, process_key: str, user: User, data: dict) -> Instance:
        definition = definitions.latest_definition(process_key)
        if definition is None:
            raise NotFound(_l("No such process."))
        return self._in_transaction(lambda: self._start(definition, user, data))

    def claim(self, task_id: int, user: User) -> Task:
        return self._in_transaction(lambda: self._claim(task_id, user))

    def complete(self, task_id: int, user: User, data: dict) -> Task:
        return self._in_transaction(lambda: self._complete(task_id, user, data))

    def fire_next_due_timer(self) -> bool:
        """Fire one due timer, if any is due and not being fired by another worker; False if none.

        The wake-up row is locked (FOR UPDATE SKIP LOCKED on PostgreSQL; SQLite's transactions are
        one at a time) and deleted in the transaction that advances its instance: a timer fires
        exactly once, and a worker that dies mid-firing leaves it due for the next one.
        """
        timer_id = None
        try:
            timer = db.session.scalar(select(Timer).where(Timer.due_at <= self.clock.now())
                                      .order_by(Timer.due_at, Timer.id).limit(1)
                                      .with_for_update(skip_locked=True))
            if timer is None:
                db.session.rollback()
                return False
            timer_id = timer.id
            self._fire(timer)
            db.session.commit()
        except StaleDataError:  # a person acted on the case meanwhile: the timer is still due
            db.session.rollback()
        except (Exception, sandbox.ScriptLimitExceeded) as exc:
            db.session.rollback()
            if timer_id is None:  # failed before a timer was taken: nothing to postpone
                raise
            self._postpone(timer_id, exc)
        return True

    def next_due_at(self) -> datetime | None:
        due = db.session.scalar(select(func.min(Timer.due_at)))
        db.session.rollback()
        return due

    def _in_transaction(self, operation: Callable):
        for attempt in range(1, MAX_ATTEMPTS + 1):
            try:
                result = operation()
                db.session.commit()
                return result
            except StaleDataError:
                db.session.rollback()
                log.info("version race lost, replaying (attempt %s)", attempt)
            except sandbox.ScriptLimitExceeded as exc:
                db.session.rollback()
                log.error("definition stopped: %s", exc)
                raise DefinitionFault(_l("The process definition stopped a runaway script: %(why)s",
                                         why=str(exc))) from None
            except Exception:
                db.session.rollback()
                raise
        raise Conflict(_l("The case is being changed by others right now. Please try again."))

    def _start(self, definition: ProcessDefinition, user: User, data: dict) -> Instance:
        now = self.clock.now()
        hook = processes.START_HOOKS.get(definition.key)
        start = hook(data, user, now) if hook else CaseStart(data=dict(data))
        instance = Instance(definition=definition, process_key=definition.key, business_key=start.business_key,
                            customer_id=start.customer_id, start_data=start.data, state=b"",
                            started_by_id=user.id, started_at=now)
        db.session.add(instance)
        db.session.flush()  # the id goes into the case data and the events
        parsed = definitions.parsed(definition)
        case = CaseContext(instance, user, now, has_timers=parsed.has_timers)
        workflow = BpmnWorkflow(parsed.spec, parsed.subprocess_specs, script_engine=CaseScriptEngine(case))
        workflow.task_tree.data.update(start.data, initiator_id=user.id, instance_id=instance.id)
        case.record("instance_started", {"process_key": definition.key, "version": definition.version,
                                         "form_data": data})
        self._advance(case, workflow)
        return instance

    def _claim(self, task_id: int, user: User) -> Task:
        task = self._open_task(task_id)
        if task.assignee_id == user.id:
            return task
        if not is_candidate(user, task):
            raise Forbidden(_l("This task is not for you."))
        if task.assignee_id is not None:
            raise Conflict(_l("This task has already been claimed by %(name)s.",
                              name=task.assignee.display_name))
        now = self.clock.now()
        task.assignee_id, task.owner_id, task.claimed_at = user.id, user.id, now
        db.session.add(Event(instance_id=task.instance_id, task=task, type="task_claimed",
                             actor_id=user.id, at=now, data={}))
        db.session.flush()
        return task

    def _complete(self, task_id: int, user: User, data: dict) -> Task:
        task = self._open_task(task_id)
        if task.assignee_id != user.id:
            if task.assignee_id is None and is_candidate(user, task):
                raise Forbidden(_l("Claim this task before you complete it."))
            raise Forbidden(_l("This task is not yours."))
        instance = task.instance
        case = CaseContext(instance, user, self.clock.now())
        workflow = self._load(instance, case)
        spiff_task = next((t for t in workflow.get_tasks(state=TaskState.READY, manual=True)
                           if str(t.id) == task.spiff_task_id), None)
        if spiff_task is None:  # the projection and the state disagree: never guess
            raise Conflict(_l("This task is no longer waiting for a decision."))
        spiff_task.data.update(data)
        spiff_task.run()
        task.state, task.completed_at, task.completed_by_id = DONE, case.now, user.id
        case.record("task_completed", {"spec": task.spec_id, "form_key": task.form_key,
                                       "form_data": data}, task=task)
        self._advance(case, workflow)
        return task

    def _fire(self, timer: Timer) -> None:
        """Advance the timer's instance; saving it rewrites its wake-ups, so the fired row goes too."""
        instance = db.session.get(Instance, timer.instance_id)
        case = CaseContext(instance, None, self.clock.now())
        workflow = self._load(instance, case)
        for task in _waiting_timers(workflow):  # every timer of the instance that is due now fires
            due = _timer_due(task)
            if due <= case.now:
                case.record("timer_fired", {"spec": task.task_spec.name, "due_at": due.isoformat()})
        workflow.refresh_timers()  # do_engine_steps alone would leave a due catch event waiting
        self._advance(case, workflow)

    def _postpone(self, timer_id: int, error: Exception) -> None:
        """A firing failed (a script error, say): keep the wake-up, try again later, say why."""
        log.exception("timer %s failed to fire", timer_id)
        timer = db.session.get(Timer, timer_id)
        if timer is not None:
            timer.attempts += 1
            timer.last_error = f"{type(error).__name__}: {error}"[:2000]
            timer.due_at = self.clock.now() + timedelta(minutes=min(2 ** timer.attempts, 60))
            db.session.commit()

    # -- the shared middle of every operation ----------------------------------------------------

    def _open_task(self, task_id: int) -> Task:
        task = db.session.get(Task, task_id)  # a replay after a rollback reloads it (rollback expires all)
        if task is None:
            raise NotFound(_l("No such task."))
        if task.state != OPEN:
            raise Conflict(_l("This task has already been completed."))
        return task

    def _load(self, instance: Instance, case: CaseContext) -> BpmnWorkflow:
        parsed = definitions.parsed(instance.definition)
        case.has_timers = parsed.has_timers
        workflow = serializer.loads(instance.state, parsed.spec, parsed.subprocess_specs)
        # A loaded workflow gets SpiffWorkflow's default script engine; always put ours back.
        workflow.script_engine = CaseScriptEngine(case)
        return workflow

    def _advance(self, case: CaseContext, workflow: BpmnWorkflow) -> None:
        """Run the engine to the next wait, save the state, sync the tasks table, write events."""
        workflow.do_engine_steps()
        instance = case.instance
        self._sync_tasks(case, workflow)
        if case.has_timers:
            self._sync_timers(case, workflow)
        if workflow.is_completed():
            instance.status, instance.ended_at = COMPLETED, case.now
            instance.outcome = _outcome(workflow)
            case.record("instance_completed", {"outcome": instance.outcome})
        instance.state = serializer.dumps(workflow)
        db.session.flush()
        db.session.execute(insert(Event), case.event_rows())  # one statement for all of them

    def _sync_tasks(self, case: CaseContext, workflow: BpmnWorkflow) -> None:
        ready = {str(t.id): t for t in workflow.get_tasks(state=TaskState.READY, manual=True)}
        open_rows = db.session.scalars(select(Task).where(Task.instance_id == case.instance.id,
                                                          Task.state == OPEN)).all()
        for row in open_rows:
            if row.spiff_task_id not in ready:  # cancelled by the flow (boundary event, end)
                row.state = CANCELLED
                case.record("task_cancelled", {"spec": row.spec_id}, task=row)
        known = {row.spiff_task_id for row in open_rows}
        for spiff_id, spiff_task in ready.items():
            if spiff_id not in known:
                self._open_task_row(case, spiff_task)

    def _sync_timers(self, case: CaseContext, workflow: BpmnWorkflow) -> None:
        """The instance's wake-up rows become exactly its waiting timer events."""
        db.session.execute(delete(Timer).where(Timer.instance_id == case.instance.id,
                                               Timer.kind == TASK_TIMER))
        rows = [{"kind": TASK_TIMER, "instance_id": case.instance.id, "spiff_task_id": str(task.id),
                 "spec_id": task.task_spec.name, "due_at": _timer_due(task)}
                for task in _waiting_timers(workflow)]
        if rows:
            db.session.execute(insert(Timer), rows)

    def _open_task_row(self, case: CaseContext, spiff_task) -> None:
        spec = spiff_task.task_spec
        rule = spec.assignee_rule or spec.candidate_rule
        try:
            chosen = assignment.resolve(rule, spiff_task.data)
        except assignment.AssignmentError as exc:
            log.warning("case %s, step %s: %s", case.instance.id, spec.name, exc)
            raise Unassignable(_l("Nobody can be found for the step “%(step)s”: %(why)s",
                                  step=spec.bpmn_name or spec.name, why=str(exc))) from exc
        row = Task(instance_id=case.instance.id, process_key=case.instance.process_key,
                   spiff_task_id=str(spiff_task.id), spec_id=spec.name, name=spec.bpmn_name or spec.name,
                   form_key=spec.form.key, state=OPEN, assignment_rule=rule,
                   assignee_id=chosen.assignee_id, owner_id=chosen.assignee_id,
                   candidate_role=chosen.candidate_role, candidate_org_unit_id=chosen.candidate_org_unit_id,
                   due_at=due_at(spec.due_date, case.now) if spec.due_date else None,
                   created_at=case.now)
        db.session.add(row)
        case.record("task_created", {"spec": row.spec_id, "rule": rule, "assignee_id": row.assignee_id,
                                     "candidate_role": row.candidate_role,
                                     "candidate_org_unit_id": row.candidate_org_unit_id}, task=row)


def _waiting_timers(workflow: BpmnWorkflow):
    """The workflow's timer events that are waiting, subprocesses included."""
    return [task for task in workflow.event_manager.tasks.values()
            if isinstance(task.task_spec.event_definition, TimerEventDefinition)
            and task.has_state(TaskState.WAITING)]


def _timer_due(task) -> datetime:
    """When a waiting timer event is due, from what SpiffWorkflow stored when it started waiting."""
    value = task.task_spec.event_definition.details(task).value
    return TimerEventDefinition.get_datetime(value if isinstance(value, str) else value["next"])


def _outcome(workflow: BpmnWorkflow) -> str | None:
    ends = [t for t in workflow.get_tasks(state=TaskState.COMPLETED) if isinstance(t.task_spec, EndEvent)]
    ends.sort(key=lambda t: t.last_state_change)
    for end in reversed(ends):
        outcome = (getattr(end.task_spec, "extensions", None) or {}).get("outcome")
        if outcome:
            return outcome
    return None


def is_candidate(user: User, task: Task) -> bool:
    return (task.candidate_role is not None
            and user.has_role(task.candidate_role, task.candidate_org_unit_id))
