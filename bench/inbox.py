"""Inbox and compliance-search latency at scale (issue 3).

    .venv/bin/python bench/inbox.py [--completed N] [--open N] [--users N] [--roles N] [--samples N]
                                    [--assigned N] [--claimable N] [--database-url URL] [--seed N]

Builds a database the size of a few years of a large company (by default 1,000,000 completed and
100,000 open tasks, 5,000 users, 200 roles, several audit events per task over one year) with bulk
inserts, then times the real application through Flask's test client:

- the inbox API (GET /api/v1/tasks) and the inbox page (GET /inbox) of a user who owns exactly
  --assigned open tasks (default 50), and of a user who may claim exactly --claimable open tasks
  (default 5,000) offered to his role in his org unit;
- the compliance search (GET /api/v1/events) for one actor over a quarter and for one process over a
  month (a random actor and window per request).

- starting a borrowing case (POST /api/v1/processes/dossier_borrowing/instances) by a random
  requester for a random customer: the start hook's look-ups (a running request, a current loan)
  over the whole history.

Rows are as real cases leave them: every instance holds a real SpiffWorkflow state of its stage
(serialized by the engine's serializer), belongs to a customer of its territory (ten per territory),
and an approved case has its loan; every task told its people (a notification each, read once the
step was done, the offers of open group steps unread) and every ended case its initiator, so the
top bar's unread count on each page counts what a busy user really has.

Everyone signs in for real (bearer tokens; a session with a CSRF token for the page). Planner
statistics are what production would have: PostgreSQL gets VACUUM ANALYZE (what autovacuum does after
a bulk load), SQLite none (the application never runs ANALYZE).
Progress goes to stderr; the last line of stdout is one JSON object with every figure (p50/p95 in
ms, sizes, generation seconds, row counts, the database dialect). Nothing is asserted on timings.

DATABASE: --database-url, else DATABASE_URL, else a new SQLite file in a temporary directory
(removed afterwards). On PostgreSQL the schema `public` of that database is DROPPED and recreated:
never point this at a database whose data you want to keep (use e.g. .../bench_inbox).
"""
from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# Run as a script, Python puts bench/ first on the path, where bench/http.py would shadow the standard
# library's `http` (werkzeug needs it): put the project there instead.
if sys.path and Path(sys.path[0] or ".").resolve() == ROOT / "bench":
    sys.path[0] = str(ROOT)

import argparse  # noqa: E402
import hashlib  # noqa: E402
import json  # noqa: E402
import os  # noqa: E402
import random  # noqa: E402
import re  # noqa: E402
import shutil  # noqa: E402
import statistics  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from dataclasses import dataclass, field  # noqa: E402
from datetime import UTC, datetime, timedelta, timezone  # noqa: E402
from urllib.parse import urlencode  # noqa: E402

import orjson  # noqa: E402
import psycopg  # noqa: E402
from lxml import etree  # noqa: E402
from sqlalchemy import Integer, String, Text, func, select, text  # noqa: E402

from app import create_app, db  # noqa: E402
from app.domain import org  # noqa: E402
from app.domain.accounts import Accounts  # noqa: E402
from app.domain.customers import Customer, DossierLoan  # noqa: E402
from app.domain.notifications import Notification  # noqa: E402
from app.engine.models import DONE, OPEN, Event, Instance, ProcessDefinition, Task  # noqa: E402
from bench import common  # noqa: E402

PROCESS_KEY = "dossier_borrowing"
BPMN_FILE = ROOT / "processes" / "dossier_borrowing.bpmn"
BPMN_NS = "http://www.omg.org/spec/BPMN/20100524/MODEL"
CAMUNDA_NS = "http://camunda.org/schema/1.0/bpmn"
PASSWORD = "bench-password"
BATCH = 10_000
DAY = 86_400.0
HOUR = 3_600.0
CST = timezone(timedelta(hours=8))

# The steps of dossier_borrowing: BPMN id, name, rule. Step 1 is offered to a group (claimed first).
STEPS = (("consent_territory_rep", "片区销售代表同意", "territory_rep"),
         ("consent_business_dept", "业务部主管同意", "branch_business_dept"),
         ("consent_branch_manager", "分公司经理同意", "branch_manager"))
REP_STEP, GROUP_STEP, MANAGER_STEP = 0, 1, 2
# Roles the flow needs first; the rest of --roles are other real codes, then made-up ones.
FLOW_ROLES = (org.SALES_REP, org.BUSINESS_SUPERVISOR, org.BRANCH_MANAGER, org.AUDITOR)
OTHER_REAL_ROLES = (org.CUSTOMER_SPECIALIST, org.SALES_MANAGER, org.DEPUTY_GM, org.HQ_MARKETING,
                    org.LEADERSHIP, org.SALES_DEPARTMENT, org.FINANCE, org.ADMIN)
PURPOSES = ("核对合同条款", "准备季度拜访", "核对开票信息", "年度档案更新", "核对配送路线", "核对结算方式")
COMMENTS = ("同意", "同意，注意保密", "限阅三天以内", "同意，仅限本次拜访使用")
REFUSALS = ("用途不明确，请补充说明", "客户要求保密，暂不外借", "已有同事在跟进，请直接联系")

MEASUREMENTS = ("api_inbox_assigned", "page_inbox_assigned", "api_inbox_claimable", "page_inbox_claimable",
                "api_events_actor_quarter", "api_events_process_month", "api_start_case")
CUSTOMERS_PER_TERRITORY = 10


def log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


# -- the database --------------------------------------------------------------------------------------

def sqlalchemy_url(url: str) -> str:
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix):]
    return url


def make_app(url: str):
    return create_app({
        "DATABASE_URL": sqlalchemy_url(url),
        "SECRET_KEY": "bench-inbox-" + "0" * 32,
        "SINGLE_NODE": True,
        "ARGON2_TIME_COST": 1,
        "ARGON2_MEMORY_COST": 1024,
        "LOGIN_FAILURE_LIMIT": "1000 per minute",
    })


def build_schema() -> None:
    """An empty database at the newest migration (PostgreSQL: schema public dropped first)."""
    from flask_migrate import upgrade

    if db.dialect() == "postgresql":
        db.session.execute(text("DROP SCHEMA public CASCADE"))
        db.session.execute(text("CREATE SCHEMA public"))
        db.session.commit()
    upgrade()


class Loader:
    """Bulk inserts over one connection: COPY on PostgreSQL; on SQLite, one INSERT run as one
    executemany per batch of ~10,000 rows.

    Rows are tuples already in the database's own terms (`stamp` and `doc` make them): the ORM's
    per-value type processing would cost more than the inserts themselves.
    """

    def __init__(self):
        self.postgres = db.dialect() == "postgresql"
        self.rows_written: dict[str, int] = {}
        if self.postgres:
            self.raw = db.current_engine().raw_connection()
            connection = self.raw.driver_connection
            # Generated rows are consistent by construction: no waiting for the WAL flush at each
            # batch's commit, and (superusers only) no per-row foreign key triggers. This session only.
            connection.execute("SET synchronous_commit = off")
            connection.commit()
            try:
                connection.execute("SET session_replication_role = replica")
                connection.commit()
            except psycopg.Error:
                connection.rollback()
                log("not a superuser: foreign keys are checked while loading (slower)")
        else:
            self.connection = db.current_engine().connect()
            # A throw-away database and consistent rows: no fsync and no foreign key checks while
            # loading, and a large page cache for the indexes.
            # (outside SQLAlchemy's transaction: the app's connections run in autocommit mode underneath)
            sqlite_connection = self.connection.connection.driver_connection
            sqlite_connection.execute("PRAGMA synchronous=OFF")
            sqlite_connection.execute("PRAGMA foreign_keys=OFF")
            sqlite_connection.execute("PRAGMA cache_size=-262144")

    def stamp(self, epoch_seconds: float):
        """A UTC moment as the database stores it (UTCDateTime: naive UTC text on SQLite)."""
        moment = datetime.fromtimestamp(epoch_seconds, UTC)
        return moment if self.postgres else moment.replace(tzinfo=None).isoformat(" ", "microseconds")

    @staticmethod
    def doc(value: dict) -> str:
        return orjson.dumps(value).decode()

    def write(self, table, columns: tuple[str, ...], rows: list[tuple]) -> None:
        if not rows:
            return
        self.rows_written[table.name] = self.rows_written.get(table.name, 0) + len(rows)
        if self.postgres:
            with self.raw.driver_connection.cursor() as cursor:
                with cursor.copy(f"COPY {table.name} ({', '.join(columns)}) FROM STDIN") as copy:
                    for row in rows:
                        copy.write_row(row)
            self.raw.driver_connection.commit()
            return
        # Plain SQL naming just these columns: the others take the database's defaults.
        statement = f"INSERT INTO {table.name} ({', '.join(columns)}) VALUES ({', '.join('?' * len(columns))})"
        for start in range(0, len(rows), BATCH):
            self.connection.exec_driver_sql(statement, rows[start:start + BATCH])
        self.connection.commit()

    # What a production database of this size would have. PostgreSQL's autovacuum analyses (and
    # sets the visibility map for index-only scans) after a bulk load; the application never runs
    # ANALYZE on SQLite, so its plans must not depend on statistics and the bench gives it none.
    STATISTICS = {"postgresql": "VACUUM ANALYZE", "sqlite": "none"}

    def finish(self) -> None:
        """Sequences past the ids written; planner statistics as production would have them."""
        if self.postgres:
            connection = self.raw.driver_connection
            connection.autocommit = True
            for name in self.rows_written:
                connection.execute(f"SELECT setval(pg_get_serial_sequence('{name}', 'id'), "
                                   f"(SELECT coalesce(max(id), 1) FROM {name}))")
            connection.execute("VACUUM ANALYZE")
            connection.execute("RESET session_replication_role")
            connection.execute("RESET synchronous_commit")
            self.raw.close()
        else:
            self.connection.close()
        db.current_engine().dispose()  # measure on connections set up the application's way


# -- the organisation ------------------------------------------------------------------------------------

@dataclass
class Branch:
    index: int
    unit_id: int
    business_dept_id: int
    manager_id: int = 0
    supervisor_ids: list[int] = field(default_factory=list)
    # (territory unit id, its rep's user id)
    territories: list[tuple[int, int]] = field(default_factory=list)


@dataclass
class Organisation:
    branches: list[Branch]
    special: Branch  # holds the claimable user's department and the assigned user's territory
    busy_territory: tuple[int, int]  # (unit id, the assigned user's id)
    auditor: str
    assigned_user: str
    claimable_user: str
    users: list[tuple[int, str]]  # (id, username) of everybody
    is_rep: set[int]
    role_ids: dict[str, int]
    rows: dict[str, int]


def build_organisation(loader: Loader, rng: random.Random, n_users: int, n_roles: int) -> Organisation:
    """HQ, branches with territories and departments, `n_users` users, `n_roles` roles, memberships."""
    role_codes = list(FLOW_ROLES) + list(OTHER_REAL_ROLES)
    role_codes += [f"bench_role_{i:03d}" for i in range(len(role_codes) + 1, n_roles + 1)]
    role_codes = role_codes[:n_roles]
    role_ids = {code: i for i, code in enumerate(role_codes, start=1)}
    other_roles = role_codes[len(FLOW_ROLES):]

    n_branches = max(2, min(50, n_users // 100))
    n_territories = 6 if n_users >= 500 else 2
    units: list[tuple] = []  # id, code, name, kind, parent_id, function

    def unit(code, name, kind, parent, function=None) -> int:
        units.append((len(units) + 1, code, name, kind, parent, function))
        return len(units)

    hq = unit("hq", "总公司", org.HQ, None)
    compliance = unit("hq_compliance", "合规审查室", org.DEPARTMENT, hq, "compliance")
    hq_departments = [compliance] + [unit(f"hq_{f}", f"总公司{f}", org.DEPARTMENT, hq, f)
                                     for f in ("marketing", "sales", "finance", "leadership", "process_admin")]
    branches = []
    for b in range(n_branches):
        branch_unit = unit(f"b{b:02d}", f"第{b + 1}分公司", org.BRANCH, hq)
        business = unit(f"b{b:02d}_business", f"第{b + 1}分公司业务部", org.DEPARTMENT, branch_unit, "business")
        branch = Branch(b, branch_unit, business)
        for f in ("sales", "finance"):
            unit(f"b{b:02d}_{f}", f"第{b + 1}分公司{f}", org.DEPARTMENT, branch_unit, f)
        for t in range(n_territories):
            branch.territories.append((unit(f"b{b:02d}_t{t}", f"第{b + 1}分公司{t + 1}片区", org.TERRITORY,
                                            branch_unit), 0))
        branches.append(branch)
    special = branches[0]
    busy_unit = unit("b00_busy", "第1分公司重点片区", org.TERRITORY, special.unit_id)

    users: list[tuple] = []  # id, username, display_name, password_hash, org_unit_id, locale, active
    memberships: list[tuple] = []  # id, user_id, role_id, org_unit_id
    password_hash = Accounts(time_cost=1, memory_cost=1024).hash_password(PASSWORD)
    is_rep: set[int] = set()

    def user(username, home, roles) -> int:
        user_id = len(users) + 1
        users.append((user_id, username, f"用户{user_id:05d}", password_hash, home, None, True))
        for role_code, role_unit in roles:
            memberships.append((len(memberships) + 1, user_id, role_ids[role_code], role_unit))
            if role_code == org.SALES_REP:
                is_rep.add(user_id)
        return user_id

    user("bench_auditor", compliance, [(org.AUDITOR, compliance)])
    busy = user("bench_assigned", busy_unit, [(org.SALES_REP, busy_unit)])
    claimer = user("bench_claimable", special.business_dept_id, [(org.BUSINESS_SUPERVISOR, special.business_dept_id)])
    for branch in branches:
        branch.manager_id = user(f"mgr_b{branch.index:02d}", branch.unit_id, [(org.BRANCH_MANAGER, branch.unit_id)])
        branch.supervisor_ids = [user(f"biz_b{branch.index:02d}_{s}", branch.business_dept_id,
                                      [(org.BUSINESS_SUPERVISOR, branch.business_dept_id)]) for s in range(2)]
        branch.territories = [(t, user(f"rep_b{branch.index:02d}_t{i}", t, [(org.SALES_REP, t)]))
                              for i, (t, _) in enumerate(branch.territories)]
    special.supervisor_ids.append(claimer)
    if len(users) > n_users:
        raise SystemExit(f"--users must be at least {len(users)} for {n_branches} branches")
    all_units = [u[0] for u in units]
    homes = hq_departments + [u[0] for u in units if u[3] in (org.BRANCH, org.DEPARTMENT) and u[0] > compliance]
    while len(users) < n_users:
        number = len(users) + 1
        home = rng.choice(homes)
        roles = [(rng.choice(other_roles), home)]
        if rng.random() < 0.25:  # some people hold a second role somewhere else
            second = (rng.choice(other_roles), rng.choice(all_units))
            if second != roles[0]:
                roles.append(second)
        user(f"u{number:05d}", home, roles)

    org_table, role_table = org.OrgUnit.__table__, org.Role.__table__
    loader.write(org_table, ("id", "code", "name", "kind", "parent_id", "function"), units)
    loader.write(role_table, ("id", "code"), [(i, code) for code, i in role_ids.items()])
    loader.write(org.User.__table__, ("id", "username", "display_name", "password_hash", "org_unit_id", "locale",
                                      "active"), users)
    loader.write(org.Membership.__table__, ("id", "user_id", "role_id", "org_unit_id"), memberships)
    return Organisation(branches=branches, special=special, busy_territory=(busy_unit, busy),
                        auditor="bench_auditor", assigned_user="bench_assigned", claimable_user="bench_claimable",
                        users=[(u[0], u[1]) for u in users], is_rep=is_rep, role_ids=role_ids,
                        rows={"org_units": len(units), "roles": len(role_ids), "users": len(users),
                              "memberships": len(memberships)})


def deploy_definition(loader: Loader, deployed_at: float) -> int:
    xml = BPMN_FILE.read_text(encoding="utf-8")
    process = etree.fromstring(xml.encode()).find(f"{{{BPMN_NS}}}process[@id='{PROCESS_KEY}']")
    start_form = process.find(f"{{{BPMN_NS}}}startEvent").get(f"{{{CAMUNDA_NS}}}formKey")
    loader.write(ProcessDefinition.__table__,
                 ("id", "key", "version", "name", "content_hash", "bpmn_xml", "source_name", "start_form_key",
                  "dmn_xml", "deployed_at", "approved_at", "change_note"),
                 [(1, PROCESS_KEY, 1, process.get("name"), hashlib.sha256(xml.encode()).hexdigest(), xml,
                   BPMN_FILE.name, start_form, loader.doc({}), loader.stamp(deployed_at), loader.stamp(deployed_at),
                   "")])
    return 1


def customer_id(territory_unit: int, number: int) -> int:
    return territory_unit * 100 + number


def build_customers(loader: Loader, organisation: Organisation) -> int:
    """Ten customers in every territory; every column the table requires, as a new dossier has it."""
    table = Customer.__table__
    blank = {column.name: "" if isinstance(column.type, String | Text) else 0 if isinstance(column.type, Integer)
             else False for column in table.columns if not column.nullable and not column.primary_key}
    blank.update(kind="distributor")
    columns = ("id", "code", "name", "territory_id", *[name for name in blank if name not in
                                                      ("code", "name", "territory_id")])
    territories = [t for branch in organisation.branches for t in branch.territories] + [organisation.busy_territory]
    rows = []
    for unit_id, _rep in territories:
        for number in range(CUSTOMERS_PER_TERRITORY):
            cid = customer_id(unit_id, number)
            values = {**blank, "id": cid, "code": f"C-{cid}", "name": f"客户{cid}有限公司", "territory_id": unit_id}
            rows.append(tuple(values[name] for name in columns))
    loader.write(table, columns, rows)
    return len(rows)


def real_states() -> dict[str, bytes]:
    """What the instances table holds for a borrowing case at each stage: SpiffWorkflow's real state,
    serialized by the engine's serializer, waiting at consent 1, 2, 3 or ended."""
    from SpiffWorkflow.bpmn import BpmnWorkflow
    from SpiffWorkflow.util.task import TaskState

    from app.engine import serializer

    spec, subprocess_specs, script_engine = common.own_borrowing_spec()
    workflow = BpmnWorkflow(spec, subprocess_specs, script_engine=script_engine)
    workflow.task_tree.data.update({"customer_id": 1, "customer_code": "C-1", "customer_name": "客户1有限公司",
                                    "purpose": PURPOSES[0], "days": 7, "requester_is_sales_rep": False,
                                    "initiator_id": 1})
    workflow.do_engine_steps()
    states = {}
    for step in range(len(STEPS)):
        states[f"waiting_{step}"] = serializer.dumps(workflow)
        task = workflow.get_next_task(state=TaskState.READY, manual=True)
        task.data.update({"decision": "approve", "comment": COMMENTS[0]})
        task.run()
        workflow.do_engine_steps()
    states["ended"] = serializer.dumps_ended(workflow)  # what the engine keeps of an ended case
    return states


# -- cases, tasks and events --------------------------------------------------------------------------------

@dataclass
class Step:
    index: int  # into STEPS
    created: float  # epoch seconds
    assignee_id: int | None
    claimed: float | None = None
    completed: float | None = None
    decision: str | None = None  # approve / reject once completed


@dataclass
class Plan:
    start: float
    requester_id: int
    branch: Branch
    territory: tuple[int, int]
    steps: list[Step]


def needed_steps(org_: Organisation, requester_id: int) -> int:
    """A rep of another territory needs two consents; anyone else three."""
    return 2 if requester_id in org_.is_rep else 3


def pick_requester(rng: random.Random, org_: Organisation, territory: tuple[int, int]) -> int:
    while True:
        user_id = rng.choice(org_.users)[0]
        if user_id != territory[1]:  # a rep reads his own territory without asking
            return user_id


def step_assignee(rng: random.Random, step: int, branch: Branch, territory: tuple[int, int],
                  claimed: bool) -> int | None:
    if step == REP_STEP:
        return territory[1]
    if step == MANAGER_STEP:
        return branch.manager_id
    return rng.choice(branch.supervisor_ids) if claimed else None


def completed_steps_backwards(rng, plan_steps: int, first_open: Step | None, end: float, branch, territory,
                              decisions: list[str]) -> list[Step]:
    """`plan_steps` completed steps ending at `end` (each took 0.1 h to 2 days)."""
    steps: list[Step] = []
    moment = end
    for index in reversed(range(plan_steps)):
        completed = moment
        took = rng.uniform(0.1 * HOUR, 2 * DAY)
        created = completed - took
        claimed = created + rng.uniform(0, took) if index == GROUP_STEP else None
        steps.append(Step(index, created, step_assignee(rng, index, branch, territory, index == GROUP_STEP),
                          claimed, completed, decisions[index]))
        moment = created
    steps.reverse()
    if first_open is not None:
        steps.append(first_open)
    return steps


def plan_running(rng: random.Random, org_: Organisation, n_open: int, n_assigned: int, n_claimable: int,
                 end: float) -> list[Plan]:
    """One running case per open task; the open task was created in the last ten days."""
    plans = []
    others = [b for b in org_.branches if b is not org_.special] or org_.branches
    for number in range(n_open):
        if number < n_assigned:  # the assigned user's own territory: his consent is awaited
            branch, territory, step, claimed = org_.special, org_.busy_territory, REP_STEP, False
            requester = pick_requester(rng, org_, territory)
        elif number < n_assigned + n_claimable:  # offered to the claimable user's department
            branch = org_.special
            territory = rng.choice(branch.territories)
            requester, step, claimed = pick_requester(rng, org_, territory), GROUP_STEP, False
        else:
            branch = rng.choice(others)
            territory = rng.choice(branch.territories)
            requester = pick_requester(rng, org_, territory)
            step = rng.choices(range(needed_steps(org_, requester)), weights=(45, 35, 20)[:needed_steps(org_, requester)])[0]
            claimed = step == GROUP_STEP and rng.random() < 0.3
        created = end - rng.uniform(0, 10 * DAY)
        open_step = Step(step, created, step_assignee(rng, step, branch, territory, claimed),
                         min(end, created + rng.uniform(0, HOUR)) if claimed else None)
        steps = completed_steps_backwards(rng, step, open_step, created, branch, territory, ["approve"] * 3)
        plans.append(Plan(steps[0].created, requester, branch, territory, steps))
    return plans


def plan_completed(rng: random.Random, org_: Organisation, n_tasks: int, start: float, end: float) -> list[Plan]:
    """Finished cases, started at any time of the year, with `n_tasks` completed tasks in all."""
    plans = []
    remaining = n_tasks
    while remaining > 0:
        branch = rng.choice(org_.branches)
        territories = branch.territories + ([org_.busy_territory] if branch is org_.special else [])
        territory = rng.choice(territories)
        requester = pick_requester(rng, org_, territory)
        decisions = ["approve"] * 3
        count = needed_steps(org_, requester)
        for index in range(count):
            if rng.random() < 0.07:
                decisions[index], count = "reject", index + 1
                break
        if count > remaining:  # the last case ends in a refusal at exactly the right step
            count = remaining
            decisions[count - 1] = "reject"
        case_end = rng.uniform(start + 8 * DAY, end - 11 * DAY)
        steps = completed_steps_backwards(rng, count, None, case_end, branch, territory, decisions)
        plans.append(Plan(steps[0].created - rng.uniform(0, 60), requester, branch, territory, steps))
        remaining -= count
    return plans


INSTANCE_COLUMNS = ("id", "definition_id", "process_key", "status", "outcome", "business_key", "customer_id",
                    "start_data", "state", "version", "started_by_id", "started_at", "ended_at")
TASK_COLUMNS = ("id", "instance_id", "process_key", "spiff_task_id", "spec_id", "name", "form_key", "state",
                "assignment_rule", "owner_id", "assignee_id", "candidate_role", "candidate_org_unit_id", "due_at",
                "created_at", "claimed_at", "completed_at", "completed_by_id", "version")
EVENT_COLUMNS = ("id", "instance_id", "task_id", "type", "actor_id", "at", "data")
LOAN_COLUMNS = ("id", "customer_id", "borrower_id", "instance_id", "purpose", "days", "starts_at", "expires_at")
NOTIFICATION_COLUMNS = ("user_id", "kind", "instance_id", "task_id", "at", "data", "read_at", "email_attempts")


class Writer:
    """Turns plans into rows, in batches: instances before their tasks before their events."""

    def __init__(self, loader: Loader, rng: random.Random, definition_id: int):
        self.loader, self.rng, self.definition_id = loader, rng, definition_id
        self.stamp = loader.stamp
        self.states = real_states()
        self.instances: list[tuple] = []
        self.tasks: list[tuple] = []
        self.events: list[tuple] = []
        self.loans: list[tuple] = []
        self.notifications: list[tuple] = []
        self.instance_id = self.task_id = self.event_id = 0
        self.counts = {"instances": 0, "tasks": 0, "tasks_open": 0, "tasks_completed": 0, "events": 0,
                       "dossier_loans": 0, "notifications": 0}

    def tell(self, user_id, kind, instance_id, task_id, moment: float, read: float | None, task: str = "",
             outcome: str = "") -> None:
        data = {"task": task, "by": "", "comment": ""} | ({"outcome": outcome} if outcome else {})
        self.notifications.append((user_id, kind, instance_id, task_id, self.stamp(moment), self.loader.doc(data),
                                   self.stamp(read) if read is not None else None, 0))

    def event(self, instance_id, task_id, kind, actor_id, moment: float, data: dict) -> None:
        self.event_id += 1
        self.events.append((self.event_id, instance_id, task_id, kind, actor_id, self.stamp(moment),
                            self.loader.doc(data)))

    def case(self, plan: Plan, is_rep: bool) -> None:
        rng, stamp = self.rng, self.stamp
        self.instance_id += 1
        iid = self.instance_id
        branch, territory = plan.branch, plan.territory
        customer = customer_id(territory[0], rng.randrange(CUSTOMERS_PER_TERRITORY))
        data = {"customer_id": customer, "customer_code": f"C-{customer}", "customer_name": f"客户{customer}有限公司",
                "purpose": rng.choice(PURPOSES), "days": rng.randint(1, 30), "requester_is_sales_rep": is_rep}
        self.event(iid, None, "instance_started", plan.requester_id, plan.start,
                   {"process_key": PROCESS_KEY, "version": 1, "case_data": data,
                    "form_data": {"customer_id": customer, "purpose": data["purpose"], "days": data["days"]}})
        actor = plan.requester_id
        last = plan.steps[-1]
        for step in plan.steps:
            self.task_id += 1
            tid = self.task_id
            spec_id, name, rule = STEPS[step.index]
            group = step.index == GROUP_STEP
            state = DONE if step.completed is not None else OPEN
            self.tasks.append((
                tid, iid, PROCESS_KEY, f"00000000-0000-4000-8000-{tid:012x}", spec_id, name, "dossier_consent",
                state, rule, step.assignee_id, step.assignee_id,
                org.BUSINESS_SUPERVISOR if group else None, branch.business_dept_id if group else None,
                stamp(step.created + 3 * DAY), stamp(step.created),
                stamp(step.claimed) if step.claimed else None,
                stamp(step.completed) if step.completed else None,
                step.assignee_id if step.completed else None, 1))
            self.counts["tasks_completed" if step.completed else "tasks_open"] += 1
            # Who was told of the step: its person, or every member of the group (each reads it when
            # the step is done; the one who claims it, then).
            told = [step.assignee_id] if not group else branch.supervisor_ids
            for person in told:
                read = step.claimed if group and person == step.assignee_id else step.completed
                self.tell(person, "task_offered" if group else "task_assigned", iid, tid, step.created, read, name)
            self.event(iid, tid, "task_created", actor, step.created,
                       {"spec": spec_id, "rule": rule, "assignee_id": None if group else step.assignee_id,
                        "candidate_role": org.BUSINESS_SUPERVISOR if group else None,
                        "candidate_org_unit_id": branch.business_dept_id if group else None})
            if step.claimed is not None:
                self.event(iid, tid, "task_claimed", step.assignee_id, step.claimed, {})
            if step.completed is not None:
                actor = step.assignee_id
                comment = rng.choice(COMMENTS if step.decision == "approve" else REFUSALS)
                self.event(iid, tid, "task_completed", actor, step.completed,
                           {"spec": spec_id, "form_key": "dossier_consent",
                            "form_data": {"decision": step.decision, "comment": comment}})
        ended = last.completed if last.completed is not None and (
            last.decision == "reject" or last.index == (1 if is_rep else 2)) else None
        outcome = None
        if ended is not None:
            outcome = "approved" if last.decision == "approve" else "rejected"
            if outcome == "approved":
                expires = ended + data["days"] * DAY
                self.event(iid, None, "loan_granted", actor, ended,
                           {"loan_id": iid, "customer_id": customer, "borrower_id": plan.requester_id,
                            "expires_at": datetime.fromtimestamp(expires, UTC).isoformat()})
                self.loans.append((iid, customer, plan.requester_id, iid, data["purpose"], data["days"],
                                   stamp(ended), stamp(expires)))
            self.event(iid, None, "instance_completed", actor, ended, {"outcome": outcome})
            # The initiator hears how it ended; most read it within the day.
            self.tell(plan.requester_id, "case_ended", iid, None, ended,
                      ended + rng.uniform(0, DAY) if rng.random() < 0.8 else None, outcome=outcome)
        # A refused case ends without its later steps: its state is that of an ended workflow too.
        state = self.states["ended" if ended else f"waiting_{last.index}"]
        self.instances.append((iid, self.definition_id, PROCESS_KEY, "completed" if ended else "running", outcome,
                               f"customer:{customer}", customer, self.loader.doc(data), state, 1, plan.requester_id,
                               stamp(plan.start), stamp(ended) if ended else None))
        if len(self.events) >= BATCH:
            self.flush()

    def flush(self) -> None:
        self.loader.write(Instance.__table__, INSTANCE_COLUMNS, self.instances)
        self.loader.write(Task.__table__, TASK_COLUMNS, self.tasks)
        self.loader.write(Event.__table__, EVENT_COLUMNS, self.events)
        self.loader.write(DossierLoan.__table__, LOAN_COLUMNS, self.loans)
        self.loader.write(Notification.__table__, NOTIFICATION_COLUMNS, self.notifications)
        self.counts["instances"] += len(self.instances)
        self.counts["tasks"] += len(self.tasks)
        self.counts["events"] += len(self.events)
        self.counts["dossier_loans"] += len(self.loans)
        self.counts["notifications"] += len(self.notifications)
        self.instances, self.tasks, self.events, self.loans, self.notifications = [], [], [], [], []


def generate(args, now: datetime) -> dict:
    rng = random.Random(args.seed)
    loader = Loader()
    end = now.timestamp()
    start = end - 365 * DAY
    t0 = time.perf_counter()
    organisation = build_organisation(loader, rng, args.users, args.roles)
    definition_id = deploy_definition(loader, start - DAY)
    organisation.rows["customers"] = build_customers(loader, organisation)
    log(f"organisation: {organisation.rows}")
    plans = plan_running(rng, organisation, args.open, args.assigned, args.claimable, end)
    prior = sum(len(p.steps) - 1 for p in plans)
    if prior > args.completed:
        raise SystemExit(f"--completed must be at least {prior} (earlier steps of the running cases)")
    plans += plan_completed(rng, organisation, args.completed - prior, start, end)
    plans.sort(key=lambda p: p.start)  # ids grow with time, as they do in production
    log(f"planned {len(plans):,} cases in {time.perf_counter() - t0:.1f}s; writing")
    writer = Writer(loader, rng, definition_id)
    for number, plan in enumerate(plans, start=1):
        writer.case(plan, plan.requester_id in organisation.is_rep)
        if number % 100_000 == 0:
            log(f"  {number:,} cases, {writer.event_id:,} events ({time.perf_counter() - t0:.0f}s)")
    writer.flush()
    generation_seconds = time.perf_counter() - t0
    log(f"data written in {generation_seconds:.1f}s: {writer.counts}")
    t1 = time.perf_counter()
    loader.finish()
    analyze_seconds = time.perf_counter() - t1
    log(f"sequences and statistics in {analyze_seconds:.1f}s")
    return {"organisation": organisation, "generation_seconds": round(generation_seconds, 1),
            "analyze_seconds": round(analyze_seconds, 1), "start": start, "end": end,
            "statistics": Loader.STATISTICS[db.dialect()]}


def row_counts() -> dict:
    def count(model, *where):
        return db.session.scalar(select(func.count()).select_from(model).where(*where))

    return {"org_units": count(org.OrgUnit), "roles": count(org.Role), "users": count(org.User),
            "memberships": count(org.Membership), "process_definitions": count(ProcessDefinition),
            "instances": count(Instance), "tasks": count(Task), "tasks_open": count(Task, Task.state == OPEN),
            "tasks_completed": count(Task, Task.state == DONE), "events": count(Event),
            "customers": count(Customer), "dossier_loans": count(DossierLoan), "notifications": count(Notification),
            "notifications_unread": count(Notification, Notification.read_at.is_(None))}


# -- measuring ----------------------------------------------------------------------------------------------

CSRF_FIELD = re.compile(r'name="csrf_token"[^>]*?value="([^"]+)"')
INBOX_TOTAL = re.compile(r'<h1[^>]*>[^<]*<span class="badge[^"]*">(\d+)</span>')


def api_token(client, username: str) -> str:
    response = client.post("/api/v1/tokens", json={"username": username, "password": PASSWORD})
    assert response.status_code == 201, response.get_data(as_text=True)
    return response.get_json()["token"]


def signed_in_browser(app, username: str):
    client = app.test_client()
    login_page = client.get("/login").get_data(as_text=True)
    token = CSRF_FIELD.search(login_page).group(1)
    response = client.post("/login", data={"username": username, "password": PASSWORD, "csrf_token": token})
    assert response.status_code == 302, response.get_data(as_text=True)
    return client


def timed(samples: int, request, warmup: int = 3) -> dict:
    """Each request's time; one that returns a float reports its own (the part that counts)."""
    for _ in range(warmup):
        request()
    durations = []
    for _ in range(samples):
        begin = time.perf_counter()
        took = request()
        durations.append(took if isinstance(took, float) else time.perf_counter() - begin)
    return {**common.summary_ms(durations), "max_ms": round(max(durations) * 1000, 3)}


def ok(response):
    assert response.status_code == 200, (response.status_code, response.get_data(as_text=True)[:500])
    return response


def measure(app, args, generated: dict) -> tuple[dict, dict]:
    organisation: Organisation = generated["organisation"]
    rng = random.Random(args.seed + 1)
    api = app.test_client()
    tokens = {name: {"Authorization": f"Bearer {api_token(api, name)}"}
              for name in (organisation.assigned_user, organisation.claimable_user, organisation.auditor)}
    pages = {name: signed_in_browser(app, name)
             for name in (organisation.assigned_user, organisation.claimable_user)}

    # What the two users really see, before timing anything.
    assigned_items = ok(api.get("/api/v1/tasks?per_page=100",
                                headers=tokens[organisation.assigned_user])).get_json()
    claimable_items = ok(api.get("/api/v1/tasks?per_page=100",
                                 headers=tokens[organisation.claimable_user])).get_json()
    checks = {
        "assigned_api_items": len(assigned_items),
        "assigned_api_all_assigned_to_user": all(t["assignee"] == organisation.assigned_user
                                                 for t in assigned_items),
        "assigned_page_total": int(INBOX_TOTAL.search(
            ok(pages[organisation.assigned_user].get("/inbox")).get_data(as_text=True)).group(1)),
        "claimable_api_items": len(claimable_items),
        "claimable_api_all_unclaimed_for_role": all(
            t["assignee"] is None and t["candidate_role"] == org.BUSINESS_SUPERVISOR
            and t["candidate_org_unit_id"] == organisation.special.business_dept_id for t in claimable_items),
        "claimable_page_total": int(INBOX_TOTAL.search(
            ok(pages[organisation.claimable_user].get("/inbox")).get_data(as_text=True)).group(1)),
    }
    log(f"checks: {checks}")

    start, end = generated["start"], generated["end"]
    usernames = [name for _, name in organisation.users]
    totals: dict[str, list[int]] = {"api_events_actor_quarter": [], "api_events_process_month": []}

    def window(days: int) -> dict:
        since = rng.uniform(start, end - days * DAY)
        return {"since": datetime.fromtimestamp(since, CST).isoformat(timespec="seconds"),
                "until": datetime.fromtimestamp(since + days * DAY, CST).isoformat(timespec="seconds")}

    def search(name: str, params: dict):
        response = ok(api.get(f"/api/v1/events?{urlencode(params)}", headers=tokens[organisation.auditor]))
        totals[name].append(response.get_json()["total"])

    # Starting a case: requesters who are not reps (their own territory needs no request), signed in
    # before anything is timed, each asking for random dossiers. A pair already open or lent is refused
    # (400) and another pair is tried: only the starts that opened a case are timed.
    requesters = [f"mgr_b{branch.index:02d}" for branch in organisation.branches]
    start_tokens = {name: {"Authorization": f"Bearer {api_token(api, name)}"} for name in requesters}
    customers = [customer_id(unit, number) for branch in organisation.branches for unit, _ in branch.territories
                 for number in range(CUSTOMERS_PER_TERRITORY)]

    def start_case() -> float:
        while True:
            began = time.perf_counter()
            response = api.post(f"/api/v1/processes/{PROCESS_KEY}/instances",
                                json={"data": {"customer_id": rng.choice(customers), "purpose": PURPOSES[0],
                                               "days": 1}},
                                headers=start_tokens[rng.choice(requesters)])
            took = time.perf_counter() - began
            if response.status_code == 201:
                return took
            assert response.status_code == 400, (response.status_code, response.get_data(as_text=True)[:500])

    timings = {}
    requests = {
        "api_start_case": start_case,
        "api_inbox_assigned": lambda: ok(api.get("/api/v1/tasks", headers=tokens[organisation.assigned_user])),
        "page_inbox_assigned": lambda: ok(pages[organisation.assigned_user].get("/inbox")),
        "api_inbox_claimable": lambda: ok(api.get("/api/v1/tasks", headers=tokens[organisation.claimable_user])),
        "page_inbox_claimable": lambda: ok(pages[organisation.claimable_user].get("/inbox")),
        "api_events_actor_quarter": lambda: search("api_events_actor_quarter",
                                                   {"actor": rng.choice(usernames), **window(91)}),
        "api_events_process_month": lambda: search("api_events_process_month",
                                                   {"process_key": PROCESS_KEY, **window(30)}),
    }
    for name in MEASUREMENTS:
        timings[name] = timed(args.samples, requests[name])
        log(f"{name}: {timings[name]}")
    for name, values in totals.items():
        if name in timings:
            timings[name]["mean_total"] = round(statistics.fmean(values)) if values else 0
    return timings, checks


# -- main ---------------------------------------------------------------------------------------------------

def parse_args(argv):
    parser = argparse.ArgumentParser(
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--completed", type=int, default=1_000_000, help="completed tasks (default 1,000,000)")
    parser.add_argument("--open", type=int, default=100_000, help="open tasks (default 100,000)")
    parser.add_argument("--users", type=int, default=5_000, help="users (default 5,000)")
    parser.add_argument("--roles", type=int, default=200, help="roles (default 200, at least 5)")
    parser.add_argument("--samples", type=int, default=200, help="requests timed per measurement (default 200)")
    parser.add_argument("--assigned", type=int, default=50,
                        help="open tasks assigned to the one measured assignee (default 50)")
    parser.add_argument("--claimable", type=int, default=5_000,
                        help="open unclaimed tasks offered to the measured role in its org unit (default 5,000)")
    parser.add_argument("--database-url", default=os.environ.get("DATABASE_URL"),
                        help="database to (re)build; PostgreSQL schema public is DROPPED (default: DATABASE_URL, "
                             "else a temporary SQLite file)")
    parser.add_argument("--seed", type=int, default=1, help="random seed (default 1)")
    args = parser.parse_args(argv)
    if args.roles < len(FLOW_ROLES) + 1:
        parser.error(f"--roles must be at least {len(FLOW_ROLES) + 1}")
    if args.assigned + args.claimable > args.open:
        parser.error("--open must be at least --assigned + --claimable")
    if min(args.completed, args.open, args.users, args.samples) < 1:
        parser.error("sizes and --samples must be positive")
    return args


def main(argv: list[str] | None = None) -> dict:
    args = parse_args(argv)
    temporary = None
    url = args.database_url
    if not url:
        temporary = tempfile.mkdtemp(prefix="bench-inbox-")
        url = f"sqlite:///{Path(temporary) / 'bench.sqlite'}"
    app = make_app(url)
    try:
        with app.app_context():
            dialect = db.dialect()
            log(f"database: {dialect} ({db.current_engine().url.render_as_string(hide_password=True)})")
            t0 = time.perf_counter()
            build_schema()
            schema_seconds = time.perf_counter() - t0
            now = datetime.now(UTC).replace(microsecond=0)
            generated = generate(args, now)
            rows = row_counts()
            log(f"rows: {rows}")
            db.session.remove()
        timings, checks = measure(app, args, generated)
        with app.app_context():
            db.session.remove()
            db.current_engine().dispose()
    finally:
        if temporary:
            shutil.rmtree(temporary, ignore_errors=True)
    result = {
        "benchmark": "inbox",
        "database": dialect,
        "sizes": {"completed": args.completed, "open": args.open, "users": args.users, "roles": args.roles,
                  "assigned": args.assigned, "claimable": args.claimable, "samples": args.samples},
        "schema_seconds": round(schema_seconds, 1),
        "generation_seconds": generated["generation_seconds"],
        "analyze_seconds": generated["analyze_seconds"],
        "planner_statistics": generated["statistics"],
        "rows": rows,
        "checks": checks,
        "timings": timings,
        "machine": common.machine(),
    }
    print(json.dumps(result, ensure_ascii=False))
    return result


if __name__ == "__main__":
    main()
