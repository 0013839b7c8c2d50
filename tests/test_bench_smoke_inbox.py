"""bench/inbox.py end to end at a tiny size: every figure is reported, the data has the sizes asked
for, and the two measured users really see what the benchmark says they see.

The bench never touches the test session's database: on SQLite it gets its own file, on
PostgreSQL (DATABASE_URL set) its own database `<the session's>_bench` on the same server.
"""
from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parent.parent / "bench" / "inbox.py"
SIZES = {"completed": 2_000, "open": 300, "users": 50, "roles": 5, "samples": 5, "assigned": 20, "claimable": 150}
API_PAGE = 100  # what the bench asks the inbox API for (the API's largest page)


@pytest.fixture(autouse=True)
def clean_state():
    """Replaces conftest's: these tests never start the test session's app or touch its database."""
    yield


def load_bench():
    spec = importlib.util.spec_from_file_location("bench_inbox_under_test", BENCH)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up while the file executes
    spec.loader.exec_module(module)
    return module


def test_the_inbox_bench_measures_what_it_says_at_a_tiny_size(bench_database, capsys):
    bench = load_bench()
    url = bench.sqlalchemy_url(bench_database)
    argv = [item for name, value in SIZES.items() for item in (f"--{name}", str(value))]

    result = bench.main(argv + ["--database-url", url])

    out = capsys.readouterr().out.strip().splitlines()
    assert json.loads(out[-1]) == result  # the last line of stdout is the JSON
    assert result["database"] == ("postgresql" if url.startswith("postgresql") else "sqlite")
    assert result["sizes"] == SIZES
    for figure in ("schema_seconds", "generation_seconds", "analyze_seconds"):
        assert isinstance(result[figure], (int, float)) and result[figure] >= 0, figure
    assert set(result["machine"]) >= {"cpus", "cpu", "python"}
    assert result["planner_statistics"] == ("VACUUM ANALYZE" if result["database"] == "postgresql" else "none")

    rows = result["rows"]
    assert rows["tasks_completed"] == SIZES["completed"]
    assert rows["tasks_open"] == SIZES["open"]
    assert rows["tasks"] == SIZES["completed"] + SIZES["open"]
    assert rows["users"] == SIZES["users"]
    assert rows["roles"] == SIZES["roles"]
    assert rows["process_definitions"] == 1
    assert rows["memberships"] >= rows["users"]
    assert SIZES["open"] <= rows["instances"] < rows["tasks"]
    assert rows["events"] >= 2 * rows["tasks"]  # created and (for most) completed, plus the cases' own
    # Rows as real cases leave them: customers of the territories, loans of the approved cases, the
    # people told of every step (the offers of open group steps unread) and of every ended case.
    assert rows["customers"] >= 10
    assert 0 < rows["dossier_loans"] < rows["instances"]
    assert rows["notifications"] > rows["tasks"] and rows["notifications_unread"] >= SIZES["open"]

    checks = result["checks"]
    assert checks["assigned_api_items"] == SIZES["assigned"]
    assert checks["assigned_api_all_assigned_to_user"] is True
    assert checks["assigned_page_total"] == SIZES["assigned"]
    assert checks["claimable_page_total"] == SIZES["claimable"]
    assert checks["claimable_api_items"] == min(SIZES["claimable"], API_PAGE)
    assert checks["claimable_api_all_unclaimed_for_role"] is True

    timings = result["timings"]
    assert set(timings) == set(bench.MEASUREMENTS)
    for name, figures in timings.items():
        assert 0 < figures["p50_ms"] <= figures["p95_ms"] <= figures["max_ms"], name
    assert timings["api_events_actor_quarter"]["mean_total"] >= 0
    assert timings["api_events_process_month"]["mean_total"] > 0


def test_sizes_that_cannot_hold_the_measured_users_are_refused(capsys):
    bench = load_bench()
    with pytest.raises(SystemExit):
        bench.parse_args(["--open", "100", "--assigned", "50", "--claimable", "60"])
    assert "--open must be at least --assigned + --claimable" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        bench.parse_args(["--roles", "4"])
    assert "--roles must be at least 5" in capsys.readouterr().err


def test_the_cases_it_writes_hold_real_states_the_engine_loads():
    """Every stage's state is SpiffWorkflow's own, as the engine's serializer writes it: it loads, and
    waits where the case's row says."""
    from SpiffWorkflow.util.task import TaskState

    from app.engine import serializer
    from bench import common

    bench = load_bench()
    spec, subprocess_specs, _engine = common.own_borrowing_spec()
    states = bench.real_states()
    for step, (spec_id, _name, _rule) in enumerate(bench.STEPS):
        workflow = serializer.loads(states[f"waiting_{step}"], spec, subprocess_specs)
        assert [t.task_spec.name for t in workflow.get_tasks(state=TaskState.READY, manual=True)] == [spec_id]
    passed, waiting = serializer.reached_in(states["ended"], spec, subprocess_specs)
    assert {"grant_loan", *(spec_id for spec_id, _name, _rule in bench.STEPS)} <= passed and not waiting
