"""SQLite: how long a read request waits behind a slow writer. Another connection holds the write lock
for `--hold` seconds (a long write, a migration, a worker's firing); meanwhile one API read that only
reads (the inbox) and one that also writes (a dossier read, which is logged) are timed.

    .venv/bin/python bench/read_under_write.py [--rounds 7] [--hold 0.5]

The last line is JSON: the medians in milliseconds, and the hold for scale.
"""
from __future__ import annotations

import argparse
import json
import sqlite3
import statistics
import sys
import threading
import time
from pathlib import Path

if __package__ in (None, ""):
    # Run as a script: the repository, not bench/ (whose http.py would shadow the stdlib's), goes first.
    sys.path[0] = str(Path(__file__).resolve().parent.parent)

from bench import common


def slow_writer(path: str, hold: float, holding: threading.Event) -> threading.Thread:
    def write():
        connection = sqlite3.connect(path, isolation_level=None)
        connection.execute("BEGIN IMMEDIATE")
        connection.execute("UPDATE users SET locale = locale WHERE username = 'admin'")
        holding.set()
        time.sleep(hold)
        connection.execute("COMMIT")
        connection.close()

    thread = threading.Thread(target=write)
    thread.start()
    return thread


def timed(client, url: str, token: str) -> float:
    started = time.perf_counter()
    answer = client.get(url, headers={"Authorization": f"Bearer {token}"})
    elapsed = (time.perf_counter() - started) * 1000
    assert answer.status_code == 200, answer.get_json()
    return elapsed


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--hold", type=float, default=0.5)
    options = parser.parse_args(argv)
    app = common.fresh_app()
    if app.extensions["database"].dialect.name != "sqlite":
        raise SystemExit("this benchmark is about SQLite's write lock")
    path = app.extensions["database"].url.database
    client = app.test_client()
    answer = client.post("/api/v1/tokens", json={"username": "rep_e1", "password": "demo"})
    token = answer.get_json()["token"]
    with app.app_context():
        customer = common.customer_id()
    reads, logged_reads = [], []
    for _ in range(options.rounds):
        for url, into in (("/api/v1/tasks", reads), (f"/api/v1/customers/{customer}", logged_reads)):
            holding = threading.Event()
            writer = slow_writer(path, options.hold, holding)
            holding.wait()
            into.append(timed(client, url, token))
            writer.join()
    result = {"hold_ms": options.hold * 1000, "inbox_read_ms": round(statistics.median(reads), 1),
              "logged_dossier_read_ms": round(statistics.median(logged_reads), 1)}
    print(json.dumps(result))
    return result


if __name__ == "__main__":
    main()
