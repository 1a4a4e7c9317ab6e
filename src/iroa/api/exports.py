"""Export routes: the RVTools-like workbook and CSV files of sheets and lists, for operators.

The workbook is written to a temporary file first (openpyxl writes the zip at
the end), then streamed from disk and deleted. CSV files stream as they are
read (:func:`csv_stream_response`): the first chunk — which opens the read
transaction and checks the parameters — is produced before the response
starts, so an error such as an unknown integration still answers as JSON
before any byte of the file is sent.
"""

from __future__ import annotations

from collections.abc import Generator
from datetime import datetime
from enum import StrEnum
from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Query
from fastapi.responses import FileResponse, StreamingResponse

from iroa.db.engine import Database
from iroa.exports.csv import list_csv, stream_sheet_csv
from iroa.exports.service import SHEETS
from iroa.exports.xlsx import write_xlsx
from iroa.http.deps import DB, require_operator
from iroa.http.responses import XLSX_MEDIA_TYPE, csv_stream_response, file_response
from iroa.inventory.history import parse_as_of
from iroa.inventory.queries import LISTABLE
from iroa.paging import InvalidQueryError

router = APIRouter(prefix="/api/v1", tags=["exports"], dependencies=[Depends(require_operator)])

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


@router.get(
    "/export.xlsx",
    summary="The inventory as an RVTools-like workbook",
    response_class=FileResponse,
    responses={200: {"content": {XLSX_MEDIA_TYPE: {}}, "description": "The workbook"}},
)
def export_xlsx(db: DB, integration: IntegrationFilter = None, as_of: AsOf = None) -> FileResponse:
    """Sheets vInfo, vCPU, vMemory, vDisk, vNetwork, vSnapshot, vTools, vCluster, vHost, vHBA,
    vNIC, vSwitch, vPort, dvSwitch, dvPort, vSC_VMK, vDatastore, vMultiPath, vHealth and
    vMetaData for both platforms (see docs/exports.md)."""

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
