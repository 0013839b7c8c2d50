"""Dossier borrowing (借阅, seeds 000 and 001) end to end through the JSON API.

Who consents, in which order, what a refusal does, what a loan opens and for how long, who may
act on or look at a case, and what the API refuses — all against the real engine and database.
"""
from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from conftest import clear_runtime_rows
from sqlalchemy import delete, func, select

from app import db
from app.calendar import clock
from app.domain import demo, org
from app.domain.customers import DossierLoan
from app.domain.org import Membership, OrgUnit, Role, User
from app.engine.models import Event, Instance, Task

PROCESS = "dossier_borrowing"
PURPOSE = "核对月度采购分析，准备季度拜访"
E1_CUSTOMER, OTHER_E1_CUSTOMER = "HD-E1-001", "HD-E1-002"
REP_STEP, BUSINESS_STEP, MANAGER_STEP = "consent_territory_rep", "consent_business_dept", "consent_branch_manager"
# Who decides each consent level for a dossier of territory E1 (华东分公司).
E1_CONSENTERS = ["rep_e1", "biz_east", "mgr_east"]
T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


# -- helpers ---------------------------------------------------------------------------------------

def customer_id(api, code: str) -> int:
    customers = api.get("/customers", "auditor").get_json()
    return next(c["id"] for c in customers if c["code"] == code)


def request_loan(api, user: str, customer_code: str, **fields):
    """POST a borrowing request; `fields` override (or, set to None, drop) the form's values."""
    data = {"customer_id": customer_id(api, customer_code), "purpose": PURPOSE, "days": 7, **fields}
    data = {k: v for k, v in data.items() if v is not None}
    return api.post(f"/processes/{PROCESS}/instances", user, {"data": data})


def start(api, user: str, customer_code: str, days: int = 7) -> dict:
    response = request_loan(api, user, customer_code, days=days)
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def case(api, instance_id: int, as_user: str) -> dict:
    response = api.get(f"/instances/{instance_id}", as_user)
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def open_task(api, instance: dict) -> dict:
    """The one task the case waits for (read as its initiator, who may always see the case)."""
    tasks = case(api, instance["id"], instance["started_by"])["tasks"]
    assert len(tasks) == 1, tasks
    return tasks[0]


def inbox(api, user: str, instance: dict) -> list[dict]:
    """The user's inbox tasks that belong to this case."""
    response = api.get("/tasks", user)
    assert response.status_code == 200
    return [t for t in response.get_json() if t["instance_id"] == instance["id"]]


def decide(api, user: str, task_id: int, decision: str | None, comment: str = ""):
    return api.post(f"/tasks/{task_id}/complete", user, {"data": {"decision": decision, "comment": comment}})


def consent(api, user: str, instance: dict, comment: str = "同意") -> dict:
    """`user` takes the case's open task (claiming it if offered to a group) and consents."""
    task = open_task(api, instance)
    if task["assignee"] is None:
        assert api.post(f"/tasks/{task['id']}/claim", user).status_code == 200
    response = decide(api, user, task["id"], "approve", comment)
    assert response.status_code == 200, response.get_json()
    return response.get_json()["instance"]


def events(api, instance: dict, as_user: str | None = None) -> list[dict]:
    response = api.get(f"/instances/{instance['id']}/events", as_user or instance["started_by"])
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def read_dossier(api, user: str, customer_code: str):
    return api.get(f"/customers/{customer_id(api, customer_code)}", user)


def access_log(api, customer_code: str, as_user: str = "rep_e1") -> list[dict]:
    response = api.get(f"/customers/{customer_id(api, customer_code)}/access-log", as_user)
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def at(api, moment: datetime) -> None:
    """Move the application clock; tokens issued earlier may have expired, so sign in afresh."""
    clock.set(moment)
    api.tokens.clear()


def counts(app) -> dict:
    with app.app_context():
        return {model.__name__: db.session.scalar(select(func.count()).select_from(model))
                for model in (Instance, Task, Event, DossierLoan)}


def steps_created(app, instance: dict) -> list[str]:
    """The BPMN ids of every task row the case ever had, in order of creation."""
    with app.app_context():
        return list(db.session.scalars(select(Task.spec_id).where(Task.instance_id == instance["id"])
                                       .order_by(Task.id)))


def field_errors(response) -> dict:
    body = response.get_json()
    assert response.status_code == 400, body
    assert body["error"]["code"] == "invalid"
    return body["error"]["fields"]


# -- reading one's own territory -------------------------------------------------------------------

def test_owning_rep_reads_without_approval_and_the_read_is_logged(api, app):
    before = counts(app)

    response = read_dossier(api, "rep_e1", E1_CUSTOMER)

    assert response.status_code == 200
    body = response.get_json()
    assert body["code"] == E1_CUSTOMER and body["dossier"]["name"] == "上海浦江石化贸易有限公司"
    assert body["read"] == {"ground": "own_territory", "loan_id": None}
    latest = access_log(api, E1_CUSTOMER)[0]
    assert (latest["user"], latest["ground"], latest["loan_id"], latest["channel"]) == \
        ("rep_e1", "own_territory", None, "api")
    assert counts(app) == before  # no borrowing procedure was needed


def test_owning_rep_cannot_file_a_borrowing_request(api, app):
    before = counts(app)

    response = request_loan(api, "rep_e1", E1_CUSTOMER)

    assert "customer_id" in field_errors(response)
    assert counts(app) == before


# -- who consents, in which order ------------------------------------------------------------------

@pytest.mark.parametrize("borrower", ["rep_e2", "rep_n1"], ids=["same-branch", "other-branch"])
def test_rep_of_another_territory_needs_the_reps_and_the_business_depts_consent(api, app, borrower):
    instance = start(api, borrower, E1_CUSTOMER)

    first = open_task(api, instance)
    assert (first["assignee"], first["name"]) == ("rep_e1", "片区销售代表同意")
    assert [t["id"] for t in inbox(api, "rep_e1", instance)] == [first["id"]]
    assert inbox(api, "biz_east", instance) == []  # the business dept comes second, not alongside

    consent(api, "rep_e1", instance)

    offered = inbox(api, "biz_east", instance)
    assert len(offered) == 1
    assert offered[0]["assignee"] is None and offered[0]["candidate_role"] == org.BUSINESS_SUPERVISOR
    claimed = api.post(f"/tasks/{offered[0]['id']}/claim", "biz_east")
    assert claimed.status_code == 200 and claimed.get_json()["assignee"] == "biz_east"

    finished = consent(api, "biz_east", instance)

    assert (finished["status"], finished["outcome"], finished["tasks"]) == ("completed", "approved", [])
    assert steps_created(app, instance) == [REP_STEP, BUSINESS_STEP]  # no branch-manager step, ever
    assert inbox(api, "mgr_east", instance) == []
    assert read_dossier(api, borrower, E1_CUSTOMER).status_code == 200


@pytest.mark.parametrize("borrower", ["spec_east", "sales_dept"], ids=["branch-dept", "hq-dept"])
def test_another_department_needs_three_consents_in_order(api, app, borrower):
    instance = start(api, borrower, E1_CUSTOMER)

    assert open_task(api, instance)["assignee"] == "rep_e1"
    assert inbox(api, "biz_east", instance) == [] and inbox(api, "mgr_east", instance) == []
    consent(api, "rep_e1", instance)
    assert len(inbox(api, "biz_east", instance)) == 1
    assert inbox(api, "mgr_east", instance) == []  # not before the business dept has consented
    consent(api, "biz_east", instance)

    third = inbox(api, "mgr_east", instance)
    assert len(third) == 1 and (third[0]["assignee"], third[0]["name"]) == ("mgr_east", "分公司经理同意")
    assert case(api, instance["id"], borrower)["status"] == "running"
    assert read_dossier(api, borrower, E1_CUSTOMER).status_code == 403  # two consents are not enough

    finished = consent(api, "mgr_east", instance)

    assert (finished["status"], finished["outcome"]) == ("completed", "approved")
    assert steps_created(app, instance) == [REP_STEP, BUSINESS_STEP, MANAGER_STEP]
    assert read_dossier(api, borrower, E1_CUSTOMER).status_code == 200


# -- refusals ---------------------------------------------------------------------------------------

@pytest.mark.parametrize("level", [0, 1, 2], ids=["rep", "business-dept", "manager"])
def test_a_refusal_at_any_level_ends_the_case_without_a_loan(api, app, level):
    instance = start(api, "spec_east", E1_CUSTOMER)
    for consenter in E1_CONSENTERS[:level]:
        consent(api, consenter, instance)
    refuser, reason = E1_CONSENTERS[level], "客户资料涉及商业秘密，暂不外借"
    task = open_task(api, instance)
    if task["assignee"] is None:
        api.post(f"/tasks/{task['id']}/claim", refuser)

    response = decide(api, refuser, task["id"], "reject", reason)

    assert response.status_code == 200, response.get_json()
    finished = case(api, instance["id"], "spec_east")
    assert (finished["status"], finished["outcome"], finished["tasks"]) == ("completed", "rejected", [])
    assert len(steps_created(app, instance)) == level + 1  # nobody after the refuser is asked
    trail = events(api, instance)
    refusal = [e for e in trail if e["type"] == "task_completed"][-1]
    assert refusal["actor"] == refuser and refusal["task"] == task["id"]
    assert refusal["data"]["form_data"] == {"decision": "reject", "comment": reason}
    assert "loan_granted" not in [e["type"] for e in trail]
    assert trail[-1]["type"] == "instance_completed" and trail[-1]["data"] == {"outcome": "rejected"}
    assert counts(app)["DossierLoan"] == 0
    assert read_dossier(api, "spec_east", E1_CUSTOMER).status_code == 403


@pytest.mark.parametrize("comment", ["", "   "], ids=["empty", "blank"])
def test_a_refusal_without_a_comment_is_refused_and_changes_nothing(api, app, comment):
    instance = start(api, "rep_e2", E1_CUSTOMER)
    task = open_task(api, instance)
    trail, before = events(api, instance), counts(app)

    response = decide(api, "rep_e1", task["id"], "reject", comment)

    assert "comment" in field_errors(response)
    assert api.get(f"/tasks/{task['id']}", "rep_e1").get_json()["state"] == "open"
    assert case(api, instance["id"], "rep_e2")["status"] == "running"
    assert events(api, instance) == trail
    assert counts(app) == before


# -- what a loan opens, and for how long ------------------------------------------------------------

def test_a_borrower_reads_only_the_lent_dossier_and_only_while_the_loan_lasts(api):
    at(api, T0)
    instance = start(api, "rep_e2", E1_CUSTOMER, days=3)
    assert read_dossier(api, "rep_e2", E1_CUSTOMER).status_code == 403  # not before approval
    consent(api, "rep_e1", instance)
    assert read_dossier(api, "rep_e2", E1_CUSTOMER).status_code == 403  # nor half-way
    consent(api, "biz_east", instance)
    loan_id = next(e for e in events(api, instance) if e["type"] == "loan_granted")["data"]["loan_id"]

    response = read_dossier(api, "rep_e2", E1_CUSTOMER)

    assert response.status_code == 200
    assert response.get_json()["read"] == {"ground": "loan", "loan_id": loan_id}
    latest = access_log(api, E1_CUSTOMER)[0]
    assert (latest["user"], latest["ground"], latest["loan_id"]) == ("rep_e2", "loan", loan_id)
    assert read_dossier(api, "rep_e2", OTHER_E1_CUSTOMER).status_code == 403  # a loan opens one dossier

    at(api, T0 + timedelta(days=3) - timedelta(minutes=1))
    assert read_dossier(api, "rep_e2", E1_CUSTOMER).status_code == 200  # the last minute of the loan
    at(api, T0 + timedelta(days=3))
    assert read_dossier(api, "rep_e2", E1_CUSTOMER).status_code == 403  # expired
    assert all(r["loan_id"] == loan_id for r in access_log(api, E1_CUSTOMER) if r["user"] == "rep_e2")


# -- who may act on a task --------------------------------------------------------------------------

def test_only_the_assignee_completes_a_personal_task_and_only_once(api, app):
    instance = start(api, "rep_e2", E1_CUSTOMER)
    task = open_task(api, instance)
    before = counts(app)

    assert decide(api, "rep_e2", task["id"], "approve").status_code == 403  # rep_e1's task
    assert api.post(f"/tasks/{task['id']}/claim", "rep_e2").status_code == 403
    assert decide(api, "rep_e1", 987654, "approve").status_code == 404
    assert api.post("/tasks/987654/claim", "rep_e1").status_code == 404
    assert counts(app) == before

    assert decide(api, "rep_e1", task["id"], "approve").status_code == 200
    after_first = counts(app)
    again = decide(api, "rep_e1", task["id"], "approve")

    assert again.status_code == 409 and again.get_json()["error"]["code"] == "conflict"
    assert counts(app) == after_first


def test_a_candidate_must_claim_before_completing(api, app):
    instance = start(api, "rep_e2", E1_CUSTOMER)
    consent(api, "rep_e1", instance)
    task = open_task(api, instance)
    before = counts(app)

    response = decide(api, "biz_east", task["id"], "approve")

    assert response.status_code == 403
    assert counts(app) == before
    assert open_task(api, instance)["id"] == task["id"]
    assert api.post(f"/tasks/{task['id']}/claim", "biz_east").status_code == 200
    assert decide(api, "biz_east", task["id"], "approve").status_code == 200  # once claimed, it is his


@pytest.fixture
def second_supervisor(app):
    """A second business supervisor of 华东分公司, so that two candidates can race for one task."""
    username = "biz_east_2"
    with app.app_context():
        unit = db.session.scalar(select(OrgUnit).where(OrgUnit.code == "east_business"))
        role = db.session.scalar(select(Role).where(Role.code == org.BUSINESS_SUPERVISOR))
        user = User(username=username, display_name="第二主管", org_unit=unit,
                    password_hash=app.extensions["accounts"].hash_password(demo.DEMO_PASSWORD))
        user.memberships = [Membership(role=role, org_unit=unit)]
        db.session.add(user)
        db.session.commit()
    yield username
    with app.app_context():
        # The case rows point at the user, and clean_state runs after this: clear them first.
        clear_runtime_rows()
        user = db.session.scalar(select(User).where(User.username == username))
        db.session.execute(delete(Membership).where(Membership.user_id == user.id))
        db.session.delete(user)
        db.session.commit()


def test_claiming_a_task_someone_else_claimed_is_a_conflict(api, app, second_supervisor):
    instance = start(api, "rep_e2", E1_CUSTOMER)
    consent(api, "rep_e1", instance)
    task = open_task(api, instance)
    assert [t["id"] for t in inbox(api, second_supervisor, instance)] == [task["id"]]
    assert api.post(f"/tasks/{task['id']}/claim", "biz_east").status_code == 200
    before = counts(app)

    response = api.post(f"/tasks/{task['id']}/claim", second_supervisor)

    assert response.status_code == 409, response.get_json()
    assert response.get_json()["error"]["code"] == "conflict"
    assert counts(app) == before
    assert open_task(api, instance)["assignee"] == "biz_east"


# -- invalid form data ------------------------------------------------------------------------------

@pytest.mark.parametrize("fields, bad_field", [
    ({"days": 0}, "days"),
    ({"days": 31}, "days"),
    ({"days": "abc"}, "days"),
    ({"purpose": None}, "purpose"),
    ({"customer_id": 987654}, "customer_id"),
], ids=["days-0", "days-31", "days-abc", "no-purpose", "unknown-customer"])
def test_an_invalid_request_names_the_field_and_changes_nothing(api, app, fields, bad_field):
    before = counts(app)

    response = request_loan(api, "rep_e2", E1_CUSTOMER, **fields)

    assert bad_field in field_errors(response)
    assert counts(app) == before


@pytest.mark.parametrize("decision", ["maybe", None], ids=["maybe", "missing"])
def test_an_invalid_decision_names_the_field_and_changes_nothing(api, app, decision):
    instance = start(api, "rep_e2", E1_CUSTOMER)
    task = open_task(api, instance)
    before = counts(app)

    response = decide(api, "rep_e1", task["id"], decision, "看情况")

    assert "decision" in field_errors(response)
    assert counts(app) == before
    assert open_task(api, instance)["id"] == task["id"]


# -- the audit trail and who may see a case ---------------------------------------------------------

def test_the_events_api_tells_the_whole_story_oldest_first(api):
    at(api, T0)
    instance = start(api, "rep_e2", E1_CUSTOMER)
    at(api, T0 + timedelta(hours=1))
    consent(api, "rep_e1", instance, comment="同意，注意保密")
    at(api, T0 + timedelta(hours=2))
    business_task = open_task(api, instance)
    api.post(f"/tasks/{business_task['id']}/claim", "biz_east")
    at(api, T0 + timedelta(hours=3))
    consent(api, "biz_east", instance, comment="限阅三天以内")

    trail = events(api, instance)

    assert [(e["type"], e["actor"]) for e in trail] == [
        ("instance_started", "rep_e2"),
        ("task_created", "rep_e2"),
        ("task_completed", "rep_e1"),
        ("task_created", "rep_e1"),
        ("task_claimed", "biz_east"),
        ("task_completed", "biz_east"),
        ("loan_granted", "biz_east"),
        ("instance_completed", "biz_east"),
    ]
    moments = [datetime.fromisoformat(e["at"]) for e in trail]
    assert moments == sorted(moments) and moments[0] == T0 and moments[-1] == T0 + timedelta(hours=3)
    by_type = {}
    for event in trail:
        by_type.setdefault(event["type"], []).append(event)
    assert [e["data"]["spec"] for e in by_type["task_created"]] == [REP_STEP, BUSINESS_STEP]
    assert by_type["task_claimed"][0]["task"] == business_task["id"]
    assert [e["data"]["form_data"] for e in by_type["task_completed"]] == [
        {"decision": "approve", "comment": "同意，注意保密"},
        {"decision": "approve", "comment": "限阅三天以内"},
    ]
    assert by_type["task_completed"][1]["task"] == business_task["id"]
    assert by_type["loan_granted"][0]["data"]["loan_id"] is not None
    assert by_type["instance_completed"][0]["data"] == {"outcome": "approved"}


def test_only_people_involved_in_a_case_may_see_it(api):
    instance = start(api, "rep_e2", E1_CUSTOMER)
    consent(api, "rep_e1", instance)

    for outsider in ("rep_n1", "mgr_north", "mgr_east"):
        assert api.get(f"/instances/{instance['id']}", outsider).status_code == 403, outsider
        assert api.get(f"/instances/{instance['id']}/events", outsider).status_code == 403, outsider
    for insider in ("rep_e2", "rep_e1", "biz_east", "auditor"):
        assert case(api, instance["id"], insider)["id"] == instance["id"], insider
    assert api.get("/instances/987654", "rep_e2").status_code == 404


# -- authentication ---------------------------------------------------------------------------------

def test_the_api_wants_a_valid_bearer_token(api):
    for headers in ({}, {"Authorization": "Bearer not-a-token"}, {"Authorization": "Basic cmVwX2UxOmRlbW8="}):
        response = api.client.get("/api/v1/tasks", headers=headers)
        assert response.status_code == 401, headers
        assert response.get_json()["error"]["code"] == "unauthorized"


def test_a_wrong_password_gets_no_token(api):
    response = api.client.post("/api/v1/tokens", json={"username": "rep_e1", "password": "wrong"})

    assert response.status_code == 401
    assert response.get_json()["error"]["code"] == "unauthorized"
    assert "token" not in response.get_json()


def login(api, username: str, password: str) -> int:
    return api.client.post("/api/v1/tokens", json={"username": username, "password": password}).status_code


def test_the_sixth_failed_login_for_a_user_name_is_turned_away(api):
    assert [login(api, "rep_e1", "demo") for _ in range(6)] == [201] * 6  # successes do not count
    assert [login(api, "rep_e1", "wrong") for _ in range(5)] == [401] * 5

    response = api.client.post("/api/v1/tokens", json={"username": "rep_e1", "password": demo.DEMO_PASSWORD})

    assert response.status_code == 429  # even with the right password now
    assert response.get_json()["error"]["message"]
    assert login(api, "rep_e2", demo.DEMO_PASSWORD) == 201  # another user name is not affected


# -- what the API describes -------------------------------------------------------------------------

def test_processes_customers_and_task_fields_are_described(api):
    processes = {p["key"]: p for p in api.get("/processes", "rep_e2").get_json()}
    assert processes[PROCESS]["version"] >= 1
    assert processes[PROCESS]["start_form_key"] == "dossier_borrow_request"

    customers = api.get("/customers", "rep_e2").get_json()
    assert len(customers) >= 7
    assert {c["kind"] for c in customers} == {"distributor", "direct"}
    assert E1_CUSTOMER in {c["code"] for c in customers}

    instance = start(api, "rep_e2", E1_CUSTOMER)
    task = api.get(f"/tasks/{open_task(api, instance)['id']}", "rep_e1").get_json()
    fields = {f["name"]: f for f in task["fields"]}
    assert set(fields) == {"decision", "comment"}
    assert [c["value"] for c in fields["decision"]["choices"]] == ["approve", "reject"]
    assert fields["decision"]["required"] is True
    assert not fields["comment"]["required"]  # optional (a refusal's comment is checked on submit)
    assert task["case"]["id"] == instance["id"]


def test_the_case_list_shows_only_cases_the_caller_may_see(api):
    mine = start(api, "rep_e2", E1_CUSTOMER)
    others = start(api, "spec_east", OTHER_E1_CUSTOMER)
    consent(api, "rep_e1", others)

    def listed(user, query=""):
        response = api.get(f"/instances{query}", user)
        assert response.status_code == 200, response.get_json()
        return sorted(item["id"] for item in response.get_json()["items"])

    assert listed("rep_e2") == [mine["id"]]  # his own request only
    assert listed("rep_e1") == sorted([mine["id"], others["id"]])  # he has a task in both
    assert listed("biz_east") == [others["id"]]  # may claim its business-dept task
    assert listed("rep_n1") == []
    assert listed("auditor") == sorted([mine["id"], others["id"]])
    assert listed("auditor", f"?process_key={PROCESS}&status=running") == sorted([mine["id"], others["id"]])
    assert listed("auditor", "?status=completed") == []
    bad = api.get("/instances?status=finished", "auditor")
    assert bad.status_code == 400 and "status" in bad.get_json()["error"]["fields"]
