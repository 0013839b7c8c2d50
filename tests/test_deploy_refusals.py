"""What a deploy refuses (issue 15): an uploaded or edited definition that would deploy another process,
pull in other documents, never end or explode at once, hold an expression too large to compile, or a
decision table cell the sandbox refuses. Each is a refused document whose problems name the element,
never a 500 and never a stored row; the files of processes/ all still deploy."""
from pathlib import Path

import pytest
from conftest import get_user
from sqlalchemy import func, select

from app import db
from app.engine import definitions, validation
from app.engine.definitions import DefinitionError
from app.engine.models import ProcessDefinition

PROCESSES = Path(__file__).resolve().parent.parent / "processes"
BORROWING = (PROCESSES / "dossier_borrowing.bpmn").read_text(encoding="utf-8")
KEY = "dossier_borrowing"
END_OF_PROCESS = "  </bpmn:process>\n"
XSI = 'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"'
START_FLOW = '<bpmn:sequenceFlow id="flow_to_rep" sourceRef="request_filed" targetRef="consent_territory_rep" />'
REP_REFUSED = '<bpmn:sequenceFlow id="flow_rep_refused" name="不同意" sourceRef="rep_decision" targetRef="rejected" />'


def stored() -> tuple[int, int, int]:
    """How many versions there are, and the star rating's and the borrowing's newest version numbers."""
    db.session.expire_all()
    return (db.session.scalar(select(func.count(ProcessDefinition.id))),
            definitions.newest_version("star_rating").version, definitions.newest_version(KEY).version)


def edited(old: str, new: str, xml: str = BORROWING) -> str:
    assert xml.count(old) == 1, old
    return xml.replace(old, new)


def with_elements(elements: str, xml: str = BORROWING) -> str:
    """The borrowing document with more flow elements in its process."""
    return edited(END_OF_PROCESS, elements + END_OF_PROCESS, xml) if xml.count(END_OF_PROCESS) == 1 else \
        xml.replace(END_OF_PROCESS, elements + END_OF_PROCESS, 1)


def refused_upload(engine, xml: str, key: str = KEY, dmn_files: dict | None = None) -> list:
    """The problems of an upload of process `key`, checked and deployed: both refuse it, nothing is stored."""
    dmn_files = dmn_files if dmn_files is not None else dict(definitions.latest_definition(key).dmn_xml)
    before = stored()
    checked = engine.deployment.check_document(xml, f"{key}.bpmn", key, dmn_files)
    with pytest.raises(DefinitionError) as refusal:
        engine.deployment.deploy_document(xml, f"{key}.bpmn", key, get_user("admin"), "试试", dmn_files)
    assert stored() == before
    assert [(p.element, p.message) for p in checked] == [(p.element, p.message) for p in refusal.value.problems]
    assert checked, "the check lists the problems too"
    return refusal.value.problems


def refused_page(admin, xml: str, key: str = KEY) -> list[dict]:
    """The modeler's Deploy of the document: a 400 with problems, nothing stored."""
    before = stored()
    response = admin.client.post(f"/admin/processes/{key}/deploy", json={"xml": xml, "change_note": "试试"},
                                 headers={"X-CSRFToken": admin.csrf(f"/admin/processes/{key}")})
    assert response.status_code == 400, response.get_data(as_text=True)[:500]
    assert stored() == before
    return response.get_json()["problems"]


def named(problems, element, *words) -> bool:
    for problem in problems:
        element_of, message = (problem["element"], problem["message"]) if isinstance(problem, dict) else \
            (problem.element, problem.message)
        if element_of == element and all(word in message for word in words):
            return True
    return False


# 1. One file, one process ------------------------------------------------------------------------------

ANOTHER_STAR_RATING = """  <bpmn:process id="star_rating" name="客户星级评定" isExecutable="true">
    <bpmn:startEvent id="other_start"><bpmn:outgoing>other_flow</bpmn:outgoing></bpmn:startEvent>
    <bpmn:sequenceFlow id="other_flow" sourceRef="other_start" targetRef="other_end" />
    <bpmn:endEvent id="other_end"><bpmn:incoming>other_flow</bpmn:incoming></bpmn:endEvent>
  </bpmn:process>
"""


def test_an_upload_deploys_only_the_process_it_is_uploaded_for(app, engine, admin, tmp_path):
    hostile = edited(END_OF_PROCESS, END_OF_PROCESS + ANOTHER_STAR_RATING)
    problems = refused_upload(engine, hostile)
    assert named(problems, "star_rating", "another executable process", "dossier_borrowing"), problems
    assert named(refused_page(admin, hostile), "star_rating", "another executable process")
    # A process that is not executable (a collaboration's participant, say) is fine, and only the
    # borrowing gets a new version.
    count, star_version, borrowing_version = stored()
    participant = edited(END_OF_PROCESS, END_OF_PROCESS + ANOTHER_STAR_RATING.replace(
        'id="star_rating" name="客户星级评定" isExecutable="true"', 'id="customer_side" isExecutable="false"'))
    deployed = engine.deployment.deploy_document(participant, f"{KEY}.bpmn", KEY, get_user("admin"), "参与方",
                                                 {})
    assert (deployed.key, stored()) == (KEY, (count + 1, star_version, borrowing_version + 1))
    # The files of processes/ still deploy every executable process they hold.
    (tmp_path / "dossier_borrowing.bpmn").write_text(hostile, encoding="utf-8")
    assert {d.key for d in engine.deployment.deploy_directory(tmp_path)} == {KEY, "star_rating"}


def test_a_file_holding_two_processes_is_edited_one_process_at_a_time(engine):
    """early_warning.bpmn holds the routine report too: an edit of the one deploys it alone, the other as it
    is deployed; an edit that changes the other is refused."""
    document = definitions.latest_definition("early_warning").bpmn_xml
    reports = [d.version for d in definitions.versions("warning_report")]
    renamed = edited('name="客户触及预警指标"', 'name="客户触及或接近预警指标"', document)
    deployed = engine.deployment.deploy_document(renamed, "early_warning.bpmn", "early_warning", get_user("admin"),
                                                 "改名", {})
    assert deployed.key == "early_warning" and deployed.version == 2
    db.session.expire_all()
    assert [d.version for d in definitions.versions("warning_report")] == reports
    both_changed = edited('name="分公司报送例行预警报告"', 'name="分公司报送预警报告"', renamed)
    problems = refused_upload(engine, both_changed, key="early_warning")
    assert named(problems, "warning_report", "differs from its deployed version"), problems


# 2. Inclusion ------------------------------------------------------------------------------------------

XINCLUDE = ('<xi:include xmlns:xi="http://www.w3.org/2001/XInclude" href="file:///etc/passwd" parse="text" />'
            "\n")


@pytest.mark.parametrize("hostile, words", [
    (edited(END_OF_PROCESS, "    " + XINCLUDE + END_OF_PROCESS), "XInclude"),
    (edited('<bpmn:documentation>', '<bpmn:documentation>' + XINCLUDE), "XInclude"),
    (edited('<?xml version="1.0" encoding="UTF-8"?>\n',
            '<?xml version="1.0" encoding="UTF-8"?>\n<?xml-stylesheet type="text/xsl" href="http://evil.example/x.xsl"?>\n'),
     "processing instruction"),
    (edited(END_OF_PROCESS, '    <?include href="other.bpmn"?>\n' + END_OF_PROCESS), "processing instruction"),
    (edited('  <bpmn:process id="dossier_borrowing"',
            '  <bpmn:import importType="http://www.omg.org/spec/BPMN/20100524/MODEL" location="http://evil.example/x.bpmn"'
            ' namespace="http://evil.example" />\n  <bpmn:process id="dossier_borrowing"'), "import"),
])
def test_xinclude_and_processing_instructions_are_refused_like_dtds(engine, admin, hostile, words):
    (problem,) = refused_upload(engine, hostile)
    assert problem.element is None and words in problem.message and "not allowed" in problem.message
    assert any(words in p["message"] for p in refused_page(admin, hostile))


def test_a_decision_table_with_an_xinclude_is_refused(engine):
    table = definitions.latest_definition("star_rating").dmn_xml["star_suggestion.dmn"]
    assert "<rule " in table
    hostile = table.replace("<rule ", XINCLUDE + "<rule ", 1)
    latest = definitions.latest_definition("star_rating")
    (problem,) = refused_upload(engine, latest.bpmn_xml, key="star_rating",
                                dmn_files={"star_suggestion.dmn": hostile})
    assert "star_suggestion.dmn" in problem.message and "XInclude" in problem.message


# 3. Flows that never end or explode at once ------------------------------------------------------------

def test_a_call_activity_calling_its_own_process_is_refused(engine, admin):
    direct = with_elements("""    <bpmn:callActivity id="call_again" calledElement="dossier_borrowing">
      <bpmn:incoming>flow_to_rep</bpmn:incoming><bpmn:outgoing>flow_called</bpmn:outgoing>
    </bpmn:callActivity>
    <bpmn:sequenceFlow id="flow_called" sourceRef="call_again" targetRef="consent_territory_rep" />
""", edited(START_FLOW, START_FLOW.replace('targetRef="consent_territory_rep"', 'targetRef="call_again"')))
    problems = refused_upload(engine, direct)
    assert [(p.element, p.message) for p in problems] == [
        ("call_again", "calls its own process 'dossier_borrowing': the calls would never end")]
    assert named(refused_page(admin, direct), "call_again", "calls its own process")
    # Through another process of the same document that calls it back (SpiffWorkflow calls only executable
    # ones; the upload deploys only the borrowing, of which the process it calls is part).
    helper = """  <bpmn:process id="helper" isExecutable="true">
    <bpmn:startEvent id="helper_start"><bpmn:outgoing>helper_1</bpmn:outgoing></bpmn:startEvent>
    <bpmn:sequenceFlow id="helper_1" sourceRef="helper_start" targetRef="call_back" />
    <bpmn:callActivity id="call_back" calledElement="dossier_borrowing">
      <bpmn:incoming>helper_1</bpmn:incoming><bpmn:outgoing>helper_2</bpmn:outgoing>
    </bpmn:callActivity>
    <bpmn:sequenceFlow id="helper_2" sourceRef="call_back" targetRef="helper_end" />
    <bpmn:endEvent id="helper_end"><bpmn:incoming>helper_2</bpmn:incoming></bpmn:endEvent>
  </bpmn:process>
"""
    indirect = edited(END_OF_PROCESS, END_OF_PROCESS + helper,
                      direct.replace('calledElement="dossier_borrowing"', 'calledElement="helper"'))
    problems = refused_upload(engine, indirect)
    assert named(problems, "call_again", "calls 'helper'", "helper → dossier_borrowing"), problems
    assert named(problems, "call_back", "calls 'dossier_borrowing'"), problems


REMINDER = """    <bpmn:boundaryEvent id="rep_reminder" cancelActivity="false" attachedToRef="consent_territory_rep">
      <bpmn:outgoing>flow_reminded</bpmn:outgoing>
      <bpmn:timerEventDefinition><bpmn:timeCycle xsi:type="bpmn:tFormalExpression" {xsi}>{cycle}</bpmn:timeCycle></bpmn:timerEventDefinition>
    </bpmn:boundaryEvent>
    <bpmn:sequenceFlow id="flow_reminded" sourceRef="rep_reminder" targetRef="reminded" />
    <bpmn:endEvent id="reminded"><bpmn:incoming>flow_reminded</bpmn:incoming></bpmn:endEvent>
"""


@pytest.mark.parametrize("cycle", ["'R/PT0S'", "'R5/PT0S'", "'R/P0D'", "'R3/PT0H0M0S'", "'R/P0Y0M0DT0H0M0S'"])
def test_a_timer_cycle_of_no_time_is_refused(engine, admin, cycle):
    hostile = with_elements(REMINDER.format(xsi=XSI, cycle=cycle))
    problems = refused_upload(engine, hostile)
    assert named(problems, "rep_reminder", "timer cycle", "no time at all"), problems
    assert named(refused_page(admin, hostile), "rep_reminder", "timer cycle")


def test_a_timer_cycle_that_takes_time_deploys(engine):
    engine.deployment.deploy_document(with_elements(REMINDER.format(xsi=XSI, cycle="'R3/P1D'")), f"{KEY}.bpmn",
                                      KEY, get_user("admin"), "每天提醒", {})
    assert stored()[2] == 2


PARALLEL_SPIN = """    <bpmn:parallelGateway id="fork">
      <bpmn:incoming>flow_to_rep</bpmn:incoming><bpmn:incoming>flow_spun</bpmn:incoming>
      <bpmn:outgoing>flow_fork_rep</bpmn:outgoing><bpmn:outgoing>flow_fork_spin</bpmn:outgoing>
    </bpmn:parallelGateway>
    <bpmn:scriptTask id="spin"><bpmn:incoming>flow_fork_spin</bpmn:incoming><bpmn:outgoing>flow_spun</bpmn:outgoing>
      <bpmn:script>laps = 1</bpmn:script></bpmn:scriptTask>
    <bpmn:sequenceFlow id="flow_fork_rep" sourceRef="fork" targetRef="consent_territory_rep" />
    <bpmn:sequenceFlow id="flow_fork_spin" sourceRef="fork" targetRef="spin" />
    <bpmn:sequenceFlow id="flow_spun" sourceRef="spin" targetRef="fork" />
"""
EXCLUSIVE_SPIN = """    <bpmn:scriptTask id="ask_again"><bpmn:incoming>flow_rep_refused</bpmn:incoming>
      <bpmn:outgoing>flow_asked</bpmn:outgoing><bpmn:script>asked = 1</bpmn:script></bpmn:scriptTask>
    <bpmn:serviceTask id="grant_again" camunda:type="external" camunda:topic="grant_dossier_loan">
      <bpmn:incoming>flow_asked</bpmn:incoming><bpmn:outgoing>flow_granted_again</bpmn:outgoing></bpmn:serviceTask>
    <bpmn:sequenceFlow id="flow_asked" sourceRef="ask_again" targetRef="grant_again" />
    <bpmn:sequenceFlow id="flow_granted_again" sourceRef="grant_again" targetRef="rep_decision" />
"""


@pytest.mark.parametrize("old, new, elements, element, through", [
    (START_FLOW, START_FLOW.replace('targetRef="consent_territory_rep"', 'targetRef="fork"'), PARALLEL_SPIN,
     "fork", "fork → spin → fork"),
    (REP_REFUSED, REP_REFUSED.replace('targetRef="rejected"', 'targetRef="ask_again"'), EXCLUSIVE_SPIN,
     "rep_decision", "rep_decision → ask_again → grant_again → rep_decision"),
], ids=["parallel gateway", "exclusive gateway"])
def test_a_loop_with_nothing_to_wait_for_is_refused(engine, admin, old, new, elements, element, through):
    hostile = with_elements(elements, edited(old, new))
    problems = refused_upload(engine, hostile)
    assert named(problems, element, "leads back to itself through " + through, "no user task"), problems
    assert named(refused_page(admin, hostile), element, "leads back to itself")


def test_a_loop_in_a_called_process_is_refused(engine):
    spinning = """  <bpmn:process id="helper" isExecutable="true">
    <bpmn:startEvent id="helper_start"><bpmn:outgoing>helper_1</bpmn:outgoing></bpmn:startEvent>
    <bpmn:sequenceFlow id="helper_1" sourceRef="helper_start" targetRef="helper_loop" />
    <bpmn:exclusiveGateway id="helper_loop" />
    <bpmn:sequenceFlow id="helper_2" sourceRef="helper_loop" targetRef="helper_script" />
    <bpmn:scriptTask id="helper_script"><bpmn:script>n = 1</bpmn:script></bpmn:scriptTask>
    <bpmn:sequenceFlow id="helper_3" sourceRef="helper_script" targetRef="helper_loop" />
  </bpmn:process>
"""
    calling = with_elements("""    <bpmn:callActivity id="call_helper" calledElement="helper" />
    <bpmn:sequenceFlow id="flow_called" sourceRef="call_helper" targetRef="consent_territory_rep" />
""", edited(START_FLOW, START_FLOW.replace('targetRef="consent_territory_rep"', 'targetRef="call_helper"')))
    problems = refused_upload(engine, edited(END_OF_PROCESS, END_OF_PROCESS + spinning, calling))
    assert named(problems, "helper_loop", "helper_loop → helper_script → helper_loop"), problems


def test_a_loop_through_a_person_or_a_timer_deploys(engine):
    """Sending a refusal back to the rep waits for him on every lap: not a spin."""
    back = edited(REP_REFUSED, REP_REFUSED.replace('targetRef="rejected"', 'targetRef="ask_again"'))
    back = with_elements("""    <bpmn:scriptTask id="ask_again"><bpmn:incoming>flow_rep_refused</bpmn:incoming>
      <bpmn:outgoing>flow_asked</bpmn:outgoing><bpmn:script>asked = 1</bpmn:script></bpmn:scriptTask>
    <bpmn:intermediateCatchEvent id="a_day_later"><bpmn:incoming>flow_asked</bpmn:incoming>
      <bpmn:outgoing>flow_waited</bpmn:outgoing>
      <bpmn:timerEventDefinition><bpmn:timeDuration>'P1D'</bpmn:timeDuration></bpmn:timerEventDefinition>
    </bpmn:intermediateCatchEvent>
    <bpmn:sequenceFlow id="flow_asked" sourceRef="ask_again" targetRef="a_day_later" />
    <bpmn:sequenceFlow id="flow_waited" sourceRef="a_day_later" targetRef="rep_decision" />
""", back)
    assert engine.deployment.check_document(back, f"{KEY}.bpmn", KEY, {}) == []
    to_the_rep = back.replace('<bpmn:sequenceFlow id="flow_waited" sourceRef="a_day_later" targetRef="rep_decision" />',
                              '<bpmn:sequenceFlow id="flow_waited" sourceRef="a_day_later" targetRef="consent_territory_rep" />')
    assert engine.deployment.check_document(to_the_rep, f"{KEY}.bpmn", KEY, {}) == []


# 4. Expressions too large to compile -------------------------------------------------------------------

CONDITION = "decision == 'approve'</bpmn:conditionExpression>"


@pytest.mark.parametrize("expression, words", [
    ("1+" * 200_000 + "1", "too long"),
    ("not " * 200_000 + "x", "too long"),
    ("1+" * 4_999 + "1", "nested too deeply"),  # under the limit, still too deep for the compiler
    ("not " * 2_499 + "x", "nested too deeply"),
    ("-" * 9_999 + "x", "nested too deeply"),
])
def test_an_expression_too_large_to_compile_is_refused(engine, admin, expression, words):
    hostile = BORROWING.replace(CONDITION, f"{expression}</bpmn:conditionExpression>", 1)
    problems = refused_upload(engine, hostile)
    assert named(problems, "rep_decision", words), [str(p)[:200] for p in problems]
    assert all(len(p.message) < 1_000 for p in problems)
    assert named(refused_page(admin, hostile), "rep_decision", words)


def test_a_script_too_long_is_refused(engine, tmp_path):
    script = "x = 1\n" * (validation.MAX_EXPRESSION_CHARS // 6 + 1)
    hostile = with_elements(f"""    <bpmn:scriptTask id="long_script"><bpmn:incoming>flow_to_rep</bpmn:incoming>
      <bpmn:outgoing>flow_scripted</bpmn:outgoing><bpmn:script>{script}</bpmn:script></bpmn:scriptTask>
    <bpmn:sequenceFlow id="flow_scripted" sourceRef="long_script" targetRef="consent_territory_rep" />
""", edited(START_FLOW, START_FLOW.replace('targetRef="consent_territory_rep"', 'targetRef="long_script"')))
    problems = refused_upload(engine, hostile)
    assert named(problems, "long_script", "a script of", "too long", str(validation.MAX_EXPRESSION_CHARS)), problems


# 5. Decision tables of business rule tasks -------------------------------------------------------------

RULE_PROCESS = """<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
                  xmlns:camunda="http://camunda.org/schema/1.0/bpmn" id="Definitions_rule_check"
                  targetNamespace="http://bpmn.io/schema/bpmn">
  <bpmn:process id="rule_check" name="规则检查" isExecutable="true">
    <bpmn:startEvent id="rule_start"><bpmn:outgoing>rule_1</bpmn:outgoing></bpmn:startEvent>
    <bpmn:sequenceFlow id="rule_1" sourceRef="rule_start" targetRef="decide_level" />
    <bpmn:businessRuleTask id="decide_level" name="定级" camunda:decisionRef="level_table">
      <bpmn:incoming>rule_1</bpmn:incoming><bpmn:outgoing>rule_2</bpmn:outgoing>
    </bpmn:businessRuleTask>
    <bpmn:sequenceFlow id="rule_2" sourceRef="decide_level" targetRef="rule_end" />
    <bpmn:endEvent id="rule_end"><bpmn:incoming>rule_2</bpmn:incoming></bpmn:endEvent>
  </bpmn:process>
</bpmn:definitions>
"""
RULE_TABLE = """<?xml version="1.0" encoding="UTF-8"?>
<definitions xmlns="https://www.omg.org/spec/DMN/20191111/MODEL/" id="levels" name="levels"
             namespace="http://camunda.org/schema/1.0/dmn">
  <decision id="level_table" name="Level">
    <decisionTable id="level_decision_table">
      <input id="input_tons" label="tons">
        <inputExpression id="input_tons_expression" typeRef="number"><text>{input}</text></inputExpression>
      </input>
      <output id="output_level" label="level" name="level" typeRef="number" />
      <rule id="big_customer">
        <inputEntry id="big_customer_tons"><text>&gt;= 1000</text></inputEntry>
        <outputEntry id="big_customer_level"><text>{first}</text></outputEntry>
      </rule>
      <rule id="small_customer">
        <inputEntry id="small_customer_tons"><text>{entry}</text></inputEntry>
        <outputEntry id="small_customer_level"><text>2</text></outputEntry>
      </rule>
    </decisionTable>
  </decision>
</definitions>
"""


def deploy_rule_files(engine, tmp_path, **cells) -> list:
    (tmp_path / "rule_check.bpmn").write_text(RULE_PROCESS, encoding="utf-8")
    (tmp_path / "levels.dmn").write_text(RULE_TABLE.format(**{"input": "tons", "first": "1", "entry": "&lt; 1000",
                                                              **cells}), encoding="utf-8")
    return engine.deployment.deploy_directory(tmp_path)


@pytest.mark.parametrize("cells, where, words", [
    ({"first": "open('/etc/passwd').read()"}, "rule 1 (big_customer)", '"open" is not allowed'),
    ({"entry": "&lt; ().__class__.__base__"}, "rule 2 (small_customer)", "__class__"),
    ({"input": "tons.__class__"}, "input 'tons'", "__class__"),
    ({"entry": "&lt; " + "1+" * 6_000 + "1"}, "rule 2 (small_customer)", "too long"),
])
def test_a_business_rule_tasks_decision_table_is_compiled_at_deploy(engine, tmp_path, cells, where, words):
    before = stored()
    with pytest.raises(DefinitionError) as refusal:
        deploy_rule_files(engine, tmp_path, **cells)
    assert stored() == before and definitions.latest_definition("rule_check") is None
    assert named(refusal.value.problems, "decide_level", "decision 'level_table'", where, words), \
        refusal.value.problems


def test_a_business_rule_task_without_its_decision_is_refused(engine, tmp_path):
    (tmp_path / "rule_check.bpmn").write_text(RULE_PROCESS.replace(' camunda:decisionRef="level_table"', ""),
                                              encoding="utf-8")
    with pytest.raises(DefinitionError) as refusal:
        engine.deployment.deploy_directory(tmp_path)
    assert "camunda:decisionRef" in str(refusal.value) and definitions.latest_definition("rule_check") is None


def test_a_business_rule_task_with_a_sound_table_deploys(engine, tmp_path):
    (definition,) = deploy_rule_files(engine, tmp_path)
    assert (definition.key, list(definition.dmn_xml)) == ("rule_check", ["levels.dmn"])


# The files of processes/ ------------------------------------------------------------------------------

def test_the_files_of_processes_all_still_deploy(app, engine, tmp_path):
    """Every file of processes/ (and the tests' own) passes every check, the loop rules included: they
    deploy into an empty directory's worth of new versions without a problem."""
    for directory in (PROCESSES, PROCESSES.parent / "tests" / "processes", PROCESSES.parent / "tests" / "sample_flow"):
        dmn_files = definitions.dmn_files(str(directory))
        for path in definitions.bpmn_files(str(directory)):
            xml = path.read_text(encoding="utf-8")
            definitions.checked_xml(xml, path.name)
            parser, root = definitions._parse(xml, path.name, dmn_files)
            for process in definitions._executable_processes(root):
                key = process.get("id")
                specs = [parser.get_spec(key), *parser.get_subprocess_specs(key).values()]
                assert validation._loop_problems(process) == [], key
                assert validation._call_cycle_problems(specs) == [], key
    assert engine.deployment.deploy_directory(app.config["PROCESSES_DIR"]) == []  # unchanged, and valid
    for key in ("dossier_borrowing", "star_rating", "credit_rating", "complaint_handling", "early_warning",
                "warning_report", "visit_plan", "visit_summary", "dossier_update"):
        latest = definitions.latest_definition(key)
        assert engine.deployment.check_document(latest.bpmn_xml, f"{key}.bpmn", key, dict(latest.dmn_xml)) == [], key
