"""The generated estate the benchmarks sync: a deterministic vCenter-like snapshot of any size,
a connector that hands it to the sync engine, and a throw-away PostgreSQL database."""

from __future__ import annotations

import random
import uuid
from collections.abc import Callable

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from iroa.connectors.base import (
    ClusterRecord,
    DatacenterRecord,
    DatastoreRecord,
    HostRecord,
    NetworkRecord,
    Progress,
    Snapshot,
    SourceInfo,
    VmDatastoreRecord,
    VmDiskRecord,
    VmNetworkRecord,
    VmNicRecord,
    VmRecord,
)
from iroa.connectors.spool import SpooledSnapshot, spool_whole

VMS_PER_HOST = 40
ROLES = ("app", "web", "db", "cache", "k8s-node", "batch", "ci-runner", "mail")
GIB = 1 << 30


class SnapshotConnector:
    """Hands the sync engine a generated snapshot as the vCenter connector hands what it
    read: kept on disk in parts, its containers, then 500 VMs at a time."""

    kind = "vcenter"

    def __init__(self, snapshot: Snapshot) -> None:
        self.snapshot = snapshot

    def check(self) -> SourceInfo:
        return self.snapshot.source

    def collect(self, progress: Progress) -> SpooledSnapshot:
        return spool_whole(self.snapshot)


def generate_estate(vm_count: int, seed: int = 42) -> Snapshot:
    """A deterministic vCenter-like estate of ``vm_count`` VMs."""
    rng = random.Random(seed)
    host_count = max(1, vm_count // VMS_PER_HOST)
    cluster_count = max(1, host_count // 16)
    datacenters = [DatacenterRecord(f"dc-{d}", f"DC{d}") for d in range(2)]
    clusters = [
        ClusterRecord(f"c-{c}", f"Cluster-{c:03d}", f"dc-{c % 2}", host_count=16)
        for c in range(cluster_count)
    ]
    hosts = [
        HostRecord(
            f"host-{h}",
            f"esx{h:04d}.example.com",
            f"dc-{(h % cluster_count) % 2}",
            f"c-{h % cluster_count}",
            cpu_cores=32,
            memory_mib=512 * 1024,
            power_state="on",
            connection_state="connected",
            cpu_used_mhz=(h * 331) % 60_000,
            memory_used_mib=(h * 7919) % (512 * 1024),
            uptime_s=(h * 86_413) % 40_000_000,
        )
        for h in range(host_count)
    ]
    datastores = [
        DatastoreRecord(
            f"ds-{s}",
            f"datastore-{s:03d}",
            f"dc-{s % 2}",
            type="VMFS",
            capacity_bytes=20_000 * GIB,
            free_bytes=8_000 * GIB,
            accessible=True,
        )
        for s in range(100)
    ]
    networks = [
        NetworkRecord(
            f"net-{n}", f"VLAN-{100 + n}", f"dc-{n % 2}", type="distributed", vlan_id=100 + n
        )
        for n in range(50)
    ]
    vms, disks, nics, vm_datastores, vm_networks = [], [], [], [], []
    for i in range(vm_count):
        h = rng.randrange(host_count)
        roll = rng.random()
        power = "on" if roll < 0.7 else "off" if roll < 0.95 else "suspended"
        name = f"{ROLES[i % len(ROLES)]}-{rng.randrange(1_000_000):06d}-{i}"
        ext = f"vm-{i}"
        ds = f"ds-{rng.randrange(100)}"
        net = f"net-{rng.randrange(50)}"
        ip = (f"10.{i >> 16}.{(i >> 8) & 255}.{i & 255}",) if power == "on" else ()
        vms.append(
            VmRecord(
                external_id=ext,
                name=name,
                datacenter_external_id=hosts[h].datacenter_external_id,
                cluster_external_id=hosts[h].cluster_external_id,
                host_external_id=f"host-{h}",
                power_state=power,
                num_cpu=rng.choice((1, 2, 2, 4, 4, 8, 16)),
                memory_mib=rng.choice((1024, 2048, 4096, 8192, 16384, 32768)),
                guest_os=rng.choice(("Ubuntu Linux (64-bit)", "Microsoft Windows Server 2022")),
                guest_hostname=f"{name}.corp.example.com",
                ip_addresses=ip,
                uuid=str(uuid.UUID(int=rng.getrandbits(128))),
                instance_uuid=str(uuid.UUID(int=rng.getrandbits(128))),
                folder="/vm/production",
                resource_pool="Resources",
                provisioned_bytes=rng.choice((40, 80, 200)) * GIB,
                # vCenter's quickStats (zeros while off), derived from i: the rng's draws
                # and so the rest of the estate stay as they were.
                cpu_used_mhz=(i * 37) % 3000 if power == "on" else 0,
                guest_memory_used_mib=(i * 53) % 8192 if power == "on" else 0,
                host_memory_used_mib=(i * 71) % 8192 if power == "on" else 0,
                uptime_s=(i * 997) % 10_000_000 if power == "on" else 0,
            )
        )
        disks.append(
            VmDiskRecord(
                f"{ext}:2000",
                ext,
                "Hard disk 1",
                ds,
                40 * GIB,
                f"[{ds}] {name}/{name}.vmdk",
                thin_provisioned=True,
            )
        )
        nics.append(
            VmNicRecord(
                f"{ext}:4000",
                ext,
                "Network adapter 1",
                net,
                None,
                f"00:50:56:{i >> 16:02x}:{(i >> 8) & 255:02x}:{i & 255:02x}",
                "vmxnet3",
                True,
                ip,
            )
        )
        vm_datastores.append(VmDatastoreRecord(f"{ext}:{ds}", ext, ds))
        vm_networks.append(VmNetworkRecord(f"{ext}:{net}", ext, net))
    return Snapshot(
        source=SourceInfo(name="bench", product="generated"),
        datacenters=datacenters,
        clusters=clusters,
        hosts=hosts,
        datastores=datastores,
        networks=networks,
        vms=vms,
        vm_disks=disks,
        vm_nics=nics,
        vm_datastores=vm_datastores,
        vm_networks=vm_networks,
    )


def postgres_database(admin_url: str) -> tuple[str, Callable[[], None]]:
    """A new database on the server of ``admin_url``: its URL, and how to drop it."""
    name = f"iroa_bench_{uuid.uuid4().hex[:8]}"
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))

    def drop() -> None:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()

    return make_url(admin_url).set(database=name).render_as_string(hide_password=False), drop
