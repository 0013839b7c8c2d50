"""Notifications: new tasks, urges, copies, send-backs, deadlines and the end of one's case, in the application (a list with an
unread count) and, when SMTP is set up, by e-mail.

A notification is written in the transaction of what caused it; its e-mail is sent later by the timer
workers (app.mail), so a slow or absent mail server never holds up a person's request. The text is
composed when it is read, in the reader's language.
"""
from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import ForeignKey, Index, String, case, func, insert, or_, select, text, update
from sqlalchemy.orm import Mapped, mapped_column, relationship, selectinload

from app import db
from app.db_types import JSONDoc, UTCDateTime
from app.domain.org import User
from app.i18n import _l

# E-mail states
PENDING, SENT, FAILED = "pending", "sent", "failed"
MAX_EMAIL_ATTEMPTS = 5

# What each kind of notification says; `task`, `case`, `by` and `outcome` come from the notification
# (app.labels.notification_text puts them in), its `comment` is shown with it.
TEXTS = {
    "task_assigned": _l("New task for you: %(task)s (case %(case)s)"),
    "task_offered": _l("New task for your group: %(task)s (case %(case)s)"),
    "task_transferred": _l("%(by)s handed you a task: %(task)s (case %(case)s)"),
    "task_urged": _l("%(by)s asks you to decide: %(task)s (case %(case)s)"),
    "signer_added": _l("%(by)s asks for your opinion: %(task)s (case %(case)s)"),
    "sent_back": _l("%(by)s sent case %(case)s back to you: %(task)s"),
    "case_copied": _l("%(by)s copied case %(case)s to you"),
    "case_withdrawn": _l("%(by)s withdrew case %(case)s"),
    "deadline_passed": _l("A deadline passed: %(task)s (case %(case)s)"),
    "on_behalf": _l("A task for %(by)s came to you while he is away: %(task)s (case %(case)s)"),
    "complaint_dismissed": _l("%(by)s closed case %(case)s: not a complaint"),
    "case_ended": _l("Your case %(case)s has ended: %(outcome)s"),
    "case_ended_by": _l("Your case %(case)s has ended: %(outcome)s, by %(by)s"),
    "customer_class_changed": _l("Customer class changed: %(task)s"),  # app.domain.classes
    "lead_converted": _l("A potential customer placed its first order: %(task)s"),  # app.domain.leads
    "lead_contact_due": _l("Time to contact your potential customer: %(task)s"),  # app.domain.leads
    "patrol_due": _l("A patrol is due soon: %(task)s"),  # app.domain.patrols
    "relationship_copy": _l("Case %(case)s about a customer you are relationship manager of was copied to you"),  # app.domain.patrols
    "contract_overdue": _l("A contract's payment or document is overdue: %(task)s"),  # app.domain.contracts
}


class Notification(db.Model):
    __tablename__ = "notifications"
    __table_args__ = (
        Index("ix_notifications_user_at", "user_id", "at"),
        Index("ix_notifications_unread", "user_id", sqlite_where=text("read_at IS NULL"),
              postgresql_where=text("read_at IS NULL")),
        Index("ix_notifications_email", "email_state", sqlite_where=text("email_state = 'pending'"),
              postgresql_where=text("email_state = 'pending'")),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    kind: Mapped[str] = mapped_column(String(30))
    instance_id: Mapped[int | None] = mapped_column(ForeignKey("instances.id"))
    task_id: Mapped[int | None] = mapped_column(ForeignKey("tasks.id"))
    at: Mapped[datetime] = mapped_column(UTCDateTime())
    data: Mapped[dict] = mapped_column(JSONDoc, default=dict)  # task name, who caused it, comment
    read_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    email_state: Mapped[str | None] = mapped_column(String(10))  # None: no e-mail for it
    email_attempts: Mapped[int] = mapped_column(default=0)
    # A sender is e-mailing it until then; past it, the sender is taken for dead and another sends it.
    email_claimed_until: Mapped[datetime | None] = mapped_column(UTCDateTime())

    user: Mapped[User] = relationship()


def notify(user_ids, kind: str, at: datetime, *, instance_id: int | None = None, task_id: int | None = None,
           task: str = "", by: User | None = None, comment: str = "", outcome: str = "", mail: bool = False) -> None:
    """Tell these people (each once, never the one who caused it), in the current transaction; with
    `mail` (e-mail is set up), those with an address get an e-mail too. `outcome` is how a case ended."""
    recipients = {user_id for user_id in user_ids if user_id is not None and (by is None or user_id != by.id)}
    if not recipients:
        return
    with_email = set(db.session.scalars(select(User.id).where(User.id.in_(recipients), User.email.is_not(None),
                                                              User.email != ""))) if mail else set()
    data = {"task": task, "by": by.display_name if by else "", "comment": comment}
    if outcome:
        data["outcome"] = outcome
    db.session.execute(insert(Notification), [
        {"user_id": user_id, "kind": kind, "instance_id": instance_id, "task_id": task_id, "at": at, "data": data,
         "email_state": PENDING if user_id in with_email else None} for user_id in sorted(recipients)])


def unread_count(user: User, at_most: int | None = None) -> int:
    """How many of his notifications he has not read; with `at_most`, counted only that far (the top
    bar's badge says "99+": its cost stays the same however many pile up)."""
    unread = select(Notification.id).where(Notification.user_id == user.id, Notification.read_at.is_(None))
    if at_most is not None:
        unread = unread.limit(at_most)
    return db.session.scalar(select(func.count()).select_from(unread.subquery()))


def page_of(user: User, page: int, per_page: int):
    query = (select(Notification).where(Notification.user_id == user.id)
             .order_by(Notification.at.desc(), Notification.id.desc()))
    return db.paginate(query, page, per_page, max_per_page=200)


def mark_read(user: User, now: datetime, ids: list[int] | None = None) -> None:
    """Mark his notifications read: these, or all of them."""
    statement = update(Notification).where(Notification.user_id == user.id, Notification.read_at.is_(None))
    if ids is not None:
        statement = statement.where(Notification.id.in_(ids))
    db.session.execute(statement.values(read_at=now))
    db.session.commit()


def claim_for_email(limit: int, now: datetime, lease: timedelta) -> list[Notification]:
    """Claim the oldest notifications whose e-mail is still to be sent (and not claimed by a live sender)
    until `now + lease`, and commit: the sender talks to the mail server holding no transaction."""
    claimed = list(db.session.scalars(
        select(Notification).where(Notification.email_state == PENDING,
                                   or_(Notification.email_claimed_until.is_(None),
                                       Notification.email_claimed_until < now))
        .options(selectinload(Notification.user))  # the e-mail is composed after the commit
        .order_by(Notification.id).limit(limit).with_for_update(skip_locked=True)))
    for notification in claimed:
        notification.email_claimed_until = now + lease
    db.session.commit()
    return claimed


def record_emails(sent: list[int], failed: list[int], retry_at: datetime | None = None) -> None:
    """What the mail server said: sent, or failed (tried again from `retry_at`, a few times, then given
    up)."""
    if sent:
        db.session.execute(update(Notification).where(Notification.id.in_(sent))
                           .values(email_state=SENT, email_claimed_until=None))
    if failed:
        db.session.execute(update(Notification).where(Notification.id.in_(failed)).values(
            email_attempts=Notification.email_attempts + 1, email_claimed_until=retry_at,
            email_state=case((Notification.email_attempts + 1 >= MAX_EMAIL_ATTEMPTS, FAILED), else_=PENDING)))
    db.session.commit()
