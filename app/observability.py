"""Logs for a multi-node install: one configuration for the whole process (JSON lines or text, at
LOG_LEVEL), every line written during a request stamped with its request id, and an access line per
request.

The request id comes from the caller's X-Request-ID when it is a sane one (a proxy or another node
chose it), else it is made here; the response carries it back. It lives in a context variable, so
that lines of modules that know nothing of Flask (the engine) carry it too. Lines outside requests
(the timer workers, commands) have none.
"""
from __future__ import annotations

import contextvars
import logging
import re
import sys
import time
import uuid

from flask import Flask, g, request
from pythonjsonlogger.json import JsonFormatter

REQUEST_ID_HEADER = "X-Request-ID"
_SANE_REQUEST_ID = re.compile(r"[A-Za-z0-9._-]{1,64}")
_request_id: contextvars.ContextVar[str | None] = contextvars.ContextVar("request_id", default=None)

access_log = logging.getLogger("app.access")


def current_request_id() -> str | None:
    return _request_id.get()


class RequestIdFilter(logging.Filter):
    """Stamps each line with the current request's id (none outside requests)."""

    def filter(self, record: logging.LogRecord) -> bool:
        found = _request_id.get()
        if found is not None and not hasattr(record, "request_id"):
            record.request_id = found
        return True


class StderrHandler(logging.StreamHandler):
    """Writes to sys.stderr as it is when the line is written (pytest swaps it for each test)."""

    @property
    def stream(self):
        return sys.stderr

    @stream.setter
    def stream(self, _value):
        pass


def formatter(log_format: str) -> logging.Formatter:
    if log_format == "json":
        return JsonFormatter("%(levelname)s %(name)s %(message)s %(request_id)s", timestamp="time",
                             rename_fields={"levelname": "level", "name": "logger"})
    if log_format == "text":
        return logging.Formatter("%(asctime)s %(levelname)s [%(request_id)s] %(name)s: %(message)s",
                                 defaults={"request_id": "-"})
    raise ValueError(f"LOG_FORMAT must be json or text, not {log_format!r}")


def handler(log_format: str) -> logging.Handler:
    """The handler the application logs through: stderr, the format, the request id."""
    made = StderrHandler()
    made.setFormatter(formatter(log_format))
    made.addFilter(RequestIdFilter())
    return made


def _setting(app: Flask, name: str, default: str) -> str:
    return str(app.config.get(name) or default)


def configure_logging(app: Flask) -> None:
    """The root logger writes through one handler of ours (replacing the one an earlier application of
    this process installed). LOG_FORMAT: `text` in debug, demo and test mode, `json` otherwise."""
    readable = app.debug or app.testing or app.config.get("DEMO")
    log_format = _setting(app, "LOG_FORMAT", "text" if readable else "json").lower()
    root = logging.getLogger()
    for old in [h for h in root.handlers if isinstance(h, StderrHandler)]:
        root.removeHandler(old)
    root.addHandler(handler(log_format))
    root.setLevel(_setting(app, "LOG_LEVEL", "INFO").upper())
    # SpiffWorkflow logs each state change of each task at INFO: dozens of lines a step, so from DEBUG only.
    logging.getLogger("spiff").setLevel(logging.NOTSET if root.level <= logging.DEBUG else logging.WARNING)


def _begin_request() -> None:
    given = request.headers.get(REQUEST_ID_HEADER, "")
    g.request_id_token = _request_id.set(given if _SANE_REQUEST_ID.fullmatch(given) else uuid.uuid4().hex)
    g.request_started = time.perf_counter()


def request_seconds() -> float:
    """How long the current request has taken so far."""
    return time.perf_counter() - g.request_started


def _finish_request(response):
    response.headers[REQUEST_ID_HEADER] = _request_id.get()
    # Only a user the request already loaded: reading current_user here would load one (a database
    # query on /healthz, say). Flask-Login keeps it in g._login_user.
    user = g.get("api_user") or g.get("_login_user")  # the API's bearer, or the page's session user
    user_id = user.id if user is not None and user.is_authenticated else None
    duration_ms = round(request_seconds() * 1000, 1)
    fields = {"method": request.method, "path": request.path, "endpoint": request.endpoint,
              "status": response.status_code, "duration_ms": duration_ms, "user_id": user_id}
    access_log.info("%s %s %s %.1f ms user %s", request.method, request.path, response.status_code, duration_ms,
                    user_id or "-", extra=fields)
    return response


def _forget_request(_exc) -> None:
    token = g.pop("request_id_token", None)
    if token is not None:
        _request_id.reset(token)


def init_app(app: Flask) -> None:
    """Logging, and the request id and access line of every request. Call it before anything else
    registers request hooks: the id is then set first and the access line written last."""
    configure_logging(app)
    app.before_request(_begin_request)
    app.after_request(_finish_request)
    app.teardown_request(_forget_request)
