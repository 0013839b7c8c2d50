"""Drawn forms deploy with the process version (issue 21, step 2): a step names a form drawn with form-js by
`camunda:formKey="camunda-forms:deployment:<form id>"`, the forms deploy with the BPMN like DMN tables (from
.form files beside it, or in the admin JSON endpoints' `forms`), the deploy refuses a form that is not given,
a schema that cannot be deployed and a condition naming a field no form has, and the API checks a start and
a completion against the schema of the case's own version. The real engine and the real BPMN of
tests/processes/sample_request.bpmn (样品申请, with sample_request.form and sample_decision.form)."""
from __future__ import annotations

import copy
import hashlib
import io
import json
import shutil
from functools import partial
from pathlib import Path

import pytest
from conftest import get_customer
from flask_migrate import downgrade, upgrade
from sqlalchemy import func, inspect, select

from app import db
from app.engine import definitions, validation
from app.engine.definitions import DefinitionError
from app.engine.models import OPEN, Event, Instance, ProcessDefinition, Task
from app.engine.plugins import Extensions

HERE = Path(__file__).resolve().parent / "processes"
KEY = "sample_request"
XML = (HERE / "sample_request.bpmn").read_text(encoding="utf-8")
REQUEST_FORM = json.loads((HERE / "sample_request.form").read_text(encoding="utf-8"))
DECISION_FORM = json.loads((HERE / "sample_decision.form").read_text(encoding="utf-8"))
FORMS = [REQUEST_FORM, DECISION_FORM]
REQUEST = {"customer": "HD-E2-001", "product": "diesel_0", "quantity": 20, "reason": "客户试用新品"}
REQUIRED = "此项为必填项。"
BEFORE_MIGRATION = "c9f1b3d5e909"


@pytest.fixture
def drawn(engine, tmp_path) -> ProcessDefinition:
    """The sample request deployed from a directory of its own, with its two forms and one it does not use."""
    for name in ("sample_request.bpmn", "sample_request.form", "sample_decision.form"):
        shutil.copy(HERE / name, tmp_path / name)
    (tmp_path / "unused.form").write_text(json.dumps({**DECISION_FORM, "id": "unused"}), encoding="utf-8")
    (created,) = engine.deployment.deploy_directory(tmp_path)
    return created


def edited(old: str, new: str, xml: str = XML) -> str:
    assert xml.count(old) == 1, old
    return xml.replace(old, new)


def decision_form(**changes) -> dict:
    """The decision form with its comment field changed."""
    form = copy.deepcopy(DECISION_FORM)
    form["components"][1].update(changes)
    return form


def post(admin, action: str, body: dict):
    return admin.client.post(f"/admin/processes/{KEY}/{action}", json=body,
                             headers={"X-CSRFToken": admin.csrf(f"/admin/processes/{KEY}")})


def versions() -> list[int]:
    db.session.expire_all()
    return [d.version for d in definitions.versions(KEY)]


def refused(admin, xml: str = XML, forms=FORMS) -> list[dict]:
    """The problems of a deploy from the modeler, with the same problems from its Validate; nothing stored."""
    before = versions()
    body = {"xml": xml, "change_note": "试试", **({"forms": forms} if forms is not None else {})}
    deployed = post(admin, "deploy", body)
    assert deployed.status_code == 400, deployed.get_data(as_text=True)[:500]
    assert versions() == before
    checked = post(admin, "check", body)
    assert checked.status_code == 200
    assert checked.get_json()["problems"] == deployed.get_json()["problems"]
    return deployed.get_json()["problems"]


def named(problems: list[dict], element, *words) -> bool:
    return any(p["element"] == element and all(word in p["message"] for word in words) for p in problems)


def open_task(instance_id: int) -> Task:
    db.session.expire_all()
    return db.session.scalar(select(Task).where(Task.instance_id == instance_id, Task.state == OPEN))


def instances() -> int:
    db.session.expire_all()
    return db.session.scalar(select(func.count(Instance.id)))


# -- deploying ------------------------------------------------------------------------------------------

def test_a_process_deploys_with_the_forms_it_names_and_only_those(drawn, engine, tmp_path):
    assert (drawn.key, drawn.version, drawn.start_form_key) == (KEY, 1, "camunda-forms:deployment:sample_request")
    assert drawn.form_schemas == {"sample_request": REQUEST_FORM, "sample_decision": DECISION_FORM}
    assert drawn.drawn_form("camunda-forms:deployment:sample_decision") == DECISION_FORM
    assert drawn.drawn_form("dossier_consent") is None  # a form of the code
    # The same document and forms create nothing; a changed form is a new version.
    assert engine.deployment.deploy_directory(tmp_path) == []
    (tmp_path / "sample_decision.form").write_text(json.dumps(decision_form(label="审批意见")), encoding="utf-8")
    (second,) = engine.deployment.deploy_directory(tmp_path)
    assert second.version == 2 and second.bpmn_xml == drawn.bpmn_xml
    assert second.form_schemas["sample_decision"]["components"][1]["label"] == "审批意见"
    assert second.content_hash != drawn.content_hash


def test_the_company_processes_keep_their_versions_and_deploy_as_before(app, engine):
    """All of processes/ deployed at the start of the session (with this check in place); a version without
    drawn forms hashes as before they existed, so that deploying processes/ again makes no new version."""
    assert engine.deployment.deploy_directory(app.config["PROCESSES_DIR"]) == []
    latest = definitions.latest_definitions()
    assert len(latest) >= 20
    for definition in latest:
        assert definition.form_schemas == {}, definition.key
        assert definition.content_hash == hashlib.sha256(
            "\n".join([definition.bpmn_xml, *(xml for _, xml in sorted(definition.dmn_xml.items()))]).encode()
        ).hexdigest(), definition.key


def test_the_modeler_deploys_a_document_with_its_forms(admin, drawn):
    changed = decision_form(label="审批意见", validate={"required": True, "maxLength": 500})
    forms = {"sample_request": REQUEST_FORM, "sample_decision": changed}  # an object by form id, too
    assert post(admin, "check", {"xml": XML, "forms": forms}).get_json() == {"problems": []}
    deployed = post(admin, "deploy", {"xml": XML, "forms": forms, "change_note": "意见必填"})
    assert deployed.status_code == 201, deployed.get_json()
    assert deployed.get_json()["version"] == 2
    latest = definitions.latest_definition(KEY)
    assert latest.form_schemas["sample_decision"] == changed and latest.change_note == "意见必填"
    # The same document and forms again: nothing changed.
    again = post(admin, "deploy", {"xml": XML, "forms": [REQUEST_FORM, changed], "change_note": "再来"})
    assert again.status_code == 400 and "nothing changed" in again.get_json()["problems"][0]["message"]
    # A body without forms keeps the forms of the version in force, as a decision table edit keeps its tables.
    renamed = edited('name="营销处审批"', 'name="营销处复核"')
    assert post(admin, "deploy", {"xml": renamed, "change_note": "改名"}).status_code == 201
    assert definitions.latest_definition(KEY).form_schemas["sample_decision"] == changed
    assert versions() == [3, 2, 1]


def test_an_uploaded_form_file_replaces_the_form_of_that_id(admin, drawn):
    token = admin.csrf(f"/admin/processes/{KEY}")
    changed = json.dumps(decision_form(label="审批意见"), ensure_ascii=False).encode()
    admin.client.post(f"/admin/processes/{KEY}/deploy", content_type="multipart/form-data", data={
        "file": (io.BytesIO(changed), "sample_decision.form"), "change_note": "改标签", "csrf_token": token})
    latest = definitions.latest_definition(KEY)
    assert latest.version == 2 and latest.bpmn_xml == drawn.bpmn_xml
    assert latest.form_schemas["sample_decision"]["components"][1]["label"] == "审批意见"
    other = json.dumps({**DECISION_FORM, "id": "other"}).encode()
    page = admin.client.post(f"/admin/processes/{KEY}/deploy", content_type="multipart/form-data", follow_redirects=True,
                             data={"file": (io.BytesIO(other), "other.form"), "change_note": "x", "csrf_token": token})
    assert "此流程没有使用这个表单" in page.get_data(as_text=True)
    assert versions() == [2, 1]


# -- what the deploy refuses -------------------------------------------------------------------------------

def test_a_form_that_is_not_given_is_refused_on_each_step_naming_it(admin, drawn):
    problems = refused(admin, forms=[REQUEST_FORM])
    assert named(problems, "approve", "sample_decision", "not given")
    assert named(problems, "marketing", "sample_decision", "not given")
    start = edited("deployment:sample_request", "deployment:sample_requestx")
    assert named(refused(admin, start), "request", "start event", "sample_requestx", "not given")


def test_a_schema_that_cannot_be_deployed_is_refused_with_its_problems(admin, drawn):
    broken = copy.deepcopy(DECISION_FORM)
    broken["components"].append({"type": "button", "id": "Field_submit", "key": "submit", "label": "提交"})
    broken["components"][1]["key"] = "class"
    problems = refused(admin, forms=[REQUEST_FORM, broken])
    assert named(problems, "approve", "drawn form 'sample_decision'", "class")
    assert named(problems, "approve", "drawn form 'sample_decision'", "button")
    not_a_form = refused(admin, forms=[REQUEST_FORM, {"id": "sample_decision", "components": "none"}])
    assert named(not_a_form, "approve", "sample_decision", "form-js")


def test_without_drawn_forms_plugged_in_the_engine_refuses_every_one(engine):
    """The engine knows no form-js: what judges a schema is plugged in (app.flows: forms.drawn)."""
    assert engine.extensions.drawn_forms.problems(REQUEST_FORM) == []
    bare = partial(validation.definition_problems, Extensions())
    with pytest.raises(DefinitionError) as refusal:
        definitions.deploy(XML, "sample_request.bpmn", engine.clock.now(), bare,
                           forms={"sample_request": REQUEST_FORM, "sample_decision": DECISION_FORM})
    assert ("request", "start event: drawn form 'sample_request': no drawn forms plugged in") in [
        (p.element, p.message) for p in refusal.value.problems]
    assert (None, "start event: unknown form key 'sample_request'") not in [
        (p.element, p.message) for p in refusal.value.problems]


@pytest.mark.parametrize("forms, words", [
    ("sample_decision", "a list of form-js schemas"),
    ([REQUEST_FORM, {**DECISION_FORM, "id": None}], "needs its id"),
    ([REQUEST_FORM, REQUEST_FORM], "given twice"),
    ({"sample_decision": {**DECISION_FORM, "id": "other"}}, "its schema's id is 'other'"),
    ([REQUEST_FORM, ["not", "a", "form"]], "not a JSON object"),
])
def test_forms_that_are_not_forms_are_refused(admin, drawn, forms, words):
    assert any(words in p["message"] for p in refused(admin, forms=forms))


def test_a_form_id_that_does_not_fit_a_form_key_is_refused(admin, drawn):
    long_id = "x" * 60
    xml = edited('camunda:formKey="camunda-forms:deployment:sample_request"',
                 f'camunda:formKey="camunda-forms:deployment:{long_id}"')
    assert named(refused(admin, xml, forms=[{**REQUEST_FORM, "id": long_id}, DECISION_FORM]), "request", "not an id")


def test_a_condition_naming_a_field_no_form_has_is_refused(admin, drawn):
    typo = edited("decision == 'approve' and quantity &gt; 100", "decision == 'approve' and amount &gt; 100")
    problems = refused(admin, typo)
    assert named(problems, "to_marketing", "'amount'", "no form of the process has such a field")
    assert len(problems) == 1
    # A field removed from its form: every condition reading it.
    without_quantity = copy.deepcopy(REQUEST_FORM)
    without_quantity["components"] = [c for c in without_quantity["components"] if c.get("key") != "quantity"]
    problems = refused(admin, forms=[without_quantity, DECISION_FORM])
    assert named(problems, "to_marketing", "'quantity'") and named(problems, "to_approved", "'quantity'")


SCRIPT = """    <bpmn:scriptTask id="weigh" name="折算">
      <bpmn:incoming>to_approve</bpmn:incoming><bpmn:outgoing>to_approve_weighed</bpmn:outgoing>
      <bpmn:script>tons = quantity / 1000</bpmn:script>
    </bpmn:scriptTask>
    <bpmn:sequenceFlow id="to_approve_weighed" sourceRef="weigh" targetRef="approve" />
"""


def test_a_condition_may_read_what_the_process_sets_itself_and_its_helpers(admin, drawn):
    """A script's variable, the engine's initiator_id and a sandbox helper are not form fields, and are known."""
    xml = edited('<bpmn:sequenceFlow id="to_approve" sourceRef="request" targetRef="approve" />',
                 '<bpmn:sequenceFlow id="to_approve" sourceRef="request" targetRef="weigh" />' + "\n" + SCRIPT)
    xml = edited("<bpmn:incoming>to_approve</bpmn:incoming><bpmn:outgoing>to_decided</bpmn:outgoing>",
                 "<bpmn:incoming>to_approve_weighed</bpmn:incoming><bpmn:outgoing>to_decided</bpmn:outgoing>", xml)
    xml = edited("decision == 'approve' and quantity &gt; 100",
                 "decision == 'approve' and (tons &gt; 0.1 or len([c for c in str(initiator_id) if c]) &gt; 9) "
                 "and Decimal(quantity) &gt; 0", xml)
    assert post(admin, "check", {"xml": xml, "forms": FORMS}).get_json() == {"problems": []}


def test_the_field_check_leaves_processes_with_forms_of_the_code_alone(admin, drawn):
    """A process with a form of the code (or a start hook) reads what Python adds to its cases, which the
    deploy cannot see: its conditions are not judged by the drawn forms' fields."""
    mixed = edited('camunda:formKey="camunda-forms:deployment:sample_request"', 'camunda:formKey="expense_claim"')
    mixed = edited("decision == 'approve' and quantity &gt; 100", "decision == 'approve' and branch_id is None",
                   mixed)
    assert post(admin, "check", {"xml": mixed, "forms": FORMS}).get_json() == {"problems": []}


# -- starting and completing with drawn forms ---------------------------------------------------------------

def test_a_start_is_checked_by_the_drawn_start_form_and_keeps_only_its_fields(api, drawn):
    described = api.get(f"/processes/{KEY}/start-form", "rep_e2").get_json()
    assert described["form_key"] == "camunda-forms:deployment:sample_request" and described["schema"] == REQUEST_FORM
    fields = {f["name"]: f for f in described["fields"]}
    assert list(fields) == ["customer", "product", "quantity", "reason"]
    assert [c["value"] for c in fields["customer"]["choices"]] == ["HD-E2-001", "HD-E2-002"]  # his customers
    assert (fields["quantity"]["min"], fields["quantity"]["max"], fields["quantity"]["required"]) == (1, 1000, True)

    bad = api.post(f"/processes/{KEY}/instances", "rep_e2",
                   {"data": {**REQUEST, "customer": "HD-E1-001", "quantity": 1001, "reason": ""}})
    assert bad.status_code == 400
    errors = bad.get_json()["error"]["fields"]
    assert set(errors) == {"customer", "quantity", "reason"}
    assert errors["customer"] == ["请从给出的选项中选择。"] and errors["reason"] == [REQUIRED]
    assert any("1000" in message for message in errors["quantity"])
    assert api.post(f"/processes/{KEY}/instances", "rep_e2", {"data": "quantity=5"}).status_code == 400
    assert instances() == 0

    started = api.post(f"/processes/{KEY}/instances", "rep_e2",
                       {"data": {**REQUEST, "quantity": "20", "secret": "不该保存", "initiator_id": 1}})
    assert started.status_code == 201, started.get_json()
    case = db.session.get(Instance, started.get_json()["id"])
    # The quantity as a whole number; no key the form lacks; the customer chosen is the case's.
    assert case.start_data == {**REQUEST, "customer_id": get_customer("HD-E2-001").id}
    assert case.customer_id == get_customer("HD-E2-001").id
    started_event = db.session.scalar(select(Event).where(Event.instance_id == case.id,
                                                          Event.type == "instance_started"))
    assert started_event.data["form_data"] == REQUEST


def test_a_completion_is_checked_by_the_drawn_form_and_a_condition_reads_its_fields(api, drawn):
    started = api.post(f"/processes/{KEY}/instances", "rep_e2", {"data": {**REQUEST, "quantity": 500}})
    case_id = started.get_json()["id"]
    task = open_task(case_id)
    assert (task.spec_id, task.form_key) == ("approve", "camunda-forms:deployment:sample_decision")
    detail = api.get(f"/tasks/{task.id}", "deputy_gm").get_json()
    assert detail["schema"] == DECISION_FORM and detail["context"] == {}
    assert [(f["name"], f["required"]) for f in detail["fields"]] == [("decision", True), ("comment", False)]
    assert [c["value"] for c in detail["fields"][0]["choices"]] == ["approve", "reject"]

    bad = api.post(f"/tasks/{task.id}/complete", "deputy_gm", {"data": {"decision": "maybe", "comment": "x" * 501}})
    assert bad.status_code == 400
    assert set(bad.get_json()["error"]["fields"]) == {"decision", "comment"}
    assert open_task(case_id).id == task.id  # nothing of it kept
    assert db.session.scalar(select(func.count(Event.id)).where(Event.instance_id == case_id,
                                                                Event.type == "task_completed")) == 0

    done = api.post(f"/tasks/{task.id}/complete", "deputy_gm",
                    {"data": {"decision": "approve", "comment": "同意", "quantity": 5, "outcome": "x"}})
    assert done.status_code == 200, done.get_json()
    completed = db.session.scalar(select(Event).where(Event.instance_id == case_id, Event.type == "task_completed"))
    assert completed.data["form_data"] == {"decision": "approve", "comment": "同意"}  # unknown keys dropped
    # Above 100 the marketing office decides too: the gateway read the start form's quantity (still 500).
    marketing = open_task(case_id)
    assert (marketing.spec_id, marketing.candidate_role) == ("marketing", "hq_marketing")
    assert api.post(f"/tasks/{marketing.id}/claim", "hq_mkt").status_code == 200
    assert api.post(f"/tasks/{marketing.id}/complete", "hq_mkt", {"data": {"comment": "无"}}).get_json()[
        "error"]["fields"] == {"decision": [REQUIRED]}
    assert api.post(f"/tasks/{marketing.id}/complete", "hq_mkt", {"data": {"decision": "approve"}}).status_code == 200
    db.session.expire_all()
    case = db.session.get(Instance, case_id)
    assert (case.status, case.outcome) == ("completed", "approved")


def test_drawn_steps_are_approved_in_a_batch_by_their_own_form(api, drawn):
    cases = [api.post(f"/processes/{KEY}/instances", "rep_e2", {"data": REQUEST}).get_json()["id"] for _ in range(2)]
    tasks = [open_task(case_id).id for case_id in cases]
    approved = api.post("/tasks/approve", "deputy_gm", {"tasks": tasks, "comment": "同意"})
    assert approved.get_json() == {"results": {str(task_id): None for task_id in tasks}}
    db.session.expire_all()
    assert [db.session.get(Instance, case_id).outcome for case_id in cases] == ["approved", "approved"]
    completed = db.session.scalar(select(Event).where(Event.instance_id == cases[0], Event.type == "task_completed"))
    assert completed.data["form_data"] == {"decision": "approve", "comment": "同意"}


def test_a_running_case_is_checked_by_its_own_versions_form(admin, api, drawn):
    first = api.post(f"/processes/{KEY}/instances", "rep_e2", {"data": REQUEST}).get_json()["id"]
    required = decision_form(label="审批意见", validate={"required": True, "maxLength": 500})
    deployed = post(admin, "deploy", {"xml": XML, "forms": [REQUEST_FORM, required], "change_note": "意见必填"})
    assert deployed.status_code == 201
    second = api.post(f"/processes/{KEY}/instances", "rep_e2", {"data": REQUEST}).get_json()["id"]
    assert [db.session.get(Instance, i).definition.version for i in (first, second)] == [1, 2]

    on_second = api.post(f"/tasks/{open_task(second).id}/complete", "deputy_gm", {"data": {"decision": "reject"}})
    assert on_second.status_code == 400 and on_second.get_json()["error"]["fields"] == {"comment": [REQUIRED]}
    detail = api.get(f"/tasks/{open_task(first).id}", "deputy_gm").get_json()
    assert detail["schema"] == DECISION_FORM  # the form of the case's version
    on_first = api.post(f"/tasks/{open_task(first).id}/complete", "deputy_gm", {"data": {"decision": "reject"}})
    assert on_first.status_code == 200, on_first.get_json()
    db.session.expire_all()
    assert db.session.get(Instance, first).outcome == "rejected"


# -- the difference between versions ------------------------------------------------------------------------

def test_the_diff_lists_the_forms_added_removed_and_changed(admin, drawn):
    changed = copy.deepcopy(DECISION_FORM)
    changed["components"][1]["label"] = "审批意见"
    changed["components"][0]["values"].append({"label": "退回", "value": "return"})
    changed["components"].append({"type": "checkbox", "id": "Field_urgent", "key": "urgent", "label": "加急"})
    assert post(admin, "deploy", {"xml": XML, "forms": [REQUEST_FORM, changed], "change_note": "改表单"}).status_code == 201
    found = definitions.diff(definitions.version(KEY, 1), definitions.version(KEY, 2))
    assert (found.added, found.removed, found.changed) == ([], [], {})
    (change,) = found.forms
    assert (change.form_id, change.change, change.fields_added, change.fields_removed) == (
        "sample_decision", "changed", ["urgent"], [])
    assert change.relabelled == {"comment": ("意见", "审批意见")} and change.fields_changed == ["decision"]
    page = admin.client.get(f"/admin/processes/{KEY}/diff?old=1&new=2").get_data(as_text=True)
    assert 'data-testid="form-diff"' in page and 'data-form="sample_decision"' in page
    assert "urgent" in page and "审批意见" in page and "新增字段" in page

    # A version whose start form is drawn no more: that form is removed.
    coded = edited('camunda:formKey="camunda-forms:deployment:sample_request"', 'camunda:formKey="expense_claim"')
    assert post(admin, "deploy", {"xml": coded, "forms": [changed], "change_note": "申请单改用代码表单"}).status_code == 201
    (removed,) = definitions.form_changes(definitions.version(KEY, 2), definitions.version(KEY, 3))
    assert (removed.form_id, removed.change) == ("sample_request", "removed")
    assert [(c.form_id, c.change) for c in definitions.form_changes(definitions.version(KEY, 3),
                                                                    definitions.version(KEY, 1))] == [
        ("sample_request", "added"), ("sample_decision", "changed")]


# -- the migration ----------------------------------------------------------------------------------------

def test_the_migration_adds_the_forms_column_and_takes_it_away_again(engine):
    db.session.commit()  # SQLite: the session's transaction would hold the lock the migration waits for
    downgrade(revision=BEFORE_MIGRATION)
    try:
        columns = {c["name"] for c in inspect(db.current_engine()).get_columns("process_definitions")}
        assert "form_schemas" not in columns and "dmn_xml" in columns
    finally:
        upgrade()
        # PostgreSQL: statements the pooled connections prepared return the old columns.
        db.session.remove()
        db.current_engine().dispose()
    columns = {c["name"] for c in inspect(db.current_engine()).get_columns("process_definitions")}
    assert "form_schemas" in columns
    assert all(d.form_schemas == {} for d in db.session.scalars(select(ProcessDefinition)))
