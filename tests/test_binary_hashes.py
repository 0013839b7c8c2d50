"""Issue 17, storage: the audit trail's hashes are stored as 32 bytes (app.db_types.Sha256, migration
c9f1b3d5e909) while the application keeps reading and writing hex, and JSON is stored as compact UTF-8.
The migration runs down and up again on the test database (SQLite, or PostgreSQL with DATABASE_URL) over
a trail written in the old form (hex text), which verifies afterwards."""
from datetime import timedelta

import pytest
import sqlalchemy as sa
from conftest import get_customer, get_user
from flask_migrate import downgrade, upgrade
from sqlalchemy import inspect, select

from app import db
from app.db_types import JSONDoc, Sha256, UTCDateTime
from app.engine import audit
from app.engine.audit import GENESIS, Checkpoint
from app.engine.models import OPEN, Event, Instance, Task

BEFORE = "b8e0a2c4d908"
HASHES = {"events": ("prev_hash", "hash"), "instances": ("chain_head",), "audit_checkpoints": ("prev_hash", "hash")}

# The tables as the old code saw them: hashes as hex text.
old_events = sa.table("events", sa.column("id", sa.Integer), sa.column("instance_id", sa.Integer),
                      sa.column("task_id", sa.Integer), sa.column("type", sa.String),
                      sa.column("actor_id", sa.Integer), sa.column("at", UTCDateTime()),
                      sa.column("data", JSONDoc), sa.column("prev_hash", sa.String), sa.column("hash", sa.String))
old_instances = sa.table("instances", sa.column("id", sa.Integer), sa.column("chain_head", sa.String))
old_checkpoints = sa.table("audit_checkpoints", sa.column("id", sa.Integer), sa.column("position", sa.Integer),
                           sa.column("at", UTCDateTime()), sa.column("heads", JSONDoc),
                           sa.column("prev_hash", sa.String), sa.column("hash", sa.String))


def borrowing_case(engine, requester="rep_e2") -> Instance:
    case = engine.cases.start("dossier_borrowing", get_user(requester),
                              {"customer_id": get_customer("HD-E1-002").id, "purpose": "核对合同条款", "days": 3})
    task = db.session.scalar(select(Task).where(Task.instance_id == case.id, Task.state == OPEN))
    engine.cases.complete(task.id, get_user("rep_e1"), {"decision": "approve", "comment": "同意，注意保密"})
    return case


def hashes() -> dict:
    """Every hash the application reads, by table and row."""
    db.session.expire_all()
    return {"events": {e.id: (e.prev_hash, e.hash) for e in db.session.scalars(select(Event))},
            "instances": {i.id: i.chain_head for i in db.session.scalars(select(Instance))},
            "audit_checkpoints": {c.id: (c.prev_hash, c.hash) for c in db.session.scalars(select(Checkpoint))}}


def stored_lengths(connection) -> set[int]:
    """The lengths of the stored hash values, in bytes (BLOB, bytea) or characters (text)."""
    return {length for table, columns in HASHES.items() for column in columns
            for length in connection.scalars(sa.text(f"SELECT DISTINCT length({column}) FROM {table} "
                                                     f"WHERE {column} IS NOT NULL"))}


def column_types(table: str) -> dict:
    return {c["name"]: c["type"] for c in inspect(db.current_engine()).get_columns(table) if c["name"] in HASHES[table]}


def test_the_migration_stores_hashes_as_bytes_and_a_trail_written_as_hex_verifies_after_it(engine):
    first = borrowing_case(engine)
    borrowing_case(engine, requester="rep_n1")
    audit.checkpoint(engine.clock.now())
    written = hashes()
    assert all(len(h) == 64 for h in written["instances"].values())
    actor_id = get_user("rep_e2").id
    db.session.commit()  # SQLite: the session's transaction would hold the lock the migration waits for
    downgrade(revision=BEFORE)
    try:
        assert all(isinstance(t, sa.String) for table in HASHES for t in column_types(table).values())
        with db.current_engine().begin() as connection:
            assert stored_lengths(connection) == {64}
            assert {row.id: (row.prev_hash, row.hash) for row in connection.execute(select(old_events))} \
                == written["events"]  # given back as the lowercase hex the application wrote
            # The old code goes on: an event of the first case, and a checkpoint, written as hex.
            head = connection.scalar(select(old_instances.c.chain_head).where(old_instances.c.id == first.id))
            event = {"instance_id": first.id, "task_id": None, "type": "comment_added",
                     "actor_id": actor_id, "at": engine.clock.now(), "data": {"comment": "补充材料"}}
            event_hash = audit.digest(head, event)
            connection.execute(old_events.insert(), [{**event, "prev_hash": head, "hash": event_hash}])
            connection.execute(old_instances.update().where(old_instances.c.id == first.id)
                               .values(chain_head=event_hash))
            previous = connection.execute(select(old_checkpoints.c.position, old_checkpoints.c.hash)
                                          .order_by(old_checkpoints.c.position.desc()).limit(1)).one()
            heads = {str(instance_id): [event_id, event_hash] for instance_id, event_id, event_hash in connection.execute(
                select(old_events.c.instance_id, old_events.c.id, old_events.c.hash)
                .where(old_events.c.id.in_(select(sa.func.max(old_events.c.id)).group_by(old_events.c.instance_id)))
                .where(old_events.c.instance_id.is_not(None)))}
            at = engine.clock.now() + timedelta(seconds=1)
            connection.execute(old_checkpoints.insert(), [{
                "position": previous.position + 1, "at": at, "heads": heads, "prev_hash": previous.hash,
                "hash": audit._checkpoint_digest(previous.hash, at, heads)}])
    finally:
        upgrade()
        # PostgreSQL: statements the pooled connections prepared return the old column types.
        db.session.remove()
        db.current_engine().dispose()

    assert all(isinstance(t, sa.LargeBinary) for table in HASHES for t in column_types(table).values())
    with db.current_engine().connect() as connection:
        assert stored_lengths(connection) == {32}
    assert audit.verify() == []
    now = hashes()
    written["instances"][first.id] = event_hash  # the head moved on with the event written as hex
    assert {table: {k: v for k, v in rows.items() if k in written[table]} for table, rows in now.items()} == written
    assert len(now["audit_checkpoints"]) == 2

    # The application goes on after it, on the bytes.
    task = db.session.scalar(select(Task).where(Task.instance_id == first.id, Task.state == OPEN))
    engine.cases.claim(task.id, get_user("biz_east"))
    audit.checkpoint(engine.clock.now() + timedelta(seconds=2))
    assert audit.verify() == []


def test_the_hash_column_type_reads_and_writes_hex():
    column = Sha256()
    digest = audit.digest(GENESIS, {"instance_id": 1, "task_id": None, "type": "x", "actor_id": None,
                                    "at": "2026-01-01T00:00:00.000000+00:00", "data": {}})
    raw = column.process_bind_param(digest, None)
    assert (len(raw), column.process_result_value(raw, None)) == (32, digest)
    assert column.process_bind_param(None, None) is None and column.process_result_value(None, None) is None
    assert column.process_result_value(memoryview(raw), None) == digest
    assert column.process_result_value("not hex, written by hand", None) == "not hex, written by hand"
    for wrong in ("abc", "f" * 62, "g" * 64):
        with pytest.raises(ValueError):
            column.process_bind_param(wrong, None)


def test_a_tampered_hash_is_still_found(engine):
    case = borrowing_case(engine)
    newest = db.session.scalars(select(Event).where(Event.instance_id == case.id).order_by(Event.id.desc())).first()
    if db.dialect() == "postgresql":
        db.session.execute(sa.text("SET LOCAL app.audit_maintenance = 'on'"))
    db.session.execute(sa.update(Event).where(Event.id == newest.id).values(hash="e" * 64))
    db.session.commit()
    assert [f.event_id for f in audit.verify()] == [newest.id]


def test_json_is_stored_as_utf8_and_dates_are_refused_as_before(engine):
    case = borrowing_case(engine)
    stored = db.session.scalars(select(sa.cast(Event.data, sa.Text)).where(Event.instance_id == case.id)).all()
    assert any("同意，注意保密" in text for text in stored)
    assert not any("\\u" in text for text in stored)
    if db.dialect() == "sqlite":  # compact: no blanks after separators (JSONB keeps its own form)
        assert not any('": ' in text or '", "' in text for text in stored)
    assert db.session.get(Instance, case.id).start_data["purpose"] == "核对合同条款"
    # Read back by the same JSON paths as before (the case search).
    assert db.session.scalar(select(sa.func.count()).select_from(Event).where(
        Event.data["form_data"]["comment"].as_string().contains("注意保密"))) == 1
    with pytest.raises((TypeError, sa.exc.StatementError)) as refused:  # wrapped by SQLAlchemy on SQLite
        db.session.execute(sa.insert(Checkpoint), [{"position": 1, "at": engine.clock.now(), "prev_hash": GENESIS,
                                                    "hash": GENESIS, "heads": {"at": engine.clock.now()}}])
    assert isinstance(getattr(refused.value, "orig", refused.value), TypeError)
    db.session.rollback()
    db.session.execute(sa.insert(Checkpoint), [{"position": 1, "at": engine.clock.now(), "prev_hash": GENESIS,
                                                "hash": GENESIS, "heads": {7: ["id", None]}}])
    assert db.session.scalar(select(Checkpoint.heads)) == {"7": ["id", None]}  # keys become text, as before
    db.session.rollback()
