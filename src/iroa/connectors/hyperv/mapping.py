"""Pure mapping of one inventory envelope to a :class:`~iroa.connectors.base.Snapshot`.

Identities: a VM is its ``Id`` GUID; a host its FQDN (a cluster node's is
``node.domain``, stable whether the node is up or down); a disk is
``<vm>:<controller type>:<number>:<location>``, a DVD drive
``<vm>:dvd:<controller type>:<number>:<location>``; a NIC ``<vm>:<adapter GUID>``
(its MAC if it has no id); a checkpoint its ``Id``; a cluster shared volume
its resource ``Id``; a local volume its ``UniqueId``; an SMB share
``smb:\\\\server\\share``. A virtual switch is its ``Id`` on a standalone host;
on a cluster every node carries its own switch of the same name (live
migration requires it), so there the network is ``<cluster id>:<switch name>``
— one network per cluster, as vCenter has one per port group name.

Readers in :mod:`~iroa.connectors.hyperv.envelope` make anything of an
unexpected shape None; nothing here should raise on data, and a VM that does
anyway is reported in the snapshot's warnings and left out. VMs with their disks,
DVD drives, NICs and checkpoints are mapped in :mod:`~iroa.connectors.hyperv.vm_mapping`.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import datetime

from iroa.connectors.base import (
    ClusterRecord,
    DatastoreRecord,
    HostRecord,
    NetworkRecord,
    SkippedObject,
    Snapshot,
    SourceInfo,
    VmNetworkRecord,
    VmRecord,
    skip_reason,
)
from iroa.connectors.hyperv.envelope import (
    Envelope,
    Item,
    as_datetime,
    as_guid,
    as_int,
    as_str,
    bytes_to_mib,
    code_or,
    enum_code,
    first_value,
    items,
)
from iroa.connectors.hyperv.index import (
    HostIndex,
)
from iroa.connectors.hyperv.resources import host_switches, map_datastores, map_networks
from iroa.connectors.hyperv.vm_mapping import (
    map_checkpoints,
    map_disks,
    map_dvd_drives,
    map_guest_facts,
    map_nics,
    map_vm,
    map_vm_datastores,
    vm_external_id,
)

PRODUCT = "Microsoft Hyper-V"
NODE_STATES = {0: "up", 1: "down", 2: "paused", 3: "joining", -1: "unknown"}
_DRAIN_STATES = {0: "NotInitiated", 1: "InProgress", 2: "Completed", 3: "Failed"}
_AUTO_BALANCER = {0: "disabled", 1: "onNodeJoin", 2: "always"}


def map_envelope(envelope: Envelope, now: datetime) -> Snapshot:
    """Everything one envelope describes; ``now`` stands in if the script sent no timestamp."""
    collected_at = as_datetime(first_value(envelope, "Get-Date")) or now
    cluster = map_cluster_identity(envelope)
    hosts = map_hosts(envelope, cluster)
    index = HostIndex.of(hosts)
    switches = host_switches(envelope, index)
    hosts = [replace(h, virtual_switches=switches.get(h.external_id, ())) for h in hosts]
    datastores, locator = map_datastores(envelope, index, cluster)
    adapters = items(envelope, "Get-VMNetworkAdapter")
    networks, switch_ids = map_networks(envelope, index, adapters)
    vm_items = [item for item in items(envelope, "Get-VM") if vm_external_id(item)]
    vm_ids = {vm_external_id(item) for item in vm_items}
    disks = map_disks(envelope, index, locator, vm_ids)
    nics = map_nics(adapters, index, switch_ids, vm_ids)
    guests = map_guest_facts(envelope, index)
    vms: list[VmRecord] = []
    skipped: list[SkippedObject] = []
    for item in vm_items:
        try:
            vms.append(map_vm(item, index, disks, nics, collected_at, guests))
        except Exception as exc:
            skipped.append(SkippedObject("vm", vm_external_id(item) or "", skip_reason(exc)))
    if skipped:
        # A VM left out takes its disks, NICs and checkpoints with it.
        vm_ids = {vm.external_id for vm in vms}
        vm_items = [item for item in vm_items if vm_external_id(item) in vm_ids]
        disks = [disk for disk in disks if disk.vm_external_id in vm_ids]
        nics = [nic for nic in nics if nic.vm_external_id in vm_ids]
    checkpoints = map_checkpoints(envelope, vm_items, vm_ids)
    dvd_drives = map_dvd_drives(envelope, vm_ids)
    vm_datastores = map_vm_datastores(vm_items, disks, index, locator)
    vm_networks = sorted(
        {
            (nic.vm_external_id, nic.network_external_id)
            for nic in nics
            if nic.network_external_id is not None
        }
    )
    clusters = [map_cluster(cluster, hosts)] if cluster else []
    return Snapshot(
        source=source_info(cluster, hosts, vms, datastores, networks),
        clusters=clusters,
        hosts=hosts,
        datastores=datastores,
        networks=networks,
        vms=vms,
        vm_disks=disks,
        vm_nics=nics,
        vm_snapshots=checkpoints,
        vm_devices=dvd_drives,
        vm_datastores=vm_datastores,
        vm_networks=[VmNetworkRecord(f"{vm}:{net}", vm, net) for vm, net in vm_networks],
        warnings=skipped,
    )


@dataclass(frozen=True, slots=True)
class ClusterIdentity:
    external_id: str
    name: str
    domain: str | None
    item: Item
    nodes: tuple[Item, ...]


def map_cluster_identity(envelope: Envelope) -> ClusterIdentity | None:
    """The failover cluster the script ran on, if any."""
    for item in items(envelope, "Get-Cluster"):
        name = as_str(item.get("Name"))
        external_id = as_guid(item.get("Id")) or (name.lower() if name else None)
        if external_id and name:
            nodes = tuple(node for node in items(envelope, "Get-ClusterNode") if node.get("Name"))
            return ClusterIdentity(external_id, name, as_str(item.get("Domain")), item, nodes)
    return None


def map_cluster(cluster: ClusterIdentity, hosts: list[HostRecord]) -> ClusterRecord:
    """A failover cluster with the totals of its nodes."""
    members = [host for host in hosts if host.cluster_external_id == cluster.external_id]
    balancer = as_int(cluster.item.get("AutoBalancerMode"))
    cores = [host.cpu_cores for host in members]
    mhz = [(host.cpu_cores or 0) * (host.cpu_mhz or 0) for host in members]
    return ClusterRecord(
        external_id=cluster.external_id,
        name=cluster.name,
        host_count=len(cluster.nodes),
        cpu_total_mhz=sum(mhz) if all(mhz) and mhz else None,
        cpu_cores=_sum_known(cores),
        cpu_threads=_sum_known(host.cpu_threads for host in members),
        memory_total_mib=_sum_known(host.memory_mib for host in members),
        # Every clustered role of a failover cluster restarts elsewhere when its node fails.
        ha_enabled=True,
        drs_enabled=None if balancer is None else balancer > 0,
        drs_behavior=_AUTO_BALANCER.get(balancer) if balancer is not None else None,
    )


def _sum_known(values: Iterable[int | None]) -> int | None:
    numbers = list(values)
    if not numbers or any(number is None for number in numbers):
        return None
    return sum(number for number in numbers if number is not None)


def map_hosts(envelope: Envelope, cluster: ClusterIdentity | None) -> list[HostRecord]:
    """Every cluster node (down ones too, from the cluster's view) and every standalone host."""
    vm_hosts = {
        _upper(item.get("ComputerName") or item.get("Name")): item
        for item in items(envelope, "Get-VMHost")
    }
    systems = {_upper(item.get("Name")): item for item in items(envelope, "Win32_ComputerSystem")}
    systems_os = {
        _upper(item.get("CSName")): item for item in items(envelope, "Win32_OperatingSystem")
    }
    processors: dict[str, list[Item]] = defaultdict(list)
    for item in items(envelope, "Win32_Processor"):
        processors[_upper(item.get("SystemName"))].append(item)
    hosts: list[HostRecord] = []
    seen: set[str] = set()
    for node in cluster.nodes if cluster else ():
        name = str(node.get("Name"))
        key = name.upper()
        fqdn = f"{name}.{cluster.domain}" if cluster and cluster.domain else name
        seen.add(key)
        hosts.append(
            _host_record(
                fqdn,
                vm_hosts.get(key),
                systems.get(key),
                systems_os.get(key),
                processors.get(key, []),
                cluster,
                node,
            )
        )
    for key, vm_host in vm_hosts.items():
        if key in seen:
            continue
        system = systems.get(key)
        fqdn = as_str(vm_host.get("FullyQualifiedDomainName")) or _system_fqdn(system) or key
        hosts.append(
            _host_record(
                fqdn, vm_host, system, systems_os.get(key), processors.get(key, []), None, None
            )
        )
    return hosts


def _system_fqdn(system: Item | None) -> str | None:
    if system is None:
        return None
    name = as_str(system.get("DNSHostName")) or as_str(system.get("Name"))
    domain = as_str(system.get("Domain"))
    return f"{name}.{domain}" if name and domain and "." in domain else name


def _host_record(
    fqdn: str,
    vm_host: Item | None,
    system: Item | None,
    system_os: Item | None,
    processors: list[Item],
    cluster: ClusterIdentity | None,
    node: Item | None,
) -> HostRecord:
    vm_host = vm_host or {}
    system = system or {}
    system_os = system_os or {}
    node_state = enum_code(node.get("State"), NODE_STATES) if node else None
    drain = enum_code(node.get("DrainStatus"), _DRAIN_STATES) if node else None
    answered = bool(vm_host)
    cores = [as_int(cpu.get("NumberOfCores")) for cpu in processors]
    return HostRecord(
        external_id=fqdn.lower(),
        name=fqdn,
        cluster_external_id=cluster.external_id if cluster else None,
        vendor=as_str(system.get("Manufacturer"))
        or (as_str(node.get("Manufacturer")) if node else None),
        model=as_str(system.get("Model")) or (as_str(node.get("Model")) if node else None),
        serial_number=as_str(node.get("SerialNumber")) if node else None,
        cpu_model=as_str(processors[0].get("Name")) if processors else None,
        cpu_sockets=len(processors) or as_int(system.get("NumberOfProcessors")),
        cpu_cores=_sum_known(cores) if cores else None,
        cpu_threads=as_int(vm_host.get("LogicalProcessorCount"))
        or as_int(system.get("NumberOfLogicalProcessors")),
        cpu_mhz=as_int(processors[0].get("MaxClockSpeed")) if processors else None,
        memory_mib=bytes_to_mib(vm_host.get("MemoryCapacity"))
        or bytes_to_mib(system.get("TotalPhysicalMemory")),
        hypervisor_name=as_str(system_os.get("Caption")),
        hypervisor_version=as_str(system_os.get("Version")),
        hypervisor_build=as_str(system_os.get("BuildNumber")),
        connection_state=(
            NODE_STATES.get(code_or(node_state), "unknown") if node else "up" if answered else None
        ),
        power_state="on" if answered else None,
        in_maintenance=(node_state == 2 or drain in (1, 2)) if node else None,
        boot_time=as_datetime(system_os.get("LastBootUpTime")),
    )


def source_info(
    cluster: ClusterIdentity | None,
    hosts: list[HostRecord],
    vms: list[VmRecord],
    datastores: list[DatastoreRecord],
    networks: list[NetworkRecord],
) -> SourceInfo:
    """What answered: the cluster or host, its Windows version and what it holds."""
    answered = next((host for host in hosts if host.hypervisor_version), None)
    return SourceInfo(
        name=cluster.name if cluster else hosts[0].name if hosts else "Hyper-V host",
        product=f"{PRODUCT} failover cluster" if cluster else PRODUCT,
        version=(answered.hypervisor_name or answered.hypervisor_version) if answered else None,
        build=answered.hypervisor_build if answered else None,
        object_counts={
            "hosts": len(hosts),
            "vms": len(vms),
            "datastores": len(datastores),
            "networks": len(networks),
        },
    )


def _upper(value: object) -> str:
    text = as_str(value)
    return text.upper() if text else ""
