"""Inventory text that looks like a formula stays text in every export.

A VM named ``=1+2`` (or with ``@SUM(A1)`` in its notes) comes from the source
through the real sync engine; the workbook must hold it as a string cell, never
a formula, and LibreOffice must show the text.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path
from typing import Any

import openpyxl
import pytest

from iroa.crypto import SecretBox
from iroa.db.engine import Database
from iroa.exports.xlsx import write_xlsx
from iroa.integrations.service import IntegrationInput, add_integration
from iroa.sync.engine import run_sync
from tests.inventory.history_estate import StaticConnector, estate, vm
from tests.peers.plugin import missing_peer

CONVERT_TIMEOUT_S = 180
# VM field -> hostile text, and the vInfo header the field is exported under.
HOSTILE = {
    "name": ("=1+2", "VM"),
    "notes": ("@SUM(A1)", "Annotation"),
    "guest_os": ("+cmd|' /C calc'!A0", "OS according to the configuration file"),
    "folder": ("#N/A", "Folder"),
    "guest_hostname": ("-2+3", "DNS Name"),
}


@pytest.fixture
def hostile(db: Database, box: SecretBox) -> Database:
    """One vCenter integration whose VM vm-1 carries formula-like text in several fields."""
    integration_id = add_integration(db, box, IntegrationInput("vcenter", "vc1", "https://vc1")).id
    fields = {field: text for field, (text, _) in HOSTILE.items()}
    snapshot = estate([vm(1, **fields), vm(2)])
    assert run_sync(db, integration_id, StaticConnector(snapshot)).succeeded
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
