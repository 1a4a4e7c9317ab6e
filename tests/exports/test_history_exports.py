"""Exports as of a past moment equal the exports taken at that moment (vCenter simulator).

The simulator is synced, changed through the vSphere API (power, rename,
snapshot, destroy), and synced again; after each sync the live export is
taken. Later, exports rebuilt ``as_of`` each of those moments must be the same
files, on SQLite and PostgreSQL.
"""

from __future__ import annotations

import csv
import time
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from iroa.crypto import SecretBox
from iroa.db.base import utcnow
from iroa.db.engine import Database
from iroa.exports.csv import cell_text, list_csv, write_csv_directory
from iroa.exports.xlsx import write_xlsx
from iroa.integrations.service import IntegrationInput, add_integration
from iroa.inventory.history import clear_snapshots, inventory_as_of
from iroa.inventory.queries import list_objects
from iroa.sync.engine import run_sync
from tests.exports.test_exports import SHEET_NAMES, read_sheets
from tests.peers import vsphere_ops as ops
from tests.peers.vcsim import Topology
from tests.sync.test_vcenter_sync import connector_for as vcenter_connector

TOPOLOGY = Topology(clusters=1, hosts_per_cluster=1, standalone_hosts=1, vms_per_host=2)


def read_directory(directory: Path) -> dict[str, str]:
    return {p.name: p.read_text(encoding="utf-8") for p in sorted(directory.iterdir())}


def without_idle(files: dict[str, str]) -> dict[str, str]:
    health = files["vHealth.csv"].splitlines(keepends=True)
    kept = [line for line in health if ",vm_idle," not in line]
    return {**files, "vHealth.csv": "".join(kept)}


@pytest.fixture
def history(
    db: Database, box: SecretBox, vcsim: Any, tmp_path: Path
) -> tuple[datetime, list[datetime], list[Path]]:
    """Three syncs of a changing simulator: the export clock, the moments, the live exports."""
    clear_snapshots()
    server = vcsim(TOPOLOGY)
    si = ops.connect(server)
    integration_id = add_integration(db, box, IntegrationInput("vcenter", "vc", server.url)).id
    now = utcnow()
    moments: list[datetime] = []
    live: list[Path] = []

    def sync_and_capture() -> None:
        time.sleep(0.01)
        assert run_sync(db, integration_id, vcenter_connector(server)).succeeded
        time.sleep(0.01)
        moments.append(utcnow())
        directory = tmp_path / f"live-{len(live)}"
        write_csv_directory(db, directory, now=now)
        live.append(directory)

    names = sorted(ops.list_vm_names(si))
    sync_and_capture()
    ops.power_off(si, names[0])
    ops.rename_vm(si, names[1], "renamed-vm")
    ops.create_snapshot(si, names[2], "before-upgrade")
    sync_and_capture()
    ops.destroy_vm(si, names[3])
    ops.rename_vm(si, "renamed-vm", "renamed-again")
    sync_and_capture()
    return now, moments, live


def test_csv_exports_as_of_each_sync_equal_the_exports_taken_then(
    db: Database, history: tuple[datetime, list[datetime], list[Path]], tmp_path: Path
) -> None:
    now, moments, live = history
    contents = [read_directory(d) for d in live]
    assert contents[0] != contents[1] != contents[2]
    for index, moment in enumerate(moments):
        rebuilt = tmp_path / f"as-of-{index}"
        write_csv_directory(db, rebuilt, now=now, as_of=moment)
        # Usage samples are not history: an export as of a moment has no idle VMs.
        assert read_directory(rebuilt) == without_idle(contents[index]), index


def test_workbook_as_of_holds_the_vms_of_that_moment(
    db: Database, history: tuple[datetime, list[datetime], list[Path]], tmp_path: Path
) -> None:
    now, moments, _ = history
    names = []
    for index, moment in enumerate(moments):
        path = tmp_path / f"as-of-{index}.xlsx"
        write_xlsx(db, path, now=now, as_of=moment)
        sheets = read_sheets(path)
        assert list(sheets) == SHEET_NAMES
        names.append(sorted(row["VM"] for row in sheets["vInfo"]))
    assert "renamed-vm" in names[1] and "renamed-again" in names[2]
    assert len(names[2]) == len(names[1]) - 1 == len(names[0]) - 1


def test_list_csv_as_of_reads_back_as_the_list_then(
    db: Database, history: tuple[datetime, list[datetime], list[Path]]
) -> None:
    _, moments, _ = history
    text = "".join(list_csv(db, "vms", as_of=moments[1]))
    read = list(csv.DictReader(text.splitlines()))
    with inventory_as_of(db, moments[1]) as past:
        expected = list_objects(past, "vms")
    assert [row["name"] for row in read] == [item["name"] for item in expected]
    assert read == [{k: cell_text(v) for k, v in item.items()} for item in expected]
    assert "renamed-vm" in [row["name"] for row in read]
