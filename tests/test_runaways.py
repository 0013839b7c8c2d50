"""Definition text cannot run away (issue 15): every kind of runaway, wherever text appears in a definition
(a script, a gateway condition, a timer, a due date, a DMN cell), is stopped within the bound, rolls its
step back into an incident naming the element and the bound, and leaves the engine serving others —
who meanwhile answer at once. The flow itself cannot run away in one operation either."""
from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace

import pytest
from conftest import get_customer, get_user
from flask import current_app
from sqlalchemy import select

from app import db
from app.calendar import clock
from app.engine.definitions import DefinitionError
from app.engine.models import OPEN, Event, Incident, Instance, Task
from app.errors import DefinitionFault, InvalidData

BOUND = 1.0  # SANDBOX_SECONDS of the test app (tests/conftest.py)
MARGIN = 1.5  # starting a worker, rolling back, recording the incident

TEMPLATE = """<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
                  xmlns:camunda="http://camunda.org/schema/1.0/bpmn"
                  xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"
                  id="Definitions_runaway" targetNamespace="http://bpmn.io/schema/bpmn">
  <bpmn:process id="runaway" name="失控" isExecutable="true">
    <bpmn:startEvent id="start"><bpmn:outgoing>to_ask</bpmn:outgoing></bpmn:startEvent>
    <bpmn:userTask id="ask" name="确认" camunda:formKey="notice_acknowledge" camunda:assignee="territory_rep"{due}>
      <bpmn:incoming>to_ask</bpmn:incoming><bpmn:outgoing>to_run</bpmn:outgoing>
    </bpmn:userTask>{boundary}
    <bpmn:scriptTask id="run" name="计算">
      <bpmn:incoming>to_run</bpmn:incoming><bpmn:outgoing>to_choose</bpmn:outgoing>
      <bpmn:script>{script}</bpmn:script>
    </bpmn:scriptTask>
    <bpmn:exclusiveGateway id="choose" default="to_done">
      <bpmn:incoming>to_choose</bpmn:incoming><bpmn:outgoing>to_done</bpmn:outgoing><bpmn:outgoing>to_other</bpmn:outgoing>
    </bpmn:exclusiveGateway>
    <bpmn:endEvent id="done"><bpmn:incoming>to_done</bpmn:incoming></bpmn:endEvent>
    <bpmn:endEvent id="other"><bpmn:incoming>to_other</bpmn:incoming></bpmn:endEvent>
    <bpmn:sequenceFlow id="to_ask" sourceRef="start" targetRef="ask" />
    <bpmn:sequenceFlow id="to_run" sourceRef="ask" targetRef="run" />
    <bpmn:sequenceFlow id="to_choose" sourceRef="run" targetRef="choose" />
    <bpmn:sequenceFlow id="to_done" sourceRef="choose" targetRef="done" />
    <bpmn:sequenceFlow id="to_other" sourceRef="choose" targetRef="other">
      <bpmn:conditionExpression xsi:type="bpmn:tFormalExpression">{condition}</bpmn:conditionExpression>
    </bpmn:sequenceFlow>
  </bpmn:process>
</bpmn:definitions>
"""
TIMER = """
    <bpmn:boundaryEvent id="remind" cancelActivity="false" attachedToRef="ask">
      <bpmn:timerEventDefinition><bpmn:timeDuration xsi:type="bpmn:tFormalExpression">{timer}</bpmn:timeDuration></bpmn:timerEventDefinition>
    </bpmn:boundaryEvent>"""

# A few hours of work in one expression, once it has the case's data (deploying tries the definition's
# text on none: what runs away without it is refused there, see the last tests).
SLOW = "len([i for i in range(100000) for j in range(100000) if customer_id])"


def escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def on_case_data(script: str) -> str:
    """The script, run only once the case's data is there."""
    return "if customer_id:\n" + "".join(f"    {line}\n" for line in script.splitlines())


def deploy(engine, tmp_path, script="x = 1", condition="x == 2", timer=None, due=None):
    boundary = TIMER.format(timer=escape(timer)) if timer else ""
    (tmp_path / "runaway.bpmn").write_text(TEMPLATE.format(
        script=escape(script), condition=escape(condition), boundary=boundary,
        due=f' camunda:dueDate="{escape(due)}"' if due else ""), encoding="utf-8")
    engine.deployment.deploy_directory(tmp_path)


def start(engine) -> Instance:
    return engine.cases.start("runaway", get_user("rep_e2"), {"customer_id": get_customer("HD-E1-001").id})


def ask_of(instance) -> Task:
    return db.session.scalar(select(Task).where(Task.instance_id == instance.id, Task.state == OPEN))


def stopped(action, element: str) -> Incident:
    """Run `action`: it must be refused within the bound, with an incident naming `element`."""
    began = time.monotonic()
    with pytest.raises(DefinitionFault) as refused:
        action()
    assert time.monotonic() - began < BOUND + MARGIN, "not stopped within the bound"
    assert element in str(refused.value.message)
    incident = db.session.scalars(select(Incident).order_by(Incident.id.desc())).first()
    assert incident.element == element and incident.resolved_at is None
    return incident


SCRIPTS = {
    "an except that swallows the stop": "while True:\n    try:\n        x = 1\n    except:\n        pass",
    "a finally that outlasts it": "try:\n    while True:\n        x = 1\nfinally:\n    while True:\n        x = 2",
    "replace growing a string": "s = 'ab'\nwhile True:\n    s = s.replace('a', s)",
    "sum over lists": "x = sum([[1] * 1000 for i in range(100000)], [])",
    "a list of big lists": "x = [list(range(100000)) for i in range(100000)]",
    "squaring a big integer": "n = 10 ** 1000\nwhile True:\n    n = n * n",
    "heavy lines under the line budget": "for i in range(90000):\n    s = str(list(range(20000)))",
    "a loop calling a helper": "for i in range(90000):\n    d = working_days(300)",
}


@pytest.mark.parametrize("script", SCRIPTS.values(), ids=SCRIPTS.keys())
def test_a_runaway_script_is_stopped_into_an_incident_and_the_case_keeps_its_state(engine, tmp_path, script):
    deploy(engine, tmp_path, script=on_case_data(script))
    instance = start(engine)
    state = instance.state
    task = ask_of(instance)
    incident = stopped(lambda: engine.cases.complete(task.id, get_user("rep_e1"), {"comment": ""}), "run")
    assert "ScriptLimitExceeded" in incident.error and incident.operation == "complete"
    db.session.expire_all()
    assert ask_of(instance).id == task.id  # nothing of the step was kept
    assert db.session.get(Instance, instance.id).state == state


def test_a_runaway_condition_and_a_finished_case_after_it(engine, tmp_path):
    deploy(engine, tmp_path, condition=f"{SLOW} > 0")
    instance = start(engine)
    stopped(lambda: engine.cases.complete(ask_of(instance).id, get_user("rep_e1"), {"comment": ""}), "choose")
    # The engine goes on serving: the same definition, a condition that ends, on another case.
    deploy(engine, tmp_path, condition="x == 2")
    other = start(engine)
    engine.cases.complete(ask_of(other).id, get_user("rep_e1"), {"comment": ""})
    assert db.session.get(Instance, other.id).status == "completed"


def test_a_runaway_timer_and_due_date_expression_stop_the_start(engine, tmp_path):
    deploy(engine, tmp_path, timer=f"'P' + str({SLOW}) + 'D'")
    stopped(lambda: start(engine), "remind")
    deploy(engine, tmp_path, due=f"'P' + str({SLOW}) + 'D'")
    stopped(lambda: start(engine), "ask")
    assert db.session.scalar(select(Instance.id).where(Instance.process_key == "runaway")) is None


def test_a_runaway_decision_table_cell_is_stopped(engine, tmp_path):
    (tmp_path / "slow.dmn").write_text(f"""<?xml version="1.0" encoding="UTF-8"?>
<definitions xmlns="https://www.omg.org/spec/DMN/20191111/MODEL/" id="slow" name="slow" namespace="x">
  <decision id="slow_table" name="slow">
    <decisionTable id="t" hitPolicy="UNIQUE">
      <input id="i" label="x"><inputExpression id="ie" typeRef="number"><text>x</text></inputExpression></input>
      <output id="o" label="y" name="y" typeRef="integer" />
      <rule id="r"><inputEntry id="e"><text>-</text></inputEntry><outputEntry id="oe"><text>{SLOW}</text></outputEntry></rule>
    </decisionTable>
  </decision>
</definitions>""", encoding="utf-8")
    bpmn = TEMPLATE.format(script="x = 1", condition="x == 2", boundary="", due="").replace(
        '<bpmn:scriptTask id="run" name="计算">', '<bpmn:businessRuleTask id="run" name="计算" camunda:decisionRef="slow_table">'
    ).replace("<bpmn:script>x = 1</bpmn:script>\n    </bpmn:scriptTask>", "</bpmn:businessRuleTask>")
    (tmp_path / "runaway.bpmn").write_text(bpmn, encoding="utf-8")
    engine.deployment.deploy_directory(tmp_path)
    instance = start(engine)
    stopped(lambda: engine.cases.complete(ask_of(instance).id, get_user("rep_e1"), {"comment": ""}), "run")


@pytest.mark.parametrize("text, refused", [
    ("x = 'x'.ljust(10 ** 9)", "ljust"),
    ("x = 'x'.center(10 ** 9)", "center"),
    ("x = f'{1:>999999999}'", "format wider"),
])
def test_what_grows_without_bound_in_one_call_is_refused_at_deploy(engine, tmp_path, text, refused):
    with pytest.raises(DefinitionError, match=refused):
        deploy(engine, tmp_path, script=text)


TIMED = TIMER.replace("</bpmn:boundaryEvent>", "<bpmn:outgoing>to_slow</bpmn:outgoing></bpmn:boundaryEvent>") + f"""
    <bpmn:scriptTask id="slow" name="提醒"><bpmn:incoming>to_slow</bpmn:incoming><bpmn:outgoing>to_reminded</bpmn:outgoing>
      <bpmn:script>x = {escape(SLOW)}</bpmn:script></bpmn:scriptTask>
    <bpmn:endEvent id="reminded"><bpmn:incoming>to_reminded</bpmn:incoming></bpmn:endEvent>
    <bpmn:sequenceFlow id="to_slow" sourceRef="remind" targetRef="slow" />
    <bpmn:sequenceFlow id="to_reminded" sourceRef="slow" targetRef="reminded" />"""


def test_a_runaway_timer_backs_off_into_an_incident_and_the_worker_fires_the_next(engine, tmp_path):
    from datetime import timedelta
    from pathlib import Path

    from conftest import fire_due

    from app.engine.models import Timer
    (tmp_path / "runaway.bpmn").write_text(TEMPLATE.format(
        script="x = 1", condition="x == 2", due="", boundary=TIMED.format(timer="'PT1H'")), encoding="utf-8")
    engine.deployment.deploy_directory(tmp_path)
    engine.deployment.deploy_directory(Path(__file__).parent / "processes")  # consent_with_deadlines
    t0 = clock.now()
    runaway = start(engine)
    other = engine.cases.start("consent_with_deadlines", get_user("rep_e2"), {"customer_id": get_customer("HD-E1-001").id})

    began = time.monotonic()
    assert fire_due(engine, t0 + timedelta(hours=2)) == 1
    assert time.monotonic() - began < BOUND + MARGIN
    incident = db.session.scalars(select(Incident).where(Incident.instance_id == runaway.id)).one()
    assert (incident.operation, incident.element) == ("timer", "slow")
    timer = db.session.scalar(select(Timer).where(Timer.instance_id == runaway.id))
    assert timer.attempts == 1 and "ScriptLimitExceeded" in timer.last_error and timer.due_at > t0 + timedelta(hours=2)
    # The worker goes on: the other case's one-day reminder fires (and the runaway's timer, backed off, fails again).
    fire_due(engine, t0 + timedelta(days=1, minutes=1))
    assert db.session.scalar(select(Event.id).where(Event.instance_id == other.id, Event.type == "timer_fired"))
    assert db.session.scalar(select(Timer).where(Timer.instance_id == runaway.id)).attempts == 2


def test_one_operation_runs_a_bounded_number_of_engine_steps(engine, tmp_path):
    """A multi-instance script over a hundred thousand items: each is quick, together they never end in
    one operation (ENGINE_STEPS)."""
    deploy(engine, tmp_path)
    xml = (tmp_path / "runaway.bpmn").read_text(encoding="utf-8").replace(
        '<bpmn:scriptTask id="run" name="计算">',
        '<bpmn:scriptTask id="run" name="计算"><bpmn:multiInstanceLoopCharacteristics isSequential="true">'
        '<bpmn:loopCardinality>100000</bpmn:loopCardinality></bpmn:multiInstanceLoopCharacteristics>')
    (tmp_path / "runaway.bpmn").write_text(xml, encoding="utf-8")
    engine.deployment.deploy_directory(tmp_path)
    instance = start(engine)
    with pytest.raises(DefinitionFault, match="steps"):
        engine.cases.complete(ask_of(instance).id, get_user("rep_e1"), {"comment": ""})
    incident = db.session.scalars(select(Incident).order_by(Incident.id.desc())).first()
    assert "run" in incident.error and "FlowRanAway" in incident.error


def test_case_data_names_beginning_with_an_underscore_are_refused(engine, api):
    with pytest.raises(InvalidData, match="__builtins__"):
        engine.cases.start("dossier_borrowing", get_user("rep_e2"), {"__builtins__": {}, "_getattr_": 1})
    response = api.post("/processes/consent_with_deadlines/instances", "rep_e2",
                        {"data": {"customer_id": get_customer("HD-E1-001").id, "_getattr_": "x"}})
    assert response.status_code in (400, 404)


def test_others_answer_at_once_while_a_runaway_is_being_stopped(app, engine, tmp_path, api, monkeypatch):
    """While one person's step runs away, twenty requests of others (reads and writes: sign-in, inbox,
    a case page, starting a case, consenting in another case) all answer 2xx within a second."""
    # A runaway that lasts its whole bound, and a bound long enough for the others to be served meanwhile.
    monkeypatch.setattr(engine.uow.evaluators, "limits", replace(engine.uow.evaluators.limits, seconds=4.0))
    deploy(engine, tmp_path, script=on_case_data(SCRIPTS["a finally that outlasts it"]))
    runaway_case = start(engine)
    runaway_task = ask_of(runaway_case)
    borrowed = engine.cases.start("dossier_borrowing", get_user("rep_e2"), {
        "customer_id": get_customer("HD-E1-002").id, "purpose": "并发测试", "days": 3})
    consent = ask_of(borrowed)
    others = {name: api.token(name) for name in ("rep_e1", "rep_e2", "rep_n1", "mgr_east", "spec_east")}
    assert others

    def run_away():
        with app.app_context():
            try:
                current_app.extensions["engine"].cases.complete(runaway_task.id, get_user("rep_e1"), {"comment": ""})
            except DefinitionFault:
                pass

    requests = [("GET", "/tasks", "rep_e1", None), ("GET", f"/instances/{borrowed.id}", "rep_e2", None),
                ("GET", "/notifications", "mgr_east", None), ("GET", "/customers", "spec_east", None)] * 4
    requests += [("POST", "/processes/dossier_borrowing/instances", "rep_n1",
                  {"data": {"customer_id": get_customer("HD-E1-003").id, "purpose": "并发测试", "days": 2}}),
                 ("POST", f"/tasks/{consent.id}/complete", "rep_e1", {"data": {"decision": "approve", "comment": "同意"}}),
                 ("POST", "/tokens", None, {"username": "rep_e2", "password": "demo"}),
                 ("POST", "/notifications/read", "mgr_east", {})]

    db.session.commit()  # the test's own reads end here: it holds no lock while the others are served

    def timed(call):
        method, path, user, body = call
        client = app.test_client()
        began = time.monotonic()
        headers = {"Authorization": f"Bearer {api.tokens[user]}"} if user else {}
        response = client.open(f"/api/v1{path}", method=method, json=body, headers=headers)
        return path, response.status_code, time.monotonic() - began

    runner = threading.Thread(target=run_away)
    runner.start()
    time.sleep(0.2)  # the runaway is running
    with ThreadPoolExecutor(max_workers=4) as pool:
        answers = list(pool.map(timed, requests))
    still_running = runner.is_alive()
    runner.join()
    assert still_running, "the runaway ended before the others were served: the test proves nothing"
    assert len(answers) == 20
    assert all(200 <= status < 300 for _, status, _ in answers), answers
    assert max(seconds for _, _, seconds in answers) < 1.0, answers
    db.session.expire_all()
    assert db.session.scalar(select(Event.id).where(Event.instance_id == runaway_case.id, Event.type == "incident"))


@pytest.mark.parametrize("where", ["script", "condition", "timer", "due"])
def test_text_that_runs_away_without_any_case_data_is_refused_at_deploy(engine, tmp_path, where):
    slow = "len([i for i in range(100000) for j in range(100000)])"
    text = {"script": f"x = {slow}", "condition": f"{slow} > 0", "timer": f"'P' + str({slow}) + 'D'",
            "due": f"'P' + str({slow}) + 'D'"}[where]
    with pytest.raises(DefinitionError, match="tried once"):
        deploy(engine, tmp_path, **{where: text})
