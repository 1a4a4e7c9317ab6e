"""Purpose-built estates in which each health rule holds for known objects.

``vcenter_estate`` and ``hyperv_estate`` are connector snapshots, written through
the real sync engine; ``fixed`` variants end every condition.
"""

from __future__ import annotations

import dataclasses
from datetime import datetime, timedelta

from iroa.connectors.base import (
    ClusterRecord,
    DatacenterRecord,
    DatastoreRecord,
    HostRecord,
    Progress,
    Snapshot,
    SourceInfo,
    VmDatastoreRecord,
    VmDeviceRecord,
    VmDiskRecord,
    VmPartitionRecord,
    VmRecord,
    VmSnapshotRecord,
)

GIB = 1 << 30
MIB = 1 << 20
CROWD = 30
"""VMs on ``ds-crowded`` when fixed: exactly the default limit; one more when not."""


class StaticConnector:
    """Hands the sync engine a prepared snapshot, as a connector would after collecting."""

    kind = "vcenter"

    def __init__(self, snapshot: Snapshot) -> None:
        self.snapshot = snapshot

    def check(self) -> SourceInfo:
        return self.snapshot.source

    def collect(self, progress: Progress) -> Snapshot:
        return self.snapshot


def _vm(external_id: str, **fields: object) -> VmRecord:
    base = VmRecord(
        external_id=external_id,
        name=external_id.upper(),
        datacenter_external_id="dc-1",
        cluster_external_id="c-calm",
        host_external_id="h-calm",
        power_state="on",
        num_cpu=2,
        memory_mib=2048,
        tools_status="toolsOk",
    )
    return dataclasses.replace(base, **fields)  # type: ignore[arg-type]


def vcenter_estate(now: datetime, *, fixed: bool = False) -> Snapshot:
    """vCenter: every vCenter rule holds once (or, ``fixed``, none does)."""
    busy_vms = [
        _vm(
            f"vm-busy-{i}",
            cluster_external_id="c-busy",
            host_external_id="h-busy",
            num_cpu=2 if fixed else 9,
            memory_mib=2048 if fixed else 12288,
        )
        for i in range(2)
    ]
    vms = [
        *busy_vms,
        _vm("vm-ok", hardware_version="vmx-13", overall_status="green"),
        _vm("vm-snap-old"),
        _vm("vm-snap-many"),
        _vm("vm-tools-off", tools_status="toolsOk" if fixed else "toolsNotRunning"),
        _vm("vm-tools-old", tools_status="toolsOk" if fixed else "toolsOld", tools_version="11"),
        _vm(
            "vm-tools-too-old",
            tools_version_status="guestToolsCurrent" if fixed else "guestToolsTooOld",
        ),
        _vm("vm-consolidate", consolidation_needed=not fixed),
        _vm("vm-old-hw", hardware_version="vmx-19" if fixed else "vmx-10"),
        _vm("vm-alarm", overall_status="green" if fixed else "red"),
        _vm("vm-misplaced"),
        _vm("vm-cd"),
        _vm("vm-full"),
        _vm("vm-filling"),
        _vm(
            "vm-off",
            power_state="on" if fixed else "off",
            tools_status="toolsOk" if fixed else "toolsNotRunning",
        ),
        _vm(
            "vm-template",
            power_state="off",
            is_template=True,
            tools_status="toolsNotRunning",
        ),
        _vm(
            "vm-lonely",
            cluster_external_id=None,
            host_external_id="h-lonely",
            num_cpu=2 if fixed else 16,
            memory_mib=1024,
        ),
    ]
    crowd = [
        _vm(f"vm-crowd-{i}", num_cpu=1, memory_mib=512)
        for i in range(CROWD if fixed else CROWD + 1)
    ]
    placements = [
        VmDatastoreRecord(f"{vm.external_id}:ds-crowded", vm.external_id, "ds-crowded")
        for vm in crowd
    ]
    # A template's files do not count towards a crowded datastore.
    placements.append(VmDatastoreRecord("vm-template:ds-crowded", "vm-template", "ds-crowded"))
    disks = [
        # h-calm does not mount ds-local (unless fixed): a finding.
        VmDiskRecord("vm-misplaced:2000", "vm-misplaced", "Hard disk 1", "ds-local"),
        VmDiskRecord("vm-ok:2000", "vm-ok", "Hard disk 1", "ds-ok"),
        # The datastores of h-busy are not known: no claim.
        VmDiskRecord("vm-busy-0:2000", "vm-busy-0", "Hard disk 1", "ds-local"),
    ]
    snapshots = []
    devices = _vcenter_drives(fixed)
    partitions = _vcenter_partitions(fixed)
    if not fixed:
        snapshots = [
            VmSnapshotRecord("vm-snap-old:1", "vm-snap-old", "old", created_at=now - timedelta(30)),
            *(
                VmSnapshotRecord(f"vm-snap-many:{i}", "vm-snap-many", f"s{i}", created_at=now)
                for i in range(4)
            ),
            # A template's snapshot is no finding: templates are not VMs that run.
            VmSnapshotRecord("vm-template:1", "vm-template", "t", created_at=now - timedelta(90)),
        ]
    return Snapshot(
        source=SourceInfo(name="vc", product="test"),
        datacenters=[DatacenterRecord("dc-1", "DC")],
        clusters=[
            ClusterRecord("c-busy", "Busy", "dc-1", host_count=1),
            ClusterRecord(
                "c-calm", "Calm", "dc-1", host_count=1, overall_status="green" if fixed else "red"
            ),
        ],
        hosts=[
            HostRecord(
                "h-busy",
                "esx-busy",
                "dc-1",
                "c-busy",
                cpu_cores=4,
                memory_mib=16384,
                connection_state="connected",
                in_maintenance=False,
                overall_status="green" if fixed else "yellow",
            ),
            HostRecord(
                "h-calm",
                "esx-calm",
                "dc-1",
                "c-calm",
                cpu_cores=64,
                memory_mib=524288,
                connection_state="connected",
                in_maintenance=not fixed,
                datastore_external_ids=("ds-local", "ds-ok") if fixed else ("ds-ok",),
            ),
            HostRecord(
                "h-lonely",
                "esx-lonely",
                "dc-1",
                None,
                cpu_cores=2,
                memory_mib=65536,
                connection_state="connected" if fixed else "notResponding",
                in_maintenance=False,
            ),
        ],
        datastores=[
            DatastoreRecord(
                "ds-ok", "ds-ok", "dc-1", capacity_bytes=100 * GIB, free_bytes=50 * GIB
            ),
            DatastoreRecord(
                "ds-warn",
                "ds-warn",
                "dc-1",
                capacity_bytes=100 * GIB,
                free_bytes=(50 if fixed else 15) * GIB,
            ),
            DatastoreRecord(
                "ds-crit",
                "ds-crit",
                "dc-1",
                capacity_bytes=100 * GIB,
                free_bytes=(50 if fixed else 5) * GIB,
            ),
            DatastoreRecord("ds-unknown", "ds-unknown", "dc-1", capacity_bytes=None),
            DatastoreRecord("ds-gone", "ds-gone", "dc-1", accessible=fixed),
            DatastoreRecord(
                "ds-crowded",
                "ds-crowded",
                "dc-1",
                overall_status="gray" if fixed else "yellow",
            ),
            DatastoreRecord("ds-local", "ds-local", "dc-1"),
        ],
        vms=[*vms, *crowd],
        vm_disks=disks,
        vm_datastores=placements,
        vm_snapshots=snapshots,
        vm_devices=devices,
        vm_partitions=partitions,
    )


def _cd(vm: str, key: int, connected: bool | None, backing: str | None) -> VmDeviceRecord:
    return VmDeviceRecord(
        f"{vm}:{key}",
        vm,
        "cd",
        f"CD/DVD drive {key - 3001}",
        connected=connected,
        start_connected=connected,
        device_type=backing,
    )


def _vcenter_drives(fixed: bool) -> list[VmDeviceRecord]:
    """VM-CD has an ISO and a host's drive connected (fixed: the ISO is disconnected, the
    drive removed); nothing else counts: a drive holding an ISO but not connected, a USB
    device, a template's drive."""
    removable = (
        [] if fixed else [_cd("vm-cd", 3003, True, "/vmfs/devices/cdrom/mpx.vmhba0:C0:T0:L0")]
    )
    return [
        _cd("vm-cd", 3002, not fixed, "[ds-ok] iso/rhel-9.4.iso"),
        *removable,
        _cd("vm-cd", 3004, not fixed, None),  # a client device that names none
        _cd("vm-ok", 3002, False, "[ds-ok] iso/old.iso"),
        _cd("vm-ok", 3003, None, None),
        VmDeviceRecord("vm-ok:4000", "vm-ok", "usb", "USB 1", connected=True, device_type="key"),
        _cd("vm-template", 3002, True, "[ds-ok] iso/tools.iso"),
    ]


def _vcenter_partitions(fixed: bool) -> list[VmPartitionRecord]:
    """VM-FULL has a partition under 5 % free (critical) and one under 10 % (warning),
    VM-FILLING one at 9 % (warning); unknown sizes and full templates are no claim."""

    def part(vm: str, path: str, capacity: int | None, free: int | None) -> VmPartitionRecord:
        return VmPartitionRecord(f"{vm}:partition:{path}", vm, path, capacity, free)

    return [
        part("vm-full", "C:\\", 40 * GIB, (20 if fixed else 1) * GIB),
        part("vm-full", "D:\\", 100 * GIB, (50 if fixed else 8) * GIB),
        part("vm-full", "E:\\", 100 * GIB, 50 * GIB),
        part("vm-filling", "/boot", 1024 * MIB, (512 if fixed else 92) * MIB),
        part("vm-filling", "/", 20 * GIB, 15 * GIB),
        part("vm-ok", "/", 20 * GIB, 10 * GIB),
        part("vm-ok", "/data", None, 0),
        part("vm-ok", "/scratch", 0, 0),
        part("vm-ok", "/tmp", 10 * GIB, None),
        part("vm-template", "/", 20 * GIB, 0),
    ]


def hyperv_estate(*, fixed: bool = False) -> Snapshot:
    """Hyper-V failover cluster: integration services, node states and a CSV."""
    return Snapshot(
        source=SourceInfo(name="hv", product="test"),
        clusters=[ClusterRecord("hvc", "HVC", host_count=2)],
        hosts=[
            HostRecord(
                "node-1",
                "HV-NODE1",
                cluster_external_id="hvc",
                cpu_cores=32,
                memory_mib=262144,
                connection_state="up" if fixed else "down",
                in_maintenance=False,
            ),
            HostRecord(
                "node-2",
                "HV-NODE2",
                cluster_external_id="hvc",
                cpu_cores=32,
                memory_mib=262144,
                connection_state="up" if fixed else "paused",
                in_maintenance=not fixed,
            ),
        ],
        datastores=[
            DatastoreRecord(
                "csv-1",
                "Volume1",
                cluster_external_id="hvc",
                type="CSV",
                capacity_bytes=1000 * GIB,
                free_bytes=(500 if fixed else 80) * GIB,
            )
        ],
        vms=[
            VmRecord(
                "hv-silent",
                "hv-silent",
                cluster_external_id="hvc",
                host_external_id="node-1",
                power_state="on",
                num_cpu=2,
                memory_mib=4096,
                tools_status="Up to date" if fixed else None,
            ),
            VmRecord(
                "hv-off",
                "hv-off",
                cluster_external_id="hvc",
                host_external_id="node-1",
                power_state="off",
                num_cpu=2,
                memory_mib=4096,
                tools_status=None,
            ),
            VmRecord(
                "hv-old-is",
                "hv-old-is",
                cluster_external_id="hvc",
                host_external_id="node-2",
                power_state="on",
                num_cpu=2,
                memory_mib=4096,
                tools_status="Up to date" if fixed else "Update required",
                tools_version="6.3.9600.16384",
                hardware_version="5.0",  # Hyper-V's configuration version: no vmx-NN
            ),
        ],
        vm_devices=[
            VmDeviceRecord(
                "hv-old-is:dvd:ide:1:0",
                "hv-old-is",
                "cd",
                "DVD Drive on IDE controller number 1 at location 0",
                connected=not fixed,
                device_type=None if fixed else "C:\\ISO\\WindowsServer2022.ISO",
            ),
            VmDeviceRecord(
                "hv-silent:dvd:scsi:0:1",
                "hv-silent",
                "cd",
                "DVD Drive on SCSI controller number 0 at location 1",
                connected=False,
            ),
        ],
    )
