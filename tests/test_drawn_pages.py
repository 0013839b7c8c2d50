"""The pages of a drawn form (issue 21, step 3), through Flask's test client: the new-request page and the
task page render the viewer's container with the schema (choices offered to the reader filled in), post
`drawn_data` (the viewer's JSON) through the same check as the API, keep what was typed on a refusal with
the errors by field, refuse bad JSON and forged keys without a 500, and show the filed data by labels.
The browser side is tests/test_browser_drawn_forms.py."""
from __future__ import annotations

import html
import json
import re
import shutil
from pathlib import Path

import pytest
from sqlalchemy import select

from app import db
from app.engine.models import OPEN, Instance, Task

HERE = Path(__file__).resolve().parent / "processes"
KEY = "sample_request"
NEW = f"/requests/new/{KEY}"
REQUEST = {"customer": "HD-E1-001", "product": "diesel_0", "quantity": 20, "reason": "客户试用新品"}


def deploy_sample(engine, directory: Path):
    """The sample request (样品申请) with its two drawn forms, deployed from a directory of its own."""
    for name in ("sample_request.bpmn", "sample_request.form", "sample_decision.form"):
        shutil.copy(HERE / name, directory / name)
    (created,) = engine.deployment.deploy_directory(directory)
    db.session.commit()
    return created


@pytest.fixture
def drawn(app, tmp_path):
    """Deployed in an app context of its own: the test client's requests, of two people, must not share one."""
    with app.app_context():
        deploy_sample(app.extensions["engine"], tmp_path)


def scalar(app, query):
    with app.app_context():
        return db.session.scalar(query)


def signed_in(app, username: str):
    from conftest import Browser
    browser = Browser(app)
    browser.login(username)
    return browser


def embedded(page: str, name: str):
    """The JSON a page gives the viewer (`drawn-schema`, `drawn-initial`, `drawn-errors`)."""
    match = re.search(rf'<script type="application/json" id="{name}">(.*?)</script>', page, re.S)
    assert match, name
    return json.loads(html.unescape(match.group(1)))


def test_the_new_request_page_gives_the_viewer_the_schema_with_the_reps_customers(app, drawn):
    rep = signed_in(app, "rep_e1")
    assert KEY in rep.client.get("/requests/new").get_data(as_text=True)
    page = rep.client.get(NEW)
    assert page.status_code == 200
    text = page.get_data(as_text=True)
    assert 'data-drawn-form' in text and 'name="drawn_data"' in text and "build/drawn-form.js" in text
    schema = embedded(text, "drawn-schema")
    customer = next(c for c in schema["components"] if c.get("key") == "customer")
    offered = [value["value"] for value in customer["values"]]
    assert "HD-E1-001" in offered and "HD-E2-001" not in offered  # his territory's only
    assert embedded(text, "drawn-initial") == {} and embedded(text, "drawn-errors") == {}


def test_bad_json_is_a_form_error_not_a_500(app, drawn):
    rep = signed_in(app, "rep_e1")
    for posted in ("{not json", "", "[1, 2]", "null"):
        page = rep.submit(NEW, {"drawn_data": posted})
        assert page.status_code == 400, posted
        assert "error-summary" in page.get_data(as_text=True)
    assert scalar(app, select(Instance.id)) is None


def test_a_refusal_keeps_what_was_typed_and_places_the_errors_by_field(app, drawn):
    rep = signed_in(app, "rep_e1")
    page = rep.submit(NEW, {"drawn_data": json.dumps({**REQUEST, "quantity": 5000})})
    assert page.status_code == 400
    text = page.get_data(as_text=True)
    assert embedded(text, "drawn-initial")["reason"] == "客户试用新品"
    errors = embedded(text, "drawn-errors")
    assert list(errors) == ["Field_quantity"]
    assert "数量（升）" in text  # the summary names the field by its label
    assert scalar(app, select(Instance.id)) is None


def test_a_forged_key_and_a_customer_not_his_are_not_kept(app, drawn):
    rep = signed_in(app, "rep_e1")
    refused = rep.submit(NEW, {"drawn_data": json.dumps({**REQUEST, "customer": "HD-E2-001"})})
    assert refused.status_code == 400 and list(embedded(refused.get_data(as_text=True), "drawn-errors")) == ["Field_customer"]
    filed = rep.submit(NEW, {"drawn_data": json.dumps({**REQUEST, "initiator_id": 1, "approved": True})})
    assert filed.status_code == 302
    start_data = scalar(app, select(Instance.start_data))
    assert "approved" not in start_data and "initiator_id" not in start_data and start_data["quantity"] == 20


def test_the_approver_decides_on_the_task_page_and_the_case_shows_the_labels(app, drawn):
    rep = signed_in(app, "rep_e1")
    assert rep.submit(NEW, {"drawn_data": json.dumps(REQUEST)}).status_code == 302
    task_id = scalar(app, select(Task.id).where(Task.spec_id == "approve", Task.state == OPEN))
    approver = signed_in(app, "deputy_gm")
    url = f"/tasks/{task_id}"
    text = approver.client.get(url).get_data(as_text=True)
    assert embedded(text, "drawn-schema")["id"] == "sample_decision"
    assert "0号柴油" in text and "数量（升）" in text  # the request, by its labels
    bad = approver.submit(url, {"drawn_data": "{"})
    assert bad.status_code == 400
    wrong = approver.submit(url, {"drawn_data": json.dumps({"decision": "maybe", "comment": "再议"})})
    assert wrong.status_code == 400
    assert embedded(wrong.get_data(as_text=True), "drawn-initial")["comment"] == "再议"
    done = approver.submit(url, {"drawn_data": json.dumps({"decision": "approve", "comment": "同意试用"})})
    assert done.status_code == 302
    case = approver.client.get(f"/cases/{scalar(app, select(Instance.id))}").get_data(as_text=True)
    assert "0号柴油" in case and "客户" in case and "diesel_0" not in case


@pytest.fixture
def with_photo(app, tmp_path):
    """The sample request whose form asks for a photo (a required filepicker)."""
    for name in ("sample_request.bpmn", "sample_decision.form"):
        shutil.copy(HERE / name, tmp_path / name)
    form = json.loads((HERE / "sample_request.form").read_text(encoding="utf-8"))
    form["components"].append({"type": "filepicker", "id": "Field_photo", "key": "photo", "label": "照片",
                               "validate": {"required": True}})
    (tmp_path / "sample_request.form").write_text(json.dumps(form, ensure_ascii=False), encoding="utf-8")
    with app.app_context():
        app.extensions["engine"].deployment.deploy_directory(tmp_path)
        db.session.commit()


def test_a_filepickers_files_are_the_cases_attachments(app, with_photo):
    from io import BytesIO

    from app.engine.attachments import Attachment
    rep = signed_in(app, "rep_e1")
    data = json.dumps({**REQUEST, "photo": "files::abc"})
    missing = rep.submit(NEW, {"drawn_data": data})
    assert missing.status_code == 400
    assert embedded(missing.get_data(as_text=True), "drawn-errors") == {"Field_photo": ["请选择要上传的文件。"]}
    empty = rep.client.post(NEW, data={"drawn_data": data, "csrf_token": rep.csrf(NEW),
                                       "drawn_files-photo": (BytesIO(b""), "空.png")})
    assert empty.status_code == 400 and "空文件" in "".join(embedded(empty.get_data(as_text=True), "drawn-errors")["Field_photo"])
    filed = rep.client.post(NEW, data={"drawn_data": data, "csrf_token": rep.csrf(NEW),
                                       "drawn_files-photo": (BytesIO(b"%PDF-1.4 sample"), "样品.pdf")})
    assert filed.status_code == 302
    assert scalar(app, select(Attachment.filename)) == "样品.pdf"
    assert "photo" not in scalar(app, select(Instance.start_data))
