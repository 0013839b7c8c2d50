"""The approval operations Chinese approvers expect, around the BPMN's own steps: transfer (转办), add a
signer before or after oneself (加签), send back to an earlier step (退回), withdraw (撤回), urge (催办),
and copy to readers (抄送). Each is one transaction, an audited event, a notification, and a clear
refusal when it is not allowed.

Signers and the initiator's revised request are tasks of ours (Task.kind) around a step (parent_id):
the step itself is held while they are open, and SpiffWorkflow never sees them.
"""
from __future__ import annotations

import uuid
from datetime import timedelta

from sqlalchemy import exists, select

from app import db
from app.calendar import local
from app.engine import definitions, projection, readers
from app.engine.directory import User
from app.engine.lifecycle import reset
from app.engine.models import (
    AFTER_SIGN,
    BEFORE_SIGN,
    DONE,
    HELD,
    OPEN,
    RESUBMIT,
    RUNNING,
    STEP,
    Event,
    Instance,
    Task,
)
from app.engine.plugins import ACT, COPY, TAKE_OVER, URGE, WITHDRAW
from app.engine.unit_of_work import UnitOfWork
from app.errors import Conflict, Forbidden, InvalidData, NotFound
from app.i18n import _l

URGE_INTERVAL = timedelta(hours=4)
REQUEST = "request"  # where a send-back to the initiator's own form goes


def decided(instance: Instance) -> bool:
    """Whether anyone has completed a step of the case."""
    return db.session.scalar(select(exists().where(Task.instance_id == instance.id, Task.state == DONE,
                                                   Task.kind == STEP)))



class ApprovalOperations:
    def __init__(self, uow: UnitOfWork):
        self.uow = uow

    def withdrawable(self, instance: Instance) -> bool:
        """A case its initiator may still take back: running, nobody has decided anything in it, and of a
        process whose cases may be withdrawn."""
        return (instance.status == RUNNING and self.uow.ext.never_withdrawn(instance.process_key) is None
                and not decided(instance))

    def _own_open_task(self, task_id: int, user: User) -> Task:
        task = self.uow.open_task(task_id)
        self.uow.require(user, ACT, task)
        return task

    # -- transfer --------------------------------------------------------------------------------

    def transfer(self, task_id: int, user: User, to: User, comment: str) -> Task:
        """The assignee hands his task to another eligible person, who now owns it."""
        def change() -> Task:
            task = self._own_open_task(task_id, user)
            if task.kind != STEP:
                raise Forbidden(_l("An added signer's task cannot be handed on."))
            why_not = self.uow.why_not(to, TAKE_OVER, task, by=user)
            if why_not:
                raise InvalidData.on("to", why_not)
            now = self.uow.clock.now()
            # The person with his id: the row's `assignee` is read in this session after it (the answer).
            task.assignee, task.assignee_id, task.owner_id, task.claimed_at = to, to.id, to.id, now
            self.uow.append(task, "task_transferred", user, now, {"from": user.id, "to": to.id,
                                                                   "person": to.display_name, "comment": comment})
            self.uow.ext.notify([to.id], "task_transferred", now, instance_id=task.instance_id, task_id=task.id,
                                task=task.name, by=user, comment=comment)
            return task
        return self.uow.run(change)

    # -- adding a signer ---------------------------------------------------------------------------

    def add_signer(self, task_id: int, user: User, signer: User, position: str, comment: str,
                   decision: dict | None = None) -> Task:
        """Ask `signer` for his opinion on a consent or approval step: before the approver decides (the
        task comes back to him afterwards), or after (`decision` is the approver's, held until the signer
        has decided; a signer's refusal refuses). Returns the signer's task."""
        if position not in (BEFORE_SIGN, AFTER_SIGN):
            raise InvalidData.on("position", _l("Add a signer before or after yourself."))

        def change() -> Task:
            task = self._own_open_task(task_id, user)
            if task.kind != STEP:
                raise Forbidden(_l("An added signer cannot add further signers."))
            if not task.approval:
                raise Forbidden(_l("Signers are added to consent and approval steps only."))
            why_not = (self.uow.why_not(signer, TAKE_OVER, task, by=user) if signer.id != user.id
                       else _l("You cannot add yourself."))
            if why_not:
                raise InvalidData.on("signer", why_not)
            if position == AFTER_SIGN and not decision:
                raise InvalidData.on("decision", _l("Decide first: the signer decides after you."))
            now = self.uow.clock.now()
            task.state, task.pending_data = HELD, decision if position == AFTER_SIGN else None
            side = self._side_task(task, position, signer, "signer_opinion", now)
            self.uow.append(task, "signer_added", user, now, {"position": position, "signer": signer.id,
                                                               "person": signer.display_name, "comment": comment,
                                                               **({"form_data": decision} if decision else {})})
            self.uow.ext.notify([signer.id], "signer_added", now, instance_id=task.instance_id, task_id=side.id,
                                task=task.name, by=user, comment=comment)
            return side
        return self.uow.run(change)

    def _side_task(self, step: Task, kind: str, person: User, form_key: str, now) -> Task:
        name = {BEFORE_SIGN: _l("%(step)s (opinion before)", step=step.name),
                AFTER_SIGN: _l("%(step)s (opinion after)", step=step.name),
                RESUBMIT: _l("Revise the request")}[kind]
        side = Task(instance_id=step.instance_id, process_key=step.process_key, spiff_task_id=str(uuid.uuid4()),
                    spec_id=step.spec_id, name=str(name), form_key=form_key, state=OPEN, kind=kind,
                    parent_id=step.id, assignee_id=person.id, owner_id=person.id, created_at=now, claimed_at=now)
        projection.add_row(side)
        db.session.flush()
        return side

    # -- sending back ------------------------------------------------------------------------------

    def send_back_targets(self, task: Task) -> list[tuple[str, str]]:
        """The earlier human steps this task may send the case back to, as (step id, name), the
        initiator's request first when it has one: steps the case has passed, limited by the step's
        `send_back_to` property when the BPMN gives one."""
        passed: dict[str, str] = {}
        for spec_id, name in db.session.execute(
                select(Task.spec_id, Task.name).where(Task.instance_id == task.instance_id, Task.kind == STEP,
                                                      Task.state == DONE, Task.spec_id != task.spec_id)
                .order_by(Task.completed_at, Task.id)):
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
            raise InvalidData.on("comment", _l("Say what must change: it goes to whoever gets the case back."))

        def change() -> Task:
            uow = self.uow
            task = self._own_open_task(task_id, user)
            if task.kind != STEP:
                raise Forbidden(_l("Only the step's approver sends a case back."))
            if to not in dict(self.send_back_targets(task)):
                raise InvalidData.on("to", _l("The case can only go back to a step it has passed (and the process "
                                        "allows from here)."))
            instance, now = task.instance, uow.clock.now()
            data = {"to": to, "comment": comment}
            if to == REQUEST:
                task.state = HELD
                side = self._side_task(task, RESUBMIT, instance.started_by, instance.definition.start_form_key, now)
                uow.append(task, "sent_back", user, now, data)
                uow.ext.notify([side.assignee_id], "sent_back", now, instance_id=instance.id,
                               task_id=side.id, task=side.name, by=user, comment=comment)
                return side
            earlier = db.session.scalar(select(Task).where(Task.instance_id == instance.id, Task.spec_id == to,
                                                           Task.state == DONE)
                                        # the latest pass; two completions in one instant by their order
                                        .order_by(Task.completed_at.desc(), Task.id.desc()).limit(1))
            case = uow.case(instance, user, now)
            workflow = uow.load(instance, case)
            reset(workflow, uuid.UUID(earlier.spiff_task_id))
            case.assign_again[to] = earlier.completed_by_id
            case.record("sent_back", data, task=task)
            uow.advance(case, workflow)
            again = db.session.scalar(select(Task).where(Task.instance_id == instance.id, Task.spec_id == to,
                                                         Task.state == OPEN))
            uow.ext.notify([again.assignee_id], "sent_back", now, instance_id=instance.id, task_id=again.id,
                           task=again.name, by=user, comment=comment)
            return again
        return self.uow.run(change)

    # -- withdrawing, urging, copying ----------------------------------------------------------------

    def withdraw(self, instance_id: int, user: User, reason: str) -> Instance:
        """The initiator takes his request back while nobody has decided anything in it."""
        if not (reason or "").strip():
            raise InvalidData.on("reason", _l("Say why you withdraw the request."))

        def change() -> Instance:
            uow = self.uow
            instance = db.session.get(Instance, instance_id)
            if instance is None:
                raise NotFound(_l("No such case."))
            uow.require(user, WITHDRAW, instance)
            if (never := uow.ext.never_withdrawn(instance.process_key)) is not None:
                raise Conflict(never)
            if instance.status != RUNNING:
                raise Conflict(_l("This case is no longer running."))
            if decided(instance):
                raise Conflict(_l("Someone has already decided in this case: it can no longer be withdrawn."))
            case = uow.case(instance, user)
            workflow = uow.load(instance, case)
            waiting = [t.assignee_id for t in db.session.scalars(select(Task).where(
                Task.instance_id == instance.id, Task.state.in_((OPEN, HELD))))]
            workflow.cancel()
            case.withdrawn = True
            case.record("instance_withdrawn", {"reason": reason.strip()})
            uow.advance(case, workflow)
            uow.ext.notify(waiting, "case_withdrawn", case.now, instance_id=instance.id, by=user,
                           comment=reason.strip())
            return instance
        return self.uow.run(change)

    def urge(self, task_id: int, user: User, comment: str = "") -> Task:
        """The initiator nudges whoever the case waits for: at most once per task every 4 hours."""
        def change() -> Task:
            uow = self.uow
            task = db.session.get(Task, task_id)
            if task is None:
                raise NotFound(_l("No such task."))
            uow.require(user, URGE, task)
            if task.state not in (OPEN, HELD):
                raise Conflict(_l("This task is no longer waiting."))
            now = uow.clock.now()
            last = db.session.scalar(select(Event.at).where(Event.task_id == task.id, Event.type == "task_urged")
                                     .order_by(Event.at.desc()).limit(1))
            if last is not None and now - last < URGE_INTERVAL:
                raise Conflict(_l("You urged this task at %(when)s; you may urge again 4 hours after that.",
                                  when=local(last).strftime("%H:%M")))
            uow.append(task, "task_urged", user, now, {"comment": comment})
            uow.ext.notify(projection.who_decides(task), "task_urged", now, instance_id=task.instance_id,
                           task_id=task.id, task=task.name, by=user, comment=comment)
            return task
        return self.uow.run(change)

    def copy_to(self, instance_id: int, user: User, people: list[User], note: str = "") -> list[User]:
        """Add readers to a case (抄送): they see it read-only in their "copied to me" list."""
        def change() -> list[User]:
            uow = self.uow
            instance = db.session.get(Instance, instance_id)
            if instance is None:
                raise NotFound(_l("No such case."))
            uow.require(user, COPY, instance)
            now = uow.clock.now()
            added = readers.add(uow.ext, instance_id, people, user, now, note)
            if not added:
                raise InvalidData.on("readers", _l("Name at least one active person who is not a reader yet."))
            uow.append(instance, "case_copied", user, now, readers.event_data(added, note))
            return added
        return self.uow.run(change)
