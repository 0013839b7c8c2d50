"""A schedule's firing opens each case in a transaction of its own under a lease: a worker that dies
midway leaves the cases it opened, and the next worker to take the firing up (once the lease has run
out) opens only the missing ones; workers firing at once, or one stalled past its lease, never open a
case twice. Run on SQLite and, with DATABASE_URL, on PostgreSQL."""
from __future__ import annotations

import dataclasses
import threading
from collections import Counter
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from conftest import fire_due
from flask import current_app
from sqlalchemy import delete, func, select

from app import db
from app.calendar import clock
from app.domain.customers import Customer
from app.engine.models import SCHEDULE, Instance, Timer
from app.engine.timers import LEASE

PROCESS = "credit_rating"  # one case per customer and quarter
FIRING = datetime(2026, 4, 1, tzinfo=ZoneInfo("Asia/Shanghai"))
NEXT_FIRING = datetime(2026, 7, 1, tzinfo=ZoneInfo("Asia/Shanghai"))
AFTER = FIRING + timedelta(seconds=1)


class WorkerDied(BaseException):
    """The worker's process is gone: nothing of it runs on, its open transaction dies with it."""


@pytest.fixture
def schedule(engine):
    clock.set(datetime(2026, 3, 20, 9, 0, tzinfo=ZoneInfo("Asia/Shanghai")))
    engine.deployment.deploy_directory(current_app.config["PROCESSES_DIR"])
    db.session.execute(delete(Timer).where(Timer.kind == SCHEDULE, Timer.process_key != PROCESS))
    db.session.commit()
    return engine


def customer_count() -> int:
    return db.session.scalar(select(func.count()).select_from(Customer))


def opened() -> Counter:
    """How many cases each customer has, with the quarter: each must be there once."""
    db.session.expire_all()
    return Counter(db.session.execute(select(Instance.customer_id, Instance.start_data["quarter"].as_string())
                                      .where(Instance.process_key == PROCESS)).all())


def wake_up() -> Timer:
    db.session.expire_all()
    return db.session.scalar(select(Timer).where(Timer.kind == SCHEDULE, Timer.process_key == PROCESS))


def dying_after(engine, monkeypatch, opened_before: int, error: BaseException) -> None:
    """The worker opens `opened_before` cases, then fails with `error` at the next one."""
    open_case, calls = engine.timers.cases.open_case, []

    def opening(*args):
        calls.append(args)
        if len(calls) > opened_before:
            raise error
        return open_case(*args)

    monkeypatch.setattr(engine.timers.cases, "open_case", opening)


def all_once() -> bool:
    counts = opened()
    return len(counts) == customer_count() and set(counts.values()) == {1} and {q for _, q in counts} == {"2026-Q1"}


def test_a_worker_dying_midway_leaves_its_cases_and_the_next_opens_only_the_rest(schedule, monkeypatch):
    total = customer_count()
    assert total >= 4
    dying_after(schedule, monkeypatch, 3, WorkerDied())
    clock.set(AFTER)
    with pytest.raises(WorkerDied):
        schedule.timers.fire_next_due()
    db.session.rollback()  # what the database does with a dead worker's connection
    monkeypatch.undo()
    assert sum(opened().values()) == 3  # each case was committed on its own
    leased = wake_up()
    assert (leased.firing_at, leased.due_at) == (FIRING, AFTER + LEASE)

    assert fire_due(schedule, AFTER + LEASE - timedelta(seconds=1)) == 0  # still the dead worker's
    assert sum(opened().values()) == 3
    assert fire_due(schedule, AFTER + LEASE + timedelta(seconds=1)) == 1  # the lease ran out
    assert all_once()
    done = wake_up()
    assert (done.due_at, done.firing_at, done.attempts) == (NEXT_FIRING, None, 0)


def test_a_firing_resumed_much_later_is_still_the_same_firing(schedule, monkeypatch):
    dying_after(schedule, monkeypatch, 2, WorkerDied())
    clock.set(AFTER)
    with pytest.raises(WorkerDied):
        schedule.timers.fire_next_due()
    db.session.rollback()
    monkeypatch.undo()
    # Nobody took it up until after the next quarter began: the first quarter's cases come first, then
    # the next firing, which is due too, opens the second quarter's.
    fire_due(schedule, NEXT_FIRING + timedelta(hours=1))
    counts = opened()
    assert set(counts.values()) == {1}
    assert Counter(quarter for _, quarter in counts) == {"2026-Q1": customer_count(), "2026-Q2": customer_count()}


def test_a_firing_failing_midway_is_retried_soon_and_opens_the_rest(schedule, monkeypatch):
    dying_after(schedule, monkeypatch, 2, RuntimeError("database connection lost"))
    assert fire_due(schedule, AFTER) == 1
    monkeypatch.undo()
    assert sum(opened().values()) == 2
    failed = wake_up()
    assert (failed.firing_at, failed.attempts) == (FIRING, 1)
    assert "database connection lost" in failed.last_error and AFTER < failed.due_at < AFTER + LEASE
    assert fire_due(schedule, AFTER + LEASE) == 1
    assert all_once()
    assert (wake_up().due_at, wake_up().attempts, wake_up().last_error) == (NEXT_FIRING, 0, None)


def in_threads(app, *work) -> list:
    """Run each callable in a thread of its own with its own app context (and session); their results."""
    results: list = [None] * len(work)

    def run(index):
        with app.app_context():
            try:
                results[index] = work[index]()
            except Exception as exc:  # anything else is a failure the assertion shows
                results[index] = repr(exc)
            finally:
                db.session.rollback()

    threads = [threading.Thread(target=run, args=(index,)) for index in range(len(work))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not any(thread.is_alive() for thread in threads), "a worker hung"
    return results


def test_two_workers_firing_at_once_open_each_case_once(schedule, ctx):
    clock.set(AFTER)
    db.session.rollback()  # this test's own session holds no transaction during the race
    barrier = threading.Barrier(2)

    def worker():
        barrier.wait()
        while schedule.timers.fire_next_due():
            pass

    assert in_threads(ctx, worker, worker) == [None, None]
    assert all_once()
    assert wake_up().due_at == NEXT_FIRING


def test_a_worker_stalled_past_its_lease_is_taken_over_and_opens_nothing_twice(schedule, ctx, monkeypatch):
    """The stalled worker has read that its next customer has no case yet when another worker takes the
    firing over and opens them all: its case is refused by the unique key, and it stops, its lease gone."""
    process = schedule.uow.ext.processes[PROCESS]
    stalled, go_on = threading.Event(), threading.Event()
    calls = []

    def start_hook(data, user, now, **kwargs):
        start = process.start(data, user, now, **kwargs)
        calls.append(threading.get_ident())
        if len(calls) == 3:  # the first worker's third case, its read done, its write not yet
            stalled.set()
            assert go_on.wait(60)
        return start

    monkeypatch.setitem(schedule.uow.ext.processes, PROCESS, dataclasses.replace(process, start=start_hook))
    clock.set(AFTER)
    db.session.rollback()

    def first():
        return schedule.timers.fire_next_due()

    def second():
        assert stalled.wait(60)
        clock.set(AFTER + LEASE + timedelta(seconds=1))
        fired = 0
        while schedule.timers.fire_next_due():
            fired += 1
        go_on.set()
        return fired

    assert in_threads(ctx, first, second) == [True, 1]
    assert all_once()
    done = wake_up()
    assert (done.due_at, done.firing_at, done.attempts) == (NEXT_FIRING, None, 0)


def test_case_timers_and_a_schedule_due_together_each_fire_once_under_concurrent_workers(schedule, ctx):
    from test_timers import PROCESSES, event_types, start

    schedule.deployment.deploy_directory(PROCESSES)
    cases = [start(schedule) for _ in range(3)]  # each waits on a reminder and an expiry, both due by then
    clock.set(AFTER)
    db.session.rollback()
    barrier = threading.Barrier(3)

    def worker():
        barrier.wait()
        while schedule.timers.fire_next_due():  # True also for a pass that found another came first
            pass

    assert in_threads(ctx, worker, worker, worker) == [None] * 3
    assert [event_types(case).count("instance_completed") for case in cases] == [1, 1, 1]
    assert [event_types(case).count("timer_fired") for case in cases] == [2, 2, 2]
    assert all_once()
