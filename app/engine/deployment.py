"""Deploying process definitions: the files of processes/, or a document edited in the modeler or
uploaded, each checked against what the application plugged in (app.engine.validation) and versioned
by content (app.engine.definitions). A scheduled process's wake-up follows its version in force.

Files of processes/ (the command line: how the application is installed) take effect at once. A
document deployed from the administration pages takes effect at once too, unless its process is
sensitive (`Process.sensitive`): then it waits for a second person's approval (maker–checker). Both the
deployment and the approval or rejection are in the audit trail, as events about no case."""
from __future__ import annotations

import re
from functools import partial
from pathlib import Path

from sqlalchemy import update

from app import db
from app.engine import audit, definitions, schedules, validation
from app.engine.directory import User
from app.engine.models import DrawnProcess, ProcessDefinition
from app.engine.plugins import APPROVE_VERSION, Process
from app.engine.unit_of_work import UnitOfWork
from app.errors import Conflict, InvalidData, NotFound
from app.i18n import _l

# A process key an administrator gives: the BPMN process id, and the name of its files and pages.
PROCESS_KEY = re.compile(r"^[a-z][a-z0-9_]{2,59}$")


def declared_process(key: str) -> Process | None:
    """What the declaration of a process made in the administration pages says outside its BPMN (who may
    open its cases, whether its versions need a second approval); None for any other key."""
    declared = db.session.get(DrawnProcess, key)
    if declared is None:
        return None
    return Process(starters=frozenset(declared.starter_roles) or None,
                   starting_units=frozenset(declared.starter_units) or None, sensitive=declared.sensitive)


class Deployment:
    def __init__(self, uow: UnitOfWork):
        self.uow = uow
        self._problems = partial(validation.definition_problems, uow.ext, trial=uow.sandbox)

    def deploy_directory(self, directory: str | Path) -> list[ProcessDefinition]:
        """Deploy every .bpmn file (with the .dmn and .form files beside them: decision tables, drawn
        forms); unchanged files create nothing, changed ones a new version. Scheduled processes get their
        next wake-up."""
        created = []
        now = self.uow.clock.now()
        try:
            dmn_files, forms = definitions.dmn_files(str(directory)), definitions.form_files(str(directory))
            for path in definitions.bpmn_files(str(directory)):
                created += definitions.deploy(path.read_text(encoding="utf-8"), path.name, now, self._problems,
                                              dmn_files, forms=forms)
            for definition in definitions.latest_definitions():
                schedules.sync(definition, now)
            db.session.commit()
        except Exception:
            db.session.rollback()
            raise
        return created

    def check_document(self, xml: str, source_name: str, key: str, dmn_files: dict[str, str],
                       forms: dict[str, dict] | None = None) -> list:
        """What keeps an edited BPMN document of process `key` from being deployed (nothing saved).
        `forms` ({form id: schema}): the drawn forms its steps may name (definitions.offered_forms)."""
        try:
            self._deploy_document(xml, source_name, key, None, "", dmn_files, allow_unchanged=True, forms=forms)
        except definitions.DefinitionError as exc:
            return exc.problems
        finally:
            db.session.rollback()
        return []

    def deploy_document(self, xml: str, source_name: str, key: str, user: User, change_note: str,
                        dmn_files: dict[str, str], forms: dict[str, dict] | None = None) -> ProcessDefinition:
        """Deploy an edited or uploaded BPMN document of process `key` as its next version, with the DMN
        tables and drawn forms (`forms`) it uses: new cases start on it, running ones stay on theirs. A
        sensitive process's version waits, pending, until a second person approves it (`approve`); until
        then new cases start on the version in force, and another version cannot be deployed. The
        deployment is in the audit trail."""
        sensitive = self.uow.ext.sensitive(key)
        try:
            if sensitive and (waiting := definitions.pending_version(key)) is not None:
                raise Conflict(_l("Version %(version)s waits for approval: it must be approved or rejected before "
                                  "another version is deployed.", version=waiting.version))
            definition = self._deployed(xml, source_name, key, user, change_note, dmn_files, forms,
                                        takes_effect=not sensitive)
            db.session.commit()
        except Exception:
            db.session.rollback()
            raise
        return definition

    def declare(self, declaration: DrawnProcess, xml: str, forms: dict[str, dict], user: User,
                change_note: str) -> ProcessDefinition:
        """A new process from the administration pages: its declaration (key, name, who may open its cases,
        whether it is sensitive) and its first version, `xml` with its drawn `forms`, in one transaction.
        The first version takes effect at once, sensitive or not: there is no version in force for a
        second person to weigh it against, and what it may do is the template's; every later version of a
        sensitive process waits for approval. InvalidData for a key that is not a process id or that a
        process already has."""
        key = declaration.key
        if not PROCESS_KEY.match(key or ""):
            raise InvalidData.on("key", _l("Lowercase letters, digits and _, 3 to 60 characters, beginning with a "
                                           "letter."))
        if key in self.uow.ext.processes or definitions.newest_version(key) is not None \
                or db.session.get(DrawnProcess, key) is not None:
            raise InvalidData.on("key", _l("A process of this key exists already."))
        try:
            declaration.created_at, declaration.created_by_id = self.uow.clock.now(), user.id
            db.session.add(declaration)
            definition = self._deployed(xml, f"{key}.bpmn", key, user, change_note, {}, forms, takes_effect=True)
            db.session.commit()
        except Exception:
            db.session.rollback()
            raise
        return definition

    def _deployed(self, xml, source_name, key, user, change_note, dmn_files, forms, takes_effect):
        """The next version deployed and on record, in the current transaction."""
        definition = self._deploy_document(xml, source_name, key, user, change_note, dmn_files,
                                           takes_effect=takes_effect, forms=forms)
        self._record(definition, "version_deployed", user, definition.deployed_at,
                     {"change_note": change_note, "content_hash": definition.content_hash,
                      "pending": definition.is_pending})
        return definition

    def _deploy_document(self, xml, source_name, key, user, change_note, dmn_files, allow_unchanged=False,
                         takes_effect=True, forms=None):
        now = self.uow.clock.now()
        created = [d for d in definitions.deploy(xml, source_name, now, self._problems, dmn_files,
                                                 deployed_by_id=user.id if user else None, change_note=change_note,
                                                 key=key, takes_effect=takes_effect, forms=forms)
                   if d.key == key]
        if not created:
            if allow_unchanged:
                return None
            raise definitions.DefinitionError("nothing changed: this is the deployed version")
        if takes_effect:
            schedules.sync(created[0], now)
        return created[0]

    # -- maker–checker -----------------------------------------------------------------------------

    def approve(self, definition_id: int, user: User) -> ProcessDefinition:
        """A second person approves a pending version: it takes effect (new cases start on it, a
        schedule follows it). Another process administrator than its deployer, or a compliance reviewer
        (the policy's APPROVE_VERSION)."""
        def change() -> ProcessDefinition:
            definition, now = self._pending(definition_id, user, approving=True), self.uow.clock.now()
            self._decide(definition, approved_at=now, approved_by_id=user.id)
            schedules.sync(definition, now)
            self._record(definition, "version_approved", user, now, {"deployed_by_id": definition.deployed_by_id})
            return definition
        return self.uow.run(change)

    def reject(self, definition_id: int, user: User, reason: str) -> ProcessDefinition:
        """A second person rejects a pending version, with his reason: the version in force stays."""
        def change() -> ProcessDefinition:
            definition, now = self._pending(definition_id, user), self.uow.clock.now()
            if not (reason or "").strip():
                message = _l("Give the reason for the rejection: it goes into the audit trail.")
                raise InvalidData.on("reason", message)
            self._decide(definition, rejected_at=now, rejected_by_id=user.id, rejected_reason=reason.strip())
            self._record(definition, "version_rejected", user, now,
                         {"deployed_by_id": definition.deployed_by_id, "reason": reason.strip()})
            return definition
        return self.uow.run(change)

    def _pending(self, definition_id: int, user: User, approving: bool = False) -> ProcessDefinition:
        definition = db.session.get(ProcessDefinition, definition_id)
        if definition is None:
            raise NotFound(_l("No such version."))
        self.uow.require(user, APPROVE_VERSION, definition)
        if not definition.is_pending:
            raise Conflict(_l("This version no longer waits for approval."))
        current = definitions.latest_definition(definition.key)
        if approving and current is not None and current.version > definition.version:
            raise Conflict(_l("Version %(version)s took effect after this one was deployed: this one can no longer "
                              "take effect; reject it.", version=current.version))
        return definition

    @staticmethod
    def _decide(definition: ProcessDefinition, **values) -> None:
        """Approve or reject, once: of two people deciding at the same moment, the second is refused."""
        decided = db.session.execute(
            update(ProcessDefinition).where(ProcessDefinition.id == definition.id,
                                            ProcessDefinition.approved_at.is_(None),
                                            ProcessDefinition.rejected_at.is_(None)).values(**values)
            .execution_options(synchronize_session=False))
        if decided.rowcount != 1:
            raise Conflict(_l("This version no longer waits for approval."))
        db.session.refresh(definition)

    @staticmethod
    def _record(definition: ProcessDefinition, event_type: str, user: User | None, now, data: dict) -> None:
        """An event about a version, on the audit trail's chain of events about no case."""
        audit.append(None, [{"type": event_type, "actor_id": user.id if user else None, "at": now,
                             "data": {"process_key": definition.key, "version": definition.version,
                                      "definition_id": definition.id, **data}}])
