"""A case's life: opening it, claiming and completing its tasks, attaching files to it."""
from __future__ import annotations

from SpiffWorkflow.bpmn.specs.mixins.events.start_event import StartEvent

from app import db
from app.engine import audit, definitions
from app.engine.attachments import Attachment, checked
from app.engine.directory import User
from app.engine.models import (
    AFTER_SIGN,
    BEFORE_SIGN,
    DONE,
    OPEN,
    RESUBMIT,
    Incident,
    Instance,
    ProcessDefinition,
    Task,
)
from app.engine.plugins import ATTACH, CLAIM, COMPLETE, DECIDE, START, VIEW, CaseStart
from app.engine.unit_of_work import CaseContext, UnitOfWork
from app.errors import Conflict, InvalidData, NotFound
from app.i18n import _l


class CaseLifecycle:
    def __init__(self, uow: UnitOfWork):
        self.uow = uow

    def start(self, process_key: str, user: User, data: dict) -> Instance:
        definition = definitions.latest_definition(process_key)
        if definition is None:
            raise NotFound(_l("No such process."))
        self.uow.require(user, START, definition)
        _check_names(data)
        return self.uow.run(
            lambda: self.open_case(definition, user, data),
            incident=lambda: Incident(process_key=process_key, operation="start", data=data, actor_id=user.id))

    def open_case(self, definition: ProcessDefinition, user: User | None, data: dict) -> Instance:
        """Open a case in the current transaction; without a user, the schedule opens it."""
        uow = self.uow
        now = uow.clock.now()
        process = uow.ext.processes.get(definition.key)
        start = process.start(data, user, now) if process and process.start else self._plain_start(definition, data)
        instance = Instance(definition=definition, process_key=definition.key, business_key=start.business_key,
                            unique_key=start.unique_key, customer_id=start.customer_id, start_data=start.data,
                            state=b"", started_by_id=user.id if user else None, started_at=now)
        db.session.add(instance)  # written when first needed (CaseContext.instance)
        case = uow.case(instance, user, now)
        workflow = uow.new_workflow(case, definitions.parsed(definition))
        workflow.task_tree.data.update(start.data, initiator_id=instance.started_by_id)
        case.record("instance_started", {"process_key": definition.key, "version": definition.version,
                                         "form_data": data, "scheduled": user is None})
        uow.advance(case, workflow)
        return instance

    def _plain_start(self, definition: ProcessDefinition, data: dict) -> CaseStart:
        """A case of a process without a start hook: its data as filed, and, when its start form is drawn,
        the customer and branch that form chose (what the assignment rules read)."""
        schema = definition.drawn_form(definition.start_form_key)
        facts = self.uow.ext.drawn_forms.case_facts(schema, data) if schema is not None else {}
        return CaseStart(data={**data, **facts}, customer_id=facts.get("customer_id"))

    def claim(self, task_id: int, user: User) -> Task:
        def change() -> Task:
            task = self.uow.open_task(task_id)
            if task.assignee_id == user.id:
                return task
            self.uow.require(user, CLAIM, task)
            if task.assignee_id is not None:
                raise Conflict(_l("This task has already been claimed by %(name)s.",
                                  name=task.assignee.display_name))
            # Every way a task reaches a person asks this (the rule's choice when the task opens, a
            # claim); an administrator's reassignment may override it, on record.
            self.uow.require(user, DECIDE, task)
            now = self.uow.clock.now()
            # The person with his id: the row's `assignee` is read in this session after it (the answer).
            task.assignee, task.assignee_id, task.owner_id, task.claimed_at = user, user.id, user.id, now
            task.withdraw_further_offers()
            audit.append(task.instance, [{"instance_id": task.instance_id, "task_id": task.id, "type": "task_claimed",
                                          "actor_id": user.id, "at": now, "data": {}}])
            db.session.flush()
            return task
        return self.uow.run(change)

    def complete(self, task_id: int, user: User, data: dict) -> Task:
        def incident() -> Incident:
            task = db.session.get(Task, task_id)
            return Incident(process_key=task.process_key, instance_id=task.instance_id, task_id=task.id,
                            operation="complete", data=data, actor_id=user.id)

        _check_names(data)

        def change() -> Task:
            task = self.uow.open_task(task_id)
            self.uow.require(user, COMPLETE, task)
            case = self.uow.case(task.instance, user)
            if task.kind in (BEFORE_SIGN, AFTER_SIGN):
                self._finish_signing(task, user, data, case)
            elif task.kind == RESUBMIT:
                self._resubmit(task, user, data, case)
            else:
                self.uow.complete_step(task, user, data, case)
            return task
        return self.uow.run(change, incident=incident)

    def _finish_signing(self, side: Task, user: User, data: dict, case: CaseContext) -> None:
        """The signer decided: before the approver, the step goes back to him; after him, the step
        completes with his held decision, or with the signer's refusal."""
        uow = self.uow
        step = db.session.get(Task, side.parent_id)
        side.state, side.completed_at, side.completed_by_id = DONE, case.now, user.id
        case.record("signer_decided", {"form_key": side.form_key, "form_data": data}, task=side)
        if side.kind == BEFORE_SIGN:
            step.state = OPEN
            uow.save_events(case)
            uow.ext.notify([step.assignee_id], "task_assigned", case.now, instance_id=step.instance_id,
                           task_id=step.id, task=step.name, by=user, comment=data.get("comment", ""))
            return
        decision = dict(step.pending_data or {})
        if data.get("decision") == "reject":
            decision.update(decision="reject", comment=data.get("comment", ""))
        step.state, step.pending_data = OPEN, None
        uow.save_events(case)
        approver = db.session.get(User, step.assignee_id)
        uow.complete_step(step, approver, decision, uow.case(case.instance, approver, case.now))

    def _resubmit(self, side: Task, user: User, data: dict, case: CaseContext) -> None:
        """The initiator revised his request: the start hook checks it again, and the flow starts over
        from its start event with it."""
        uow, instance = self.uow, case.instance
        process = uow.ext.processes.get(instance.process_key)
        start = process.start(data, user, case.now, resubmitting=instance.id) if process and process.start else None
        new_data = start.data if start else dict(data)
        workflow = uow.load(instance, case)
        first = next(t for t in workflow.get_tasks() if isinstance(t.task_spec, StartEvent)
                     and t.workflow is workflow)
        # The start event takes its parents' data when it runs again: the revised request goes there too
        # (else the old request would come back over it).
        ancestor = first.parent
        while ancestor is not None:
            ancestor.data.update(new_data)
            ancestor = ancestor.parent
        reset(workflow, first.id, data={**workflow.task_tree.data, **new_data})
        instance.start_data = {**instance.start_data, **new_data}
        side.state, side.completed_at, side.completed_by_id = DONE, case.now, user.id
        case.record("request_resubmitted", {"form_key": side.form_key, "form_data": data}, task=side)
        uow.advance(case, workflow)

    def attach(self, instance_id: int, user: User, files: list[tuple[str, bytes]]) -> list[Attachment]:
        """Attach files (name, bytes) to a running case the user takes part in: each is checked by
        content, stored under its hash and listed in the case history. All or none."""
        self._attachable(instance_id, user)
        accepted = [(checked(name, content), content) for name, content in files]
        # The bytes first, outside any transaction (the store may be across the network); a file kept
        # for a refused or failed attach is only an unreferenced blob, never a row without its bytes.
        db.session.commit()
        stored = [(name, kind, content, self.uow.files.store(content)) for (name, kind), content in accepted]
        instance = self._attachable(instance_id, user)  # again: the case may have ended meanwhile
        now = self.uow.clock.now()
        added = []
        try:
            for name, kind, content, sha256 in stored:
                row = Attachment(instance_id=instance.id, sha256=sha256, filename=name,
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

    def _attachable(self, instance_id: int, user: User) -> Instance:
        instance = db.session.get(Instance, instance_id, populate_existing=True)
        if instance is None or self.uow.why_not(user, VIEW, instance):
            raise NotFound(_l("No such case."))
        self.uow.require(user, ATTACH, instance)
        return instance


def _check_names(data: dict) -> None:
    """A case's data names nothing that begins with "_": those are the sandbox's own names."""
    bad = sorted(name for name in data if str(name).startswith("_"))
    if bad:
        message = _l("A case's data may not name anything beginning with “_”: %(names)s.", names=", ".join(bad))
        raise InvalidData(message, {name: [message] for name in bad})


def reset(workflow, task_id, data=None) -> None:
    """Run the workflow again from an earlier task. SpiffWorkflow leaves the removed tasks' timer events
    registered; they go too (otherwise refreshing the timers meets tasks that are gone)."""
    for removed in workflow.reset_from_task_id(task_id, data):
        workflow.event_manager.remove_task(removed)
