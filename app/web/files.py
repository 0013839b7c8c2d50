"""Serving a case's attachment: the caller has checked that the user may see the case."""
from flask import send_file
from flask_babel import lazy_gettext as _l

from app import db
from app.engine.attachments import Attachment
from app.errors import NotFound
from app.web import engine


def send_attachment(instance_id: int, attachment_id: int):
    attachment = db.session.get(Attachment, attachment_id)
    path = engine().files.path(attachment.sha256) if attachment is not None else None
    if attachment is None or attachment.instance_id != instance_id or not path.exists():
        raise NotFound(_l("No such file."))
    # Always a download, with the type judged from the content: a browser never renders it in our origin.
    return send_file(path, mimetype=attachment.content_type, as_attachment=True,
                     download_name=attachment.filename, max_age=0)
