"""Readers of a case (抄送): people a case is copied to, by a person who may see it or by a step of the
process (service topic `copy_to_readers`, its `readers` property naming assignment rules). They see the
case read-only, in their "copied to me" list, and are told."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import select

from app import db
from app.domain import assignment, notifications, org
from app.domain.case import ServiceCall
from app.engine.models import CaseReader


def add(instance_id: int, people: list[org.User], by: org.User | None, now: datetime, note: str = "") -> list[org.User]:
    """Make these people readers of the case (each once; never the one who adds them); who was added."""
    present = set(db.session.scalars(select(CaseReader.user_id).where(CaseReader.instance_id == instance_id)))
    added, seen = [], set(present) | ({by.id} if by else set())
    for person in people:
        if person.active and person.id not in seen:
            added.append(person)
            seen.add(person.id)
    db.session.add_all([CaseReader(instance_id=instance_id, user_id=person.id, added_by_id=by.id if by else None,
                                   at=now) for person in added])
    notifications.notify([person.id for person in added], "case_copied", now, instance_id=instance_id, by=by,
                         comment=note)
    return added


def event_data(added: list[org.User], note: str) -> dict:
    return {"readers": [p.id for p in added], "people": [p.display_name for p in added], "note": note}


def copy_to_readers(call: ServiceCall) -> dict:
    """Service task `copy_to_readers`: copy the case to whom the task's `readers` rules find (a rule that
    finds a group copies to each of its members)."""
    people: list[org.User] = []
    for rule in assignment.group_rules(call.properties.get("readers")):
        found = assignment.resolve(rule, call.data)
        if found.assignee_id is not None:
            people.append(db.session.get(org.User, found.assignee_id))
        else:
            people += org.users_with_role(found.candidate_role, found.candidate_org_unit_id)
    added = add(call.case.instance.id, people, None, call.case.now, call.properties.get("note", ""))
    if added:
        call.case.record("case_copied", event_data(added, call.properties.get("note", "")), system=True)
    return {}
