"""Process administration through the pages: only administrators; validation names the element;
hostile XML is refused; a new version deploys while cases run, and each case keeps its version."""
import io
from dataclasses import replace
from pathlib import Path

import pytest
from conftest import Browser, get_customer, get_user
from sqlalchemy import select

from app import db
from app.engine import definitions
from app.engine.models import OPEN, Instance, Task

BORROWING = (Path(__file__).resolve().parent.parent / "processes" / "dossier_borrowing.bpmn").read_text(encoding="utf-8")
BILLION_LAUGHS = """<?xml version="1.0"?>
<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
<!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">]>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"><bpmn:process id="dossier_borrowing"
 isExecutable="true"><bpmn:documentation>&lol3;</bpmn:documentation></bpmn:process></bpmn:definitions>"""
EXTERNAL_ENTITY = """<?xml version="1.0"?>
<!DOCTYPE x [<!ENTITY secret SYSTEM "file:///etc/passwd">]>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"><bpmn:process id="dossier_borrowing"
 isExecutable="true" name="&secret;" /></bpmn:definitions>"""


def csrf_headers(browser) -> dict:
    return {"X-CSRFToken": browser.csrf("/admin/processes/dossier_borrowing")}


def check(browser, xml: str) -> list[dict]:
    response = browser.client.post("/admin/processes/dossier_borrowing/check", json={"xml": xml},
                                   headers=csrf_headers(browser))
    assert response.status_code == 200
    return response.get_json()["problems"]


def versions() -> list[int]:
    db.session.expire_all()
    return [d.version for d in definitions.versions("dossier_borrowing")]


def test_only_process_administrators_reach_any_of_it(app, ctx):
    rep = Browser(app)
    rep.login("biz_east")
    key = "dossier_borrowing"
    for url in ("/admin/processes", f"/admin/processes/{key}", f"/admin/processes/{key}/v1.bpmn",
                f"/admin/processes/{key}/diff?old=1&new=1", f"/admin/processes/{key}/modeler",
                f"/admin/processes/{key}/cases", "/admin/incidents",
                "/admin/processes/star_rating/decisions/star_suggestion.dmn",
                "/admin/processes/star_rating/decisions/star_suggestion.dmn.xml"):
        assert rep.client.get(url).status_code == 403, url
    token = rep.csrf("/inbox")
    for url in (f"/admin/processes/{key}/check", f"/admin/processes/{key}/deploy", "/admin/cases/1/terminate",
                "/admin/cases/1/suspend", "/admin/cases/1/migrate", f"/admin/processes/{key}/migrate",
                "/admin/tasks/1/reassign", "/admin/incidents/1/retry",
                "/admin/incidents/1/close"):
        assert rep.client.post(url, json={"xml": BORROWING, "change_note": "x"},
                               headers={"X-CSRFToken": token}).status_code == 403, url
    assert versions() == [1]


def test_the_process_pages_list_versions_and_serve_the_bpmn(admin, ctx):
    page = admin.client.get("/admin/processes").get_data(as_text=True)
    assert "客户档案借阅" in page and "客户星级评定" in page and "FREQ=MONTHLY;BYMONTHDAY=1;BYHOUR=0;BYMINUTE=0" in page
    download = admin.client.get("/admin/processes/dossier_borrowing/v1.bpmn")
    assert download.status_code == 200 and download.get_data(as_text=True) == BORROWING
    assert "attachment" in download.headers["Content-Disposition"]
    assert admin.client.get("/admin/processes/dossier_borrowing/modeler").status_code == 200
    assert admin.client.get("/admin/processes/nothing_like_it").status_code == 404


@pytest.mark.parametrize("old, new, element, words", [
    ('camunda:formKey="dossier_consent" camunda:assignee="territory_rep"',
     'camunda:formKey="no_such_form" camunda:assignee="territory_rep"', "consent_territory_rep", "form key"),
    ('camunda:assignee="branch_manager"', 'camunda:assignee="the_boss"', "consent_branch_manager", "the_boss"),
    ("decision == 'approve'</bpmn:conditionExpression>",
     "decision.__class__ == 'approve'</bpmn:conditionExpression>", "rep_decision", "__class__"),
    ('camunda:candidateGroups="branch_business_dept" camunda:dueDate="P3D"',
     'camunda:candidateGroups="branch_business_dept" camunda:dueDate="open(1)"', "consent_business_dept", "dueDate"),
    ('<bpmn:sequenceFlow id="flow_to_approved" sourceRef="grant_loan" targetRef="approved" />',
     '<bpmn:sequenceFlow id="flow_to_approved" sourceRef="grant_loan" targetRef="rejected" />', "approved",
     "reached"),
])
def test_validation_names_the_element_at_fault(admin, ctx, old, new, element, words):
    assert old in BORROWING
    problems = check(admin, BORROWING.replace(old, new, 1))
    assert any(p["element"] == element and words in p["message"] for p in problems), problems


@pytest.mark.parametrize("old, new, words", [
    ("day_after_month(month, 2)</bpmn:timeDate>", "day_after_month.__globals__</bpmn:timeDate>", "__globals__"),
    ("day_after_month(month, 2)</bpmn:timeDate>", "'the second'</bpmn:timeDate>", "ISO 8601"),
])
def test_a_timer_must_be_an_allowed_expression_or_iso_8601(admin, ctx, old, new, words):
    latest = definitions.latest_definition("star_rating")
    problems = admin.client.post("/admin/processes/star_rating/check", json={"xml": latest.bpmn_xml.replace(old, new)},
                                 headers={"X-CSRFToken": admin.csrf("/admin/processes/star_rating")}).get_json()
    assert any(p["element"] == "initial_rating_late" and words in p["message"] for p in problems["problems"]), problems


def test_the_process_id_must_be_the_one_edited(admin, ctx):
    problems = check(admin, BORROWING.replace('<bpmn:process id="dossier_borrowing"', '<bpmn:process id="other"'))
    assert problems == [{"element": None, "message": "the document must hold the executable process "
                                                     "'dossier_borrowing'"}]
    assert check(admin, BORROWING) == []  # the deployed document itself is valid


@pytest.mark.parametrize("hostile", [BILLION_LAUGHS, EXTERNAL_ENTITY, "<bpmn:definitions", "x" * (3 * 1024 * 1024)])
def test_hostile_or_broken_xml_is_refused_with_a_clear_message(admin, ctx, hostile):
    (problem,) = check(admin, hostile)
    assert any(words in problem["message"] for words in ("DOCTYPE", "well-formed", "larger than")), problem
    response = admin.client.post("/admin/processes/dossier_borrowing/deploy", json={"xml": hostile, "change_note": "x"},
                                 headers=csrf_headers(admin))
    assert response.status_code == 400 and versions() == [1]


def start_case(engine, requester="rep_e2", customer="HD-E1-002") -> Instance:
    return engine.cases.start("dossier_borrowing", get_user(requester),
                        {"customer_id": get_customer(customer).id, "purpose": "复核合同条款", "days": 3})


def consent_all(engine, instance: Instance) -> Instance:
    while True:
        db.session.expire_all()
        task = db.session.scalar(select(Task).where(Task.instance_id == instance.id, Task.state == OPEN))
        if task is None:
            return db.session.get(Instance, instance.id)
        user = task.assignee or next(u for u in map(get_user, ("biz_east", "biz_north")) if task.is_offered_to(u))
        if task.assignee_id is None:
            engine.cases.claim(task.id, user)
        engine.cases.complete(task.id, user, {"decision": "approve", "comment": "同意"})


def test_a_new_version_deploys_while_cases_run_and_each_case_keeps_its_own(admin, engine, second_admin):
    before = start_case(engine)
    renamed = BORROWING.replace('name="业务部主管同意"', 'name="业务部主管审核"')
    upload = {"file": (io.BytesIO(renamed.encode()), "dossier_borrowing.bpmn")}
    refused = admin.client.post("/admin/processes/dossier_borrowing/deploy", data={**upload, "csrf_token": admin.csrf(
        "/admin/processes/dossier_borrowing")}, content_type="multipart/form-data", follow_redirects=True)
    assert "请填写变更说明" in refused.get_data(as_text=True)
    assert versions() == [1]
    upload = {"file": (io.BytesIO(renamed.encode()), "dossier_borrowing.bpmn")}
    admin.client.post("/admin/processes/dossier_borrowing/deploy",
                      data={**upload, "change_note": "业务部环节改称审核", "csrf_token": admin.csrf(
                          "/admin/processes/dossier_borrowing")}, content_type="multipart/form-data")
    assert versions() == [2, 1]
    # Borrowing is a sensitive process: the version waits for a second person's approval (maker–checker).
    assert definitions.latest_definition("dossier_borrowing").version == 1
    engine.deployment.approve(definitions.pending_version("dossier_borrowing").id, get_user(second_admin))
    db.session.expire_all()
    latest = definitions.latest_definition("dossier_borrowing")
    assert (latest.version, latest.change_note, latest.deployed_by.username, latest.approved_by.username) == (
        2, "业务部环节改称审核", "admin", second_admin)

    after = start_case(engine, requester="rep_n1", customer="HD-E1-003")
    first, second = consent_all(engine, before), consent_all(engine, after)
    assert (first.definition.version, first.outcome) == (1, "approved")
    assert (second.definition.version, second.outcome) == (2, "approved")
    names = {i: set(db.session.scalars(select(Task.name).where(Task.instance_id == i))) for i in (first.id, second.id)}
    assert "业务部主管同意" in names[first.id] and "业务部主管审核" in names[second.id]

    diff = admin.client.get("/admin/processes/dossier_borrowing/diff?old=1&new=2").get_data(as_text=True)
    assert "consent_business_dept" in diff and "name" in diff
    same = admin.client.post("/admin/processes/dossier_borrowing/deploy", json={"xml": renamed, "change_note": "again"},
                             headers=csrf_headers(admin))
    assert same.status_code == 400 and "nothing changed" in same.get_json()["problems"][0]["message"]



def test_suspend_resume_and_terminate_need_a_reason_and_are_in_the_history(admin, engine):
    from datetime import datetime
    from zoneinfo import ZoneInfo

    from conftest import fire_due

    from app.calendar import clock
    from app.engine.models import TERMINATED, Event, Timer
    from app.errors import Conflict, Forbidden, InvalidData
    shanghai = ZoneInfo("Asia/Shanghai")
    clock.set(datetime(2027, 2, 1, 9, 0, tzinfo=shanghai))
    rating = engine.cases.start("star_rating", get_user("admin"), {"branch": "east", "month": "2027-01"})
    boss = get_user("admin")
    with pytest.raises(InvalidData):
        engine.admin.suspend(rating.id, boss, "  ")
    with pytest.raises(Forbidden):
        engine.admin.suspend(rating.id, get_user("mgr_east"), "我想暂停")
    engine.admin.suspend(rating.id, boss, "分公司客户名单有误，待核实")
    task = db.session.scalar(select(Task).where(Task.instance_id == rating.id, Task.state == OPEN))
    with pytest.raises(Conflict):
        engine.cases.claim(task.id, get_user("spec_east"))
    assert fire_due(engine, datetime(2027, 2, 2, 0, 0, 1, tzinfo=shanghai)) == 0  # its deadline waits
    engine.admin.resume(rating.id, boss, "名单已核实")
    assert fire_due(engine, datetime(2027, 2, 2, 0, 0, 2, tzinfo=shanghai)) == 1  # and fires on resuming
    engine.admin.terminate(rating.id, boss, "本月改为线下评定")
    db.session.expire_all()
    ended = db.session.get(Instance, rating.id)
    assert ended.status == TERMINATED and ended.ended_at is not None
    assert not db.session.scalars(select(Task).where(Task.instance_id == rating.id, Task.state == OPEN)).all()
    assert not db.session.scalars(select(Timer).where(Timer.instance_id == rating.id)).all()
    history = [(e.type, e.data.get("reason"), e.actor.username if e.actor else None) for e in db.session.scalars(
        select(Event).where(Event.instance_id == rating.id, Event.type.like("instance_%")).order_by(Event.id))]
    assert history == [("instance_started", None, "admin"),
                       ("instance_suspended", "分公司客户名单有误，待核实", "admin"),
                       ("instance_resumed", "名单已核实", "admin"),
                       ("instance_terminated", "本月改为线下评定", "admin")]
    with pytest.raises(Conflict):
        engine.admin.resume(rating.id, boss, "再试")


def test_an_administrator_reassigns_an_open_task_and_filters_the_cases(admin, engine):
    case = start_case(engine)
    task = db.session.scalar(select(Task).where(Task.instance_id == case.id, Task.state == OPEN))
    assert task.assignee.username == "rep_e1"
    page = admin.client.get(f"/cases/{case.id}").get_data(as_text=True)  # administrators see every case
    assert 'data-testid="administration"' in page
    token = admin.csrf(f"/cases/{case.id}")
    admin.client.post(f"/admin/tasks/{task.id}/reassign", data={"assignee": "rep_e2", "reason": "",
                                                                "csrf_token": token})
    db.session.expire_all()
    assert db.session.get(Task, task.id).assignee.username == "rep_e1"  # no reason, no change
    admin.client.post(f"/admin/tasks/{task.id}/reassign", data={"assignee": "biz_east", "reason": "张伟休假",
                                                                "csrf_token": token})
    db.session.expire_all()
    assert db.session.get(Task, task.id).assignee.username == "biz_east"
    engine.cases.complete(task.id, get_user("biz_east"), {"decision": "approve", "comment": "代为同意"})

    start_case(engine, requester="rep_n1", customer="HD-E1-003")
    listed = admin.client.get("/admin/processes/dossier_borrowing/cases?initiator=rep_n1").get_data(as_text=True)
    assert listed.count('class="list-group-item') == 1
    assert "#" + str(case.id) not in listed
    assert 'class="list-group-item' not in admin.client.get(
        "/admin/processes/dossier_borrowing/cases?status=terminated").get_data(as_text=True)
    assert admin.client.get("/admin/processes/dossier_borrowing/cases?status=asleep").status_code == 400


FRAGILE = (Path(__file__).resolve().parent / "processes" / "consent_with_deadlines.bpmn").read_text(encoding="utf-8")
# After the consent a script divides by a value a refusal sets to zero: the definition fails at run time.
FRAGILE = FRAGILE.replace(
    '<bpmn:sequenceFlow id="to_decided" sourceRef="consent" targetRef="decided" />',
    '<bpmn:sequenceFlow id="to_decided" sourceRef="consent" targetRef="score" />'
    '<bpmn:scriptTask id="score" name="计分"><bpmn:incoming>to_decided</bpmn:incoming>'
    '<bpmn:outgoing>to_scored</bpmn:outgoing><bpmn:script>score = 10 // (1 if decision == \'approve\' else 0)'
    '</bpmn:script></bpmn:scriptTask><bpmn:sequenceFlow id="to_scored" sourceRef="score" targetRef="decided" />'
).replace('<bpmn:incoming>to_decided</bpmn:incoming>\n    </bpmn:endEvent>',
          '<bpmn:incoming>to_scored</bpmn:incoming>\n    </bpmn:endEvent>')


def test_a_failing_step_becomes_an_incident_and_is_retried_with_corrected_data(admin, engine, tmp_path):
    from app.engine.models import Event, Incident
    from app.errors import DefinitionFault
    (tmp_path / "fragile.bpmn").write_text(FRAGILE, encoding="utf-8")
    engine.deployment.deploy_directory(tmp_path)
    case = engine.cases.start("consent_with_deadlines", get_user("rep_e2"), {"customer_id": get_customer("HD-E1-001").id})
    task = db.session.scalar(select(Task).where(Task.instance_id == case.id, Task.state == OPEN))
    with pytest.raises(DefinitionFault, match="score"):
        engine.cases.complete(task.id, get_user("rep_e1"), {"decision": "reject", "comment": "不同意"})
    db.session.expire_all()
    assert db.session.get(Task, task.id).state == OPEN  # nothing of the failed step was kept
    (incident,) = db.session.scalars(select(Incident)).all()
    assert (incident.element, incident.operation, incident.data["decision"], incident.actor.username) == (
        "score", "complete", "reject", "rep_e1")
    assert "ZeroDivisionError" in incident.error

    page = admin.client.get("/admin/incidents").get_data(as_text=True)
    assert f'data-incident-id="{incident.id}"' in page and "ZeroDivisionError" in page
    token = admin.csrf("/admin/incidents")
    admin.client.post(f"/admin/incidents/{incident.id}/retry", data={"data": "not json", "csrf_token": token})
    # Corrected data is checked by the step's form as a person's would be: a refusal needs a comment.
    refused = admin.client.post(f"/admin/incidents/{incident.id}/retry", follow_redirects=True,
                                data={"data": '{"decision": "maybe"}', "csrf_token": token})
    assert "不是有效的选择" in refused.get_data(as_text=True) or "not a valid choice" in refused.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(Incident, incident.id).resolved_at is None
    admin.client.post(f"/admin/incidents/{incident.id}/retry", data={
        "data": '{"decision": "approve", "comment": "经核实改为同意"}', "csrf_token": token})
    db.session.expire_all()
    assert db.session.get(Incident, incident.id).resolved_at is not None
    assert db.session.get(Instance, case.id).outcome == "decided"
    types = list(db.session.scalars(select(Event.type).where(Event.instance_id == case.id).order_by(Event.id)))
    assert types.index("incident") < types.index("task_completed") < types.index("incident_resolved")
    assert 'data-testid="no-incidents"' in admin.client.get("/admin/incidents").get_data(as_text=True)


def test_a_decision_table_edit_deploys_a_new_version_of_its_process(admin, ctx):
    key, dmn_file = "star_rating", "star_suggestion.dmn"
    assert admin.client.get(f"/admin/processes/{key}/decisions/{dmn_file}").status_code == 200
    assert admin.client.get(f"/admin/processes/{key}/decisions/other.dmn").status_code == 404
    table = admin.client.get(f"/admin/processes/{key}/decisions/{dmn_file}.xml").get_data(as_text=True)
    headers = {"X-CSRFToken": admin.csrf(f"/admin/processes/{key}")}
    hostile = table.replace("<text>4</text>", "<text>().__class__.__base__</text>")
    refused = admin.client.post(f"/admin/processes/{key}/deploy", headers=headers,
                                json={"dmn_file": dmn_file, "dmn": hostile, "change_note": "试试"})
    assert refused.status_code == 400 and "__class__" in refused.get_json()["problems"][0]["message"]
    edited = table.replace("&gt;= 1000", "&gt;= 1200").replace("500 &lt;= ? &lt; 1000", "500 &lt;= ? &lt; 1200")
    deployed = admin.client.post(f"/admin/processes/{key}/deploy", headers=headers,
                                 json={"dmn_file": dmn_file, "dmn": edited, "change_note": "四星门槛提高到1200吨"})
    assert deployed.status_code == 201, deployed.get_json()
    latest = definitions.latest_definition(key)
    assert latest.version == 2 and "&gt;= 1200" in latest.dmn_xml[dmn_file]
    assert latest.bpmn_xml == definitions.version(key, 1).bpmn_xml  # the flow itself is unchanged
    # Editing the flow afterwards keeps the edited table.
    assert check_for(admin, key, latest.bpmn_xml) == []
    modeler_deploy = admin.client.post(f"/admin/processes/{key}/deploy", headers=headers, json={
        "xml": latest.bpmn_xml.replace('name="分公司初评"', 'name="分公司星级初评"'), "change_note": "改名"})
    assert modeler_deploy.status_code == 201
    assert "&gt;= 1200" in definitions.latest_definition(key).dmn_xml[dmn_file]


def check_for(browser, key: str, xml: str) -> list[dict]:
    return browser.client.post(f"/admin/processes/{key}/check", json={"xml": xml},
                               headers={"X-CSRFToken": browser.csrf(f"/admin/processes/{key}")}).get_json()["problems"]


def deploy_edit(engine, tmp_path, xml: str, name="dossier_borrowing.bpmn"):
    (tmp_path / name).write_text(xml, encoding="utf-8")
    return engine.deployment.deploy_directory(tmp_path)


def test_a_running_case_moves_to_the_new_version_when_the_diff_allows(engine, tmp_path, monkeypatch):
    from app.engine.models import Event
    from app.errors import Conflict, InvalidData
    case = start_case(engine)  # waiting at the rep's consent, on version 1
    deploy_edit(engine, tmp_path, BORROWING.replace('name="业务部主管同意"', 'name="业务部主管审核"')
                .replace('name="片区销售代表同意"', 'name="片区代表同意"'))
    with pytest.raises(InvalidData):
        engine.admin.migrate(case.id, get_user("admin"), "")
    engine.admin.migrate(case.id, get_user("admin"), "新版本改了环节名称")
    db.session.expire_all()
    moved = db.session.get(Instance, case.id)
    assert moved.definition.version == 2
    (task,) = db.session.scalars(select(Task).where(Task.instance_id == case.id, Task.state == OPEN)).all()
    assert (task.spec_id, task.name, task.assignee.username) == ("consent_territory_rep", "片区代表同意", "rep_e1")
    done = consent_all(engine, moved)
    assert (done.outcome, done.definition.version) == ("approved", 2)
    assert "业务部主管审核" in set(db.session.scalars(select(Task.name).where(Task.instance_id == case.id)))
    (event,) = db.session.scalars(select(Event).where(Event.instance_id == case.id, Event.type == "instance_migrated"))
    assert (event.data["from_version"], event.data["to_version"], event.actor.username) == (1, 2, "admin")

    # A version without the step a case waits at: refused, the case stays where it was.
    waiting = start_case(engine, requester="rep_n1", customer="HD-E1-003")
    # A version without the rep's consent (deploying refuses one since it checks the consents a loan needs,
    # Process.check; here one deployed without that check, as versions from before it were).
    processes = engine.extensions.processes
    monkeypatch.setitem(processes, "dossier_borrowing", replace(processes["dossier_borrowing"], check=None))
    without_rep = without_the_reps_consent(BORROWING)
    assert deploy_edit(engine, tmp_path, without_rep), "the edited version deploys"
    with pytest.raises(Conflict, match="consent_territory_rep"):
        engine.admin.migrate(waiting.id, get_user("admin"), "试图迁移")
    db.session.expire_all()
    assert db.session.get(Instance, waiting.id).definition.version == 2  # where it started, not 3


def without_the_reps_consent(xml: str) -> str:
    """The borrowing flow with the territory rep's consent taken out: the request goes to the business
    department first."""
    from lxml import etree
    root = etree.fromstring(xml.encode())
    gone = {"consent_territory_rep", "rep_decision", "flow_rep_decided", "flow_rep_approved", "flow_rep_refused"}
    for element in root.xpath("//*[@id or @bpmnElement]"):
        if element.get("id") in gone or element.get("bpmnElement") in gone:
            element.getparent().remove(element)
    namespaces = {"bpmn": definitions.BPMN_NS}
    for incoming in root.xpath("//bpmn:incoming", namespaces=namespaces):
        if incoming.text in gone:
            incoming.getparent().remove(incoming)
    root.xpath("//bpmn:sequenceFlow[@id='flow_to_rep']", namespaces=namespaces)[0].set("targetRef",
                                                                                       "consent_business_dept")
    business = root.xpath("//bpmn:userTask[@id='consent_business_dept']", namespaces=namespaces)[0]
    incoming = etree.SubElement(business, f"{{{definitions.BPMN_NS}}}incoming")
    incoming.text = "flow_to_rep"
    business.insert(0, incoming)
    return etree.tostring(root, encoding="unicode")


def test_an_administrator_moves_chosen_cases_from_the_cases_page(admin, engine, tmp_path):
    first, second = start_case(engine), start_case(engine, requester="rep_n1", customer="HD-E1-003")
    deploy_edit(engine, tmp_path, BORROWING.replace('name="业务部主管同意"', 'name="业务部主管审核"'))
    page = admin.client.get("/admin/processes/dossier_borrowing/cases").get_data(as_text=True)
    assert f'name="case" value="{first.id}"' in page and f'name="case" value="{second.id}"' in page
    token = admin.csrf("/admin/processes/dossier_borrowing/cases")
    admin.client.post("/admin/processes/dossier_borrowing/migrate",
                      data={"case": [first.id], "reason": "统一到新版本", "csrf_token": token})
    db.session.expire_all()
    assert (db.session.get(Instance, first.id).definition.version,
            db.session.get(Instance, second.id).definition.version) == (2, 1)  # only the chosen one
    page = admin.client.get("/admin/processes/dossier_borrowing/cases").get_data(as_text=True)
    assert f'name="case" value="{first.id}"' not in page


def test_a_decision_table_file_uploads_as_a_new_version(admin, ctx):
    table = admin.client.get("/admin/processes/star_rating/decisions/star_suggestion.dmn.xml")
    assert table.headers["Content-Disposition"].startswith("attachment")
    edited = table.get_data(as_text=True).replace("100 &lt;= ? &lt; 500", "120 &lt;= ? &lt; 500").replace(
        "&lt; 100</text>", "&lt; 120</text>")
    token = admin.csrf("/admin/processes/star_rating")
    admin.client.post("/admin/processes/star_rating/deploy", content_type="multipart/form-data", data={
        "file": (io.BytesIO(edited.encode()), "star_suggestion.dmn"), "change_note": "二星门槛120吨", "csrf_token": token})
    assert "120 &lt;= ?" in definitions.latest_definition("star_rating").dmn_xml["star_suggestion.dmn"]
    admin.client.post("/admin/processes/star_rating/deploy", content_type="multipart/form-data", data={
        "file": (io.BytesIO(edited.encode()), "other.dmn"), "change_note": "x", "csrf_token": token})
    assert [d.version for d in definitions.versions("star_rating")] == [2, 1]


def test_the_administration_api_is_for_administrators_only(api, engine):
    case = start_case(engine)
    task = db.session.scalar(select(Task).where(Task.instance_id == case.id, Task.state == OPEN))
    for username in ("rep_e1", "auditor", "mgr_east"):
        for path, body in ((f"/instances/{case.id}/suspend", {"reason": "x"}),
                           (f"/instances/{case.id}/terminate", {"reason": "x"}),
                           (f"/instances/{case.id}/migrate", {"reason": "x"}),
                           (f"/tasks/{task.id}/reassign", {"assignee": "rep_e2", "reason": "x"}),
                           ("/incidents/1/close", {"note": "x"})):
            assert api.post(path, username, body).status_code == 403, (username, path)
        assert api.get("/incidents", username).status_code == 403
    suspended = api.post(f"/instances/{case.id}/suspend", "admin", {"reason": "核查中"})
    assert suspended.status_code == 200 and suspended.get_json()["status"] == "suspended"
    assert api.post(f"/tasks/{task.id}/complete", "rep_e1", {"data": {"decision": "approve"}}).status_code == 409
    assert api.post(f"/instances/{case.id}/resume", "admin", {"reason": ""}).status_code == 400
    assert api.post(f"/instances/{case.id}/resume", "admin", {"reason": "核查完毕"}).get_json()["status"] == "running"
    moved = api.post(f"/tasks/{task.id}/reassign", "admin", {"assignee": "rep_e2", "reason": "代办"})
    assert moved.status_code == 200 and moved.get_json()["assignee"] == "rep_e2"
    assert api.get("/incidents", "admin").get_json() == []
    assert api.post(f"/instances/{case.id}/migrate", "admin", {"reason": "x"}).status_code == 409  # already newest


def test_the_modeler_names_every_rule_and_form_key_the_flows_plug_in(admin, app):
    """Each flow names its rules and form keys where it declares them (Flow.rule_words, form_words)."""
    terms = admin.client.get("/admin/modeler/terms").get_json()
    engine = app.extensions["engine"].extensions
    offered = {"person_rules": set(engine.person_rules), "group_rules": set(engine.group_rules),
               "form_keys": set(engine.forms)}
    for kind, codes in offered.items():
        assert {item["code"] for item in terms[kind]} == codes, kind
        unnamed = [item["code"] for item in terms[kind] if item["label"] == item["code"]]
        assert unnamed == [], (kind, unnamed)
    branch_manager = next(item for item in terms["person_rules"] if item["code"] == "branch_manager")
    assert branch_manager["option"] == "案件所属分公司的经理（branch_manager）"
    rep = Browser(app)
    rep.login("rep_e1")
    assert rep.client.get("/admin/modeler/terms").status_code == 403
