"""The export routes: a workbook and CSV files, for operators, as the core writes them."""

from __future__ import annotations

import csv
import io

import openpyxl

from iroa.exports.csv import cell_text
from iroa.exports.service import SHEETS
from iroa.inventory.queries import list_objects
from tests.api.fixtures import Api
from tests.api.inventory_estate import build_estate

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def test_operators_download_the_workbook_and_csv_files(api: Api) -> None:
    build_estate(api.db)
    operator = api.headers("operator")

    response = api.client.get("/api/v1/export.xlsx", headers=operator)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == XLSX
    disposition = response.headers["content-disposition"]
    assert disposition.startswith('attachment; filename="iroa-inventory-')
    assert disposition.endswith('.xlsx"')
    workbook = openpyxl.load_workbook(io.BytesIO(response.content), read_only=True)
    assert workbook.sheetnames == [sheet.name for sheet in SHEETS]
    info = list(workbook["vInfo"].iter_rows(values_only=True))
    assert len(info) - 1 == len(list_objects(api.db, "vms"))
    workbook.close()

    scoped = api.client.get("/api/v1/export.xlsx", params={"integration": "hv1"}, headers=operator)
    workbook = openpyxl.load_workbook(io.BytesIO(scoped.content), read_only=True)
    assert {row[-1] for row in list(workbook["vHost"].iter_rows(values_only=True))[1:]} == {"hv1"}
    workbook.close()

    for plural in ("vms", "datastores"):
        response = api.client.get(f"/api/v1/export/{plural}.csv", headers=operator)
        assert response.status_code == 200, response.text
        assert response.headers["content-type"] == "text/csv; charset=utf-8"
        read = list(csv.DictReader(io.StringIO(response.text, newline="")))
        expected = list_objects(api.db, plural)
        assert read == [{k: cell_text(v) for k, v in item.items()} for item in expected]

    health = api.client.get("/api/v1/export/vHealth.csv", headers=operator)
    header, *rows = list(csv.reader(io.StringIO(health.text, newline="")))
    assert header == [
        "Name",
        "Message",
        "Message type",
        "VI SDK Server",
        "VI SDK UUID",
        "Object type",
        "Severity",
        "Rule",
        "Platform",
        "Integration",
    ]
    found = [row[:3] + row[5:] for row in rows]
    assert [
        "esx2.prod",
        "in maintenance mode",
        "Host in maintenance",
        "host",
        "info",
        "host_in_maintenance",
        "vcenter",
        "vc1",
    ] in found


def test_exports_refuse_viewers_unknown_types_and_integrations(api: Api) -> None:
    viewer, admin = api.headers("viewer"), api.headers("admin")
    assert api.client.get("/api/v1/export.xlsx", headers=viewer).status_code == 403
    assert api.client.get("/api/v1/export/vms.csv", headers=viewer).status_code == 403
    unknown = api.client.get("/api/v1/export/servers.csv", headers=admin)
    assert unknown.status_code == 422 and "type" in unknown.json()["detail"]
    missing = api.client.get("/api/v1/export.xlsx", params={"integration": "nope"}, headers=admin)
    assert missing.status_code == 404
    assert missing.json() == {"detail": "no integration named 'nope'"}
