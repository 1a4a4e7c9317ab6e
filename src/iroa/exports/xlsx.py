"""The XLSX workbook, written by openpyxl in write-only mode: rows stream to disk, never to RAM.

Write-only mode cannot measure cells after the fact, so column widths are
fitted from each header and a typical width for its content (names, UUIDs,
timestamps …), set before the first row.

Inventory text is data, never a formula: openpyxl stores a string starting with
``=`` as a formula and one of Excel's error codes (``#N/A`` …) as an error, so
such strings are written as explicit string cells (see :func:`text_cells`).
Control characters XML cannot hold (an ESC in a guest hostname) would make
openpyxl refuse the whole workbook: they are written as U+FFFD, as the CLI
shows them (:func:`iroa.text.printable`).
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import IO, Any

from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.cell.cell import ERROR_CODES, Cell
from openpyxl.styles import Font
from openpyxl.utils import get_column_letter

from iroa.connectors.base import NullProgress, Progress
from iroa.db.engine import Database
from iroa.exports.files import atomic_file
from iroa.exports.service import CHUNK_SIZE, SHEETS, resolve_scope, snapshot_connection
from iroa.text import printable

HEADER_FONT = Font(bold=True)
MAX_WIDTH = 60
# Strings openpyxl would not store as text: formulas ("=…") and error codes ("#N/A" …).
_NOT_TEXT_STARTS = ("=", "#")
_ERROR_CODES = frozenset(ERROR_CODES)


def column_width(header: str, typical: int) -> int:
    """A column as wide as its header or its typical content, whichever is wider."""
    return min(max(len(header) + 2, typical), MAX_WIDTH)


def write_xlsx(
    db: Database,
    target: Path | IO[bytes],
    *,
    integration: str | None = None,
    progress: Progress | None = None,
    now: datetime | None = None,
    as_of: datetime | None = None,
) -> dict[str, int]:
    """Write every sheet to ``target``; the number of rows of each sheet.

    ``as_of`` exports the inventory as it stood at that moment (ages counted from it).

    A path is written through a temporary file beside it and renamed at the end,
    so a failed export never leaves half a workbook behind.
    """
    if isinstance(target, Path):
        return _write_atomically(db, target, integration, progress, now, as_of)
    return _write(db, target, integration, progress or NullProgress(), now, as_of)


def _write_atomically(
    db: Database,
    path: Path,
    integration: str | None,
    progress: Progress | None,
    now: datetime | None,
    as_of: datetime | None,
) -> dict[str, int]:
    with atomic_file(path, "wb") as stream:
        return _write(db, stream, integration, progress or NullProgress(), now, as_of)


def _write(
    db: Database,
    stream: IO[bytes],
    integration: str | None,
    progress: Progress,
    now: datetime | None,
    as_of: datetime | None,
) -> dict[str, int]:
    workbook = Workbook(write_only=True)
    written: dict[str, int] = {}
    with snapshot_connection(db, as_of) as conn:
        scope = resolve_scope(conn, integration, now or as_of)
        for sheet in SHEETS:
            progress.start(sheet.name, sheet.count(conn, scope))
            columns = sheet.columns_for(conn, scope)
            worksheet: Any = workbook.create_sheet(sheet.name)
            for index, column in enumerate(columns, start=1):
                letter = get_column_letter(index)
                worksheet.column_dimensions[letter].width = column_width(
                    column.header, column.width
                )
            worksheet.freeze_panes = "A2"
            worksheet.append([_header(worksheet, c.header) for c in columns])
            rows = 0
            for chunk, read in sheet.chunks(conn, scope, CHUNK_SIZE):
                for row in chunk:
                    worksheet.append(text_cells(worksheet, row))
                rows += len(chunk)
                progress.advance(read)
            last = get_column_letter(len(columns))
            worksheet.auto_filter.ref = f"A1:{last}{rows + 1}"
            written[sheet.name] = rows
    workbook.save(stream)
    return written


def _header(worksheet: Any, text: str) -> Cell:
    cell = WriteOnlyCell(worksheet, value=text)
    cell.font = HEADER_FONT
    return cell


def text_cells(worksheet: Any, row: list[Any] | tuple[Any, ...]) -> list[Any]:
    """``row`` with every string openpyxl would store as a formula or an error code
    replaced by an explicit string cell, and control characters in strings by U+FFFD;
    other values are left for openpyxl to type."""
    cells = []
    for value in row:
        if type(value) is str:
            value = printable(value)
            if value.startswith(_NOT_TEXT_STARTS) and _not_text(value):
                value = _text_cell(worksheet, value)
        cells.append(value)
    return cells


def _not_text(value: str) -> bool:
    return (len(value) > 1 and value[0] == "=") or value in _ERROR_CODES


def _text_cell(worksheet: Any, value: str) -> Cell:
    cell = WriteOnlyCell(worksheet, value=value)
    cell.data_type = "s"
    return cell
