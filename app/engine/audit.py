"""The audit trail proves itself: every case's events form a hash chain, and checkpoints seal all
chains together.

Each event stores the SHA-256 of the previous event of its case (`prev_hash`) and its own `hash` =
SHA-256(prev_hash + canonical content). Chains are per case, so cases never wait on each other to
append; a checkpoint (`flask audit checkpoint`, from cron) records every chain's head and is itself
chained to the previous checkpoint, so that removing a case's newest events is caught too.
Events about no case (a process version deployed, approved or rejected) form one more chain, of the
events whose `instance_id` is NULL. `flask audit verify` walks it all and names the first event that
was altered, removed or inserted.
The canonical content and the chaining are simple enough to check outside the company with
`tools/verify_audit.py` over an export (`flask audit export`).
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import UTC, datetime

import orjson
from sqlalchemy import UniqueConstraint, func, select, text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Mapped, mapped_column

from app import db
from app.db_types import JSONDoc, Sha256, UTCDateTime
from app.engine.models import Event, Instance

GENESIS = "0" * 64  # the prev_hash of a case's first event, and of the first checkpoint
CASELESS = "none"  # a checkpoint's key for the chain of events about no case
CASELESS_LOCK = 0x61756469  # PostgreSQL advisory lock taken to append to that chain
CHECKPOINT_LOCK = 0x63686b70  # PostgreSQL advisory lock taken to append a checkpoint


def canonical(event: dict) -> bytes:
    """An event's content as hashed: sorted keys, UTC time to the microsecond, no whitespace."""
    at = event["at"]
    if isinstance(at, datetime):
        at = at.astimezone(UTC).isoformat(timespec="microseconds")
    content = {"instance_id": event["instance_id"], "task_id": event["task_id"], "type": event["type"],
               "actor_id": event["actor_id"], "at": at, "data": event["data"]}
    return orjson.dumps(content, option=orjson.OPT_SORT_KEYS)


def digest(prev_hash: str, event: dict) -> str:
    return hashlib.sha256(prev_hash.encode() + canonical(event)).hexdigest()


def append(instance: Instance | None, rows: list[dict]) -> None:
    """Insert events of one case (one statement), each chained to the one before; the case's chain
    head moves with them, in the same transaction (and under the case's version lock).

    Without a case (`instance` None: a process version deployed, approved or rejected), the events go on
    the chain of events about no case, after its newest event; writers of that chain take turns (on
    PostgreSQL a transaction-scoped advisory lock, on SQLite the database's one writer)."""
    if not rows:
        return
    if instance is None:
        if db.dialect() == "postgresql":
            db.session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": CASELESS_LOCK})
        head = db.session.scalar(select(Event.hash).where(Event.instance_id.is_(None))
                                 .order_by(Event.id.desc()).limit(1)) or GENESIS
    else:
        head = instance.chain_head or GENESIS
    for row in rows:
        row.setdefault("task_id", None)
        row.setdefault("instance_id", None)
        row["prev_hash"], row["hash"] = head, digest(head, row)
        head = row["hash"]
    if instance is not None:
        instance.chain_head = head
    # The pending changes first (the instance's UPDATE, under its version check), then the events as one
    # plain executemany: the ORM's bulk insert would split rows with and without a task in two.
    db.session.flush()
    db.session.execute(Event.__table__.insert(), rows)


class Checkpoint(db.Model):
    """Every case chain's head (and that of the events about no case) at one moment, itself chained to
    the previous checkpoint. `position` is its place in that chain (1, 2, …): unique, so that the
    database refuses a second checkpoint after the same one (a fork)."""

    __tablename__ = "audit_checkpoints"
    __table_args__ = (UniqueConstraint("position", name="uq_audit_checkpoints_position"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    position: Mapped[int]
    at: Mapped[datetime] = mapped_column(UTCDateTime())
    heads: Mapped[dict] = mapped_column(JSONDoc)  # {instance id (or CASELESS): [last event id, its hash]}
    prev_hash: Mapped[str] = mapped_column(Sha256)
    hash: Mapped[str] = mapped_column(Sha256)


class CheckpointRace(RuntimeError):
    """Another checkpoint took the same place in the chain twice running: nothing was written."""


def _checkpoint_digest(prev_hash: str, at: datetime, heads: dict) -> str:
    content = {"at": at.astimezone(UTC).isoformat(timespec="microseconds"), "heads": heads}
    return hashlib.sha256(prev_hash.encode() + orjson.dumps(content, option=orjson.OPT_SORT_KEYS)).hexdigest()


def checkpoint(now: datetime) -> Checkpoint:
    """Seal every case chain's current head, after the newest checkpoint. Runs of it take turns (on
    PostgreSQL an advisory lock, on SQLite the write lock taken at BEGIN); one that still finds its place
    taken (a writer not taking turns) tries once more, then gives up with CheckpointRace."""
    for _ in range(2):
        try:
            return _seal(now)
        except IntegrityError as exc:
            db.session.rollback()
            # PostgreSQL names the constraint, SQLite the table and column
            if "audit_checkpoints" not in str(exc):
                raise
    raise CheckpointRace("another checkpoint was written at the same place in the chain; nothing was "
                         "written, run it again")


def _seal(now: datetime) -> Checkpoint:
    db.session.commit()  # a transaction of its own, whose first read comes after the turn is taken
    with db.lazy_write_lock(False):
        if db.dialect() == "postgresql":
            db.session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": CHECKPOINT_LOCK})
        newest = (select(Event.instance_id, func.max(Event.id).label("last_id"))
                  .group_by(Event.instance_id).subquery())
        heads = {CASELESS if instance_id is None else str(instance_id): [event_id, event_hash]
                 for instance_id, event_id, event_hash in db.session.execute(
                     select(newest.c.instance_id, Event.id, Event.hash)
                     .join(Event, Event.id == newest.c.last_id))}
        previous = db.session.execute(select(Checkpoint.position, Checkpoint.hash)
                                      .order_by(Checkpoint.position.desc()).limit(1)).first()
        position, prev_hash = (previous.position + 1, previous.hash) if previous else (1, GENESIS)
        sealed = Checkpoint(position=position, at=now, heads=heads, prev_hash=prev_hash,
                            hash=_checkpoint_digest(prev_hash, now, heads))
        db.session.add(sealed)
        db.session.commit()
    return sealed


@dataclass(frozen=True)
class Finding:
    event_id: int | None
    instance_id: int | None
    problem: str

    def __str__(self) -> str:
        where = f"event {self.event_id}" if self.event_id else f"case {self.instance_id}"
        return f"{where}: {self.problem}"


_CHAIN_COLUMNS = (Event.id, Event.instance_id, Event.task_id, Event.type, Event.actor_id, Event.at, Event.data,
                  Event.prev_hash, Event.hash)


def _walk(instance_id: int | None, events: list, head: str | None) -> Finding | None:
    """The first problem of one case's chain (events in id order), given the head its case row holds."""
    expected_prev = GENESIS
    for event in events:
        if event.prev_hash != expected_prev:
            return Finding(event.id, instance_id, "does not follow the event before it (an event was removed or inserted)")
        if digest(event.prev_hash, event._asdict()) != event.hash:
            return Finding(event.id, instance_id, "its content was altered")
        expected_prev = event.hash
    if instance_id is not None and head not in (None, expected_prev):
        return Finding(None, instance_id, "its newest events were removed")
    return None


def verify() -> list[Finding]:
    """Walk every case chain and every checkpoint; the findings, first problem of each chain first."""
    chains: dict[int | None, list] = {}
    for event in db.session.execute(select(*_CHAIN_COLUMNS).order_by(Event.instance_id, Event.id)):
        chains.setdefault(event.instance_id, []).append(event)
    heads = dict(db.session.execute(select(Instance.id, Instance.chain_head)).all())
    findings = [finding for instance_id, events in chains.items()
                if (finding := _walk(instance_id, events, heads.get(instance_id)))]
    findings += _verify_checkpoints(chains)
    return findings


def verify_cases(instance_ids: list[int]) -> dict[int, Finding | None]:
    """Whether each of these cases' chains holds (None) or its first problem: for the compliance pages,
    which show it beside each case. Checkpoints are `verify`'s (the whole trail's) business."""
    chains: dict[int, list] = {instance_id: [] for instance_id in instance_ids}
    for event in db.session.execute(select(*_CHAIN_COLUMNS).where(Event.instance_id.in_(instance_ids))
                                    .order_by(Event.instance_id, Event.id)):
        chains[event.instance_id].append(event)
    heads = dict(db.session.execute(select(Instance.id, Instance.chain_head)
                                    .where(Instance.id.in_(instance_ids))).all())
    return {instance_id: _walk(instance_id, events, heads.get(instance_id)) for instance_id, events in chains.items()}


def _verify_checkpoints(chains: dict) -> list[Finding]:
    findings = []
    by_id = {event.id: event for events in chains.values() for event in events}
    prev_hash = GENESIS
    for sealed in db.session.scalars(select(Checkpoint).order_by(Checkpoint.position)):
        if sealed.prev_hash != prev_hash or _checkpoint_digest(prev_hash, sealed.at, sealed.heads) != sealed.hash:
            findings.append(Finding(None, None, f"checkpoint {sealed.id} was altered or removed"))
            break
        for instance_id, (event_id, event_hash) in sealed.heads.items():
            event = by_id.get(event_id)
            if event is None or event.hash != event_hash:
                findings.append(Finding(event_id, None if instance_id == CASELESS else int(instance_id),
                                        f"no longer the event checkpoint {sealed.id} sealed for this case"))
        prev_hash = sealed.hash
    return findings


def export_rows(since: datetime | None = None, until: datetime | None = None):
    """The audit trail as JSON-ready rows, hashes included, in chain order."""
    query = select(Event).order_by(Event.instance_id, Event.id)
    if since:
        query = query.where(Event.at >= since)
    if until:
        query = query.where(Event.at < until)
    for event in db.session.scalars(query):
        yield {"id": event.id, "instance_id": event.instance_id, "task_id": event.task_id, "type": event.type,
               "actor_id": event.actor_id, "at": event.at.astimezone(UTC).isoformat(timespec="microseconds"),
               "data": event.data, "prev_hash": event.prev_hash, "hash": event.hash}
