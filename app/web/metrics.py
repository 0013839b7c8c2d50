"""/metrics for Prometheus: request latency by Flask endpoint, and the case load, counted from the
database when scraped (open and overdue tasks, how late the due timers are, open incidents, mail
waiting to go out).

Under gunicorn with PROMETHEUS_MULTIPROC_DIR set, each worker writes its samples to files there and any
worker's scrape adds them all up (gunicorn.conf.py clears the directory at start and tidies after a
worker). With METRICS_TOKEN set, a scrape must send `Authorization: Bearer <token>`.
"""
from __future__ import annotations

import hmac
import logging
import os

from flask import Blueprint, Response, current_app, request
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Histogram,
    generate_latest,
    multiprocess,
)
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector
from sqlalchemy import func, select, text
from sqlalchemy.exc import SQLAlchemyError

from app import db, observability
from app.calendar import clock
from app.domain.notifications import PENDING, Notification
from app.engine.models import OPEN_ASSIGNED, OPEN_UNCLAIMED, Incident, Task

log = logging.getLogger(__name__)

bp = Blueprint("metrics", __name__)

# prometheus_client chooses file-backed values at import when the variable is set; so does this module.
MULTIPROCESS = bool(os.environ.get("PROMETHEUS_MULTIPROC_DIR"))

# Up to the engine's bound on one operation (ENGINE_SECONDS, 20 s by default).
REQUEST_SECONDS = Histogram("approvals_request_duration_seconds", "Time to answer a request, by Flask endpoint",
                            ["endpoint", "method", "status"],
                            buckets=(0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 20, 30))
_METHODS = {"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"}


@bp.after_app_request
def _observe(response):
    # Labels from the route, never the raw path or method: a scanner's requests add no series.
    REQUEST_SECONDS.labels(request.endpoint or "none", request.method if request.method in _METHODS else "other",
                           f"{response.status_code // 100}xx").observe(observability.request_seconds())
    return response


def _count(table, *conditions):
    return select(func.count()).select_from(table).where(*conditions).scalar_subquery()


class CaseLoad(Collector):
    """The case load, read from the database at each scrape; each count uses an index (the tasks' by the
    inboxes' partial ones, whose conditions it spells out)."""

    def collect(self):
        now = clock.now()
        try:
            with db.lazy_write_lock():  # reads only: on SQLite no write lock
                counts = db.session.execute(select(
                    _count(Task, text(OPEN_ASSIGNED)).label("assigned"),
                    _count(Task, text(OPEN_UNCLAIMED)).label("unclaimed"),
                    _count(Task, text(OPEN_ASSIGNED), Task.due_at < now).label("assigned_overdue"),
                    _count(Task, text(OPEN_UNCLAIMED), Task.due_at < now).label("unclaimed_overdue"),
                    _count(Incident, Incident.resolved_at.is_(None)).label("incidents"),
                    _count(Notification, Notification.email_state == PENDING).label("mail"),
                )).one()
                next_due = current_app.extensions["engine"].timers.next_due_at()
        except SQLAlchemyError:
            log.exception("metrics: the case load cannot be read")
            return
        yield GaugeMetricFamily("approvals_open_tasks", "Human tasks waiting to be done",
                                value=counts.assigned + counts.unclaimed)
        yield GaugeMetricFamily("approvals_overdue_tasks", "Open tasks past their due time",
                                value=counts.assigned_overdue + counts.unclaimed_overdue)
        yield GaugeMetricFamily("approvals_timer_lag_seconds",
                                "How long the oldest due timer has waited to be fired (0: none is due)",
                                value=max((now - next_due).total_seconds(), 0) if next_due else 0)
        yield GaugeMetricFamily("approvals_open_incidents", "Incidents waiting for an administrator",
                                value=counts.incidents)
        yield GaugeMetricFamily("approvals_mail_queue", "Notifications waiting to be e-mailed", value=counts.mail)


def _authorised() -> bool:
    token = current_app.config.get("METRICS_TOKEN")
    if not token:
        return True
    scheme, _, given = request.headers.get("Authorization", "").partition(" ")
    return scheme.lower() == "bearer" and hmac.compare_digest(given.strip().encode(), token.encode())


@bp.route("/metrics")
def metrics():
    if not _authorised():
        return Response("Unauthorized\n", 401, {"WWW-Authenticate": "Bearer"}, mimetype="text/plain")
    registry = CollectorRegistry()
    if MULTIPROCESS:
        multiprocess.MultiProcessCollector(registry)
    else:
        registry.register(REGISTRY)  # this process's metrics, the process and runtime ones included
    registry.register(CaseLoad())
    return Response(generate_latest(registry), content_type=CONTENT_TYPE_LATEST)
