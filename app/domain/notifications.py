"""Notifications: new tasks, urges, copies, send-backs and deadlines, in the application (a list with an
unread count) and, when SMTP is set up, by e-mail.

A notification is written in the transaction of what caused it; its e-mail is sent later by the timer
workers (`send_pending`), so a slow or absent mail server never holds up a person's request. The text
is composed when it is read, in the reader's language.
"""
from __future__ import annotations

import logging
import smtplib
from datetime import datetime
from email.message import EmailMessage

from flask import current_app
from flask_babel import force_locale
from sqlalchemy import ForeignKey, Index, String, func, insert, select, text, update
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app import db
from app.db_types import JSONDoc, UTCDateTime
from app.domain.org import User
from app.i18n import _l

log = logging.getLogger(__name__)

# E-mail states
PENDING, SENT, FAILED = "pending", "sent", "failed"
MAX_EMAIL_ATTEMPTS = 5

# What each kind of notification says; `task`, `case`, `by` and `comment` come from the notification.
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

    user: Mapped[User] = relationship()

    @property
    def text(self) -> str:
        return str(TEXTS[self.kind] % {"task": self.data.get("task", ""), "case": self.instance_id or "",
                                       "by": self.data.get("by", "")})


def notify(user_ids, kind: str, at: datetime, *, instance_id: int | None = None, task_id: int | None = None,
           task: str = "", by: User | None = None, comment: str = "") -> None:
    """Tell these people (each once, never the one who caused it), in the current transaction."""
    recipients = {user_id for user_id in user_ids if user_id is not None and (by is None or user_id != by.id)}
    if not recipients:
        return
    mail = bool(current_app.config.get("SMTP_HOST"))
    with_email = set(db.session.scalars(select(User.id).where(User.id.in_(recipients), User.email.is_not(None),
                                                              User.email != ""))) if mail else set()
    data = {"task": task, "by": by.display_name if by else "", "comment": comment}
    db.session.execute(insert(Notification), [
        {"user_id": user_id, "kind": kind, "instance_id": instance_id, "task_id": task_id, "at": at, "data": data,
         "email_state": PENDING if user_id in with_email else None} for user_id in sorted(recipients)])


def unread_count(user: User) -> int:
    return db.session.scalar(select(func.count()).select_from(Notification)
                             .where(Notification.user_id == user.id, Notification.read_at.is_(None)))


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


def send_pending(limit: int = 50) -> int:
    """Send the e-mails of notifications waiting for it (the timer workers call this); how many were
    sent. A failure is retried later, a few times, and never stops the others."""
    config = current_app.config
    if not config.get("SMTP_HOST"):
        return 0
    waiting = list(db.session.scalars(select(Notification).where(Notification.email_state == PENDING)
                                      .order_by(Notification.id).limit(limit).with_for_update(skip_locked=True)))
    sent = 0
    if not waiting:
        db.session.rollback()
        return 0
    try:
        with smtplib.SMTP(config["SMTP_HOST"], config["SMTP_PORT"], timeout=10) as smtp:
            if config["SMTP_STARTTLS"]:
                smtp.starttls()
            if config["SMTP_USER"]:
                smtp.login(config["SMTP_USER"], config["SMTP_PASSWORD"])
            for notification in waiting:
                try:
                    smtp.send_message(_email(notification, config))
                    notification.email_state = SENT
                    sent += 1
                except smtplib.SMTPException:
                    log.exception("e-mail for notification %s failed", notification.id)
                    _failed(notification)
    except (OSError, smtplib.SMTPException):
        log.exception("the mail server at %s cannot be reached", config["SMTP_HOST"])
        for notification in waiting:
            _failed(notification)
    db.session.commit()
    return sent


def _failed(notification: Notification) -> None:
    notification.email_attempts += 1
    if notification.email_attempts >= MAX_EMAIL_ATTEMPTS:
        notification.email_state = FAILED


def _email(notification: Notification, config) -> EmailMessage:
    """The e-mail in the recipient's language, with a link to the task or case."""
    recipient = notification.user
    with force_locale(recipient.locale or config["BABEL_DEFAULT_LOCALE"]):
        subject = notification.text
        link = (f"{config['BASE_URL']}/tasks/{notification.task_id}" if notification.task_id
                else f"{config['BASE_URL']}/cases/{notification.instance_id}")
        body = "\n\n".join(part for part in (subject, notification.data.get("comment", ""), link) if part)
    message = EmailMessage()
    message["From"], message["To"], message["Subject"] = config["MAIL_FROM"], recipient.email, subject
    message.set_content(body)
    return message
