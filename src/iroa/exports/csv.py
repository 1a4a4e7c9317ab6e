"""CSV exports: one file per sheet of the workbook, and any inventory list as the API lists it.

Cells are written as the workbook has them, with these text forms: booleans
``true``/``false``, timestamps ISO-8601, lists joined by ``; ``, no value empty.

CSV files are opened in spreadsheets, which run a cell that starts with ``=``,
``+``, ``-`` or ``@`` as a formula (CSV injection). Unless ``raw`` is asked for,
text cells that start with one of those, a tab or a carriage return get a
leading ``'`` (OWASP's CSV-injection guidance); numbers, booleans and
timestamps are never changed. See docs/exports.md.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Generator, Iterable, Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Connection

from iroa.connectors.base import NullProgress, Progress
from iroa.db.engine import Database
from iroa.exports.columns import Scope, SheetSource
from iroa.exports.files import DIRECTORY_MODE, atomic_file
from iroa.exports.service import (
    CHUNK_SIZE,
    SHEETS,
    resolve_scope,
    sheet_named,
    snapshot_connection,
)
from iroa.inventory.listing import ListParams, ordered_query
from iroa.inventory.queries import add_vm_placements, jsonable_rows, list_query, object_type

LIST_SEPARATOR = "; "
FORMULA_TRIGGERS = frozenset("=+-@\t\r")
"""First characters that make a spreadsheet read a text cell as a formula."""


def cell_text(value: Any) -> str:
    """One value as CSV text."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, list | tuple):
        return LIST_SEPARATOR.join(cell_text(v) for v in value)
    return str(value)


def guarded_text(value: Any) -> str:
    """One value as CSV text that a spreadsheet cannot run: text (a string, or a list
    joined) starting with a formula trigger gets a leading ``'``."""
    text = cell_text(value)
    if isinstance(value, str | list | tuple) and text[:1] in FORMULA_TRIGGERS:
        return "'" + text
    return text


def _lines(rows: Iterable[Iterable[Any]], raw: bool = False) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    text = cell_text if raw else guarded_text
    writer.writerows([text(v) for v in row] for row in rows)
    return buffer.getvalue()


def sheet_csv(
    conn: Connection,
    sheet: SheetSource,
    scope: Scope,
    progress: Progress | None = None,
    *,
    raw: bool = False,
) -> Iterator[str]:
    """One sheet as CSV text: the header line, then a chunk of rows at a time
    (``raw``: without the formula guard)."""
    progress = progress or NullProgress()
    progress.start(sheet.name, sheet.count(conn, scope))
    yield _lines([[c.header for c in sheet.columns_for(conn, scope)]])
    for chunk, read in sheet.chunks(conn, scope, CHUNK_SIZE):
        yield _lines(chunk, raw)
        progress.advance(read)


def stream_sheet_csv(
    db: Database,
    name: str,
    *,
    integration: str | None = None,
    now: datetime | None = None,
    as_of: datetime | None = None,
    raw: bool = False,
) -> Generator[str, None, None]:
    """Sheet ``name`` as CSV text, read in one transaction (checks the name before reading)."""
    sheet = sheet_named(name)
    with snapshot_connection(db, as_of) as conn:
        scope = resolve_scope(conn, integration, now or as_of)
        yield from sheet_csv(conn, sheet, scope, raw=raw)


def write_csv_directory(
    db: Database,
    directory: Path,
    *,
    integration: str | None = None,
    progress: Progress | None = None,
    now: datetime | None = None,
    as_of: datetime | None = None,
    raw: bool = False,
) -> dict[str, Path]:
    """Write ``DIRECTORY/<sheet>.csv`` for every sheet of the workbook; the files written."""
    if directory.exists() and not directory.is_dir():
        raise NotADirectoryError(
            20, "not a directory (CSV exports write one file per sheet into one)", str(directory)
        )
    directory.mkdir(DIRECTORY_MODE, parents=True, exist_ok=True)
    written: dict[str, Path] = {}
    with snapshot_connection(db, as_of) as conn:
        scope = resolve_scope(conn, integration, now or as_of)
        for sheet in SHEETS:
            path = directory / f"{sheet.name}.csv"
            write_text_atomically(path, sheet_csv(conn, sheet, scope, progress, raw=raw))
            written[sheet.name] = path
    return written


def list_csv(
    db: Database,
    plural: str,
    *,
    integration: str | None = None,
    as_of: datetime | None = None,
    raw: bool = False,
) -> Generator[str, None, None]:
    """The present objects of one type (at ``as_of``) as CSV, as the API lists their items."""
    kind = object_type(plural)
    stmt = list_query(kind, integration=integration)
    with snapshot_connection(db, as_of) as conn:
        resolve_scope(conn, integration)
        result = conn.execution_options(yield_per=CHUNK_SIZE).execute(stmt)
        keys = list(result.keys()) + (["datastores", "networks"] if kind.placements else [])
        yield _lines([keys])
        for partition in result.partitions():
            items = jsonable_rows(partition)
            if kind.placements:
                add_vm_placements(conn, items)
            yield _lines(([item[k] for k in keys] for item in items), raw)


def list_view_csv(db: Database, plural: str, params: ListParams) -> Generator[str, None, None]:
    """What a paged list shows with these filters, search and sort — all its pages — as CSV
    with the columns of :func:`list_csv`, read in one transaction (``limit`` and ``cursor``
    are ignored). A bad parameter raises
    :class:`~iroa.inventory.listing.InvalidQueryError` before anything is read.
    """
    kind = object_type(plural)
    stmt, values = ordered_query(db, plural, params)
    with snapshot_connection(db) as conn:
        result = conn.execution_options(yield_per=CHUNK_SIZE).execute(stmt, values)
        keys = list(result.keys()) + (["datastores", "networks"] if kind.placements else [])
        yield _lines([keys])
        for partition in result.partitions():
            items = jsonable_rows(partition)
            if kind.placements:
                add_vm_placements(conn, items)
            yield _lines([item[k] for k in keys] for item in items)


def write_text_atomically(path: Path, chunks: Iterable[str]) -> None:
    """Write UTF-8 text through a temporary file beside ``path``, renamed at the end."""
    with atomic_file(path, "w", encoding="utf-8", newline="") as stream:
        stream.writelines(chunks)
