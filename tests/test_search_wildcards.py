"""Searches take "%" and "_" literally (security review, issue 15): `customer=%` used to find every
case the caller may see. The case search (API and compliance pages share it) by customer name and by
words in comments, and the customer list."""
import re
from datetime import UTC, datetime, timedelta

import pytest
from conftest import get_customer, get_user
from sqlalchemy import select

from app import db
from app.calendar import clock
from app.engine.models import Instance, Task

PROCESS = "dossier_borrowing"
T0 = datetime(2026, 3, 2, 1, 0, tzinfo=UTC)
# Two demo customers renamed for these tests (and named back after them).
NAMES = {"HD-E1-001": "浦江100%石化贸易", "HD-E1-002": "申通_物流运输"}


@pytest.fixture
def renamed(ctx):
    customers = {code: get_customer(code) for code in NAMES}
    before = {code: customer.name for code, customer in customers.items()}
    for code, customer in customers.items():
        customer.name = NAMES[code]
    db.session.commit()
    yield customers
    db.session.rollback()
    for code, name in before.items():
        get_customer(code).name = name
    db.session.commit()


def borrow(engine, username: str, code: str) -> Instance:
    return engine.cases.start(PROCESS, get_user(username), {"customer_id": get_customer(code).id,
                                                           "purpose": "季度拜访准备", "days": 5})


def decide(engine, instance: Instance, username: str, comment: str) -> None:
    db.session.expire_all()
    task = db.session.scalar(select(Task).where(Task.instance_id == instance.id, Task.state == "open"))
    user = get_user(username)
    if task.assignee_id is None:
        engine.cases.claim(task.id, user)
    engine.cases.complete(task.id, user, {"decision": "approve", "comment": comment})


@pytest.fixture
def cases(renamed, engine):
    """percent: on 浦江100%石化贸易, commented "折扣不超过 5%"; underscore: on 申通_物流运输, commented
    "见附件_2"; plain: on a customer with neither, commented "同意"."""
    clock.set(T0)
    percent = borrow(engine, "rep_e2", "HD-E1-001")
    decide(engine, percent, "rep_e1", "同意，折扣不超过 5%")
    clock.set(T0 + timedelta(days=1))
    underscore = borrow(engine, "rep_n1", "HD-E1-002")
    decide(engine, underscore, "rep_e1", "同意，见附件_2")
    clock.set(T0 + timedelta(days=2))
    plain = borrow(engine, "rep_e1", "HB-N1-001")
    decide(engine, plain, "rep_n1", "同意")
    clock.set(T0 + timedelta(days=3))
    return {"percent": percent.id, "underscore": underscore.id, "plain": plain.id}


def found(api, query: str) -> set[int]:
    response = api.get(f"/instances?{query}", "auditor")  # a compliance reviewer sees every case
    assert response.status_code == 200, response.get_json()
    return {item["id"] for item in response.get_json()["items"]}


def test_every_case_is_there_to_be_found(api, cases):
    assert found(api, "") >= set(cases.values())


def test_percent_and_underscore_in_a_customer_name_match_only_themselves(api, cases):
    assert found(api, "customer=%25") == {cases["percent"]}
    assert found(api, "customer=_") == {cases["underscore"]}
    assert found(api, "customer=100%25") == {cases["percent"]}
    assert found(api, "customer=1_0") == set()  # "_" is no single-character wildcard
    assert found(api, "customer=%25贸易") == set()  # "%" is no run of characters either
    assert found(api, "customer=申通_物流") == {cases["underscore"]}
    assert found(api, "customer=HB-N1-001") == {cases["plain"]}  # a code still finds its cases


def test_percent_and_underscore_in_comments_match_only_themselves(api, cases):
    assert found(api, "words=%25") == {cases["percent"]}
    assert found(api, "words=_") == {cases["underscore"]}
    assert found(api, "words=5%25") == {cases["percent"]}
    assert found(api, "words=附件_2") == {cases["underscore"]}
    assert found(api, "words=同_") == set()
    assert found(api, "words=同意") == set(cases.values())


def test_the_compliance_page_takes_them_literally_too(pages, cases):
    pages.login("auditor")
    page = pages.client.get("/compliance/cases?customer=%25").get_data(as_text=True)
    assert f'href="/compliance/cases/{cases["percent"]}"' in page
    assert f'href="/compliance/cases/{cases["underscore"]}"' not in page
    assert f'href="/compliance/cases/{cases["plain"]}"' not in page


def listed(pages, needle: str) -> set[str]:
    response = pages.client.get("/customers", query_string={"q": needle})
    assert response.status_code == 200
    table = response.get_data(as_text=True).split('data-testid="customers"', 1)[1]
    return set(re.findall(r"<td class=\"code\">([A-Z]{2}-[A-Z]\d-\d{3})</td>", table))


def test_the_customer_list_takes_percent_and_underscore_literally(pages, renamed):
    pages.login("rep_e1")
    assert len(listed(pages, "")) >= 7
    assert listed(pages, "%") == {"HD-E1-001"}
    assert listed(pages, "_") == {"HD-E1-002"}
    assert listed(pages, "100%") == {"HD-E1-001"}
    assert listed(pages, "申通_") == {"HD-E1-002"}
    assert listed(pages, "HD-E1-00_") == set()
    assert listed(pages, "HD-E1") >= {"HD-E1-001", "HD-E1-002"}
