"""Timers: wake-ups written with the instance, fired once by workers, on the application clock."""
import os
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from conftest import fire_due, get_customer, get_user
from sqlalchemy import func, select

from app import db
from app.calendar import clock
from app.engine.models import TASK_TIMER, Event, Instance, Task, Timer

PROCESSES = Path(__file__).resolve().parent / "processes"
T0 = datetime(2026, 3, 2, 1, 0, tzinfo=UTC)


@pytest.fixture
def deadlines(engine):
    engine.deployment.deploy_directory(PROCESSES)
    return engine


def start(engine) -> Instance:
    clock.set(T0)
    return engine.cases.start("consent_with_deadlines", get_user("rep_e2"),
                        {"customer_id": get_customer("HD-E1-001").id})


def timers_of(instance: Instance) -> list[tuple[str, datetime]]:
    return [(t.spec_id, t.due_at) for t in db.session.scalars(
        select(Timer).where(Timer.instance_id == instance.id).order_by(Timer.due_at))]


def event_types(instance: Instance) -> list[str]:
    return list(db.session.scalars(select(Event.type).where(Event.instance_id == instance.id).order_by(Event.id)))


def test_waiting_timers_are_written_with_the_instance(deadlines):
    instance = start(deadlines)
    assert timers_of(instance) == [("remind_after_a_day", T0 + timedelta(days=1)),
                                   ("expire_after_three_days", T0 + timedelta(days=3))]
    assert fire_due(deadlines, T0 + timedelta(hours=23)) == 0  # nothing is due yet


def test_a_non_interrupting_reminder_fires_once_and_the_task_stays(deadlines):
    instance = start(deadlines)
    assert fire_due(deadlines, T0 + timedelta(days=1, minutes=1)) == 1
    assert fire_due(deadlines, T0 + timedelta(days=1, minutes=2)) == 0  # never twice
    task = db.session.scalar(select(Task).where(Task.instance_id == instance.id))
    assert task.state == "open"
    assert timers_of(instance) == [("expire_after_three_days", T0 + timedelta(days=3))]
    assert event_types(instance).count("timer_fired") == 1


def test_timers_due_at_one_moment_fire_once_each_one_a_pass_past_a_suspended_case(deadlines):
    clock.set(T0 - timedelta(minutes=1))  # the earliest wake-up is a suspended case's: it waits
    suspended = deadlines.cases.start("consent_with_deadlines", get_user("rep_e2"),
                                      {"customer_id": get_customer("HD-E1-001").id})
    deadlines.admin.suspend(suspended.id, get_user("admin"), "待核实")
    together = [start(deadlines) for _ in range(3)]  # their reminders share one due moment
    assert fire_due(deadlines, T0 + timedelta(days=1, minutes=1)) == 3
    assert [event_types(case).count("timer_fired") for case in together] == [1, 1, 1]
    assert "timer_fired" not in event_types(suspended)


def test_an_interrupting_timer_cancels_the_task_and_ends_the_case(deadlines):
    instance = start(deadlines)
    assert fire_due(deadlines, T0 + timedelta(days=4)) == 1  # one wake-up; both timers are due
    db.session.refresh(instance)
    assert (instance.status, instance.outcome) == ("completed", "expired")
    task = db.session.scalar(select(Task).where(Task.instance_id == instance.id))
    assert task.state == "cancelled"
    assert timers_of(instance) == []
    assert event_types(instance)[-4:] == ["timer_fired", "timer_fired", "task_cancelled", "instance_completed"]


def test_deciding_in_time_removes_the_wake_ups(deadlines):
    instance = start(deadlines)
    task = db.session.scalar(select(Task).where(Task.instance_id == instance.id))
    deadlines.cases.complete(task.id, get_user("rep_e1"), {"decision": "approve", "comment": ""})
    assert timers_of(instance) == []
    assert fire_due(deadlines, T0 + timedelta(days=5)) == 0
    db.session.refresh(instance)
    assert instance.outcome == "decided"


def test_a_failing_firing_keeps_the_timer_and_says_why(deadlines, monkeypatch):
    instance = start(deadlines)

    def broken(*_args, **_kwargs):
        raise RuntimeError("script engine down")

    monkeypatch.setattr(type(deadlines.timers), "_fire", broken)
    assert fire_due(deadlines, T0 + timedelta(days=1, minutes=1)) == 1
    timer = db.session.scalar(select(Timer).where(Timer.instance_id == instance.id).order_by(Timer.due_at))
    assert (timer.attempts, timer.last_error) == (1, "RuntimeError: script engine down")
    assert timer.due_at > T0 + timedelta(days=1, minutes=1)  # retried later, not in a tight loop


def run_workers(count: int, now: datetime) -> list[subprocess.Popen]:
    command = [sys.executable, "-m", "flask", "--app", "app", "timers", "fire-due", "--now", now.isoformat()]
    return [subprocess.Popen(command, cwd=PROCESSES.parent.parent, env=dict(os.environ),
                             stdout=subprocess.PIPE, stderr=subprocess.STDOUT) for _ in range(count)]


def test_workers_fire_every_timer_exactly_once_even_when_one_is_killed(deadlines):
    # PostgreSQL, where workers really run side by side (FOR UPDATE SKIP LOCKED), gets 1,000 timers;
    # SQLite's workers take turns, and a smaller run shows the same.
    cases = 1000 if db.dialect() == "postgresql" else 120
    for index in range(cases):
        clock.set(T0 + timedelta(seconds=index))
        deadlines.cases.start("consent_with_deadlines", get_user("rep_e2"), {"customer_id": get_customer("HD-E1-001").id})
    db.session.commit()
    due = T0 + timedelta(days=1, hours=1)  # every reminder is due, no expiry yet

    victim, survivor = run_workers(2, due)
    time.sleep(1.0)
    victim.send_signal(signal.SIGKILL)  # mid-firing, most likely: its transaction dies with it
    victim.wait()
    assert survivor.wait(timeout=120) == 0, survivor.stdout.read().decode()
    (after,) = run_workers(1, due)  # whatever the killed worker had locked is due again
    assert after.wait(timeout=120) == 0, after.stdout.read().decode()

    db.session.expire_all()
    fired = db.session.execute(select(Event.instance_id, func.count()).where(Event.type == "timer_fired")
                               .group_by(Event.instance_id)).all()
    assert len(fired) == cases and {count for _, count in fired} == {1}
    remaining = db.session.scalars(select(Timer.spec_id).where(Timer.kind == TASK_TIMER)).all()
    assert remaining == ["expire_after_three_days"] * cases
