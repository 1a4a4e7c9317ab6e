"""A small estate and a sequence of three syncs with known changes, for history tests."""

from __future__ import annotations

import dataclasses
import time
from datetime import UTC, datetime, timedelta
from typing import Any

from iroa.connectors.base import (
    ClusterRecord,
    DatacenterRecord,
    DatastoreRecord,
    HostRecord,
    NetworkRecord,
    Progress,
    ResourcePoolRecord,
    Snapshot,
    SourceInfo,
    TagRecord,
    VmDatastoreRecord,
    VmDeviceRecord,
    VmDiskRecord,
    VmNetworkRecord,
    VmNicRecord,
    VmPartitionRecord,
    VmRecord,
    VmSnapshotRecord,
)
from iroa.db.base import utcnow
from iroa.db.engine import Database
from iroa.sync.engine import run_sync

SOURCE = SourceInfo(name="vc", product="test")
BOOT = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)


class StaticConnector:
    kind = "vcenter"

    def __init__(self, snapshot: Snapshot) -> None:
        self.snapshot = snapshot

    def check(self) -> SourceInfo:
        return SOURCE

    def collect(self, progress: Progress) -> Snapshot:
        return self.snapshot


def vm(i: int, **changes: Any) -> VmRecord:
    record = VmRecord(
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
    return dataclasses.replace(record, **changes)


def estate(vms: list[VmRecord], host_name: str = "esx1", datastore: str = "ds-1") -> Snapshot:
    ids = [v.external_id for v in vms]
    return Snapshot(
        source=SOURCE,
        datacenters=[DatacenterRecord("dc-1", "DC")],
        clusters=[ClusterRecord("c-1", "C", datacenter_external_id="dc-1", host_count=1)],
        hosts=[
            HostRecord(
                "host-1",
                host_name,
                datacenter_external_id="dc-1",
                cluster_external_id="c-1",
                cpu_cores=8,
                memory_mib=65536,
                boot_time=BOOT,
            ),
            HostRecord("host-2", "esx2", datacenter_external_id="dc-1", cluster_external_id="c-1"),
        ],
        datastores=[
            DatastoreRecord("ds-1", "ds1", datacenter_external_id="dc-1", capacity_bytes=1 << 40),
            DatastoreRecord("ds-2", "ds2", datacenter_external_id="dc-1", capacity_bytes=1 << 41),
        ],
        networks=[NetworkRecord("net-1", "VM Network", datacenter_external_id="dc-1")],
        resource_pools=[
            ResourcePoolRecord("rp-1", "Resources", "dc-1", "c-1", "/DC/host/C/Resources")
        ],
        vms=vms,
        vm_disks=[VmDiskRecord(f"{i}:2000", i, "Hard disk 1", datastore, 10 << 30) for i in ids],
        vm_nics=[VmNicRecord(f"{i}:4000", i, "NIC 1", "net-1", "VM Network") for i in ids],
        vm_snapshots=[VmSnapshotRecord(f"{ids[0]}:s1", ids[0], "before", created_at=BOOT)]
        if ids
        else [],
        vm_datastores=[VmDatastoreRecord(f"{i}:{datastore}", i, datastore) for i in ids],
        vm_networks=[VmNetworkRecord(f"{i}:net-1", i, "net-1") for i in ids],
        vm_partitions=[
            VmPartitionRecord(f"{i}:partition:/", i, "/", 10 << 30, 4 << 30) for i in ids
        ],
        vm_devices=[VmDeviceRecord(f"{i}:3000", i, "cd", "CD/DVD drive 1", False) for i in ids],
        tags=[TagRecord(f"{i}:owner", "vm", i, "owner", "ops") for i in ids],
    )


SEQUENCE = [
    estate([vm(0), vm(1), vm(2)]),
    # vm0 renamed, powered off, resized and moved; vm2 gone; vm3 new; host renamed;
    # every disk now on ds-2.
    estate(
        [
            vm(
                0,
                name="vm0-renamed",
                power_state="off",
                memory_mib=8192,
                host_external_id="host-2",
                ip_addresses=("10.0.1.1", "10.0.1.2"),
                boot_time=BOOT + timedelta(days=1),
            ),
            vm(1),
            vm(3, num_cpu=4),
        ],
        host_name="esx1b",
        datastore="ds-2",
    ),
    # vm2 is back with more memory; vm1 gone; vm0 renamed again.
    estate(
        [
            vm(0, name="vm0-final", power_state="off", memory_mib=8192, host_external_id="host-2"),
            vm(2, memory_mib=16384),
            vm(3, num_cpu=4),
        ],
        host_name="esx1b",
        datastore="ds-2",
    ),
]


def run_sequence(db: Database, integration_id: int, after_each: Any = None) -> list[datetime]:
    """Sync each snapshot of :data:`SEQUENCE`; the moment before the first and after each.

    ``after_each`` (if given) is called after the start and after each sync.
    """
    moments = [utcnow()]
    if after_each is not None:
        after_each()
    for snapshot in SEQUENCE:
        time.sleep(0.01)
        assert run_sync(db, integration_id, StaticConnector(snapshot)).succeeded
        time.sleep(0.01)
        moments.append(utcnow())
        if after_each is not None:
            after_each()
    return moments
