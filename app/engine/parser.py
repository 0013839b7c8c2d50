"""BPMN parsing: Camunda's standard extension attributes carry our task properties.

- user tasks: `camunda:formKey`, `camunda:assignee` (a rule resolving to one person),
  `camunda:candidateGroups` (comma-separated rules, each resolving to a role in an org unit),
  `camunda:dueDate` (an ISO 8601 duration from the task's creation, an ISO 8601 date-time, or a
  sandboxed expression over the case data giving one, e.g. `day_after_month(month, 2)`), and
  optionally an `approval` property (camunda:properties) set to `true`: the task is a consent or
  approval, kept apart from the case's initiator and its other approvers (domain.segregation); and
  optionally a `send_back_to` property: the earlier steps (BPMN ids, or `request` for the initiator's
  form), comma-separated, this step may send a case back to (without it: any step the case passed);
- service tasks: `camunda:type="external"` with `camunda:topic` naming a domain service, and
  optionally a `decision` property (camunda:properties) naming a DMN decision the service applies;
  all its properties reach the service (`readers` for `copy_to_readers`, say);
- end events: `camunda:properties` with an `outcome` property, the case's outcome.
SpiffWorkflow's CamundaParser reads only some of these, so the missing ones are read here.
"""
from SpiffWorkflow.bpmn.parser.BpmnParser import full_tag
from SpiffWorkflow.bpmn.specs.defaults import EndEvent, ServiceTask
from SpiffWorkflow.camunda.parser.CamundaParser import CamundaParser
from SpiffWorkflow.camunda.parser.event_parsers import CamundaEndEventParser
from SpiffWorkflow.camunda.parser.task_spec import CAMUNDA_MODEL_NS, BusinessRuleTaskParser, CamundaTaskParser
from SpiffWorkflow.camunda.parser.task_spec import UserTaskParser as CamundaUserTaskParser
from SpiffWorkflow.camunda.specs.business_rule_task import BusinessRuleTask
from SpiffWorkflow.camunda.specs.user_task import UserTask as CamundaUserTask


def camunda_attr(node, name: str) -> str | None:
    value = node.get(f"{{{CAMUNDA_MODEL_NS}}}{name}")
    return value.strip() if value and value.strip() else None


class ApprovalUserTask(CamundaUserTask):
    """A user task that knows who should do it and by when."""

    def __init__(self, wf_spec, bpmn_id, form, assignee=None, candidate_groups=None, due_date=None,
                 approval=False, send_back_to=None, **kwargs):
        super().__init__(wf_spec, bpmn_id, form, **kwargs)
        self.assignee_rule = assignee
        self.candidate_rule = candidate_groups
        self.due_date = due_date
        self.approval = approval
        self.send_back_to = send_back_to  # a tuple of step ids, or None: any step passed


class ApprovalUserTaskParser(CamundaUserTaskParser):
    def create_task(self):
        properties = self.parse_extensions()
        send_back_to = properties.get("send_back_to")
        return self.spec_class(
            self.spec, self.bpmn_id, form=self.get_form(),
            assignee=camunda_attr(self.node, "assignee"),
            candidate_groups=camunda_attr(self.node, "candidateGroups"),
            due_date=camunda_attr(self.node, "dueDate"),
            approval=(properties.get("approval") or "").strip().lower() == "true",
            send_back_to=tuple(s.strip() for s in send_back_to.split(",") if s.strip()) if send_back_to else None,
            **self.bpmn_attributes)


class TopicServiceTask(ServiceTask):
    """Runs the service plugged in under its topic, inside the engine's transaction.
    With a decision, the service may apply that DMN table (deployed with the process version)."""

    def __init__(self, wf_spec, bpmn_id, topic, decision=None, decision_id=None, properties=None, **kwargs):
        super().__init__(wf_spec, bpmn_id, **kwargs)
        self.topic = topic
        self.decision = decision  # a SpiffWorkflow DMNEngine, or None
        self.decision_id = decision_id
        self.properties = properties or {}  # its camunda:properties, handed to the service

    def _execute(self, task):
        task.workflow.script_engine.call_service(task, topic=self.topic)
        return True


class TopicServiceTaskParser(CamundaTaskParser):
    def create_task(self):
        topic = camunda_attr(self.node, "topic")
        if camunda_attr(self.node, "type") != "external" or not topic:
            self.raise_validation_exception(
                'A service task needs camunda:type="external" and a camunda:topic naming the service')
        properties = self.parse_extensions()
        decision_ref = properties.get("decision")
        decision = self.process_parser.parser.get_engine(decision_ref, self.node) if decision_ref else None
        return self.spec_class(self.spec, self.bpmn_id, topic=topic, decision=decision, decision_id=decision_ref,
                               properties=properties, **self.bpmn_attributes)


class DecisionRuleTaskParser(BusinessRuleTaskParser):
    """Business rule tasks keep the id of their decision (`camunda:decisionRef`), so that deploying can
    name it; one without it is a validation error, not a KeyError."""

    @staticmethod
    def get_decision_ref(node):
        return camunda_attr(node, "decisionRef")

    def create_task(self):
        decision_ref = self.get_decision_ref(self.node)
        if not decision_ref:
            self.raise_validation_exception("A business rule task needs a camunda:decisionRef naming a decision")
        task = super().create_task()
        task.decision_id = decision_ref
        return task


class OutcomeEndEventParser(CamundaEndEventParser):
    """End events keep their camunda:properties, so an end event can name the case's outcome."""

    parse_extensions = CamundaTaskParser.parse_extensions


class ProcessParser(CamundaParser):
    OVERRIDE_PARSER_CLASSES = {
        **CamundaParser.OVERRIDE_PARSER_CLASSES,
        full_tag("userTask"): (ApprovalUserTaskParser, ApprovalUserTask),
        full_tag("serviceTask"): (TopicServiceTaskParser, TopicServiceTask),
        full_tag("endEvent"): (OutcomeEndEventParser, EndEvent),
        full_tag("businessRuleTask"): (DecisionRuleTaskParser, BusinessRuleTask),
    }
