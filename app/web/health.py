"""Probes for the load balancer and the orchestrator: /healthz (the process answers) and /readyz (it can
serve: the database answers, its schema is at the migrations' head, the file store is usable). No
sign-in, no session, no CSRF, no rate limit (the factory exempts the blueprint)."""
from __future__ import annotations

import logging
from functools import cache

from alembic.script import ScriptDirectory
from flask import Blueprint, current_app, jsonify
from sqlalchemy import inspect, text

log = logging.getLogger(__name__)

bp = Blueprint("health", __name__)

OK = {"status": "ok"}


@bp.route("/healthz")
def healthz():
    return jsonify(OK)


@cache
def head_revisions(directory: str) -> frozenset[str]:
    """The head revision(s) of the migration scripts; they change only with a new release."""
    return frozenset(ScriptDirectory(directory).get_heads())


def _failed(error: str) -> dict:
    return {"status": "failed", "error": error}


def _database_and_migrations() -> dict[str, dict]:
    heads = head_revisions(current_app.extensions["migrate"].directory)
    try:
        # Autocommit: no transaction, so on SQLite no write lock (app.db takes it at BEGIN).
        with current_app.extensions["database"].connect().execution_options(isolation_level="AUTOCOMMIT") \
                as connection:
            connection.execute(text("SELECT 1"))
            # Read directly: alembic's MigrationContext logs two INFO lines each time.
            current = frozenset(connection.scalars(text("SELECT version_num FROM alembic_version"))
                                if inspect(connection).has_table("alembic_version") else ())
    except Exception as exc:  # whatever the driver raises, the database is not usable
        # Its message may name hosts and users: the log has it, the public answer only its kind.
        log.warning("readiness: the database cannot be reached: %r", exc)
        return {"database": _failed(type(exc).__name__)}
    if current != heads:
        return {"database": OK, "migrations": _failed(f"database at {', '.join(sorted(current)) or 'no revision'}, "
                                                      f"scripts at {', '.join(sorted(heads))}")}
    return {"database": OK, "migrations": OK}


def _files() -> dict[str, dict]:
    try:
        current_app.extensions["engine"].files.check()
    except Exception as exc:  # each store fails in its own way; any failure means not ready
        log.warning("readiness: the file store is not usable: %r", exc)
        return {"files": _failed(type(exc).__name__)}
    return {"files": OK}


@bp.route("/readyz")
def readyz():
    results = {**_database_and_migrations(), **_files()}
    ready = all(result["status"] == "ok" for result in results.values())
    return jsonify(status="ok" if ready else "unavailable", checks=results), 200 if ready else 503
