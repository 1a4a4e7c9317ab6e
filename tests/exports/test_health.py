"""vHealth's checks on a database fed through the sync engine; the exports' pure pieces."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from iroa.connectors.base import (
    DatastoreRecord,
    HostRecord,
    Snapshot,
    SourceInfo,
    VmRecord,
    VmSnapshotRecord,
)
from iroa.db.engine import Database
from iroa.exports.columns import free_percent
from iroa.exports.csv import cell_text
from iroa.exports.health import VHEALTH
from iroa.exports.service import resolve_scope, snapshot_connection
from iroa.exports.xlsx import MAX_WIDTH, column_width
from tests.api.inventory_estate import add_inventory_integration, sync_snapshot

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
GIB = 1 << 30


def vcenter() -> Snapshot:
    return Snapshot(
        source=SourceInfo("vc", "test"),
        hosts=[
            HostRecord("h-ok", "esx-ok", connection_state="connected", in_maintenance=False),
            HostRecord("h-mm", "esx-mm", connection_state="connected", in_maintenance=True),
            HostRecord("h-nr", "esx-nr", connection_state="notResponding"),
        ],
        datastores=[
            DatastoreRecord("ds-ok", "ds-ok", capacity_bytes=100 * GIB, free_bytes=50 * GIB),
            DatastoreRecord("ds-full", "ds-full", capacity_bytes=100 * GIB, free_bytes=9 * GIB),
            DatastoreRecord("ds-edge", "ds-edge", capacity_bytes=100 * GIB, free_bytes=10 * GIB),
            DatastoreRecord("ds-gone", "ds-gone", accessible=False),
            DatastoreRecord("ds-unknown", "ds-unknown"),
        ],
        vms=[
            VmRecord("vm-1", "tools-stopped", power_state="on", tools_status="toolsNotRunning"),
            VmRecord("vm-2", "tools-old", power_state="on", tools_status="toolsOld"),
            VmRecord("vm-3", "tools-ok", power_state="on", tools_status="toolsOk"),
            VmRecord("vm-4", "off-vm", power_state="off", tools_status="toolsNotRunning"),
            VmRecord(
                "vm-5", "template", power_state="on", is_template=True, tools_status="toolsOld"
            ),
        ],
        vm_snapshots=[
            VmSnapshotRecord("s-old", "vm-3", "old", created_at=NOW - timedelta(days=8)),
            VmSnapshotRecord("s-new", "vm-3", "new", created_at=NOW - timedelta(days=6)),
            VmSnapshotRecord("s-undated", "vm-3", "undated"),
        ],
    )


def hyperv() -> Snapshot:
    return Snapshot(
        source=SourceInfo("hv", "test"),
        hosts=[HostRecord("n1", "HV-N1", connection_state="down")],
        vms=[
            VmRecord("g-1", "hv-update", power_state="on", tools_status="Update required"),
            VmRecord("g-2", "hv-ok", power_state="on", tools_status="Up to date"),
            VmRecord("g-3", "hv-unknown", power_state="on"),
        ],
    )


def findings(db: Database, integration: str | None = None) -> set[tuple[str, ...]]:
    with snapshot_connection(db) as conn:
        scope = resolve_scope(conn, integration, NOW)
        total = VHEALTH.count(conn, scope)
        chunks = list(VHEALTH.chunks(conn, scope, 2))
    assert sum(read for _, read in chunks) == total  # progress advances to its total
    return {tuple(str(v) for v in row) for rows, _ in chunks for row in rows}


def test_health_checks_flag_exactly_what_they_document(db: Database) -> None:
    sync_snapshot(db, add_inventory_integration(db, "vcenter", "vc"), vcenter())
    sync_snapshot(db, add_inventory_integration(db, "hyperv", "hv"), hyperv())
    found = {
        (name, message, kind, platform)
        for name, message, kind, _server, _uuid, _type, platform, _ in findings(db)
    }
    assert found == {
        ("tools-stopped", "VMware Tools are not running", "VM Tools", "vcenter"),
        ("tools-old", "VMware Tools are out of date", "VM Tools", "vcenter"),
        ("hv-update", "Integration services need an update", "VM Tools", "hyperv"),
        (
            "tools-ok",
            "Snapshot 'old' is 8 days old (taken 2026-02-21 12:00 UTC)",
            "Snapshot",
            "vcenter",
        ),
        (
            "ds-full",
            "Datastore has 9 % free (9216 MiB of 102400 MiB), under 10 %",
            "Datastore",
            "vcenter",
        ),
        ("ds-gone", "Datastore is not accessible", "Datastore", "vcenter"),
        ("esx-mm", "Host is in maintenance mode", "Host", "vcenter"),
        ("esx-nr", "Host is not responding", "Host", "vcenter"),
        ("HV-N1", "Cluster node is down", "Host", "hyperv"),
    }  # fmt: skip
    assert {row[-1] for row in findings(db, "hv")} == {"hv"}


def test_cells_and_widths() -> None:
    assert [cell_text(v) for v in (None, True, False, 3, "x", ["a", "b"], [])] == [
        "",
        "true",
        "false",
        "3",
        "x",
        "a; b",
        "",
    ]
    assert cell_text(datetime(2026, 1, 2, 3, 4, 5)) == "2026-01-02T03:04:05"
    assert (
        free_percent(100, 9) == 9 and free_percent(0, 0) is None and free_percent(5, None) is None
    )
    assert column_width("OS according to the configuration file", 30) == 40
    assert column_width("VM", 30) == 30
    assert column_width("Path", 500) == MAX_WIDTH
