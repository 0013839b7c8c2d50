"""Overhead over the engine's ceiling, on the borrowing flow's three-consent path, in one run.

(a) SpiffWorkflow alone, in memory;
(b) SpiffWorkflow alone with a serialize/deserialize round trip at every step (its own serializer);
(c) our engine service with the database: start, load, complete, commit, tasks table, audit events;
(d) the same through the JSON API with Flask's test client;
(e) (c) with every expression evaluated in the isolated evaluator workers, as a condition that calls,
    loops or computes would be (the borrowing flow's own conditions only compare, so (c) evaluates
    them in process): what the hard bounds cost where they apply.

    .venv/bin/python bench/engine.py [--cases N]      # DATABASE_URL=postgresql://… for PostgreSQL

The database is rebuilt (see bench/common.py). The last line of output is one JSON object.
"""
from __future__ import annotations

import statistics
import sys
import time
from pathlib import Path

if __package__ in (None, ""):
    # Run as a script: the repository, not bench/ (whose http.py would shadow the stdlib's), goes first.
    sys.path[0] = str(Path(__file__).resolve().parent.parent)

from SpiffWorkflow.bpmn import BpmnWorkflow
from SpiffWorkflow.bpmn.script_engine import PythonScriptEngine
from SpiffWorkflow.bpmn.serializer import BpmnWorkflowSerializer
from SpiffWorkflow.bpmn.serializer.default.task_spec import BpmnTaskSpecConverter
from SpiffWorkflow.bpmn.specs.defaults import ServiceTask
from SpiffWorkflow.camunda.parser.CamundaParser import CamundaParser
from SpiffWorkflow.camunda.serializer.config import CAMUNDA_CONFIG
from SpiffWorkflow.util.task import TaskState

from bench import common

WARMUP = 5


def spiff_cases_per_second(cases: int, round_trip: bool) -> float:
    """Stock SpiffWorkflow (CamundaParser, its JSON serializer) on the same BPMN file."""
    parser = CamundaParser()
    parser.add_bpmn_file(str(common.BPMN))
    spec, subprocess_specs = parser.get_spec(common.PROCESS), parser.get_subprocess_specs(common.PROCESS)
    # The Camunda configuration has no converter for a plain service task; the generic one does.
    serializer = BpmnWorkflowSerializer(BpmnWorkflowSerializer.configure(
        {**CAMUNDA_CONFIG, ServiceTask: BpmnTaskSpecConverter}))
    script_engine = PythonScriptEngine()
    start_data = {**common.request_data(1), "requester_is_sales_rep": False}

    def one_case():
        workflow = BpmnWorkflow(spec, subprocess_specs, script_engine=script_engine)
        workflow.task_tree.data.update(start_data)
        workflow.do_engine_steps()
        state = serializer.serialize_json(workflow) if round_trip else None
        for _ in common.CONSENTERS:
            if round_trip:
                workflow = serializer.deserialize_json(state)
                workflow.script_engine = script_engine
            task = workflow.get_next_task(state=TaskState.READY, manual=True)
            task.data.update(common.APPROVE)
            task.run()
            workflow.do_engine_steps()
            # Stock SpiffWorkflow leaves a service task STARTED for its caller to finish.
            for service_task in workflow.get_tasks(state=TaskState.STARTED):
                service_task.complete()
                workflow.do_engine_steps()
            if round_trip:
                state = serializer.serialize_json(workflow)
        assert workflow.is_completed()

    for _ in range(WARMUP):
        one_case()
    began = time.perf_counter()
    for _ in range(cases):
        one_case()
    return cases / (time.perf_counter() - began)


def service_cases_per_second(app, cases: int, offset: int = 0) -> float:
    """Our engine service with the database: four transactions and a claim per case, no HTTP."""
    with app.app_context():
        common.run_service_cases(app, WARMUP, offset)
        began = time.perf_counter()
        common.run_service_cases(app, cases, offset + WARMUP)
        return cases / (time.perf_counter() - began)


def isolated_service_cases_per_second(app, cases: int, offset: int) -> float:
    """(c) with the sandbox's in-process fast path off: every condition goes to an evaluator worker."""
    from app.engine import sandbox

    in_process = sandbox.cannot_run_away
    sandbox.cannot_run_away = lambda expression: False
    try:
        return service_cases_per_second(app, cases, offset)
    finally:
        sandbox.cannot_run_away = in_process


def api_cases_per_second(app, cases: int, offset: int) -> tuple[float, list[float], list[float]]:
    """The same through the JSON API: start, complete, claim, complete, complete."""
    from app.calendar import clock
    from app.domain.demo import DEMO_PASSWORD

    client = app.test_client()
    tokens = {}
    for username in (common.REQUESTER, *common.CONSENTERS):
        response = client.post("/api/v1/tokens", json={"username": username, "password": DEMO_PASSWORD})
        tokens[username] = {"Authorization": f"Bearer {response.get_json()['token']}"}
    with app.app_context():
        data = common.request_data(common.customer_id())
    completions, requests = [], []

    def call(path, username, body=None):
        began = time.perf_counter()
        response = client.post(f"/api/v1{path}", json=body or {}, headers=tokens[username])
        elapsed = time.perf_counter() - began
        requests.append(elapsed)
        if response.status_code not in (200, 201):
            raise RuntimeError(f"{path}: {response.status_code} {response.get_json()}")
        return response.get_json(), elapsed

    def one_case(index):
        clock.set(common.T0 + index * common.CASE_SPACING)
        instance, _ = call(f"/processes/{common.PROCESS}/instances", common.REQUESTER, {"data": data})
        for username in common.CONSENTERS:
            task_id = instance["tasks"][0]["id"]
            if username == "biz_east":
                call(f"/tasks/{task_id}/claim", username)
            result, elapsed = call(f"/tasks/{task_id}/complete", username, {"data": common.APPROVE})
            completions.append(elapsed)
            instance = result["instance"]
        assert instance["outcome"] == "approved", instance

    for index in range(offset, offset + WARMUP):
        one_case(index)
    completions.clear()
    requests.clear()
    began = time.perf_counter()
    for index in range(offset + WARMUP, offset + WARMUP + cases):
        one_case(index)
    elapsed = time.perf_counter() - began
    clock.set(None)
    return cases / elapsed, completions, requests


def run(cases: int) -> dict:
    app = common.fresh_app()
    with app.app_context():
        from app import db
        dialect = db.dialect()
    a = spiff_cases_per_second(cases, round_trip=False)
    b = spiff_cases_per_second(cases, round_trip=True)
    c = service_cases_per_second(app, cases)
    d, completions, requests = api_cases_per_second(app, cases, offset=cases + WARMUP)
    e = isolated_service_cases_per_second(app, cases, offset=3 * (cases + WARMUP))
    return {
        "benchmark": "engine", "database": dialect, "cases": cases,
        "a_spiff_memory_cases_per_s": round(a, 1),
        "b_spiff_round_trip_cases_per_s": round(b, 1),
        "c_service_cases_per_s": round(c, 1),
        "d_api_cases_per_s": round(d, 1),
        "c_over_b": round(c / b, 3),
        "d_over_b": round(d / b, 3),
        "e_service_isolated_cases_per_s": round(e, 1),
        "e_over_c": round(e / c, 3),
        "api_task_completion": common.summary_ms(completions),
        "api_request": common.summary_ms(requests),
        "api_request_mean_ms": round(statistics.fmean(requests) * 1000, 3),
        "machine": common.machine(),
    }


def main(argv=None) -> dict:
    return common.command_line(__doc__, run, argv, cases=(int, 300, "cases per variant"))


if __name__ == "__main__":
    main()
