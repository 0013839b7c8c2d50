"""Serving a case's attachment: the caller has checked that the user may see the case."""
from flask import send_file
from flask_babel import lazy_gettext as _l

from app import db
from app.domain.attachments import Attachment, path_of
from app.errors import NotFound


def send_attachment(instance_id: int, attachment_id: int):
    attachment = db.session.get(Attachment, attachment_id)
    if attachment is None or attachment.instance_id != instance_id or not path_of(attachment).exists():
        raise NotFound(_l("No such file."))
    # Always a download, with the type judged from the content: a browser never renders it in our origin.
    return send_file(path_of(attachment), mimetype=attachment.content_type, as_attachment=True,
                     download_name=attachment.filename, max_age=0)
