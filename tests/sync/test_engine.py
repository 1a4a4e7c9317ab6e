"""The sync engine on a real database (SQLite and PostgreSQL), fed with built snapshots."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import event, select

from iroa.connectors.base import (
    CannotConnectError,
    ClusterRecord,
    DatacenterRecord,
    HostRecord,
    Progress,
    Snapshot,
    SourceInfo,
    VmDiskRecord,
    VmRecord,
    VmSnapshotRecord,
)
from iroa.crypto import SecretBox
from iroa.db.engine import Database
from iroa.db.locks import sync_lock
from iroa.history.models import Change, Summary
from iroa.integrations.service import IntegrationInput, add_integration
from iroa.inventory.models import Host, Vm, VmDisk, VmSnapshot
from iroa.inventory.queries import list_objects
from iroa.sync.engine import run_sync
from iroa.sync.models import SyncRun
from iroa.sync.runs import SyncAlreadyRunningError

SOURCE = SourceInfo(name="vc", product="test")
BOOT = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)


class StaticConnector:
    """Returns a prepared snapshot, or raises a prepared error, like a connector would."""

    kind = "vcenter"

    def __init__(self, snapshot: Snapshot | Exception) -> None:
        self.snapshot = snapshot

    def check(self) -> SourceInfo:
        return SOURCE

    def collect(self, progress: Progress) -> Snapshot:
        if isinstance(self.snapshot, Exception):
            raise self.snapshot
        return self.snapshot


def estate(vm_count: int = 3, **vm_changes: Any) -> Snapshot:
    vms = [
        VmRecord(
            external_id=f"vm-{i}",
            name=f"vm{i}",
            host_external_id="host-1",
            cluster_external_id="c-1",
            datacenter_external_id="dc-1",
            power_state="on",
            num_cpu=2,
            memory_mib=4096,
            ip_addresses=(f"10.0.0.{i}",),
            boot_time=BOOT,
        )
        for i in range(vm_count)
    ]
    if vm_changes:
        vms[0] = dataclasses.replace(vms[0], **vm_changes)
    return Snapshot(
        source=SOURCE,
        datacenters=[DatacenterRecord("dc-1", "DC")],
        clusters=[ClusterRecord("c-1", "C", datacenter_external_id="dc-1", host_count=1)],
        hosts=[
            HostRecord(
                "host-1",
                "esx1",
                datacenter_external_id="dc-1",
                cluster_external_id="c-1",
                cpu_cores=8,
                memory_mib=65536,
                boot_time=BOOT,
            )
        ],
        vms=vms,
        vm_disks=[
            VmDiskRecord(f"vm-{i}:2000", f"vm-{i}", "Hard disk 1", capacity_bytes=10 << 30)
            for i in range(vm_count)
        ],
    )


@pytest.fixture
def integration_id(db: Database, box: SecretBox) -> int:
    return add_integration(db, box, IntegrationInput("vcenter", "vc1", "https://vc1")).id


def sync(db: Database, integration_id: int, snapshot: Snapshot | Exception, **kw: Any) -> Any:
    return run_sync(db, integration_id, StaticConnector(snapshot), **kw)


def changes(db: Database, run_id: int) -> list[tuple[str, str, str, Any]]:
    with db.session() as s:
        rows = s.execute(
            select(Change).where(Change.sync_run_id == run_id).order_by(Change.id)
        ).scalars()
        return [(c.object_type, c.external_id, c.action, c.fields) for c in rows]


def count_writes(db: Database) -> Callable[[], int]:
    """Counts INSERT/UPDATE/DELETE statements on inventory tables from now on."""
    seen: list[str] = []
    inventory = ("datacenters", "clusters", "hosts", "datastores", "networks", "vms", "vm_")

    @event.listens_for(db.engine, "before_cursor_execute")
    def _count(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        head = statement.lstrip().split(None, 3)
        if head and head[0] in ("INSERT", "UPDATE", "DELETE"):
            table = head[2] if head[0] != "UPDATE" else head[1]
            if table.strip('"').startswith(inventory):
                seen.append(statement)

    return lambda: len(seen)


def count_statements(db: Database) -> Callable[[], int]:
    """Counts the statements sent from now on (an executemany counts once)."""
    seen: list[str] = []
    event.listen(db.engine, "before_cursor_execute", lambda *args: seen.append(args[2]))
    return lambda: len(seen)


def test_first_sync_adds_everything_with_references_and_summary(
    db: Database, integration_id: int
) -> None:
    result = sync(db, integration_id, estate())
    assert result.status == "succeeded", result.error
    assert result.counts["vms"] == {"added": 3, "modified": 0, "removed": 0}
    assert result.totals["vm_disks"] == 3
    vms = list_objects(db, "vms")
    assert [v["name"] for v in vms] == ["vm0", "vm1", "vm2"]
    assert vms[0]["host"] == "esx1" and vms[0]["cluster"] == "C" and vms[0]["datacenter"] == "DC"
    assert vms[0]["integration"] == "vc1" and vms[0]["platform"] == "vcenter"
    assert vms[0]["ip_addresses"] == ["10.0.0.0"]
    assert vms[0]["boot_time"] == BOOT.isoformat()
    added = changes(db, result.run_id)
    assert ("vm", "vm-0", "added", None) in added and len(added) == 9
    with db.session() as s:
        summary = s.scalars(select(Summary)).one()
    assert (summary.vms, summary.vms_on, summary.vcpus_on, summary.host_cpu_cores) == (3, 3, 6, 8)
    assert summary.vcpu_per_core == 0.75


def test_unchanged_resync_writes_no_inventory_row(db: Database, integration_id: int) -> None:
    sync(db, integration_id, estate())
    writes = count_writes(db)
    result = sync(db, integration_id, estate())
    assert result.status == "succeeded"
    assert writes() == 0
    assert changes(db, result.run_id) == []
    assert all(c == {"added": 0, "modified": 0, "removed": 0} for c in result.counts.values())


def test_modification_records_old_and_new_values(db: Database, integration_id: int) -> None:
    sync(db, integration_id, estate())
    writes = count_writes(db)
    result = sync(db, integration_id, estate(num_cpu=4, power_state="off"))
    assert writes() == 1
    assert changes(db, result.run_id) == [
        ("vm", "vm-0", "modified", {"power_state": ["on", "off"], "num_cpu": [2, 4]})
    ]
    with db.session() as s:
        vm = s.scalars(select(Vm).where(Vm.external_id == "vm-0")).one()
    assert (vm.num_cpu, vm.power_state) == (4, "off")


def test_vanished_objects_are_marked_removed_and_come_back_with_same_id(
    db: Database, integration_id: int
) -> None:
    sync(db, integration_id, estate(3))
    with db.session() as s:
        original_id = s.scalars(select(Vm.id).where(Vm.external_id == "vm-2")).one()
    removed = sync(db, integration_id, estate(2))
    assert ("vm", "vm-2", "removed", None) in changes(db, removed.run_id)
    assert ("vm_disk", "vm-2:2000", "removed", None) in changes(db, removed.run_id)
    assert [v["name"] for v in list_objects(db, "vms")] == ["vm0", "vm1"]
    gone = [v for v in list_objects(db, "vms", include_removed=True) if v["name"] == "vm2"]
    assert gone[0]["removed_at"] is not None
    back = sync(db, integration_id, estate(3))
    assert ("vm", "vm-2", "added", None) in changes(db, back.run_id)
    with db.session() as s:
        vm = s.scalars(select(Vm).where(Vm.external_id == "vm-2")).one()
    assert vm.id == original_id and vm.removed_at is None


def test_failed_collection_changes_nothing_and_records_reason(
    db: Database, integration_id: int
) -> None:
    sync(db, integration_id, estate())
    result = sync(db, integration_id, CannotConnectError("cannot connect to vc1:443: refused"))
    assert (result.status, result.error) == ("failed", "cannot connect to vc1:443: refused")
    assert len(list_objects(db, "vms")) == 3
    with db.session() as s:
        run = s.get(SyncRun, result.run_id)
        assert run is not None and run.status == "failed" and run.finished_at is not None


def test_mass_removal_is_held_unless_forced(db: Database, integration_id: int) -> None:
    sync(db, integration_id, estate(12))
    held = sync(db, integration_id, estate(4))
    assert held.status == "held" and "8 of 12 vms" in (held.error or "")
    assert len(list_objects(db, "vms")) == 12
    assert changes(db, held.run_id) == []
    everything = sync(db, integration_id, Snapshot(source=SOURCE))
    assert everything.status == "held"
    forced = sync(db, integration_id, estate(4), force=True)
    assert forced.status == "succeeded" and forced.counts["vms"]["removed"] == 8


def test_integrations_never_touch_each_others_rows(
    db: Database, box: SecretBox, integration_id: int
) -> None:
    other = add_integration(db, box, IntegrationInput("vcenter", "vc2", "https://vc2")).id
    sync(db, integration_id, estate(3))
    sync(db, other, estate(2))
    sync(db, other, estate(2, name="renamed"))
    names = {(v["integration"], v["name"]) for v in list_objects(db, "vms")}
    assert names == {
        ("vc1", "vm0"),
        ("vc1", "vm1"),
        ("vc1", "vm2"),
        ("vc2", "renamed"),
        ("vc2", "vm1"),
    }
    with db.session() as s:
        assert s.scalars(select(Host.integration_id).distinct()).all() != []
        disks = s.scalars(select(VmDisk).where(VmDisk.integration_id == other)).all()
    assert {d.external_id for d in disks} == {"vm-0:2000", "vm-1:2000"}


def test_one_run_at_a_time_and_stale_runs_are_interrupted(
    db: Database, integration_id: int
) -> None:
    with db.write_session() as s:
        s.add(
            SyncRun(
                integration_id=integration_id,
                trigger="manual",
                status="running",
                started_at=datetime.now(UTC),
                totals={},
                counts={},
            )
        )
    with sync_lock(db, integration_id) as taken:
        assert taken
        with pytest.raises(SyncAlreadyRunningError):
            sync(db, integration_id, estate())
    result = sync(db, integration_id, estate())
    assert result.status == "succeeded"
    with db.session() as s:
        statuses = s.scalars(select(SyncRun.status).order_by(SyncRun.id)).all()
    assert statuses == ["interrupted", "succeeded"]


def test_references_to_objects_outside_the_snapshot_are_empty(
    db: Database, integration_id: int
) -> None:
    snapshot = dataclasses.replace(
        estate(1), vms=[VmRecord("vm-0", "vm0", host_external_id="host-404")]
    )
    first = sync(db, integration_id, snapshot)
    assert first.status == "succeeded"
    assert list_objects(db, "vms")[0]["host"] is None
    again = sync(db, integration_id, snapshot)
    assert changes(db, again.run_id) == []


def test_large_writes_refresh_planner_statistics(
    db: Database, integration_id: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("iroa.sync.apply.ANALYZE_AFTER_WRITES", 5)
    assert sync(db, integration_id, estate(7)).succeeded
    if db.is_sqlite:
        return  # PRAGMA optimize leaves nothing a test can read reliably
    with db.engine.connect() as conn:
        tuples = conn.exec_driver_sql(
            "SELECT reltuples FROM pg_class WHERE relname = 'vms'"
        ).scalar_one()
    assert tuples == 7


def test_the_statistics_of_the_usage_figures_are_refreshed_too(
    db: Database, integration_id: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("iroa.sync.apply.ANALYZE_AFTER_WRITES", 5)
    snapshot = estate(7)
    running = [dataclasses.replace(vm, cpu_used_mhz=100) for vm in snapshot.vms]
    assert sync(db, integration_id, dataclasses.replace(snapshot, vms=running)).succeeded
    if db.is_sqlite:
        return
    with db.engine.connect() as conn:
        tuples = dict(
            conn.exec_driver_sql(
                "SELECT relname, reltuples FROM pg_class"
                " WHERE relname IN ('usage_latest', 'vm_cpu_samples')"
            ).all()
        )
    assert tuples == {"usage_latest": 7, "vm_cpu_samples": 7}


def test_statements_of_a_first_sync_do_not_grow_with_the_estate(
    db: Database, box: SecretBox
) -> None:
    """New rows and their change rows go in bulk, never a statement per row."""
    statements = count_statements(db)
    sent = []
    for vm_count in (15, 1500):
        name = f"vc-{vm_count}"
        integration = add_integration(db, box, IntegrationInput("vcenter", name, "https://vc")).id
        before = statements()
        assert sync(db, integration, estate(vm_count)).succeeded
        sent.append(statements() - before)
    # SQLite takes a bounded number of parameters a statement: a few more statements for
    # 1,485 more VMs with their disks, NICs and change rows, never one a row.
    assert sent[1] <= sent[0] + 60


def test_a_snapshot_that_only_grew_is_rewritten_without_a_change_row(
    db: Database, integration_id: int
) -> None:
    def with_snapshot(size: int, name: str = "before-upgrade") -> Snapshot:
        snap = VmSnapshotRecord("vm-0:1", "vm-0", name, vmsn_bytes=size // 10, size_bytes=size)
        return dataclasses.replace(estate(), vm_snapshots=[snap])

    assert sync(db, integration_id, with_snapshot(1 << 30)).status == "succeeded"
    grown = sync(db, integration_id, with_snapshot(3 << 30))
    assert grown.counts["vm_snapshots"]["modified"] == 0
    assert changes(db, grown.run_id) == []
    renamed = sync(db, integration_id, with_snapshot(4 << 30, "renamed"))
    assert changes(db, renamed.run_id) == [
        ("vm_snapshot", "vm-0:1", "modified", {"name": ["before-upgrade", "renamed"]})
    ]
    with db.session() as s:
        stored = s.scalars(select(VmSnapshot)).one()
        assert (stored.vmsn_bytes, stored.size_bytes) == ((4 << 30) // 10, 4 << 30)
