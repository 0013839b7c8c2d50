"""The system on more than one machine, as production runs it: two gunicorn nodes and two timer workers
on one PostgreSQL database, with Redis for the rate limit and an S3 API server (moto's) for the files,
driven through both nodes alternately. Each process is a real one, started here with the production
configuration (no SINGLE_NODE, no DEMO) and killed with SIGKILL where the scenario says so."""
from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
import uuid
from pathlib import Path

import boto3
import pytest
import redis
import requests
from conftest import pg_database
from moto.server import ThreadedMotoServer
from sqlalchemy import create_engine, make_url, text

from app.domain import demo

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
SUITE_URL = os.environ.get("DATABASE_URL", "")
BUCKET = "cluster-files"
EXTRA_CUSTOMERS = 2000
PDF = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"

pytestmark = pytest.mark.skipif(not SUITE_URL.startswith("postgresql"), reason="production runs on PostgreSQL")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def wait_for(condition, timeout: float, what: str, every: float = 0.2):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = condition()
        if found:
            return found
        time.sleep(every)
    raise AssertionError(f"timed out waiting for {what}")


class Cluster:
    def __init__(self, tmp: Path):
        self.tmp = tmp
        self.processes: dict[str, subprocess.Popen] = {}
        # Beside the suite's own: suites on other databases never meet.
        self.url = make_url(pg_database(SUITE_URL, f"{make_url(SUITE_URL).database}_cluster", fresh=True))
        self.db = create_engine(self.url)
        self.s3_port = free_port()
        self.s3 = ThreadedMotoServer(ip_address="127.0.0.1", port=self.s3_port, verbose=False)
        self.s3.start()
        self.s3_client = boto3.client("s3", endpoint_url=f"http://127.0.0.1:{self.s3_port}", region_name="us-east-1",
                                      aws_access_key_id="cluster", aws_secret_access_key="cluster")
        self.s3_client.create_bucket(Bucket=BUCKET)
        self.rate_limit_keys = f"cluster-{uuid.uuid4().hex}"  # this run's counts only, in a shared Redis
        base = {key: value for key, value in os.environ.items()
                if key not in {"SINGLE_NODE", "DEMO", "FLASK_DEBUG", "RATELIMIT_STORAGE_URI", "ATTACHMENTS_DIR"}}
        self.env = {**base, "FLASK_APP": "app",
                    "DATABASE_URL": self.url.render_as_string(hide_password=False).replace("+psycopg", ""),
                    "SECRET_KEY": "cluster-" + "5" * 56, "REDIS_URL": "redis://127.0.0.1:6379/0",
                    "RATELIMIT_KEY_PREFIX": self.rate_limit_keys,
                    "S3_BUCKET": BUCKET, "S3_ENDPOINT_URL": f"http://127.0.0.1:{self.s3_port}",
                    "AWS_ACCESS_KEY_ID": "cluster", "AWS_SECRET_ACCESS_KEY": "cluster", "PROXY_HOPS": "1",
                    "SESSION_COOKIE_SECURE": "0", "SCHEDULE_LEASE_SECONDS": "4", "LOG_FORMAT": "json"}
        self.nodes: list[str] = []

    def flask(self, *args: str, timeout: float = 300) -> subprocess.CompletedProcess:
        return subprocess.run([str(BIN / "flask"), *args], cwd=ROOT, env=self.env, capture_output=True, text=True,
                              timeout=timeout)

    def start(self, name: str, command: list[str], **env) -> subprocess.Popen:
        log = open(self.tmp / f"{name}.log", "w")
        process = subprocess.Popen(command, cwd=ROOT, env={**self.env, **env}, stdout=log, stderr=subprocess.STDOUT,
                                   start_new_session=True)
        self.processes[name] = process
        return process

    def start_node(self, name: str) -> str:
        port = free_port()
        self.start(name, [str(BIN / "gunicorn"), "-c", "gunicorn.conf.py", "--bind", f"127.0.0.1:{port}",
                          "--workers", "2"], PROMETHEUS_MULTIPROC_DIR=str(self.tmp / f"{name}-metrics"))
        url = f"http://127.0.0.1:{port}"
        wait_for(lambda: _ready(url), 60, f"{name} to be ready")
        self.nodes.append(url)
        return url

    def start_worker(self, name: str) -> subprocess.Popen:
        return self.start(name, [str(BIN / "flask"), "timers", "run", "--poll", "0.3"])

    def kill(self, name: str) -> None:
        process = self.processes.pop(name)
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=10)

    def scalar(self, sql: str, **params):
        with self.db.connect() as connection:
            return connection.scalar(text(sql), params)

    def execute(self, sql: str, **params) -> None:
        with self.db.begin() as connection:
            connection.execute(text(sql), params)

    def stop(self) -> None:
        for name in list(self.processes):
            self.kill(name)
        self.db.dispose()
        self.s3.stop()


def _ready(url: str) -> bool:
    try:
        return requests.get(f"{url}/readyz", timeout=2).status_code == 200
    except requests.RequestException:  # not listening yet, or its workers still starting
        return False


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    cluster = Cluster(tmp_path_factory.mktemp("cluster"))
    try:
        for command in (["db", "upgrade"], ["seed-demo"]):
            result = cluster.flask(*command)
            assert result.returncode == 0, result.stderr[-3000:]
        # A company of 2,000 more customers, for the quarterly credit rating's firing below.
        cluster.execute(f"""
            INSERT INTO customers (code, name, kind, territory_id, address, business_scope, product_lines,
                main_products, downstream_market, contact1_name, contact1_mobile, contact2_name, contact2_mobile,
                other_contacts, invoice_type, equipment, transport, status, phone, settlement_method, bank_account,
                delivery_route, order_cycle, visit_cycle, resource_guarantee, extra_discount_yuan_per_ton)
            SELECT 'LOAD-' || n, '负载客户' || n, kind, territory_id, address, business_scope, product_lines,
                main_products, downstream_market, contact1_name, contact1_mobile, contact2_name, contact2_mobile,
                other_contacts, invoice_type, equipment, transport, status, phone, settlement_method, bank_account,
                delivery_route, order_cycle, visit_cycle, resource_guarantee, extra_discount_yuan_per_ton
            FROM customers, generate_series(1, {EXTRA_CUSTOMERS}) AS n WHERE code = 'HD-E1-001'""")
        cluster.start_node("node-a")
        cluster.start_node("node-b")
        cluster.start_worker("worker-1")
        cluster.start_worker("worker-2")
        yield cluster
    finally:
        cluster.stop()


def csrf_of(session: requests.Session, url: str) -> str:
    page = session.get(url, timeout=10)
    assert page.status_code == 200, page.text[:500]
    return re.search(r'name="csrf_token"[^>]*?value="([^"]+)"', page.text).group(1)


def token(node: str, username: str, address: str = "10.0.0.1") -> str:
    answer = requests.post(f"{node}/api/v1/tokens", json={"username": username, "password": demo.DEMO_PASSWORD},
                           headers={"X-Forwarded-For": address}, timeout=10)
    assert answer.status_code == 201, answer.text
    return answer.json()["token"]


def bearer(value: str) -> dict:
    return {"Authorization": f"Bearer {value}"}


def test_a_session_started_on_one_node_works_on_the_other(cluster):
    node_a, node_b = cluster.nodes
    browser = requests.Session()
    signed_in = browser.post(f"{node_a}/login", data={"username": "rep_e1", "password": demo.DEMO_PASSWORD,
                                                      "csrf_token": csrf_of(browser, f"{node_a}/login")},
                             allow_redirects=False, timeout=10)
    assert signed_in.status_code == 302, signed_in.text[:500]
    inbox = browser.get(f"{node_b}/inbox", allow_redirects=False, timeout=10)
    assert inbox.status_code == 200  # not a redirect to the sign-in page
    assert cluster.scalar("SELECT display_name FROM users WHERE username = 'rep_e1'") in inbox.text
    # A form of node A posted to node B: the CSRF token is the other node's too.
    switched = browser.post(f"{node_b}/language/en", data={"csrf_token": csrf_of(browser, f"{node_a}/inbox"),
                                                           "next": "/inbox"}, allow_redirects=False, timeout=10)
    assert switched.status_code == 302
    assert 'lang="en"' in browser.get(f"{node_a}/inbox", timeout=10).text


def test_a_file_uploaded_through_one_node_downloads_through_the_other(cluster):
    node_a, node_b = cluster.nodes
    rep = token(node_a, "rep_e1")
    customer = cluster.scalar("SELECT id FROM customers WHERE code = 'HD-E1-003'")
    filed = requests.post(f"{node_b}/api/v1/processes/complaint_handling/instances", headers=bearer(rep), timeout=30,
                          json={"data": {"customer_id": customer, "channel": "phone", "received_at": "2026-12-01T09:30",
                                         "category": "delivery", "content": "送货迟到"}})
    assert filed.status_code == 201, filed.text
    case = filed.json()["id"]
    uploaded = requests.post(f"{node_a}/api/v1/instances/{case}/attachments", headers=bearer(rep), timeout=30,
                             files={"file": ("来函.pdf", PDF, "application/pdf")})
    assert uploaded.status_code == 201, uploaded.text
    (listed,) = requests.get(f"{node_b}/api/v1/instances/{case}/attachments", headers=bearer(rep), timeout=10).json()
    download = requests.get(f"{node_b}/api/v1/instances/{case}/attachments/{listed['id']}", headers=bearer(rep),
                            timeout=10)
    assert download.status_code == 200 and download.content == PDF
    assert cluster.s3_client.head_object(Bucket=BUCKET, Key=f"attachments/{listed['sha256']}")["ContentLength"] == len(PDF)


def test_the_sign_in_rate_limit_is_shared_and_counts_the_real_client(cluster):
    node_a, node_b = cluster.nodes
    attempts = []
    for attempt in range(6):  # five failures allowed per user name and address; each node has two workers
        node = (node_a, node_b)[attempt % 2]
        attempts.append(requests.post(f"{node}/api/v1/tokens", json={"username": "rep_e2", "password": "wrong"},
                                      headers={"X-Forwarded-For": "203.0.113.7"}, timeout=10).status_code)
    assert attempts == [401] * 5 + [429]
    # Counted in Redis, not in each worker's memory, under the client's address as the proxy gave it.
    counted = [key.decode() for key in redis.Redis().keys(f"*{cluster.rate_limit_keys}*")]
    assert any("login:203.0.113.7:rep_e2" in key for key in counted), counted
    assert requests.post(f"{node_a}/api/v1/tokens", json={"username": "rep_e2", "password": "wrong"},
                         headers={"X-Forwarded-For": "203.0.113.7"}, timeout=10).status_code == 429
    token(node_b, "rep_e2", address="203.0.113.8")  # someone else, behind the same proxy, still signs in


START_CASES = """
import json, sys
from sqlalchemy import select
from app import create_app, db
from app.domain.customers import Customer
from app.engine.directory import User
app = create_app()
with app.app_context():
    engine = app.extensions["engine"]
    rep = db.session.scalar(select(User).where(User.username == "rep_e2"))
    customer = db.session.scalar(select(Customer.id).where(Customer.code == "HD-E1-001"))
    print(json.dumps([engine.cases.start("consent_with_deadlines", rep, {"customer_id": customer}).id
                      for _ in range(int(sys.argv[1]))]))
"""


def test_every_due_timer_fires_exactly_once_with_a_worker_killed_midway(cluster, tmp_path):
    # A consent reminded after 3 seconds and expired after 6 (tests/processes, with its days made seconds).
    bpmn = (ROOT / "tests" / "processes" / "consent_with_deadlines.bpmn").read_text(encoding="utf-8")
    (tmp_path / "consent_with_deadlines.bpmn").write_text(bpmn.replace("'P1D'", "'PT3S'").replace("'P3D'", "'PT6S'"),
                                                          encoding="utf-8")
    deployed = cluster.flask("processes", "deploy", "--dir", str(tmp_path))
    assert deployed.returncode == 0, deployed.stderr[-2000:]
    started = subprocess.run([sys.executable, "-c", START_CASES, "60"], cwd=ROOT, env=cluster.env,
                             capture_output=True, text=True, timeout=120)
    assert started.returncode == 0, started.stderr[-2000:]
    cases = json.loads(started.stdout.strip().splitlines()[-1])
    ours = "instance_id IN (SELECT unnest(CAST(:cases AS integer[])))"
    fired = f"SELECT count(*) FROM events WHERE type = 'timer_fired' AND {ours}"
    wait_for(lambda: cluster.scalar(fired, cases=cases) > 0, 60, "the first timers to fire", every=0.05)
    cluster.kill("worker-1")
    # People go on working through both nodes meanwhile.
    node_a, node_b = cluster.nodes
    reps = {node: token(node, "rep_e1") for node in cluster.nodes}
    customer = cluster.scalar("SELECT id FROM customers WHERE code = 'HD-E1-002'")
    for index in range(10):
        node = (node_a, node_b)[index % 2]
        filed = requests.post(f"{node}/api/v1/processes/complaint_handling/instances", headers=bearer(reps[node]),
                              json={"data": {"customer_id": customer, "channel": "phone",
                                             "received_at": "2026-12-01T09:30", "category": "delivery",
                                             "content": f"第{index}批货迟到"}}, timeout=30)
        assert filed.status_code == 201, filed.text
    wait_for(lambda: cluster.scalar(f"SELECT count(*) FROM timers WHERE {ours}", cases=cases) == 0,
             120, "every timer to fire")
    # Each case: its reminder and its expiry, each once, and the case ended by the expiry.
    assert cluster.scalar(fired, cases=cases) == 2 * len(cases)
    assert cluster.scalar(f"SELECT max(n) FROM (SELECT count(*) AS n FROM events WHERE type = 'timer_fired' "
                          f"AND {ours} GROUP BY instance_id, data) AS each", cases=cases) == 1
    assert cluster.scalar("SELECT count(*) FROM instances WHERE id IN (SELECT unnest(CAST(:cases AS integer[]))) "
                          "AND status = 'completed' AND outcome = 'expired'", cases=cases) == len(cases)
    assert cluster.scalar("SELECT count(*) FROM incidents") == 0
    cluster.start_worker("worker-1")


def test_two_checkpoints_at_once_leave_the_audit_chain_intact(cluster):
    runs = [subprocess.Popen([str(BIN / "flask"), "audit", "checkpoint"], cwd=ROOT, env=cluster.env,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for _ in range(2)]
    for run in runs:
        _, errors = run.communicate(timeout=120)
        assert run.returncode == 0, errors[-2000:]
    verified = cluster.flask("audit", "verify")
    assert verified.returncode == 0, verified.stdout + verified.stderr
    assert cluster.scalar("SELECT count(*) FROM audit_checkpoints") == 2
    assert cluster.scalar("SELECT max(position) FROM audit_checkpoints") == 2


def test_a_scheduled_firing_opens_each_case_once_with_its_worker_killed(cluster):
    for name in ("worker-1", "worker-2"):
        cluster.kill(name)
    customers = cluster.scalar("SELECT count(*) FROM customers WHERE NOT potential")  # the demo's leads are not rated
    quarter_cases = ("SELECT count(*) FROM instances WHERE process_key = 'credit_rating' "
                     "AND unique_key LIKE '%:' || :quarter")
    quarter = cluster.scalar("SELECT max(split_part(unique_key, ':', 3)) FROM instances "
                             "WHERE process_key = 'credit_rating'")
    before = cluster.scalar(quarter_cases, quarter=quarter)
    assert 0 < before < customers  # the demo's customers have last quarter's case; the 2,000 have none
    # The schedule falls due again within last quarter's firing's quarter: it opens what is missing.
    cluster.execute("UPDATE timers SET due_at = now() - interval '1 second', firing_at = NULL "
                    "WHERE kind = 'schedule' AND process_key = 'credit_rating'")
    cluster.start_worker("worker-1")
    wait_for(lambda: cluster.scalar(quarter_cases, quarter=quarter) > before + 100, 120, "cases to open")
    cluster.kill("worker-1")
    midway = cluster.scalar(quarter_cases, quarter=quarter)
    assert midway < customers
    cluster.start_worker("worker-2")  # takes the firing over once the dead worker's lease runs out
    wait_for(lambda: cluster.scalar("SELECT firing_at IS NULL FROM timers WHERE kind = 'schedule' "
                                    "AND process_key = 'credit_rating'"), 600, "the firing to finish", every=1)
    assert cluster.scalar(quarter_cases, quarter=quarter) == customers
    assert cluster.scalar("SELECT count(*) FROM (SELECT customer_id FROM instances WHERE process_key = "
                          "'credit_rating' AND unique_key LIKE '%:' || :quarter GROUP BY customer_id "
                          "HAVING count(*) > 1) AS twice", quarter=quarter) == 0
    verified = cluster.flask("audit", "verify")
    assert verified.returncode == 0, verified.stdout + verified.stderr
