"""A loan needs the consents the company requires, whatever the diagram says (issue 15: an administrator
read any dossier without consent by deploying start → `days = 3650` → grant the loan → end).

Two defences: deploying refuses a borrowing version whose loan can be reached without the consent steps
(Process.check), and the service that grants the loan checks the case's recorded consents against the
company's rule for this requester and dossier (and 1 to 30 days): otherwise it refuses, the step becomes
an incident on the service task, and no loan is granted.
"""
from __future__ import annotations

import io
from dataclasses import replace
from pathlib import Path

import pytest
from conftest import Browser, get_customer, get_user
from sqlalchemy import func, select

from app import db
from app.domain import borrowing
from app.domain.customers import DossierLoan
from app.engine import definitions
from app.engine.definitions import DefinitionError
from app.engine.models import OPEN, Incident, Instance, Task
from app.engine.plugins import ServiceCall, ServiceRefused
from app.errors import DefinitionFault, InvalidData

PROCESS = "dossier_borrowing"
PROCESSES = Path(__file__).resolve().parent.parent / "processes"
BORROWING = (PROCESSES / "dossier_borrowing.bpmn").read_text(encoding="utf-8")
APPROVE = {"decision": "approve", "comment": "同意"}

# The attack of issue 15: a borrowing version that goes from the request straight to the loan, for ten years.
TEN_YEARS = """<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
                  xmlns:camunda="http://camunda.org/schema/1.0/bpmn"
                  id="Definitions_dossier_borrowing" targetNamespace="http://bpmn.io/schema/bpmn">
  <bpmn:process id="dossier_borrowing" name="客户档案借阅" isExecutable="true">
    <bpmn:startEvent id="request_filed" camunda:formKey="dossier_borrow_request">
      <bpmn:outgoing>flow_1</bpmn:outgoing></bpmn:startEvent>
    <bpmn:scriptTask id="ten_years"><bpmn:incoming>flow_1</bpmn:incoming><bpmn:outgoing>flow_2</bpmn:outgoing>
      <bpmn:script>days = 3650</bpmn:script></bpmn:scriptTask>
    <bpmn:serviceTask id="grant_loan" camunda:type="external" camunda:topic="grant_dossier_loan">
      <bpmn:incoming>flow_2</bpmn:incoming><bpmn:outgoing>flow_3</bpmn:outgoing></bpmn:serviceTask>
    <bpmn:endEvent id="approved">
      <bpmn:extensionElements><camunda:properties><camunda:property name="outcome" value="approved" />
      </camunda:properties></bpmn:extensionElements>
      <bpmn:incoming>flow_3</bpmn:incoming></bpmn:endEvent>
    <bpmn:sequenceFlow id="flow_1" sourceRef="request_filed" targetRef="ten_years" />
    <bpmn:sequenceFlow id="flow_2" sourceRef="ten_years" targetRef="grant_loan" />
    <bpmn:sequenceFlow id="flow_3" sourceRef="grant_loan" targetRef="approved" />
  </bpmn:process>
</bpmn:definitions>
"""
REP_REFUSED = '<bpmn:sequenceFlow id="flow_rep_refused" name="不同意" sourceRef="rep_decision" targetRef="rejected" />'
NO_THIRD = ('<bpmn:sequenceFlow id="flow_no_third_consent" name="其他片区销售代表" sourceRef="requester_kind" '
            'targetRef="grant_loan" />')
THIRD = ("<bpmn:conditionExpression xsi:type=\"bpmn:tFormalExpression\" "
         "xmlns:xsi=\"http://www.w3.org/2001/XMLSchema-instance\">not requester_is_sales_rep</bpmn:conditionExpression>")
END_OF_PROCESS = "  </bpmn:process>\n"


def edited(old: str, new: str, xml: str = BORROWING) -> str:
    assert xml.count(old) == 1, old
    return xml.replace(old, new)


def with_elements(elements: str, xml: str = BORROWING) -> str:
    return edited(END_OF_PROCESS, elements + END_OF_PROCESS, xml)


def deploy_file(engine, tmp_path, xml: str):
    """Deploy a version from a directory, as the command line does (it takes effect at once)."""
    (tmp_path / "dossier_borrowing.bpmn").write_text(xml, encoding="utf-8")
    return engine.deployment.deploy_directory(tmp_path)


@pytest.fixture
def unchecked(engine, monkeypatch):
    """Deploying without the borrowing's own check (Process.check): as if a version had slipped past it,
    or was deployed before it existed. What the loan's service then still refuses is the second defence."""
    processes = engine.extensions.processes
    monkeypatch.setitem(processes, PROCESS, replace(processes[PROCESS], check=None))


def request(engine, username: str, code: str, days: int = 7) -> Instance:
    return engine.cases.start(PROCESS, get_user(username),
                              {"customer_id": get_customer(code).id, "purpose": "核对合同条款", "days": days})


def open_task(instance: Instance) -> Task | None:
    db.session.expire_all()
    return db.session.scalar(select(Task).where(Task.instance_id == instance.id, Task.state == OPEN))


def consent(engine, instance: Instance, username: str, data: dict = APPROVE) -> None:
    task = open_task(instance)
    user = get_user(username)
    if task.assignee_id is None:
        engine.cases.claim(task.id, user)
    engine.cases.complete(task.id, user, data)


def loans() -> list[DossierLoan]:
    db.session.expire_all()
    return list(db.session.scalars(select(DossierLoan).order_by(DossierLoan.id)))


def incidents() -> list[Incident]:
    db.session.expire_all()
    return list(db.session.scalars(select(Incident).order_by(Incident.id)))


def versions() -> list[int]:
    db.session.expire_all()
    return [d.version for d in definitions.versions(PROCESS)]


def words(level: str) -> str:
    """How a refusal names a consent level, in the language it is read in."""
    return str(borrowing.CONSENT_WORDS[level])


def named(problems, element: str, *words: str) -> bool:
    return any((p.element if hasattr(p, "element") else p["element"]) == element
               and all(w in (p.message if hasattr(p, "message") else p["message"]) for w in words) for p in problems)


# -- the first defence: deploying refuses a loan without the consents ------------------------------------

def test_the_ten_year_loan_uploaded_by_an_administrator_is_refused_at_deploy(app, engine):
    admin = Browser(app)
    admin.login("admin")
    page = "/admin/processes/dossier_borrowing"
    checked = admin.client.post(f"{page}/check", json={"xml": TEN_YEARS}, headers={"X-CSRFToken": admin.csrf(page)})
    assert named(checked.get_json()["problems"], "grant_loan", "territory rep", "business department",
                 "branch manager"), checked.get_json()
    uploaded = admin.client.post(f"{page}/deploy", content_type="multipart/form-data", follow_redirects=True, data={
        "file": (io.BytesIO(TEN_YEARS.encode()), "dossier_borrowing.bpmn"), "change_note": "简化借阅",
        "csrf_token": admin.csrf(page)})
    assert "grant_loan: the loan can be reached from the start without" in uploaded.get_data(as_text=True)
    modeler = admin.client.post(f"{page}/deploy", json={"xml": TEN_YEARS, "change_note": "简化借阅"},
                                headers={"X-CSRFToken": admin.csrf(page)})
    assert modeler.status_code == 400 and named(modeler.get_json()["problems"], "grant_loan", "consent")
    assert versions() == [1]


def test_the_command_line_refuses_it_too(engine, tmp_path):
    with pytest.raises(DefinitionError) as refused:
        deploy_file(engine, tmp_path, TEN_YEARS)
    assert named(refused.value.problems, "grant_loan", "territory rep")
    assert versions() == [1]


@pytest.mark.parametrize("xml, lacking", [
    # The rep's refusal leads to the loan, past the business department.
    (edited(REP_REFUSED, REP_REFUSED.replace('targetRef="rejected"', 'targetRef="grant_loan"')), "business department"),
    # The branch manager's step is left out for everyone.
    (edited(THIRD, THIRD.replace("not requester_is_sales_rep", "requester_is_sales_rep and False")), "branch manager"),
    # A condition that keeps the manager out whoever asks.
    (edited(THIRD, THIRD.replace("not requester_is_sales_rep", "not requester_is_sales_rep and not True")),
     "branch manager"),
    # A second grant straight after the request.
    (with_elements("""    <bpmn:serviceTask id="grant_early" camunda:type="external" camunda:topic="grant_dossier_loan">
      <bpmn:incoming>flow_early</bpmn:incoming><bpmn:outgoing>flow_early_done</bpmn:outgoing></bpmn:serviceTask>
    <bpmn:sequenceFlow id="flow_early" sourceRef="request_filed" targetRef="grant_early" />
    <bpmn:sequenceFlow id="flow_early_done" sourceRef="grant_early" targetRef="approved" />
"""), "territory rep"),
], ids=["refusal-to-the-loan", "no-manager", "manager-never", "early-grant"])
def test_a_version_whose_loan_skips_a_consent_is_refused_naming_the_grant(engine, tmp_path, xml, lacking):
    problems = engine.deployment.check_document(xml, "dossier_borrowing.bpmn", PROCESS, {})
    grant = "grant_early" if "grant_early" in xml else "grant_loan"
    assert named(problems, grant, lacking), problems
    with pytest.raises(DefinitionError):
        deploy_file(engine, tmp_path, xml)
    assert versions() == [1]


def test_versions_that_keep_the_consents_deploy(engine, tmp_path):
    renamed = BORROWING.replace('name="业务部主管同意"', 'name="业务部主管审核"')
    assert engine.deployment.check_document(renamed, "dossier_borrowing.bpmn", PROCESS, {}) == []
    assert engine.deployment.check_document(BORROWING, "dossier_borrowing.bpmn", PROCESS, {}) == []


# -- the second defence: the loan's service checks the recorded consents ---------------------------------

def test_the_ten_year_loan_deployed_past_the_check_is_refused_into_an_incident(engine, tmp_path, unchecked):
    assert deploy_file(engine, tmp_path, TEN_YEARS)
    with pytest.raises(DefinitionFault) as refused:
        request(engine, "admin", "HB-N1-001")
    assert "grant_loan" in str(refused.value.message)
    assert loans() == []
    assert db.session.scalar(select(func.count(Instance.id))) == 0  # nothing of the step was kept
    (incident,) = incidents()
    assert (incident.element, incident.operation, incident.actor.username) == ("grant_loan", "start", "admin")
    assert "ServiceRefused" in incident.error and words(borrowing.REP) in incident.error


def test_the_service_itself_refuses_a_case_without_its_consents(engine):
    instance = request(engine, "rep_n1", "HD-E1-001")
    data = {**instance.start_data}
    with pytest.raises(ServiceRefused) as refused:
        borrowing.grant_loan(ServiceCall(data, engine.uow.case(instance, None)))
    assert words(borrowing.REP) in str(refused.value) and words(borrowing.BUSINESS) in str(refused.value)
    consent(engine, instance, "rep_e1")
    with pytest.raises(ServiceRefused) as refused:  # one consent of two
        borrowing.grant_loan(ServiceCall(data, engine.uow.case(db.session.get(Instance, instance.id), None)))
    assert words(borrowing.BUSINESS) in str(refused.value) and words(borrowing.REP) not in str(refused.value)
    db.session.rollback()
    assert loans() == []


def test_a_refusal_the_diagram_ignores_grants_nothing(engine, tmp_path):
    """The rep refuses; this version sends a refusal to the business department anyway (it passes the
    deploy check: every path still passes both consent steps). The loan is refused: the rep never consented."""
    deploy_file(engine, tmp_path, edited(REP_REFUSED, REP_REFUSED.replace('targetRef="rejected"',
                                                                          'targetRef="consent_business_dept"')))
    instance = request(engine, "rep_e2", "HD-E1-002")
    consent(engine, instance, "rep_e1", {"decision": "reject", "comment": "不同意借阅"})
    business = open_task(instance)
    engine.cases.claim(business.id, get_user("biz_east"))
    with pytest.raises(DefinitionFault) as refused:
        engine.cases.complete(business.id, get_user("biz_east"), APPROVE)
    assert words(borrowing.REP) in str(refused.value.message)
    assert open_task(instance).id == business.id  # the consent step was not kept either
    assert loans() == []
    (incident,) = incidents()
    assert (incident.element, incident.operation, incident.task_id) == ("grant_loan", "complete", business.id)


def test_days_the_diagram_changes_after_the_consents_grant_nothing(engine, tmp_path):
    deploy_file(engine, tmp_path, with_elements(
        """    <bpmn:scriptTask id="extend"><bpmn:incoming>flow_no_third_consent</bpmn:incoming>
      <bpmn:outgoing>flow_extended</bpmn:outgoing><bpmn:script>days = 3650</bpmn:script></bpmn:scriptTask>
    <bpmn:sequenceFlow id="flow_extended" sourceRef="extend" targetRef="grant_loan" />
""", edited(NO_THIRD, NO_THIRD.replace('targetRef="grant_loan"', 'targetRef="extend"'))))
    instance = request(engine, "rep_e2", "HD-E1-002")
    consent(engine, instance, "rep_e1")
    with pytest.raises(DefinitionFault) as refused:
        consent(engine, instance, "biz_east")
    assert str(borrowing.REQUEST_CHANGED) in str(refused.value.message)
    assert loans() == [] and incidents()[0].element == "grant_loan"


def test_an_administrator_consenting_in_the_reps_place_grants_nothing(engine):
    """An administrator may reassign a step (on record), but he does not become the one whose consent the
    company requires: the loan is refused."""
    instance = request(engine, "rep_e2", "HD-E1-002")
    admin = get_user("admin")
    engine.admin.reassign(open_task(instance).id, admin, admin, "代为处理")
    consent(engine, instance, "admin")
    with pytest.raises(DefinitionFault) as refused:
        consent(engine, instance, "biz_east")
    assert words(borrowing.REP) in str(refused.value.message) and loans() == []


def test_more_than_thirty_days_are_refused_at_the_request(engine):
    with pytest.raises(InvalidData) as refused:
        request(engine, "rep_e2", "HD-E1-002", days=3650)
    assert "days" in refused.value.fields


# -- what still grants a loan ------------------------------------------------------------------------------

def test_a_rep_of_another_territory_gets_his_loan_with_two_consents(engine):
    instance = request(engine, "rep_e2", "HD-E1-002", days=5)
    consent(engine, instance, "rep_e1")
    consent(engine, instance, "biz_east")
    (loan,) = loans()
    assert (loan.borrower.username, loan.customer_id, loan.days, loan.instance_id) == (
        "rep_e2", get_customer("HD-E1-002").id, 5, instance.id)
    assert db.session.get(Instance, instance.id).outcome == "approved" and incidents() == []


def test_another_department_gets_its_loan_with_three_consents(engine):
    instance = request(engine, "spec_east", "HD-E1-001", days=30)
    consent(engine, instance, "rep_e1")
    consent(engine, instance, "biz_east")
    assert loans() == []
    consent(engine, instance, "mgr_east")
    (loan,) = loans()
    assert (loan.borrower.username, loan.days) == ("spec_east", 30)


def test_a_consent_handed_on_by_the_rep_still_counts(engine):
    instance = request(engine, "rep_n1", "HD-E1-001")
    engine.operations.transfer(open_task(instance).id, get_user("rep_e1"), get_user("spec_east"), "请代我处理")
    consent(engine, instance, "spec_east")
    consent(engine, instance, "biz_east")
    assert [loan.borrower.username for loan in loans()] == ["rep_n1"]


def test_a_revised_request_is_the_one_lent(engine):
    """Sent back to the initiator, who asks for fewer days: the loan is for what he asked the second time."""
    instance = request(engine, "rep_e2", "HD-E1-001", days=20)
    revise = engine.operations.send_back(open_task(instance).id, get_user("rep_e1"), "request", "时间太长")
    engine.cases.complete(revise.id, get_user("rep_e2"), {"customer_id": get_customer("HD-E1-001").id,
                                                          "purpose": "只核对三月合同", "days": 3})
    consent(engine, instance, "rep_e1")
    consent(engine, instance, "biz_east")
    (loan,) = loans()
    assert (loan.days, loan.purpose) == (3, "只核对三月合同")
