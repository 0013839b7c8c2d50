"""Instance state without the process spec.

SpiffWorkflow's serializer writes the whole spec into every instance; it is the same for all
instances of one definition version and is most of the bytes. Here the spec stays out of the
state and is supplied, parsed once per version, when the state is loaded.

A case that ended never runs again: its state keeps only what its diagram shows, the elements it
passed (`dumps_ended`, a tenth of the bytes).
"""
import zlib
from uuid import UUID

import orjson
from SpiffWorkflow.bpmn import BpmnWorkflow
from SpiffWorkflow.bpmn.serializer import BpmnWorkflowSerializer
from SpiffWorkflow.bpmn.serializer.default.workflow import BpmnWorkflowConverter, WorkflowConverter
from SpiffWorkflow.bpmn.serializer.helpers.spec import TaskSpecConverter
from SpiffWorkflow.camunda.serializer.config import CAMUNDA_CONFIG
from SpiffWorkflow.camunda.serializer.task_spec import UserTaskConverter
from SpiffWorkflow.util.task import TaskState

from app.engine.parser import ApprovalUserTask, TopicServiceTask

FORMAT_VERSION = 1


class _SpeclessWorkflowConverter(BpmnWorkflowConverter):
    def to_dict(self, workflow):
        dct = WorkflowConverter.to_dict(self, workflow)
        dct["subprocesses"] = self.mapping_to_dict(workflow.subprocesses)
        dct["bpmn_events"] = self.registry.convert(workflow.bpmn_events)
        return dct

    def from_dict(self, dct, spec, subprocess_specs):
        dct.pop("spec", None)
        dct.pop("subprocess_specs", None)
        workflow = self.target_class(spec, subprocess_specs, deserializing=True)
        workflow.tasks = self.mapping_from_dict(dct["tasks"], UUID, workflow=workflow)
        workflow.task_tree = workflow.tasks.get(UUID(dct["root"]))
        self.set_default_attributes(workflow, dct)
        self.subprocesses_from_dict(dct["subprocesses"], workflow)
        workflow.bpmn_events = self.registry.restore(dct.pop("bpmn_events", []))
        return workflow


class _ApprovalUserTaskConverter(UserTaskConverter):
    """Our user tasks as SpiffWorkflow's version diff compares them (specs are never stored)."""

    def to_dict(self, spec):
        return {**super().to_dict(spec), "assignee_rule": spec.assignee_rule, "candidate_rule": spec.candidate_rule,
                "due_date": spec.due_date, "approval": spec.approval,
                "send_back_to": spec.send_back_to}


class _TopicServiceTaskConverter(TaskSpecConverter):
    def to_dict(self, spec):
        return {**self.get_default_attributes(spec), "topic": spec.topic, "decision_id": spec.decision_id,
                "properties": spec.properties}


_config = dict(CAMUNDA_CONFIG)
_config[BpmnWorkflow] = _SpeclessWorkflowConverter
_config[ApprovalUserTask] = _ApprovalUserTaskConverter
_config[TopicServiceTask] = _TopicServiceTaskConverter
registry = BpmnWorkflowSerializer.configure(_config)


def _encode_other(obj):
    converted = registry.convert(obj)
    if converted is obj:
        raise TypeError(f"cannot store a {type(obj).__name__} in workflow data")
    return converted


def dumps(workflow: BpmnWorkflow) -> bytes:
    dct = registry.convert(workflow)
    dct["format"] = FORMAT_VERSION
    raw = orjson.dumps(dct, default=_encode_other, option=orjson.OPT_PASSTHROUGH_DATETIME)
    return zlib.compress(raw, 1)


def loads(state: bytes, spec, subprocess_specs) -> BpmnWorkflow:
    return _restored(orjson.loads(zlib.decompress(state)), spec, subprocess_specs)


def _restored(dct: dict, spec, subprocess_specs) -> BpmnWorkflow:
    if "ended" in dct:
        raise ValueError("an ended case's state holds only the path it took: it does not run again")
    dct.pop("format")
    return registry.restore(dct, spec=spec, subprocess_specs=subprocess_specs)


def reached(workflow: BpmnWorkflow) -> tuple[set[str], set[str]]:
    """The BPMN elements a workflow passed, and those it waits at (SpiffWorkflow's own bookkeeping
    tasks aside)."""
    passed, waiting = set(), set()
    for task in workflow.get_tasks():
        if not getattr(task.task_spec, "bpmn_id", None):
            continue
        if task.state == TaskState.COMPLETED:
            passed.add(task.task_spec.name)
        elif task.state in (TaskState.READY, TaskState.WAITING, TaskState.STARTED):
            waiting.add(task.task_spec.name)
    return passed, waiting


def dumps_ended(workflow: BpmnWorkflow) -> bytes:
    passed, waiting = reached(workflow)
    ended = {"passed": sorted(passed), "waiting": sorted(waiting)}
    return zlib.compress(orjson.dumps({"format": FORMAT_VERSION, "ended": ended}), 1)


def reached_in(state: bytes, spec, subprocess_specs) -> tuple[set[str], set[str]]:
    """What `reached` says of a stored state, ended or not."""
    dct = orjson.loads(zlib.decompress(state))
    if "ended" in dct:
        return set(dct["ended"]["passed"]), set(dct["ended"]["waiting"])
    return reached(_restored(dct, spec, subprocess_specs))
