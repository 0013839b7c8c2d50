"""The monthly star rating (processes/star_rating.bpmn) walked with a controlled clock: the schedule,
the rating sheet, the split by stars, returns, deadlines, history and the preferential policy."""
import re
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from conftest import fire_due, get_customer, get_user
from flask import current_app
from sqlalchemy import and_, delete, select

from app import db
from app.calendar import clock
from app.domain.org import OrgUnit
from app.domain.star_rating import StarRating, streak
from app.engine.definitions import DefinitionError
from app.engine.models import COMPLETED, OPEN, SCHEDULE, Event, Instance, ProcessDefinition, Task, Timer
from app.engine.queries import return_behind

SHANGHAI = ZoneInfo("Asia/Shanghai")
STAR_SCHEDULE = and_(Timer.kind == SCHEDULE, Timer.process_key == "star_rating")  # (the credit rating has one too)
EAST = ["HD-E1-001", "HD-E1-002", "HD-E1-003", "HD-E2-001", "HD-E2-002"]


def at(*args) -> datetime:
    """A moment in company time."""
    return datetime(*args, tzinfo=SHANGHAI)


def cases(month: str | None = None) -> list[Instance]:
    query = select(Instance).where(Instance.process_key == "star_rating").order_by(Instance.id)
    if month:
        query = query.where(Instance.unique_key.like(f"%:{month}"))
    return list(db.session.scalars(query))


def open_tasks(instance: Instance) -> dict[str, Task]:
    db.session.expire_all()
    return {t.spec_id: t for t in db.session.scalars(
        select(Task).where(Task.instance_id == instance.id, Task.state == OPEN))}


def act(engine, instance: Instance, spec: str, username: str, data: dict) -> Task:
    task = open_tasks(instance)[spec]
    user = get_user(username)
    if task.assignee_id is None:
        engine.cases.claim(task.id, user)
    return engine.cases.complete(task.id, user, data)


def ratings(stars_by_code: dict[str, int], reasons: dict[str, str] | None = None) -> dict:
    reasons = reasons or {}
    return {"ratings": [{"customer_id": get_customer(code).id, "stars": stars, "reason": reasons.get(code, "")}
                        for code, stars in stars_by_code.items()]}


def sheet_of(instance: Instance) -> dict[str, StarRating]:
    db.session.expire_all()
    return {row.customer.code: row for row in db.session.scalars(
        select(StarRating).where(StarRating.instance_id == instance.id))}


def events(instance: Instance, event_type: str) -> list[Event]:
    return list(db.session.scalars(select(Event).where(Event.instance_id == instance.id, Event.type == event_type)
                                   .order_by(Event.id)))


def start_by_hand(engine, month: str, branch: str = "east") -> Instance:
    return engine.cases.start("star_rating", get_user("admin"), {"branch": branch, "month": month})


def test_the_schedule_opens_one_case_per_branch_at_midnight_in_shanghai(engine, purchases):
    clock.set(at(2027, 1, 15, 10, 0))
    deploy_with_schedule(engine)  # writes the schedule's wake-up
    (row,) = db.session.scalars(select(Timer).where(STAR_SCHEDULE)).all()
    assert row.process_key == "star_rating" and row.due_at == at(2027, 2, 1)

    assert fire_due(engine, at(2027, 1, 31, 23, 59, 59)) == 0  # 15:59:59 UTC: Shanghai is not there yet
    assert cases() == []
    assert fire_due(engine, at(2027, 2, 1)) == 0  # a timer fires once its time has passed
    assert fire_due(engine, at(2027, 2, 1, 0, 0, 1)) == 1  # 2027-01-31 16:00:01 UTC
    opened = cases()
    assert [(i.start_data["branch_code"], i.start_data["month"]) for i in opened] == [("east", "2027-01"),
                                                                                      ("north", "2027-01")]
    assert all(i.started_by_id is None for i in opened)
    assert db.session.scalar(select(Timer.due_at).where(STAR_SCHEDULE)) == at(2027, 3, 1)
    assert fire_due(engine, at(2027, 2, 1, 0, 5)) == 0  # never twice

    # The branch's staff find the sheet in their inboxes: the specialist, and the business department.
    east = open_tasks(opened[0])["initial_rating"]
    assert east.due_at == at(2027, 2, 2)
    assert {t.process_key for t in _inbox(engine, "spec_east")} == {"star_rating"}
    assert {t.process_key for t in _inbox(engine, "biz_east")} == {"star_rating"}
    # The north branch has no specialist: its business department has the task alone.
    north = open_tasks(opened[1])["initial_rating"]
    assert [t.id for t in _inbox(engine, "biz_north")] == [north.id]


def _inbox(engine, username):
    from app.engine.queries import inbox_page
    return inbox_page(get_user(username), 1, 50).items


def deploy_with_schedule(engine) -> None:
    """Deploy processes/ as the application does, keeping only the star rating's schedule (the other
    scheduled processes' firings would be counted with it)."""
    engine.deployment.deploy_directory(current_app.config["PROCESSES_DIR"])
    db.session.execute(delete(Timer).where(Timer.kind == SCHEDULE, Timer.process_key != "star_rating"))
    db.session.commit()


def test_a_month_is_opened_once_whether_by_hand_or_by_the_schedule(engine, api):
    clock.set(at(2027, 2, 1, 9, 0))
    response = api.post("/processes/star_rating/instances", "admin",
                        {"data": {"branch": "east", "month": "2027-01"}})
    assert response.status_code == 201, response.get_json()
    assert response.get_json()["data"]["month"] == "2027-01"

    again = api.post("/processes/star_rating/instances", "admin", {"data": {"branch": "east", "month": "2027-01"}})
    assert again.status_code == 409
    assert "2027-01" in again.get_json()["error"]["message"]
    assert again.get_json()["error"]["fields"]["month"]

    for data, status, field in [({"branch": "east", "month": "2027-02"}, 400, "month"),  # not over yet
                                ({"branch": "east", "month": "2027-13"}, 400, "month"),
                                ({"branch": "E1", "month": "2026-12"}, 400, "branch")]:  # a territory
        refused = api.post("/processes/star_rating/instances", "admin", {"data": data})
        assert refused.status_code == status and field in refused.get_json()["error"]["fields"], data
    assert api.post("/processes/star_rating/instances", "spec_east",
                    {"data": {"branch": "east", "month": "2026-12"}}).status_code == 403

    # The schedule, catching up on January after the manual start, opens only the north branch's.
    deploy_with_schedule(engine)
    row = db.session.scalar(select(Timer).where(STAR_SCHEDULE))
    row.due_at = at(2027, 2, 1)
    db.session.commit()
    fire_due(engine, at(2027, 2, 1, 9, 5))
    assert sorted(i.start_data["branch_code"] for i in cases("2027-01")) == ["east", "north"]


def test_the_sheet_splits_by_stars_and_each_part_is_approved(engine, api, purchases):
    # The suggestion table at its edges: <100 t one star, 100–500 two, 500–1000 three, ≥1000 four.
    purchases("2027-01", {"HD-E1-001": "1000", "HD-E1-002": "999.99", "HD-E1-003": "100",
                          "HD-E2-001": "99.99", "HD-E2-002": "500"})
    clock.set(at(2027, 2, 1, 9, 0))
    instance = start_by_hand(engine, "2027-01")
    task = open_tasks(instance)["initial_rating"]

    assert api.post(f"/tasks/{task.id}/claim", "spec_east").status_code == 200
    detail = api.get(f"/tasks/{task.id}", "spec_east").get_json()
    sheet = {row["code"]: row for row in detail["context"]["sheet"]}
    assert {code: row["suggested_stars"] for code, row in sheet.items()} == {
        "HD-E1-001": 4, "HD-E1-002": 3, "HD-E1-003": 2, "HD-E2-001": 1, "HD-E2-002": 3}
    assert sheet["HD-E1-003"]["volume_tons"] == "100.00" and sheet["HD-E1-003"]["amount_yuan"] == "700000.00"
    assert [f["name"] for f in next(f for f in detail["fields"] if f["name"] == "ratings")["items"]] == [
        "customer_id", "stars", "reason"]

    filed = {"HD-E1-001": 4, "HD-E1-002": 3, "HD-E1-003": 2, "HD-E2-001": 1, "HD-E2-002": 2}
    no_reason = api.post(f"/tasks/{task.id}/complete", "spec_east", {"data": ratings(filed)})
    assert no_reason.status_code == 400
    assert "HD-E2-002" in " ".join(no_reason.get_json()["error"]["fields"]["ratings"])
    missing = dict(filed)
    del missing["HD-E1-001"]
    incomplete = api.post(f"/tasks/{task.id}/complete", "spec_east",
                          {"data": ratings(missing, {"HD-E2-002": "到货量偏低"})})
    assert incomplete.status_code == 400 and "HD-E1-001" in " ".join(incomplete.get_json()["error"]["fields"]["ratings"])
    ok = api.post(f"/tasks/{task.id}/complete", "spec_east",
                  {"data": ratings(filed, {"HD-E2-002": "本月多为临时调货，按二星"})})
    assert ok.status_code == 200, ok.get_json()

    waiting = open_tasks(instance)
    assert set(waiting) == {"hq_review", "second_rating"}
    review = api.get(f"/tasks/{waiting['hq_review'].id}", "hq_mkt").get_json()
    assert sorted(row["code"] for row in review["context"]["sheet"]) == ["HD-E1-003", "HD-E2-001", "HD-E2-002"]
    second = api.get(f"/tasks/{waiting['second_rating'].id}", "hq_mkt").get_json()
    assert sorted(row["code"] for row in second["context"]["sheet"]) == ["HD-E1-001", "HD-E1-002"]

    # HQ's second round changes a star: only with a reason.
    changed = {"HD-E1-001": 4, "HD-E1-002": 4}
    act_api = lambda spec, user, data: _act_api(api, instance, spec, user, data)  # noqa: E731
    assert act_api("second_rating", "hq_mkt", ratings(changed)).status_code == 400
    assert act_api("second_rating", "hq_mkt", ratings(changed, {"HD-E1-002": "连续增量，升四星"})).status_code == 200
    # Leadership returns it to HQ; HQ rates again (its last values shown), leadership approves.
    assert act_api("leadership_approval", "leader", {"decision": "return"}).status_code == 400  # a return says why
    assert act_api("leadership_approval", "leader", {"decision": "return", "comment": "再核实"}).status_code == 200
    again = api.get(f"/tasks/{open_tasks(instance)['second_rating'].id}", "hq_mkt").get_json()
    assert {row["code"]: row["second_round_stars"] for row in again["context"]["sheet"]} == changed
    assert act_api("second_rating", "hq_mkt", ratings(changed, {"HD-E1-002": "核实无误"})).status_code == 200
    assert act_api("leadership_approval", "leader", {"decision": "approve"}).status_code == 200
    assert set(open_tasks(instance)) == {"hq_review"}  # the 3–4 star part waits for the other
    assert act_api("hq_review", "hq_mkt", {"decision": "approve"}).status_code == 200

    rows = sheet_of(instance)
    assert {code: row.stars for code, row in rows.items()} == {
        "HD-E1-001": 4, "HD-E1-002": 4, "HD-E1-003": 2, "HD-E2-001": 1, "HD-E2-002": 2}
    assert rows["HD-E1-002"].initial_stars == 3 and rows["HD-E1-002"].second_round_reason == "核实无误"
    assert rows["HD-E1-002"].approved_by.username == "leader"
    assert rows["HD-E2-002"].approved_by.username == "hq_mkt" and rows["HD-E2-002"].second_round_stars is None
    assert rows["HD-E2-002"].initial_by.username == "spec_east"

    # The branch is told: one task to confirm its customers were told, then the case ends.
    inform = open_tasks(instance)["inform_customers"]
    assert {t.id for t in _inbox(engine, "spec_east")} >= {inform.id}
    assert act_api("inform_customers", "spec_east", {"informed": False}).status_code == 400
    assert act_api("inform_customers", "spec_east", {"informed": True, "note": "电话通知"}).status_code == 200
    db.session.expire_all()
    instance = db.session.get(Instance, instance.id)
    assert (instance.status, instance.outcome) == (COMPLETED, "approved")

    stars = api.get(f"/customers/{get_customer('HD-E1-002').id}/stars", "spec_east").get_json()
    assert stars == [{"month": "2027-01", "stars": 4, "initial_stars": 3, "second_round_stars": 4,
                      "approved_by": "leader", "initial_by": "spec_east", "second_round_by": "hq_mkt"}]


def _act_api(api, instance, spec, username, data):
    task = open_tasks(instance)[spec]
    if task.assignee_id is None:
        assert api.post(f"/tasks/{task.id}/claim", username).status_code == 200
    return api.post(f"/tasks/{task.id}/complete", username, {"data": data})


def filed_sheet(engine, purchases) -> tuple[Instance, dict[str, int]]:
    """January 2027's sheet of the east branch, filed as suggested (HQ's two parts wait): the case and
    the stars filed."""
    purchases("2027-01", {"HD-E1-001": "1200", "HD-E1-002": "300"})
    clock.set(at(2027, 2, 1, 9, 0))
    instance = start_by_hand(engine, "2027-01")
    suggested = {code: row.suggested_stars for code, row in sheet_of(instance).items()}
    act(engine, instance, "initial_rating", "spec_east", ratings(suggested))
    return instance, suggested


def test_a_returned_sheet_goes_back_to_the_branch_whole(engine, purchases, pages):
    instance, suggested = filed_sheet(engine, purchases)
    assert set(open_tasks(instance)) == {"hq_review", "second_rating"}

    act(engine, instance, "hq_review", "hq_mkt", {"decision": "return", "comment": "HD-E1-002 应为一星，请复核"})
    waiting = open_tasks(instance)
    assert set(waiting) == {"revise_rating"}  # HQ's other part was withdrawn with the sheet
    cancelled = db.session.scalar(select(Task).where(Task.instance_id == instance.id, Task.spec_id == "second_rating"))
    assert cancelled.state == "cancelled"

    # The branch's task page says who returned the sheet and why.
    pages.login("biz_east")
    page = pages.client.get(f"/tasks/{waiting['revise_rating'].id}").get_data(as_text=True)
    assert 'data-testid="returned"' in page and "HD-E1-002 应为一星，请复核" in page
    revised = dict(suggested, **{"HD-E1-002": 1})
    act(engine, instance, "revise_rating", "biz_east", ratings(revised, {"HD-E1-002": "按总公司意见调整"}))
    assert set(open_tasks(instance)) == {"hq_review", "second_rating"}
    rows = sheet_of(instance)
    assert rows["HD-E1-002"].initial_stars == 1 and rows["HD-E1-002"].initial_by.username == "biz_east"
    assert return_behind(open_tasks(instance)["hq_review"]) is None  # the new review is not "returned"


def test_deadlines_on_the_2nd_and_the_5th_remind_and_escalate(engine, purchases):
    purchases("2027-01", {"HD-E1-001": "1200", "HD-E1-002": "300"})
    clock.set(at(2027, 1, 20, 9, 0))
    deploy_with_schedule(engine)
    fire_due(engine, at(2027, 2, 1, 0, 0, 1))
    instance = cases("2027-01")[0]
    assert instance.start_data["branch_code"] == "east"

    assert fire_due(engine, at(2027, 2, 1, 23, 59)) == 0
    assert fire_due(engine, at(2027, 2, 2, 0, 0, 1)) == 2  # the 2nd has begun: neither branch has filed
    initial = open_tasks(instance)["initial_rating"]
    assert initial.is_overdue(at(2027, 2, 2, 0, 1))
    (reminder,) = events(instance, "reminder_sent")
    assert [t["task_id"] for t in reminder.data["tasks"]] == [initial.id]
    notice = open_tasks(instance)["initial_rating_overdue_notice"]
    assert notice.assignee.username == "mgr_east"
    assert any(e.data["spec"] == "initial_rating_late" for e in events(instance, "timer_fired"))

    clock.set(at(2027, 2, 3, 10, 0))  # filed late; HQ then misses the 5th
    suggested = {code: row.suggested_stars for code, row in sheet_of(instance).items()}
    act(engine, instance, "initial_rating", "spec_east", ratings(suggested))
    assert fire_due(engine, at(2027, 2, 4, 23, 59)) == 0
    assert fire_due(engine, at(2027, 2, 5, 0, 0, 1)) == 1
    escalation = open_tasks(instance)["hq_overdue_notice"]
    assert escalation.candidate_role == "leadership"
    hq_reminder = events(instance, "reminder_sent")[-1]
    assert {t["name"] for t in hq_reminder.data["tasks"]} == {"营销处审核（一、二星）", "营销处二次评定（三、四星）"}

    # The escalation is acknowledged; the other notice is left unread: the case still finishes.
    act(engine, instance, "hq_overdue_notice", "leader", {"comment": "请营销处今日完成"})
    act(engine, instance, "hq_review", "hq_mkt", {"decision": "approve"})
    act(engine, instance, "second_rating", "hq_mkt", ratings({"HD-E1-001": 4}))
    act(engine, instance, "leadership_approval", "leader", {"decision": "approve"})
    act(engine, instance, "inform_customers", "spec_east", {"informed": True})
    db.session.expire_all()
    assert db.session.get(Instance, instance.id).status == COMPLETED
    assert db.session.get(Task, notice.id).state == "cancelled"
    assert db.session.scalars(select(Timer).where(Timer.instance_id == instance.id)).all() == []


def run_month(engine, month: str, stars: dict[str, int], opened_at: datetime) -> Instance:
    """One month's rating end to end, the branch's stars kept by HQ."""
    clock.set(opened_at)
    instance = start_by_hand(engine, month)
    rows = sheet_of(instance)
    filed = {code: stars.get(code, row.suggested_stars) for code, row in rows.items()}
    reasons = {code: "按实际合作情况" for code in filed if filed[code] != rows[code].suggested_stars}
    act(engine, instance, "initial_rating", "spec_east", ratings(filed, reasons))
    waiting = open_tasks(instance)
    if "hq_review" in waiting:
        act(engine, instance, "hq_review", "hq_mkt", {"decision": "approve"})
    if "second_rating" in waiting:
        act(engine, instance, "second_rating", "hq_mkt", ratings({c: s for c, s in filed.items() if s >= 3}))
        act(engine, instance, "leadership_approval", "leader", {"decision": "approve"})
    act(engine, instance, "inform_customers", "spec_east", {"informed": True})
    return instance


def test_history_and_preferential_flags_over_three_months(engine, api):
    plan = [("2027-01", {"HD-E1-001": 3, "HD-E1-002": 2, "HD-E1-003": 2}),
            ("2027-02", {"HD-E1-001": 3, "HD-E1-002": 1, "HD-E1-003": 2}),
            ("2027-03", {"HD-E1-001": 4, "HD-E1-002": 2, "HD-E1-003": 3})]
    expected = [  # after each month: (E1-001, E1-002, E1-003) as (resource guarantee, discount)
        [(False, 0), (False, 0), (False, 0)],
        [(True, 0), (False, 0), (True, 0)],
        [(True, 5), (False, 0), (True, 0)],
    ]
    for (month, stars), flags in zip(plan, expected, strict=True):
        year, number = (int(p) for p in month.split("-"))
        run_month(engine, month, stars, at(year, number + 1, 1, 9, 0))
        db.session.expire_all()
        assert [(get_customer(code).resource_guarantee, get_customer(code).extra_discount_yuan_per_ton) for code in ("HD-E1-001", "HD-E1-002", "HD-E1-003")] == flags

    history = api.get(f"/customers/{get_customer('HD-E1-001').id}/stars", "hq_mkt").get_json()
    assert [(h["month"], h["stars"], h["approved_by"]) for h in history] == [
        ("2027-03", 4, "leader"), ("2027-02", 3, "leader"), ("2027-01", 3, "leader")]
    detail = api.get(f"/customers/{get_customer('HD-E1-001').id}", "rep_e1").get_json()
    assert (detail["resource_guarantee"], detail["extra_discount_yuan_per_ton"]) == (True, 5)
    # Stars are the branch's and HQ's business, not another branch's.
    assert api.get(f"/customers/{get_customer('HD-E1-001').id}/stars", "rep_n1").status_code == 403
    assert api.get(f"/customers/{get_customer('HD-E1-001').id}/stars", "biz_north").status_code == 403


def test_a_streak_counts_consecutive_calendar_months_only():
    assert streak([("2027-03", 3), ("2027-02", 3), ("2027-01", 3)], 3) == 3
    assert streak([("2027-03", 3), ("2027-01", 3)], 3) == 1  # February is missing
    assert streak([("2027-01", 2), ("2026-12", 4)], 2) == 2  # across the year
    assert streak([("2027-03", 1), ("2027-02", 4)], 2) == 0
    assert streak([], 2) == 0


def test_the_instances_list_filters_by_process_and_status(engine, api):
    clock.set(at(2027, 2, 1, 9, 0))
    start_by_hand(engine, "2027-01", "east")
    start_by_hand(engine, "2027-01", "north")
    listed = api.get("/instances?process_key=star_rating&status=running", "hq_mkt").get_json()
    assert listed["total"] == 0  # nothing of theirs yet: the branches are rating
    mine = api.get("/instances?process_key=star_rating&status=running", "biz_north").get_json()
    assert [i["data"]["branch_code"] for i in mine["items"]] == ["north"]
    everything = api.get("/instances?process_key=star_rating", "auditor").get_json()
    assert everything["total"] == 2
    assert api.get("/instances?status=sleeping", "auditor").status_code == 400


@pytest.fixture
def process_copy(app, tmp_path):
    """processes/ copied, to deploy edited versions of the star rating."""
    source = Path(app.config["PROCESSES_DIR"])
    for name in ("star_rating.bpmn", "star_suggestion.dmn"):
        (tmp_path / name).write_text((source / name).read_text(encoding="utf-8"), encoding="utf-8")

    def edit(name: str, old: str, new: str) -> Path:
        path = tmp_path / name
        text = path.read_text(encoding="utf-8")
        assert old in text
        path.write_text(text.replace(old, new), encoding="utf-8")
        return tmp_path
    return edit


MONTHLY = "FREQ=MONTHLY;BYMONTHDAY=1;BYHOUR=0;BYMINUTE=0"  # the star rating's schedule


@pytest.mark.parametrize("name, old, new, named", [
    ("star_suggestion.dmn", "<text>4</text>", "<text>().__class__.__base__.__subclasses__()</text>", "__class__"),
    ("star_suggestion.dmn", "<text>&gt;= 1000</text>", "<text>&gt;= [].__class__.__mro__</text>", "__class__"),
    ("star_suggestion.dmn", "<text>volume_tons</text>", "<text>__import__('os')</text>", "__import__"),
    ("star_rating.bpmn", f'value="{MONTHLY}"', 'value="every month"', "not an iCalendar RRULE"),
    ("star_rating.bpmn", f'value="{MONTHLY}"', 'value="FREQ=MINUTELY"', "at most once a day"),
    ("star_rating.bpmn", f'value="{MONTHLY}"', 'value="FREQ=MONTHLY;BYMONTH=2;BYMONTHDAY=31"', "never fires"),
    ("star_rating.bpmn", f'value="{MONTHLY}"', 'value="DTSTART:20270101T000000Z;FREQ=MONTHLY"', "leave DTSTART out"),
    ("star_rating.bpmn", f'value="{MONTHLY}"', 'value="FREQ=MONTHLY;BYMONTHDAY=1;COUNT=12"', "leave COUNT out"),
    ("star_rating.bpmn", 'camunda:dueDate="day_after_month(month, 2)"',
     'camunda:dueDate="day_after_month.__globals__"', "dueDate"),
    ("star_rating.bpmn", 'candidateGroups="branch_customer_specialist, branch_business_dept" camunda:dueDate="day',
     'candidateGroups="branch_customer_specialist, whoever" camunda:dueDate="day', "whoever"),
])
def test_a_star_rating_the_application_cannot_run_is_not_deployed(engine, process_copy, name, old, new, named):
    directory = process_copy(name, old, new)
    before = db.session.scalars(select(ProcessDefinition.id)).all()
    with pytest.raises(DefinitionError, match=named):
        engine.deployment.deploy_directory(directory)
    assert db.session.scalars(select(ProcessDefinition.id)).all() == before


def test_a_changed_decision_table_is_a_new_version_and_running_cases_keep_theirs(engine, process_copy, purchases):
    purchases("2027-01", {"HD-E1-001": "600"})
    clock.set(at(2027, 2, 1, 9, 0))
    before = start_by_hand(engine, "2027-01", "east")
    directory = process_copy("star_suggestion.dmn", "500 &lt;= ? &lt; 1000", "700 &lt;= ? &lt; 1000")
    process_copy("star_suggestion.dmn", "100 &lt;= ? &lt; 500", "100 &lt;= ? &lt; 700")
    (created,) = engine.deployment.deploy_directory(directory)
    assert (created.key, created.version) == ("star_rating", before.definition.version + 1)
    assert set(created.dmn_xml) == {"star_suggestion.dmn"}
    after = start_by_hand(engine, "2027-01", "north")
    assert after.definition_id == created.id
    assert sheet_of(before)["HD-E1-001"].suggested_stars == 3  # 600 t under the old table
    purchases("2027-02", {"HD-E1-001": "600"})
    clock.set(at(2027, 3, 1, 9, 0))
    assert sheet_of(start_by_hand(engine, "2027-02", "east"))["HD-E1-001"].suggested_stars == 2  # the new one


def test_a_branch_whose_case_cannot_open_is_retried_without_holding_back_the_others(engine):
    clock.set(at(2027, 1, 20, 9, 0))
    deploy_with_schedule(engine)
    north_business = db.session.scalar(select(OrgUnit).where(OrgUnit.code == "north_business"))
    north_business.function = "archive"  # the north branch has no business department for a while
    db.session.commit()
    try:
        assert fire_due(engine, at(2027, 2, 1, 0, 0, 1)) == 1
        assert [i.start_data["branch_code"] for i in cases("2027-01")] == ["east"]
        row = db.session.scalar(select(Timer).where(STAR_SCHEDULE))
        assert "north" in row.last_error and row.attempts == 1
        assert at(2027, 2, 1) < row.due_at < at(2027, 2, 1, 1, 0)  # retried soon, not next month
    finally:
        north_business.function = "business"
        db.session.commit()
    fire_due(engine, at(2027, 2, 1, 1, 0))
    assert sorted(i.start_data["branch_code"] for i in cases("2027-01")) == ["east", "north"]
    row = db.session.scalar(select(Timer).where(STAR_SCHEDULE))
    assert (row.due_at, row.attempts, row.last_error) == (at(2027, 3, 1), 0, None)


def test_a_case_opened_after_the_2nd_is_overdue_reminded_and_escalated_at_once(engine):
    clock.set(at(2027, 2, 3, 10, 0))
    instance = start_by_hand(engine, "2027-01")
    waiting = open_tasks(instance)
    assert waiting["initial_rating"].is_overdue(clock.now())
    assert waiting["initial_rating_overdue_notice"].assignee.username == "mgr_east"
    (fired,) = events(instance, "timer_fired")
    assert (fired.data["spec"], fired.data["name"], fired.actor_id) == ("initial_rating_late", "2日仍未上报", None)
    (reminder,) = events(instance, "reminder_sent")
    assert reminder.actor_id is None  # the application's doing, not the administrator's
    assert [t["task_id"] for t in reminder.data["tasks"]] == [waiting["initial_rating"].id]
    assert fire_due(engine, at(2027, 2, 3, 10, 1)) == 0  # recorded once, fired once


def test_a_task_offered_to_two_of_my_groups_is_in_my_inbox_once(engine):
    from app.domain.org import Membership, Role
    from app.engine.queries import inbox_count
    clock.set(at(2027, 2, 1, 9, 0))
    instance = start_by_hand(engine, "2027-01")
    supervisor = get_user("biz_east")
    specialist_role = db.session.scalar(select(Role).where(Role.code == "customer_specialist"))
    east = db.session.scalar(select(OrgUnit).where(OrgUnit.code == "east"))
    extra = Membership(user=supervisor, role=specialist_role, org_unit=east)  # also the branch's specialist
    db.session.add(extra)
    db.session.commit()
    try:
        db.session.expire_all()
        supervisor = get_user("biz_east")
        task_ids = [t.id for t in _inbox(engine, "biz_east") if t.instance_id == instance.id]
        assert task_ids == [open_tasks(instance)["initial_rating"].id]
        assert inbox_count(supervisor) == 1
    finally:
        db.session.delete(extra)
        db.session.commit()


def test_a_finished_rating_leads_with_each_customers_stars(engine, pages):
    instance = run_month(engine, "2027-01", {"HD-E1-001": 3, "HD-E1-002": 2, "HD-E1-003": 2}, at(2027, 2, 1, 9, 0))
    case_id = instance.id
    pages.login("hq_mkt")
    page = pages.client.get(f"/cases/{case_id}").get_data(as_text=True)
    result = page[page.index('data-testid="case-result"'):page.index('data-testid="case-result"') + 4000]
    assert "★★★ × 1" in result and "★★ × 2" in result
    assert re.search(r"★★★</span> HD-E1-001 ", result) and re.search(r"★★</span> HD-E1-002 ", result)
    assert page.index('data-testid="case-result"') < page.index("case-summary")  # it leads the page
