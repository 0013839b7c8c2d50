"""The benchmarks at a tiny size, so that they cannot rot: each runs end to end and reports its figures."""
import json
import os

import pytest

from bench import compare, engine, http, read_under_write, storage, timers


def last_json_line(capsys) -> dict:
    return json.loads(capsys.readouterr().out.strip().splitlines()[-1])


def test_engine_bench_compares_the_service_with_the_ceiling(bench_database, capsys):
    result = engine.main(["--cases", "2", "--rounds", "2"])
    assert last_json_line(capsys) == json.loads(json.dumps(result, ensure_ascii=False))
    for variant in ("a_spiff_memory", "b_spiff_round_trip", "b2_spiff_own_round_trip", "c_service", "d_api"):
        assert result[f"{variant}_cases_per_s"] > 0
    assert result["c_over_b"] > 0 and result["c_over_b2"] > 0 and result["d_over_b2"] > 0
    assert result["api_task_completion"]["p50_ms"] > 0
    # The SQL is counted, not estimated: a completion reads and writes, and its round trips add the
    # transaction's own.
    for counted in ("service_completion_sql", "api_completion_sql", "service_case_sql"):
        assert 3 <= result[counted]["statements"] < result[counted]["round_trips"]


def test_storage_bench_counts_the_rows_of_a_completed_case(bench_database, capsys):
    result = storage.main(["--cases", "3"])
    assert last_json_line(capsys)["bytes_per_case"] == result["bytes_per_case"] > 0
    # Every table a case writes to counts, the notifications too (its steps' people and its end).
    assert result["rows_per_case_by_table"] == {"instances": 1, "tasks": 3, "events": 10, "dossier_loans": 1,
                                                "notifications": 4}


def test_http_bench_runs_a_real_server_and_checks_every_case(bench_database, capsys):
    result = http.main(["--users", "2", "--cases", "4", "--seconds", "60", "--workers", "2"])
    assert last_json_line(capsys)["cases_filed"] == 4
    assert result["errors"] == 0, result["error_kinds"]
    assert result["consistency"] == {"ok": True, "cases_checked": 4, "problems": []}
    assert result["completed_cases_per_s"] > 0 and result["latency"]["p50_ms"] > 0


def test_timers_bench_fires_every_due_timer_once_with_two_workers(bench_database, capsys):
    result = timers.main(["--cases", "6", "--workers", "2"])
    assert last_json_line(capsys)["fired"] == result["fired"] == 6
    assert result["consistency"] == {"ok": True, "fired": 6, "problems": []}
    assert sum(result["tries_by_worker"]) >= 6 and result["fired_per_s"] > 0


@pytest.mark.skipif(os.environ.get("DATABASE_URL", "sqlite").startswith("postgresql"), reason="SQLite's write lock")
def test_read_under_write_bench_times_reads_behind_a_writer(bench_database):
    result = read_under_write.main(["--rounds", "1", "--hold", "0.3"])
    assert result["hold_ms"] == 300 and result["inbox_read_ms"] > 0
    assert result["logged_dossier_read_ms"] >= 300  # its write waits for the writer's commit


def test_compare_bench_runs_two_commits_in_interleaved_rounds(bench_database, capsys):
    """The base commit in a worktree of its own against this tree: here HEAD against itself, one round."""
    result = compare.main(["--base", "HEAD", "--rounds", "1", "--", "--cases", "2"])
    assert last_json_line(capsys)["rounds"] == 1
    assert result["base"]["c_service_cases_per_s"] > 0 and result["head"]["c_service_cases_per_s"] > 0
    assert result["ratio"]["c_over_b"] == round(result["head"]["c_over_b"] / result["base"]["c_over_b"], 3)
    assert result["base"]["api_task_completion.p50_ms"] > 0  # nested figures, flattened
