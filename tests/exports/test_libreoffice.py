"""The workbook opens in LibreOffice Calc: headless, it reads every sheet and saves them again."""

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
from tests.exports.test_exports import SHEET_NAMES
from tests.inventory.history_estate import SEQUENCE, StaticConnector
from tests.peers.plugin import missing_peer

CONVERT_TIMEOUT_S = 180


def cells(path: Path) -> dict[str, list[tuple[Any, ...]]]:
    workbook = openpyxl.load_workbook(path, read_only=True)
    sheets = {ws.title: list(ws.iter_rows(values_only=True)) for ws in workbook.worksheets}
    workbook.close()
    return sheets


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_libreoffice_opens_all_sheets(db: Database, box: SecretBox, tmp_path: Path) -> None:
    soffice = shutil.which("soffice") or shutil.which("libreoffice")
    if soffice is None:
        missing_peer("LibreOffice is not installed (tests/peers/install.sh installs it)")
    assert soffice is not None
    integration_id = add_integration(db, box, IntegrationInput("vcenter", "vc1", "https://vc1")).id
    assert run_sync(db, integration_id, StaticConnector(SEQUENCE[1])).succeeded
    original = tmp_path / "estate.xlsx"
    write_xlsx(db, original)
    converted = tmp_path / "converted"
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
    resaved = cells(converted / "estate.xlsx")
    assert list(resaved) == SHEET_NAMES
    before = cells(original)
    for name in SHEET_NAMES:
        assert resaved[name][0] == before[name][0], name  # the header row
        assert len(resaved[name]) == len(before[name]), name
    vms = sorted(str(row[0]) for row in resaved["vInfo"][1:])
    assert vms == ["vm0-renamed", "vm1", "vm3"]
