"""Timer workers' side of the engine: firing waiting timer events of cases, and opening the cases of
scheduled processes when their time comes. Several workers may run at once."""
from __future__ import annotations

import logging
from datetime import datetime, timedelta

from sqlalchemy import exists, func, or_, select
from sqlalchemy.exc import OperationalError
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


class Timers:
    def __init__(self, uow: UnitOfWork, cases: CaseLifecycle):
        self.uow, self.cases = uow, cases

    def fire_next_due(self) -> bool:
        """Fire one due timer, if any is due and not being fired by another worker; False if none.

        The wake-up row is locked (FOR UPDATE SKIP LOCKED on PostgreSQL; SQLite's transactions are
        one at a time) and deleted in the transaction that advances its instance: a timer fires
        exactly once, and a worker that dies mid-firing leaves it due for the next one.
        """
        timer_id = None
        try:
            # On SQLite the write lock waits for the first write: a definition's text that a firing
            # runs holds up no one (a conflict: another worker or person came first; see below).
            with db.lazy_write_lock(db.dialect() == "sqlite"):
                # Strictly before now, as SpiffWorkflow decides when a timer event has fired.
                timer = db.session.scalar(select(Timer).where(Timer.due_at < self.uow.clock.now(), _TIMER_LIVE)
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
        except OperationalError as exc:
            db.session.rollback()
            if not db.is_write_conflict(exc):
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

    def _fire(self, timer: Timer) -> None:
        """Advance the timer's instance; saving it rewrites its wake-ups, so the fired row goes too."""
        uow = self.uow
        instance = db.session.get(Instance, timer.instance_id)
        case = uow.case(instance, None)
        workflow = uow.load(instance, case)
        due = {task.id: task.task_spec.name for task in projection.waiting_timers(workflow)
               if projection.timer_due(task) < case.now}
        workflow.refresh_timers()  # do_engine_steps alone would leave a due catch event waiting
        uow.advance(case, workflow)
        stuck = [due[task.id] for task in projection.waiting_timers(workflow) if task.id in due]
        if stuck:  # it would be due again at once: fail (and back off) rather than spin
            raise RuntimeError(f"timer events {stuck} stayed waiting after they fell due")

    def _open_scheduled_cases(self, timer: Timer) -> None:
        """A scheduled process is due: open its cases and move the wake-up to the next firing, in this
        transaction. A case already opened (by hand, or by an earlier try) is left alone; a case that
        cannot be opened keeps the wake-up due for a retry, without holding back the others."""
        definition = definitions.latest_definition(timer.process_key)
        process = self.uow.ext.processes.get(timer.process_key)
        if definition is None or definition.schedule is None or process is None or process.scheduled is None:
            db.session.delete(timer)  # the schedule was taken out
            return
        failures = []
        for data in process.scheduled(timer.due_at):
            try:
                with db.session.begin_nested():
                    self.cases.open_case(definition, None, data)
            except Conflict:
                pass
            except AppError as exc:
                failures.append(f"{data}: {exc}")
        if failures:
            self._retry_later(timer, "; ".join(failures))
            return
        following = schedules.parse(definition.schedule).next_after(timer.due_at)
        if following is None:  # the schedule's UNTIL has passed
            db.session.delete(timer)
        else:
            timer.due_at, timer.attempts, timer.last_error = following, 0, None

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
