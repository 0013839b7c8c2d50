"""A real server under load: gunicorn workers, concurrent users filing and consenting through the API.

    DATABASE_URL=postgresql://postgres@127.0.0.1:5432/bench .venv/bin/python bench/http.py \\
        [--users 16] [--cases 1000] [--seconds 120] [--workers 4]

Every virtual user is a thread that files borrowing requests as its own requester (a customer
specialist, so each case takes all three consents) and then consents as the territory rep, the
business department (claim first) and the branch manager, over plain HTTP on the loopback.
The run is bounded by --cases and --seconds. At the end the database is checked: every case ended
approved with exactly its three tasks, one loan and an unbroken audit trail; nothing is left open.

The database is rebuilt (see bench/common.py). The last line of output is one JSON object.
"""
from __future__ import annotations

import sys
from pathlib import Path

if __package__ in (None, ""):
    # Run as a script, bench/ would be first on the path and this file would shadow the stdlib's http.
    sys.path[0] = str(Path(__file__).resolve().parent.parent)

import http.client
import json
import os
import signal
import socket
import subprocess
import threading
import time
from collections import Counter

from sqlalchemy import func, select

from bench import common

EXPECTED_TRAIL = ["instance_started", "task_created", "task_completed", "task_created", "task_claimed",
                  "task_completed", "task_created", "task_completed", "loan_granted", "instance_completed"]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def prepare_database(app, requesters: int, cases: int) -> tuple[list[str], list[int]]:
    """Requesters (customer specialists of the east branch) and enough E1 customers for the load:
    a requester asks for each dossier once (a second request would meet his running loan)."""
    from app import db
    from app.domain import org
    from app.domain.customers import DIRECT, Customer
    from app.domain.demo import DEMO_PASSWORD

    with app.app_context():
        east = db.session.scalar(select(org.OrgUnit).where(org.OrgUnit.code == "east"))
        e1 = db.session.scalar(select(org.OrgUnit).where(org.OrgUnit.code == "E1"))
        role = db.session.scalar(select(org.Role).where(org.Role.code == org.CUSTOMER_SPECIALIST))
        password_hash = app.extensions["accounts"].hash_password(DEMO_PASSWORD)
        names = [f"load_{i:03d}" for i in range(requesters)]
        for name in names:
            user = org.User(username=name, display_name=name, org_unit=east, password_hash=password_hash)
            user.memberships = [org.Membership(role=role, org_unit=east)]
            db.session.add(user)
        for i in range(-(-cases // requesters)):
            db.session.add(Customer(code=f"HD-E1-L{i:04d}", name=f"压测客户{i:04d}", kind=DIRECT, territory=e1))
        db.session.commit()
        customers = list(db.session.scalars(select(Customer.id).where(Customer.territory_id == e1.id)))
    return names, customers


class Client:
    """One keep-alive HTTP connection (reopened when the server closes it), timing every request."""

    def __init__(self, port: int, latencies: list, errors: Counter):
        self.port, self.latencies, self.errors = port, latencies, errors
        self.connection = None

    def call(self, method: str, path: str, token: str | None = None, body: dict | None = None):
        headers = {"Content-Type": "application/json"}
        if token:
            headers["Authorization"] = f"Bearer {token}"
        payload = json.dumps(body).encode() if body is not None else None
        for attempt in range(2):
            if self.connection is None:
                self.connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
            began = time.perf_counter()
            try:
                self.connection.request(method, f"/api/v1{path}", body=payload, headers=headers)
                response = self.connection.getresponse()
                data = response.read()
            except (http.client.HTTPException, ConnectionError) as exc:
                self.connection.close()
                self.connection = None
                if attempt == 0 and isinstance(exc, (http.client.RemoteDisconnected, ConnectionResetError)):
                    continue  # the server closed an idle keep-alive connection: not an error
                self.errors[f"{method} {path.split('/')[1]}: {type(exc).__name__}"] += 1
                return None
            self.latencies.append(time.perf_counter() - began)
            if response.getheader("Connection", "").lower() == "close":
                self.connection.close()
                self.connection = None
            if response.status >= 400:
                self.errors[f"{method} {path.split('/')[1]}: {response.status}"] += 1
                return None
            return json.loads(data)
        return None


def token_for(client: Client, username: str) -> str:
    from app.domain.demo import DEMO_PASSWORD

    response = client.call("POST", "/tokens", body={"username": username, "password": DEMO_PASSWORD})
    if response is None:
        raise RuntimeError(f"no token for {username}")
    return response["token"]


def virtual_user(port, token, customers, approver_tokens, budget, deadline, filed, latencies, errors):
    client = Client(port, latencies, errors)
    for customer in customers:
        if time.monotonic() > deadline or not budget.take():
            return
        instance = client.call("POST", f"/processes/{common.PROCESS}/instances", token,
                               {"data": {**common.request_data(customer), "days": 1}})
        if instance is None:
            continue
        filed.append(instance["id"])
        for username in common.CONSENTERS:
            task_id = instance["tasks"][0]["id"]
            if username == "biz_east" and client.call("POST", f"/tasks/{task_id}/claim",
                                                      approver_tokens[username]) is None:
                break
            result = client.call("POST", f"/tasks/{task_id}/complete", approver_tokens[username],
                                 {"data": common.APPROVE})
            if result is None:
                break
            instance = result["instance"]


class Budget:
    """How many more cases may be filed, shared by the virtual users."""

    def __init__(self, cases: int):
        self.left, self.lock = cases, threading.Lock()

    def take(self) -> bool:
        with self.lock:
            if self.left <= 0:
                return False
            self.left -= 1
            return True


def check_consistency(app, filed: list[int]) -> dict:
    """Every filed case approved with its three tasks, one loan, the full trail; nothing else in the tables."""
    from app import db
    from app.domain.customers import DossierLoan
    from app.engine.models import DONE, Event, Instance, Task

    problems = []
    with app.app_context():
        instances = {i.id: i for i in db.session.scalars(select(Instance))}
        if sorted(instances) != sorted(filed) or len(set(filed)) != len(filed):
            problems.append(f"{len(instances)} instances in the database, {len(filed)} filed")
        tasks_by_instance: dict[int, list] = {}
        for task in db.session.scalars(select(Task).order_by(Task.id)):
            tasks_by_instance.setdefault(task.instance_id, []).append(task)
        trails: dict[int, list[str]] = {}
        for instance_id, event_type in db.session.execute(select(Event.instance_id, Event.type)
                                                          .order_by(Event.id)):
            trails.setdefault(instance_id, []).append(event_type)
        loans = Counter(db.session.scalars(select(DossierLoan.instance_id)))
        orphans = db.session.scalar(select(func.count()).select_from(Task)
                                    .where(Task.instance_id.not_in(list(instances) or [0])))
        if orphans:
            problems.append(f"{orphans} orphaned tasks")
        for instance_id, instance in instances.items():
            tasks = tasks_by_instance.get(instance_id, [])
            if (instance.status, instance.outcome) != ("completed", "approved"):
                problems.append(f"case {instance_id}: {instance.status}/{instance.outcome}")
            if [t.spec_id for t in tasks] != ["consent_territory_rep", "consent_business_dept",
                                               "consent_branch_manager"] or any(t.state != DONE for t in tasks):
                problems.append(f"case {instance_id}: tasks {[(t.spec_id, t.state) for t in tasks]}")
            if trails.get(instance_id) != EXPECTED_TRAIL:
                problems.append(f"case {instance_id}: trail {trails.get(instance_id)}")
            if loans[instance_id] != 1:
                problems.append(f"case {instance_id}: {loans[instance_id]} loans")
    return {"ok": not problems, "cases_checked": len(instances), "problems": problems[:20]}


def run(users: int, cases: int, seconds: float, workers: int) -> dict:
    app = common.fresh_app()
    requesters, customers = prepare_database(app, users, cases)
    port = free_port()
    env = {**os.environ, "DATABASE_URL": app.config["DATABASE_URL"],
           "LOGIN_FAILURE_LIMIT": "1000000 per minute",
           "SECRET_KEY": common.BENCH_CONFIG["SECRET_KEY"], "SINGLE_NODE": "1"}
    server = subprocess.Popen(
        [str(Path(sys.executable).parent / "gunicorn"), "--workers", str(workers), "--bind", f"127.0.0.1:{port}",
         "--log-level", "warning", "app:create_app()"],
        cwd=common.ROOT, env=env, start_new_session=True)
    try:
        for _ in range(300):
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                break
            except OSError:
                time.sleep(0.1)
        latencies: list[float] = []
        errors: Counter = Counter()
        probe = Client(port, [], errors)
        # Everyone signs in before the timed window: a sign-in is a deliberately slow password hash.
        approver_tokens = {name: token_for(probe, name) for name in common.CONSENTERS}
        requester_tokens = [token_for(probe, name) for name in requesters]
        filed: list[int] = []
        budget = Budget(cases)
        deadline = time.monotonic() + seconds
        threads = [threading.Thread(target=virtual_user, daemon=True,
                                    args=(port, token, customers, approver_tokens, budget, deadline, filed,
                                          latencies, errors))
                   for token in requester_tokens]
        began = time.perf_counter()
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=seconds + 60)
        elapsed = time.perf_counter() - began
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=30)
    consistency = check_consistency(app, filed)
    with app.app_context():
        from app import db
        dialect = db.dialect()
    return {
        "benchmark": "http", "database": dialect, "workers": workers, "virtual_users": users,
        "cases_filed": len(filed), "seconds": round(elapsed, 2),
        "completed_cases_per_s": round(consistency["cases_checked"] / elapsed, 1) if consistency["ok"] else 0,
        "requests": len(latencies), "requests_per_s": round(len(latencies) / elapsed, 1),
        "latency": common.summary_ms(latencies) if latencies else {},
        "errors": sum(errors.values()), "error_kinds": dict(errors),
        "consistency": consistency, "machine": common.machine(),
    }


def main(argv=None) -> dict:
    return common.command_line(__doc__, run, argv, users=(int, 16, "concurrent virtual users"),
                               cases=(int, 1000, "cases to file at most"),
                               seconds=(float, 120, "time limit of the load"), workers=(int, 4, "gunicorn workers"))


if __name__ == "__main__":
    main()
