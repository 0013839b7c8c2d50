"""DMN decisions of a deployed process version, applied in the sandbox: inside a running step (a
domain service's `decide`) or outside one (a form showing and checking the proposal its service
will record)."""
from __future__ import annotations

from types import SimpleNamespace

from SpiffWorkflow.bpmn.script_engine import PythonScriptEngine

from app.engine import definitions, sandbox
from app.engine.models import ProcessDefinition


class DecisionInput:
    """What SpiffWorkflow's DMN engine reads of a task: its data (one row's inputs) and, through its
    workflow, the script engine that evaluates the table's expressions (the sandbox)."""

    def __init__(self, workflow, data: dict):
        self.workflow, self.data = workflow, data


def apply(decision, workflow, inputs: dict) -> dict:
    """One decision table (a SpiffWorkflow DMNEngine) over `inputs`, with the workflow's script engine."""
    return decision.result(DecisionInput(workflow, inputs))


def decide(definition: ProcessDefinition, decision_id: str, inputs: dict,
           environment: sandbox.SandboxEnvironment) -> dict:
    """A decision of `definition` over `inputs`, outside a running step, in the sandbox `environment`."""
    decision = definitions.parsed(definition).decisions[decision_id]
    return apply(decision, SimpleNamespace(script_engine=PythonScriptEngine(environment=environment)), inputs)
