"""Deploying process definitions: the files of processes/, or a document edited in the modeler or
uploaded, each checked against what the application plugged in (app.engine.validation) and versioned
by content (app.engine.definitions). A scheduled process's wake-up follows its newest version."""
from __future__ import annotations

from functools import partial
from pathlib import Path

from app import db
from app.engine import definitions, schedules, validation
from app.engine.directory import User
from app.engine.models import ProcessDefinition
from app.engine.unit_of_work import UnitOfWork


class Deployment:
    def __init__(self, uow: UnitOfWork):
        self.uow = uow
        self._problems = partial(validation.definition_problems, uow.ext, trial=uow.sandbox)

    def deploy_directory(self, directory: str | Path) -> list[ProcessDefinition]:
        """Deploy every .bpmn file (with the .dmn files beside them); unchanged files create nothing,
        changed ones a new version. Scheduled processes get their next wake-up."""
        created = []
        now = self.uow.clock.now()
        dmn_files = definitions.dmn_files(str(directory))
        try:
            for path in definitions.bpmn_files(str(directory)):
                created += definitions.deploy(path.read_text(encoding="utf-8"), path.name, now, self._problems,
                                              dmn_files)
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
        now = self.uow.clock.now()
        created = [d for d in definitions.deploy(xml, source_name, now, self._problems, dmn_files,
                                                 deployed_by_id=user.id if user else None, change_note=change_note,
                                                 key=key)
                   if d.key == key]
        if not created:
            if allow_unchanged:
                return None
            raise definitions.DefinitionError("nothing changed: this is the deployed version")
        schedules.sync(created[0], now)
        return created[0]
