"""Patrols and relationship managers (seed 004 "巡视管理", "关系管理", processes/patrol_plan.bpmn) through
the engine and the API on a controlled clock: the tier at its boundaries; the monthly plan per branch
opened on the 1st, who patrols whom by when; the reminder ahead and when late; a problem found becomes a
task for the person named, followed until it is solved and never closed without its solution; the
relationship manager named by the branch manager, shown on the dossier and copied the customer's
complaints and warnings."""
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from conftest import fire_due, get_customer, get_user
from flask import current_app
from sqlalchemy import select, update

from app import db
from app.calendar import clock
from app.domain import early_warning, patrols
from app.domain.classes import CustomerClass
from app.domain.customers import Customer
from app.domain.notifications import Notification
from app.engine.models import COMPLETED, OPEN, RUNNING, CaseReader, Event, Instance, Task
from app.errors import Conflict, Forbidden, InvalidData

SHANGHAI = ZoneInfo("Asia/Shanghai")
CORE_CODE, IMPORTANT_CODE = "HD-E1-001", "HD-E1-002"  # the others of the east branch are general


def at(*args) -> datetime:
    return datetime(*args, tzinfo=SHANGHAI)


@pytest.fixture(autouse=True)
def _no_relationship_managers(ctx):
    """Every test here reads the database; none leaves a relationship manager behind."""
    yield
    db.session.rollback()
    db.session.execute(update(Customer).values(relationship_manager_id=None))
    db.session.commit()


def value_class(code: str, value: str) -> None:
    weights = {dimension: "20" for dimension in ("contribution", "support", "credit", "growth", "influence")}
    db.session.add(CustomerClass(customer_id=get_customer(code).id, kind="value", value=value,
                                 figures={"weights": weights}, computed_at=clock.now()))
    db.session.commit()


@pytest.fixture
def tiers(ctx):
    """HD-E1-001 a core customer by its value class, HD-E1-002 an important (key) one."""
    clock.set(at(2027, 2, 20, 9, 0))
    value_class(CORE_CODE, "core")
    value_class(IMPORTANT_CODE, "general")
    get_customer(IMPORTANT_CODE).key_customer = True
    db.session.commit()


@pytest.mark.parametrize("value, big, key, tier", [
    ("core", False, False, patrols.CORE),  # the value class decides core
    ("general", True, True, patrols.IMPORTANT),  # a big customer whose value class is not core
    ("problem", False, True, patrols.IMPORTANT),
    ("general", False, False, patrols.GENERAL),
    ("problem", False, False, patrols.GENERAL),
    (None, True, False, patrols.CORE),  # no value class yet: a big customer counts as core
    (None, False, True, patrols.IMPORTANT),
    (None, False, False, patrols.GENERAL),
])
def test_the_tier_at_its_boundaries(ctx, value, big, key, tier):
    clock.set(at(2027, 2, 20, 9, 0))
    if value:
        value_class("HD-E1-003", value)
    customer = get_customer("HD-E1-003")
    customer.big_customer, customer.key_customer = big, key
    db.session.commit()
    assert patrols.tier_of(customer) == tier
    assert patrols.needs_relationship_manager(customer) is (tier != patrols.GENERAL)


def test_the_latest_value_class_counts(ctx):
    clock.set(at(2027, 2, 20, 9, 0))
    value_class("HD-E1-003", "core")
    value_class("HD-E1-003", "general")
    assert patrols.tier_of(get_customer("HD-E1-003")) == patrols.GENERAL


# -- the plan ---------------------------------------------------------------------------------------

def plans() -> list[Instance]:
    db.session.expire_all()
    return list(db.session.scalars(select(Instance).where(Instance.process_key == patrols.PROCESS_KEY)
                                   .order_by(Instance.id)))


def open_plan(engine, month="2027-03", branch="east") -> Instance:
    clock.set(at(2027, 3, 1, 9, 0))
    return engine.cases.start(patrols.PROCESS_KEY, get_user("admin"), {"branch": branch, "month": month})


def open_tasks(instance_id: int, spec: str | None = None) -> list[Task]:
    db.session.expire_all()
    return [t for t in db.session.scalars(select(Task).where(Task.instance_id == instance_id, Task.state == OPEN)
                                          .order_by(Task.id)) if spec is None or t.spec_id == spec]


def patrol_task(instance_id: int, code: str, due_day: int) -> Task:
    """The open patrol of `code` due on `due_day` (its task is due at the end of that day)."""
    row = next(p for p in patrols.of_case(instance_id) if p.customer.code == code and p.due_on.day == due_day)
    end_of_day = at(row.due_on.year, row.due_on.month, row.due_on.day) + timedelta(days=1)
    tasks = [t for t in open_tasks(instance_id, "patrol_customer")
             if t.assignee_id == row.patroller_id and t.due_at == end_of_day]
    assert len(tasks) == 1, tasks
    return tasks[0]


def test_the_schedule_opens_every_branchs_month_once_on_the_1st(engine, tiers):
    engine.deployment.deploy_directory(current_app.config["PROCESSES_DIR"])
    fire_due(engine, at(2027, 3, 1, 5, 59))
    assert plans() == []
    fire_due(engine, at(2027, 3, 1, 6, 0, 1))
    found = plans()
    assert sorted((p.start_data["branch_code"], p.start_data["month"]) for p in found) == [
        ("east", "2027-03"), ("north", "2027-03")]
    fire_due(engine, at(2027, 3, 2, 9, 0))
    assert len(plans()) == 2  # never twice
    with pytest.raises(Conflict):
        engine.cases.start(patrols.PROCESS_KEY, get_user("admin"), {"branch": "east", "month": "2027-03"})


def test_who_patrols_whom_and_when_by_tier(engine, tiers):
    plan = open_plan(engine)
    rows = [(p.customer.code, p.tier, p.patroller.username, p.regular, p.due_on.isoformat())
            for p in patrols.of_case(plan.id)]
    assert rows == [
        (CORE_CODE, "core", "deputy_gm", False, "2027-03-31"),  # senior management, once, any day
        (IMPORTANT_CODE, "important", "salesmgr_east", False, "2027-03-31"),  # a department manager
        ("HD-E1-003", "general", "rep_e1", True, "2027-03-15"),  # the rep, on a regular rhythm
        ("HD-E1-003", "general", "rep_e1", True, "2027-03-31"),
        ("HD-E2-001", "general", "rep_e2", True, "2027-03-15"),
        ("HD-E2-001", "general", "rep_e2", True, "2027-03-31"),
        ("HD-E2-002", "general", "rep_e2", True, "2027-03-15"),
        ("HD-E2-002", "general", "rep_e2", True, "2027-03-31"),
    ]
    tasks = open_tasks(plan.id, "patrol_customer")
    assert sorted((t.assignee.username, t.due_at) for t in tasks)[:2] == [
        ("deputy_gm", at(2027, 4, 1)), ("rep_e1", at(2027, 3, 16))]
    assert len(tasks) == 8
    # Each task knows its patrol, rep_e2's two customers due on one day included.
    found = [patrols.patrol_of_task(task) for task in tasks]
    assert sorted(p.position for p in found) == list(range(8))
    assert all(p.patroller_id == t.assignee_id and t.due_at == at(p.due_on.year, p.due_on.month, p.due_on.day)
               + timedelta(days=1) for p, t in zip(found, tasks, strict=True))
    assert patrols.of_customer(get_customer("HD-E1-003").id)[0].due_on.day == 31  # in the dossier


def test_a_plan_is_for_this_month_or_one_ahead_of_a_known_branch(engine):
    clock.set(at(2027, 3, 1, 9, 0))
    admin = get_user("admin")
    with pytest.raises(InvalidData):
        engine.cases.start(patrols.PROCESS_KEY, admin, {"branch": "east", "month": "2027-02"})
    with pytest.raises(InvalidData):
        engine.cases.start(patrols.PROCESS_KEY, admin, {"branch": "E1", "month": "2027-03"})
    with pytest.raises(InvalidData):
        engine.cases.start(patrols.PROCESS_KEY, admin, {"branch": "east", "month": "2027-13"})
    with pytest.raises(Forbidden):
        engine.cases.start(patrols.PROCESS_KEY, get_user("mgr_east"), {"branch": "east", "month": "2027-03"})


def test_patrollers_are_told_ahead_and_reminded_when_late(engine, tiers):
    plan = open_plan(engine)
    fire_due(engine, at(2027, 3, 11, 23, 59))
    assert db.session.scalars(select(Notification).where(Notification.kind == patrols.PATROL_DUE)).all() == []
    fire_due(engine, at(2027, 3, 12, 0, 0, 1))  # three days before the 15th
    told = db.session.scalars(select(Notification).where(Notification.kind == patrols.PATROL_DUE)
                              .order_by(Notification.id)).all()
    assert sorted(n.user.username for n in told) == ["rep_e1", "rep_e2", "rep_e2"]
    assert any("HD-E1-003" in n.data["task"] for n in told)
    fire_due(engine, at(2027, 3, 16, 0, 0, 1))  # the 15th has ended
    late = db.session.scalars(select(Event).where(Event.instance_id == plan.id, Event.type == "reminder_sent")).all()
    assert sorted(t["assignee_id"] for e in late for t in e.data["tasks"]) == sorted(
        [get_user("rep_e1").id, get_user("rep_e2").id, get_user("rep_e2").id])
    late_told = db.session.scalars(select(Notification).where(Notification.kind == "deadline_passed")).all()
    assert sorted(n.user.username for n in late_told) == ["rep_e1", "rep_e2", "rep_e2"]  # only when late
    fire_due(engine, at(2027, 3, 28, 0, 0, 1))  # the managers' too, three days before the month's end
    assert {n.user.username for n in db.session.scalars(select(Notification).where(
        Notification.kind == patrols.PATROL_DUE))} >= {"deputy_gm", "salesmgr_east"}


FINE = {"patrolled_on": "2027-03-10", "findings": "经营正常，油品库存充足", "problem_found": False}


def problem(solver="biz_east", solve_by="2027-03-20", **changes) -> dict:
    return {"patrolled_on": "2027-03-10", "findings": "储罐区消防器材过期", "problem_found": True,
            "problem": "客户反映上次配送油品含水偏高", "solver_id": get_user(solver).id, "solve_by": solve_by,
            **changes}


def test_a_problem_found_is_followed_until_solved_and_never_closed_without_its_solution(engine, api, tiers):
    plan = open_plan(engine)
    clock.set(at(2027, 3, 10, 15, 0))
    task = patrol_task(plan.id, "HD-E1-003", 15)
    for bad, field in ((problem(solver="rep_n1"), "solver_id"),  # another branch
                       (problem(solve_by="2027-03-01"), "solve_by"),  # in the past
                       (problem(problem=""), "problem"), (problem(solve_by=""), "solve_by"),
                       (dict(FINE, patrolled_on="2027-03-11"), "patrolled_on"),  # tomorrow
                       (dict(FINE, findings=""), "findings")):
        response = api.post(f"/tasks/{task.id}/complete", "rep_e1", {"data": bad})
        assert response.status_code == 400 and field in response.get_json()["error"]["fields"], (field, response.get_json())
    assert api.post(f"/tasks/{task.id}/complete", "rep_e2", {"data": problem()}).status_code == 403  # not his
    assert api.post(f"/tasks/{task.id}/complete", "rep_e1", {"data": problem()}).status_code == 200
    solve = open_tasks(plan.id, "solve_problem")
    assert [(t.assignee.username, t.due_at) for t in solve] == [("biz_east", at(2027, 3, 21))]
    context = api.get(f"/tasks/{solve[0].id}", "biz_east").get_json()["context"]
    assert (context["patrol"]["customer_code"], context["patrol"]["solve_by"]) == ("HD-E1-003", "2027-03-20")
    row = next(p for p in patrols.of_case(plan.id) if p.id and p.problem)
    assert (row.customer.code, row.solver.username, row.solved_at) == ("HD-E1-003", "biz_east", None)

    # Not closed without its solution: the form refuses it, and so does the record behind it.
    refused = api.post(f"/tasks/{solve[0].id}/complete", "biz_east", {"data": {"solution": "  "}})
    assert refused.status_code == 400 and "solution" in refused.get_json()["error"]["fields"]
    assert api.post(f"/tasks/{solve[0].id}/complete", "rep_e1", {"data": {"solution": "x"}}).status_code == 403
    assert open_tasks(plan.id, "solve_problem") and patrols.of_case(plan.id)[2].solved_at is None

    fire_due(engine, at(2027, 3, 21, 0, 0, 1))  # its day has passed: the solver is reminded
    reminded = db.session.scalars(select(Event).where(Event.instance_id == plan.id, Event.type == "reminder_sent")).all()
    assert [t["name"] for e in reminded for t in e.data["tasks"]
            if t["assignee_id"] == get_user("biz_east").id] == ["解决巡视发现的问题"]
    fire_due(engine, at(2027, 3, 24, 0, 0, 1))  # three days later the branch manager is told
    assert [t.assignee.username for t in open_tasks(plan.id, "problem_overdue_notice")] == ["mgr_east"]

    clock.set(at(2027, 3, 24, 9, 0))
    api.tokens.clear()
    done = api.post(f"/tasks/{solve[0].id}/complete", "biz_east", {"data": {"solution": "已更换承运罐车并抽检"}})
    assert done.status_code == 200
    db.session.expire_all()
    row = patrols.of_case(plan.id)[2]
    assert row.solution == "已更换承运罐车并抽检" and row.solved_at == at(2027, 3, 24, 9, 0)
    assert open_tasks(plan.id, "problem_overdue_notice") == []  # the unread notice closes with the problem
    assert db.session.get(Instance, plan.id).status == RUNNING  # the other patrols are still to be done


def test_the_plan_ends_when_every_patrol_is_done(engine, api, tiers):
    plan = open_plan(engine)
    clock.set(at(2027, 3, 10, 15, 0))
    for task in open_tasks(plan.id, "patrol_customer"):
        assert api.post(f"/tasks/{task.id}/complete", task.assignee.username, {"data": FINE}).status_code == 200
    db.session.expire_all()
    ended = db.session.get(Instance, plan.id)
    assert (ended.status, ended.outcome) == (COMPLETED, "patrols_done")
    assert all(p.reported_at is not None and p.findings for p in patrols.of_case(plan.id))


def test_a_branch_without_customers_has_nothing_to_patrol(engine, tiers):
    db.session.execute(update(Customer).where(Customer.code.like("HB-%")).values(potential=True))
    db.session.commit()
    try:
        plan = open_plan(engine, branch="north")
        assert (plan.status, plan.outcome) == (COMPLETED, "no_customers")
    finally:
        db.session.execute(update(Customer).where(Customer.code.like("HB-%")).values(potential=False))
        db.session.commit()


# -- relationship managers ---------------------------------------------------------------------------

def name_manager(api, code: str, person: str | None, by: str = "mgr_east"):
    return api.call("PUT", f"/customers/{get_customer(code).id}/relationship-manager", by,
                    json={"person_id": get_user(person).id if person else None})


def test_the_branch_manager_names_a_relationship_manager_for_core_and_important_customers(api, tiers):
    answer = name_manager(api, IMPORTANT_CODE, "rep_e2")
    assert answer.status_code == 200, answer.get_json()
    assert answer.get_json()["relationship_manager"] == "rep_e2" and answer.get_json()["tier"] == "important"
    assert name_manager(api, CORE_CODE, "hq_mkt").status_code == 200  # headquarters' people may be
    refused = name_manager(api, "HD-E1-003", "rep_e1")  # a general customer
    assert refused.status_code == 409 and "person_id" in refused.get_json()["error"]["fields"]
    assert name_manager(api, IMPORTANT_CODE, "rep_n1").status_code == 400  # another branch
    assert name_manager(api, IMPORTANT_CODE, "rep_e1", by="rep_e1").status_code == 403
    assert name_manager(api, IMPORTANT_CODE, "rep_e1", by="mgr_north").status_code == 403
    assert name_manager(api, IMPORTANT_CODE, "rep_e1", by="auditor").status_code == 403
    db.session.expire_all()
    assert get_customer(IMPORTANT_CODE).relationship_manager_id == get_user("rep_e2").id
    read = api.get(f"/customers/{get_customer(IMPORTANT_CODE).id}/relationship-manager", "rep_e1")
    assert read.status_code == 200 and read.get_json()["relationship_manager"] == "rep_e2"
    assert api.get(f"/customers/{get_customer(IMPORTANT_CODE).id}/relationship-manager", "rep_n1").status_code == 403
    assert name_manager(api, IMPORTANT_CODE, None).get_json()["relationship_manager"] is None


def complaint(api, code: str) -> int:
    clock.set(at(2027, 3, 1, 10, 0))
    response = api.post("/processes/complaint_handling/instances", "rep_e1", {"data": {
        "customer_id": get_customer(code).id, "channel": "phone", "received_at": "2027-03-01T09:30",
        "category": "delivery", "content": "送货迟到"}})
    assert response.status_code == 201, response.get_json()
    return response.get_json()["id"]


def copied_to(instance_id: int) -> list[str]:
    db.session.expire_all()
    return [db.session.get(type(get_user("rep_e1")), r.user_id).username for r in db.session.scalars(
        select(CaseReader).where(CaseReader.instance_id == instance_id))]


def test_complaints_about_the_customer_are_copied_to_its_relationship_manager(api, tiers):
    assert name_manager(api, IMPORTANT_CODE, "rep_e2").status_code == 200
    case_id = complaint(api, IMPORTANT_CODE)
    assert copied_to(case_id) == ["rep_e2"]
    told = db.session.scalars(select(Notification).where(Notification.instance_id == case_id,
                                                         Notification.kind == patrols.RELATIONSHIP_COPY)).all()
    assert [n.user.username for n in told] == ["rep_e2"]
    assert api.get(f"/instances/{case_id}", "rep_e2").status_code == 200  # he reads it
    assert db.session.scalar(select(Event).where(Event.instance_id == case_id, Event.type == "case_copied"))
    assert copied_to(complaint(api, "HD-E1-003")) == []  # a customer without one: nobody


def test_a_routine_warning_report_is_copied_to_the_managers_of_customers_in_breach(engine, api, tiers, purchases):
    assert name_manager(api, IMPORTANT_CODE, "rep_e2").status_code == 200
    assert name_manager(api, CORE_CODE, "hq_mkt").status_code == 200
    for month in ("2027-01", "2027-02", "2027-03", "2027-04", "2027-05", "2027-06"):
        purchases(month, {IMPORTANT_CODE: "100", CORE_CODE: "100"})
    purchases("2027-07", {IMPORTANT_CODE: "10", CORE_CODE: "100"})  # only HD-E1-002 breaks
    clock.set(at(2027, 8, 3, 9, 0))
    report = engine.cases.start(early_warning.ROUTINE_KEY, get_user("admin"), {"branch": "east", "month": "2027-07"})
    assert copied_to(report.id) == ["rep_e2"]


def test_an_urgent_warning_is_copied_to_the_relationship_manager(engine, api, tiers):
    """The urgent report's first step, a copy step (抄送) naming the rule `relationship_manager`, copies
    it to him; a customer without one goes on without a copy."""
    assert name_manager(api, IMPORTANT_CODE, "rep_e2").status_code == 200
    clock.set(at(2027, 3, 1, 9, 0))
    warned = engine.cases.start(early_warning.PROCESS_KEY, get_user("rep_e1"), {
        "customer_id": get_customer(IMPORTANT_CODE).id, "indicator": "overdue_receivables", "detail": "逾期 30 天"})
    assert copied_to(warned.id) == ["rep_e2"]
    general = engine.cases.start(early_warning.PROCESS_KEY, get_user("rep_e1"), {
        "customer_id": get_customer("HD-E1-003").id, "indicator": "overdue_receivables", "detail": "x"})
    assert copied_to(general.id) == [] and open_tasks(general.id)  # nobody to copy: the report goes on


def test_the_pages_set_and_show_the_relationship_manager(pages, ctx):
    customer = get_customer(IMPORTANT_CODE)
    customer.key_customer = True  # important; HD-E1-001, a big customer without a value class, is core
    get_customer(CORE_CODE).big_customer = True
    db.session.commit()
    pages.login("rep_e1")
    assert pages.client.get("/relationships").status_code == 403
    assert pages.client.get(f"/customers/{customer.id}/relationship-manager").status_code == 403
    dossier = pages.client.get(f"/customers/{customer.id}").get_data(as_text=True)
    assert 'data-testid="relationship-manager-missing"' in dossier and 'data-testid="patrols"' in dossier
    assert 'data-testid="set-relationship-manager"' not in dossier

    pages.client.post("/logout", data={"csrf_token": pages.csrf("/inbox")})
    pages.login("mgr_east")
    listing = pages.client.get("/relationships").get_data(as_text=True)
    assert 'data-testid="relationship-list"' in listing
    assert listing.index(f'data-customer="{CORE_CODE}" data-tier="core"') < listing.index(
        'data-customer="HD-E1-003" data-tier="general"')
    url = f"/customers/{customer.id}/relationship-manager"
    bad = pages.submit(url, {"person_id": str(get_user("rep_n1").id)})
    assert bad.status_code == 400 and "is-invalid" in bad.get_data(as_text=True)
    saved = pages.submit(url, {"person_id": str(get_user("rep_e2").id)})
    assert saved.status_code == 302
    db.session.expire_all()
    assert get_customer(IMPORTANT_CODE).relationship_manager_id == get_user("rep_e2").id

    pages.client.post("/logout", data={"csrf_token": pages.csrf("/inbox")})
    pages.login("rep_e1")
    dossier = pages.client.get(f"/customers/{customer.id}").get_data(as_text=True)
    assert 'data-testid="relationship-manager-name"' in dossier and "李娜" in dossier


def test_the_patrol_pages_record_a_problem_and_refuse_closing_it_without_a_solution(engine, pages, tiers):
    plan = open_plan(engine)
    clock.set(at(2027, 3, 10, 15, 0))
    pages.login("rep_e1")
    url = f"/tasks/{patrol_task(plan.id, 'HD-E1-003', 15).id}"
    page = pages.client.get(url).get_data(as_text=True)
    assert 'name="problem_found"' in page and 'name="solver_id"' in page
    assert 'data-testid="patrol-customer"' in page and "HD-E1-003" in page
    refused = pages.submit(url, {"patrolled_on": "2027-03-10", "findings": "储罐区消防器材过期", "problem_found": "y",
                                 "problem": "", "solver_id": "", "solve_by": ""})
    assert refused.status_code == 400 and refused.get_data(as_text=True).count("invalid-feedback d-block") >= 3
    done = pages.submit(url, {"patrolled_on": "2027-03-10", "findings": "储罐区消防器材过期", "problem_found": "y",
                              "problem": "消防器材过期", "solver_id": str(get_user("rep_e1").id), "solve_by": "2027-03-12"})
    assert done.status_code == 302
    solve_url = f"/tasks/{open_tasks(plan.id, 'solve_problem')[0].id}"
    solve_page = pages.client.get(solve_url).get_data(as_text=True)
    assert 'data-testid="patrol-problem"' in solve_page and "消防器材过期" in solve_page
    refused = pages.submit(solve_url, {"solution": ""})
    assert refused.status_code == 400 and open_tasks(plan.id, "solve_problem")
    assert pages.submit(solve_url, {"solution": "已督促客户更换"}).status_code == 302
    dossier = pages.client.get(f"/customers/{get_customer('HD-E1-003').id}").get_data(as_text=True)
    assert 'data-testid="patrol-row"' in dossier and "已督促客户更换" in dossier
