"""Notification e-mails, sent by the timer workers (`flask timers run`, `fire-due`), never by the request
that caused them, each in its recipient's language with a link to the task or case."""
from __future__ import annotations

import logging
import smtplib
from datetime import timedelta
from email.message import EmailMessage

from flask import current_app
from flask_babel import force_locale

from app import db, labels
from app.calendar import clock
from app.domain import notifications
from app.domain.notifications import Notification

log = logging.getLogger(__name__)


# How long a sender may take over its batch before another takes it for dead and sends it again.
CLAIM_LEASE = timedelta(minutes=5)
# A failed e-mail waits this long before it is tried again.
RETRY_AFTER = timedelta(minutes=1)


def send_pending(limit: int = 50) -> int:
    """Send the e-mails of notifications waiting for it; how many were sent. The batch is claimed in a
    transaction of its own, sent holding none (a slow mail server holds up nobody), and the results
    recorded in another. A failure is retried later, a few times, and never stops the others."""
    config = current_app.config
    if not config.get("SMTP_HOST"):
        return 0
    claimed = notifications.claim_for_email(limit, clock.now(), CLAIM_LEASE)
    if not claimed:
        return 0
    messages = [(notification.id, _email(notification, config)) for notification in claimed]
    db.session.commit()  # whatever composing the messages read: no transaction while we talk to the server
    sent, failed = [], []
    try:
        with smtplib.SMTP(config["SMTP_HOST"], config["SMTP_PORT"], timeout=10) as smtp:
            if config["SMTP_STARTTLS"]:
                smtp.starttls()
            if config["SMTP_USER"]:
                smtp.login(config["SMTP_USER"], config["SMTP_PASSWORD"])
            for notification_id, message in messages:
                try:
                    smtp.send_message(message)
                    sent.append(notification_id)
                except smtplib.SMTPException:
                    log.exception("e-mail for notification %s failed", notification_id)
                    failed.append(notification_id)
    except (OSError, smtplib.SMTPException):
        log.exception("the mail server at %s cannot be reached", config["SMTP_HOST"])
        failed = [notification_id for notification_id, _ in messages if notification_id not in sent]
    notifications.record_emails(sent, failed, retry_at=clock.now() + RETRY_AFTER)
    return len(sent)


def send_all_pending() -> int:
    sent = 0
    while (batch := send_pending()):
        sent += batch
    return sent


def _email(notification: Notification, config) -> EmailMessage:
    """The e-mail in the recipient's language, with a link to the task or case."""
    recipient = notification.user
    with force_locale(recipient.locale or config["BABEL_DEFAULT_LOCALE"]):
        subject = labels.notification_text(notification)
        link = (f"{config['BASE_URL']}/tasks/{notification.task_id}" if notification.task_id
                else f"{config['BASE_URL']}/cases/{notification.instance_id}")
        body = "\n\n".join(part for part in (subject, notification.data.get("comment", ""), link) if part)
    message = EmailMessage()
    message["From"], message["To"], message["Subject"] = config["MAIL_FROM"], recipient.email, subject
    message.set_content(body)
    return message
