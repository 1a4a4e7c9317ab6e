"""Downloads from the dashboard: the workbook and each sheet as CSV."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response

from iroa.exports.csv import (
    list_csv,
    stream_sheet_csv,
)
from iroa.exports.service import SHEETS
from iroa.exports.xlsx import write_xlsx
from iroa.http.deps import DB
from iroa.http.responses import XLSX_MEDIA_TYPE, csv_stream_response, file_response
from iroa.web.render import message_page
from iroa.web.session import PageOperator
from iroa.web.tables import LIST_VIEWS

router = APIRouter(include_in_schema=False)


EXPORT_NAMES = (*LIST_VIEWS, *(sheet.name for sheet in SHEETS))


@router.get("/export.xlsx")
def export_workbook(request: Request, user: PageOperator, db: DB) -> Response:
    """The whole inventory as the RVTools-like workbook (as ``GET /api/v1/export.xlsx``)."""
    return file_response(
        lambda path: write_xlsx(db, path), XLSX_MEDIA_TYPE, ".xlsx", "iroa-inventory"
    )


@router.get("/export/{name}.csv")
def export_csv(request: Request, user: PageOperator, db: DB, name: str) -> Response:
    """Every object of one type, or one sheet of the workbook, as CSV (as the API's export)."""
    if name not in EXPORT_NAMES:
        return message_page(
            request,
            "No such export",
            f"There is no export named {name!r}: choose one of {', '.join(EXPORT_NAMES)}.",
            404,
            user,
        )

    rows = list_csv(db, name) if name in LIST_VIEWS else stream_sheet_csv(db, name)
    return csv_stream_response(rows, f"iroa-{name}")
