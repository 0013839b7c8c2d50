"""What the engine needs to know about each process that Python, not BPMN, decides.

- start hooks check a new case's data against the company's rules and add derived facts;
- services are the `camunda:topic` names a BPMN service task may call.
"""
from app.domain import borrowing

START_HOOKS = {
    borrowing.PROCESS_KEY: borrowing.prepare_request,
}

SERVICES = {
    "grant_dossier_loan": borrowing.grant_loan,
}
