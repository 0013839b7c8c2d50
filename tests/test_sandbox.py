"""Definition text is untrusted: known sandbox escapes are refused when a definition is checked and
again at run time; runaway scripts are stopped. Real RestrictedPython, real SpiffWorkflow."""
import time
from pathlib import Path

import pytest
from conftest import get_user
from sqlalchemy import select

from app import db
from app.engine import sandbox
from app.engine.definitions import DefinitionError
from app.engine.models import ProcessDefinition

# Each one reaches for the interpreter, the operating system or a secret if it is let through.
ESCAPES = [
    "().__class__.__base__.__subclasses__()",
    "[].__class__.__mro__",
    "''.__class__.__mro__[1].__subclasses__()",
    "__import__('os').system('id')",
    "__builtins__",
    "open('/etc/passwd').read()",
    "eval('1+1')",
    "exec('x = 1')",
    "compile('1', 'x', 'eval')",
    "globals()",
    "locals()",
    "vars()",
    "dir()",
    "getattr(1, '__class__')",
    "setattr(x, 'y', 1)",
    "type(1)",
    "object.__subclasses__()",
    "'{0.__class__}'.format(1)",
    "'{0.__class__.__init__.__globals__}'.format(len)",
    "str.format('{0.__class__}', 1)",
    "'{x.__class__}'.format_map({'x': 1})",
    "(x for x in ()).gi_frame.f_back.f_globals",
    "(lambda: 0).__code__",
    "(lambda: 0).__globals__",
    "len.__self__",
    "print.__self__",
    "ｏｐｅｎ('/etc/passwd')",  # fullwidth letters normalise to open
    "ｅｖａｌ('1')",
    "[c for c in ().__class__.__bases__]",
    "_getattr_(1, '__class__')",
    "breakpoint()",
    "help()",
    "memoryview(b'x')",
    "super()",
    "sorted.__module__",
]
SCRIPT_ESCAPES = [
    "import os",
    "from os import system",
    "try:\n    1/0\nexcept Exception as e:\n    f = e.__traceback__.tb_frame",
    "class X:\n    pass",
    "def f():\n    return f.__globals__",
    "x = 1\ndel __builtins__",
]
# Valid code that would hang a worker or exhaust memory: stopped at run time.
BOMBS = [
    ("while True:\n    pass", False),
    ("x = 0\nwhile True:\n    try:\n        x = x + 1\n    except Exception:\n        pass", False),
    ("x = 7 ** 4000000", False),
    ("x = 'a' * 10 ** 9", False),
    ("x = [0] * 1000000000", False),
    ("x = list(range(10 ** 9))", False),
    ("x = 1 << 100000000", False),
    ("'ab' * 100000000", True),
]


@pytest.mark.parametrize("payload", ESCAPES)
def test_an_escape_in_an_expression_is_refused_when_checked_and_at_run_time(payload):
    assert sandbox.check(payload) is not None
    with pytest.raises((sandbox.ScriptRefused, SyntaxError)):
        sandbox.SandboxEnvironment().evaluate(payload, {"x": 1})


@pytest.mark.parametrize("payload", SCRIPT_ESCAPES)
def test_an_escape_in_a_script_is_refused_when_checked_and_at_run_time(payload):
    assert sandbox.check(payload, expression=False) is not None
    with pytest.raises((sandbox.ScriptRefused, SyntaxError)):
        sandbox.SandboxEnvironment().execute(payload, {})


def test_the_corpus_is_large():
    assert len(ESCAPES) + len(SCRIPT_ESCAPES) + len(BOMBS) >= 30


@pytest.mark.parametrize("payload, expression", BOMBS)
def test_a_runaway_or_huge_script_is_stopped_quickly(payload, expression):
    environment = sandbox.SandboxEnvironment()
    began = time.perf_counter()
    with pytest.raises(sandbox.ScriptLimitExceeded):
        if expression:
            environment.evaluate(payload, {})
        else:
            environment.execute(payload, {})
    assert time.perf_counter() - began < 5


def test_ordinary_expressions_and_scripts_work_with_the_helpers():
    environment = sandbox.SandboxEnvironment()
    assert environment.evaluate("decision == 'approve' and days <= 30", {"decision": "approve", "days": 7})
    assert environment.evaluate("sum(r['stars'] for r in ratings) / len(ratings)",
                                {"ratings": [{"stars": 2}, {"stars": 4}]}) == 3
    assert environment.evaluate("max(2, 3) * 2 + round(Decimal('1.25'), 1)", {}) == 6 + round(sandbox.Decimal("1.25"), 1)
    assert environment.evaluate("working_hours(4)", {}) > environment.evaluate("now()", {})
    data = {"a": 1, "gone": True}
    environment.execute("b = a + 1\nnames = sorted(['b', 'a'])\ndel gone", data)
    assert data == {"a": 1, "b": 2, "names": ["a", "b"]}


def test_a_definition_with_an_escape_is_not_deployed(engine, tmp_path):
    bpmn = (Path(__file__).parent / "processes" / "consent_with_deadlines.bpmn").read_text(encoding="utf-8")
    bad = bpmn.replace("reminders = 1", "reminders = ().__class__.__base__.__subclasses__()")
    (tmp_path / "bad.bpmn").write_text(bad, encoding="utf-8")
    before = db.session.scalars(select(ProcessDefinition.id)).all()
    with pytest.raises(DefinitionError, match="__class__"):
        engine.deployment.deploy_directory(tmp_path)
    assert db.session.scalars(select(ProcessDefinition.id)).all() == before


def test_a_runaway_script_in_a_running_case_is_stopped_and_changes_nothing(engine, tmp_path):
    """(It spins once it has the case's data: one that spins without any is refused at deploy, see
    tests/test_runaways.py.)"""
    bpmn = (Path(__file__).parent / "processes" / "consent_with_deadlines.bpmn").read_text(encoding="utf-8")
    runaway = bpmn.replace('<bpmn:startEvent id="start"><bpmn:outgoing>to_consent</bpmn:outgoing></bpmn:startEvent>',
                           '<bpmn:startEvent id="start"><bpmn:outgoing>to_spin</bpmn:outgoing></bpmn:startEvent>'
                           '<bpmn:scriptTask id="spin"><bpmn:incoming>to_spin</bpmn:incoming>'
                           '<bpmn:outgoing>to_consent</bpmn:outgoing><bpmn:script>while customer_id:\n    pass</bpmn:script>'
                           '</bpmn:scriptTask><bpmn:sequenceFlow id="to_spin" sourceRef="start" targetRef="spin" />')
    runaway = runaway.replace('sourceRef="start" targetRef="consent"', 'sourceRef="spin" targetRef="consent"')
    (tmp_path / "runaway.bpmn").write_text(runaway, encoding="utf-8")
    engine.deployment.deploy_directory(tmp_path)
    from app.engine.models import Instance
    from app.errors import DefinitionFault
    with pytest.raises(DefinitionFault):
        engine.cases.start("consent_with_deadlines", get_user("rep_e2"), {"customer_id": 1})
    assert db.session.scalars(select(Instance.id)).all() == []


SUBPROCESS_BPMN = """<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" id="d" targetNamespace="x">
  <bpmn:process id="hidden_escape" isExecutable="true">
    <bpmn:startEvent id="start"><bpmn:outgoing>f1</bpmn:outgoing></bpmn:startEvent>
    <bpmn:subProcess id="inner"><bpmn:incoming>f1</bpmn:incoming><bpmn:outgoing>f2</bpmn:outgoing>
      <bpmn:startEvent id="inner_start"><bpmn:outgoing>g1</bpmn:outgoing></bpmn:startEvent>
      <bpmn:scriptTask id="walk"><bpmn:incoming>g1</bpmn:incoming><bpmn:outgoing>g2</bpmn:outgoing>
        <bpmn:script>x = [].__class__.__base__.__subclasses__()</bpmn:script></bpmn:scriptTask>
      <bpmn:endEvent id="inner_end"><bpmn:incoming>g2</bpmn:incoming></bpmn:endEvent>
      <bpmn:sequenceFlow id="g1" sourceRef="inner_start" targetRef="walk" />
      <bpmn:sequenceFlow id="g2" sourceRef="walk" targetRef="inner_end" />
    </bpmn:subProcess>
    <bpmn:endEvent id="end"><bpmn:incoming>f2</bpmn:incoming></bpmn:endEvent>
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="inner" />
    <bpmn:sequenceFlow id="f2" sourceRef="inner" targetRef="end" />
  </bpmn:process>
</bpmn:definitions>
"""


def test_an_escape_inside_a_subprocess_is_not_deployed(engine, tmp_path):
    (tmp_path / "hidden.bpmn").write_text(SUBPROCESS_BPMN, encoding="utf-8")
    with pytest.raises(DefinitionError, match="walk"):
        engine.deployment.deploy_directory(tmp_path)
    assert db.session.scalar(select(ProcessDefinition).where(ProcessDefinition.key == "hidden_escape")) is None


def test_a_definition_may_look_up_a_customer_but_not_its_dossier(engine):
    from conftest import get_customer
    environment = engine.uow.sandbox  # with the helpers the application plugs in
    found = environment.evaluate("customer(customer_id)", {"customer_id": get_customer("HD-E1-002").id})
    assert (found["code"], found["branch"], found["territory"], found["kind"]) == ("HD-E1-002", "east", "E1", "direct")
    assert "bank_account" not in found and "contact1_mobile" not in found
    assert environment.evaluate("customer(0)", {}) is None
    assert environment.evaluate("customer(customer_id)['branch'] == 'east'", {"customer_id": found["id"]})
