"""The database, in plain SQLAlchemy: the declarative base of every table, the session, and pages of rows.

The engine and the domain use `session` without Flask. Which database a session talks to and how long
it lives are the application's business: the app factory calls `serve` once (a session per Flask
application context, on that application's engine); scripts and the domain's own tests call `bind`
(a session per thread, on one engine).
"""
from __future__ import annotations

import contextvars
import math
import threading
from collections.abc import Callable, Hashable
from contextlib import contextmanager
from dataclasses import dataclass

from sqlalchemy import create_engine, event, func, select
from sqlalchemy.engine import Engine
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import DeclarativeBase, Session, scoped_session, sessionmaker


class Model(DeclarativeBase):
    """Every table of the application derives from this."""


metadata = Model.metadata


class _Where:
    """Where sessions come from: set once by `serve` (the application) or `bind` (a script)."""

    engine: Engine | None = None  # without an application
    engine_of_context: Callable[[], Engine | None] = staticmethod(lambda: None)
    scope: Callable[[], Hashable] = staticmethod(threading.get_ident)


def current_engine() -> Engine:
    found = _Where.engine_of_context() or _Where.engine
    if found is None:
        raise RuntimeError("no database: create the application, or call app.db.bind(engine)")
    return found


class _Session(Session):
    def get_bind(self, mapper=None, **kwargs):
        return current_engine()


# Objects stay loaded after commit: the engine commits, then the caller renders what it just wrote.
session = scoped_session(sessionmaker(class_=_Session, expire_on_commit=False), scopefunc=lambda: _Where.scope())


_MEMO = "transaction_memo"


def memo(key: Hashable, compute: Callable[[], object]):
    """What `compute()` gives, computed once per transaction of the current session: a look-up that one
    operation makes several times (the members of a group, for the rule, segregation and the
    notification). Forgotten when the transaction ends, so it is never older than the transaction's
    own reads; a transaction that changes what it memoised must not ask again."""
    found = session().info.setdefault(_MEMO, {})
    if key not in found:
        found[key] = compute()
    return found[key]


def forget(current: Session, key: Hashable) -> None:
    """Drop what `memo` kept under `key` in this transaction of `current`: it changed what it read."""
    current.info.get(_MEMO, {}).pop(key, None)


# The session's identity map holds its objects weakly: a customer that a start hook read and let go would
# be read again by the assignment rule a moment later. Within a transaction, everything it loaded stays.
_KEPT = "kept_in_transaction"


@event.listens_for(_Session, "loaded_as_persistent")
def _keep(current: Session, instance) -> None:
    current.info.setdefault(_KEPT, []).append(instance)


# Not after_transaction_end: every flush is a subtransaction of its own.
@event.listens_for(_Session, "after_commit")
@event.listens_for(_Session, "after_rollback")
def _forget_memo(current: Session) -> None:
    current.info.pop(_MEMO, None)
    current.info.pop(_KEPT, None)


def bind(engine: Engine) -> None:
    """Sessions of this thread (and of any without an application) use `engine`."""
    _Where.engine = engine


def serve(engine_of_context: Callable[[], Engine | None], scope: Callable[[], Hashable]) -> None:
    """How an application hands out sessions: `scope` tells one unit of work from another (a request,
    a command), `engine_of_context` gives the database of the current one (None: the bound default)."""
    _Where.engine_of_context, _Where.scope = staticmethod(engine_of_context), staticmethod(scope)


def dialect() -> str:
    return current_engine().dialect.name


def connect(url: str, **options) -> Engine:
    """An engine for `url`, tuned for SQLite when it is SQLite.

    JSON columns are written by orjson: compact, and UTF-8 rather than \\uXXXX escapes (on SQLite, where
    JSON is text, 同意 takes 6 bytes instead of 12). Dates, times and dataclasses are refused (TypeError)
    as the standard json.dumps refuses them, rather than silently becoming strings; reading stays json's."""
    import orjson

    def json_text(value) -> str:
        return orjson.dumps(value, option=orjson.OPT_NON_STR_KEYS | orjson.OPT_PASSTHROUGH_DATETIME
                            | orjson.OPT_PASSTHROUGH_DATACLASS).decode()

    options.setdefault("json_serializer", json_text)
    engine = create_engine(url, **options)
    if engine.dialect.name == "sqlite":
        _tune_sqlite(engine)
    return engine


def _tune_sqlite(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _pragmas(dbapi_connection, _record):
        dbapi_connection.isolation_level = None  # SQLAlchemy emits BEGIN below
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _begin(conn):
        # SQLite has one writer. Taking the write lock at BEGIN makes concurrent writers queue
        # (busy_timeout) instead of failing mid-transaction when their snapshot went stale; inside
        # `lazy_write_lock` the lock waits for the first write instead.
        if conn.get_execution_options().get("isolation_level") != "AUTOCOMMIT":
            conn.exec_driver_sql("BEGIN" if _lazy.get() else "BEGIN IMMEDIATE")


_lazy = contextvars.ContextVar("lazy_write_lock", default=False)


@contextmanager
def lazy_write_lock(lazy: bool = True):
    """The transactions begun inside take SQLite's write lock at their first write rather than at BEGIN,
    so that what runs before it (reads, definition text) holds nothing other requests wait for. A write
    that then finds the database changed since the transaction's first read fails at once
    (`is_write_conflict`): the caller replays it, outside, where writers queue."""
    token = _lazy.set(lazy)
    try:
        yield
    finally:
        _lazy.reset(token)


def writes_lazily() -> bool:
    """Whether transactions begun now take the write lock at their first write (`lazy_write_lock`)."""
    return _lazy.get()


def is_write_conflict(exc: BaseException) -> bool:
    """SQLite refusing a lazily locked transaction's first write: another writer came first."""
    return isinstance(exc, OperationalError) and "database is locked" in str(exc)


@dataclass(frozen=True)
class Page:
    """One page of a list: its items, where it is, and (unless it was not counted) how many there are."""

    items: list
    page: int
    per_page: int
    total: int | None

    @property
    def pages(self) -> int:
        return math.ceil(self.total / self.per_page) if self.total else 0

    @property
    def has_prev(self) -> bool:
        return self.page > 1

    @property
    def has_next(self) -> bool:
        return self.page < self.pages

    @property
    def prev_num(self) -> int | None:
        return self.page - 1 if self.has_prev else None

    @property
    def next_num(self) -> int | None:
        return self.page + 1 if self.has_next else None


def page_bounds(page: int | None, per_page: int | None, max_per_page: int | None = None,
                default_per_page: int = 20) -> tuple[int, int]:
    """A page number of at least 1 and a page size of 1 to `max_per_page` (out of range: the nearest)."""
    page = max(page or 1, 1)
    per_page = max(per_page or default_per_page, 1)
    return page, min(per_page, max_per_page) if max_per_page else per_page


def paginate(statement, page: int | None, per_page: int | None, *, max_per_page: int | None = None,
             count: bool = True) -> Page:
    """The rows of a SELECT (one entity per row) on page `page`, counted unless `count` is False."""
    page, per_page = page_bounds(page, per_page, max_per_page)
    items = list(session.scalars(statement.limit(per_page).offset((page - 1) * per_page)).unique())
    total = None
    if count:
        total = session.scalar(select(func.count()).select_from(statement.order_by(None).subquery()))
    return Page(items, page, per_page, total)
