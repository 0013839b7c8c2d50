"""Overhead over the engine's ceiling, on the borrowing flow's three-consent path, in one run.

(a)  SpiffWorkflow alone, in memory;
(b)  SpiffWorkflow alone with a serialize/deserialize round trip at every step (its own serializer);
(b2) SpiffWorkflow alone with the project's parser and its own serializer (engine.serializer: no spec
     in the state, orjson, zlib) round trip at every step: the yardstick, since (c) pays exactly this
     and no more for the workflow itself;
(c)  our engine service with the database: start, load, complete, commit, tasks table, audit events;
(d)  the same through the JSON API with Flask's test client;
(e)  (c) with every expression evaluated in the isolated evaluator workers, as a condition that calls,
     loops or computes would be (the borrowing flow's own conditions only compare, so (c) evaluates
     them in process): what the hard bounds cost where they apply.

The variants run in interleaved rounds (a, b, b2, c, d, e, then again), so that a noisy machine weighs
on all alike; every figure is the median over the rounds, every ratio the median of the rounds' own
ratios. The SQL a task completion sends is counted in (c) and (d): statements (BEGIN and COMMIT not
included) and round trips to the server (with them).

    .venv/bin/python bench/engine.py [--cases N] [--rounds R]   # DATABASE_URL=postgresql://… for PostgreSQL

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


def _stock_round_trip():
    parser = CamundaParser()
    parser.add_bpmn_file(str(common.BPMN))
    # The Camunda configuration has no converter for a plain service task; the generic one does.
    serializer = BpmnWorkflowSerializer(BpmnWorkflowSerializer.configure(
        {**CAMUNDA_CONFIG, ServiceTask: BpmnTaskSpecConverter}))
    return (parser.get_spec(common.PROCESS), parser.get_subprocess_specs(common.PROCESS), PythonScriptEngine(),
            serializer.serialize_json, lambda state, spec, subprocess_specs: serializer.deserialize_json(state))


def _own_round_trip():
    from app.engine import serializer

    return (*common.own_borrowing_spec(), serializer.dumps, serializer.loads)


def spiff_variant(serialization):
    """One case of SpiffWorkflow alone on the borrowing BPMN: in memory (`serialization` None), or with the
    state written and read back at every step by the stock serializer or by the project's own."""
    spec, subprocess_specs, script_engine, dumps, loads = (serialization or _stock_round_trip)()
    round_trip = serialization is not None
    start_data = {**common.request_data(1), "requester_is_sales_rep": False}

    def one_case(_index):
        workflow = BpmnWorkflow(spec, subprocess_specs, script_engine=script_engine)
        workflow.task_tree.data.update(start_data)
        workflow.do_engine_steps()
        state = dumps(workflow) if round_trip else None
        for _ in common.CONSENTERS:
            if round_trip:
                workflow = loads(state, spec, subprocess_specs)
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
                state = dumps(workflow)
        assert workflow.is_completed()

    return one_case


def service_variant(app, completions, cases):
    """Our engine service with the database: four transactions and a claim per case, no HTTP."""
    def one_case(index):
        with app.app_context():
            common.run_service_cases(app, 1, index, completions, cases)
    return one_case


def isolated_service_variant(app):
    """(c) with the sandbox's in-process fast path off: every condition goes to an evaluator worker."""
    from app.engine import sandbox

    service = service_variant(app, None, None)

    def one_case(index):
        in_process = sandbox.cannot_run_away
        sandbox.cannot_run_away = lambda expression: False
        try:
            service(index)
        finally:
            sandbox.cannot_run_away = in_process
    return one_case


def api_variant(app, completion_times: list[float], completions):
    """The same through the JSON API: start, complete, claim, complete, complete (signed in before)."""
    from app.calendar import clock
    from app.domain.demo import DEMO_PASSWORD

    client = app.test_client()
    tokens = {}
    for username in (common.REQUESTER, *common.CONSENTERS):
        response = client.post("/api/v1/tokens", json={"username": username, "password": DEMO_PASSWORD})
        tokens[username] = {"Authorization": f"Bearer {response.get_json()['token']}"}
    with app.app_context():
        data = common.request_data(common.customer_id())

    def call(path, username, body=None):
        response = client.post(f"/api/v1{path}", json=body or {}, headers=tokens[username])
        if response.status_code not in (200, 201):
            raise RuntimeError(f"{path}: {response.status_code} {response.get_json()}")
        return response.get_json()

    def one_case(index):
        clock.set(common.T0 + index * common.CASE_SPACING)
        instance = call(f"/processes/{common.PROCESS}/instances", common.REQUESTER, {"data": data})
        for username in common.CONSENTERS:
            task_id = instance["tasks"][0]["id"]
            if username == "biz_east":
                call(f"/tasks/{task_id}/claim", username)
            began = time.perf_counter()
            with completions.counting():
                result = call(f"/tasks/{task_id}/complete", username, {"data": common.APPROVE})
            completion_times.append(time.perf_counter() - began)
            instance = result["instance"]
        clock.set(None)
        assert instance["outcome"] == "approved", instance

    return one_case


def cases_per_second(one_case, first: int, count: int) -> float:
    began = time.perf_counter()
    for index in range(first, first + count):
        one_case(index)
    return count / (time.perf_counter() - began)


def run(cases: int, rounds: int) -> dict:
    from app import db

    app = common.fresh_app()
    with app.app_context():
        dialect = db.dialect()
        sql = {name: common.SqlCount(db.current_engine()) for name in ("service", "service_case", "api")}
    completion_times: list[float] = []
    variants = {
        "a": spiff_variant(None), "b": spiff_variant(_stock_round_trip), "b2": spiff_variant(_own_round_trip),
        "c": service_variant(app, sql["service"], sql["service_case"]),
        "d": api_variant(app, completion_times, sql["api"]), "e": isolated_service_variant(app),
    }
    # Each variant's cases run at times of their own (the borrowing rules allow one loan at a time).
    next_index = 0
    for one_case in variants.values():  # warm up, uncounted
        cases_per_second(one_case, next_index, WARMUP)
        next_index += WARMUP
    for counter in sql.values():
        counter.statements = counter.round_trips = 0
    completion_times.clear()
    measured = {name: [] for name in variants}
    for _ in range(rounds):
        for name, one_case in variants.items():
            measured[name].append(cases_per_second(one_case, next_index, cases))
            next_index += cases
    median = {name: statistics.median(values) for name, values in measured.items()}

    def ratio(top: str, bottom: str) -> float:
        return round(statistics.median(t / b for t, b in zip(measured[top], measured[bottom], strict=True)), 3)

    def per(counter, count: int) -> float:
        return round(counter / count, 2)

    completions = cases * rounds * len(common.CONSENTERS)
    return {
        "benchmark": "engine", "database": dialect, "cases": cases, "rounds": rounds,
        "a_spiff_memory_cases_per_s": round(median["a"], 1),
        "b_spiff_round_trip_cases_per_s": round(median["b"], 1),
        "b2_spiff_own_round_trip_cases_per_s": round(median["b2"], 1),
        "c_service_cases_per_s": round(median["c"], 1),
        "d_api_cases_per_s": round(median["d"], 1),
        "e_service_isolated_cases_per_s": round(median["e"], 1),
        "c_over_b": ratio("c", "b"), "d_over_b": ratio("d", "b"),
        "c_over_b2": ratio("c", "b2"), "d_over_b2": ratio("d", "b2"),
        "e_over_c": ratio("e", "c"),
        "service_completion_sql": {"statements": per(sql["service"].statements, completions),
                                   "round_trips": per(sql["service"].round_trips, completions)},
        "service_case_sql": {"statements": per(sql["service_case"].statements, cases * rounds),
                             "round_trips": per(sql["service_case"].round_trips, cases * rounds)},
        "api_completion_sql": {"statements": per(sql["api"].statements, completions),
                               "round_trips": per(sql["api"].round_trips, completions)},
        "api_task_completion": common.summary_ms(completion_times),
        "machine": common.machine(),
    }


def main(argv=None) -> dict:
    return common.command_line(__doc__, run, argv, cases=(int, 100, "cases per variant and round"),
                               rounds=(int, 5, "interleaved rounds"))


if __name__ == "__main__":
    main()
