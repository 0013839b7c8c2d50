"""Readers of a case (抄送): people a case is copied to, by a person who may see it or by a step of the
process (service topic `copy_to_readers`). They see the case read-only, in their "copied to me" list,
and are told."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import select

from app import db
from app.engine.directory import User
from app.engine.models import CaseReader


def add(ext, instance_id: int, people: list[User], by: User | None, now: datetime, note: str = "",
        kind: str = "case_copied") -> list[User]:
    """Make these people readers of the case (each once; never the one who adds them), telling them with a
    notification of `kind`; who was added."""
    present = set(db.session.scalars(select(CaseReader.user_id).where(CaseReader.instance_id == instance_id)))
    added, seen = [], set(present) | ({by.id} if by else set())
    for person in people:
        if person.active and person.id not in seen:
            added.append(person)
            seen.add(person.id)
    db.session.add_all([CaseReader(instance_id=instance_id, user_id=person.id, added_by_id=by.id if by else None,
                                   at=now) for person in added])
    ext.notify([person.id for person in added], kind, now, instance_id=instance_id, by=by, comment=note)
    return added


def event_data(added: list[User], note: str) -> dict:
    return {"readers": [p.id for p in added], "people": [p.display_name for p in added], "note": note}
