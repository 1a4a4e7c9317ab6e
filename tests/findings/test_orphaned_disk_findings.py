"""Orphaned disks: stored as each full sync's search found them, on both backends, and the
finding they make on a datastore, through a real sync of the simulator."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from pyVmomi import vim
from sqlalchemy import select

from iroa.connectors.base import DiskScan, OrphanedDiskRecord
from iroa.crypto import SecretBox
from iroa.db.base import utcnow
from iroa.db.engine import Database
from iroa.exports.health import VHEALTH
from iroa.exports.service import resolve_scope, snapshot_connection
from iroa.findings.rules import Thresholds
from iroa.inventory.models import OrphanedDisk
from iroa.sync.orphans import store_orphaned_disks
from tests.findings.test_findings import findings
from tests.peers import vsphere_ops as ops
from tests.peers.vcsim import Topology
from tests.sync.test_vcenter_sync import new_integration, sync

RULE = "datastore_orphaned_disks"
T0 = datetime(2026, 12, 1, tzinfo=UTC)


def _disk(ds: str, path: str, size: int | None = 1 << 30) -> OrphanedDiskRecord:
    return OrphanedDiskRecord(ds, path, size)


def stored(db: Database, integration_id: int = 1) -> dict[tuple[str, str], tuple[Any, ...]]:
    with db.session() as s:
        rows = s.execute(
            select(
                OrphanedDisk.datastore_external_id,
                OrphanedDisk.path,
                OrphanedDisk.size_bytes,
                OrphanedDisk.first_seen_at,
            ).where(OrphanedDisk.integration_id == integration_id)
        ).all()
    return {(ds, path): (size, first) for ds, path, size, first in rows}


def store(db: Database, scan: DiskScan | None, datastores: set[str], now: datetime) -> None:
    with db.engine.begin() as conn:
        store_orphaned_disks(conn, 1, scan, datastores, now)


def test_each_search_replaces_what_it_searched_and_keeps_the_rest(db: Database) -> None:
    both = {"ds-1", "ds-2"}
    store(
        db,
        DiskScan(frozenset(both), (_disk("ds-1", "[a] x/x.vmdk"), _disk("ds-2", "[b] y/y.vmdk"))),
        both,
        T0,
    )
    later = T0 + timedelta(days=1)
    # ds-2 could not be searched this time; on ds-1, x grew and z appeared.
    grown = _disk("ds-1", "[a] x/x.vmdk", 2 << 30)
    store(db, DiskScan(frozenset({"ds-1"}), (grown, _disk("ds-1", "[a] z/z.vmdk"))), both, later)
    assert stored(db) == {
        ("ds-1", "[a] x/x.vmdk"): (2 << 30, T0),  # first found at the first search
        ("ds-1", "[a] z/z.vmdk"): (1 << 30, later),
        ("ds-2", "[b] y/y.vmdk"): (1 << 30, T0),
    }

    store(db, DiskScan(frozenset({"ds-1"}), ()), both, later)  # x and z deleted
    assert set(stored(db)) == {("ds-2", "[b] y/y.vmdk")}

    store(db, DiskScan(frozenset({"ds-1"}), ()), {"ds-1"}, later)  # ds-2 is gone
    assert stored(db) == {}

    store(db, DiskScan(frozenset(both), (_disk("ds-1", "[a] x/x.vmdk"),)), both, later)
    store(db, None, both, later)  # no search: nothing to say
    assert stored(db) == {}


def test_a_disk_left_on_a_datastore_is_a_finding_until_it_is_deleted(
    db: Database, box: SecretBox, vcsim: Any
) -> None:
    server = vcsim(Topology(clusters=1, hosts_per_cluster=1, standalone_hosts=0, vms_per_host=2))
    si = ops.connect(server)
    vc = new_integration(db, box, server)
    assert sync(db, vc, server).succeeded
    assert [f for f in findings(db, vc) if f.rule == RULE] == []

    vm = ops.find_vm(si, "DC0_C0_RP0_VM0")
    disk = next(d for d in vm.config.hardware.device if isinstance(d, vim.vm.device.VirtualDisk))
    change = vim.vm.device.VirtualDeviceSpec(operation="remove", device=disk)  # file kept
    ops.wait_for_task(vm.ReconfigVM_Task(spec=vim.vm.ConfigSpec(deviceChange=[change])))
    ops.age_file(si, disk.backing.datastore, "DC0_C0_RP0_VM0/disk1.vmdk")
    assert sync(db, vc, server).succeeded

    (finding,) = (f for f in findings(db, vc) if f.rule == RULE)
    assert (finding.object_type, finding.object_name, finding.severity) == (
        "datastore",
        "LocalDS_0",
        "warning",
    )
    # vcsim reports no file sizes.
    assert finding.message == "a disk no VM uses: [LocalDS_0] DC0_C0_RP0_VM0/disk1.vmdk"
    with snapshot_connection(db) as conn:
        scope = resolve_scope(conn, None, utcnow(), Thresholds())
        rows = [row for cells, _ in VHEALTH.chunks(conn, scope, 100) for row in cells]
    assert ("LocalDS_0", finding.message, RULE) in {(r[0], r[1], r[7]) for r in rows}

    # Deleted from the datastore (vcsim's is a directory; its file manager's tasks carry an
    # entity pyVmomi refuses to decode).
    ops.datastore_file(si, disk.backing.datastore, "DC0_C0_RP0_VM0/disk1.vmdk").unlink()
    assert sync(db, vc, server).succeeded
    assert [f for f in findings(db, vc) if f.rule == RULE] == []
    assert stored(db, vc) == {}
