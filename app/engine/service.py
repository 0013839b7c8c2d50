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

from SpiffWorkflow.bpmn import BpmnWorkflow
from SpiffWorkflow.bpmn.script_engine import PythonScriptEngine
from SpiffWorkflow.bpmn.specs.defaults import EndEvent
from SpiffWorkflow.bpmn.specs.event_definitions.timer import TimerEventDefinition
from SpiffWorkflow.bpmn.util.diff import diff_workflow, migrate_workflow
from SpiffWorkflow.exceptions import SpiffWorkflowException
from SpiffWorkflow.util.task import TaskState
from sqlalchemy import delete, exists, func, insert, or_, select, update
from sqlalchemy.orm.exc import StaleDataError

from app import db, labels
from app.domain import assignment, attachments, delegation, notifications, org, processes, segregation
from app.domain.attachments import Attachment
from app.domain.case import CaseStart, ServiceCall
from app.domain.org import ADMIN, AUDITOR, User
from app.engine import (
    audit,
    decisions,
    definitions,
    queries,
    sandbox,
    schedules,
    serializer,
    spiff_clock,
    validation,
)
from app.engine.due_dates import due_at, is_literal
from app.engine.models import (
    AFTER_SIGN,
    BEFORE_SIGN,
    CANCELLED,
    COMPLETED,
    DONE,
    HELD,
    OPEN,
    RESUBMIT,
    RUNNING,
    SCHEDULE,
    STEP,
    SUSPENDED,
    TASK_TIMER,
    TERMINATED,
    Incident,
    Instance,
    ProcessDefinition,
    Task,
    TaskCandidate,
    Timer,
)
from app.engine.operations import ApprovalOperations
from app.engine.parser import ApprovalUserTask
from app.errors import AppError, Conflict, DefinitionFault, Forbidden, InvalidData, NotFound, Unassignable
from app.i18n import _l

log = logging.getLogger(__name__)
spiff_clock.install()

# How often an operation is replayed after losing a version race before giving up.
MAX_ATTEMPTS = 3


class CaseScriptEngine(PythonScriptEngine):
    """Runs service tasks with the domain's services, in the context of the case being advanced."""

    def __init__(self, case: CaseContext):
        super().__init__(environment=decisions.SANDBOX)
        self.case = case

    # A script stopped by the sandbox is a BaseException that SpiffWorkflow does not wrap: note where.
    def evaluate(self, task, expression, external_context=None):
        try:
            return super().evaluate(task, expression, external_context)
        except sandbox.ScriptLimitExceeded as exc:
            exc.element = task.task_spec.name
            raise

    def execute(self, task, script, external_context=None):
        try:
            return super().execute(task, script, external_context)
        except sandbox.ScriptLimitExceeded as exc:
            exc.element = task.task_spec.name
            raise

    def call_service(self, task, topic=None, **kwargs):
        decision = task.task_spec.decision
        decide = (lambda inputs: decisions.apply(decision, task.workflow, inputs)) if decision else None
        handler = processes.SERVICES[topic]
        task.data.update(handler(ServiceCall(task.data, self.case, decide, task.task_spec.properties)) or {})


@dataclass
class CaseContext:
    """One operation on one case: who acts, when, and the events it produces."""

    instance: Instance
    actor: User | None
    now: datetime
    has_timers: bool = False
    events: list[tuple[str, dict, Task | None, bool]] = field(default_factory=list)
    # Work a service leaves until the tasks table matches the workflow (see `when_tasks_synced`).
    after_sync: list[Callable[[], None]] = field(default_factory=list)
    # Steps sent back: who gets each again (its earlier person), instead of its rule's choice.
    assign_again: dict[str, int] = field(default_factory=dict)

    def record(self, event_type: str, data: dict | None = None, task: Task | None = None,
               system: bool = False) -> None:
        """Note an event of this operation; `system` events (a deadline passing, a reminder) are the
        application's, not the acting person's."""
        self.events.append((event_type, data or {}, task, system))

    def when_tasks_synced(self, callback: Callable[[], None]) -> None:
        """Run `callback` once this operation's task rows are written (a reminder names tasks that a
        boundary timer, fired in the same step, has not yet seen as rows)."""
        self.after_sync.append(callback)

    def event_rows(self) -> list[dict]:
        """The recorded events as rows, once their tasks have ids (after a flush)."""
        actor_id = self.actor.id if self.actor else None
        return [{"instance_id": self.instance.id, "task_id": task.id if task else None, "type": event_type,
                 "actor_id": None if system else actor_id, "at": self.now, "data": data}
                for event_type, data, task, system in self.events]


class EngineService(ApprovalOperations):
    def __init__(self, clock):
        self.clock = clock

    # -- definitions ---------------------------------------------------------------------------

    def deploy_directory(self, directory: str | Path) -> list[ProcessDefinition]:
        """Deploy every .bpmn file (with the .dmn files beside them); unchanged files create nothing,
        changed ones a new version. Scheduled processes get their next wake-up."""
        created = []
        now = self.clock.now()
        dmn_files = definitions.dmn_files(str(directory))
        try:
            for path in definitions.bpmn_files(str(directory)):
                created += definitions.deploy(path.read_text(encoding="utf-8"), path.name, now,
                                              validation.definition_problems, dmn_files)
            for definition in definitions.latest_definitions():
                schedules.sync(definition, now)
            db.session.commit()
        except Exception:
            db.session.rollback()
            raise
        return created

    def check_document(self, xml: str, source_name: str, key: str, dmn_files: dict[str, str]) -> list:
        """What keeps an edited BPMN document of process `key` from being deployed (nothing saved)."""
        try:
            self._deploy_document(xml, source_name, key, None, "", dmn_files, allow_unchanged=True)
        except definitions.DefinitionError as exc:
            return exc.problems
        finally:
            db.session.rollback()
        return []

    def deploy_document(self, xml: str, source_name: str, key: str, user: User, change_note: str,
                        dmn_files: dict[str, str]) -> ProcessDefinition:
        """Deploy an edited or uploaded BPMN document of process `key` as its next version: new cases
        start on it, running ones stay on theirs."""
        try:
            definition = self._deploy_document(xml, source_name, key, user, change_note, dmn_files)
            db.session.commit()
        except Exception:
            db.session.rollback()
            raise
        return definition

    def _deploy_document(self, xml, source_name, key, user, change_note, dmn_files, allow_unchanged=False):
        now = self.clock.now()
        created = [d for d in definitions.deploy(xml, source_name, now, validation.definition_problems, dmn_files,
                                                 deployed_by_id=user.id if user else None, change_note=change_note,
                                                 key=key)
                   if d.key == key]
        if not created:
            if allow_unchanged:
                return None
            raise definitions.DefinitionError("nothing changed: this is the deployed version")
        schedules.sync(created[0], now)
        return created[0]

    # -- operations ----------------------------------------------------------------------------

    def start(self, process_key: str, user: User, data: dict) -> Instance:
        definition = definitions.latest_definition(process_key)
        if definition is None:
            raise NotFound(_l("No such process."))
        if not processes.may_start(process_key, user):
            raise Forbidden(_l("You may not open cases of this process."))
        return self._in_transaction(
            lambda: self._start(definition, user, data),
            incident=lambda: Incident(process_key=process_key, operation="start", data=data, actor_id=user.id))

    def claim(self, task_id: int, user: User) -> Task:
        return self._in_transaction(lambda: self._claim(task_id, user))

    def complete(self, task_id: int, user: User, data: dict) -> Task:
        def incident() -> Incident:
            task = db.session.get(Task, task_id)
            return Incident(process_key=task.process_key, instance_id=task.instance_id, task_id=task.id,
                            operation="complete", data=data, actor_id=user.id)
        return self._in_transaction(lambda: self._complete(task_id, user, data), incident=incident)

    # -- incidents ------------------------------------------------------------------------------

    def retry_incident(self, incident_id: int, admin: User, data: dict | None = None) -> Incident:
        """Run a failed step again, with corrected data if given; the incident closes if it succeeds,
        and a failure opens a new one. A timer's step is due again for the workers."""
        incident = self._unresolved_incident(incident_id, admin)
        data = incident.data if data is None else data
        if incident.operation == "complete":
            task = db.session.get(Task, incident.task_id)
            if task.state == OPEN:
                self.complete(task.id, db.session.get(User, incident.actor_id), data)
                how = "retried"
            else:
                how = "already done"
        elif incident.operation == "start":
            instance = self.start(incident.process_key, db.session.get(User, incident.actor_id), data)
            how = f"retried: case {instance.id}"
        else:
            db.session.execute(update(Timer).where(Timer.instance_id == incident.instance_id, Timer.attempts > 0)
                               .values(due_at=self.clock.now() - timedelta(microseconds=1)))
            how = "timer due again"
        return self._close_incident(incident_id, admin, how)

    def close_incident(self, incident_id: int, admin: User, note: str) -> Incident:
        """Close an incident without running its step again (the case was terminated, say)."""
        self._unresolved_incident(incident_id, admin)
        if not (note or "").strip():
            raise InvalidData(_l("Say why it is closed."), {"note": [_l("Say why it is closed.")]})
        return self._close_incident(incident_id, admin, f"closed: {note.strip()}")

    def _unresolved_incident(self, incident_id: int, admin: User) -> Incident:
        if not admin.has_role(ADMIN):
            raise Forbidden(_l("Only process administrators may do this."))
        incident = db.session.get(Incident, incident_id)
        if incident is None:
            raise NotFound(_l("No such incident."))
        if incident.resolved_at is not None:
            raise Conflict(_l("This incident is already resolved."))
        return incident

    def _close_incident(self, incident_id: int, admin: User, resolution: str) -> Incident:
        incident = db.session.get(Incident, incident_id)
        now = self.clock.now()
        incident.resolved_at, incident.resolved_by_id, incident.resolution = now, admin.id, resolution
        if incident.instance_id is not None:
            audit.append(db.session.get(Instance, incident.instance_id), [
                {"instance_id": incident.instance_id, "type": "incident_resolved", "actor_id": admin.id, "at": now,
                 "data": {"incident_id": incident.id, "resolution": resolution}}])
        db.session.commit()
        return incident

    def _record_incident(self, incident: Incident, error: BaseException) -> Incident:
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

    def attach(self, instance_id: int, user: User, files: list[tuple[str, bytes]]) -> list[Attachment]:
        """Attach files (name, bytes) to a running case the user takes part in: each is checked by
        content, stored under its hash and listed in the case history. All or none."""
        instance = db.session.get(Instance, instance_id)
        if instance is None or not queries.may_view_case(user, instance):
            raise NotFound(_l("No such case."))
        if not may_attach(user, instance):
            raise Forbidden(_l("Files can be attached to a running case by the people who work on it."))
        checked = [(attachments.checked(name, content), content) for name, content in files]
        now = self.clock.now()
        added = []
        try:
            for (name, kind), content in checked:
                row = Attachment(instance_id=instance.id, sha256=attachments.store(content), filename=name,
                                 content_type=kind, size=len(content), uploaded_by_id=user.id, uploaded_at=now)
                db.session.add(row)
                db.session.flush()
                audit.append(instance, [{"instance_id": instance.id, "type": "attachment_added", "actor_id": user.id,
                                         "at": now, "data": {"attachment_id": row.id, "filename": name,
                                                             "sha256": row.sha256, "size": row.size,
                                                             "content_type": kind}}])
                added.append(row)
            db.session.commit()
        except Exception:
            db.session.rollback()
            raise
        return added

    # -- administration (process administrators only; each action an audited event with its reason) --

    def suspend(self, instance_id: int, admin: User, reason: str) -> Instance:
        """Hold a running case: nobody completes its tasks and its timers wait until it is resumed."""
        return self._administer(instance_id, admin, reason, (RUNNING,), SUSPENDED, "instance_suspended")

    def resume(self, instance_id: int, admin: User, reason: str) -> Instance:
        """Let a suspended case go on; timers that fell due meanwhile fire now."""
        return self._administer(instance_id, admin, reason, (SUSPENDED,), RUNNING, "instance_resumed")

    def terminate(self, instance_id: int, admin: User, reason: str) -> Instance:
        """End a case for good: its open tasks are cancelled and its timers removed."""
        def close(instance: Instance, now: datetime) -> None:
            instance.ended_at = now
            cancelled = []
            for task in db.session.scalars(select(Task).where(Task.instance_id == instance.id, Task.state == OPEN)):
                task.state = CANCELLED
                task.withdraw_further_offers()
                cancelled.append({"instance_id": instance.id, "task_id": task.id, "type": "task_cancelled",
                                  "actor_id": admin.id, "at": now, "data": {"spec": task.spec_id}})
            audit.append(instance, cancelled)
            db.session.execute(delete(Timer).where(Timer.instance_id == instance.id))
        return self._administer(instance_id, admin, reason, (RUNNING, SUSPENDED), TERMINATED, "instance_terminated",
                                close)

    def reassign(self, task_id: int, admin: User, assignee: User, reason: str) -> Task:
        """Give an open task to another person (an absence, a mistake in the organisation)."""
        def change() -> Task:
            _check_administrator(admin, reason)
            task = self._open_task(task_id)
            if not assignee.active:
                raise InvalidData(_l("Choose an active person."), {"assignee": [_l("Choose an active person.")]})
            now = self.clock.now()
            previous = task.assignee_id
            events = [{"instance_id": task.instance_id, "task_id": task.id, "type": "task_reassigned",
                       "actor_id": admin.id, "at": now,
                       "data": {"from": previous, "to": assignee.id, "reason": reason.strip()}}]
            overridden = segregation.conflict(task, assignee)
            if overridden:  # allowed, and on record for the compliance report
                events.append({**events[0], "type": "duty_overridden",
                               "data": {"assignee_id": assignee.id, "person": assignee.display_name, "rule": overridden,
                                        "reason": reason.strip()}})
            task.assignee, task.owner_id, task.claimed_at = assignee, assignee.id, now
            task.withdraw_further_offers()
            audit.append(task.instance, events)
            db.session.flush()
            return task
        return self._in_transaction(change)

    def migrate(self, instance_id: int, admin: User, reason: str) -> Instance:
        """Move a running case onto its process's newest version, when SpiffWorkflow's diff finds every
        step the case has taken or waits at in the new version. Open tasks keep their people and take
        the new version's name and form; waiting timers start afresh; the case history records it."""
        def change() -> Instance:
            _check_administrator(admin, reason)
            instance = db.session.get(Instance, instance_id)
            if instance is None:
                raise NotFound(_l("No such case."))
            if instance.status not in (RUNNING, SUSPENDED):
                raise Conflict(_l("Not possible for a case that is %(status)s.",
                                  status=labels.label(labels.STATUSES, instance.status)))
            target = definitions.latest_definition(instance.process_key)
            if target.id == instance.definition_id:
                raise Conflict(_l("The case already runs on the newest version."))
            case = CaseContext(instance, admin, self.clock.now())
            workflow = self._load(instance, case)
            new = definitions.parsed(target)
            top, subprocesses = diff_workflow(serializer.registry, workflow, new.spec, new.subprocess_specs)
            missing = sorted({t.task_spec.name for d in (top, *subprocesses.values()) if d for t in d.removed}
                             | {str(sp_id) for sp_id, d in subprocesses.items() if d is None})
            if missing:
                raise Conflict(_l("Version %(version)s lacks steps this case has taken or waits at: %(steps)s.",
                                  version=target.version, steps=", ".join(missing)))
            migrate_workflow(top, workflow, new.spec)
            for sp_id, sp_diff in subprocesses.items():
                subprocess = workflow.subprocesses[sp_id]
                migrate_workflow(sp_diff, subprocess, new.subprocess_specs[subprocess.spec.name])
            old_version = instance.definition.version
            instance.definition = target
            case.has_timers = new.has_timers or case.has_timers
            case.record("instance_migrated", {"from_version": old_version, "to_version": target.version,
                                              "reason": reason.strip()})
            self._advance(case, workflow)
            ready = {str(t.id): t.task_spec for t in workflow.get_tasks(state=TaskState.READY, manual=True)}
            for row in db.session.scalars(select(Task).where(Task.instance_id == instance.id, Task.state == OPEN)):
                spec = ready[row.spiff_task_id]
                row.spec_id, row.name, row.form_key = spec.name, spec.bpmn_name or spec.name, spec.form.key
            return instance
        return self._in_transaction(change)

    def _administer(self, instance_id, admin, reason, allowed, status, event_type, also=None) -> Instance:
        def change() -> Instance:
            _check_administrator(admin, reason)
            instance = db.session.get(Instance, instance_id)
            if instance is None:
                raise NotFound(_l("No such case."))
            if instance.status not in allowed:
                raise Conflict(_l("Not possible for a case that is %(status)s.",
                                  status=labels.label(labels.STATUSES, instance.status)))
            now = self.clock.now()
            instance.status = status
            if also:
                also(instance, now)
            audit.append(instance, [{"instance_id": instance.id, "type": event_type, "actor_id": admin.id, "at": now,
                                     "data": {"reason": reason.strip()}}])
            db.session.flush()
            return instance
        return self._in_transaction(change)

    def fire_next_due_timer(self) -> bool:
        """Fire one due timer, if any is due and not being fired by another worker; False if none.

        The wake-up row is locked (FOR UPDATE SKIP LOCKED on PostgreSQL; SQLite's transactions are
        one at a time) and deleted in the transaction that advances its instance: a timer fires
        exactly once, and a worker that dies mid-firing leaves it due for the next one.
        """
        timer_id = None
        try:
            # Strictly before now, as SpiffWorkflow decides when a timer event has fired.
            timer = db.session.scalar(select(Timer).where(Timer.due_at < self.clock.now(), _TIMER_LIVE)
                                      .order_by(Timer.due_at, Timer.id).limit(1)
                                      .with_for_update(of=Timer, skip_locked=True))
            if timer is None:
                db.session.rollback()
                return False
            timer_id = timer.id
            if timer.kind == SCHEDULE:
                self._open_scheduled_cases(timer)
            else:
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
        due = db.session.scalar(select(func.min(Timer.due_at)).where(_TIMER_LIVE))
        db.session.rollback()
        return due

    def _in_transaction(self, operation: Callable, incident: Callable[[], Incident] | None = None):
        """Run an operation in one transaction, replaying it after a lost version race. When the
        definition fails (a script stopped or failed), nothing is kept and, given `incident` (what the
        operation was), an incident records it for the process administrators."""
        for attempt in range(1, MAX_ATTEMPTS + 1):
            try:
                result = operation()
                db.session.commit()
                return result
            except StaleDataError:
                db.session.rollback()
                log.info("version race lost, replaying (attempt %s)", attempt)
            except (sandbox.ScriptLimitExceeded, SpiffWorkflowException) as exc:
                db.session.rollback()
                if incident is None:
                    raise DefinitionFault(_l("The process definition failed: %(why)s", why=str(exc))) from None
                recorded = self._record_incident(incident(), exc)
                raise DefinitionFault(_l("The process definition failed at “%(element)s”; nothing was saved and "
                                         "the process administrators were told (incident %(id)s): %(why)s",
                                         element=recorded.element or "?", id=recorded.id, why=str(exc))) from None
            except Exception:
                db.session.rollback()
                raise
        raise Conflict(_l("The case is being changed by others right now. Please try again."))

    def _start(self, definition: ProcessDefinition, user: User | None, data: dict) -> Instance:
        """Open a case; without a user, the schedule opens it."""
        now = self.clock.now()
        hook = processes.START_HOOKS.get(definition.key)
        start = hook(data, user, now) if hook else CaseStart(data=dict(data))
        instance = Instance(definition=definition, process_key=definition.key, business_key=start.business_key,
                            unique_key=start.unique_key, customer_id=start.customer_id, start_data=start.data,
                            state=b"", started_by_id=user.id if user else None, started_at=now)
        db.session.add(instance)
        db.session.flush()  # the id goes into the case data and the events
        parsed = definitions.parsed(definition)
        case = CaseContext(instance, user, now, has_timers=parsed.has_timers)
        workflow = BpmnWorkflow(parsed.spec, parsed.subprocess_specs, script_engine=CaseScriptEngine(case))
        workflow.task_tree.data.update(start.data, initiator_id=instance.started_by_id, instance_id=instance.id)
        case.record("instance_started", {"process_key": definition.key, "version": definition.version,
                                         "form_data": data, "scheduled": user is None})
        self._advance(case, workflow)
        return instance

    def _claim(self, task_id: int, user: User) -> Task:
        task = self._open_task(task_id)
        if task.assignee_id == user.id:
            return task
        if not task.is_offered_to(user):
            raise Forbidden(_l("This task is not for you."))
        if task.assignee_id is not None:
            raise Conflict(_l("This task has already been claimed by %(name)s.",
                              name=task.assignee.display_name))
        _check_segregation(task, user)
        now = self.clock.now()
        task.assignee_id, task.owner_id, task.claimed_at = user.id, user.id, now
        task.withdraw_further_offers()
        audit.append(task.instance, [{"instance_id": task.instance_id, "task_id": task.id, "type": "task_claimed",
                                      "actor_id": user.id, "at": now, "data": {}}])
        db.session.flush()
        return task

    def _complete(self, task_id: int, user: User, data: dict) -> Task:
        task = self._open_task(task_id)
        if task.assignee_id != user.id:
            if task.assignee_id is None and task.is_offered_to(user):
                raise Forbidden(_l("Claim this task before you complete it."))
            raise Forbidden(_l("This task is not yours."))
        case = self._case(task.instance, user, self.clock.now())
        if task.kind in (BEFORE_SIGN, AFTER_SIGN):
            self._finish_signing(task, user, data, case)
        elif task.kind == RESUBMIT:
            self._resubmit(task, user, data, case)
        else:
            self._complete_step(task, user, data, case)
        return task

    def _complete_step(self, task: Task, user: User, data: dict, case: CaseContext) -> None:
        """Complete a BPMN step with the decision's data and run the flow on."""
        instance = task.instance
        workflow = self._load(instance, case)
        spiff_task = next((t for t in workflow.get_tasks(state=TaskState.READY, manual=True)
                           if str(t.id) == task.spiff_task_id), None)
        if spiff_task is None:  # the projection and the state disagree: never guess
            raise Conflict(_l("This task is no longer waiting for a decision."))
        spiff_task.data.update(data)
        spiff_task.run()
        task.state, task.completed_at, task.completed_by_id = DONE, case.now, user.id
        task.withdraw_further_offers()
        comment = next((str(data[name]) for name in labels.COMMENT_FIELDS if data.get(name)), None)
        if comment:
            instance.last_comment = comment[:200]
        case.record("task_completed", {"spec": task.spec_id, "form_key": task.form_key,
                                       "form_data": data}, task=task)
        self._advance(case, workflow)

    def _case(self, instance: Instance, user: User | None, now: datetime) -> CaseContext:
        return CaseContext(instance, user, now)

    def _save_events(self, case: CaseContext) -> None:
        """The events of an operation that does not run the flow (the flow's own are saved by _advance)."""
        db.session.flush()
        audit.append(case.instance, case.event_rows())
        case.events.clear()

    def _fire(self, timer: Timer) -> None:
        """Advance the timer's instance; saving it rewrites its wake-ups, so the fired row goes too."""
        instance = db.session.get(Instance, timer.instance_id)
        case = CaseContext(instance, None, self.clock.now())
        workflow = self._load(instance, case)
        due = {task.id: task.task_spec.name for task in _waiting_timers(workflow) if _timer_due(task) < case.now}
        workflow.refresh_timers()  # do_engine_steps alone would leave a due catch event waiting
        self._advance(case, workflow)
        stuck = [due[task.id] for task in _waiting_timers(workflow) if task.id in due]
        if stuck:  # it would be due again at once: fail (and back off) rather than spin
            raise RuntimeError(f"timer events {stuck} stayed waiting after they fell due")

    def _open_scheduled_cases(self, timer: Timer) -> None:
        """A scheduled process is due: open its cases and move the wake-up to the next firing, in this
        transaction. A case already opened (by hand, or by an earlier try) is left alone; a case that
        cannot be opened keeps the wake-up due for a retry, without holding back the others."""
        definition = definitions.latest_definition(timer.process_key)
        if definition is None or definition.schedule is None:  # the schedule was taken out
            db.session.delete(timer)
            return
        failures = []
        for data in processes.SCHEDULED_STARTS[definition.key](timer.due_at):
            try:
                with db.session.begin_nested():
                    self._start(definition, None, data)
            except Conflict:
                pass
            except AppError as exc:
                failures.append(f"{data}: {exc}")
        if failures:
            self._retry_later(timer, "; ".join(failures))
        else:
            timer.due_at = schedules.parse(definition.schedule).next_after(timer.due_at)
            timer.attempts, timer.last_error = 0, None

    def _postpone(self, timer_id: int, error: BaseException) -> None:
        """A firing failed (a script error, say): keep the wake-up, try again later, say why. Its
        first failure is an incident for the administrators."""
        log.exception("timer %s failed to fire", timer_id)
        timer = db.session.get(Timer, timer_id)
        if timer is not None:
            self._retry_later(timer, f"{type(error).__name__}: {error}")
            db.session.commit()
            if timer.attempts == 1 and timer.instance_id is not None:
                instance = db.session.get(Instance, timer.instance_id)
                self._record_incident(Incident(process_key=instance.process_key, instance_id=instance.id,
                                               operation="timer", data={"timer": timer.spec_id}), error)

    def _retry_later(self, timer: Timer, why: str) -> None:
        timer.attempts += 1
        timer.last_error = why[:2000]
        timer.due_at = self.clock.now() + timedelta(minutes=min(2 ** timer.attempts, 60))

    # -- the shared middle of every operation ----------------------------------------------------

    def _open_task(self, task_id: int) -> Task:
        task = db.session.get(Task, task_id)  # a replay after a rollback reloads it (rollback expires all)
        if task is None:
            raise NotFound(_l("No such task."))
        if task.state == HELD:
            raise Conflict(_l("This task waits for an added signer or for the initiator's revised request."))
        if task.state != OPEN:
            raise Conflict(_l("This task has already been completed."))
        if task.instance.status != RUNNING:
            raise Conflict(_l("The case is suspended by a process administrator; it waits until it is resumed."))
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
        if case.has_timers:
            _record_fired_timers(case, workflow)
        self._sync_tasks(case, workflow)
        if case.has_timers:
            self._sync_timers(case, workflow)
        if workflow.is_completed() and instance.status == RUNNING:  # not when it was withdrawn
            instance.status, instance.ended_at = COMPLETED, case.now
            instance.outcome = _outcome(workflow)
            case.record("instance_completed", {"outcome": instance.outcome})
        instance.state = serializer.dumps(workflow)
        db.session.flush()
        for callback in case.after_sync:
            callback()
        audit.append(instance, case.event_rows())  # one statement for all of them

    def _sync_tasks(self, case: CaseContext, workflow: BpmnWorkflow) -> None:
        ready = {str(t.id): t for t in workflow.get_tasks(state=TaskState.READY, manual=True)}
        live_rows = db.session.scalars(select(Task).where(Task.instance_id == case.instance.id,
                                                          Task.state.in_((OPEN, HELD)))).all()
        steps = [row for row in live_rows if row.kind == STEP]
        for row in steps:
            if row.spiff_task_id not in ready:  # cancelled by the flow (boundary event, end, send-back)
                for side in live_rows:
                    if side.parent_id == row.id:  # a signer's or the initiator's task about it goes too
                        side.state = CANCELLED
                        case.record("task_cancelled", {"spec": side.spec_id}, task=side)
                row.state = CANCELLED
                row.withdraw_further_offers()
                case.record("task_cancelled", {"spec": row.spec_id}, task=row)
        known = {row.spiff_task_id for row in steps}
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
        rerouted = None
        try:
            chosen, *further = [assignment.resolve(one, spiff_task.data)
                                for one in ([spec.assignee_rule] if spec.assignee_rule
                                            else assignment.group_rules(spec.candidate_rule))]
            if spec.name in case.assign_again:  # sent back: to whoever did the step before
                chosen, further = assignment.Assignment(assignee_id=case.assign_again[spec.name]), []
            elif spec.approval:
                rerouted = segregation.reroute(case.instance, spec.name, [chosen, *further])
                if rerouted:
                    chosen, further = assignment.Assignment(assignee_id=rerouted.superior_id), []
        except assignment.AssignmentError as exc:
            log.warning("case %s, step %s: %s", case.instance.id, spec.name, exc)
            raise Unassignable(_l("Nobody can be found for the step “%(step)s”: %(why)s",
                                  step=spec.bpmn_name or spec.name, why=str(exc))) from exc
        # Away: a task meant for him personally goes to his deputy, on his behalf (he stays its owner).
        deputy = (delegation.deputy_for(chosen.assignee_id, case.instance.process_key, case.now)
                  if chosen.assignee_id else None)
        if deputy and spec.approval and deputy.id in segregation.excluded(case.instance, spec.name):
            deputy = None  # the deputy may not decide it: it waits for the person himself
        row = Task(instance_id=case.instance.id, process_key=case.instance.process_key,
                   spiff_task_id=str(spiff_task.id), spec_id=spec.name, name=spec.bpmn_name or spec.name,
                   form_key=spec.form.key, state=OPEN, assignment_rule=rule, approval=spec.approval,
                   assignee_id=deputy.id if deputy else chosen.assignee_id, owner_id=chosen.assignee_id,
                   candidate_role=chosen.candidate_role, candidate_org_unit_id=chosen.candidate_org_unit_id,
                   due_at=_task_due_at(spiff_task, case.now) if spec.due_date else None,
                   created_at=case.now,
                   further_candidates=[TaskCandidate(role=group.candidate_role, org_unit_id=group.candidate_org_unit_id)
                                       for group in further])
        db.session.add(row)
        person = db.session.get(User, row.assignee_id) if row.assignee_id else None
        case.record("task_created", {"spec": row.spec_id, "rule": rule, "assignee_id": row.assignee_id,
                                     **({"person": person.display_name} if person else {}),
                                     "candidate_role": row.candidate_role,
                                     "candidate_org_unit_id": row.candidate_org_unit_id}, task=row)
        if rerouted:
            case.record("duty_rerouted", {"passed_over_id": rerouted.passed_over_id, "person": rerouted.passed_over_name,
                                          "rule": rerouted.reason, "assignee_id": rerouted.superior_id},
                        task=row, system=True)
        if deputy:
            case.record("task_delegated", {"owner_id": chosen.assignee_id, "deputy_id": deputy.id,
                                           "person": deputy.display_name}, task=row, system=True)
        case.when_tasks_synced(lambda: self._tell_about_new_task(row, case, deputy))

    def _tell_about_new_task(self, row: Task, case: CaseContext, deputy: User | None) -> None:
        """Whoever a new task is for hears of it: its assignee (his deputy, while he is away, on his
        behalf), or the members of the groups it is offered to. A step sent back says so itself."""
        if row.spec_id in case.assign_again:
            return
        if deputy is not None:
            notifications.notify([deputy.id], "on_behalf", case.now, instance_id=row.instance_id, task_id=row.id,
                                 task=row.name, by=db.session.get(User, row.owner_id))
        elif row.assignee_id is not None:
            notifications.notify([row.assignee_id], "task_assigned", case.now, instance_id=row.instance_id,
                                 task_id=row.id, task=row.name, by=case.actor)
        else:
            groups = [(row.candidate_role, row.candidate_org_unit_id)]
            groups += [(group.role, group.org_unit_id) for group in row.further_candidates]
            members = {user.id for role, unit in groups for user in org.users_with_role(role, unit)}
            notifications.notify(members, "task_offered", case.now, instance_id=row.instance_id, task_id=row.id,
                                 task=row.name, by=case.actor)


def _waiting_timers(workflow: BpmnWorkflow):
    """The workflow's timer events that are waiting, subprocesses included."""
    return [task for task in workflow.event_manager.tasks.values()
            if isinstance(task.task_spec.event_definition, TimerEventDefinition)
            and task.has_state(TaskState.WAITING)]


def may_attach(user: User, instance: Instance) -> bool:
    """Files go onto running cases, from the people who work on them (who may see the case), never
    from compliance reviewers, who read everything and change nothing."""
    return instance.status == RUNNING and not user.has_role(AUDITOR)


# A wake-up to fire: a schedule, or a timer of a case that is running (a suspended case's wait).
_TIMER_LIVE = or_(Timer.instance_id.is_(None),
                  exists().where(Instance.id == Timer.instance_id, Instance.status == RUNNING))


def _check_administrator(user: User, reason: str) -> None:
    if not user.has_role(ADMIN):
        raise Forbidden(_l("Only process administrators may do this."))
    if not (reason or "").strip():
        raise InvalidData(_l("Give the reason: it goes into the case history."),
                          {"reason": [_l("Give the reason: it goes into the case history.")]})


def _check_segregation(task: Task, user: User) -> None:
    """An approval step is not claimed by the case's initiator or by an approver of another level.
    Every way a task reaches a person checks this (the rule's choice when the task opens, a claim); an
    administrator's reassignment may override it, on record. Completing needs no second check."""
    reason = segregation.conflict(task, user)
    if reason:
        raise Forbidden(segregation.REFUSALS[reason])


def _record_fired_timers(case: CaseContext, workflow: BpmnWorkflow) -> None:
    """Every timer event that fired, once, in the case history: fired by a worker, or at once because
    its time had already passed when it started waiting (a case opened late, say)."""
    for task in workflow.get_tasks():  # all states: a filtered walk skips what sits under waiting tasks
        if (task.state == TaskState.COMPLETED
                and isinstance(getattr(task.task_spec, "event_definition", None), TimerEventDefinition)
                and not task.internal_data.get("fire_recorded")):
            task.internal_data["fire_recorded"] = True
            value = task.task_spec.event_definition.details(task).value
            due = value if isinstance(value, str) or value is None else value.get("next")
            case.record("timer_fired", {"spec": task.task_spec.name, "name": task.task_spec.bpmn_name,
                                        "due_at": due}, system=True)
            # A deadline on a step (a boundary timer): whoever the step waits for hears of it.
            attached = [str(sibling.id) for sibling in (task.parent.children if task.parent else [])
                        if isinstance(sibling.task_spec, ApprovalUserTask)]
            if attached:
                case.when_tasks_synced(lambda ids=attached: _tell_about_deadline(case, ids))


def _tell_about_deadline(case: CaseContext, spiff_task_ids: list[str]) -> None:
    for row in db.session.scalars(select(Task).where(Task.instance_id == case.instance.id,
                                                     Task.spiff_task_id.in_(spiff_task_ids), Task.state == OPEN)):
        people = ([row.assignee_id] if row.assignee_id else
                  [u.id for u in org.users_with_role(row.candidate_role, row.candidate_org_unit_id)])
        notifications.notify(people, "deadline_passed", case.now, instance_id=row.instance_id, task_id=row.id,
                             task=row.name)


def _timer_due(task) -> datetime:
    """When a waiting timer event is due, from what SpiffWorkflow stored when it started waiting."""
    value = task.task_spec.event_definition.details(task).value
    return TimerEventDefinition.get_datetime(value if isinstance(value, str) else value["next"])


def _task_due_at(spiff_task, now: datetime) -> datetime:
    """A user task's due time: its `camunda:dueDate` as ISO 8601, or an expression over the case data
    giving ISO 8601 (e.g. `day_after_month(month, 2)`), evaluated in the sandbox."""
    text = spiff_task.task_spec.due_date
    if not is_literal(text):
        text = spiff_task.workflow.script_engine.evaluate(spiff_task, text)
    return due_at(str(text), now)


def _outcome(workflow: BpmnWorkflow) -> str | None:
    ends = [t for t in workflow.get_tasks(state=TaskState.COMPLETED) if isinstance(t.task_spec, EndEvent)]
    ends.sort(key=lambda t: t.last_state_change)
    for end in reversed(ends):
        outcome = (getattr(end.task_spec, "extensions", None) or {}).get("outcome")
        if outcome:
            return outcome
    return None
