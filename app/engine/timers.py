"""Timer workers' side of the engine: firing waiting timer events of cases, and opening the cases of
scheduled processes when their time comes. Several workers may run at once, on several machines.

A case's timer fires in one transaction. A schedule's firing may open thousands of cases (one per
customer), so a worker leases it instead: in a short transaction it pushes the wake-up's `due_at` to
the lease's end and keeps the firing in `firing_at`; it opens each case in a transaction of its own,
renewing the lease as it goes; and a last transaction moves the wake-up to the next firing. A worker
that dies midway leaves the lease to run out; whoever takes the wake-up up then resumes the same
firing, and the cases' unique keys (every scheduled start has one) refuse those already opened: no
case twice, none missing.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import partial

from sqlalchemy import bindparam, exists, func, or_, select
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.orm import aliased
from sqlalchemy.orm.exc import StaleDataError

from app import db
from app.engine import definitions, projection, sandbox, schedules
from app.engine.lifecycle import CaseLifecycle
from app.engine.models import RUNNING, SCHEDULE, Incident, Instance, Timer
from app.engine.unit_of_work import UnitOfWork
from app.errors import AppError, Conflict

log = logging.getLogger(__name__)

# A wake-up to fire: a schedule, or a timer of a case that is running (a suspended case's wait).
_TIMER_LIVE = or_(Timer.instance_id.is_(None),
                  exists().where(Instance.id == Timer.instance_id, Instance.status == RUNNING))

# The claim of the next due wake-up and its case (with the case's process version) in one statement.
# The wake-up is locked (FOR UPDATE SKIP LOCKED on PostgreSQL) in a CTE, which gives the row version it
# locked; the case read beside it is safe to use, since saving the firing checks the case's version.
# The case's status is looked up row by row (not EXISTS, which PostgreSQL may hash over every running
# case) and the order is due_at alone (its index's): the claim then reads the index only up to the
# first wake-up it can take, however many fall due at one moment (cases opened together by a schedule
# share their deadlines), instead of sorting them all on every pass.
_claimed = (select(Timer)
            .where(Timer.due_at < bindparam("now"),
                   or_(Timer.instance_id.is_(None),
                       select(Instance.status).where(Instance.id == Timer.instance_id).scalar_subquery() == RUNNING))
            .order_by(Timer.due_at).limit(1)
            .with_for_update(skip_locked=True)
            .cte("claimed"))
_ClaimedTimer = aliased(Timer, _claimed)
_CLAIM = (select(_ClaimedTimer, Instance).outerjoin(Instance, Instance.id == _ClaimedTimer.instance_id)
          .execution_options(populate_existing=True))

# How long a schedule's firing is a worker's without word from it (unless the engine is given another);
# renewed when half of it has passed.
LEASE = timedelta(minutes=5)


@dataclass
class _Lease:
    """A worker's hold on one firing of a schedule: the wake-up is due at `until` while it lasts."""

    timer_id: int
    process_key: str
    firing: datetime
    until: datetime


class Timers:
    def __init__(self, uow: UnitOfWork, cases: CaseLifecycle, lease: timedelta = LEASE):
        self.uow, self.cases, self.lease = uow, cases, lease

    def fire_next_due(self) -> bool:
        """Fire one due timer, if any is due and not being fired by another worker; False if none.

        The wake-up row is locked (FOR UPDATE SKIP LOCKED on PostgreSQL; SQLite's transactions are
        one at a time). A case's timer is deleted in the transaction that advances its instance: it
        fires exactly once, and a worker that dies mid-firing leaves it due for the next one. A
        schedule's is leased in that transaction, and its cases opened after it (see above).
        """
        timer_id = lease = None
        try:
            # On SQLite the write lock waits for the first write: a definition's text that a firing
            # runs holds up no one (a conflict: another worker or person came first; see below).
            with db.lazy_write_lock(db.dialect() == "sqlite"):
                # Strictly before now, as SpiffWorkflow decides when a timer event has fired.
                claimed = db.session.execute(_CLAIM, {"now": self.uow.clock.now()}).first()
                if claimed is None:
                    db.session.rollback()
                    return False
                timer, instance = claimed
                timer_id = timer.id
                if timer.kind == SCHEDULE:
                    lease = self._lease(timer)
                else:
                    self._fire(instance)
                db.session.commit()
            if lease is not None:
                self._open_scheduled_cases(lease)
        except StaleDataError:  # a person acted on the case meanwhile: the timer is still due
            db.session.rollback()
        except OperationalError as exc:
            db.session.rollback()
            if not _lost_race(exc):
                raise
            # the next pass finds the timer still due, or fired by the one who came first
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

    def _fire(self, instance: Instance) -> None:
        """Advance the timer's instance; saving it rewrites its wake-ups, so the fired row goes too."""
        uow = self.uow
        case = uow.case(instance, None)
        workflow = uow.load(instance, case)
        due = {task.id: task.task_spec.name for task in projection.waiting_timers(workflow)
               if projection.timer_due(task) < case.now}
        workflow.refresh_timers()  # do_engine_steps alone would leave a due catch event waiting
        uow.advance(case, workflow)
        stuck = [due[task.id] for task in projection.waiting_timers(workflow) if task.id in due]
        if stuck:  # it would be due again at once: fail (and back off) rather than spin
            raise RuntimeError(f"timer events {stuck} stayed waiting after they fell due")

    def _lease(self, timer: Timer) -> _Lease:
        """Take a schedule's firing (the one under way, if a worker left it) for the lease from now."""
        lease = _Lease(timer.id, timer.process_key, timer.firing_at or timer.due_at, self.uow.clock.now() + self.lease)
        timer.firing_at, timer.due_at = lease.firing, lease.until
        return lease

    def _open_scheduled_cases(self, lease: _Lease) -> None:
        """Open the firing's cases, each in a transaction of its own, then move the wake-up to the next
        firing. A case already opened (by hand, by an earlier try of this firing, or by another worker
        at the same moment) is left alone; a case that cannot be opened keeps the firing due for a
        retry, without holding back the others."""
        with db.lazy_write_lock(db.dialect() == "sqlite"):  # reads only
            definition = definitions.latest_definition(lease.process_key)
            process = self.uow.ext.processes.get(lease.process_key)
            scheduled = not (definition is None or definition.schedule is None or process is None
                             or process.scheduled is None)
            starts = process.scheduled(lease.firing) if scheduled else []
            db.session.commit()
        failures = []
        for data in starts:
            if self.uow.clock.now() >= lease.until - self.lease / 2 and not self._renew(lease):
                return  # held too long: the worker that took the firing over goes on with it
            try:
                self.uow.run(partial(self.cases.open_case, definition, None, data))
            except Conflict:
                pass
            except IntegrityError as exc:
                if not _case_exists(exc):
                    raise
            except AppError as exc:
                failures.append(f"{data}: {exc}")
        timer = self._held(lease)
        if timer is None:
            db.session.rollback()
            return
        following = schedules.parse(definition.schedule).next_after(lease.firing) if scheduled else None
        if failures:
            self._retry_later(timer, "; ".join(failures))
        elif following is None:  # the schedule was taken out, or its UNTIL has passed
            db.session.delete(timer)
        else:
            timer.due_at, timer.firing_at, timer.attempts, timer.last_error = following, None, 0, None
        db.session.commit()

    def _held(self, lease: _Lease) -> Timer | None:
        """The schedule's wake-up, locked, if this lease still holds it (nobody took it over after it ran
        out, nor finished the firing)."""
        return db.session.scalar(select(Timer).where(Timer.id == lease.timer_id, Timer.firing_at == lease.firing,
                                                     Timer.due_at == lease.until)
                                 .with_for_update().execution_options(populate_existing=True))

    def _renew(self, lease: _Lease) -> bool:
        timer = self._held(lease)
        if timer is None:
            db.session.rollback()
            return False
        lease.until = timer.due_at = self.uow.clock.now() + self.lease
        db.session.commit()
        return True

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
                self.uow.record_incident(Incident(process_key=instance.process_key, instance_id=instance.id,
                                                  operation="timer", data={"timer": timer.spec_id}), error)

    def _retry_later(self, timer: Timer, why: str) -> None:
        timer.attempts += 1
        timer.last_error = why[:2000]
        timer.due_at = self.uow.clock.now() + timedelta(minutes=min(2 ** timer.attempts, 60))


def _case_exists(exc: IntegrityError) -> bool:
    """The unique key of cases refused one (PostgreSQL names the constraint, SQLite its column)."""
    return "uq_instances_unique_key" in str(exc) or "instances.unique_key" in str(exc)


def _lost_race(exc: OperationalError) -> bool:
    """Another writer came first: SQLite refusing a lazily locked write, or PostgreSQL ending one of two
    workers that fire timers of one case at once (each holds a wake-up row the other's save deletes)."""
    return db.is_write_conflict(exc) or getattr(exc.orig, "sqlstate", None) in ("40P01", "40001")
