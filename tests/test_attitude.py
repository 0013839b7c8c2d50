"""The rep's judgement of a customer's attitude (seed 002): loyal, switching or no loyalty, with his reason,
kept with the day as the customer's class history, on a page of the dossier and through the API; nobody
else judges it."""
from __future__ import annotations

from datetime import datetime

from conftest import get_customer
from sqlalchemy import select

from app import db
from app.calendar import COMPANY_TZ, clock
from app.domain import classes
from app.domain.classes import CustomerClass

E1 = "HD-E1-001"


def attitudes(code: str) -> list[tuple]:
    db.session.expire_all()
    return [(row.value, row.previous, row.figures["reason"], row.set_by.username) for row in db.session.scalars(
        select(CustomerClass).where(CustomerClass.customer_id == get_customer(code).id,
                                    CustomerClass.kind == classes.ATTITUDE).order_by(CustomerClass.id))]


def test_the_rep_judges_on_the_page_and_a_change_is_a_new_row(pages, ctx):
    customer = get_customer(E1)
    clock.set(datetime(2026, 11, 20, 10, 0, tzinfo=COMPANY_TZ))
    pages.login("rep_e1")
    assert 'data-testid="judge-attitude"' in pages.client.get(f"/customers/{customer.id}").get_data(as_text=True)
    url = f"/customers/{customer.id}/attitude"
    missing = pages.submit(url, {"attitude": "loyal", "reason": ""})
    assert missing.status_code == 400 and attitudes(E1) == []
    assert pages.submit(url, {"attitude": "loyal", "reason": "只在我司购油"}).status_code == 302
    assert pages.submit(url, {"attitude": "loyal", "reason": "价格上涨后仍在我司购油"}).status_code == 302
    assert attitudes(E1) == [("loyal", None, "只在我司购油", "rep_e1")]  # the same judgement confirms it
    row = classes.current_classes(customer.id)[classes.ATTITUDE]
    assert row.latest_figures == {"reason": "价格上涨后仍在我司购油", "as_of": "2026-11-20"}
    assert pages.submit(url, {"attitude": "switching", "reason": "本月两单转向中石化"}).status_code == 302
    assert attitudes(E1)[-1] == ("switching", "loyal", "本月两单转向中石化", "rep_e1")
    page = pages.client.get(url).get_data(as_text=True)
    assert 'data-testid="current-attitude"' in page and "2026-11-20" in page
    assert "本月两单转向中石化" in pages.client.get(f"/customers/{customer.id}").get_data(as_text=True)
    listed = pages.client.get("/customers?attitude=switching").get_data(as_text=True)
    assert E1 in listed and "HD-E1-002" not in listed


def test_nobody_but_the_territory_rep_judges(pages, api, ctx):
    customer = get_customer(E1)
    pages.login("rep_e2")
    assert pages.client.get(f"/customers/{customer.id}/attitude").status_code == 403
    pages.client.post("/logout", data={"csrf_token": pages.csrf("/inbox")})
    pages.login("spec_east")
    assert pages.client.get(f"/customers/{customer.id}/attitude").status_code == 403
    body = {"attitude": "loyal", "reason": "无"}
    assert api.post(f"/customers/{customer.id}/attitude", "rep_n1", body).status_code == 403
    assert api.post(f"/customers/{customer.id}/attitude", "auditor", body).status_code == 403
    assert attitudes(E1) == []


def test_the_api_judges_and_refuses_an_unknown_attitude(api, ctx):
    customer = get_customer(E1)
    unknown = api.post(f"/customers/{customer.id}/attitude", "rep_e1", {"attitude": "fickle", "reason": "无"})
    assert unknown.status_code == 400 and "attitude" in unknown.get_json()["error"]["fields"]
    first = api.post(f"/customers/{customer.id}/attitude", "rep_e1", {"attitude": "no_loyalty", "reason": "哪家便宜买哪家"})
    assert first.status_code == 200 and first.get_json()["previous"] is None
    moved = api.post(f"/customers/{customer.id}/attitude", "rep_e1", {"attitude": "loyal", "reason": "签了年度协议"})
    assert moved.get_json() == {"attitude": "loyal", "previous": "no_loyalty", "reason": "签了年度协议",
                                "as_of": moved.get_json()["as_of"]}
    dossier = api.get(f"/customers/{customer.id}", "rep_e1").get_json()
    assert dossier["classes"]["attitude"]["value"] == "loyal"
