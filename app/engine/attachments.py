"""Files attached to a case (a complaint letter's scan, photos): checked by content, stored outside
the web root under their SHA-256, served only to people who may see the case.

Only what a case needs is accepted: PDF, JPEG, PNG and common office documents (Word, Excel,
PowerPoint, both the OOXML and the older OLE2 formats), recognised by their bytes, never by their
name. An executable renamed `.pdf` is refused.
"""
from __future__ import annotations

import hashlib
import io
import zipfile
from datetime import datetime
from pathlib import Path

from sqlalchemy import ForeignKey, String, select
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app import db
from app.db_types import UTCDateTime
from app.engine.directory import User
from app.errors import InvalidData
from app.i18n import _l

MAX_BYTES = 10 * 1024 * 1024
OLE2 = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"  # .doc .xls .ppt
OOXML = {"word/": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
         "xl/": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
         "ppt/": "application/vnd.openxmlformats-officedocument.presentationml.presentation"}


class Attachment(db.Model):
    __tablename__ = "attachments"

    id: Mapped[int] = mapped_column(primary_key=True)
    instance_id: Mapped[int] = mapped_column(ForeignKey("instances.id"), index=True)
    sha256: Mapped[str] = mapped_column(String(64))
    filename: Mapped[str] = mapped_column(String(200))
    content_type: Mapped[str] = mapped_column(String(120))
    size: Mapped[int]
    uploaded_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    uploaded_at: Mapped[datetime] = mapped_column(UTCDateTime())

    uploaded_by: Mapped[User] = relationship()


def content_type(content: bytes) -> str | None:
    """The type of an accepted file, judged by its bytes; None if it is not one we accept."""
    if content.startswith(b"%PDF-"):
        return "application/pdf"
    if content.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if content.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if content.startswith(OLE2):
        return "application/x-ole-storage"  # a legacy Office document
    if content.startswith(b"PK\x03\x04"):
        try:
            names = zipfile.ZipFile(io.BytesIO(content)).namelist()
        except zipfile.BadZipFile:
            return None
        if "[Content_Types].xml" in names:
            for prefix, kind in OOXML.items():
                if any(name.startswith(prefix) for name in names):
                    return kind
    return None


def checked(filename: str, content: bytes) -> tuple[str, str]:
    """A safe file name and the content's type, or InvalidData saying why the file is refused."""
    name = Path(filename or "").name.strip()[:200] or "attachment"
    if len(content) > MAX_BYTES:
        message = _l("%(name)s is larger than 10 MB.", name=name)
        raise InvalidData(message, {"attachments": [message]})
    if not content:
        message = _l("%(name)s is empty.", name=name)
        raise InvalidData(message, {"attachments": [message]})
    kind = content_type(content)
    if kind is None:
        message = _l("%(name)s is not a PDF, JPEG, PNG or office document (judged by its content, "
                     "not its name).", name=name)
        raise InvalidData(message, {"attachments": [message]})
    return name, kind


class FileStore:
    """Attachments' bytes in a directory, each file under its SHA-256 (stored once, however often it is
    attached), never where the web server serves files from."""

    def __init__(self, directory: str | Path):
        self.directory = Path(directory)

    def path(self, sha256: str) -> Path:
        return self.directory / sha256[:2] / sha256

    def store(self, content: bytes) -> str:
        """Write the bytes under their SHA-256; return it."""
        sha256 = hashlib.sha256(content).hexdigest()
        path = self.path(sha256)
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            partial = path.with_suffix(".part")
            partial.write_bytes(content)
            partial.replace(path)  # atomic: a reader never sees half a file
        return sha256


def of_case(instance_id: int) -> list[Attachment]:
    return list(db.session.scalars(select(Attachment).where(Attachment.instance_id == instance_id)
                                   .order_by(Attachment.id)))
