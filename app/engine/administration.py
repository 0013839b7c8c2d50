"""Process administrators' actions on running cases (suspend, resume, terminate, reassign, move onto the
newest version) and on incidents (retry, close): each an audited event with its reason."""
from __future__ import annotations

from datetime import datetime, timedelta

from SpiffWorkflow.bpmn.util.diff import diff_workflow, migrate_workflow
from SpiffWorkflow.util.task import TaskState
from sqlalchemy import delete, select, update

from app import db
from app.engine import audit, definitions, serializer
from app.engine.directory import User
from app.engine.lifecycle import CaseLifecycle
from app.engine.models import (
    CANCELLED,
    OPEN,
    RUNNING,
    STATUS_WORDS,
    SUSPENDED,
    TERMINATED,
    Incident,
    Instance,
    Task,
    Timer,
)
from app.engine.plugins import ADMINISTER
from app.engine.unit_of_work import UnitOfWork
from app.errors import Conflict, InvalidData, NotFound
from app.i18n import _l


class Administration:
    def __init__(self, uow: UnitOfWork, cases: CaseLifecycle):
        self.uow, self.cases = uow, cases

    def _check(self, admin: User, reason: str) -> None:
        self.uow.require(admin, ADMINISTER, None)
        if not (reason or "").strip():
            raise InvalidData(_l("Give the reason: it goes into the case history."),
                              {"reason": [_l("Give the reason: it goes into the case history.")]})

    # -- cases -------------------------------------------------------------------------------------

    def suspend(self, instance_id: int, admin: User, reason: str) -> Instance:
        """Hold a running case: nobody completes its tasks and its timers wait until it is resumed."""
        return self._change_status(instance_id, admin, reason, (RUNNING,), SUSPENDED, "instance_suspended")

    def resume(self, instance_id: int, admin: User, reason: str) -> Instance:
        """Let a suspended case go on; timers that fell due meanwhile fire now."""
        return self._change_status(instance_id, admin, reason, (SUSPENDED,), RUNNING, "instance_resumed")

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
            self.uow.ext.notify([instance.started_by_id], "case_ended", now, instance_id=instance.id, by=admin,
                                comment=reason.strip(), outcome=TERMINATED)
        return self._change_status(instance_id, admin, reason, (RUNNING, SUSPENDED), TERMINATED,
                                   "instance_terminated", close)

    def _change_status(self, instance_id, admin, reason, allowed, status, event_type, also=None) -> Instance:
        def change() -> Instance:
            self._check(admin, reason)
            instance = db.session.get(Instance, instance_id)
            if instance is None:
                raise NotFound(_l("No such case."))
            if instance.status not in allowed:
                raise Conflict(_l("Not possible for a case that is %(status)s.",
                                  status=STATUS_WORDS.get(instance.status, instance.status)))
            now = self.uow.clock.now()
            instance.status = status
            if also:
                also(instance, now)
            audit.append(instance, [{"instance_id": instance.id, "type": event_type, "actor_id": admin.id, "at": now,
                                     "data": {"reason": reason.strip()}}])
            db.session.flush()
            return instance
        return self.uow.run(change)

    def reassign(self, task_id: int, admin: User, assignee: User, reason: str) -> Task:
        """Give an open task to another person (an absence, a mistake in the organisation)."""
        def change() -> Task:
            self._check(admin, reason)
            task = self.uow.open_task(task_id)
            if not assignee.active:
                raise InvalidData(_l("Choose an active person."), {"assignee": [_l("Choose an active person.")]})
            now = self.uow.clock.now()
            events = [{"instance_id": task.instance_id, "task_id": task.id, "type": "task_reassigned",
                       "actor_id": admin.id, "at": now,
                       "data": {"from": task.assignee_id, "to": assignee.id, "reason": reason.strip()}}]
            overridden = self.uow.ext.duties.conflict(task, assignee)
            if overridden:  # allowed, and on record for the compliance report
                events.append({**events[0], "type": "duty_overridden",
                               "data": {"assignee_id": assignee.id, "person": assignee.display_name, "rule": overridden,
                                        "reason": reason.strip()}})
            task.assignee, task.owner_id, task.claimed_at = assignee, assignee.id, now
            task.withdraw_further_offers()
            audit.append(task.instance, events)
            db.session.flush()
            return task
        return self.uow.run(change)

    def migrate(self, instance_id: int, admin: User, reason: str) -> Instance:
        """Move a running case onto its process's newest version, when SpiffWorkflow's diff finds every
        step the case has taken or waits at in the new version. Open tasks keep their people and take
        the new version's name and form; waiting timers start afresh; the case history records it."""
        def change() -> Instance:
            uow = self.uow
            self._check(admin, reason)
            instance = db.session.get(Instance, instance_id)
            if instance is None:
                raise NotFound(_l("No such case."))
            if instance.status not in (RUNNING, SUSPENDED):
                raise Conflict(_l("Not possible for a case that is %(status)s.",
                                  status=STATUS_WORDS.get(instance.status, instance.status)))
            target = definitions.latest_definition(instance.process_key)
            if target.id == instance.definition_id:
                raise Conflict(_l("The case already runs on the newest version."))
            case = uow.case(instance, admin)
            workflow = uow.load(instance, case)
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
            uow.advance(case, workflow)
            ready = {str(t.id): t.task_spec for t in workflow.get_tasks(state=TaskState.READY, manual=True)}
            for row in db.session.scalars(select(Task).where(Task.instance_id == instance.id, Task.state == OPEN)):
                spec = ready[row.spiff_task_id]
                row.spec_id, row.name, row.form_key = spec.name, spec.bpmn_name or spec.name, spec.form.key
            return instance
        return self.uow.run(change)

    # -- incidents ------------------------------------------------------------------------------

    def retry_incident(self, incident_id: int, admin: User, data: dict | None = None) -> Incident:
        """Run a failed step again, with corrected data if given; the incident closes if it succeeds,
        and a failure opens a new one. A timer's step is due again for the workers."""
        incident = self._unresolved_incident(incident_id, admin)
        data = incident.data if data is None else data
        validate = self.uow.ext.validate  # corrected data is checked by the step's form, as a person's is
        actor = db.session.get(User, incident.actor_id) if incident.actor_id is not None else None
        if incident.operation == "complete":
            task = db.session.get(Task, incident.task_id)
            if task.state == OPEN:
                self.cases.complete(task.id, actor, validate(task.form_key, data, task, user=actor))
                how = "retried"
            else:
                how = "already done"
        elif incident.operation == "start":
            latest = definitions.latest_definition(incident.process_key)
            start_form = latest.start_form_key
            instance = self.cases.start(incident.process_key, actor,
                                        validate(start_form, data, user=actor, definition=latest)
                                        if start_form else data)
            how = f"retried: case {instance.id}"
        else:
            db.session.execute(update(Timer).where(Timer.instance_id == incident.instance_id, Timer.attempts > 0)
                               .values(due_at=self.uow.clock.now() - timedelta(microseconds=1)))
            how = "timer due again"
        return self._close_incident(incident_id, admin, how)

    def close_incident(self, incident_id: int, admin: User, note: str) -> Incident:
        """Close an incident without running its step again (the case was terminated, say)."""
        self._unresolved_incident(incident_id, admin)
        if not (note or "").strip():
            raise InvalidData(_l("Say why it is closed."), {"note": [_l("Say why it is closed.")]})
        return self._close_incident(incident_id, admin, f"closed: {note.strip()}")

    def _unresolved_incident(self, incident_id: int, admin: User) -> Incident:
        self.uow.require(admin, ADMINISTER, None)
        incident = db.session.get(Incident, incident_id)
        if incident is None:
            raise NotFound(_l("No such incident."))
        if incident.resolved_at is not None:
            raise Conflict(_l("This incident is already resolved."))
        return incident

    def _close_incident(self, incident_id: int, admin: User, resolution: str) -> Incident:
        incident = db.session.get(Incident, incident_id)
        now = self.uow.clock.now()
        incident.resolved_at, incident.resolved_by_id, incident.resolution = now, admin.id, resolution
        if incident.instance_id is not None:
            audit.append(db.session.get(Instance, incident.instance_id), [
                {"instance_id": incident.instance_id, "type": "incident_resolved", "actor_id": admin.id, "at": now,
                 "data": {"incident_id": incident.id, "resolution": resolution}}])
        db.session.commit()
        return incident
