"""The approval operations Chinese approvers expect, around the BPMN's own steps: transfer (转办), add a
signer before or after oneself (加签), send back to an earlier step (退回), withdraw (撤回), urge (催办),
and copy to readers (抄送). Each is one transaction of the engine service, an audited
event, a notification, and a clear refusal when it is not allowed.

Signers and the initiator's revised request are tasks of ours (Task.kind) around a step (parent_id):
the step itself is held while they are open, and SpiffWorkflow never sees them.
"""
from __future__ import annotations

import uuid
from datetime import timedelta

from SpiffWorkflow.bpmn.specs.mixins.events.start_event import StartEvent
from sqlalchemy import exists, select

from app import db, labels
from app.calendar import local
from app.domain import notifications, processes, readers, segregation
from app.domain.org import User, users_with_role
from app.engine import audit, definitions
from app.engine.models import (
    AFTER_SIGN,
    BEFORE_SIGN,
    DONE,
    HELD,
    OPEN,
    RESUBMIT,
    RUNNING,
    STEP,
    WITHDRAWN,
    Event,
    Instance,
    Task,
)
from app.errors import Conflict, Forbidden, InvalidData, NotFound
from app.i18n import _l

URGE_INTERVAL = timedelta(hours=4)
REQUEST = "request"  # where a send-back to the initiator's own form goes


def _reset(workflow, task_id, data=None) -> None:
    """Run the workflow again from an earlier task. SpiffWorkflow leaves the removed tasks' timer events
    registered; they go too (otherwise refreshing the timers meets tasks that are gone)."""
    for removed in workflow.reset_from_task_id(task_id, data):
        workflow.event_manager.remove_task(removed)


def _decided(instance: Instance) -> bool:
    """Whether anyone has completed a step of the case."""
    return db.session.scalar(select(exists().where(Task.instance_id == instance.id, Task.state == DONE,
                                                   Task.kind == STEP)))


def _invalid(field: str, message) -> InvalidData:
    return InvalidData(message, {field: [message]})


class ApprovalOperations:
    """Mixed into EngineService: it brings `clock`, `_in_transaction`, `_open_task`, `_load`, `_advance`,
    `_complete_step` and CaseContext handling."""

    # -- transfer --------------------------------------------------------------------------------

    def transfer(self, task_id: int, user: User, to: User, comment: str) -> Task:
        """The assignee hands his task to another eligible person, who now owns it."""
        def change() -> Task:
            task = self._own_open_task(task_id, user)
            if task.kind != STEP:
                raise Forbidden(_l("An added signer's task cannot be handed on."))
            why_not = self._ineligible(task, to, user)
            if why_not:
                raise _invalid("to", why_not)
            now = self.clock.now()
            task.assignee_id, task.owner_id, task.claimed_at = to.id, to.id, now
            self._append(task, "task_transferred", user, now, {"from": user.id, "to": to.id,
                                                                "person": to.display_name, "comment": comment})
            notifications.notify([to.id], "task_transferred", now, instance_id=task.instance_id, task_id=task.id,
                                 task=task.name, by=user, comment=comment)
            return task
        return self._in_transaction(change)

    def _ineligible(self, task: Task, person: User, acting: User):
        """Why `person` may not take this task over from `acting` (None: he may). He must be active, may
        not be kept from it by segregation of duties, and must be one who could have had it: a member
        of the group it was offered to, or someone of the same branch (or headquarters)."""
        if person.id == acting.id or not person.active:
            return _l("Choose an active person other than yourself.")
        rule = segregation.conflict(task, person)
        if rule:
            return _l("%(name)s may not decide this step: he %(rule)s.", name=person.display_name,
                      rule=labels.label(labels.SEGREGATION_RULES, rule))
        if task.candidate_role is not None:
            if not person.has_role(task.candidate_role, task.candidate_org_unit_id):
                return _l("%(name)s is not one of those this task is offered to.", name=person.display_name)
        elif person.org_unit.branch() != acting.org_unit.branch():
            return _l("%(name)s works in another branch.", name=person.display_name)
        return None

    # -- adding a signer ---------------------------------------------------------------------------

    def add_signer(self, task_id: int, user: User, signer: User, position: str, comment: str,
                   decision: dict | None = None) -> Task:
        """Ask `signer` for his opinion on a consent or approval step: before the approver decides (the
        task comes back to him afterwards), or after (`decision` is the approver's, held until the signer
        has decided; a signer's refusal refuses). Returns the signer's task."""
        if position not in (BEFORE_SIGN, AFTER_SIGN):
            raise _invalid("position", _l("Add a signer before or after yourself."))

        def change() -> Task:
            task = self._own_open_task(task_id, user)
            if task.kind != STEP:
                raise Forbidden(_l("An added signer cannot add further signers."))
            if not task.approval:
                raise Forbidden(_l("Signers are added to consent and approval steps only."))
            why_not = self._ineligible(task, signer, user) if signer.id != user.id else _l("You cannot add yourself.")
            if why_not:
                raise _invalid("signer", why_not)
            if position == AFTER_SIGN and not decision:
                raise _invalid("decision", _l("Decide first: the signer decides after you."))
            now = self.clock.now()
            task.state, task.pending_data = HELD, decision if position == AFTER_SIGN else None
            side = self._side_task(task, position, signer, "signer_opinion", now)
            self._append(task, "signer_added", user, now, {"position": position, "signer": signer.id,
                                                            "person": signer.display_name, "comment": comment,
                                                            **({"form_data": decision} if decision else {})})
            notifications.notify([signer.id], "signer_added", now, instance_id=task.instance_id, task_id=side.id,
                                 task=task.name, by=user, comment=comment)
            return side
        return self._in_transaction(change)

    def _side_task(self, step: Task, kind: str, person: User, form_key: str, now) -> Task:
        name = {BEFORE_SIGN: _l("%(step)s (opinion before)", step=step.name),
                AFTER_SIGN: _l("%(step)s (opinion after)", step=step.name),
                RESUBMIT: _l("Revise the request")}[kind]
        side = Task(instance_id=step.instance_id, process_key=step.process_key, spiff_task_id=str(uuid.uuid4()),
                    spec_id=step.spec_id, name=str(name), form_key=form_key, state=OPEN, kind=kind,
                    parent_id=step.id, assignee_id=person.id, owner_id=person.id, created_at=now, claimed_at=now)
        db.session.add(side)
        db.session.flush()
        return side

    def _finish_signing(self, side: Task, user: User, data: dict, case) -> None:
        """The signer decided: before the approver, the step goes back to him; after him, the step
        completes with his held decision, or with the signer's refusal."""
        step = db.session.get(Task, side.parent_id)
        side.state, side.completed_at, side.completed_by_id = DONE, case.now, user.id
        case.record("signer_decided", {"form_key": side.form_key, "form_data": data}, task=side)
        if side.kind == BEFORE_SIGN:
            step.state = OPEN
            self._save_events(case)
            notifications.notify([step.assignee_id], "task_assigned", case.now, instance_id=step.instance_id,
                                 task_id=step.id, task=step.name, by=user, comment=data.get("comment", ""))
            return
        decision = dict(step.pending_data or {})
        if data.get("decision") == "reject":
            decision.update(decision="reject", comment=data.get("comment", ""))
        step.state, step.pending_data = OPEN, None
        self._save_events(case)
        approver = db.session.get(User, step.assignee_id)
        self._complete_step(step, approver, decision, self._case(case.instance, approver, case.now))

    # -- sending back ------------------------------------------------------------------------------

    def send_back_targets(self, task: Task) -> list[tuple[str, str]]:
        """The earlier human steps this task may send the case back to, as (step id, name), the
        initiator's request first when it has one: steps the case has passed, limited by the step's
        `send_back_to` property when the BPMN gives one."""
        passed: dict[str, str] = {}
        for spec_id, name in db.session.execute(
                select(Task.spec_id, Task.name).where(Task.instance_id == task.instance_id, Task.kind == STEP,
                                                      Task.state == DONE, Task.spec_id != task.spec_id)
                .order_by(Task.completed_at)):
            passed.setdefault(spec_id, name)
        instance = task.instance
        targets = ([(REQUEST, str(_l("The initiator's request")))]
                   if instance.started_by_id and instance.definition.start_form_key else [])
        targets += list(passed.items())
        allowed = definitions.task_spec(instance.definition, task.spec_id).send_back_to
        return [t for t in targets if allowed is None or t[0] in allowed]

    def send_back(self, task_id: int, user: User, to: str, comment: str) -> Task:
        """Return the case to an earlier step (or the initiator's request) with a comment; that step's
        person gets it again with what he filed before, and the flow goes on from there."""
        if not (comment or "").strip():
            raise _invalid("comment", _l("Say what must change: it goes to whoever gets the case back."))

        def change() -> Task:
            task = self._own_open_task(task_id, user)
            if task.kind != STEP:
                raise Forbidden(_l("Only the step's approver sends a case back."))
            if to not in dict(self.send_back_targets(task)):
                raise _invalid("to", _l("The case can only go back to a step it has passed (and the process "
                                        "allows from here)."))
            instance, now = task.instance, self.clock.now()
            data = {"to": to, "comment": comment}
            if to == REQUEST:
                task.state = HELD
                side = self._side_task(task, RESUBMIT, instance.started_by, instance.definition.start_form_key, now)
                self._append(task, "sent_back", user, now, data)
                notifications.notify([side.assignee_id], "sent_back", now, instance_id=instance.id,
                                     task_id=side.id, task=side.name, by=user, comment=comment)
                return side
            earlier = db.session.scalar(select(Task).where(Task.instance_id == instance.id, Task.spec_id == to,
                                                           Task.state == DONE).order_by(Task.completed_at.desc())
                                        .limit(1))
            case = self._case(instance, user, now)
            workflow = self._load(instance, case)
            _reset(workflow, uuid.UUID(earlier.spiff_task_id))
            case.assign_again[to] = earlier.completed_by_id
            case.record("sent_back", data, task=task)
            self._advance(case, workflow)
            again = db.session.scalar(select(Task).where(Task.instance_id == instance.id, Task.spec_id == to,
                                                         Task.state == OPEN))
            notifications.notify([again.assignee_id], "sent_back", now, instance_id=instance.id, task_id=again.id,
                                 task=again.name, by=user, comment=comment)
            return again
        return self._in_transaction(change)

    def _resubmit(self, side: Task, user: User, data: dict, case) -> None:
        """The initiator revised his request: the start hook checks it again, and the flow starts over
        from its start event with it."""
        instance = case.instance
        hook = processes.START_HOOKS.get(instance.process_key)
        start = hook(data, user, case.now, resubmitting=instance.id) if hook else None
        new_data = start.data if start else dict(data)
        workflow = self._load(instance, case)
        first = next(t for t in workflow.get_tasks() if isinstance(t.task_spec, StartEvent)
                     and t.workflow is workflow)
        _reset(workflow, first.id, data={**workflow.task_tree.data, **new_data})
        instance.start_data = {**instance.start_data, **new_data}
        side.state, side.completed_at, side.completed_by_id = DONE, case.now, user.id
        case.record("request_resubmitted", {"form_key": side.form_key, "form_data": data}, task=side)
        self._advance(case, workflow)

    # -- withdrawing, urging, copying ----------------------------------------------------------------

    def may_withdraw(self, user: User, instance: Instance) -> bool:
        """The initiator, while the case runs and nobody has decided anything in it."""
        return instance.started_by_id == user.id and instance.status == RUNNING and not _decided(instance)

    def withdraw(self, instance_id: int, user: User, reason: str) -> Instance:
        """The initiator takes his request back while nobody has decided anything in it."""
        if not (reason or "").strip():
            raise _invalid("reason", _l("Say why you withdraw the request."))

        def change() -> Instance:
            instance = db.session.get(Instance, instance_id)
            if instance is None:
                raise NotFound(_l("No such case."))
            if instance.started_by_id != user.id:
                raise Forbidden(_l("Only the initiator may withdraw a request."))
            if instance.status != RUNNING:
                raise Conflict(_l("This case is no longer running."))
            if _decided(instance):
                raise Conflict(_l("Someone has already decided in this case: it can no longer be withdrawn."))
            case = self._case(instance, user, self.clock.now())
            workflow = self._load(instance, case)
            waiting = [t.assignee_id for t in db.session.scalars(select(Task).where(
                Task.instance_id == instance.id, Task.state.in_((OPEN, HELD))))]
            workflow.cancel()
            case.record("instance_withdrawn", {"reason": reason.strip()})
            self._advance(case, workflow)
            instance.status, instance.outcome, instance.ended_at = WITHDRAWN, WITHDRAWN, case.now
            notifications.notify(waiting, "case_withdrawn", case.now, instance_id=instance.id, by=user,
                                 comment=reason.strip())
            return instance
        return self._in_transaction(change)

    def urge(self, task_id: int, user: User, comment: str = "") -> Task:
        """The initiator nudges whoever the case waits for: at most once per task every 4 hours."""
        def change() -> Task:
            task = db.session.get(Task, task_id)
            if task is None:
                raise NotFound(_l("No such task."))
            if task.instance.started_by_id != user.id:
                raise Forbidden(_l("Only the initiator may urge."))
            if task.state not in (OPEN, HELD):
                raise Conflict(_l("This task is no longer waiting."))
            now = self.clock.now()
            last = db.session.scalar(select(Event.at).where(Event.task_id == task.id, Event.type == "task_urged")
                                     .order_by(Event.at.desc()).limit(1))
            if last is not None and now - last < URGE_INTERVAL:
                raise Conflict(_l("You urged this task at %(when)s; you may urge again 4 hours after that.",
                                  when=local(last).strftime("%H:%M")))
            self._append(task, "task_urged", user, now, {"comment": comment})
            notifications.notify(self._who_decides(task), "task_urged", now, instance_id=task.instance_id,
                                 task_id=task.id, task=task.name, by=user, comment=comment)
            return task
        return self._in_transaction(change)

    def copy_to(self, instance_id: int, user: User, people: list[User], note: str = "") -> list[User]:
        """Add readers to a case (抄送): they see it read-only in their "copied to me" list."""
        def change() -> list[User]:
            instance = db.session.get(Instance, instance_id)
            added = readers.add(instance_id, people, user, self.clock.now(), note)
            if not added:
                raise _invalid("readers", _l("Name at least one active person who is not a reader yet."))
            self._append(instance, "case_copied", user, self.clock.now(), readers.event_data(added, note))
            return added
        return self._in_transaction(change)

    # -- helpers -----------------------------------------------------------------------------------

    def _own_open_task(self, task_id: int, user: User) -> Task:
        task = self._open_task(task_id)
        if task.assignee_id != user.id:
            raise Forbidden(_l("Only the task's assignee may do this; claim it first if it is offered to you.")
                            if task.assignee_id is None else _l("This task is not yours."))
        return task

    def _who_decides(self, task: Task) -> list[int]:
        if task.state == HELD:  # waiting for a signer or for the initiator's revision
            return list(db.session.scalars(select(Task.assignee_id).where(Task.parent_id == task.id,
                                                                          Task.state == OPEN)))
        if task.assignee_id is not None:
            return [task.assignee_id]
        return [u.id for u in users_with_role(task.candidate_role, task.candidate_org_unit_id)]

    def _append(self, task: Task | Instance, event_type: str, actor: User, now, data: dict) -> None:
        """One event of an operation that does not run the flow, about a task or a whole case."""
        instance, task_id = (task.instance, task.id) if isinstance(task, Task) else (task, None)
        audit.append(instance, [{"instance_id": instance.id, "task_id": task_id, "type": event_type,
                                 "actor_id": actor.id, "at": now, "data": data}])
        db.session.flush()

