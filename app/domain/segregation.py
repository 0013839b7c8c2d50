"""Segregation of duties (职责分离) on consent and approval steps (user tasks with the `approval`
property): nobody decides such a step in a case he started, and nobody consents at two levels of the
same case. When a rule would put such a step on a person it must not go to, it goes to that person's
superior instead; an administrator may still hand it to him, which is recorded as an override.
"""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import joinedload

from app import db
from app.domain import org
from app.engine import projection
from app.engine.models import DONE, Event, Instance, Task
from app.engine.plugins import Assignment, AssignmentError, Reroute
from app.i18n import _l

# Why a person may not take a step.
INITIATOR = "initiator"
EARLIER_APPROVAL = "earlier_approval"
REFUSALS = {
    INITIATOR: _l("You started this case: someone else must decide this step."),
    EARLIER_APPROVAL: _l("You have decided another level of this case: someone else must decide this step."),
}
# The same, said of someone else ("he …").
RULE_WORDS = {
    INITIATOR: _l("started the case"),
    EARLIER_APPROVAL: _l("decided another level of the case"),
}


def excluded(instance: Instance, spec_id: str) -> dict[int, str]:
    """Who may not decide the approval step `spec_id` of this case, and why: the initiator, and whoever
    decided another approval step of it (deciding the same step again, after a return, is one level)."""
    result: dict[int, str] = {}
    for task in projection.case_rows(instance.id):
        if task.approval and task.state == DONE and task.spec_id != spec_id and task.completed_by_id is not None:
            result[task.completed_by_id] = EARLIER_APPROVAL
    if instance.started_by_id is not None:
        result[instance.started_by_id] = INITIATOR
    return result


def conflict(task: Task, user: org.User) -> str | None:
    """Why `user` may not decide this task (None: he may)."""
    if not task.approval:
        return None
    return excluded(task.instance, task.spec_id).get(user.id)


def superior(person: org.User, passed_over: dict[int, str]) -> int | None:
    """The nearest person above `person` who is not passed over, by id: the manager of his branch, then
    headquarters' deputy general manager, then company leadership."""
    chain: list[int] = []
    branch = org.branch_id_of(person.org_unit_id)
    if branch is not None:
        chain += org.member_ids(org.BRANCH_MANAGER, branch)
    hq = org.headquarters_id()
    if hq is not None:
        chain += org.member_ids(org.DEPUTY_GM, hq)
        leadership = org.department_id(hq, "leadership")
        if leadership is not None:
            chain += org.member_ids(org.LEADERSHIP, leadership)
    return next((user_id for user_id in chain if user_id != person.id and user_id not in passed_over), None)


def reroute(instance: Instance, spec_id: str, offers: list[Assignment]) -> Reroute | None:
    """Where a new approval step must go instead of where its rule put it: when the rule chose a person
    who may not take it, or groups none of whose members may (None: it stays where the rule put it)."""
    first = offers[0]
    if first.assignee_id is not None:
        chosen = [first.assignee_id]
    else:
        chosen = [user_id for offer in offers
                  for user_id in org.member_ids(offer.candidate_role, offer.candidate_org_unit_id)]
    passed_over = excluded(instance, spec_id)
    if not chosen or any(user_id not in passed_over for user_id in chosen):
        return None
    person = db.session.get(org.User, chosen[0])
    boss = superior(person, passed_over)
    if boss is None:
        raise AssignmentError(f"{person.display_name} may not decide it and nobody above may either")
    return Reroute(passed_over_id=person.id, passed_over_name=person.display_name, reason=passed_over[person.id], superior_id=boss)


class Duties:
    """Segregation of duties as the engine asks for it (app.engine.plugins.Duties)."""

    excluded = staticmethod(excluded)
    conflict = staticmethod(conflict)
    reroute = staticmethod(reroute)


def exceptions(since: datetime | None, until: datetime | None) -> list[Event]:
    """The segregation-of-duties exceptions of a period, newest first: every override by an
    administrator and every step sent to a superior, with their cases."""
    query = (select(Event).where(Event.type.in_(("duty_overridden", "duty_rerouted")))
             .options(joinedload(Event.task).joinedload(Task.instance)).order_by(Event.at.desc(), Event.id.desc()))
    if since:
        query = query.where(Event.at >= since)
    if until:
        query = query.where(Event.at < until)
    return list(db.session.scalars(query))
