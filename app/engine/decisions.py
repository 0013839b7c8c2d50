"""DMN decisions of a deployed process version, applied in the sandbox: inside a running step (a
domain service's `decide`) or outside one (a form showing and checking the proposal its service
will record)."""
from __future__ import annotations

from types import SimpleNamespace

from SpiffWorkflow.bpmn.script_engine import PythonScriptEngine

from app.engine import definitions, sandbox
from app.engine.models import ProcessDefinition

SANDBOX = sandbox.SandboxEnvironment()  # stateless: one for all workflows


class DecisionInput:
    """What SpiffWorkflow's DMN engine reads of a task: its data (one row's inputs) and, through its
    workflow, the script engine that evaluates the table's expressions (the sandbox)."""

    def __init__(self, workflow, data: dict):
        self.workflow, self.data = workflow, data


def apply(decision, workflow, inputs: dict) -> dict:
    """One decision table (a SpiffWorkflow DMNEngine) over `inputs`, with the workflow's script engine."""
    return decision.result(DecisionInput(workflow, inputs))


def decide(definition: ProcessDefinition, decision_id: str, inputs: dict) -> dict:
    """A decision of `definition` over `inputs`, outside a running step."""
    decision = definitions.parsed(definition).decisions[decision_id]
    return apply(decision, SimpleNamespace(script_engine=PythonScriptEngine(environment=SANDBOX)), inputs)
