"""Serving a case's attachment: the caller has checked that the user may see the case."""
import io

from flask import send_file
from flask_babel import lazy_gettext as _l

from app import db
from app.engine.attachments import Attachment
from app.errors import NotFound
from app.web import engine


def send_attachment(instance_id: int, attachment_id: int):
    attachment = db.session.get(Attachment, attachment_id)
    if attachment is None or attachment.instance_id != instance_id:
        raise NotFound(_l("No such file."))
    db.session.commit()  # the file store is the network on several nodes: no transaction waits for it
    content = engine().files.read(attachment.sha256)
    if content is None:
        raise NotFound(_l("No such file."))
    # Always a download, with the type judged from the content: a browser never renders it in our origin.
    return send_file(io.BytesIO(content), mimetype=attachment.content_type, as_attachment=True,
                     download_name=attachment.filename, max_age=0)
