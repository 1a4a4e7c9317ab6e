"""Inventory text that looks like a formula stays text in every export.

A VM named ``=1+2`` (or with ``@SUM(A1)`` in its notes) comes from the source
through the real sync engine; the workbook must hold it as a string cell, never
a formula, and LibreOffice must show the text.
"""

from __future__ import annotations

import csv
import io
import shutil
import subprocess
from pathlib import Path
from typing import Any

import openpyxl
import pytest

from iroa.crypto import SecretBox
from iroa.db.engine import Database
from iroa.exports.csv import guarded_text, list_csv, write_csv_directory
from iroa.exports.xlsx import write_xlsx
from iroa.integrations.service import IntegrationInput, add_integration
from iroa.sync.engine import run_sync
from tests.api.fixtures import Api
from tests.inventory.history_estate import StaticConnector, estate, vm
from tests.peers.plugin import missing_peer
from tests.web.support import log_in

CONVERT_TIMEOUT_S = 180
# VM field -> hostile text, and the vInfo header the field is exported under.
HOSTILE = {
    "name": ("=1+2", "VM"),
    "notes": ("@SUM(A1)", "Annotation"),
    "guest_os": ("+cmd|' /C calc'!A0", "OS according to the configuration file"),
    "folder": ("#N/A", "Folder"),
    "guest_hostname": ("-2+3", "DNS Name"),
}


def sync_hostile(db: Database, box: SecretBox, name: str = "vc1") -> None:
    """One vCenter integration whose VM vm-1 carries formula-like text in several fields."""
    integration_id = add_integration(
        db, box, IntegrationInput("vcenter", name, f"https://{name}")
    ).id
    fields = {field: text for field, (text, _) in HOSTILE.items()}
    snapshot = estate([vm(1, **fields), vm(2)])
    assert run_sync(db, integration_id, StaticConnector(snapshot)).succeeded


@pytest.fixture
def hostile(db: Database, box: SecretBox) -> Database:
    sync_hostile(db, box)
    return db


def vinfo_cells(path: Path) -> dict[str, Any]:
    """vInfo's cells of the hostile VM by header (openpyxl cells, to check their type)."""
    workbook = openpyxl.load_workbook(path)
    sheet = workbook["vInfo"]
    rows = list(sheet.iter_rows())
    headers = [c.value for c in rows[0]]
    (row,) = [r for r in rows[1:] if r[headers.index("VM")].value != "vm2"]
    return {str(h): cell for h, cell in zip(headers, row, strict=True)}


def test_formula_like_text_is_written_as_string_cells(hostile: Database, tmp_path: Path) -> None:
    path = tmp_path / "estate.xlsx"
    write_xlsx(hostile, path)
    cells = vinfo_cells(path)
    for text, header in HOSTILE.values():
        assert cells[header].value == text, header
        assert cells[header].data_type == "s", header
    # Numbers and booleans keep their types.
    assert cells["CPUs"].value == 2 and cells["CPUs"].data_type == "n"
    assert cells["Template"].value is False and cells["Template"].data_type == "b"


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_libreoffice_shows_the_text(hostile: Database, tmp_path: Path) -> None:
    soffice = shutil.which("soffice") or shutil.which("libreoffice")
    if soffice is None:
        missing_peer("LibreOffice is not installed (tests/peers/install.sh installs it)")
    assert soffice is not None
    original = tmp_path / "estate.xlsx"
    write_xlsx(hostile, original)
    converted = tmp_path / "converted"
    # LibreOffice recalculates on load and saves what it shows: a formula would
    # come back as a formula (or its result, 3), text comes back as the text.
    done = subprocess.run(
        [
            soffice,
            f"-env:UserInstallation={(tmp_path / 'profile').as_uri()}",
            "--headless",
            "--convert-to",
            "xlsx:Calc MS Excel 2007 XML",
            "--outdir",
            str(converted),
            str(original),
        ],
        capture_output=True,
        text=True,
        timeout=CONVERT_TIMEOUT_S,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    cells = vinfo_cells(converted / "estate.xlsx")
    for text, header in HOSTILE.values():
        assert cells[header].value == text, header
        assert cells[header].data_type == "s", header


def csv_rows(text: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(text, newline="")))


def hostile_row(rows: list[dict[str, str]], name_key: str) -> dict[str, str]:
    (row,) = [r for r in rows if r[name_key] != "vm2"]
    return row


# The list CSV's field for each hostile VM field (the list has the model's names).
LIST_FIELDS = {"name": "name", "notes": "notes", "guest_os": "guest_os", "folder": "folder"}


def test_guarded_text_quotes_only_text_that_a_spreadsheet_would_run() -> None:
    for text in ("=1+2", "+cmd", "-2+3", "@SUM(A1)", "\tx", "\rx"):
        assert guarded_text(text) == "'" + text
    for text in ("#N/A", "vm1", "", "a=b", " =1"):
        assert guarded_text(text) == text
    assert guarded_text(-5) == "-5" and guarded_text(-1.5) == "-1.5"
    assert guarded_text(["-a", "b"]) == "'-a; b"


def test_csv_files_guard_formula_like_text_unless_raw(hostile: Database, tmp_path: Path) -> None:
    guarded = hostile_row(csv_rows("".join(list_csv(hostile, "vms"))), "name")
    raw = hostile_row(csv_rows("".join(list_csv(hostile, "vms", raw=True))), "name")
    for field, key in LIST_FIELDS.items():
        text = HOSTILE[field][0]
        assert raw[key] == text
        assert guarded[key] == (text if text.startswith("#") else "'" + text)
    assert guarded["num_cpu"] == "2" and guarded["external_id"] == "vm-1"

    files = write_csv_directory(hostile, tmp_path / "guarded")
    info = hostile_row(csv_rows(files["vInfo"].read_text(encoding="utf-8")), "VM")
    raw_files = write_csv_directory(hostile, tmp_path / "raw", raw=True)
    raw_info = hostile_row(csv_rows(raw_files["vInfo"].read_text(encoding="utf-8")), "VM")
    assert info["VM"] == "'=1+2" and raw_info["VM"] == "=1+2"
    assert info["DNS Name"] == "'-2+3" and raw_info["DNS Name"] == "-2+3"
    assert info["Folder"] == raw_info["Folder"] == "#N/A"


def test_api_and_dashboard_csv_are_guarded_and_the_api_offers_raw(api: Api, box: SecretBox) -> None:
    sync_hostile(api.db, box)
    operator = api.headers("operator")
    response = api.client.get("/api/v1/export/vms.csv", headers=operator)
    assert response.status_code == 200
    assert hostile_row(csv_rows(response.text), "name")["name"] == "'=1+2"
    raw = api.client.get("/api/v1/export/vInfo.csv", params={"raw": "true"}, headers=operator)
    assert hostile_row(csv_rows(raw.text), "VM")["Annotation"] == "@SUM(A1)"

    log_in(api.client, "operator")
    view = api.client.get("/vms.csv")
    assert view.status_code == 200
    assert hostile_row(csv_rows(view.text), "name")["notes"] == "'@SUM(A1)"
    sheet = api.client.get("/export/vInfo.csv")
    assert hostile_row(csv_rows(sheet.text), "VM")["VM"] == "'=1+2"
