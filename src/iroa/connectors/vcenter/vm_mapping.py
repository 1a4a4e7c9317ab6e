"""Pure mapping of one VM's properties to its VM, disk, NIC, snapshot, relation and tag records."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from functools import cache

from pyVmomi import vim

from iroa.connectors.base import (
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
from iroa.connectors.values import normalize_mac, sorted_ips
from iroa.connectors.vcenter.devices import Devices, NicFacts, facts_of
from iroa.connectors.vcenter.index import InventoryIndex
from iroa.connectors.vcenter.mapping import (
    as_bool,
    as_int,
    as_str,
    as_utc,
    map_custom_values,
    power_state,
)
from iroa.connectors.vcenter.retrieval import Props, moref_id

_KIB = 1024
# Resolved once: every attribute lookup on pyVmomi's lazy type modules costs a locked search.
_GuestNic = vim.vm.GuestInfo.NicInfo
_SnapshotInfo = vim.vm.SnapshotInfo
_SnapshotTree = vim.vm.SnapshotTree
_GuestDisk = vim.vm.GuestInfo.DiskInfo
_DiskMapping = vim.vm.GuestInfo.VirtualDiskMapping
_EXTERNAL_ID_LENGTH = 500


@dataclass(frozen=True, slots=True)
class VmRecords:
    """Everything one VM contributes to a snapshot."""

    vm: VmRecord
    disks: list[VmDiskRecord]
    nics: list[VmNicRecord]
    snapshots: list[VmSnapshotRecord]
    datastores: list[VmDatastoreRecord]
    networks: list[VmNetworkRecord]
    partitions: list[VmPartitionRecord]
    devices: list[VmDeviceRecord]
    tags: list[TagRecord]


def map_vm(object_id: str, props: Props, index: InventoryIndex) -> VmRecords:
    """All records of one VM or template."""
    devices = facts_of(props.get("config.hardware.device"))
    guest_nics = [nic for nic in _as_list(props.get("guest.net")) if isinstance(nic, _GuestNic)]
    return VmRecords(
        vm=map_vm_record(object_id, props, index, devices),
        disks=map_disks(object_id, devices),
        nics=map_nics(object_id, devices, guest_nics, index),
        snapshots=flatten_snapshots(object_id, props.get("snapshot")),
        datastores=[
            VmDatastoreRecord(f"{object_id}:{ds}", object_id, ds)
            for ds in _moref_ids(props.get("datastore"))
        ],
        networks=[
            VmNetworkRecord(f"{object_id}:{net}", object_id, net)
            for net in _moref_ids(props.get("network"))
        ],
        partitions=map_partitions(object_id, props.get("guest.disk")),
        devices=map_devices(object_id, devices),
        tags=map_custom_values("vm", object_id, props, index),
    )


def map_vm_record(
    object_id: str, props: Props, index: InventoryIndex, devices: Devices | None = None
) -> VmRecord:
    """The VM record itself (``devices``: its devices' facts, if already read)."""
    if devices is None:
        devices = facts_of(props.get("config.hardware.device"))
    video = devices.video
    parent_id = moref_id(props.get("parent"))
    pool_id = moref_id(props.get("resourcePool"))
    host_id = moref_id(props.get("runtime.host"))
    committed = as_int(props.get("summary.storage.committed"))
    uncommitted = as_int(props.get("summary.storage.uncommitted"))
    guest_ips = [props.get("guest.ipAddress")]
    for nic in _as_list(props.get("guest.net")):
        if isinstance(nic, _GuestNic):
            guest_ips.extend(nic.ipAddress or ())
    return VmRecord(
        external_id=object_id,
        name=as_str(props.get("name")) or object_id,
        datacenter_external_id=index.datacenter_of(parent_id) or index.datacenter_of(pool_id),
        cluster_external_id=index.host_clusters.get(host_id) if host_id else None,
        host_external_id=host_id,
        power_state=power_state(props.get("runtime.powerState")),
        is_template=as_bool(props.get("config.template")) or False,
        num_cpu=as_int(props.get("config.hardware.numCPU")),
        cores_per_socket=as_int(props.get("config.hardware.numCoresPerSocket")),
        memory_mib=as_int(props.get("config.hardware.memoryMB")),
        guest_os=as_str(props.get("config.guestFullName")),
        guest_id=as_str(props.get("config.guestId")),
        guest_hostname=as_str(props.get("guest.hostName")),
        ip_addresses=sorted_ips(guest_ips),
        tools_status=(
            as_str(props.get("guest.toolsStatus")) or as_str(props.get("guest.toolsRunningStatus"))
        ),
        tools_version=as_str(props.get("guest.toolsVersion")),
        uuid=as_str(props.get("config.uuid")),
        instance_uuid=as_str(props.get("config.instanceUuid")),
        resource_pool=index.path(pool_id),
        folder=index.path(parent_id),
        notes=as_str(props.get("config.annotation")),
        hardware_version=as_str(props.get("config.version")),
        provisioned_bytes=(
            committed + uncommitted if committed is not None and uncommitted is not None else None
        ),
        used_bytes=committed,
        created_at=as_utc(props.get("config.createDate")),
        boot_time=as_utc(props.get("runtime.bootTime")),
        overall_status=as_str(props.get("overallStatus")),
        tools_guest_os=as_str(props.get("guest.guestFullName")),
        guest_state=as_str(props.get("guest.guestState")),
        connection_state=as_str(props.get("runtime.connectionState")),
        heartbeat=as_str(props.get("guestHeartbeatStatus")),
        firmware=as_str(props.get("config.firmware")),
        config_path=as_str(props.get("config.files.vmPathName")),
        video_ram_kib=as_int(video.video_ram_kib) if video else None,
        num_monitors=as_int(video.displays) if video else None,
        consolidation_needed=as_bool(props.get("runtime.consolidationNeeded")),
        tools_version_status=as_str(props.get("guest.toolsVersionStatus2")),
        cpu_used_mhz=as_int(props.get("summary.quickStats.overallCpuUsage")),
        guest_memory_used_mib=as_int(props.get("summary.quickStats.guestMemoryUsage")),
        host_memory_used_mib=as_int(props.get("summary.quickStats.hostMemoryUsage")),
        uptime_s=as_int(props.get("summary.quickStats.uptimeSeconds")),
    )


def map_disks(vm_id: str, devices: Devices) -> list[VmDiskRecord]:
    """The virtual disks among a VM's devices, with their controller's label."""
    # The controllers' labels, by the device keys both decoders read as ints.
    labels = devices.labels
    disks: list[VmDiskRecord] = []
    for device in devices.disks:
        if as_int(device.key) is None:
            continue
        capacity = as_int(device.capacity_in_bytes)
        if capacity is None and (kib := as_int(device.capacity_in_kb)) is not None:
            capacity = kib * _KIB
        controller_key = as_int(device.controller_key)
        disks.append(
            VmDiskRecord(
                external_id=f"{vm_id}:{device.key}",
                vm_external_id=vm_id,
                label=as_str(device.label) or f"disk {device.key}",
                datastore_external_id=device.datastore if device.file_backed else None,
                capacity_bytes=capacity,
                file_path=as_str(device.file_name) if device.file_backed else None,
                thin_provisioned=as_bool(device.thin_provisioned),
                disk_mode=as_str(device.disk_mode),
                controller=(
                    as_str(labels.get(controller_key)) if controller_key is not None else None
                ),
                unit_number=as_int(device.unit_number),
                raw=device.raw,
                raw_compatibility_mode=as_str(device.compatibility_mode) if device.raw else None,
                sharing=as_str(device.sharing),
                eagerly_scrub=as_bool(device.eagerly_scrub),
                disk_uuid=as_str(device.uuid),
            )
        )
    return disks


def map_nics(
    vm_id: str,
    devices: Devices,
    guest_nics: list[_GuestNic],
    index: InventoryIndex,
) -> list[VmNicRecord]:
    """The network adapters among a VM's devices, with the guest's IPs of each."""
    nics: list[VmNicRecord] = []
    for device in devices.nics:
        if as_int(device.key) is None:
            continue
        mac = normalize_mac(device.mac_address)
        network_id, backing_name = _nic_network(device, index)
        nics.append(
            VmNicRecord(
                external_id=f"{vm_id}:{device.key}",
                vm_external_id=vm_id,
                label=as_str(device.label) or f"network adapter {device.key}",
                network_external_id=network_id,
                network_name=(index.network_names.get(network_id) if network_id else None)
                or backing_name,
                mac_address=mac,
                adapter_type=_adapter_type(device.class_name),
                connected=as_bool(device.connected),
                ip_addresses=sorted_ips(_guest_ips_of(device.key, mac, guest_nics)),
            )
        )
    return nics


def map_partitions(vm_id: str, disks: object) -> list[VmPartitionRecord]:
    """The guest's file systems as VMware Tools reports them (``guest.disk``), one per path."""
    partitions: dict[str, VmPartitionRecord] = {}
    for disk in _as_list(disks):
        if not isinstance(disk, _GuestDisk):
            continue
        path = as_str(disk.diskPath)
        if path is None or path in partitions:
            continue
        keys = [
            key
            for mapping in _as_list(disk.mappings)
            if isinstance(mapping, _DiskMapping) and (key := as_int(mapping.key)) is not None
        ]
        partitions[path] = VmPartitionRecord(
            external_id=_part_id(vm_id, "partition", path),
            vm_external_id=vm_id,
            disk_path=path,
            capacity_bytes=as_int(disk.capacity),
            free_bytes=as_int(disk.freeSpace),
            disk_key=keys[0] if keys else None,
        )
    return list(partitions.values())


def _part_id(vm_id: str, kind: str, name: str) -> str:
    """``vm-1:partition:C:\\``; a name too long for an external id is replaced by its digest."""
    found = f"{vm_id}:{kind}:{name}"
    if len(found) <= _EXTERNAL_ID_LENGTH:
        return found
    return f"{vm_id}:{kind}:sha256:{hashlib.sha256(name.encode()).hexdigest()}"


def map_devices(vm_id: str, devices: Devices) -> list[VmDeviceRecord]:
    """A VM's CD/DVD drives and USB devices; a USB device with its controller's settings."""
    records: list[VmDeviceRecord] = []
    for device in devices.media:
        if as_int(device.key) is None:
            continue
        kind = "usb" if device.usb else "cd"
        controller_key = as_int(device.controller_key)
        controller = devices.usb_controllers.get(controller_key) if device.usb else None
        records.append(
            VmDeviceRecord(
                external_id=f"{vm_id}:{device.key}",
                vm_external_id=vm_id,
                kind=kind,
                label=as_str(device.label) or f"{kind} {device.key}",
                connected=as_bool(device.connected),
                start_connected=as_bool(device.start_connected),
                device_type=as_str(device.backing_name),
                unit_number=as_int(device.unit_number),
                usb_family=", ".join(device.family) or None,
                usb_speed=", ".join(device.speed) or None,
                ehci_enabled=as_bool(controller.ehci_enabled) if controller else None,
                auto_connect=as_bool(controller.auto_connect) if controller else None,
                bus_number=as_int(controller.bus_number) if controller else None,
            )
        )
    return records


def _nic_network(device: NicFacts, index: InventoryIndex) -> tuple[str | None, str | None]:
    """The network id a NIC is attached to, and the name its backing states."""
    if device.port_backed:
        key = as_str(device.portgroup_key)
        return (index.portgroup_ids_by_key.get(key) if key else None), None
    return device.network, as_str(device.device_name)


def _guest_ips_of(device_key: object, mac: str | None, guest_nics: list[_GuestNic]) -> list[object]:
    """IPs the guest reports for one adapter: matched by device key, else by MAC."""
    ips: list[object] = []
    for nic in guest_nics:
        config_id = as_int(nic.deviceConfigId)
        if config_id is not None and config_id >= 0:
            matches = config_id == device_key
        else:
            matches = mac is not None and normalize_mac(nic.macAddress) == mac
        if matches:
            ips.extend(nic.ipAddress or ())
    return ips


@cache  # a handful of adapter classes
def _adapter_type(class_name: str) -> str:
    """``vim.vm.device.VirtualVmxnet3`` -> ``vmxnet3``; SR-IOV cards -> ``sriov``."""
    name = class_name.rsplit(".", 1)[-1]
    return name.removeprefix("Virtual").lower().removesuffix("ethernetcard")


def flatten_snapshots(vm_id: str, info: object) -> list[VmSnapshotRecord]:
    """The snapshot tree of a VM as a flat list, each with its parent's id."""
    if not isinstance(info, _SnapshotInfo):
        return []
    current_id = moref_id(info.currentSnapshot)
    records: list[VmSnapshotRecord] = []
    stack: list[tuple[object, str | None]] = [
        (tree, None) for tree in reversed(_as_list(info.rootSnapshotList))
    ]
    while stack:
        tree, parent_id = stack.pop()
        if not isinstance(tree, _SnapshotTree):
            continue
        snapshot_id = moref_id(tree.snapshot)
        if snapshot_id is None:
            continue
        records.append(
            VmSnapshotRecord(
                external_id=snapshot_id,
                vm_external_id=vm_id,
                name=as_str(tree.name) or snapshot_id,
                description=as_str(tree.description),
                created_at=as_utc(tree.createTime),
                parent_external_id=parent_id,
                is_current=snapshot_id == current_id,
                power_state=power_state(tree.state) if tree.state else None,
            )
        )
        stack.extend((child, snapshot_id) for child in reversed(_as_list(tree.childSnapshotList)))
    return records


def _moref_ids(values: object) -> list[str]:
    return sorted({ref for value in _as_list(values) if (ref := moref_id(value))})


def _as_list(value: object) -> list[object]:
    return list(value) if isinstance(value, list) else []
