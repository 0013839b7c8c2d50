"""Tables people download (CSV and XLSX): what Excel opens right and never runs as a formula."""
from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence

from openpyxl import Workbook

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def csv_safe(value) -> str:
    """A cell Excel will not run: text starting like a formula gets a leading apostrophe."""
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(FORMULA_STARTS) else text


def _cell(value):
    """Numbers stay numbers; everything else is guarded text."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return csv_safe(value)
    return value


def to_csv(header: Sequence[str], rows: Iterable[Sequence]) -> bytes:
    """UTF-8 with a byte order mark (Excel then reads Chinese right), CRLF lines, text cells guarded."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow([csv_safe(h) for h in header])
    writer.writerows([_cell(value) for value in row] for row in rows)
    return "\ufeff".encode() + buffer.getvalue().encode("utf-8")


def to_xlsx(header: Sequence[str], rows: Iterable[Sequence], title: str) -> bytes:
    """One worksheet, written row by row (openpyxl's write-only mode keeps memory flat)."""
    book = Workbook(write_only=True)
    sheet = book.create_sheet(title[:31])  # Excel's limit on sheet names
    sheet.append([csv_safe(h) for h in header])
    for row in rows:
        sheet.append([_cell(value) for value in row])
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


XLSX_MIMETYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
