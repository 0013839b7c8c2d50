"""One-star coaching (processes/one_star_coaching.bpmn, seed 000: 对一星级客户给予辅导和解释) on a controlled
clock: after a month's star rating, every customer it leaves at one star gets one coaching case for the rep
of its territory (two stars or more: none), opened by the daily schedule the day after the stars became
final and never twice; the rep's form refuses bad input field by field; the follow-up comes on the day he
named in the next month, showing the next month's stars beside the one star; both go into the dossier.
Through the engine, the API and the pages; another territory's rep neither sees nor completes it."""
from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from conftest import fire_due, get_customer, get_user
from flask import current_app
from sqlalchemy import delete, select

from app import db
from app.calendar import clock
from app.domain import coaching
from app.domain.notifications import Notification
from app.domain.star_rating import StarRating
from app.engine.models import COMPLETED, OPEN, SCHEDULE, Event, Instance, Task, Timer
from app.errors import Conflict, Forbidden, InvalidData

SHANGHAI = ZoneInfo("Asia/Shanghai")
# January 2027 in the east branch: two customers end at one star, the other three at two.
JANUARY = {"HD-E1-001": 2, "HD-E1-002": 1, "HD-E1-003": 2, "HD-E2-001": 1, "HD-E2-002": 2}


def at(*args) -> datetime:
    return datetime(*args, tzinfo=SHANGHAI)


def open_tasks(instance: Instance) -> dict[str, Task]:
    db.session.expire_all()
    return {t.spec_id: t for t in db.session.scalars(
        select(Task).where(Task.instance_id == instance.id, Task.state == OPEN))}


def coaching_cases() -> list[Instance]:
    db.session.expire_all()
    return list(db.session.scalars(select(Instance).where(Instance.process_key == coaching.PROCESS_KEY)
                                   .order_by(Instance.id)))


def act(engine, instance: Instance, spec: str, username: str, data: dict) -> Task:
    task = open_tasks(instance)[spec]
    user = get_user(username)
    if task.assignee_id is None:
        engine.cases.claim(task.id, user)
    return engine.cases.complete(task.id, user, data)


def rate(engine, month: str, stars: dict[str, int], moment: datetime) -> Instance:
    """The east branch's star rating of `month`, run to its end at `moment` with these stars (the others as
    suggested; with no purchases in 2027 every suggestion is one star)."""
    clock.set(moment)
    instance = engine.cases.start("star_rating", get_user("admin"), {"branch": "east", "month": month})
    rows = {row.customer.code: row for row in db.session.scalars(
        select(StarRating).where(StarRating.instance_id == instance.id))}
    filed = [{"customer_id": row.customer_id, "stars": stars.get(code, row.suggested_stars),
              "reason": "" if stars.get(code, row.suggested_stars) == row.suggested_stars else "按实际合作情况"}
             for code, row in rows.items()]
    act(engine, instance, "initial_rating", "spec_east", {"ratings": filed})
    waiting = open_tasks(instance)
    if "hq_review" in waiting:
        act(engine, instance, "hq_review", "hq_mkt", {"decision": "approve"})
    if "second_rating" in waiting:
        high = [r for r in filed if r["stars"] >= 3]
        act(engine, instance, "second_rating", "hq_mkt", {"ratings": high})
        act(engine, instance, "leadership_approval", "leader", {"decision": "approve"})
    act(engine, instance, "inform_customers", "spec_east", {"informed": True})
    return instance


def deploy_with_schedule(engine) -> None:
    """Deploy processes/ as the application does, keeping only the coaching's schedule."""
    engine.deployment.deploy_directory(current_app.config["PROCESSES_DIR"])
    db.session.execute(delete(Timer).where(Timer.kind == SCHEDULE, Timer.process_key != coaching.PROCESS_KEY))
    db.session.commit()


def opened_by_hand(engine, code: str = "HD-E1-002", month: str = "2027-01") -> Instance:
    return engine.cases.start(coaching.PROCESS_KEY, get_user("admin"),
                              {"customer_id": get_customer(code).id, "month": month})


GOOD_COACHING = {"explained": "一星原因：一月仅提货 20 吨；讲解二星标准（月 100 吨）及资源保障政策",
                 "commitments": "二月起每月固定提货 120 吨，改为月结", "follow_up_on": "2027-03-10"}


def test_after_a_rating_each_one_star_customer_gets_one_coaching_task_for_its_rep(engine, api):
    clock.set(at(2027, 1, 20, 9, 0))
    deploy_with_schedule(engine)
    (row,) = db.session.scalars(select(Timer).where(Timer.kind == SCHEDULE)).all()
    assert row.due_at == at(2027, 1, 21, 8, 0)  # every day at 08:00
    fire_due(engine, at(2027, 2, 1, 8, 0, 1))  # the days before the rating open nothing
    assert coaching_cases() == []

    rate(engine, "2027-01", JANUARY, at(2027, 2, 1, 9, 0))
    assert fire_due(engine, at(2027, 2, 2, 8, 0, 1)) == 1
    cases = coaching_cases()
    assert [c.unique_key for c in cases] == ["one_star_coaching:HD-E1-002:2027-01",
                                             "one_star_coaching:HD-E2-001:2027-01"]
    assert all(c.started_by_id is None and c.customer_id == get_customer(c.start_data["customer_code"]).id
               for c in cases)
    first, second = (open_tasks(c)["coach_customer"] for c in cases)
    assert (first.assignee.username, first.form_key) == ("rep_e1", "one_star_coaching")
    assert second.assignee.username == "rep_e2"
    told = db.session.scalars(select(Notification).where(Notification.task_id == first.id)).all()
    assert [(n.user_id, n.kind) for n in told] == [(get_user("rep_e1").id, "task_assigned")]
    # Five working days on China's calendar: the Spring Festival (5–10 February 2027) does not count.
    assert first.due_at == at(2027, 2, 15, 8, 0, 1)

    # Never twice: not by the next firings, not by hand; and only a final one-star rating is coached.
    assert fire_due(engine, at(2027, 2, 3, 8, 0, 1)) == 1
    assert len(coaching_cases()) == 2
    with pytest.raises(Conflict):
        opened_by_hand(engine)
    with pytest.raises(InvalidData) as refused:
        opened_by_hand(engine, "HD-E1-001")  # two stars
    assert "month" in refused.value.fields
    with pytest.raises(InvalidData):
        opened_by_hand(engine, "HD-E1-002", "2026-12")  # not rated that month
    # The same through the API: a process administrator's, no one else's.
    path = f"/processes/{coaching.PROCESS_KEY}/instances"
    two_stars = api.post(path, "admin", {"data": {"customer_id": get_customer("HD-E1-001").id, "month": "2027-01"}})
    assert two_stars.status_code == 400 and "month" in two_stars.get_json()["error"]["fields"]
    again = api.post(path, "admin", {"data": {"customer_id": get_customer("HD-E1-002").id, "month": "2027-01"}})
    assert again.status_code == 409 and "HD-E1-002" in again.get_json()["error"]["message"]
    assert api.post(path, "rep_e1", {"data": {"customer_id": get_customer("HD-E1-002").id,
                                              "month": "2027-01"}}).status_code == 403

    # Overdue: the rep is reminded once.
    fire_due(engine, at(2027, 2, 15, 8, 0, 2))
    reminders = db.session.scalars(select(Event).where(Event.instance_id == cases[0].id,
                                                       Event.type == "reminder_sent")).all()
    assert [[t["task_id"] for t in r.data["tasks"]] for r in reminders] == [[first.id]]


def test_a_rating_not_yet_final_opens_nothing_and_is_coached_the_day_after_it_is(engine):
    clock.set(at(2027, 2, 1, 9, 0))
    deploy_with_schedule(engine)
    instance = engine.cases.start("star_rating", get_user("admin"), {"branch": "east", "month": "2027-01"})
    suggested = [{"customer_id": row.customer_id, "stars": 1, "reason": ""}
                 for row in db.session.scalars(select(StarRating).where(StarRating.instance_id == instance.id))]
    act(engine, instance, "initial_rating", "spec_east", {"ratings": suggested})  # HQ has not approved yet
    fire_due(engine, at(2027, 2, 3, 8, 0, 1))
    assert coaching_cases() == []
    clock.set(at(2027, 2, 3, 10, 0))
    act(engine, instance, "hq_review", "hq_mkt", {"decision": "approve"})
    act(engine, instance, "inform_customers", "spec_east", {"informed": True})
    fire_due(engine, at(2027, 2, 4, 8, 0, 1))
    assert len(coaching_cases()) == 5  # every east customer was left at one star


def test_the_rep_coaches_and_follows_up_next_month_with_the_next_stars_shown(engine, api):
    rate(engine, "2027-01", JANUARY, at(2027, 2, 1, 9, 0))
    clock.set(at(2027, 2, 3, 9, 0))
    case = opened_by_hand(engine)
    task = open_tasks(case)["coach_customer"]
    customer = get_customer("HD-E1-002")

    # The rep sees his task through the API; another territory's rep neither sees nor completes it.
    shown = api.get(f"/tasks/{task.id}", "rep_e1")
    assert shown.status_code == 200
    body = shown.get_json()
    assert {f["name"] for f in body["fields"]} == {"explained", "commitments", "follow_up_on"}
    assert body["context"]["month"] == "2027-01" and body["context"]["stars"] == 1
    assert (body["context"]["follow_up_from"], body["context"]["follow_up_until"]) == ("2027-03-01", "2027-03-31")
    assert api.get(f"/tasks/{task.id}", "rep_e2").status_code == 403
    assert api.post(f"/tasks/{task.id}/complete", "rep_e2", {"data": GOOD_COACHING}).status_code == 403
    with pytest.raises(Forbidden):
        current_app.extensions["policy"].visible_task(get_user("rep_e2"), task.id)
    assert {t.id for t in _inbox("rep_e1")} >= {task.id}
    assert task.id not in {t.id for t in _inbox("rep_e2")}

    # Bad input is refused field by field, and nothing is filed.
    empty = api.post(f"/tasks/{task.id}/complete", "rep_e1",
                     {"data": {"explained": "  ", "commitments": "", "follow_up_on": "2027-02-20"}})
    assert empty.status_code == 400
    assert set(empty.get_json()["error"]["fields"]) == {"explained", "commitments", "follow_up_on"}
    for day in ("2027-04-01", "2027-02-28", "next month"):
        wrong_day = api.post(f"/tasks/{task.id}/complete", "rep_e1", {"data": {**GOOD_COACHING, "follow_up_on": day}})
        assert wrong_day.status_code == 400 and set(wrong_day.get_json()["error"]["fields"]) == {"follow_up_on"}, day
    too_long = api.post(f"/tasks/{task.id}/complete", "rep_e1", {"data": {**GOOD_COACHING, "explained": "长" * 2001}})
    assert too_long.status_code == 400 and "explained" in too_long.get_json()["error"]["fields"]
    assert coaching.of_customer(customer.id) == []

    done = api.post(f"/tasks/{task.id}/complete", "rep_e1", {"data": GOOD_COACHING})
    assert done.status_code == 200, done.get_json()
    (record,) = coaching.of_customer(customer.id)
    assert (record.month, record.rep.username, record.commitments, str(record.follow_up_on), record.kept) == (
        "2027-01", "rep_e1", "二月起每月固定提货 120 吨，改为月结", "2027-03-10", None)
    assert open_tasks(case) == {}  # waiting for the follow-up day

    # February is rated meanwhile: two stars. The follow-up comes on 10 March, not before.
    rate(engine, "2027-02", {"HD-E1-002": 2}, at(2027, 3, 1, 9, 0))
    assert fire_due(engine, at(2027, 3, 9, 23, 59)) == 0
    assert fire_due(engine, at(2027, 3, 10, 0, 0, 1)) == 1
    follow_up = open_tasks(case)["follow_up"]
    api.tokens.clear()  # a month later: the tokens of February have expired
    assert (follow_up.assignee.username, follow_up.form_key) == ("rep_e1", "one_star_follow_up")
    assert follow_up.due_at == at(2027, 3, 15, 0, 0, 1)  # three working days (Wednesday to Monday)
    detail = api.get(f"/tasks/{follow_up.id}", "rep_e1").get_json()
    assert detail["context"]["stars"] == {"month": "2027-01", "stars": 1, "next_month": "2027-02", "next_stars": 2,
                                          "next_final": True, "next_proposed_stars": None}
    assert detail["context"]["coaching"]["commitments"] == GOOD_COACHING["commitments"]
    kept = next(f for f in detail["fields"] if f["name"] == "kept")
    assert [c["value"] for c in kept["choices"]] == ["kept", "partly", "not_kept"] and kept["required"]
    assert api.get(f"/tasks/{follow_up.id}", "rep_e2").status_code == 403

    refused = api.post(f"/tasks/{follow_up.id}/complete", "rep_e1", {"data": {"kept": "maybe", "note": ""}})
    assert refused.status_code == 400 and set(refused.get_json()["error"]["fields"]) == {"kept", "note"}
    assert api.post(f"/tasks/{follow_up.id}/complete", "rep_e2",
                    {"data": {"kept": "kept", "note": "x"}}).status_code == 403
    finished = api.post(f"/tasks/{follow_up.id}/complete", "rep_e1",
                        {"data": {"kept": "kept", "note": "二月提货 130 吨，已改月结，评为二星"}})
    assert finished.status_code == 200, finished.get_json()
    db.session.expire_all()
    instance = db.session.get(Instance, case.id)
    assert (instance.status, instance.outcome) == (COMPLETED, "followed_up")
    (record,) = coaching.of_customer(customer.id)
    assert (record.kept, record.next_month, record.next_stars, record.followed_up_by.username) == (
        "kept", "2027-02", 2, "rep_e1")
    assert record.instance_id == case.id


def test_a_follow_up_before_the_next_rating_is_final_says_so(engine, api):
    rate(engine, "2027-01", JANUARY, at(2027, 2, 1, 9, 0))
    clock.set(at(2027, 2, 3, 9, 0))
    case = opened_by_hand(engine, "HD-E2-001")
    engine.cases.complete(open_tasks(case)["coach_customer"].id, get_user("rep_e2"),
                          {**GOOD_COACHING, "follow_up_on": "2027-03-02"})
    # The February rating is open, the branch has proposed two stars, HQ has not approved them.
    clock.set(at(2027, 3, 1, 9, 0))
    february = engine.cases.start("star_rating", get_user("admin"), {"branch": "east", "month": "2027-02"})
    act(engine, february, "initial_rating", "spec_east", {"ratings": [
        {"customer_id": row.customer_id, "stars": 2 if row.customer.code == "HD-E2-001" else 1,
         "reason": "按实际合作情况" if row.customer.code == "HD-E2-001" else ""}
        for row in db.session.scalars(select(StarRating).where(StarRating.instance_id == february.id))]})
    fire_due(engine, at(2027, 3, 2, 0, 0, 1))
    follow_up = open_tasks(case)["follow_up"]
    api.tokens.clear()
    detail = api.get(f"/tasks/{follow_up.id}", "rep_e2").get_json()
    assert detail["context"]["stars"]["next_final"] is False
    assert detail["context"]["stars"]["next_proposed_stars"] == 2
    done = api.post(f"/tasks/{follow_up.id}/complete", "rep_e2", {"data": {"kept": "partly", "note": "二月提货 60 吨"}})
    assert done.status_code == 200, done.get_json()
    (record,) = coaching.of_customer(get_customer("HD-E2-001").id)
    assert (record.kept, record.next_month, record.next_stars) == ("partly", "2027-02", None)


def test_the_pages_show_the_forms_and_the_dossier_shows_the_coaching(engine, pages):
    rate(engine, "2027-01", JANUARY, at(2027, 2, 1, 9, 0))
    clock.set(at(2027, 2, 3, 9, 0))
    case = opened_by_hand(engine)
    task = open_tasks(case)["coach_customer"]
    customer = get_customer("HD-E1-002")
    pages.login("rep_e1")
    page = pages.client.get(f"/tasks/{task.id}").get_data(as_text=True)
    assert 'name="explained"' in page and 'name="follow_up_on"' in page and "2027-03-31" in page
    refused = pages.submit(f"/tasks/{task.id}", {**GOOD_COACHING, "follow_up_on": "2027-02-20"})
    assert refused.status_code == 400 and open_tasks(case)["coach_customer"].id == task.id
    assert "2027-03-01" in refused.get_data(as_text=True)  # the field's error names next month's days
    pages.submit(f"/tasks/{task.id}", GOOD_COACHING)
    assert "coach_customer" not in open_tasks(case)

    dossier = pages.client.get(f"/customers/{customer.id}").get_data(as_text=True)
    assert 'data-testid="one-star-coaching"' in dossier
    assert GOOD_COACHING["commitments"] in dossier and "2027-03-10" in dossier
    other = pages.client.get(f"/customers/{get_customer('HD-E1-001').id}").get_data(as_text=True)
    assert 'data-testid="one-star-coaching"' not in other  # never coached: no section

    rate(engine, "2027-02", {"HD-E1-002": 2}, at(2027, 3, 1, 9, 0))
    fire_due(engine, at(2027, 3, 10, 0, 0, 1))
    follow_up = open_tasks(case)["follow_up"]
    page = pages.client.get(f"/tasks/{follow_up.id}").get_data(as_text=True)
    assert 'name="kept"' in page and GOOD_COACHING["commitments"] in page and "★★" in page
    pages.submit(f"/tasks/{follow_up.id}", {"kept": "kept", "note": "二月提货 130 吨"})
    db.session.expire_all()
    assert db.session.get(Instance, case.id).status == COMPLETED
    dossier = pages.client.get(f"/customers/{customer.id}").get_data(as_text=True)
    assert "二月提货 130 吨" in dossier and "★★" in dossier



def _inbox(username):
    from app.engine.queries import inbox_page
    return inbox_page(get_user(username), 1, 50).items
