"""What deploying checks: a definition names only what the application knows (assignment rules,
form keys, service topics), its due dates parse, and all its expressions and scripts compile under
the sandbox. Any problem refuses the whole file."""
from datetime import datetime

from app.domain import assignment, processes
from app.engine import sandbox
from app.engine.deadlines import DeadlineError, due_at
from app.engine.parser import ApprovalUserTask, DomainServiceTask
from forms import FORMS


def definition_problems(specs, start_form_key: str | None) -> list[str]:
    """What in a process (and its subprocesses) the application cannot run: unknown rules, form keys,
    services, bad due dates, expressions the sandbox refuses."""
    problems = []
    if start_form_key is not None and start_form_key not in FORMS:
        problems.append(f"start event: unknown form key {start_form_key!r}")
    for task_spec in (task_spec for spec in specs for task_spec in spec.task_specs.values()):
        problems += [f"{task_spec.name}: {p}" for p in _expression_problems(task_spec)]
        if isinstance(task_spec, ApprovalUserTask):
            problems += [f"{task_spec.name}: {p}" for p in _user_task_problems(task_spec)]
        elif isinstance(task_spec, DomainServiceTask) and task_spec.topic not in processes.SERVICES:
            problems.append(f"{task_spec.name}: unknown service topic {task_spec.topic!r}")
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
    return problems


def _user_task_problems(task_spec: ApprovalUserTask) -> list[str]:
    problems = []
    if bool(task_spec.assignee_rule) == bool(task_spec.candidate_rule):
        problems.append("needs exactly one of camunda:assignee and camunda:candidateGroups")
    if task_spec.assignee_rule and task_spec.assignee_rule not in assignment.PERSON_RULES:
        problems.append(f"camunda:assignee {task_spec.assignee_rule!r} is not a rule that finds one person")
    if task_spec.candidate_rule and task_spec.candidate_rule not in assignment.GROUP_RULES:
        problems.append(f"camunda:candidateGroups {task_spec.candidate_rule!r} is not a rule that finds a group")
    if task_spec.form.key not in FORMS:
        problems.append(f"unknown form key {task_spec.form.key!r}")
    if task_spec.due_date:
        try:
            due_at(task_spec.due_date, datetime.now().astimezone())
        except DeadlineError as exc:
            problems.append(str(exc))
    return problems
