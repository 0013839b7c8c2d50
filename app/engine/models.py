"""Tables the engine owns: definitions, instances, the human-task projection, and audit events."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, LargeBinary, String, Text, UniqueConstraint, and_, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app import db
from app.db_types import JSONDoc, Sha256, UTCDateTime
from app.engine.directory import OrgUnit, User
from app.engine.plugins import drawn_form_id
from app.i18n import _l

# Instance status
RUNNING, SUSPENDED, COMPLETED, TERMINATED, ERROR = "running", "suspended", "completed", "terminated", "error"
WITHDRAWN = "withdrawn"  # by its initiator, before anyone decided
STATUSES = (RUNNING, SUSPENDED, COMPLETED, WITHDRAWN, TERMINATED, ERROR)
STATUS_WORDS = {RUNNING: _l("In progress"), SUSPENDED: _l("Suspended"), WITHDRAWN: _l("Withdrawn"),
                COMPLETED: _l("Completed"), TERMINATED: _l("Terminated"), ERROR: _l("Error")}
# Task state; a held task waits for a signer its approver added (加签) and is in nobody's inbox.
OPEN, DONE, CANCELLED, HELD = "open", "completed", "cancelled", "held"
# Task kind: a step of the BPMN, or a task of ours around one (parent_id): a signer's opinion before or
# after the step's approver decides, or the initiator revising his request after a send-back.
STEP, BEFORE_SIGN, AFTER_SIGN, RESUBMIT = "step", "before_sign", "after_sign", "resubmit"
# The rows of the inboxes' partial indexes; queries must spell these conditions out to use them.
OPEN_ASSIGNED = "state = 'open' AND assignee_id IS NOT NULL"
OPEN_UNCLAIMED = "state = 'open' AND assignee_id IS NULL"
RUNNING_ONLY = "status = 'running'"
# A BPMN task is live in one row at a time; a step sent back runs again under the same SpiffWorkflow id.
LIVE = "state IN ('open', 'held')"


class DrawnProcess(db.Model):
    """A process an administrator declared from the pages, to draw (issue 21): what a flow's `Process`
    says in code for the company's own processes — who may open its cases (roles, and org units by code;
    none: anyone) and whether its versions need a second person's approval. Its versions are
    ProcessDefinitions like any other's."""

    __tablename__ = "drawn_processes"

    key: Mapped[str] = mapped_column(String(80), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    starter_roles: Mapped[list] = mapped_column(JSONDoc, default=list)
    starter_units: Mapped[list] = mapped_column(JSONDoc, default=list)
    sensitive: Mapped[bool] = mapped_column(default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    created_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))


class ProcessDefinition(db.Model):
    """One version of one process. Its content never changes once deployed; versions are decided by
    content. A version takes effect when it is approved (`approved_at`): at once, or, for a sensitive
    process deployed from the administration pages, when a second person approves it (maker–checker);
    until then it is pending, and a rejection (`rejected_at`, with its reason) keeps it from ever
    taking effect. New cases start on the newest approved version."""

    __tablename__ = "process_definitions"
    __table_args__ = (UniqueConstraint("key", "version"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(80), index=True)  # the BPMN process id
    version: Mapped[int]
    name: Mapped[str] = mapped_column(String(200))
    content_hash: Mapped[str] = mapped_column(String(64))
    bpmn_xml: Mapped[str] = mapped_column(Text, deferred=True)  # loaded only to parse or show it
    source_name: Mapped[str] = mapped_column(String(200))
    start_form_key: Mapped[str | None] = mapped_column(String(80))
    # When the application opens cases of this process by itself (a `schedule` property of the
    # process, an iCalendar RRULE, e.g. "FREQ=MONTHLY;BYMONTHDAY=1;BYHOUR=0;BYMINUTE=0"), see
    # engine.schedules.
    schedule: Mapped[str | None] = mapped_column(String(120))
    # The DMN files the process's decisions come from, {file name: xml}: part of the version.
    dmn_xml: Mapped[dict] = mapped_column(JSONDoc, default=dict, deferred=True)
    # The drawn forms its steps name (`camunda-forms:deployment:<form id>`), {form id: form-js schema}:
    # part of the version, so that a running case keeps being checked by its own version's forms.
    form_schemas: Mapped[dict] = mapped_column(JSONDoc, default=dict, deferred=True)
    deployed_at: Mapped[datetime] = mapped_column(UTCDateTime())
    # Who deployed it and why (None: deployed from processes/ by the command line).
    deployed_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    change_note: Mapped[str] = mapped_column(Text, default="")
    # When it took effect, and who approved it (None: it needed nobody, e.g. deployed from processes/).
    approved_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    approved_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    # A pending version refused by the second person, with his reason: it never takes effect.
    rejected_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    rejected_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    rejected_reason: Mapped[str | None] = mapped_column(Text)

    deployed_by: Mapped[User | None] = relationship(foreign_keys=[deployed_by_id])
    approved_by: Mapped[User | None] = relationship(foreign_keys=[approved_by_id])
    rejected_by: Mapped[User | None] = relationship(foreign_keys=[rejected_by_id])

    @property
    def is_pending(self) -> bool:
        """Waiting for a second person's approval."""
        return self.approved_at is None and self.rejected_at is None

    def drawn_form(self, form_key: str | None) -> dict | None:
        """The schema of the drawn form a form key names in this version; None for a form of the code
        (the deploy refused a drawn form key whose form the version lacks: a KeyError here)."""
        form_id = drawn_form_id(form_key)
        return None if form_id is None else self.form_schemas[form_id]


class Instance(db.Model):
    __tablename__ = "instances"
    # The running cases of a customer by who started them (a second request for one dossier is
    # refused): a partial index, so that the look-up reads the few running ones, not a customer's
    # history; queries spell out RUNNING_ONLY (with 'running' in the SQL) to use it.
    __table_args__ = (UniqueConstraint("unique_key", name="uq_instances_unique_key"),
                      Index("ix_instances_running_customer", "customer_id", "started_by_id",
                            sqlite_where=text(RUNNING_ONLY), postgresql_where=text(RUNNING_ONLY)))

    id: Mapped[int] = mapped_column(primary_key=True)
    definition_id: Mapped[int] = mapped_column(ForeignKey("process_definitions.id"), index=True)
    # Not indexed: a handful of processes share millions of rows, and the index only lured SQLite
    # (which has no statistics) into reading a whole process's cases for a month of audit events.
    process_key: Mapped[str] = mapped_column(String(80))
    status: Mapped[str] = mapped_column(String(20), default=RUNNING, index=True)
    outcome: Mapped[str | None] = mapped_column(String(40))
    business_key: Mapped[str | None] = mapped_column(String(120), index=True)
    # What there may be only one case of, ever (e.g. the star rating of one branch for one month).
    unique_key: Mapped[str | None] = mapped_column(String(120))
    # What the case is about as the application counts it (CaseStart.customer_id): the domain declares
    # what it points at (app.domain.customers).
    customer_id: Mapped[int | None] = mapped_column(index=True)
    # What the initiator filed, plus facts derived at start; shown on every page of the case.
    start_data: Mapped[dict] = mapped_column(JSONDoc, default=dict)
    # SpiffWorkflow state without the spec (see engine.serializer), compressed.
    state: Mapped[bytes] = mapped_column(LargeBinary)
    version: Mapped[int] = mapped_column(default=1)  # optimistic lock
    # The hash of the case's newest audit event (engine.audit): where its chain goes on.
    chain_head: Mapped[str | None] = mapped_column(Sha256)
    # The newest comment a decision carried, for the inbox's preview (the full ones are in the events).
    last_comment: Mapped[str | None] = mapped_column(String(200))
    started_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), index=True)  # None: the schedule
    started_at: Mapped[datetime] = mapped_column(UTCDateTime())
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    definition: Mapped[ProcessDefinition] = relationship(lazy="joined")
    started_by: Mapped[User | None] = relationship()
    # The task rows waiting (open or held): read-only here; an operation that runs the flow sets them
    # as it left them (projection.sync_tasks), so that its answer needs no query.
    live_tasks: Mapped[list[Task]] = relationship(
        primaryjoin=lambda: and_(Task.instance_id == Instance.id, Task.state.in_((OPEN, HELD))),
        order_by="(Task.created_at, Task.id)", viewonly=True)

    __mapper_args__ = {"version_id_col": version}


class Task(db.Model):
    """A human task as the inboxes see it: a row per SpiffWorkflow user task that became ready."""

    __tablename__ = "tasks"
    # The inboxes read open tasks only: partial indexes (PostgreSQL and SQLite alike) hold just those,
    # split so that "assigned to me" and "offered to my group" each find their rows directly, and
    # carry the sort columns and the id so that a page's ids come from the index alone
    # (queries.inbox_page).
    __table_args__ = (
        Index("ix_tasks_open_assignee", "assignee_id", "due_at", "created_at", "id",
              sqlite_where=text(OPEN_ASSIGNED), postgresql_where=text(OPEN_ASSIGNED)),
        Index("ix_tasks_open_candidates", "candidate_role", "candidate_org_unit_id", "due_at", "created_at", "id",
              sqlite_where=text(OPEN_UNCLAIMED), postgresql_where=text(OPEN_UNCLAIMED)),
        Index("ix_tasks_instance_state", "instance_id", "state"),
        Index("uq_tasks_live_spiff_task", "spiff_task_id", unique=True,
              sqlite_where=text(LIVE), postgresql_where=text(LIVE)),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    instance_id: Mapped[int] = mapped_column(ForeignKey("instances.id"))
    process_key: Mapped[str] = mapped_column(String(80))
    spiff_task_id: Mapped[str] = mapped_column(String(36))  # of a task of ours around a step: a fresh UUID
    spec_id: Mapped[str] = mapped_column(String(80))  # the BPMN element id
    name: Mapped[str] = mapped_column(String(200))
    form_key: Mapped[str] = mapped_column(String(80))
    state: Mapped[str] = mapped_column(String(20), default=OPEN)
    # The rule that chose the people, as written in the BPMN (e.g. "territory_rep").
    assignment_rule: Mapped[str | None] = mapped_column(String(120))
    # A consent or approval step (BPMN property `approval`): kept apart from the case's initiator and
    # its other approvers (domain.segregation).
    approval: Mapped[bool] = mapped_column(default=False, server_default=text("false"))
    kind: Mapped[str] = mapped_column(String(20), default=STEP, server_default=STEP)
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("tasks.id"))  # the step a task of ours is about
    # An approver's decision held until the signer he added after him has decided (AFTER_SIGN).
    pending_data: Mapped[dict | None] = mapped_column(JSONDoc)
    # Owner: who is accountable (stays on transfer/delegation); assignee: who acts now.
    owner_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    assignee_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    candidate_role: Mapped[str | None] = mapped_column(String(40))
    candidate_org_unit_id: Mapped[int | None] = mapped_column(ForeignKey("org_units.id"))
    due_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    claimed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    completed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    completed_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    version: Mapped[int] = mapped_column(default=1)  # optimistic lock

    instance: Mapped[Instance] = relationship(lazy="joined")
    assignee: Mapped[User | None] = relationship(foreign_keys=[assignee_id])
    owner: Mapped[User | None] = relationship(foreign_keys=[owner_id])
    completed_by: Mapped[User | None] = relationship(foreign_keys=[completed_by_id])
    candidate_org_unit: Mapped[OrgUnit | None] = relationship()

    __mapper_args__ = {"version_id_col": version}

    further_candidates: Mapped[list[TaskCandidate]] = relationship(cascade="all, delete-orphan")

    @property
    def is_open(self) -> bool:
        return self.state == OPEN

    def is_overdue(self, now: datetime) -> bool:
        return self.is_open and self.due_at is not None and self.due_at < now

    @property
    def has_further_groups(self) -> bool:
        """Offered to several groups (`camunda:candidateGroups` named several rules): the others are
        TaskCandidate rows. Known from the rule, without a query."""
        return "," in (self.assignment_rule or "") and self.candidate_role is not None

    def is_offered_to(self, user: User) -> bool:
        """Whether the user may claim the task: it is offered to a group (role in an org unit) of his."""
        if self.candidate_role is None:
            return False
        groups = [(self.candidate_role, self.candidate_org_unit_id)]
        if self.has_further_groups:
            groups += [(group.role, group.org_unit_id) for group in self.further_candidates]
        return any(user.has_role(role, unit) for role, unit in groups)

    def withdraw_further_offers(self) -> None:
        """A claimed or closed task is no longer offered to its further groups (see TaskCandidate)."""
        if self.has_further_groups:
            self.further_candidates.clear()


class TaskCandidate(db.Model):
    """A further group an unclaimed task is offered to, beyond the task's own candidate columns
    (`camunda:candidateGroups` may name several rules). Rows live only while the task is offered:
    claiming or closing the task deletes them, so the inbox reads live offers only."""

    __tablename__ = "task_candidates"
    __table_args__ = (Index("ix_task_candidates_group", "role", "org_unit_id", "task_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    task_id: Mapped[int] = mapped_column(ForeignKey("tasks.id"), index=True)
    role: Mapped[str] = mapped_column(String(40))
    org_unit_id: Mapped[int] = mapped_column(ForeignKey("org_units.id"))

    org_unit: Mapped[OrgUnit] = relationship(lazy="joined")


class Event(db.Model):
    """The audit trail. Rows are only ever inserted (on PostgreSQL a trigger refuses anything else),
    each chained to its case's previous event (engine.audit)."""

    __tablename__ = "events"
    # The compliance search (queries.search_events): one person's actions over a period, and
    # everything of a period, filtered by process (join instances) or type without reading the rows.
    __table_args__ = (
        Index("ix_events_actor_at", "actor_id", "at"),
        Index("ix_events_at_instance_type", "at", "instance_id", "type"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    instance_id: Mapped[int | None] = mapped_column(ForeignKey("instances.id"), index=True)
    task_id: Mapped[int | None] = mapped_column(ForeignKey("tasks.id"))
    type: Mapped[str] = mapped_column(String(40))
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    at: Mapped[datetime] = mapped_column(UTCDateTime())
    data: Mapped[dict] = mapped_column(JSONDoc, default=dict)
    prev_hash: Mapped[str | None] = mapped_column(Sha256)  # hex in Python, 32 bytes in the database
    hash: Mapped[str | None] = mapped_column(Sha256)

    actor: Mapped[User | None] = relationship(lazy="joined")
    task: Mapped[Task | None] = relationship()


class CaseReader(db.Model):
    """Someone a case was copied to (抄送): he reads it, and does nothing in it."""

    __tablename__ = "case_readers"
    __table_args__ = (UniqueConstraint("instance_id", "user_id"), Index("ix_case_readers_user", "user_id", "at"))

    id: Mapped[int] = mapped_column(primary_key=True)
    instance_id: Mapped[int] = mapped_column(ForeignKey("instances.id"))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    added_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))  # None: a step of the process
    at: Mapped[datetime] = mapped_column(UTCDateTime())

    instance: Mapped[Instance] = relationship()
    user: Mapped[User] = relationship(foreign_keys=[user_id])
    added_by: Mapped[User | None] = relationship(foreign_keys=[added_by_id])


# Timer kinds
TASK_TIMER = "task"  # a BPMN timer event waiting in an instance
SCHEDULE = "schedule"  # the next time the application opens cases of a scheduled process
SCHEDULED = f"kind = '{SCHEDULE}'"


class Timer(db.Model):
    """A scheduled wake-up: when an instance's waiting timer event is due (written in the same
    transaction that saves the instance, deleted in the one that fires it), or when a scheduled
    process next opens cases (one row per process, moved on once a firing has opened them all)."""

    __tablename__ = "timers"
    __table_args__ = (
        Index("ix_timers_due", "due_at"),
        Index("uq_timers_schedule", "process_key", unique=True,
              sqlite_where=text(SCHEDULED), postgresql_where=text(SCHEDULED)),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(20), default=TASK_TIMER)
    instance_id: Mapped[int | None] = mapped_column(ForeignKey("instances.id"), index=True)
    process_key: Mapped[str | None] = mapped_column(String(80))  # of a schedule
    spiff_task_id: Mapped[str | None] = mapped_column(String(36))
    spec_id: Mapped[str | None] = mapped_column(String(80))
    due_at: Mapped[datetime] = mapped_column(UTCDateTime())
    # Of a schedule whose firing is under way (engine.timers): the firing, which names the cases it
    # opens, while `due_at` says when a worker takes it up (its lease's end, or a retry after a
    # failure). None: the firing is `due_at`.
    firing_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # Failed firings: how often, and why the last one failed (the row stays, due again later).
    attempts: Mapped[int] = mapped_column(default=0)
    last_error: Mapped[str | None] = mapped_column(Text)


class Incident(db.Model):
    """A step the definition could not run (a script stopped or failed, no gateway path): where, why
    and with which data. Nothing of the failed step was kept; the incident stays open until an
    administrator retries it successfully (with corrected data, say) or closes it."""

    __tablename__ = "incidents"

    id: Mapped[int] = mapped_column(primary_key=True)
    process_key: Mapped[str] = mapped_column(String(80))
    instance_id: Mapped[int | None] = mapped_column(ForeignKey("instances.id"), index=True)
    task_id: Mapped[int | None] = mapped_column(ForeignKey("tasks.id"))
    operation: Mapped[str] = mapped_column(String(20))  # start | complete | timer
    element: Mapped[str | None] = mapped_column(String(80))  # the BPMN element that failed, if known
    error: Mapped[str] = mapped_column(Text)
    data: Mapped[dict] = mapped_column(JSONDoc, default=dict)  # what the step was given
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    occurred_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
    resolved_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    resolved_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    resolution: Mapped[str] = mapped_column(Text, default="")

    actor: Mapped[User | None] = relationship(foreign_keys=[actor_id])
    instance: Mapped[Instance | None] = relationship()
