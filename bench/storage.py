"""Bytes in the database per completed borrowing case, every table the application keeps counted (instance
state, tasks, events, the loan, notifications, reads …) with every index.

    .venv/bin/python bench/storage.py [--cases N]      # DATABASE_URL=postgresql://… for PostgreSQL

Runs N three-consent cases through the engine service and measures what the tables grew by:
on PostgreSQL pg_total_relation_size (heap, TOAST, indexes), on SQLite the pages of the dbstat view,
both after compacting (VACUUM FULL / VACUUM), so that superseded row versions do not count.
The database is rebuilt (see bench/common.py). The last line of output is one JSON object.
"""
from __future__ import annotations

import sys
from pathlib import Path

if __package__ in (None, ""):
    # Run as a script: the repository, not bench/ (whose http.py would shadow the stdlib's), goes first.
    sys.path[0] = str(Path(__file__).resolve().parent.parent)

from sqlalchemy import func, select, text

from bench import common


def tables(db) -> list[str]:
    """Every table of the application's models (the engine's, the company's and the flows'): a case may
    write to any of them, so none is left out of its cost."""
    return sorted(db.Model.metadata.tables)


def table_bytes(db) -> dict[str, int]:
    """Allocated bytes per table, its indexes (and on PostgreSQL its TOAST) included."""
    names = tables(db)
    if db.dialect() == "postgresql":
        return {t: db.session.scalar(text("SELECT pg_total_relation_size(:t)"), {"t": t}) for t in names}
    sizes = dict.fromkeys(names, 0)
    for table, name in db.session.execute(text("SELECT tbl_name, name FROM sqlite_schema")):
        if table in sizes:  # the table and each of its indexes
            sizes[table] += db.session.scalar(text("SELECT coalesce(sum(pgsize), 0) FROM dbstat WHERE name = :n"),
                                              {"n": name})
    return sizes


def compact(db) -> None:
    """Rewrite the tables so that only live rows count (PostgreSQL keeps old row versions until vacuumed)."""
    db.session.commit()
    with db.current_engine().connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        if db.dialect() == "postgresql":
            for table in tables(db):
                connection.execute(text(f'VACUUM FULL "{table}"'))
        else:
            connection.execute(text("VACUUM"))


def row_counts(db) -> dict[str, int]:
    return {t: db.session.scalar(select(func.count()).select_from(text(f'"{t}"'))) for t in tables(db)}


def run(cases: int) -> dict:
    from app import db
    from app.engine.models import Instance

    app = common.fresh_app()
    with app.app_context():
        compact(db)
        before_bytes, before_rows = table_bytes(db), row_counts(db)
        common.run_service_cases(app, cases, offset=0)
        compact(db)
        after_bytes, after_rows = table_bytes(db), row_counts(db)
        state_bytes = db.session.scalar(select(func.avg(func.length(Instance.state))))
        dialect = db.dialect()
    # Only the tables the cases wrote to are listed; every table is counted.
    grown = {t: after_bytes[t] - before_bytes[t] for t in after_bytes if after_bytes[t] != before_bytes[t]}
    rows = {t: after_rows[t] - before_rows[t] for t in after_rows if after_rows[t] != before_rows[t]}
    return {
        "benchmark": "storage", "database": dialect, "cases": cases,
        "bytes_per_case": round(sum(grown.values()) / cases),
        "bytes_per_case_by_table": {t: round(v / cases) for t, v in grown.items()},
        "rows_per_case": round(sum(rows.values()) / cases, 2),
        "rows_per_case_by_table": {t: round(v / cases, 2) for t, v in rows.items()},
        "instance_state_bytes_avg": round(float(state_bytes)),
        "machine": common.machine(),
    }


def main(argv=None) -> dict:
    return common.command_line(__doc__, run, argv, cases=(int, 500, "completed cases to measure"))


if __name__ == "__main__":
    main()
