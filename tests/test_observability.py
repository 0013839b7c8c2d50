"""Observability of a production node: JSON log lines stamped with the request id, the 500 page's
reference, the probes (/healthz, /readyz) and the Prometheus metrics, also across gunicorn workers."""
import io
import json
import logging
import os
import runpy
import secrets
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from conftest import get_customer, get_user
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import event, select, text

from app import db, observability
from app.calendar import clock
from app.domain.notifications import PENDING, SENT, Notification
from app.engine.models import Incident, Task

ROOT = Path(__file__).resolve().parent.parent
PROCESSES = Path(__file__).resolve().parent / "processes"
T0 = datetime(2026, 3, 2, 1, 0, tzinfo=UTC)


@pytest.fixture(autouse=True)
def application_logging(app):
    """The application's logging as create_app configured it: a test here may have switched formats."""
    observability.configure_logging(app)


@pytest.fixture
def json_lines():
    """What the application logs during the test, through the JSON formatter and the request id filter."""
    buffer = io.StringIO()
    capture = logging.StreamHandler(buffer)
    capture.setFormatter(observability.formatter("json"))
    capture.addFilter(observability.RequestIdFilter())
    root = logging.getLogger()
    root.addHandler(capture)
    yield lambda: [json.loads(line) for line in buffer.getvalue().splitlines()]
    root.removeHandler(capture)


def replace_view(app, monkeypatch, endpoint, view):
    monkeypatch.setitem(app.view_functions, endpoint, view)


# -- logs and the request id ------------------------------------------------------------------

def test_every_line_of_a_request_carries_its_id_and_the_access_line_follows(app, monkeypatch, json_lines):
    def view():
        logging.getLogger("app.engine.timers").warning("from a module without Flask")
        return "done"
    replace_view(app, monkeypatch, "health.healthz", view)
    response = app.test_client().get("/healthz")
    request_id = response.headers["X-Request-ID"]
    assert len(request_id) == 32
    engine_line, access = json_lines()
    assert engine_line == {**engine_line, "logger": "app.engine.timers", "level": "WARNING",
                           "message": "from a module without Flask", "request_id": request_id}
    assert access == {**access, "logger": "app.access", "level": "INFO", "request_id": request_id,
                      "method": "GET", "path": "/healthz", "endpoint": "health.healthz", "status": 200,
                      "user_id": None}
    assert isinstance(access["duration_ms"], float) and "time" in access


def test_lines_outside_requests_have_no_request_id(ctx, json_lines):
    logging.getLogger("app.engine.timers").warning("a worker's line")
    assert json_lines()[0]["request_id"] is None


def test_the_access_line_names_the_signed_in_user(app, pages, json_lines):
    pages.login("rep_e1")
    response = pages.client.get("/inbox")
    assert response.status_code == 200
    access = [line for line in json_lines() if line["logger"] == "app.access"][-1]
    with app.app_context():
        assert (access["endpoint"], access["status"], access["user_id"]) == ("tasks.inbox", 200,
                                                                             get_user("rep_e1").id)
    assert access["request_id"] == response.headers["X-Request-ID"]


def test_the_access_line_names_the_api_caller(app, api, json_lines):
    assert api.get("/tasks", "rep_e2").status_code == 200
    access = [line for line in json_lines() if line["logger"] == "app.access"][-1]
    with app.app_context():
        assert (access["endpoint"], access["user_id"]) == ("api.tasks.list_tasks", get_user("rep_e2").id)


@pytest.mark.parametrize("given", ["edge-7f3a.b_2", "A" * 64])
def test_a_sane_incoming_request_id_is_kept(app, given, json_lines):
    response = app.test_client().get("/healthz", headers={"X-Request-ID": given})
    assert response.headers["X-Request-ID"] == given
    assert json_lines()[-1]["request_id"] == given


@pytest.mark.parametrize("given", ["", "two words", "a" * 65, "<script>", "ид"])
def test_an_insane_incoming_request_id_is_replaced(app, given):
    response = app.test_client().get("/healthz", headers={"X-Request-ID": given})
    assert response.headers["X-Request-ID"] != given and len(response.headers["X-Request-ID"]) == 32


def test_the_configured_json_lines_go_to_stderr(app, capsys):
    app.config["LOG_FORMAT"] = "json"
    try:
        observability.configure_logging(app)
        response = app.test_client().get("/healthz")
    finally:
        del app.config["LOG_FORMAT"]
        observability.configure_logging(app)  # text again, as in test mode
    lines = [json.loads(line) for line in capsys.readouterr().err.splitlines()]
    assert lines[-1]["request_id"] == response.headers["X-Request-ID"]
    assert len([h for h in logging.getLogger().handlers if isinstance(h, observability.StderrHandler)]) == 1


def test_the_workflow_library_chatters_only_at_debug(app):
    assert logging.getLogger("spiff.task").getEffectiveLevel() == logging.WARNING
    app.config["LOG_LEVEL"] = "debug"
    try:
        observability.configure_logging(app)
        assert logging.getLogger("spiff.task").getEffectiveLevel() == logging.DEBUG
    finally:
        del app.config["LOG_LEVEL"]
        observability.configure_logging(app)


def test_the_500_page_quotes_the_request_id_that_the_log_has(app, monkeypatch, json_lines):
    def boom():
        raise RuntimeError("a bug")
    replace_view(app, monkeypatch, "health.healthz", boom)
    response = app.test_client().get("/healthz", headers={"X-Request-ID": "support-42"})
    assert response.status_code == 500 and response.headers["X-Request-ID"] == "support-42"
    assert "support-42" in response.get_data(as_text=True)
    failure = next(line for line in json_lines() if line["level"] == "ERROR")
    assert failure["request_id"] == "support-42" and "support-42" in failure["message"]
    assert "RuntimeError: a bug" in failure["exc_info"]


def test_the_api_500_carries_the_reference(app, monkeypatch):
    def boom():
        raise RuntimeError("a bug")
    replace_view(app, monkeypatch, "api.processes.list_processes", boom)
    response = app.test_client().get("/api/v1/processes")
    error = response.get_json()["error"]
    assert response.status_code == 500 and error["code"] == "internal"
    assert error["reference"] == response.headers["X-Request-ID"] and error["reference"] in error["message"]


# -- probes -----------------------------------------------------------------------------------

def test_healthz_answers_without_the_database_or_a_session(app):
    statements = []

    def count(*_args):
        statements.append(1)
    event.listen(app.extensions["database"], "before_cursor_execute", count)
    try:
        response = app.test_client().get("/healthz")
    finally:
        event.remove(app.extensions["database"], "before_cursor_execute", count)
    assert statements == []
    assert (response.status_code, response.get_json()) == (200, {"status": "ok"})
    assert "Set-Cookie" not in response.headers


def test_readyz_on_a_migrated_database(app):
    response = app.test_client().get("/readyz")
    assert response.status_code == 200, response.get_json()
    checks = response.get_json()["checks"]
    assert response.get_json()["status"] == "ok"
    assert checks["database"] == checks["migrations"] == {"status": "ok"}
    assert checks["files"] == {"status": "ok"}
    assert "Set-Cookie" not in response.headers


def test_readyz_refuses_a_database_not_at_head(app, ctx):
    head = db.session.scalar(text("SELECT version_num FROM alembic_version"))
    db.session.execute(text("UPDATE alembic_version SET version_num = 'f2b9d4c6a817'"))  # an older one
    db.session.commit()
    try:
        response = app.test_client().get("/readyz")
    finally:
        db.session.execute(text("UPDATE alembic_version SET version_num = :head"), {"head": head})
        db.session.commit()
    assert response.status_code == 503
    body = response.get_json()
    assert body["status"] == "unavailable" and body["checks"]["database"] == {"status": "ok"}
    assert body["checks"]["migrations"] == {"status": "failed",
                                            "error": f"database at f2b9d4c6a817, scripts at {head}"}


def test_readyz_refuses_an_unreachable_database(app, monkeypatch, tmp_path):
    monkeypatch.setitem(app.extensions, "database", db.connect(f"sqlite:///{tmp_path / 'no' / 'such.sqlite'}"))
    response = app.test_client().get("/readyz")
    assert response.status_code == 503
    assert response.get_json()["checks"]["database"] == {"status": "failed", "error": "OperationalError"}
    assert "migrations" not in response.get_json()["checks"]


def test_readyz_refuses_an_unusable_file_store(app, monkeypatch):
    def check():
        raise OSError("the bucket is gone")
    monkeypatch.setattr(app.extensions["engine"].files, "check", check)
    response = app.test_client().get("/readyz")
    assert response.status_code == 503
    assert response.get_json()["checks"]["files"] == {"status": "failed", "error": "OSError"}


# -- metrics ----------------------------------------------------------------------------------

def scrape(app, **headers) -> dict:
    response = app.test_client().get("/metrics", headers=headers)
    assert response.status_code == 200
    return {sample.name: sample.value for family in text_string_to_metric_families(response.get_data(as_text=True))
            for sample in family.samples if not sample.labels}


def test_metrics_count_the_case_load(app, engine):
    engine.deployment.deploy_directory(PROCESSES)
    clock.set(T0)
    rep = get_user("rep_e2")
    cases = [engine.cases.start("consent_with_deadlines", rep, {"customer_id": get_customer("HD-E1-001").id})
             for _ in range(4)]
    first, second, third, done = (db.session.scalar(select(Task).where(Task.instance_id == case.id))
                                  for case in cases)
    engine.cases.complete(done.id, get_user("rep_e1"), {"decision": "approve", "comment": ""})
    first.due_at = T0 + timedelta(hours=1)  # overdue, assigned
    second.due_at = T0 + timedelta(days=5)  # not yet due
    third.due_at, third.assignee_id, third.candidate_role = T0 + timedelta(hours=2), None, "biz"  # overdue, unclaimed
    for number in range(3):
        db.session.add(Incident(process_key="consent_with_deadlines", operation="timer", error="boom",
                                occurred_at=T0, resolved_at=T0 if number == 2 else None))
    for state in (PENDING, PENDING, SENT, None):
        db.session.add(Notification(user_id=rep.id, kind="task_assigned", at=T0, email_state=state))
    db.session.commit()
    # The three open cases' reminders were due at T0 + 1 day and have not been fired.
    clock.set(T0 + timedelta(days=1, minutes=90))
    found = scrape(app)
    assert {name: found[name] for name in ("approvals_open_tasks", "approvals_overdue_tasks",
                                           "approvals_timer_lag_seconds", "approvals_open_incidents",
                                           "approvals_mail_queue")} == {
        "approvals_open_tasks": 3, "approvals_overdue_tasks": 2, "approvals_timer_lag_seconds": 90 * 60,
        "approvals_open_incidents": 2, "approvals_mail_queue": 2}


def test_metrics_with_nothing_due(app):
    found = scrape(app)
    assert found["approvals_open_tasks"] == found["approvals_timer_lag_seconds"] == 0


def test_request_latency_is_by_endpoint_method_and_status_class(app):
    client = app.test_client()
    before = _healthz_count(client.get("/metrics").get_data(as_text=True))
    for _ in range(3):
        client.get("/healthz")
    client.get("/no/such/page/123")
    exposed = client.get("/metrics").get_data(as_text=True)
    assert _healthz_count(exposed) == before + 3
    assert 'endpoint="none",method="GET",status="4xx"' in exposed
    assert "/no/such/page" not in exposed


def _healthz_count(exposed: str) -> float:
    for family in text_string_to_metric_families(exposed):
        for sample in family.samples:
            if (sample.name == "approvals_request_duration_seconds_count"
                    and sample.labels == {"endpoint": "health.healthz", "method": "GET", "status": "2xx"}):
                return sample.value
    return 0


def test_a_metrics_token_is_required_when_set(app):
    client = app.test_client()
    app.config["METRICS_TOKEN"] = "s3cret-scraper"
    try:
        refused = client.get("/metrics")
        wrong = client.get("/metrics", headers={"Authorization": "Bearer guess"})
        allowed = client.get("/metrics", headers={"Authorization": "Bearer s3cret-scraper"})
    finally:
        del app.config["METRICS_TOKEN"]
    assert (refused.status_code, wrong.status_code, allowed.status_code) == (401, 401, 200)
    assert refused.headers["WWW-Authenticate"] == "Bearer"
    assert b"approvals_open_tasks" in allowed.data and b"approvals_open_tasks" not in refused.data


# -- a production node: the rate limiter, gunicorn's workers ----------------------------------

def _environment(tmp_path, **more) -> dict:
    env = {key: value for key, value in os.environ.items() if key not in {"FLASK_DEBUG", "METRICS_TOKEN"}}
    env.update(SECRET_KEY=secrets.token_hex(32), ATTACHMENTS_DIR=str(tmp_path / "attachments"), **more)
    return env


def test_probes_and_metrics_are_exempt_from_a_default_rate_limit(app, tmp_path):
    script = """
import json
from app import create_app
app = create_app({"TESTING": True, "RATELIMIT_DEFAULT": "2 per hour"})
client = app.test_client()
print(json.dumps({path: [client.get(path).status_code for _ in range(4)]
                  for path in ("/healthz", "/readyz", "/metrics", "/login")}))
"""
    result = subprocess.run([sys.executable, "-c", script], cwd=ROOT, env=_environment(tmp_path),
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr[-2000:]
    assert json.loads(result.stdout.strip().splitlines()[-1]) == {
        "/healthz": [200] * 4, "/readyz": [200] * 4, "/metrics": [200] * 4, "/login": [200, 200, 429, 429]}


def test_child_exit_marks_the_worker_dead(tmp_path, monkeypatch):
    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", str(tmp_path))
    settings = runpy.run_path(str(ROOT / "gunicorn.conf.py"))
    assert (settings["preload_app"], settings["accesslog"], settings["wsgi_app"]) == (False, None, "app:create_app()")
    live = tmp_path / "gauge_livesum_4242.db"
    live.write_bytes(b"")
    settings["child_exit"](None, type("Worker", (), {"pid": 4242})())
    assert not live.exists()


def _get(url: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(url, timeout=10) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as refused:
        return refused.code, ""


def _until_up(url: str, deadline: float) -> bool:
    """Requests to `url` until one is answered (True) or the deadline passes (False)."""
    while time.monotonic() < deadline:
        try:
            return _get(url)[0] == 200
        except OSError:
            time.sleep(0.2)
    return False


def test_gunicorn_workers_share_their_metrics(app, tmp_path):
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    metrics_dir = tmp_path / "metrics"
    metrics_dir.mkdir()
    (metrics_dir / "histogram_1.db").write_bytes(b"stale")  # a previous run's, cleared at start
    server = subprocess.Popen([str(Path(sys.executable).parent / "gunicorn"), "-c", "gunicorn.conf.py"], cwd=ROOT,
                              env=_environment(tmp_path, PORT=str(port), WEB_CONCURRENCY="2", SINGLE_NODE="1",
                                               PROMETHEUS_MULTIPROC_DIR=str(metrics_dir)),
                              stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    healthz = f"http://127.0.0.1:{port}/healthz"
    status, exposed = None, ""
    try:
        served = int(_until_up(healthz, time.monotonic() + 60))
        if served:
            for _ in range(5):
                served += _get(healthz)[0] == 200
            server.send_signal(signal.SIGHUP)  # new workers; the old ones end (child_exit)
            time.sleep(1)
            served += _until_up(healthz, time.monotonic() + 60)
            status, exposed = _get(f"http://127.0.0.1:{port}/metrics")
    finally:
        server.terminate()
        _, errors = server.communicate(timeout=30)
    assert status == 200, errors[-3000:]
    assert _healthz_count(exposed) == served
    assert "approvals_open_tasks" in exposed
    workers = {path.stem.rsplit("_", 1)[1] for path in metrics_dir.glob("histogram_*.db")}
    assert "1" not in workers and len(workers) >= 2, workers  # a first worker and a new one at least
    access = [json.loads(line) for line in errors.splitlines() if line.startswith("{")]
    assert any(line.get("endpoint") == "metrics.metrics" and line["request_id"] for line in access)
