"""A small mixed estate for the inventory API tests, written through the sync engine.

vCenter ``vc1``: datacenter DC1, clusters Prod (2 hosts) and Dev (1 host), a
standalone host, 2 datastores, 2 networks, 24 VMs and one template with disks,
NICs, snapshots, relations and tags. Hyper-V ``hv1``: failover cluster HVC with
2 nodes, a CSV, a switch and 6 VMs. ``resync_vcenter`` then modifies one VM
and removes another, so the change log has all three actions.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from datetime import UTC, datetime

from iroa.connectors.base import (
    ClusterRecord,
    DatacenterRecord,
    DatastoreRecord,
    HostRecord,
    NetworkRecord,
    Progress,
    Snapshot,
    SourceInfo,
    TagRecord,
    VmDatastoreRecord,
    VmDiskRecord,
    VmNetworkRecord,
    VmNicRecord,
    VmRecord,
    VmSnapshotRecord,
)
from iroa.db.base import utcnow
from iroa.db.engine import Database
from iroa.integrations.models import Integration
from iroa.sync.engine import run_sync
from iroa.sync.runs import SyncResult

GIB = 1 << 30
CREATED = datetime(2025, 6, 1, 12, 0, tzinfo=UTC)
VC_POWER = ("on", "on", "off", "suspended")  # by VM index modulo 4
VC_VMS = 24
HV_VMS = 6


class StaticConnector:
    """Hands the sync engine a prepared snapshot, as a connector would after collecting."""

    kind = "vcenter"

    def __init__(self, snapshot: Snapshot) -> None:
        self.snapshot = snapshot

    def check(self) -> SourceInfo:
        return self.snapshot.source

    def collect(self, progress: Progress) -> Snapshot:
        return self.snapshot


@dataclass(frozen=True)
class EstateIds:
    vcenter_id: int
    hyperv_id: int


def add_inventory_integration(db: Database, kind: str, name: str) -> int:
    """An integration row of ``kind``; the tests feed its snapshots, so no connector is needed."""
    with db.write_session() as session:
        integration = Integration(kind=kind, name=name, url=f"https://{name}.example", options={})
        session.add(integration)
        session.flush()
        return integration.id


def vc_vm_name(i: int) -> str:
    # Mixed case so that sorting and case-insensitive search are exercised.
    return f"App-{i:02d}" if i % 3 == 0 else f"web-{i:02d}"


def vcenter_snapshot(vm_overrides: dict[int, dict[str, object]] | None = None) -> Snapshot:
    overrides = vm_overrides or {}
    hosts = [
        HostRecord(
            "host-1",
            "esx1.prod",
            "dc-1",
            "c-prod",
            cpu_cores=16,
            memory_mib=262144,
            connection_state="connected",
            power_state="on",
            in_maintenance=False,
        ),
        HostRecord(
            "host-2",
            "esx2.prod",
            "dc-1",
            "c-prod",
            cpu_cores=16,
            memory_mib=262144,
            connection_state="connected",
            power_state="on",
            in_maintenance=True,
        ),
        HostRecord(
            "host-3",
            "esx3.dev",
            "dc-1",
            "c-dev",
            cpu_cores=8,
            memory_mib=131072,
            connection_state="connected",
            power_state="on",
            in_maintenance=False,
        ),
        HostRecord(
            "host-4",
            "esx4.standalone",
            "dc-1",
            None,
            cpu_cores=4,
            memory_mib=65536,
            connection_state="disconnected",
            power_state="unknown",
        ),
    ]
    vms = []
    disks, nics, snapshots, vm_datastores, vm_networks, tags = [], [], [], [], [], []
    for i in range(VC_VMS):
        host = ("host-1", "host-2", "host-3", "host-4")[i % 4]
        cluster = {"host-1": "c-prod", "host-2": "c-prod", "host-3": "c-dev"}.get(host)
        ext = f"vm-{i}"
        datastore = "ds-1" if i % 2 == 0 else "ds-2"
        network = "net-1" if i < 12 else "net-2"
        vm = VmRecord(
            external_id=ext,
            name=vc_vm_name(i),
            datacenter_external_id="dc-1",
            cluster_external_id=cluster,
            host_external_id=host,
            power_state=VC_POWER[i % 4],
            num_cpu=1 + i % 4,
            memory_mib=1024 * (1 + i % 8),
            guest_os="Ubuntu Linux (64-bit)" if i % 2 else "Microsoft Windows Server 2022",
            guest_hostname=f"host{i:02d}.corp.example",
            ip_addresses=(f"10.1.0.{i + 10}",) if VC_POWER[i % 4] == "on" else (),
            uuid=f"4211{i:04d}-aaaa-bbbb-cccc-0000000000{i:02d}",
            provisioned_bytes=(20 + i) * GIB,
            created_at=CREATED,
        )
        vms.append(dataclasses.replace(vm, **overrides.get(i, {})))  # type: ignore[arg-type]
        disks.append(
            VmDiskRecord(
                f"{ext}:2000",
                ext,
                "Hard disk 1",
                datastore,
                (20 + i) * GIB,
                f"[{datastore}] {ext}/{ext}.vmdk",
                thin_provisioned=True,
            )
        )
        nics.append(
            VmNicRecord(
                f"{ext}:4000",
                ext,
                "Network adapter 1",
                network,
                f"VM Network {network}",
                f"00:50:56:00:00:{i:02x}",
                "vmxnet3",
                True,
                vm.ip_addresses,
            )
        )
        vm_datastores.append(VmDatastoreRecord(f"{ext}:{datastore}", ext, datastore))
        vm_networks.append(VmNetworkRecord(f"{ext}:{network}", ext, network))
    template = VmRecord(
        "vm-t",
        "tmpl-ubuntu",
        "dc-1",
        "c-prod",
        "host-1",
        "off",
        is_template=True,
        num_cpu=2,
        memory_mib=2048,
    )
    vms.append(template)
    snapshots += [
        VmSnapshotRecord("vm-0:snap-1", "vm-0", "before upgrade", created_at=CREATED),
        VmSnapshotRecord(
            "vm-0:snap-2",
            "vm-0",
            "after upgrade",
            created_at=CREATED.replace(month=7),
            parent_external_id="vm-0:snap-1",
            is_current=True,
        ),
    ]
    tags += [
        TagRecord("vm:vm-0:101", "vm", "vm-0", "owner", "team-a"),
        TagRecord("vm:vm-0:102", "vm", "vm-0", "backup", "daily"),
        TagRecord("host:host-1:101", "host", "host-1", "rack", "R12"),
    ]
    return Snapshot(
        source=SourceInfo(name="vc1", product="test"),
        datacenters=[DatacenterRecord("dc-1", "DC1")],
        clusters=[
            ClusterRecord("c-prod", "Prod", "dc-1", host_count=2, ha_enabled=True),
            ClusterRecord("c-dev", "Dev", "dc-1", host_count=1, ha_enabled=False),
        ],
        hosts=hosts,
        datastores=[
            DatastoreRecord(
                "ds-1",
                "ds-ssd",
                "dc-1",
                type="VMFS",
                capacity_bytes=2000 * GIB,
                free_bytes=800 * GIB,
                accessible=True,
            ),
            DatastoreRecord(
                "ds-2",
                "ds-nfs",
                "dc-1",
                type="NFS",
                capacity_bytes=4000 * GIB,
                free_bytes=3000 * GIB,
                accessible=True,
            ),
        ],
        networks=[
            NetworkRecord("net-1", "VM Network", "dc-1", type="standard", vlan_id=10),
            NetworkRecord("net-2", "dvPG-Backend", "dc-1", type="distributed", vlan_id=20),
        ],
        vms=vms,
        vm_disks=disks,
        vm_nics=nics,
        vm_snapshots=snapshots,
        vm_datastores=vm_datastores,
        vm_networks=vm_networks,
        tags=tags,
    )


def hyperv_snapshot() -> Snapshot:
    vms = [
        VmRecord(
            external_id=f"hv-{i}",
            name=f"hv-vm{i}",
            cluster_external_id="hvc",
            host_external_id="node-1" if i % 2 == 0 else "node-2",
            power_state="on" if i < 4 else "off",
            num_cpu=2,
            memory_mib=4096,
            guest_hostname=f"hv-vm{i}.corp.example",
            ip_addresses=(f"192.168.5.{i + 1}",) if i < 4 else (),
            uuid=f"5a5a5a5a-0000-0000-0000-00000000000{i}",
            generation=2,
        )
        for i in range(HV_VMS)
    ]
    return Snapshot(
        source=SourceInfo(name="hv1", product="test"),
        clusters=[ClusterRecord("hvc", "HVC", host_count=2)],
        hosts=[
            HostRecord(
                "node-1",
                "HV-NODE1",
                cluster_external_id="hvc",
                cpu_cores=32,
                memory_mib=524288,
                power_state="on",
            ),
            HostRecord(
                "node-2",
                "HV-NODE2",
                cluster_external_id="hvc",
                cpu_cores=32,
                memory_mib=524288,
                power_state="on",
            ),
        ],
        datastores=[
            DatastoreRecord(
                "csv-1",
                "Volume1",
                cluster_external_id="hvc",
                type="CSV",
                capacity_bytes=8000 * GIB,
                free_bytes=5000 * GIB,
                accessible=True,
            ),
        ],
        networks=[NetworkRecord("sw-ext", "External", type="external")],
        vms=vms,
    )


def sync_snapshot(db: Database, integration_id: int, snapshot: Snapshot) -> SyncResult:
    result = run_sync(db, integration_id, StaticConnector(snapshot))
    assert result.succeeded, result.error
    return result


def build_estate(db: Database) -> EstateIds:
    """Both integrations, synced; vCenter twice so that it has modified and removed objects."""
    vcenter_id = add_inventory_integration(db, "vcenter", "vc1")
    hyperv_id = add_inventory_integration(db, "hyperv", "hv1")
    sync_snapshot(db, vcenter_id, vcenter_snapshot())
    sync_snapshot(db, hyperv_id, hyperv_snapshot())
    resync_vcenter(db, vcenter_id)
    return EstateIds(vcenter_id, hyperv_id)


REMOVED_VM = 23
RESIZED_VM = 1


def resync_vcenter(db: Database, vcenter_id: int) -> SyncResult:
    """VM 1 gets 8 vCPUs, VM 23 disappears (with its disk, NIC and relations)."""
    snapshot = vcenter_snapshot({RESIZED_VM: {"num_cpu": 8}})
    gone = f"vm-{REMOVED_VM}"
    snapshot = dataclasses.replace(
        snapshot,
        vms=[v for v in snapshot.vms if v.external_id != gone],
        vm_disks=[d for d in snapshot.vm_disks if d.vm_external_id != gone],
        vm_nics=[n for n in snapshot.vm_nics if n.vm_external_id != gone],
        vm_datastores=[r for r in snapshot.vm_datastores if r.vm_external_id != gone],
        vm_networks=[r for r in snapshot.vm_networks if r.vm_external_id != gone],
    )
    return sync_snapshot(db, vcenter_id, snapshot)


def now() -> datetime:
    return utcnow()
