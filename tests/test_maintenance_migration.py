"""Migration b7e2d9a4c611, down and up again on the test database (SQLite, or PostgreSQL with
DATABASE_URL): existing checkpoints are numbered in chain order, then a second one after the same
one is refused; a schedule's firing under way is due again at its own time once downgraded."""
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa
from flask_migrate import downgrade, upgrade
from sqlalchemy import inspect, select

from app import db
from app.db_types import JSONDoc, UTCDateTime
from app.engine.audit import GENESIS, Checkpoint
from app.engine.models import SCHEDULE, Timer

BEFORE = "a3c5e7f9b102"
FIRING = datetime(2026, 3, 31, 16, 0, tzinfo=UTC)

old_checkpoints = sa.table("audit_checkpoints", sa.column("id", sa.Integer), sa.column("at", UTCDateTime()),
                           sa.column("heads", JSONDoc), sa.column("prev_hash", sa.String),
                           sa.column("hash", sa.String))


def columns(table: str) -> set[str]:
    return {column["name"] for column in inspect(db.current_engine()).get_columns(table)}


def test_the_migration_numbers_checkpoints_and_gives_a_firing_under_way_back_its_time(ctx):
    db.session.add(Timer(kind=SCHEDULE, process_key="credit_rating", firing_at=FIRING,
                         due_at=FIRING + timedelta(minutes=5)))
    db.session.commit()
    downgrade(revision=BEFORE)
    try:
        assert "position" not in columns("audit_checkpoints") and "firing_at" not in columns("timers")
        with db.current_engine().begin() as connection:
            connection.execute(old_checkpoints.insert(), [
                {"at": FIRING + timedelta(hours=hour), "heads": {}, "prev_hash": GENESIS, "hash": str(hour) * 64}
                for hour in range(1, 4)])
    finally:
        upgrade()
    db.session.expire_all()
    (timer,) = db.session.scalars(select(Timer)).all()
    assert (timer.due_at, timer.firing_at) == (FIRING, None)  # due at its own firing again, for the old code
    checkpoints = db.session.scalars(select(Checkpoint).order_by(Checkpoint.id)).all()
    assert [(c.position, c.hash[0]) for c in checkpoints] == [(1, "1"), (2, "2"), (3, "3")]
    with pytest.raises(sa.exc.IntegrityError):
        db.session.execute(sa.insert(Checkpoint), [{"position": 3, "at": FIRING, "heads": {}, "prev_hash": GENESIS,
                                                    "hash": "f" * 64}])
    db.session.rollback()
    with pytest.raises(sa.exc.IntegrityError):
        db.session.execute(sa.insert(Checkpoint), [{"position": None, "at": FIRING, "heads": {},
                                                    "prev_hash": GENESIS, "hash": "f" * 64}])
    db.session.rollback()
