"""``iroa export`` in process (see tests/cli/test_cli_hyperv.py) on an estate of both platforms."""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Any

import openpyxl
import pytest

from iroa.crypto import SecretBox
from iroa.db.engine import Database
from iroa.exports.csv import cell_text
from iroa.inventory.queries import list_objects
from tests.api.inventory_estate import HV_VMS, build_estate
from tests.cli.test_cli import one_line_error
from tests.cli.test_cli_hyperv import InProcessIroa
from tests.exports.test_injection import sync_hostile

SHEETS = (
    "vInfo vCPU vMemory vDisk vPartition vNetwork vCD vUSB vSnapshot vTools vSource vRP vCluster"
    " vHost vHBA vNIC vSwitch vPort dvSwitch dvPort vSC_VMK vDatastore vMultiPath vLicense vHealth"
    " vMetaData"
)


@pytest.fixture
def iroa(
    tmp_path: Path,
    db: Database,
    db_url: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> InProcessIroa:
    build_estate(db)
    return InProcessIroa(tmp_path / "data", db_url, monkeypatch, capsys)


def test_export_writes_a_workbook_csv_files_and_lists(
    iroa: InProcessIroa, db: Database, tmp_path: Path
) -> None:
    workbook_path = tmp_path / "estate.xlsx"
    done = iroa("export", "--format", "xlsx", "--output", str(workbook_path))
    vms = len(list_objects(db, "vms"))
    assert done.stdout.startswith(f"wrote {workbook_path} (rows: vInfo {vms}, vCPU {vms},")
    assert "vInfo" in done.stderr  # the progress, plain lines when not on a terminal
    workbook = openpyxl.load_workbook(workbook_path, read_only=True)
    assert workbook.sheetnames == SHEETS.split()
    workbook.close()

    only_hv = tmp_path / "hv.xlsx"
    iroa("export", "--format", "xlsx", "--output", str(only_hv), "--integration", "hv1")
    workbook = openpyxl.load_workbook(only_hv, read_only=True)
    rows = list(workbook["vInfo"].iter_rows(values_only=True))
    assert len(rows) == 1 + HV_VMS and {row[-1] for row in rows[1:]} == {"hv1"}
    workbook.close()

    directory = tmp_path / "csv"
    done = iroa("export", "--format", "csv", "--output", str(directory))
    assert done.stdout.strip() == f"wrote 26 CSV files to {directory}: {', '.join(SHEETS.split())}"
    assert sorted(p.name for p in directory.iterdir()) == sorted(f"{s}.csv" for s in SHEETS.split())

    hosts = tmp_path / "hosts.csv"
    iroa("export", "--format", "csv", "--list", "hosts", "--output", str(hosts))
    with hosts.open(newline="", encoding="utf-8") as stream:
        read = list(csv.DictReader(stream))
    assert read == [
        {k: cell_text(v) for k, v in item.items()} for item in list_objects(db, "hosts")
    ]


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_export_errors_are_one_line_and_leave_nothing_behind(
    iroa: InProcessIroa, tmp_path: Path
) -> None:
    cases: list[tuple[list[str], str]] = [
        (["--format", "xlsx", "--output", str(tmp_path / "missing" / "x.xlsx")],
         f"{tmp_path / 'missing'}: no such directory"),
        (["--format", "xlsx", "--output", str(tmp_path)], "is a directory"),
        (["--format", "xlsx", "--output", str(tmp_path / "x.xlsx"), "--integration", "nope"],
         "no integration named 'nope'"),
        (["--format", "xlsx", "--output", str(tmp_path / "x.xlsx"), "--list", "vms"],
         "--list needs --format csv"),
    ]  # fmt: skip
    (tmp_path / "a-file").write_text("")
    cases.append((["--format", "csv", "--output", str(tmp_path / "a-file")], "not a directory"))
    for args, expected in cases:
        failed = iroa("export", *args, ok=False)
        assert failed.returncode != 0, args
        message: Any = one_line_error(failed)
        assert expected in message, (args, message)
    assert sorted(p.name for p in tmp_path.iterdir() if p.name != "data") == ["a-file"]


def test_csv_exports_guard_formula_like_text_unless_raw(
    iroa: InProcessIroa, db: Database, box: SecretBox, tmp_path: Path
) -> None:
    sync_hostile(db, box, name="hostile")
    guarded, raw = tmp_path / "vms.csv", tmp_path / "vms-raw.csv"
    iroa("export", "--format", "csv", "--list", "vms", "--output", str(guarded))
    iroa("export", "--format", "csv", "--list", "vms", "--output", str(raw), "--raw")

    def names(path: Path) -> set[str]:
        with path.open(encoding="utf-8", newline="") as stream:
            return {row["name"] for row in csv.DictReader(stream)}

    assert "'=1+2" in names(guarded) and "=1+2" not in names(guarded)
    assert "=1+2" in names(raw)
    directory = tmp_path / "raw-sheets"
    iroa("export", "--format", "csv", "--output", str(directory), "--raw")
    with (directory / "vInfo.csv").open(encoding="utf-8", newline="") as stream:
        assert "=1+2" in {row["VM"] for row in csv.DictReader(stream)}
