"""The audit trail proves itself: per-case hash chains, checkpoints, `flask audit verify`, the
exported JSON Lines checked by tools/verify_audit.py, and (PostgreSQL) a trigger refusing changes."""
import os
import subprocess
import sys
import threading
import time
from itertools import pairwise
from pathlib import Path

import pytest
from conftest import get_customer, get_user
from sqlalchemy import func, insert, select, text
from sqlalchemy.exc import DBAPIError, IntegrityError

from app import db
from app.engine import audit
from app.engine.audit import Checkpoint
from app.engine.models import OPEN, Event, Instance, Task

ROOT = Path(__file__).resolve().parent.parent


def borrowing_case(engine, requester="rep_e2", customer="HD-E1-002") -> Instance:
    case = engine.cases.start("dossier_borrowing", get_user(requester),
                        {"customer_id": get_customer(customer).id, "purpose": "核对合同条款", "days": 3})
    task = db.session.scalar(select(Task).where(Task.instance_id == case.id, Task.state == OPEN))
    engine.cases.complete(task.id, get_user("rep_e1"), {"decision": "approve", "comment": "同意，注意保密"})
    task = db.session.scalar(select(Task).where(Task.instance_id == case.id, Task.state == OPEN))
    engine.cases.claim(task.id, get_user("biz_east"))
    return case


def event_ids(case: Instance) -> list[int]:
    return list(db.session.scalars(select(Event.id).where(Event.instance_id == case.id).order_by(Event.id)))


def tamper(statement: str, **values) -> None:
    """What someone with database access might do (PostgreSQL's trigger must be told it is maintenance)."""
    if db.dialect() == "postgresql":
        db.session.execute(text("SET LOCAL app.audit_maintenance = 'on'"))
    db.session.execute(text(statement), values)
    db.session.commit()


def cli(*args) -> subprocess.CompletedProcess:
    db.session.rollback()  # SQLite: our transaction would hold the lock the command waits for
    return subprocess.run([sys.executable, "-m", "flask", "--app", "app", "audit", *args], cwd=ROOT,
                          capture_output=True, text=True, timeout=60)


def test_an_untouched_trail_verifies_and_each_case_is_one_chain(engine):
    first, second = borrowing_case(engine), borrowing_case(engine, requester="rep_n1")
    assert audit.verify() == []
    events = db.session.scalars(select(Event).where(Event.instance_id == first.id).order_by(Event.id)).all()
    assert events[0].prev_hash == audit.GENESIS
    assert all(later.prev_hash == earlier.hash for earlier, later in pairwise(events))
    db.session.expire_all()
    assert db.session.get(Instance, first.id).chain_head == events[-1].hash != second.chain_head
    result = cli("verify")
    assert result.returncode == 0 and "intact" in result.stdout


def test_an_altered_event_is_found(engine):
    case = borrowing_case(engine)
    target = event_ids(case)[2]
    tamper("UPDATE events SET data = :data WHERE id = :id", data='{"form_data": {"decision": "reject"}}', id=target)
    (finding,) = audit.verify()
    assert (finding.event_id, "altered" in finding.problem) == (target, True)
    result = cli("verify")
    assert result.returncode == 1 and f"event {target}" in result.stderr


def test_a_removed_or_inserted_event_is_found(engine):
    case = borrowing_case(engine)
    ids = event_ids(case)
    tamper("DELETE FROM events WHERE id = :id", id=ids[1])
    (finding,) = audit.verify()
    assert finding.event_id == ids[2] and "removed or inserted" in finding.problem

    other = borrowing_case(engine, requester="rep_n1")
    last = db.session.get(Event, event_ids(other)[-1])
    tamper("INSERT INTO events (instance_id, type, actor_id, at, data, prev_hash, hash) "
           "VALUES (:case, 'task_completed', :actor, :at, '{}', :prev, :hash)",
           case=other.id, actor=get_user("auditor").id, at=last.at, prev="f" * 64, hash="e" * 64)
    assert any(f.instance_id == other.id and "removed or inserted" in f.problem for f in audit.verify())


def test_removing_a_cases_newest_events_is_found_and_checkpoints_catch_a_covered_trail(engine):
    case = borrowing_case(engine)
    ids = event_ids(case)
    tamper("DELETE FROM events WHERE id = :id", id=ids[-1])
    assert [f.problem for f in audit.verify()] == ["its newest events were removed"]

    sealed_case = borrowing_case(engine, requester="rep_n1")
    sealed = audit.checkpoint(engine.clock.now())
    assert sealed.heads[str(sealed_case.id)][0] == event_ids(sealed_case)[-1]
    newest = db.session.get(Event, event_ids(sealed_case)[-1])
    # Someone removes the newest event and moves the case's head back to cover it.
    tamper("DELETE FROM events WHERE id = :id", id=newest.id)
    tamper("UPDATE instances SET chain_head = :head WHERE id = :id", head=newest.prev_hash, id=sealed_case.id)
    findings = audit.verify()
    assert any(f.event_id == newest.id and f"checkpoint {sealed.id}" in f.problem for f in findings)


def test_the_exported_trail_verifies_outside_the_application(engine, tmp_path):
    borrowing_case(engine)
    exported = cli("export")
    assert exported.returncode == 0, exported.stderr
    trail = tmp_path / "trail.jsonl"
    trail.write_text(exported.stdout, encoding="utf-8")
    checked = subprocess.run([sys.executable, str(ROOT / "tools" / "verify_audit.py"), str(trail)],
                             capture_output=True, text=True)
    assert checked.returncode == 0 and "intact" in checked.stdout
    assert "同意，注意保密" in exported.stdout  # the content is there, not only the hashes

    forged = exported.stdout.replace("同意，注意保密", "不同意", 1)
    trail.write_text(forged, encoding="utf-8")
    checked = subprocess.run([sys.executable, str(ROOT / "tools" / "verify_audit.py"), str(trail)],
                             capture_output=True, text=True)
    assert checked.returncode == 1 and "does not match its hash" in checked.stdout


@pytest.mark.skipif("postgresql" not in os.environ.get("DATABASE_URL", ""),
                    reason="the trigger is PostgreSQL's; on SQLite the application never issues them")
@pytest.mark.parametrize("statement", ["UPDATE events SET type = 'x'", "DELETE FROM events", "TRUNCATE events CASCADE"])
def test_postgresql_refuses_to_change_the_trail(engine, statement):
    borrowing_case(engine)
    with pytest.raises(DBAPIError, match="append-only"):
        db.session.execute(text(statement))
    db.session.rollback()
    assert audit.verify() == []


def checkpoint_chain() -> list[tuple[int, str, str]]:
    db.session.expire_all()
    return [tuple(row) for row in db.session.execute(select(Checkpoint.position, Checkpoint.prev_hash, Checkpoint.hash)
                                                     .order_by(Checkpoint.id))]


def assert_linear(chain: list[tuple[int, str, str]]) -> None:
    assert [position for position, _, _ in chain] == list(range(1, len(chain) + 1))
    assert [prev for _, prev, _ in chain] == [audit.GENESIS] + [sealed for _, _, sealed in chain[:-1]]


def test_two_checkpoints_at_once_take_turns_and_chain_one_after_the_other(app, engine, monkeypatch):
    borrowing_case(engine)
    audit.checkpoint(engine.clock.now())
    db.session.commit()
    digest, seal, seals = audit._checkpoint_digest, audit._seal, []

    def slow_digest(*args):  # between reading the chain's head and writing after it: the race's window
        time.sleep(0.3)
        return digest(*args)

    def counted_seal(now):
        seals.append(now)
        return seal(now)

    monkeypatch.setattr(audit, "_checkpoint_digest", slow_digest)
    monkeypatch.setattr(audit, "_seal", counted_seal)
    barrier, errors = threading.Barrier(2), []

    def run():
        with app.app_context():
            try:
                barrier.wait()
                audit.checkpoint(engine.clock.now())
            except Exception as exc:  # anything else is a failure the assertion shows
                errors.append(repr(exc))

    threads = [threading.Thread(target=run) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    monkeypatch.undo()
    assert errors == [] and len(seals) == 2  # neither found its place taken: the second waited its turn
    chain = checkpoint_chain()
    assert len(chain) == 3
    assert_linear(chain)
    assert audit.verify() == []


def test_two_checkpoint_commands_started_together_leave_the_trail_intact(engine):
    borrowing_case(engine)
    db.session.commit()
    command = [sys.executable, "-m", "flask", "--app", "app", "audit", "checkpoint"]
    runs = [subprocess.Popen(command, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
            for _ in range(3)]
    for run in runs:
        assert run.wait(timeout=60) == 0, run.stdout.read()
    chain = checkpoint_chain()
    assert len(chain) == 3
    assert_linear(chain)
    result = cli("verify")
    assert result.returncode == 0 and "intact" in result.stdout, result.stderr


def test_the_database_refuses_a_second_checkpoint_after_the_same_one(engine):
    borrowing_case(engine)
    first = audit.checkpoint(engine.clock.now())
    with pytest.raises(IntegrityError):
        db.session.execute(insert(Checkpoint), [{"position": first.position, "at": engine.clock.now(), "heads": {},
                                                 "prev_hash": first.prev_hash, "hash": "f" * 64}])
    db.session.rollback()
    assert len(checkpoint_chain()) == 1


def test_a_checkpoint_whose_place_was_taken_tries_once_more_then_gives_up_cleanly(engine, monkeypatch):
    borrowing_case(engine)
    audit.checkpoint(engine.clock.now())
    digest, taken, times = audit._checkpoint_digest, [], [1]

    def taking_the_place(*args):  # a writer that does not take turns comes first, `times` times
        if len(taken) < times[0]:
            position = db.session.scalar(select(func.max(Checkpoint.position))) + 1
            db.session.execute(insert(Checkpoint), [{"position": position, "at": engine.clock.now(), "heads": {},
                                                     "prev_hash": audit.GENESIS, "hash": "f" * 64}])
            taken.append(position)
        return digest(*args)

    monkeypatch.setattr(audit, "_checkpoint_digest", taking_the_place)
    sealed = audit.checkpoint(engine.clock.now())  # the intruder's row went with the failed try
    assert (sealed.position, taken) == (2, [2])
    taken.clear()
    times[0] = 2
    with pytest.raises(audit.CheckpointRace):
        audit.checkpoint(engine.clock.now())
    monkeypatch.undo()
    assert len(taken) == 2
    chain = checkpoint_chain()
    assert len(chain) == 2
    assert_linear(chain)
    assert audit.verify() == []
