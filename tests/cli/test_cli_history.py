"""``iroa get --as-of``, ``iroa export --as-of`` and dated exports (``--output-dir --keep``)."""

from __future__ import annotations

import time
from datetime import datetime
from pathlib import Path

import openpyxl
import pytest

from iroa.crypto import SecretBox
from iroa.db.engine import Database
from iroa.integrations.service import IntegrationInput, add_integration
from iroa.inventory.history import clear_snapshots
from tests.cli.test_cli import one_line_error
from tests.cli.test_cli_hyperv import InProcessIroa
from tests.inventory.history_estate import run_sequence


@pytest.fixture
def moments(db: Database, box: SecretBox) -> list[datetime]:
    clear_snapshots()
    integration_id = add_integration(db, box, IntegrationInput("vcenter", "vc1", "https://vc1")).id
    return run_sequence(db, integration_id)


@pytest.fixture
def iroa(
    tmp_path: Path, db_url: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> InProcessIroa:
    return InProcessIroa(tmp_path / "data", db_url, monkeypatch, capsys)


def vinfo_names(path: Path) -> list[str]:
    workbook = openpyxl.load_workbook(path, read_only=True)
    rows = list(workbook["vInfo"].iter_rows(values_only=True))
    workbook.close()
    return sorted(str(row[0]) for row in rows[1:])


def test_get_and_export_as_of(iroa: InProcessIroa, moments: list[datetime], tmp_path: Path) -> None:
    vms = iroa.json("get", "vms", "--as-of", moments[2].isoformat())
    assert [v["name"] for v in vms] == ["vm0-renamed", "vm1", "vm3"]
    assert [v["name"] for v in iroa.json("get", "vms")] == ["vm0-final", "vm2", "vm3"]
    path = tmp_path / "then.xlsx"
    iroa("export", "--format", "xlsx", "--output", str(path), "--as-of", moments[1].isoformat())
    assert vinfo_names(path) == ["vm0", "vm1", "vm2"]


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_dated_exports_for_cron(
    iroa: InProcessIroa, moments: list[datetime], tmp_path: Path
) -> None:
    directory = tmp_path / "nightly"
    first = iroa("export", "--format", "xlsx", "--output-dir", str(directory), "--keep", "1")
    written = first.stdout.split()[1].rstrip(";")
    assert Path(written).parent == directory and Path(written).name.startswith("iroa-export-")
    time.sleep(1.1)
    second = iroa("export", "--format", "xlsx", "--output-dir", str(directory), "--keep", "1")
    assert f"deleted {Path(written).name}" in second.stdout
    assert [p.name for p in directory.iterdir()] == [
        Path(second.stdout.split()[1].rstrip(";")).name
    ]
    as_of = iroa(
        "export",
        "--format",
        "csv",
        "--output-dir",
        str(directory),
        "--as-of",
        moments[1].isoformat(),
    )
    assert Path(as_of.stdout.split()[1]).is_dir()


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_history_errors_are_one_line(
    iroa: InProcessIroa, moments: list[datetime], tmp_path: Path
) -> None:
    out = str(tmp_path / "x.xlsx")
    cases = [
        (["get", "vms", "--as-of", "last tuesday"], "as_of must be an ISO-8601 timestamp"),
        (["export", "--format", "xlsx", "--output", out, "--as-of", "soon"], "as_of must be"),
        (["export", "--format", "xlsx"], "give either --output PATH or --output-dir DIR"),
        (["export", "--format", "xlsx", "--output", out, "--output-dir", str(tmp_path)],
         "give either --output PATH or --output-dir DIR"),
        (["export", "--format", "xlsx", "--output", out, "--keep", "3"],
         "--keep needs --output-dir"),
    ]  # fmt: skip
    for args, expected in cases:
        failed = iroa(*args, ok=False)
        assert expected in one_line_error(failed), args
    assert not Path(out).exists()
