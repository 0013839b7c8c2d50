"""Files attached to a case (a complaint letter's scan, photos): checked by content, stored under their
SHA-256 outside the web root (app.engine.file_stores), served only to people who may see the case.

Only what a case needs is accepted: PDF, JPEG, PNG and common office documents (Word, Excel,
PowerPoint, both the OOXML and the older OLE2 formats), recognised by their bytes, never by their
name: `filetype` sniffs PDF, the images and OOXML (the zip's member names tell OOXML when it cannot),
`olefile` opens OLE2 compound files. An executable renamed `.pdf` is refused, and so is an office
document with macros (VBA), whatever its name.
"""
from __future__ import annotations

import io
import zipfile
from datetime import datetime
from pathlib import Path

import filetype
import olefile
from sqlalchemy import ForeignKey, String, select
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app import db
from app.db_types import UTCDateTime
from app.engine.directory import User
from app.errors import InvalidData
from app.i18n import _l

MAX_BYTES = 10 * 1024 * 1024
PDF_AND_IMAGES = ("application/pdf", "image/jpeg", "image/png")
OOXML = {"word/": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
         "xl/": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
         "ppt/": "application/vnd.openxmlformats-officedocument.presentationml.presentation"}
SNIFFERS = [filetype.get_type(mime=mime) for mime in (*PDF_AND_IMAGES, *OOXML.values())]
OLE2 = {"WordDocument": "application/msword", "Workbook": "application/vnd.ms-excel",  # .doc .xls .ppt
        "Book": "application/vnd.ms-excel", "PowerPoint Document": "application/vnd.ms-powerpoint"}
OLE2_MACROS = {"macros", "_vba_project_cur", "vba"}  # storages holding VBA, in lower case


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


def _sniffed(content: bytes) -> tuple[str | None, bool]:
    """The file's type if it is one we accept (else None), and whether it holds macros."""
    kind = filetype.match(content, SNIFFERS)
    if kind and kind.mime in PDF_AND_IMAGES:
        return kind.mime, False
    try:
        if content.startswith(b"PK\x03\x04"):  # at the start: zipfile also opens an .exe with a zip appended
            return _ooxml(content, kind.mime if kind else None)
        if olefile.isOleFile(data=content):
            return _ole2(content)
    except Exception:  # a damaged zip or compound file fails in many ways; each is a refusal
        pass
    return None, False


def _ooxml(content: bytes, sniffed: str | None) -> tuple[str | None, bool]:
    with zipfile.ZipFile(io.BytesIO(content)) as archive:
        names = archive.namelist()
        if "[Content_Types].xml" not in names:
            return None, False
        with archive.open("[Content_Types].xml") as part:
            declared = part.read(MAX_BYTES + 1)  # bounded: the member may be a zip bomb
    if len(declared) > MAX_BYTES:
        return None, False
    # .docm/.xlsm/.pptm declare a macroEnabled main part; their VBA is in vbaProject.bin
    macros = (b"macroenabled" in declared.lower()
              or any(name.lower().endswith("vbaproject.bin") for name in names))
    if sniffed in OOXML.values():
        return sniffed, macros
    # filetype only looks at the first few zip entries; other writers order them differently
    kinds = [kind for prefix, kind in OOXML.items() if any(name.startswith(prefix) for name in names)]
    return (kinds[0] if kinds else None), macros


def _ole2(content: bytes) -> tuple[str | None, bool]:
    with olefile.OleFileIO(io.BytesIO(content)) as ole:  # not the bytes: olefile takes short ones for a path
        storages = {name.lower() for path in ole.listdir(streams=False, storages=True) for name in path}
        kinds = [kind for stream, kind in OLE2.items() if ole.get_type(stream) == olefile.STGTY_STREAM]
    return (kinds[0] if kinds else None), bool(storages & OLE2_MACROS)


def content_type(content: bytes) -> str | None:
    """The type of an accepted file, judged by its bytes; None if it is not one we accept (a macro-enabled
    office document included)."""
    kind, macros = _sniffed(content)
    return None if macros else kind


def checked(filename: str, content: bytes) -> tuple[str, str]:
    """A safe file name and the content's type, or InvalidData saying why the file is refused."""
    name = Path(filename or "").name.strip()[:200] or "attachment"
    if len(content) > MAX_BYTES:
        message = _l("%(name)s is larger than 10 MB.", name=name)
        raise InvalidData.on("attachments", message)
    if not content:
        message = _l("%(name)s is empty.", name=name)
        raise InvalidData.on("attachments", message)
    kind, macros = _sniffed(content)
    if macros:
        message = _l("%(name)s contains macros: macro-enabled office documents are not accepted.", name=name)
        raise InvalidData.on("attachments", message)
    if kind is None:
        message = _l("%(name)s is not a PDF, JPEG, PNG or office document (judged by its content, "
                     "not its name).", name=name)
        raise InvalidData.on("attachments", message)
    return name, kind


def of_case(instance_id: int) -> list[Attachment]:
    return list(db.session.scalars(select(Attachment).where(Attachment.instance_id == instance_id)
                                   .order_by(Attachment.id)))
