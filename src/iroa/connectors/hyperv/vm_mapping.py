"""One envelope's VMs with their disks, DVD drives, NICs, checkpoints and relations."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

from iroa.connectors.base import (
    VmDatastoreRecord,
    VmDeviceRecord,
    VmDiskRecord,
    VmNicRecord,
    VmRecord,
    VmSnapshotRecord,
)
from iroa.connectors.hyperv.envelope import (
    Envelope,
    Item,
    as_bool,
    as_datetime,
    as_guid,
    as_int,
    as_list,
    as_str,
    as_timespan,
    as_version,
    bytes_to_mib,
    enum_code,
    items,
)
from iroa.connectors.hyperv.index import (
    DatastoreLocator,
    HostIndex,
    SwitchIndex,
    network_of_adapter,
)
from iroa.connectors.values import normalize_mac as shared_normalize_mac
from iroa.connectors.values import sorted_ips
from iroa.text import storable

VM_STATES = {
    1: "Other",
    2: "Running",
    3: "Off",
    4: "Stopping",
    6: "Saved",
    9: "Paused",
    10: "Starting",
    11: "Reset",
    32773: "Saving",
    32776: "Pausing",
    32777: "Resuming",
    32779: "FastSaved",
    32780: "FastSaving",
    32781: "ForceShutdown",
    32782: "ForceReboot",
}
_POWER_STATES = {2: "on", 3: "off", 6: "suspended", 9: "suspended"}
CONTROLLER_TYPES = {0: "IDE", 1: "SCSI", 2: "PMEM"}
VHD_FORMATS = {2: "VHD", 3: "VHDX", 4: "VHDSet"}
VHD_TYPES = {2: "Fixed", 3: "Dynamic", 4: "Differencing"}
DVD_MEDIA_TYPES = {0: "None", 1: "ISO", 2: "PassThrough"}
"""``Get-VMDvdDrive``'s ``DvdMediaType``: the script sends the name; a code is read too."""
_THIN_VHD_TYPES = (3, 4)


FIRMWARE_BY_GENERATION = {1: "bios", 2: "efi"}
"""A VM's generation as vSphere names its firmware (``config.firmware``): generation 1 boots
BIOS, generation 2 UEFI."""


def power_state(state: object, state_name: object = None) -> str:
    """Get-VM's ``State`` as ``on``/``off``/``suspended``; any other or unknown one: ``unknown``."""
    code = enum_code(state, VM_STATES)
    if code is None:
        code = enum_code(state_name, VM_STATES)
    return _POWER_STATES.get(code, "unknown") if code is not None else "unknown"


def normalize_mac(value: object) -> str | None:
    """A MAC address as ``aa:bb:cc:dd:ee:ff`` (Hyper-V renders ``00155D0A1B01``)."""
    mac = shared_normalize_mac(value)
    # All zeros: a dynamic MAC not yet assigned (the VM never started).
    return None if mac == "00:00:00:00:00:00" else mac


def vm_external_id(item: Item) -> str | None:
    """A VM's identity: its Id GUID in lower case."""
    return as_guid(item.get("Id")) or as_guid(item.get("VMId"))


def map_disks(
    envelope: Envelope, index: HostIndex, locator: DatastoreLocator, vm_ids: set[str | None]
) -> list[VmDiskRecord]:
    """Virtual hard disk drives with their VHD's format, type and sizes."""
    vhds: dict[tuple[str | None, str], Item] = {}
    for item in items(envelope, "Get-VHD"):
        vhd_path = as_str(item.get("Path"))
        if vhd_path:
            vhd_host = index.resolve(item.get("ComputerName"))
            vhds.setdefault((vhd_host, vhd_path.lower()), item)
            vhds.setdefault((None, vhd_path.lower()), item)
    disks: list[VmDiskRecord] = []
    for drive in items(envelope, "Get-VMHardDiskDrive"):
        vm_id = as_guid(drive.get("VMId"))
        if vm_id is None or vm_id not in vm_ids:
            continue
        code = enum_code(drive.get("ControllerType"), CONTROLLER_TYPES)
        controller_type = CONTROLLER_TYPES.get(code, str(code)) if code is not None else "unknown"
        number = as_int(drive.get("ControllerNumber"))
        location = as_int(drive.get("ControllerLocation"))
        host_id = index.resolve(drive.get("ComputerName"))
        passthrough = as_int(drive.get("DiskNumber")) is not None
        path = None if passthrough else as_str(drive.get("Path"))
        vhd: Item | None = None
        if path:
            vhd = vhds.get((host_id, path.lower())) or vhds.get((None, path.lower()))
        vhd_type = enum_code(vhd.get("VhdType"), VHD_TYPES) if vhd else None
        vhd_format = enum_code(vhd.get("VhdFormat"), VHD_FORMATS) if vhd else None
        disks.append(
            VmDiskRecord(
                external_id=f"{vm_id}:{controller_type.lower()}:{number}:{location}",
                vm_external_id=vm_id,
                label=as_str(drive.get("Name")) or f"{controller_type} {number}:{location}",
                datastore_external_id=locator.locate(path, host_id) if path else None,
                capacity_bytes=as_int(vhd.get("Size")) if vhd else None,
                file_path=path,
                thin_provisioned=None if vhd_type is None else vhd_type in _THIN_VHD_TYPES,
                used_bytes=as_int(vhd.get("FileSize")) if vhd else None,
                disk_format=VHD_FORMATS.get(vhd_format) if vhd_format is not None else None,
                disk_type="PassThrough"
                if passthrough
                else VHD_TYPES.get(vhd_type)
                if vhd_type is not None
                else None,
                controller=f"{controller_type} {number}" if number is not None else controller_type,
                raw=passthrough,
            )
        )
    return disks


def map_dvd_drives(envelope: Envelope, vm_ids: set[str | None]) -> list[VmDeviceRecord]:
    """DVD drives as CD/DVD devices (the vCD sheet, the ``vm_cdrom_connected`` rule).

    A drive is connected while it holds media (an ISO file or the host's drive,
    whose path is its ``device_type``) and not while empty; an unknown media type
    says neither. Hyper-V has no "connected at power on": media stay in the drive.
    """
    records: list[VmDeviceRecord] = []
    for drive in items(envelope, "Get-VMDvdDrive"):
        vm_id = as_guid(drive.get("VMId"))
        if vm_id is None or vm_id not in vm_ids:
            continue
        code = enum_code(drive.get("ControllerType"), CONTROLLER_TYPES)
        controller_type = CONTROLLER_TYPES.get(code, str(code)) if code is not None else "unknown"
        number = as_int(drive.get("ControllerNumber"))
        location = as_int(drive.get("ControllerLocation"))
        media = enum_code(drive.get("DvdMediaType"), DVD_MEDIA_TYPES)
        holds_media = None if media not in DVD_MEDIA_TYPES else media != 0
        records.append(
            VmDeviceRecord(
                external_id=f"{vm_id}:dvd:{controller_type.lower()}:{number}:{location}",
                vm_external_id=vm_id,
                kind="cd",
                label=as_str(drive.get("Name"))
                or f"DVD Drive on {controller_type} {number}:{location}",
                connected=holds_media,
                device_type=as_str(drive.get("Path")) if holds_media else None,
                unit_number=location,
            )
        )
    return records


def map_nics(
    adapters: list[Item],
    index: HostIndex,
    switch_ids: SwitchIndex,
    vm_ids: set[str | None],
) -> list[VmNicRecord]:
    """VM network adapters; the network is the switch they are connected to."""
    nics: list[VmNicRecord] = []
    for adapter in adapters:
        vm_id = as_guid(adapter.get("VMId"))
        if vm_id is None or vm_id not in vm_ids:
            continue
        mac = normalize_mac(adapter.get("MacAddress"))
        adapter_id = as_str(adapter.get("Id"))
        key = adapter_id.rsplit("\\", 1)[-1].lower() if adapter_id else mac
        if key is None:
            continue
        network_id = network_of_adapter(adapter, index, switch_ids)
        nics.append(
            VmNicRecord(
                external_id=f"{vm_id}:{key}",
                vm_external_id=vm_id,
                label=as_str(adapter.get("Name")) or "Network Adapter",
                network_external_id=network_id,
                network_name=as_str(adapter.get("SwitchName")),
                mac_address=mac,
                adapter_type="legacy" if as_bool(adapter.get("IsLegacy")) else "synthetic",
                connected=as_bool(adapter.get("Connected")),
                ip_addresses=sorted_ips(as_list(adapter.get("IPAddresses"))),
            )
        )
    return nics


def map_checkpoints(
    envelope: Envelope, vm_items: list[Item], vm_ids: set[str | None]
) -> list[VmSnapshotRecord]:
    """Checkpoints with their parent; the current one is the VM's ``ParentSnapshotId``."""
    current = {vm_external_id(vm): as_guid(vm.get("ParentSnapshotId")) for vm in vm_items}
    records: list[VmSnapshotRecord] = []
    for checkpoint in items(envelope, "Get-VMSnapshot"):
        vm_id = as_guid(checkpoint.get("VMId"))
        checkpoint_id = as_guid(checkpoint.get("Id"))
        if vm_id is None or checkpoint_id is None or vm_id not in vm_ids:
            continue
        records.append(
            VmSnapshotRecord(
                external_id=checkpoint_id,
                vm_external_id=vm_id,
                name=as_str(checkpoint.get("Name")) or checkpoint_id,
                created_at=as_datetime(checkpoint.get("CreationTime")),
                parent_external_id=as_guid(checkpoint.get("ParentSnapshotId")),
                is_current=current.get(vm_id) == checkpoint_id,
            )
        )
    return records


GUEST_KEYS = ("OSName", "OSVersion", "FullyQualifiedDomainName")
"""The key-value exchange items the script reads of each VM's guest."""
_GUEST_TEXT_LIMITS = {"OSName": 500, "OSVersion": 200, "FullyQualifiedDomainName": 500}
"""The lengths of the columns they are stored in (guest_os, guest_os_version, guest_hostname)."""


@dataclass(frozen=True, slots=True)
class GuestFacts:
    """What a VM's guest reports through the integration services' key-value exchange."""

    os_name: str | None = None
    os_version: str | None = None
    hostname: str | None = None


GuestIndex = dict[tuple[str | None, str], GuestFacts]
"""``(host id, VM id)`` and ``(None, VM id)`` -> the guest facts read on that host."""


def map_guest_facts(envelope: Envelope, index: HostIndex) -> GuestIndex:
    """Each VM's guest facts (``Msvm_KvpExchangeComponent``); VMs without any are left out.

    The facts come from the guest, so they are kept within their columns' lengths and
    without the characters no database stores; an item of another shape is skipped.
    """
    guests: GuestIndex = {}
    for component in items(envelope, "Msvm_KvpExchangeComponent"):
        vm_id = as_guid(component.get("SystemName"))
        if vm_id is None:
            continue
        exchanged = _exchange_items(component.get("GuestIntrinsicExchangeItems"))
        facts = GuestFacts(
            *(guest_text(exchanged.get(key), _GUEST_TEXT_LIMITS[key]) for key in GUEST_KEYS)
        )
        if facts == GuestFacts():
            continue
        guests.setdefault((index.resolve(component.get("ComputerName")), vm_id), facts)
        guests.setdefault((None, vm_id), facts)
    return guests


def _exchange_items(value: object) -> Mapping[str, object]:
    """Key-value exchange items as an object (``{"OSName": …}``, as the script writes them)
    or as a list of ``{"Name": …, "Data": …}`` items (the class's own shape)."""
    if isinstance(value, Mapping):
        return value
    pairs: dict[str, object] = {}
    for entry in as_list(value):
        if isinstance(entry, Mapping) and isinstance(entry.get("Name"), str):
            pairs.setdefault(entry["Name"], entry.get("Data"))
    return pairs


def guest_text(value: object, limit: int) -> str | None:
    """Text a guest reported, storable (no NUL, no lone surrogate) and at most ``limit``
    characters, else None."""
    text = as_str(value)
    if text is None:
        return None
    return storable(text)[:limit].strip() or None


def map_vm(
    item: Item,
    index: HostIndex,
    disks: list[VmDiskRecord],
    nics: list[VmNicRecord],
    collected_at: datetime,
    guests: GuestIndex | None = None,
) -> VmRecord:
    """One VM; memory_mib is ``MemoryStartup``, so it does not drop to 0 while the VM is off.

    The guest facts (``guests``) are those read on the VM's host, else on any host.
    """
    vm_id = vm_external_id(item) or ""
    host_id = index.resolve(item.get("ComputerName"))
    own_disks = [disk for disk in disks if disk.vm_external_id == vm_id]
    dynamic = as_bool(item.get("DynamicMemoryEnabled"))
    guests = guests or {}
    guest = guests.get((host_id, vm_id)) or guests.get((None, vm_id)) or GuestFacts()
    return VmRecord(
        external_id=vm_id,
        name=as_str(item.get("Name")) or as_str(item.get("VMName")) or vm_id,
        cluster_external_id=index.cluster_of(host_id),
        host_external_id=host_id,
        power_state=power_state(item.get("State"), item.get("StateName")),
        num_cpu=as_int(item.get("ProcessorCount")),
        memory_mib=bytes_to_mib(item.get("MemoryStartup")),
        memory_assigned_mib=bytes_to_mib(item.get("MemoryAssigned")),
        memory_dynamic=dynamic,
        # Static memory still reports Hyper-V's defaults (512 MiB-1 TiB): meaningless there.
        memory_min_mib=bytes_to_mib(item.get("MemoryMinimum")) if dynamic else None,
        memory_max_mib=bytes_to_mib(item.get("MemoryMaximum")) if dynamic else None,
        guest_os=guest.os_name,
        guest_os_version=guest.os_version,
        guest_hostname=guest.hostname,
        ip_addresses=sorted_ips(
            ip for nic in nics if nic.vm_external_id == vm_id for ip in nic.ip_addresses
        ),
        tools_status=as_str(item.get("IntegrationServicesState")),
        tools_version=as_version(item.get("IntegrationServicesVersion")),
        instance_uuid=vm_id,
        notes=as_str(item.get("Notes")),
        hardware_version=as_version(item.get("Version")),
        generation=as_int(item.get("Generation")),
        firmware=FIRMWARE_BY_GENERATION.get(as_int(item.get("Generation")) or 0),
        is_clustered=as_bool(item.get("IsClustered")),
        provisioned_bytes=_sum_present(disk.capacity_bytes for disk in own_disks),
        used_bytes=_sum_present(disk.used_bytes for disk in own_disks),
        created_at=as_datetime(item.get("CreationTime")),
        boot_time=boot_time(collected_at, as_timespan(item.get("Uptime"))),
    )


def boot_time(collected_at: datetime, uptime: timedelta | None) -> datetime | None:
    """When a running VM booted, to the minute: stable from one sync to the next, unlike uptime."""
    if uptime is None or uptime <= timedelta(0):
        return None
    booted = collected_at - uptime + timedelta(seconds=30)
    return booted.replace(second=0, microsecond=0)


def map_vm_datastores(
    vm_items: list[Item], disks: list[VmDiskRecord], index: HostIndex, locator: DatastoreLocator
) -> list[VmDatastoreRecord]:
    pairs = {(disk.vm_external_id, disk.datastore_external_id) for disk in disks}
    for item in vm_items:
        host_id = index.resolve(item.get("ComputerName"))
        location = item.get("ConfigurationLocation") or item.get("Path")
        pairs.add((vm_external_id(item) or "", locator.locate(location, host_id)))
    known = sorted((vm, ds) for vm, ds in pairs if ds)
    return [VmDatastoreRecord(f"{vm}:{ds}", vm, ds) for vm, ds in known]


def _sum_present(values: Iterable[int | None]) -> int | None:
    """The sum of the values that are known (pass-through disks have no size), else None."""
    numbers = [number for number in values if number is not None]
    return sum(numbers) if numbers else None
