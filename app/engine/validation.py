"""What deploying checks: a definition names only what the application plugged in (assignment rules,
form keys, service topics, a scheduled process's starts), its due dates and schedule parse, all its
expressions and scripts, decision tables included, compile under the sandbox, and every element can be
reached. Any problem refuses the whole file; each problem names its element, so the modeler can select
it."""
import ast
import re

from SpiffWorkflow.bpmn.parser.util import DEFAULT_NSMAP
from SpiffWorkflow.bpmn.specs.event_definitions.timer import (
    CycleTimerEventDefinition,
    DurationTimerEventDefinition,
    TimerEventDefinition,
)

from app.engine import sandbox, schedules
from app.engine.definitions import Problem
from app.engine.due_dates import is_literal
from app.engine.models import ProcessDefinition
from app.engine.parser import ApprovalUserTask, TopicServiceTask
from app.engine.plugins import Extensions, group_rules


def definition_problems(ext: Extensions, specs, start_form_key: str | None = None, schedule: str | None = None,
                        process=None) -> list[Problem]:
    """What in a process (and its subprocesses) the application cannot run: unknown rules, form keys,
    services, schedules, bad due dates, expressions the sandbox refuses, and (given the process's XML
    element) elements no path reaches."""
    problems = []
    if start_form_key is not None and start_form_key not in ext.forms:
        problems.append(Problem(None, f"start event: unknown form key {start_form_key!r}"))
    if schedule is not None:
        problems += [Problem(None, p) for p in _schedule_problems(ext, specs[0].name, schedule)]
    if process is not None:
        problems += [Problem(name, "cannot be reached from the start event") for name in _unreachable(process, specs)]
    for task_spec in (task_spec for spec in specs for task_spec in spec.task_specs.values()):
        found = _expression_problems(task_spec)
        if isinstance(task_spec, ApprovalUserTask):
            found += _user_task_problems(ext, task_spec)
        elif isinstance(task_spec, TopicServiceTask):
            if task_spec.topic not in ext.services:
                found.append(f"unknown service topic {task_spec.topic!r}")
            if task_spec.decision is not None:
                found += _decision_problems(task_spec.decision)
            found += [f"unknown assignment rule {rule!r} in its readers"
                      for rule in group_rules(task_spec.properties.get("readers")) if ext.rule(rule) is None]
        problems += [Problem(task_spec.name, p) for p in found]
    return problems


FLOW_NODES = ("startEvent", "endEvent", "intermediateCatchEvent", "intermediateThrowEvent", "boundaryEvent",
              "task", "userTask", "serviceTask", "scriptTask", "businessRuleTask", "manualTask", "sendTask",
              "receiveTask", "callActivity", "subProcess", "exclusiveGateway", "parallelGateway",
              "inclusiveGateway", "eventBasedGateway")


def _unreachable(process, specs) -> list[str]:
    """Flow nodes of the process's XML that SpiffWorkflow never reached while following the flows
    from the start (it parses only what a path leads to)."""
    parsed = {name for spec in specs for name in spec.task_specs}
    nodes = process.xpath(" | ".join(f".//bpmn:{tag}" for tag in FLOW_NODES), namespaces=DEFAULT_NSMAP)
    return sorted(node.get("id") for node in nodes if node.get("id") not in parsed)


def _schedule_problems(ext: Extensions, process_key: str, schedule: str) -> list[str]:
    longest = ProcessDefinition.schedule.type.length
    if len(schedule) > longest:
        return [f"schedule: at most {longest} characters"]
    try:
        schedules.parse(schedule)
    except schedules.ScheduleError as exc:
        return [str(exc)]
    process = ext.processes.get(process_key)
    if process is None or process.scheduled is None:
        return [f"schedule: the application does not know what cases to open for {process_key!r}"]
    return []


# A DMN input entry may be a bare comparison ("< 100") or use "?" for the input ("100 <= ? < 500").
_QUESTION_MARK = re.compile(r"\?(?=(?:[^'\"]|['\"][^'\"]*['\"])*$)")


def _decision_problems(decision) -> list[str]:
    """Every expression of a DMN decision table must compile under the sandbox."""
    table = decision.decision_table
    problems = [p for column in table.inputs if column.expression and (p := sandbox.check(column.expression))]
    for rule in table.rules:
        for entry in rule.inputEntries:
            for text in (t for t in entry.lhs if t):
                text = _QUESTION_MARK.sub("dmninputexpr", text)
                if sandbox.check(text) and (problem := sandbox.check(f"dmninputexpr {text}")):
                    problems.append(f"rule {rule.row_number}: {problem}")
        problems += [f"rule {rule.row_number}: {problem}" for entry in rule.outputEntries
                     if getattr(entry, "text", None) and (problem := sandbox.check(entry.text))]
    return problems


def _expression_problems(task_spec) -> list[str]:
    """Every expression and script of a task spec must compile under the sandbox."""
    # A gateway's conditions are SpiffWorkflow operators holding the expression text.
    expressions = [condition.args[0] for condition, _ in getattr(task_spec, "cond_task_specs", []) if condition]
    expressions += [text for text in (getattr(task_spec, "condition", None), getattr(task_spec, "cardinality", None),
                                      getattr(getattr(task_spec, "event_definition", None), "expression", None))
                    if isinstance(text, str)]
    problems = [problem for text in expressions if (problem := sandbox.check(text))]
    script = getattr(task_spec, "script", None)
    if isinstance(script, str) and (problem := sandbox.check(script, expression=False)):
        problems.append(problem)
    event = getattr(task_spec, "event_definition", None)
    if isinstance(event, TimerEventDefinition) and not problems and (problem := _timer_problem(event)):
        problems.append(problem)
    return problems


def _timer_problem(event) -> str | None:
    """A timer written as a quoted ISO 8601 value must parse as one (an expression is checked when it
    runs: its value depends on the case)."""
    try:
        value = ast.literal_eval(event.expression.strip())
    except (ValueError, SyntaxError):
        return None
    try:
        if not isinstance(value, str):
            raise ValueError(value)
        if isinstance(event, CycleTimerEventDefinition):
            TimerEventDefinition.parse_iso_recurring_interval(value)
        elif isinstance(event, DurationTimerEventDefinition):
            TimerEventDefinition.parse_iso_duration(value)
        else:
            TimerEventDefinition.parse_time_or_duration(value)
    except Exception:  # SpiffWorkflow raises bare Exceptions for bad ISO 8601
        return f"timer {event.expression!r} is not an ISO 8601 date, duration or cycle"
    return None


def _user_task_problems(ext: Extensions, task_spec: ApprovalUserTask) -> list[str]:
    problems = []
    if bool(task_spec.assignee_rule) == bool(task_spec.candidate_rule):
        problems.append("needs exactly one of camunda:assignee and camunda:candidateGroups")
    if task_spec.assignee_rule and task_spec.assignee_rule not in ext.person_rules:
        problems.append(f"camunda:assignee {task_spec.assignee_rule!r} is not a rule that finds one person")
    for rule in group_rules(task_spec.candidate_rule):
        if rule not in ext.group_rules:
            problems.append(f"camunda:candidateGroups {rule!r} is not a rule that finds a group")
    if task_spec.form.key not in ext.forms:
        problems.append(f"unknown form key {task_spec.form.key!r}")
    if task_spec.due_date and not is_literal(task_spec.due_date) and (problem := sandbox.check(task_spec.due_date)):
        problems.append(f"camunda:dueDate is neither ISO 8601 nor an allowed expression: {problem}")
    return problems
