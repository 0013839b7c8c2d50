"""Timer workers under load: how many due timer events the workers fire per second.

    .venv/bin/python bench/timers.py [--cases 400] [--workers 2]   # DATABASE_URL=postgresql://… for PostgreSQL

`--cases` complaints are filed through the engine service; each waits at its acknowledgement with a
boundary timer (the reminder after 4 working hours). The clock is then set past them all, and
`--workers` worker processes (each the application, as `flask timers run` is) fire them at once,
competing for the same rows (FOR UPDATE SKIP LOCKED on PostgreSQL, one writer at a time on SQLite).
Each worker builds its application and connects before the timed window; the window runs from the
common start signal to the last worker's end. At the end every case must hold exactly one reminder
firing and no due timer may be left.

The database is rebuilt (see bench/common.py). The last line of output is one JSON object.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

if __package__ in (None, ""):
    # Run as a script: the repository, not bench/ (whose http.py would shadow the stdlib's), goes first.
    sys.path[0] = str(Path(__file__).resolve().parent.parent)

from sqlalchemy import delete, func, select

from bench import common

SHANGHAI = ZoneInfo("Asia/Shanghai")
FILED_AT = datetime(2027, 3, 1, 10, 0, tzinfo=SHANGHAI)  # a Monday, a working day
FIRE_AT = FILED_AT + timedelta(hours=6)  # past the 4-working-hour reminder (15:00), before the 1-day escalation
PROCESS = "complaint_handling"


def file_complaints(app, count: int) -> None:
    from app.calendar import clock
    from app.domain.customers import Customer
    from app.engine.models import SCHEDULE, Timer

    with app.app_context():
        from app import db

        engine = app.extensions["engine"]
        rep = common.users_by_name(["rep_e1"])["rep_e1"]
        customer = db.session.scalar(select(Customer.id).where(Customer.code == "HD-E1-003"))
        clock.set(FILED_AT)
        for _ in range(count):
            engine.cases.start(PROCESS, rep, {"customer_id": customer, "channel": "phone",
                                              "received_at": "2027-03-01T09:30", "category": "delivery",
                                              "content": "送货迟到超过半天（性能测试）"})
        clock.set(None)
        # Only these timers are measured: the scheduled processes' own wake-ups (a month's star ratings,
        # say) would open cases of their own at the firing time.
        db.session.execute(delete(Timer).where(Timer.kind == SCHEDULE))
        db.session.commit()


def worker() -> None:
    """One timer worker: the application on the benchmark's database, firing once told to go."""
    from app import create_app
    from app.calendar import clock

    app = create_app(common.BENCH_CONFIG)
    with app.app_context():
        from app import db

        db.session.execute(select(1))  # connected before the window
        db.session.rollback()
        print("ready", flush=True)
        sys.stdin.readline()
        clock.set(FIRE_AT)
        began = time.perf_counter()
        tries = 0
        while app.extensions["engine"].timers.fire_next_due():
            tries += 1
        print(json.dumps({"tries": tries, "seconds": time.perf_counter() - began}), flush=True)


def check(app, cases: int) -> dict:
    from app import db
    from app.engine.models import Event, Instance, Timer

    with app.app_context():
        due = db.session.scalar(select(func.count()).select_from(Timer).where(Timer.due_at < FIRE_AT))
        per_case = list(db.session.scalars(
            select(func.count(Event.id)).select_from(Instance).outerjoin(
                Event, (Event.instance_id == Instance.id) & (Event.type == "timer_fired"))
            .where(Instance.process_key == PROCESS).group_by(Instance.id)))
    problems = []
    if due:
        problems.append(f"{due} timers still due")
    if len(per_case) != cases or set(per_case) != {1}:
        problems.append(f"reminders fired per case: {sorted(set(per_case))} over {len(per_case)} cases")
    return {"ok": not problems, "fired": sum(per_case), "problems": problems}


def run(cases: int, workers: int) -> dict:
    app = common.fresh_app()
    with app.app_context():
        from app import db
        dialect = db.dialect()
    file_complaints(app, cases)
    env = {**os.environ, "DATABASE_URL": app.config["DATABASE_URL"]}
    processes = [subprocess.Popen([sys.executable, __file__, "--worker"], cwd=common.ROOT, env=env, text=True,
                                  stdin=subprocess.PIPE, stdout=subprocess.PIPE) for _ in range(workers)]
    for process in processes:
        if process.stdout.readline().strip() != "ready":
            raise RuntimeError("a worker did not start")
    began = time.perf_counter()
    for process in processes:
        process.stdin.write("go\n")
        process.stdin.flush()
    results = [json.loads(process.stdout.readline()) for process in processes]
    elapsed = time.perf_counter() - began
    for process in processes:
        process.wait(timeout=60)
    consistency = check(app, cases)
    return {
        "benchmark": "timers", "database": dialect, "cases": cases, "workers": workers,
        # A worker's pass that lost its timer to another writer is a try, not a firing: the firings are
        # counted in the case histories.
        "fired": consistency["fired"], "tries_by_worker": [result["tries"] for result in results],
        "seconds": round(elapsed, 3), "fired_per_s": round(consistency["fired"] / elapsed, 1),
        "consistency": consistency, "machine": common.machine(),
    }


def main(argv=None) -> dict:
    return common.command_line(__doc__, run, argv, cases=(int, 400, "complaints waiting at a due timer"),
                               workers=(int, 2, "timer worker processes"))


if __name__ == "__main__":
    if sys.argv[1:] == ["--worker"]:
        worker()
    else:
        main()
