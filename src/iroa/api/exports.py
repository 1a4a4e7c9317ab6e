"""Export routes: the RVTools-like workbook and CSV files of sheets and lists, for operators.

The workbook is written to a temporary file first (openpyxl writes the zip at
the end), then streamed from disk and deleted. CSV files stream as they are
read (:func:`csv_stream_response`): the first chunk — which opens the read
transaction and checks the parameters — is produced before the response
starts, so an error such as an unknown integration still answers as JSON
before any byte of the file is sent.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable, Generator
from datetime import datetime
from enum import StrEnum
from itertools import chain
from pathlib import Path
from typing import Annotated, Any

import anyio
from fastapi import APIRouter, Depends, HTTPException, Query
from fastapi.responses import FileResponse, StreamingResponse
from starlette.background import BackgroundTask
from starlette.concurrency import run_in_threadpool
from starlette.types import Receive, Scope, Send

from iroa.api.deps import DB, require_operator
from iroa.db.base import utcnow
from iroa.db.engine import Database
from iroa.exports.csv import list_csv, stream_sheet_csv
from iroa.exports.service import SHEETS
from iroa.exports.xlsx import write_xlsx
from iroa.inventory.history import parse_as_of
from iroa.inventory.listing import InvalidQueryError
from iroa.inventory.queries import LISTABLE

router = APIRouter(prefix="/api/v1", tags=["exports"], dependencies=[Depends(require_operator)])

XLSX_MEDIA_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
CSV_MEDIA_TYPE = "text/csv; charset=utf-8"

ExportType = StrEnum(  # type: ignore[misc]
    "ExportType", [(name, name) for name in (*LISTABLE, *(sheet.name for sheet in SHEETS))]
)
IntegrationFilter = Annotated[
    str | None, Query(max_length=200, description="Only objects of this integration (name)")
]
AsOf = Annotated[
    str | None,
    Query(
        max_length=64,
        description="ISO-8601 timestamp (UTC if no zone): the inventory as it stood then "
        "(see docs/history.md)",
    ),
]


def _as_of(value: str | None) -> datetime | None:
    """The parsed ``as_of``; a bad one answers 422 with the reason."""
    if value is None:
        return None
    try:
        return parse_as_of(value)
    except InvalidQueryError as exc:
        raise HTTPException(422, str(exc)) from exc


def file_response(
    write: Callable[[Path], Any], media_type: str, suffix: str, stem: str
) -> FileResponse:
    """Write the export to a temporary file, and answer with it; the file is deleted after."""
    fd, name = tempfile.mkstemp(prefix="iroa-export-", suffix=suffix)
    os.close(fd)
    path = Path(name)
    try:
        write(path)
    except BaseException:
        path.unlink(missing_ok=True)
        raise
    filename = f"{stem}-{utcnow():%Y%m%d-%H%M%S}{suffix}"
    return FileResponse(
        path,
        media_type=media_type,
        filename=filename,
        background=BackgroundTask(path.unlink, missing_ok=True),
    )


class ClosingStreamingResponse(StreamingResponse):
    """A streaming response that closes its generator however the response ends — done,
    failed, or the client gone — so the generator's read transaction and database
    connection are given back at once (not when the generator is garbage-collected)."""

    def __init__(self, chunks: Generator[str, None, None], first: str, **kwargs: Any) -> None:
        self._chunks = chunks
        super().__init__(chain([first], chunks), **kwargs)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            await super().__call__(scope, receive, send)
        finally:
            # Starlette waits for a running next() to return before cancelling, so the
            # generator is not executing here; shielded, as the task may be cancelled.
            with anyio.CancelScope(shield=True):
                await run_in_threadpool(self._chunks.close)


def csv_stream_response(chunks: Generator[str, None, None], stem: str) -> StreamingResponse:
    """Stream CSV text as an attachment named ``stem-<UTC time>.csv``.

    The first chunk is read before answering: any error of the parameters (an
    unknown integration, a bad filter) is raised here, before the response starts.
    """
    try:
        first = next(chunks)
    except StopIteration:
        first = ""
    except BaseException:
        chunks.close()
        raise
    filename = f"{stem}-{utcnow():%Y%m%d-%H%M%S}.csv"
    return ClosingStreamingResponse(
        chunks,
        first,
        media_type=CSV_MEDIA_TYPE,
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )


@router.get(
    "/export.xlsx",
    summary="The inventory as an RVTools-like workbook",
    response_class=FileResponse,
    responses={200: {"content": {XLSX_MEDIA_TYPE: {}}, "description": "The workbook"}},
)
def export_xlsx(db: DB, integration: IntegrationFilter = None, as_of: AsOf = None) -> FileResponse:
    """Sheets vInfo, vCPU, vMemory, vDisk, vNetwork, vSnapshot, vTools, vCluster, vHost,
    vDatastore and vHealth for both platforms (see docs/exports.md)."""

    at = _as_of(as_of)

    def write(path: Path) -> None:
        write_xlsx(db, path, integration=integration, as_of=at)

    return file_response(write, XLSX_MEDIA_TYPE, ".xlsx", "iroa-inventory")


@router.get(
    "/export/{type}.csv",
    summary="One list or one sheet as CSV",
    response_class=StreamingResponse,
    responses={200: {"content": {"text/csv": {}}, "description": "The CSV file"}},
)
def export_csv(
    db: DB,
    type: ExportType,
    integration: IntegrationFilter = None,
    as_of: AsOf = None,
    raw: Annotated[
        bool,
        Query(
            description="Text exactly as stored: no leading ' before text starting with "
            "= + - @, tab or carriage return (for programs, not spreadsheets)"
        ),
    ] = False,
) -> StreamingResponse:
    """A list (`vms`, `hosts` …: the columns of the API list's items) or a sheet of the
    workbook (`vInfo`, `vHealth` …: its columns). Text cells a spreadsheet would run as a
    formula get a leading `'` unless `raw=true` (see docs/exports.md)."""
    name = str(type.value)
    at = _as_of(as_of)
    return csv_stream_response(_csv_chunks(db, name, integration, at, raw), f"iroa-{name}")


def _csv_chunks(
    db: Database, name: str, integration: str | None, as_of: datetime | None, raw: bool
) -> Generator[str, None, None]:
    if name in LISTABLE:
        return list_csv(db, name, integration=integration, as_of=as_of, raw=raw)
    return stream_sheet_csv(db, name, integration=integration, as_of=as_of, raw=raw)
