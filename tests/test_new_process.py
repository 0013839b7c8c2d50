"""A new process from the administration pages (issue 21): its declaration (key, name, who may open its
cases, whether it is sensitive) and a first version from the template (request → one approval → end,
drawn forms), which the modeler opens next; then it runs like any other. Real pages, engine and API."""
from __future__ import annotations

import copy

from conftest import Browser
from sqlalchemy import select

from app import db
from app.engine import definitions
from app.engine.models import OPEN, DrawnProcess, Instance, Task

KEY = "price_exception"
NAME = "价格例外申请"


def create(admin, **changes):
    data = {"key": KEY, "name": NAME, "starter_roles": ["sales_rep"], "starter_units": ["east"], **changes}
    return admin.submit("/admin/new-process", data)


def deploy(admin, xml: str, forms: dict, note: str = "画好了"):
    return admin.client.post(f"/admin/processes/{KEY}/deploy", json={"xml": xml, "change_note": note,
                                                                     "forms": forms},
                             headers={"X-CSRFToken": admin.csrf(f"/admin/processes/{KEY}")})


def open_task(instance_id: int) -> Task:
    db.session.expire_all()
    return db.session.scalar(select(Task).where(Task.instance_id == instance_id, Task.state == OPEN))


def test_the_administrator_creates_a_process_from_the_template_and_the_modeler_opens_it(admin, ctx):
    page = admin.client.get("/admin/processes")
    assert 'href="/admin/new-process"' in page.get_data(as_text=True)
    form = admin.client.get("/admin/new-process").get_data(as_text=True)
    assert "新建流程" in form and "销售代表" in form and "华东分公司" in form
    created = create(admin)
    assert created.status_code == 302 and created.headers["Location"].endswith(f"/admin/processes/{KEY}/modeler")
    first = definitions.latest_definition(KEY)
    assert (first.version, first.name, first.is_pending) == (1, NAME, False)
    assert sorted(first.form_schemas) == [f"{KEY}_decision", f"{KEY}_request"]
    assert f'camunda:formKey="camunda-forms:deployment:{KEY}_request"' in first.bpmn_xml
    assert "BPMNDiagram" in first.bpmn_xml  # the modeler has a diagram to show
    declared = db.session.get(DrawnProcess, KEY)
    assert (declared.starter_roles, declared.starter_units, declared.sensitive) == (["sales_rep"], ["east"], False)
    modeler = admin.client.get(f"/admin/processes/{KEY}/modeler")
    assert modeler.status_code == 200


def test_a_key_that_is_no_process_id_or_taken_is_refused_with_nothing_created(admin, ctx):
    for key, message in (("Bad-Key", "小写字母"), ("dossier_borrowing", "已有"), ("ab", "小写字母")):
        page = create(admin, key=key)
        assert page.status_code == 200 and message in page.get_data(as_text=True), key
    assert create(admin, name="").status_code == 200
    assert db.session.scalars(select(DrawnProcess)).all() == []
    assert definitions.newest_version(KEY) is None
    assert create(admin).status_code == 302
    again = create(admin, name="另一个")
    assert "已有" in again.get_data(as_text=True)
    assert [d.version for d in definitions.versions(KEY)] == [1]


def test_only_process_administrators_create_processes(app):
    for username in ("rep_e1", "auditor"):
        someone = Browser(app)
        someone.login(username)
        assert someone.client.get("/admin/new-process").status_code == 403
        token = someone.csrf("/inbox")
        posted = someone.client.post("/admin/new-process", data={"key": KEY, "name": NAME, "csrf_token": token})
        assert posted.status_code == 403
    with app.app_context():
        assert db.session.get(DrawnProcess, KEY) is None


def test_only_the_chosen_roles_in_the_chosen_units_open_its_cases_and_the_template_runs(admin, api, ctx):
    create(admin)
    refused = api.post(f"/processes/{KEY}/instances", "rep_n1", {"data": {"reason": "北区客户要特价"}})
    assert refused.status_code == 403  # a sales rep, but of the north branch
    assert api.post(f"/processes/{KEY}/instances", "hq_mkt", {"data": {"reason": "x"}}).status_code == 403
    missing = api.post(f"/processes/{KEY}/instances", "rep_e1", {"data": {}})
    assert missing.status_code == 400 and "reason" in missing.get_json()["error"]["fields"]
    started = api.post(f"/processes/{KEY}/instances", "rep_e1", {"data": {"reason": "老客户续约要特价", "x": 1}})
    assert started.status_code == 201, started.get_data(as_text=True)
    case = db.session.get(Instance, started.get_json()["id"])
    assert case.start_data == {"reason": "老客户续约要特价"}  # what the form lacks is not kept
    task = open_task(case.id)
    assert (task.spec_id, task.assignee.username) == ("approval", "deputy_gm")
    done = api.post(f"/tasks/{task.id}/complete", "deputy_gm", {"data": {"decision": "approve", "comment": "同意"}})
    assert done.status_code == 200, done.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(Instance, case.id).status == "completed"


def test_a_sensitive_process_takes_its_template_at_once_and_waits_for_approval_after(admin, ctx):
    create(admin, sensitive="y")
    first = definitions.latest_definition(KEY)
    assert first.version == 1 and not first.is_pending
    drawn = deploy(admin, first.bpmn_xml.replace('name="审批"', 'name="主管副经理审批"'), first.form_schemas)
    assert drawn.status_code == 201 and drawn.get_json()["pending"] is True
    assert definitions.latest_definition(KEY).version == 1


def test_the_customer_a_drawn_start_form_chose_is_the_cases_and_the_rules_find_its_branch(admin, api, ctx):
    create(admin)
    first = definitions.latest_definition(KEY)
    forms = copy.deepcopy(first.form_schemas)
    forms[f"{KEY}_request"]["components"].insert(0, {
        "type": "select", "id": "Field_customer", "key": "customer", "label": "客户",
        "properties": {"source": "customers"}, "validate": {"required": True}})
    xml = first.bpmn_xml.replace('camunda:assignee="deputy_gm"', 'camunda:assignee="branch_sales_manager"')
    assert deploy(admin, xml, forms).status_code == 201
    started = api.post(f"/processes/{KEY}/instances", "rep_e1",
                       {"data": {"customer": "HD-E1-001", "reason": "竞争对手降价"}})
    assert started.status_code == 201, started.get_data(as_text=True)
    case = db.session.get(Instance, started.get_json()["id"])
    assert case.customer_id is not None and case.start_data["customer"] == "HD-E1-001"
    assert open_task(case.id).assignee.username == "salesmgr_east"
    other = api.post(f"/processes/{KEY}/instances", "rep_e1", {"data": {"customer": "HB-N1-001", "reason": "x"}})
    assert other.status_code == 400 and "customer" in other.get_json()["error"]["fields"]  # not his to choose
