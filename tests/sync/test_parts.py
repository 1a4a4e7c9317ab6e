"""A snapshot applied part by part leaves exactly what the same snapshot applied whole leaves.

Each scenario is synced into two integrations of one database: one is handed
the snapshot whole, the other the same records kept on disk in parts of one
VM each (as the vCenter connector spools them). Their rows, change rows, run
counts and held runs must be the same, run after run.
"""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import select

from iroa.connectors.base import (
    SNAPSHOT_PARTS,
    ClusterRecord,
    DatacenterRecord,
    DatastoreRecord,
    HostRecord,
    NetworkRecord,
    Progress,
    SkippedObject,
    Snapshot,
    SourceInfo,
    TagRecord,
    VmDatastoreRecord,
    VmDiskRecord,
    VmNicRecord,
    VmRecord,
    VmSnapshotRecord,
)
from iroa.connectors.spool import SnapshotSpool, SpooledSnapshot, spool_whole
from iroa.crypto import SecretBox
from iroa.db.engine import Database
from iroa.history.models import Change
from iroa.integrations.service import IntegrationInput, add_integration
from iroa.inventory.types import OBJECT_TYPES
from iroa.sync.engine import run_sync
from iroa.sync.models import SyncRun

SOURCE = SourceInfo(name="vc", product="test")
AT = datetime(2026, 3, 4, 5, 6, 7, tzinfo=UTC)


def in_parts(snapshot: Snapshot) -> SpooledSnapshot:
    """The snapshot's records in a spool, a VM to a part."""
    return spool_whole(snapshot, vms_per_part=1)


class Handing:
    kind = "vcenter"

    def __init__(self, snapshot: Snapshot | SpooledSnapshot) -> None:
        self.snapshot = snapshot

    def check(self) -> SourceInfo:
        return SOURCE

    def collect(self, progress: Progress) -> Snapshot | SpooledSnapshot:
        return self.snapshot


def estate(vm_count: int = 6) -> Snapshot:
    vms = [
        VmRecord(
            f"vm-{i}",
            f"vm{i}",
            datacenter_external_id="dc-1",
            cluster_external_id="c-1",
            host_external_id=f"host-{i % 2}",
            power_state="poweredOn",
            num_cpu=2,
            memory_mib=4096,
            ip_addresses=(f"10.0.0.{i}",),
            created_at=AT,
        )
        for i in range(vm_count)
    ]
    return Snapshot(
        SOURCE,
        datacenters=[DatacenterRecord("dc-1", "DC")],
        clusters=[ClusterRecord("c-1", "C", "dc-1", host_count=2)],
        hosts=[
            HostRecord(f"host-{h}", f"esx{h}", "dc-1", "c-1", cpu_cores=8, memory_mib=65536)
            for h in range(2)
        ],
        datastores=[DatastoreRecord("ds-1", "ds1", "dc-1", capacity_bytes=1 << 40)],
        networks=[NetworkRecord("net-1", "VM Network", "dc-1")],
        vms=vms,
        vm_disks=[
            VmDiskRecord(f"vm-{i}/2000", f"vm-{i}", "Hard disk 1", "ds-1", 10 << 30)
            for i in range(vm_count)
        ],
        vm_nics=[
            VmNicRecord(f"vm-{i}/4000", f"vm-{i}", "Network adapter 1", "net-1", "VM Network")
            for i in range(vm_count)
        ],
        vm_snapshots=[
            VmSnapshotRecord("vm-0/snap-1", "vm-0", "before", created_at=AT),
            VmSnapshotRecord("vm-0/snap-2", "vm-0", "after", parent_external_id="vm-0/snap-1"),
        ]
        if vm_count
        else [],
        vm_datastores=[
            VmDatastoreRecord(f"vm-{i}/ds-1", f"vm-{i}", "ds-1") for i in range(vm_count)
        ],
        tags=[
            TagRecord("host/host-0/owner", "host", "host-0", "owner", "ops"),
            *(
                TagRecord(f"vm/vm-{i}/app", "vm", f"vm-{i}", "app", f"a{i}")
                for i in range(min(3, vm_count))
            ),
        ],
    )


def changed(snapshot: Snapshot) -> Snapshot:
    """Edits of every kind: modified, removed and new objects, parts and tags."""
    vms = list(snapshot.vms)
    vms[1] = dataclasses.replace(vms[1], num_cpu=4, host_external_id="host-gone")
    return dataclasses.replace(
        snapshot,
        hosts=snapshot.hosts[:1],
        vms=[*vms[:4], VmRecord("vm-new", "fresh", host_external_id="host-0")],
        vm_disks=[
            dataclasses.replace(snapshot.vm_disks[0], capacity_bytes=20 << 30),
            *snapshot.vm_disks[1:4],
            VmDiskRecord("vm-new/2000", "vm-new", "Hard disk 1"),
        ],
        vm_nics=[n for n in snapshot.vm_nics if n.vm_external_id != "vm-2"][:3],
        vm_snapshots=snapshot.vm_snapshots[:1],
        vm_datastores=snapshot.vm_datastores[:4],
        tags=[
            dataclasses.replace(snapshot.tags[1], value="renamed"),
            TagRecord("vm/vm-3/app", "vm", "vm-3", "app", "new"),
        ],
        # vm-5 could not be mapped, and neither could host-0's custom attributes:
        # both stay as stored, with what hangs off them.
        warnings=[
            SkippedObject("vm", "vm-5", "ValueError: bad"),
            SkippedObject("host", "host-0", "its custom attributes: ValueError: bad"),
        ],
    )


SCENARIOS = {
    "first sync": [estate()],
    "no change": [estate(), estate()],
    "edits of every kind": [estate(), changed(estate())],
    "removed and back": [estate(), changed(estate()), estate()],
    "everything gone, forced": [estate(), dataclasses.replace(estate(0), hosts=[])],
}


@pytest.fixture
def pair(db: Database, box: SecretBox) -> tuple[int, int]:
    whole = add_integration(db, box, IntegrationInput("vcenter", "whole", "https://a")).id
    parts = add_integration(db, box, IntegrationInput("vcenter", "parts", "https://b")).id
    return whole, parts


def rows(db: Database, integration_id: int) -> dict[str, list[tuple[Any, ...]]]:
    """Every inventory row of an integration, references as external ids, without ids."""
    external: dict[str, dict[int, str]] = {}
    found: dict[str, list[tuple[Any, ...]]] = {}
    with db.engine.connect() as conn:
        for object_type in OBJECT_TYPES:
            table = object_type.table
            result = conn.execute(
                select(table).where(table.c.integration_id == integration_id)
            ).mappings()
            listed = []
            for row in result:
                external.setdefault(table.name, {})[row["id"]] = row["external_id"]
                values = {
                    c.name: external.get(object_type.refs[c.name], {}).get(row[c.name])
                    if c.name in object_type.refs
                    else row[c.name]
                    for c in object_type.data_columns
                }
                listed.append((row["external_id"], row["removed_at"] is None, values))
            found[object_type.plural] = sorted(listed, key=lambda r: r[0])
    return found


def run_changes(db: Database, run_id: int) -> list[tuple[str, str, str, Any]]:
    with db.session() as s:
        return sorted(
            (c.object_type, c.external_id, c.action, c.fields)
            for c in s.scalars(select(Change).where(Change.sync_run_id == run_id))
        )


def run_record(db: Database, run_id: int) -> tuple[Any, ...]:
    with db.session() as s:
        run = s.get(SyncRun, run_id)
        assert run is not None
        return (run.status, run.counts, run.totals, run.warnings, run.error)


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_parts_apply_as_the_whole_does(db: Database, pair: tuple[int, int], scenario: str) -> None:
    whole_id, parts_id = pair
    for snapshot in SCENARIOS[scenario]:
        force = not snapshot.vms
        whole = run_sync(db, whole_id, Handing(snapshot), force=force)
        parted = run_sync(db, parts_id, Handing(in_parts(snapshot)), force=force)
        assert whole.status == "succeeded", whole.error
        assert (parted.status, parted.counts, parted.totals) == (
            whole.status,
            whole.counts,
            whole.totals,
        )
        assert run_record(db, parted.run_id) == run_record(db, whole.run_id)
        assert run_changes(db, parted.run_id) == run_changes(db, whole.run_id)
        assert rows(db, parts_id) == rows(db, whole_id)


def test_edits_are_applied_as_a_whole_snapshot_says(db: Database, pair: tuple[int, int]) -> None:
    """What the comparison above holds equal is also right."""
    _, parts_id = pair
    run_sync(db, parts_id, Handing(in_parts(estate())))
    result = run_sync(db, parts_id, Handing(in_parts(changed(estate()))))
    # vm-1 and vm-3 lost their host (host-1 is gone), vm-4 is gone, vm-5 is spared.
    assert result.counts["vms"] == {"added": 1, "modified": 2, "removed": 1}
    assert result.counts["hosts"] == {"added": 0, "modified": 0, "removed": 1}
    stored = rows(db, parts_id)
    present = {p: {r[0] for r in found if r[1]} for p, found in stored.items()}
    assert present["vms"] == {"vm-0", "vm-1", "vm-2", "vm-3", "vm-5", "vm-new"}
    assert present["vm_disks"] == {f"vm-{i}/2000" for i in (0, 1, 2, 3, 5)} | {"vm-new/2000"}
    assert present["vm_snapshots"] == {"vm-0/snap-1"}
    assert present["tags"] == {"host/host-0/owner", "vm/vm-0/app", "vm/vm-3/app"}
    vm1 = next(r[2] for r in stored["vms"] if r[0] == "vm-1")
    assert vm1["host_id"] is None and vm1["num_cpu"] == 4  # its host is gone


def test_mass_removal_in_parts_is_held_with_the_counts_of_the_whole(
    db: Database, pair: tuple[int, int]
) -> None:
    whole_id, parts_id = pair
    run_sync(db, whole_id, Handing(estate(12)))
    run_sync(db, parts_id, Handing(in_parts(estate(12))))
    before = rows(db, parts_id)
    few = estate(2)
    whole = run_sync(db, whole_id, Handing(few))
    parted = run_sync(db, parts_id, Handing(in_parts(few)))
    assert parted.status == whole.status == "held"
    assert run_record(db, parted.run_id) == run_record(db, whole.run_id)
    assert "remove 10 of 12 vms" in (parted.error or "")
    assert parted.counts["vm_disks"] == {"added": 0, "modified": 0, "removed": 10}
    assert rows(db, parts_id) == before
    assert run_changes(db, parted.run_id) == []


def test_an_object_in_two_parts_fails_the_run_and_changes_nothing(
    db: Database, pair: tuple[int, int]
) -> None:
    _, parts_id = pair
    spool = SnapshotSpool()
    vm = estate().vms[0]
    spool.add(Snapshot(SOURCE, vms=[vm]))
    spool.add(Snapshot(SOURCE, vms=[dataclasses.replace(vm, name="again")]))
    result = run_sync(db, parts_id, Handing(spool.finish(SOURCE, ())))
    assert result.status == "failed"
    assert result.error == "the snapshot is inconsistent: the source reported 'vm-0' twice"
    assert rows(db, parts_id)["vms"] == []


def test_a_spool_gives_back_what_it_was_given() -> None:
    snapshot = changed(estate())
    with spool_whole(snapshot, vms_per_part=2) as spooled:
        assert len(list(spooled.parts())) == 1 + 3
        whole = spooled.whole()
        assert spooled.owner_ids() == snapshot.owner_ids()
        assert spooled.counts() == snapshot.counts()
        assert spooled.source.object_counts == dict(snapshot.counts())
    for name in SNAPSHOT_PARTS:
        assert getattr(whole, name) == sorted(
            getattr(snapshot, name), key=lambda r: r.external_id
        ), name
    assert whole.warnings == tuple(snapshot.warnings)


def test_the_spool_file_is_gone_after_the_run(db: Database, pair: tuple[int, int]) -> None:
    _, parts_id = pair
    spooled = in_parts(estate())
    run_sync(db, parts_id, Handing(spooled))
    with pytest.raises(ValueError, match="closed file"):
        list(spooled.parts())
