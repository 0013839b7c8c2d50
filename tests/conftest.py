"""Test fixtures: the real app on a real database (SQLite file, or PostgreSQL when DATABASE_URL is set),
schema built by the Alembic migrations, the demo organisation seeded once per session.

The suite runs in parallel (pytest-xdist, `make test`): each worker is a session of its own, on its own
SQLite file or its own PostgreSQL database beside the one DATABASE_URL names (`<name>_gw0`, …), and
whatever a test builds beside it (a benchmark's database, a cluster's) is named after that.

Each test starts from the seeded organisation with no cases, loans, reads or tokens, and with
the application clock unfrozen.
"""
from __future__ import annotations

import os
import re
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
from flask import current_app
from flask_migrate import upgrade
from sqlalchemy import delete, select, text, update

from app import create_app, db
from app.calendar import clock
from app.domain import demo
from app.domain.customers import Customer, PurchaseRecord
from app.engine.directory import User
from app.engine.models import ProcessDefinition, Timer
from app.extensions import limiter
from app.read import timeline

# What every test starts from: the organisation, the customers and their purchases, and the processes
# as deployed at the start of the session. Everything else (cases and what hangs off them) is cleared.
# The commands and servers the tests start are a single-node production install (app.config.check_deployment).
os.environ.setdefault("SECRET_KEY", "test-secret-of-the-suite-" + "0" * 32)
os.environ.setdefault("SINGLE_NODE", "1")

SEEDED_TABLES = {"users", "roles", "memberships", "org_units", "directory_version", "customers", "purchase_records",
                 "process_definitions"}


def pg_database(url: str, name: str, *, fresh: bool = False) -> str:
    """The URL of database `name` on the PostgreSQL server of `url`, created if missing (dropped first
    when `fresh`), in SQLAlchemy's form (postgresql+psycopg://)."""
    from sqlalchemy import create_engine, make_url

    server = make_url(url.replace("postgresql://", "postgresql+psycopg://", 1))
    admin = create_engine(server, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        if fresh:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        if not connection.scalar(text("SELECT 1 FROM pg_database WHERE datname = :name"), {"name": name}):
            connection.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return server.set(database=name).render_as_string(hide_password=False)


def pytest_configure(config):
    """A parallel worker's own PostgreSQL database, set before collection so that every module reading
    DATABASE_URL at import sees it."""
    from sqlalchemy import make_url

    worker, url = os.environ.get("PYTEST_XDIST_WORKER"), os.environ.get("DATABASE_URL", "")
    if worker and url.startswith("postgresql"):
        name = f"{make_url(url).database}_{worker}"
        os.environ["DATABASE_URL"] = pg_database(url, name).replace("postgresql+psycopg://", "postgresql://", 1)


def _reset_schema(database_url: str) -> None:
    if database_url.startswith("postgresql"):
        db.session.execute(text("DROP SCHEMA public CASCADE"))
        db.session.execute(text("CREATE SCHEMA public"))
        db.session.commit()


@pytest.fixture(scope="session")
def app(tmp_path_factory):
    url = os.environ.get("DATABASE_URL") or f"sqlite:///{tmp_path_factory.mktemp('db') / 'test.sqlite'}"
    os.environ["DATABASE_URL"] = url
    app = create_app({
        "TESTING": True,
        "ATTACHMENTS_DIR": str(tmp_path_factory.mktemp("attachments")),
        "SECRET_KEY": "test-secret",
        "ARGON2_TIME_COST": 1,
        # The hard bound on definition text, shorter than in production so that the runaway tests
        # (tests/test_runaways.py) are quick; no legitimate expression comes near it.
        "SANDBOX_SECONDS": 1.0,
        "ENGINE_STEPS": 2000,
        "ENGINE_SECONDS": 5.0,
        "ARGON2_MEMORY_COST": 1024,
        "LOGIN_FAILURE_LIMIT": "5 per 5 minutes",
        # The company's flows, and one that lives only under tests/ (tests/sample_flow).
        "FLOW_PACKAGES": ("app.domain", "sample_flow"),
    })
    with app.app_context():
        _reset_schema(app.config["DATABASE_URL"])
        upgrade()
        demo.seed(clock.now(), app.extensions["accounts"].hash_password)
        app.extensions["engine"].deployment.deploy_directory(app.config["PROCESSES_DIR"])
        db.session.execute(delete(Timer))  # the schedule's wake-up on the real clock: see clean_state
        db.session.commit()
        app.config["BASELINE_DEFINITIONS"] = set(db.session.scalars(select(ProcessDefinition.id)))
    yield app


def clear_runtime_rows() -> None:
    """Delete cases and everything that hangs off them, every flow's rows included (in the current app
    context, not committed), children before parents. On PostgreSQL the audit trail's trigger lets this
    through only as declared maintenance."""
    if db.dialect() == "postgresql":
        db.session.execute(text("SET LOCAL app.audit_maintenance = 'on'"))
    for table in reversed(db.metadata.sorted_tables):
        if table.name not in SEEDED_TABLES:
            db.session.execute(table.delete())


@pytest.fixture(autouse=True)
def clean_state(app):
    """Every test starts with no cases, loans, reads, ratings, tokens or wake-ups (a test that needs the
    star rating's schedule deploys with its own clock), default languages, and a running clock."""
    yield
    clock.set(None)
    limiter.reset()
    with app.app_context():
        db.session.rollback()
        clear_runtime_rows()
        # Customers a test (or the demo's leads) created go again, with their orders; the demo's stay.
        made = select(Customer.id).where(Customer.code.not_in([c["code"] for c in demo.CUSTOMERS]))
        db.session.execute(delete(PurchaseRecord).where(PurchaseRecord.customer_id.in_(made)))
        db.session.execute(delete(Customer).where(Customer.id.in_(made)))
        db.session.execute(update(User).values(locale=None))  # a test may have switched a language
        db.session.execute(update(Customer).values(resource_guarantee=False, extra_discount_yuan_per_ton=0,
                                                   credit_grade=None, big_customer=False, key_customer=False,
                                                   key_follow_up=False, potential=False))
        db.session.execute(delete(ProcessDefinition)
                           .where(ProcessDefinition.id.not_in(app.config["BASELINE_DEFINITIONS"])))
        db.session.commit()


@pytest.fixture
def ctx(app):
    with app.app_context():
        yield app
        db.session.rollback()


@pytest.fixture
def engine(ctx):
    return ctx.extensions["engine"]


def case_entries(instance):
    """A case's timeline as the compliance pages read it."""
    return timeline.entries(instance, current_app.extensions["engine"].extensions.comment_fields)


def fire_due(engine, moment) -> int:
    """Set the clock to `moment` and fire every timer due then, as `flask timers fire-due` does."""
    clock.set(moment)
    fired = 0
    while engine.timers.fire_next_due():
        fired += 1
    db.session.expire_all()
    return fired


BORROWING_FILE = "dossier_borrowing.bpmn"


@pytest.fixture
def bpmn_copy(app, tmp_path) -> Path:
    """A copy of the deployed borrowing BPMN in a directory of its own, to be edited and deployed."""
    copy = tmp_path / BORROWING_FILE
    copy.write_text((Path(app.config["PROCESSES_DIR"]) / BORROWING_FILE).read_text(encoding="utf-8"),
                    encoding="utf-8")
    return copy


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert text.count(old) == 1, f"{old!r} should occur once in {path.name}"
    path.write_text(text.replace(old, new), encoding="utf-8")


def get_user(username: str) -> User:
    return db.session.scalar(select(User).where(User.username == username))


def get_customer(code: str) -> Customer:
    return db.session.scalar(select(Customer).where(Customer.code == code))


SECOND_ADMIN = "admin_b"


@pytest.fixture
def second_admin(app):
    """Another process administrator besides `admin` (maker–checker's second person) for one test: his user
    name. Made in the test's app context if one is pushed, else in one of its own (so that page requests
    of a test without `ctx` each get theirs, and with them their signed-in user)."""
    from contextlib import nullcontext

    from flask import has_app_context

    from app.domain import org
    from app.engine.directory import Membership, OrgUnit, Role

    def app_context():
        return nullcontext() if has_app_context() else app.app_context()

    with app_context():
        unit = db.session.scalar(select(OrgUnit).where(OrgUnit.code == "hq_process"))
        role = db.session.scalar(select(Role).where(Role.code == org.ADMIN))
        other = User(username=SECOND_ADMIN, display_name="第二管理员", org_unit=unit,
                     password_hash=app.extensions["accounts"].hash_password(demo.DEMO_PASSWORD))
        other.memberships = [Membership(role=role, org_unit=unit)]
        db.session.add(other)
        db.session.commit()
        user_id = other.id
    yield SECOND_ADMIN
    with app_context():
        db.session.rollback()
        clear_runtime_rows()  # events and tokens name him, and so do the versions he approved or rejected
        db.session.execute(delete(ProcessDefinition)
                           .where(ProcessDefinition.id.not_in(app.config["BASELINE_DEFINITIONS"])))
        db.session.execute(delete(Membership).where(Membership.user_id == user_id))
        db.session.execute(delete(User).where(User.id == user_id))
        db.session.commit()


@pytest.fixture
def purchases(ctx):
    """Purchases in 2027, apart from the demo's: {code: tons} per month, 7,000 yuan a ton."""
    def buy(month: str, tons_by_code: dict[str, str]):
        year, number = (int(part) for part in month.split("-"))
        for code, tons in tons_by_code.items():
            db.session.add(PurchaseRecord(customer_id=get_customer(code).id, ordered_on=date(year, number, 10),
                                          product="0号柴油", quantity_tons=Decimal(tons),
                                          amount_yuan=Decimal(tons) * 7000))
        db.session.commit()
    yield buy
    db.session.rollback()
    db.session.execute(delete(PurchaseRecord).where(PurchaseRecord.ordered_on >= date(2027, 1, 1)))
    db.session.commit()


class Api:
    """JSON API calls as a given demo user, through Flask's test client."""

    def __init__(self, app):
        self.client = app.test_client()
        self.tokens: dict[str, str] = {}

    def token(self, username: str) -> str:
        if username not in self.tokens:
            response = self.client.post("/api/v1/tokens", json={"username": username, "password": demo.DEMO_PASSWORD})
            assert response.status_code == 201, response.get_json()
            self.tokens[username] = response.get_json()["token"]
        return self.tokens[username]

    def call(self, method: str, path: str, as_user: str, json=None):
        return self.client.open(f"/api/v1{path}", method=method, json=json,
                                headers={"Authorization": f"Bearer {self.token(as_user)}"})

    def get(self, path, as_user):
        return self.call("GET", path, as_user)

    def post(self, path, as_user, json=None):
        return self.call("POST", path, as_user, json=json if json is not None else {})


@pytest.fixture
def api(app):
    return Api(app)


CSRF_FIELD = re.compile(r'name="csrf_token"[^>]*?value="([^"]+)"')


class Browser:
    """Page requests through Flask's test client, with real sessions and CSRF tokens."""

    def __init__(self, app):
        self.client = app.test_client()

    def csrf(self, page_url: str) -> str:
        page = self.client.get(page_url)
        match = CSRF_FIELD.search(page.get_data(as_text=True))
        assert match, f"no CSRF token on {page_url}"
        return match.group(1)

    def login(self, username: str, password: str = demo.DEMO_PASSWORD):
        return self.client.post("/login", data={"username": username, "password": password,
                                                "csrf_token": self.csrf("/login")})

    def submit(self, page_url: str, data: dict, action: str | None = None):
        """Post `data` to `action` (default: the page itself) with the page's CSRF token."""
        return self.client.post(action or page_url, data={**data, "csrf_token": self.csrf(page_url)})


@pytest.fixture
def admin(app):
    """A process administrator signed in to the pages."""
    browser = Browser(app)
    browser.login("admin")
    return browser


@pytest.fixture
def pages(app):
    return Browser(app)


@pytest.fixture
def bench_database(tmp_path, monkeypatch) -> str:
    """A database of this run's kind for a benchmark, which rebuilds it: never the test session's own.

    SQLite: a file of the test's own. PostgreSQL: the database `<the session's>_bench` on the same server.
    """
    from sqlalchemy import make_url

    url = os.environ.get("DATABASE_URL", "")
    if url.startswith("sqlite") or not url:
        bench_url = f"sqlite:///{tmp_path / 'bench.sqlite'}"
    else:
        bench_url = pg_database(url, f"{make_url(url).database}_bench")
    monkeypatch.setenv("DATABASE_URL", bench_url)
    return bench_url


class SmtpSink:
    """A local SMTP server that keeps what it receives (aiosmtpd), for the notification e-mails."""

    def __init__(self):
        import email
        import email.policy
        import socket

        from aiosmtpd.controller import Controller

        with socket.socket() as probe:  # a free port
            probe.bind(("127.0.0.1", 0))
            self.port = probe.getsockname()[1]
        self.messages = []

        sink = self

        class Handler:
            async def handle_DATA(self, server, session, envelope):
                sink.messages.append(email.message_from_bytes(envelope.content, policy=email.policy.default))
                return "250 OK"

        self.controller = Controller(Handler(), hostname="127.0.0.1", port=self.port)


@pytest.fixture
def smtp_sink():
    sink = SmtpSink()
    sink.controller.start()
    yield sink
    sink.controller.stop()


@pytest.fixture(scope="module")
def base_url(app):
    """The app served by a real threaded server on a free port, for the browser tests."""
    import logging
    import threading

    from werkzeug.serving import make_server

    # The server's request log would be written from its threads after pytest closed the captured
    # stream of the test that caused it ("I/O operation on closed file"): only its warnings are kept.
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()


@pytest.fixture(scope="module")
def browser():
    """Debian's headless Chromium driven by Playwright."""
    from browsing import ARGS, CHROMIUM
    from playwright.sync_api import sync_playwright

    assert Path(CHROMIUM).exists(), f"Chromium not found at {CHROMIUM} (apt-get install chromium)"
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield browser
        browser.close()
