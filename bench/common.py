"""What the benchmark scripts share: a fresh database, the borrowing case they run, machine facts.

A benchmark's database is rebuilt from the migrations: a temporary SQLite file by default, or the
PostgreSQL database named by DATABASE_URL, whose schema `public` is DROPPED and recreated.
Never point it at a database whose data you want to keep.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import tempfile
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path

from flask_migrate import upgrade
from sqlalchemy import event, select, text

ROOT = Path(__file__).resolve().parent.parent
BPMN = ROOT / "processes" / "dossier_borrowing.bpmn"
PROCESS = "dossier_borrowing"
# The three-consent path: a customer specialist (another department) borrows an E1 dossier.
REQUESTER, CUSTOMER_CODE = "spec_east", "HD-E1-001"
CONSENTERS = ("rep_e1", "biz_east", "mgr_east")
APPROVE = {"decision": "approve", "comment": "同意"}
BENCH_CONFIG = {
    "SECRET_KEY": "bench-" + "0" * 32,
    "SINGLE_NODE": True,  # one machine: SQLite and the local attachment folder are acceptable
    "ARGON2_TIME_COST": 1,
    "ARGON2_MEMORY_COST": 1024,
    "API_TOKEN_HOURS": 24 * 365 * 10,
    "LOGIN_FAILURE_LIMIT": "1000000 per minute",
}
# Each case starts two days after the last: its one-day loan has ended, so the next request is allowed.
T0 = datetime(2026, 1, 5, 1, 0, tzinfo=UTC)
CASE_SPACING = timedelta(days=2)


def own_borrowing_spec():
    """The borrowing BPMN as the engine parses it (its parser, its task classes): spec, subprocess
    specs, and a script engine whose service tasks do nothing, for SpiffWorkflow on its own."""
    from SpiffWorkflow.bpmn.script_engine import PythonScriptEngine

    from app.engine.parser import ProcessParser

    class NoServices(PythonScriptEngine):
        def call_service(self, task, topic=None, **kwargs):
            return None

    parser = ProcessParser()
    parser.add_bpmn_file(str(BPMN))
    return parser.get_spec(PROCESS), parser.get_subprocess_specs(PROCESS), NoServices()


def database_url() -> str:
    url = os.environ.get("DATABASE_URL")
    if url:
        return url
    return f"sqlite:///{Path(tempfile.mkdtemp(prefix='bench-')) / 'bench.sqlite'}"


def fresh_app(extra_config: dict | None = None):
    """The real application on a freshly migrated database with the demo organisation."""
    from app import create_app, db
    from app.calendar import clock
    from app.domain import demo

    os.environ["DATABASE_URL"] = database_url()
    app = create_app({**BENCH_CONFIG, **(extra_config or {})})
    with app.app_context():
        if db.dialect() == "postgresql":
            db.session.execute(text("DROP SCHEMA public CASCADE"))
            db.session.execute(text("CREATE SCHEMA public"))
            db.session.commit()
        upgrade()
        demo.seed(clock.now(), app.extensions["accounts"].hash_password)
        app.extensions["engine"].deployment.deploy_directory(app.config["PROCESSES_DIR"])
    return app


def users_by_name(names) -> dict:
    from app import db
    from app.domain.org import User

    return {u.username: u for u in db.session.scalars(select(User).where(User.username.in_(names)))}


def customer_id() -> int:
    from app import db
    from app.domain.customers import Customer

    return db.session.scalar(select(Customer.id).where(Customer.code == CUSTOMER_CODE))


def request_data(customer: int) -> dict:
    return {"customer_id": customer, "purpose": "核对合同条款（性能测试）", "days": 1}


class SqlCount:
    """What the application sends its database while `counting` (SQLAlchemy's engine events): the
    statements (BEGIN and COMMIT not included) and the round trips to the server (with them; on
    PostgreSQL the driver sends BEGIN itself, on SQLite app.db does)."""

    def __init__(self, engine):
        self.statements = self.round_trips = 0
        self.active = False
        self.postgresql = engine.dialect.name == "postgresql"
        event.listen(engine, "before_cursor_execute", self._executed)
        event.listen(engine, "begin", self._begun)
        event.listen(engine, "commit", self._ended)
        event.listen(engine, "rollback", self._ended)

    def _executed(self, _conn, _cursor, statement, *_args):
        if self.active:
            self.round_trips += 1
            if not statement.lstrip().upper().startswith("BEGIN"):
                self.statements += 1

    def _begun(self, _conn):
        if self.active and self.postgresql:
            self.round_trips += 1

    def _ended(self, _conn):
        if self.active:
            self.round_trips += 1

    @contextmanager
    def counting(self):
        self.active = True
        try:
            yield
        finally:
            self.active = False


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(fraction * (len(ordered) - 1))))]


def summary_ms(seconds: list[float]) -> dict:
    return {"p50_ms": round(statistics.median(seconds) * 1000, 3),
            "p95_ms": round(percentile(seconds, 0.95) * 1000, 3),
            "p99_ms": round(percentile(seconds, 0.99) * 1000, 3)}


def machine() -> dict:
    model = ""
    try:
        model = next((line.split(":", 1)[1].strip() for line in open("/proc/cpuinfo", encoding="utf-8")
                      if line.startswith("model name")), "")
    except OSError:
        pass
    return {"cpus": os.cpu_count(), "cpu": model, "python": platform.python_version()}


def run_service_cases(app, count: int, offset: int, completions: SqlCount | None = None,
                      cases: SqlCount | None = None) -> None:
    """`count` three-consent borrowing cases through the engine service (inside an app context); the
    SQL of each task completion goes to `completions`, that of each whole case to `cases`.

    Case i runs at T0 + i × CASE_SPACING, so offsets keep separate batches from overlapping.
    """
    from app import db
    from app.calendar import clock
    from app.engine.models import OPEN, Task

    engine = app.extensions["engine"]
    users = users_by_name([REQUESTER, *CONSENTERS])
    data = request_data(customer_id())
    db.session.commit()
    in_case = cases.counting if cases else _not_counting
    in_completion = completions.counting if completions else _not_counting
    for index in range(offset, offset + count):
        clock.set(T0 + index * CASE_SPACING)
        with in_case():
            instance = engine.cases.start(PROCESS, users[REQUESTER], data)
        for username in CONSENTERS:
            task_id = db.session.scalar(select(Task.id).where(Task.instance_id == instance.id, Task.state == OPEN))
            db.session.commit()  # the look-up is the benchmark's, not the engine's: its transaction ends here
            with in_case():
                if username == "biz_east":
                    engine.cases.claim(task_id, users[username])
                with in_completion():
                    engine.cases.complete(task_id, users[username], APPROVE)
        if instance.outcome != "approved":
            raise RuntimeError(f"case {instance.id} ended {instance.status}/{instance.outcome}")
    clock.set(None)


@contextmanager
def _not_counting():
    yield


def command_line(doc: str, run, argv, **options) -> dict:
    """Parse `--name` options (name=(type, default, help)), call `run(**values)`, print its JSON last."""
    parser = argparse.ArgumentParser(description=doc, formatter_class=argparse.RawDescriptionHelpFormatter)
    for name, (kind, default, help_text) in options.items():
        parser.add_argument(f"--{name}", type=kind, default=default, help=f"{help_text} (default {default})")
    result = run(**vars(parser.parse_args(argv)))
    print(json.dumps(result, ensure_ascii=False))
    return result
