"""The compliance search over the audit trail (GET /api/v1/events): filters, order, paging, who may."""
from __future__ import annotations

from datetime import UTC, datetime, timedelta
from urllib.parse import urlencode

import pytest
from conftest import get_customer, get_user
from sqlalchemy import func, select

from app import db
from app.calendar import clock
from app.engine.models import Event

PROCESS = "dossier_borrowing"
T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
CST = "+08:00"


def at(api, moment: datetime) -> None:
    """Move the application clock; tokens issued earlier may have expired, so sign in afresh."""
    clock.set(moment)
    api.tokens.clear()


def start(api, user: str, customer_code: str) -> dict:
    with api.client.application.app_context():
        customer_id = get_customer(customer_code).id
    response = api.post(f"/processes/{PROCESS}/instances", user,
                        {"data": {"customer_id": customer_id, "purpose": "核对年度合同", "days": 5}})
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def consent(api, user: str, instance: dict) -> None:
    task = api.get(f"/instances/{instance['id']}", instance["started_by"]).get_json()["tasks"][0]
    if task["assignee"] is None:
        assert api.post(f"/tasks/{task['id']}/claim", user).status_code == 200
    response = api.post(f"/tasks/{task['id']}/complete", user, {"data": {"decision": "approve", "comment": "同意"}})
    assert response.status_code == 200, response.get_json()


def search(api, as_user: str = "auditor", **params):
    return api.get(f"/events?{urlencode(params)}", as_user)


def found(api, **params) -> dict:
    response = search(api, **params)
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def trail(api, instance: dict) -> list[dict]:
    return api.get(f"/instances/{instance['id']}/events", "auditor").get_json()


@pytest.fixture
def two_cases(api):
    """Case A (rep_e2 asks for an E1 dossier on 2 March, rep_e1 consents an hour later) and
    case B (rep_n1 asks for an E2 dossier on 15 April, nobody has acted yet)."""
    at(api, T0)
    first = start(api, "rep_e2", "HD-E1-001")
    at(api, T0 + timedelta(hours=1))
    consent(api, "rep_e1", first)
    at(api, datetime(2026, 4, 15, 2, 0, tzinfo=UTC))
    second = start(api, "rep_n1", "HD-E2-001")
    return first, second


def test_everything_newest_first_with_totals_and_pages(api, two_cases):
    first, second = two_cases
    everything = trail(api, first) + trail(api, second)

    result = found(api)

    assert result["total"] == len(everything) == len(result["items"])
    assert result["page"] == 1 and result["pages"] == 1
    moments = [(datetime.fromisoformat(e["at"]), e["id"]) for e in result["items"]]
    assert moments == sorted(moments, reverse=True)
    assert {e["id"] for e in result["items"]} == {e["id"] for e in everything}
    assert set(result["items"][0]) == {"id", "type", "actor", "at", "task", "data"}


def test_filters_by_actor_name_or_id_type_instance_and_process(api, app, two_cases):
    first, second = two_cases
    by_rep_e1 = [e for e in trail(api, first) if e["actor"] == "rep_e1"]
    assert len(by_rep_e1) == 2  # task_completed, task_created

    result = found(api, actor="rep_e1")
    assert [e["id"] for e in result["items"]] == [e["id"] for e in reversed(by_rep_e1)]
    with app.app_context():
        rep_e1_id = get_user("rep_e1").id
    assert found(api, actor=rep_e1_id)["items"] == result["items"]
    assert found(api, actor="nobody_by_that_name")["total"] == 0

    started = found(api, type="instance_started")
    assert [e["actor"] for e in started["items"]] == ["rep_n1", "rep_e2"]

    only_second = found(api, instance=second["id"])
    assert {e["id"] for e in only_second["items"]} == {e["id"] for e in trail(api, second)}

    assert found(api, process_key=PROCESS)["total"] == found(api)["total"]
    assert found(api, process_key="no_such_process")["total"] == 0
    combined = found(api, actor="rep_e2", type="task_created", process_key=PROCESS)
    assert [(e["type"], e["actor"]) for e in combined["items"]] == [("task_created", "rep_e2")]


def test_time_range_since_inclusive_until_exclusive_with_any_offset(api, two_cases):
    first, second = two_cases
    first_ids = {e["id"] for e in trail(api, first)}

    march = found(api, since=f"2026-03-01T00:00:00{CST}", until=f"2026-04-01T00:00:00{CST}")
    assert {e["id"] for e in march["items"]} == first_ids
    # 15 April 02:00 UTC is 10:00 in Shanghai: the same instant in another offset is the same bound.
    assert found(api, since="2026-04-15T10:00:00+08:00")["total"] == len(trail(api, second))
    assert found(api, since="2026-04-15T02:00:00Z")["total"] == len(trail(api, second))
    assert found(api, until="2026-04-15T10:00:00+08:00")["total"] == len(first_ids)
    # An unencoded "+" arrives as a space; it still means the offset. A space may part date and time.
    response = api.get("/events?since=2026-04-15T10:00:00+08:00", "auditor")
    assert response.get_json()["total"] == len(trail(api, second))
    assert found(api, since="2026-04-15 10:00:00+08:00")["total"] == len(trail(api, second))
    one_hour = found(api, since=T0.isoformat(), until=(T0 + timedelta(hours=1)).isoformat())
    assert {e["type"] for e in one_hour["items"]} == {"instance_started", "task_created"}


def test_paging(api, two_cases):
    total = found(api)["total"]
    pages = [found(api, per_page=2, page=n) for n in range(1, (total + 1) // 2 + 2)]

    assert all(p["pages"] == (total + 1) // 2 and p["total"] == total for p in pages)
    assert [len(p["items"]) for p in pages[:-1]] == [2] * (total // 2) + ([1] if total % 2 else [])
    assert pages[-1]["items"] == []
    assert [e["id"] for p in pages for e in p["items"]] == [e["id"] for e in found(api)["items"]]
    assert len(found(api, per_page=5000)["items"]) == total  # capped at 200, which is more than enough here


@pytest.mark.parametrize("user", ["rep_e1", "biz_east", "mgr_east"])
def test_only_compliance_reviewers_may_search(api, two_cases, user):
    response = search(api, as_user=user)

    assert response.status_code == 403
    error = response.get_json()["error"]
    assert error["code"] == "forbidden"
    assert error["message"] == "只有合规审查人员可以进行此操作。"


def test_process_administrators_search_the_trail_as_on_the_compliance_pages(api, two_cases):
    """The API's audit search admits whom the compliance pages admit: reviewers and administrators."""
    assert found(api, as_user="admin")["total"] == found(api)["total"] > 0


@pytest.mark.parametrize("params, field", [
    ({"since": "yesterday"}, "since"),
    ({"since": "2026-03-01"}, "since"),  # no offset
    ({"until": "2026-03-01T00:00:00"}, "until"),  # no offset
    ({"until": "2026-13-01T00:00:00+08:00"}, "until"),
    ({"since": "2026-03-02T00:00:00Z", "until": "2026-03-01T00:00:00Z"}, "until"),
    ({"instance": "abc"}, "instance"),
    ({"per_page": "many"}, "per_page"),
])
def test_bad_parameters_are_a_400_naming_the_field(api, params, field):
    response = search(api, **params)

    assert response.status_code == 400
    error = response.get_json()["error"]
    assert error["code"] == "invalid"
    assert list(error["fields"]) == [field]
    assert error["fields"][field][0]  # translated, not empty


def test_dates_need_an_offset_message_is_translated(api):
    error = search(api, since="2026-03-01").get_json()["error"]
    assert error["message"] == "部分检索条件无效。"
    assert "ISO 8601" in error["fields"]["since"][0] and "+08:00" in error["fields"]["since"][0]


def test_the_search_leaves_no_trace(api, app, two_cases):
    """Searching is reading: nothing is written to the trail."""
    with app.app_context():
        before = db.session.scalar(select(func.count()).select_from(Event))
    found(api, actor="rep_e1")
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Event)) == before
