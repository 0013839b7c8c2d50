"""The engine as the application holds it: one per application, its services sharing one unit of work.

    engine = Engine(clock, extensions, LocalFiles(directory))   (or S3Files: app.engine.file_stores)
    engine.cases        start, claim, complete, attach            (app.engine.lifecycle)
    engine.operations   transfer, signers, send back, withdraw, urge, copy   (app.engine.operations)
    engine.admin        suspend, resume, terminate, reassign, migrate, incidents   (app.engine.administration)
    engine.deployment   deploy files and documents, check a document, approve or reject a pending
                        version of a sensitive process (maker–checker)   (app.engine.deployment)
    engine.timers       fire due timers and schedules             (app.engine.timers)
"""
from __future__ import annotations

from datetime import timedelta

from app.calendar import Clock
from app.engine import decisions, spiff_clock, timers
from app.engine.administration import Administration
from app.engine.deployment import Deployment
from app.engine.file_stores import FileStore
from app.engine.isolation import Limits
from app.engine.lifecycle import CaseLifecycle
from app.engine.models import ProcessDefinition
from app.engine.operations import ApprovalOperations
from app.engine.plugins import Extensions
from app.engine.timers import Timers
from app.engine.unit_of_work import UnitOfWork

spiff_clock.install()


class Engine:
    def __init__(self, clock: Clock, extensions: Extensions, files: FileStore, limits: Limits | None = None,
                 schedule_lease: timedelta = timers.LEASE):
        self.uow = UnitOfWork(clock, extensions, files, limits or Limits())
        self.cases = CaseLifecycle(self.uow)
        self.operations = ApprovalOperations(self.uow)
        self.admin = Administration(self.uow, self.cases)
        self.deployment = Deployment(self.uow)
        self.timers = Timers(self.uow, self.cases, schedule_lease)

    @property
    def clock(self) -> Clock:
        return self.uow.clock

    @property
    def extensions(self) -> Extensions:
        return self.uow.ext

    @property
    def files(self) -> FileStore:
        return self.uow.files

    def decide(self, definition: ProcessDefinition, decision_id: str, inputs: dict) -> dict:
        """A decision table of a deployed version over `inputs`, outside a running step (a form showing
        the proposal its service will record)."""
        return decisions.decide(definition, decision_id, inputs, self.uow.sandbox)
