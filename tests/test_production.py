"""Running in production: the configuration refusals, attachments in an S3 object store (a real S3 API
server: moto's), SQLite read requests that take no write lock, and e-mail sent outside any transaction."""
from __future__ import annotations

import os
import socket
import sqlite3
import subprocess
import sys
import threading
from datetime import timedelta
from pathlib import Path

import boto3
import pytest
from botocore.exceptions import ClientError
from conftest import get_customer, get_user
from moto.server import ThreadedMotoServer
from sqlalchemy import event, func, select, text
from test_complaints import PDF, file_complaint, upload
from test_operations import borrow

from app import db
from app.calendar import clock
from app.config import ConfigurationError, check_deployment, default_config
from app.domain import notifications
from app.domain.customers import DossierRead
from app.engine.file_stores import S3Files
from app.errors import StorageFault
from app.mail import RETRY_AFTER, send_pending

ROOT = Path(__file__).resolve().parent.parent
BUCKET = "approvals-test"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


# -- configuration -----------------------------------------------------------------------------------

def production(**changes) -> dict:
    return {**default_config("/nonexistent"), "SECRET_KEY": "k" * 64, "SINGLE_NODE": False,
            "DATABASE_URL": "postgresql+psycopg://db/approvals", "RATELIMIT_STORAGE_URI": "redis://cache:6379/0",
            "S3_BUCKET": "approvals", **changes}


def test_a_multi_node_install_with_everything_shared_starts():
    check_deployment(production())
    check_deployment(production(SINGLE_NODE=True, DATABASE_URL="sqlite:///one.sqlite",
                                RATELIMIT_STORAGE_URI="memory://", S3_BUCKET=""))


@pytest.mark.parametrize("changes, named", [
    ({"SECRET_KEY": ""}, "SECRET_KEY"),
    ({"SECRET_KEY": "short"}, "SECRET_KEY"),
    ({"DATABASE_URL": "sqlite:///one.sqlite"}, "SQLite"),
    ({"RATELIMIT_STORAGE_URI": "memory://"}, "REDIS_URL"),
    ({"S3_BUCKET": ""}, "S3_BUCKET"),
])
def test_production_refuses_what_breaks_on_a_second_node(changes, named):
    with pytest.raises(ConfigurationError, match=named):
        check_deployment(production(**changes))


def run_python(script: str, **env) -> subprocess.CompletedProcess:
    environment = {key: value for key, value in os.environ.items()
                   if key not in {"SECRET_KEY", "SINGLE_NODE", "DEMO", "FLASK_DEBUG"}}
    return subprocess.run([sys.executable, "-c", script], cwd=ROOT, env={**environment, **env},
                          capture_output=True, text=True, timeout=120)


def test_the_app_refuses_to_start_in_production_without_a_secret_and_starts_in_demo_mode(tmp_path):
    url = f"sqlite:///{tmp_path / 'one.sqlite'}"
    refused = run_python("from app import create_app; create_app()", DATABASE_URL=url)
    assert refused.returncode != 0
    assert "ConfigurationError" in refused.stderr and "SECRET_KEY" in refused.stderr and "SINGLE_NODE" in refused.stderr
    demo = run_python("from app import create_app; print(len(create_app().config['SECRET_KEY']))",
                      DATABASE_URL=url, DEMO="1")
    assert demo.returncode == 0, demo.stderr[-2000:]
    assert demo.stdout.split()[-1] == "64"  # the instance folder's random key


# -- attachments in an object store ---------------------------------------------------------------

@pytest.fixture(scope="module")
def s3_endpoint():
    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    os.environ.setdefault("AWS_ACCESS_KEY_ID", "testing")
    os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "testing")
    endpoint = f"http://127.0.0.1:{port}"
    boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1").create_bucket(Bucket=BUCKET)
    yield endpoint
    server.stop()


@pytest.fixture
def s3(s3_endpoint):
    return S3Files(BUCKET, "attachments/", s3_endpoint)


def test_the_object_store_keeps_each_content_once_under_its_hash(s3):
    sha256 = s3.store(PDF)
    assert s3.store(PDF) == sha256
    assert s3.read(sha256) == PDF
    listed = s3.client.list_objects_v2(Bucket=BUCKET, Prefix="attachments/")["Contents"]
    assert [item["Key"] for item in listed].count(f"attachments/{sha256}") == 1
    assert s3.read("0" * 64) is None
    s3.check()


def test_bytes_altered_in_the_object_store_are_refused_on_read(s3):
    sha256 = s3.store(b"%PDF-1.4 original")
    s3.client.put_object(Bucket=BUCKET, Key=f"attachments/{sha256}", Body=b"%PDF-1.4 altered")
    with pytest.raises(StorageFault):
        s3.read(sha256)


def test_an_unreachable_or_missing_store_is_a_clear_fault(s3_endpoint):
    with pytest.raises(StorageFault):
        S3Files(BUCKET, "", f"http://127.0.0.1:{free_port()}").store(PDF)
    with pytest.raises(ClientError):
        S3Files("no-such-bucket", "", s3_endpoint).check()


def test_a_case_attachment_goes_to_the_object_store_and_comes_back(api, app, ctx, s3, monkeypatch):
    engine = app.extensions["engine"]
    monkeypatch.setattr(engine.uow, "files", s3)
    case = file_complaint(api)
    response = upload(api, case["id"], "rep_e1", ("来函.pdf", PDF))
    assert response.status_code == 201, response.get_json()
    (listed,) = api.get(f"/instances/{case['id']}/attachments", "rep_e1").get_json()
    download = api.get(f"/instances/{case['id']}/attachments/{listed['id']}", "rep_e1")
    assert download.status_code == 200 and download.data == PDF
    assert s3.client.head_object(Bucket=BUCKET, Key=f"attachments/{listed['sha256']}")["ContentLength"] == len(PDF)


# -- SQLite: read requests take no write lock ---------------------------------------------------------

sqlite_only = pytest.mark.skipif(os.environ.get("DATABASE_URL", "sqlite").startswith("postgresql"),
                                 reason="SQLite's locking")


def sqlite_path(app) -> str:
    return app.extensions["database"].url.database


@sqlite_only
def test_a_read_request_does_not_wait_for_a_writer(api, app, ctx):
    token = api.token("rep_e1")  # signing in writes: before the other writer takes the lock
    writer = sqlite3.connect(sqlite_path(app), isolation_level=None)
    try:
        writer.execute("BEGIN IMMEDIATE")
        writer.execute("UPDATE users SET locale = locale WHERE username = 'admin'")
        # A transaction begun IMMEDIATE would wait here for the busy timeout (30 s), then fail.
        answer = api.client.get("/api/v1/tasks", headers={"Authorization": f"Bearer {token}"})
        assert answer.status_code == 200
    finally:
        writer.execute("ROLLBACK")
        writer.close()


@sqlite_only
def test_a_read_request_that_writes_after_another_writer_is_replayed(api, app, ctx):
    """Reading a dossier logs the read: when another writer commits between the page's first read and
    that write, SQLite refuses the write, and the request is replayed once, queued for the lock."""
    customer = get_customer("HD-E1-001")
    api.token("rep_e1")
    database = app.extensions["database"]
    interfered = []

    def other_writer_first(conn, cursor, statement, parameters, context, executemany):
        if statement.startswith("INSERT INTO dossier_reads") and not interfered:
            interfered.append(True)
            other = sqlite3.connect(sqlite_path(app), isolation_level=None)
            other.execute("BEGIN IMMEDIATE")
            other.execute("UPDATE users SET locale = locale WHERE username = 'admin'")
            other.execute("COMMIT")
            other.close()

    event.listen(database, "before_cursor_execute", other_writer_first)
    try:
        answer = api.get(f"/customers/{customer.id}", "rep_e1")
    finally:
        event.remove(database, "before_cursor_execute", other_writer_first)
    assert interfered and answer.status_code == 200, answer.get_json()
    assert db.session.scalar(select(func.count()).select_from(DossierRead)
                             .where(DossierRead.customer_id == customer.id)) == 1


# -- e-mail outside any transaction -----------------------------------------------------------------------

def open_transactions(app) -> int:
    """Transactions open on the database now, other than this probe's own (from any thread)."""
    if app.extensions["database"].dialect.name == "sqlite":
        probe = sqlite3.connect(sqlite_path(app), timeout=0.1, isolation_level=None)
        try:
            probe.execute("BEGIN IMMEDIATE")
            probe.execute("ROLLBACK")
            return 0
        except sqlite3.OperationalError:
            return 1
        finally:
            probe.close()
    with app.extensions["database"].connect() as probe:
        return probe.scalar(text("SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                                 "AND state LIKE 'idle in transaction%' AND pid <> pg_backend_pid()"))


def test_mail_is_sent_holding_no_transaction(engine, app, smtp_sink):
    seen_while_sending = []
    original = smtp_sink.controller.handler.handle_DATA

    async def slow_server(server, session, envelope):
        seen_while_sending.append(open_transactions(app))
        return await original(server, session, envelope)

    smtp_sink.controller.handler.handle_DATA = slow_server
    get_user("rep_e1").email = "zhangwei@example.com"
    db.session.commit()
    app.config.update(SMTP_HOST="127.0.0.1", SMTP_PORT=smtp_sink.port)
    try:
        borrow(engine)
        assert send_pending() == 1
        assert seen_while_sending == [0]
        assert [m["To"] for m in smtp_sink.messages] == ["zhangwei@example.com"]
    finally:
        app.config.update(SMTP_HOST="")
        get_user("rep_e1").email = None
        db.session.commit()


def test_a_claim_of_a_dead_sender_is_taken_over_after_its_lease(engine, app):
    get_user("rep_e1").email = "zhangwei@example.com"
    db.session.commit()
    app.config.update(SMTP_HOST="127.0.0.1")  # e-mail is set up: the notification waits for its e-mail
    try:
        borrow(engine)
        now, lease = clock.now(), timedelta(minutes=5)
        (claimed,) = notifications.claim_for_email(10, now, lease)
        assert notifications.claim_for_email(10, now + timedelta(minutes=1), lease) == []  # a live sender has it
        (again,) = notifications.claim_for_email(10, now + timedelta(minutes=6), lease)
        assert again.id == claimed.id
        notifications.record_emails([again.id], [])
        db.session.expire_all()
        assert notifications.claim_for_email(10, now + timedelta(hours=1), lease) == []
    finally:
        app.config.update(SMTP_HOST="")
        get_user("rep_e1").email = None
        db.session.commit()


def test_concurrent_senders_never_share_a_notification(engine, app):
    get_user("rep_e1").email = "zhangwei@example.com"
    get_user("rep_e2").email = "lina@example.com"
    db.session.commit()
    app.config.update(SMTP_HOST="127.0.0.1")
    try:
        for code in ("HD-E1-001", "HD-E1-002", "HD-E1-003"):
            borrow(engine, code=code)
        claims: list[list[int]] = []

        def claim():
            with app.app_context():
                claims.append([n.id for n in notifications.claim_for_email(2, clock.now(), timedelta(minutes=5))])

        threads = [threading.Thread(target=claim) for _ in range(3)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        every = [nid for batch in claims for nid in batch]
        assert len(every) == len(set(every)) == 3
    finally:
        app.config.update(SMTP_HOST="")
        get_user("rep_e1").email = get_user("rep_e2").email = None
        db.session.commit()



def test_a_failed_email_is_tried_again_later_not_at_once(engine, app):
    get_user("rep_e1").email = "zhangwei@example.com"
    db.session.commit()
    app.config.update(SMTP_HOST="127.0.0.1", SMTP_PORT=free_port())  # nothing listens there
    moment = clock.now()
    try:
        borrow(engine)
        clock.set(moment)
        assert send_pending() == send_pending() == 0
        (waiting,) = db.session.scalars(select(notifications.Notification).where(
            notifications.Notification.email_state == "pending")).all()
        db.session.refresh(waiting)
        assert waiting.email_attempts == 1  # the second pass left it alone
        clock.set(moment + RETRY_AFTER + timedelta(seconds=1))
        assert send_pending() == 0
        db.session.refresh(waiting)
        assert waiting.email_attempts == 2
    finally:
        clock.set(None)
        app.config.update(SMTP_HOST="")
        get_user("rep_e1").email = None
        db.session.commit()
