"""The VM sheets as RVTools names them: vInfo, vCPU, vMemory, vDisk, vNetwork, vSnapshot, vTools.

Each sheet has RVTools 4.x's columns in RVTools' order (docs/exports.md lists them with their
sources); a VM's custom attributes follow ``Annotation``, as in RVTools.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Select, func, select

from iroa.exports.columns import (
    INTEGRATION,
    PLATFORM,
    Attributes,
    Column,
    Getter,
    Sheet,
    first_ip,
    hyperv_only,
    ip_list,
    key,
    mib,
    natural_key,
    power,
    rvtools_columns,
    scoped,
    sockets,
    utc,
    vi_sdk_server,
    with_names,
)
from iroa.inventory import models as m

VM_TABLE = m.Vm.__table__


VM_REFS: tuple[tuple[str, type[m.InventoryRow]], ...] = (
    ("datacenter_id", m.Datacenter),
    ("cluster_id", m.Cluster),
    ("host_id", m.Host),
)


VM_FIELDS = (
    "name",
    "power_state",
    "is_template",
    "folder",
    "guest_os",
    "tools_guest_os",
    "external_id",
    "uuid",
    "instance_uuid",
    "notes",
)

VM_ATTRIBUTES = Attributes("vm", VM_TABLE, "Annotation")


def _vm_columns() -> list[Any]:
    return [VM_TABLE.c[f] for f in VM_FIELDS]


def _vms(integration_id: int | None, *extra: Any) -> Select[Any]:
    stmt = scoped(VM_TABLE, integration_id, *_vm_columns(), *extra)
    return with_names(stmt, VM_TABLE, *VM_REFS).order_by(VM_TABLE.c.name, VM_TABLE.c.id)


def vm_children(
    child: Any, integration_id: int | None, *columns: Any, order: Any = None
) -> Select[Any]:
    """Rows of a VM's disks, NICs or snapshots, each with its VM's columns."""
    stmt = scoped(child, integration_id, *columns, *_vm_columns())
    stmt = stmt.join(VM_TABLE, VM_TABLE.c.id == child.c.vm_id).where(
        VM_TABLE.c.removed_at.is_(None)
    )
    stmt = with_names(stmt, VM_TABLE, *VM_REFS)
    return stmt.order_by(VM_TABLE.c.name, VM_TABLE.c.id, order if order is not None else child.c.id)


VM_HEAD: dict[str, tuple[Getter, int]] = {
    "VM": (key("name"), 30),
    "Powerstate": (power("power_state"), 11),
    "Template": (key("is_template"), 9),
}
"""The columns every VM sheet starts with (vSnapshot has no ``Template``)."""


VM_TAIL: dict[str, tuple[Getter, int]] = {
    "Annotation": (key("notes"), 30),
    "Datacenter": (key("datacenter"), 16),
    "Cluster": (key("cluster"), 16),
    "Host": (key("host"), 24),
    "Folder": (key("folder"), 24),
    "OS according to the configuration file": (key("guest_os"), 30),
    "OS according to the VMware Tools": (key("tools_guest_os"), 30),
    "VM ID": (key("external_id"), 38),
    "VM UUID": (key("uuid"), 38),
    "VI SDK Server": (vi_sdk_server, 24),
}
"""The columns every VM sheet ends with, as RVTools has them."""

VM_TAIL_HEADERS = (
    "Annotation",
    "Datacenter",
    "Cluster",
    "Host",
    "Folder",
    "OS according to the configuration file",
    "OS according to the VMware Tools",
    "VM ID",
    "VM UUID",
    "VI SDK Server",
    "VI SDK UUID",
)
VM_TAIL_WITH_REF = (*VM_TAIL_HEADERS[:7], "VMRef", *VM_TAIL_HEADERS[7:])
"""vCD, vUSB and vTools carry a ``VMRef`` before ``VM ID``."""

EXTRA_TAIL = (PLATFORM, INTEGRATION)


def _count_by_vm(child: type[m.InventoryRow], *sums: Any) -> Any:
    table = child.__table__  # type: ignore[attr-defined]
    return (
        select(table.c.vm_id, func.count().label("n"), *sums)
        .where(table.c.removed_at.is_(None))
        .group_by(table.c.vm_id)
        .subquery()
    )


NIC_TABLE = m.VmNic.__table__


NETWORK_TABLE = m.Network.__table__


_FIELD = "\x1f"
_RECORD = "\x1e"
NETWORK_COLUMNS = 8
"""RVTools' ``Network #1`` … ``Network #8``."""


def _networks_by_vm() -> Any:
    """Each VM's NICs as one text of ``label, network`` pairs (ordered in Python)."""
    network = NETWORK_TABLE.alias()
    name = func.coalesce(network.c.name, NIC_TABLE.c.network_name, "")
    pair = NIC_TABLE.c.label + _FIELD + name
    return (
        select(NIC_TABLE.c.vm_id, func.aggregate_strings(pair, _RECORD).label("networks"))
        .outerjoin(network, network.c.id == NIC_TABLE.c.network_id)
        .where(NIC_TABLE.c.removed_at.is_(None))
        .group_by(NIC_TABLE.c.vm_id)
        .subquery()
    )


def network_number(number: int) -> Getter:
    """The network of a VM's ``number``-th NIC (1-based, in NIC label order)."""

    def value(row: Any) -> str | None:
        found: str | None = row._mapping["networks"]
        if not found:
            return None
        pairs = sorted(
            (tuple(item.split(_FIELD, 1)) for item in found.split(_RECORD)),
            key=lambda pair: natural_key(pair[0]),
        )
        if number > len(pairs):
            return None
        return pairs[number - 1][-1] or None

    return value


def _vinfo(integration_id: int | None) -> Select[Any]:
    disks = _count_by_vm(
        m.VmDisk, func.sum(m.VmDisk.__table__.c.capacity_bytes).label("capacity_bytes")
    )
    nics = _count_by_vm(m.VmNic)
    networks = _networks_by_vm()
    stmt = _vms(
        integration_id,
        VM_TABLE.c.num_cpu,
        VM_TABLE.c.memory_mib,
        VM_TABLE.c.guest_hostname,
        VM_TABLE.c.ip_addresses,
        VM_TABLE.c.tools_status,
        VM_TABLE.c.resource_pool,
        VM_TABLE.c.hardware_version,
        VM_TABLE.c.generation,
        VM_TABLE.c.provisioned_bytes,
        VM_TABLE.c.used_bytes,
        VM_TABLE.c.created_at,
        VM_TABLE.c.boot_time,
        VM_TABLE.c.connection_state,
        VM_TABLE.c.guest_state,
        VM_TABLE.c.heartbeat,
        VM_TABLE.c.firmware,
        VM_TABLE.c.config_path,
        VM_TABLE.c.video_ram_kib,
        VM_TABLE.c.num_monitors,
        func.coalesce(nics.c.n, 0).label("nics"),
        func.coalesce(disks.c.n, 0).label("disks"),
        disks.c.capacity_bytes.label("disk_capacity_bytes"),
        networks.c.networks,
    )
    return (
        stmt.outerjoin(nics, nics.c.vm_id == VM_TABLE.c.id)
        .outerjoin(disks, disks.c.vm_id == VM_TABLE.c.id)
        .outerjoin(networks, networks.c.vm_id == VM_TABLE.c.id)
    )


VINFO_HEADERS = (
    "VM",
    "Powerstate",
    "Template",
    "SRM Placeholder",
    "Config status",
    "DNS Name",
    "Connection state",
    "Guest state",
    "Heartbeat",
    "Consolidation Needed",
    "PowerOn",
    "Suspended To Memory",
    "Suspend time",
    "Suspend Interval",
    "Creation date",
    "Change Version",
    "CPUs",
    "Overall Cpu Readiness",
    "Memory",
    "Active Memory",
    "NICs",
    "Disks",
    "Total disk capacity MiB",
    "Fixed Passthru HotPlug",
    "min Required EVC Mode Key",
    "Latency Sensitivity",
    "Op Notification Timeout",
    "EnableUUID",
    "CBT",
    "Primary IP Address",
    *(f"Network #{n}" for n in range(1, NETWORK_COLUMNS + 1)),
    "Num Monitors",
    "Video Ram KiB",
    "Resource pool",
    "Folder ID",
    "Folder",
    "vApp",
    "DAS protection",
    "FT State",
    "FT Role",
    "FT Latency",
    "FT Bandwidth",
    "FT Sec. Latency",
    "Vm Failover In Progress",
    "Provisioned MiB",
    "In Use MiB",
    "Unshared MiB",
    "HA Restart Priority",
    "HA Isolation Response",
    "HA VM Monitoring",
    "Cluster rule(s)",
    "Cluster rule name(s)",
    "Boot Required",
    "Boot delay",
    "Boot retry delay",
    "Boot retry enabled",
    "Boot BIOS setup",
    "Reboot PowerOff",
    "EFI Secure boot",
    "Firmware",
    "HW version",
    "HW upgrade status",
    "HW upgrade policy",
    "HW target",
    "Path",
    "Log directory",
    "Snapshot directory",
    "Suspend directory",
    "Annotation",
    "Datacenter",
    "Cluster",
    "Host",
    "OS according to the configuration file",
    "OS according to the VMware Tools",
    "Customization Info",
    "Guest Detailed Data",
    "VM ID",
    "SMBIOS UUID",
    "VM UUID",
    "VI SDK Server type",
    "VI SDK API Version",
    "VI SDK Server",
    "VI SDK UUID",
)


VINFO = Sheet(
    "vInfo",
    rvtools_columns(
        VINFO_HEADERS,
        {
            **VM_HEAD,
            "DNS Name": (key("guest_hostname"), 24),
            "Connection state": (key("connection_state"), 11),
            "Guest state": (key("guest_state"), 11),
            "Heartbeat": (key("heartbeat"), 9),
            "PowerOn": (utc("boot_time"), 19),
            "Creation date": (utc("created_at"), 19),
            "CPUs": (key("num_cpu"), 6),
            "Memory": (key("memory_mib"), 9),
            "NICs": (key("nics"), 6),
            "Disks": (key("disks"), 6),
            "Total disk capacity MiB": (mib("disk_capacity_bytes"), 12),
            "Primary IP Address": (first_ip, 16),
            **{f"Network #{n}": (network_number(n), 18) for n in range(1, NETWORK_COLUMNS + 1)},
            "Num Monitors": (key("num_monitors"), 8),
            "Video Ram KiB": (key("video_ram_kib"), 9),
            "Resource pool": (key("resource_pool"), 24),
            "Folder": (key("folder"), 24),
            "Provisioned MiB": (mib("provisioned_bytes"), 12),
            "In Use MiB": (mib("used_bytes"), 12),
            "Firmware": (key("firmware"), 8),
            "HW version": (key("hardware_version"), 10),
            "Path": (key("config_path"), 40),
            **{h: VM_TAIL[h] for h in VM_TAIL if h != "Folder"},
        },
        Column("Instance UUID", key("instance_uuid"), 38),
        Column("Generation", hyperv_only(key("generation")), 10),
        *EXTRA_TAIL,
    ),
    _vinfo,
    VM_ATTRIBUTES,
)


VCPU_HEADERS = (
    "VM",
    "Powerstate",
    "Template",
    "SRM Placeholder",
    "CPUs",
    "Sockets",
    "Cores p/s",
    "Max",
    "Overall",
    "Level",
    "Shares",
    "Reservation",
    "Entitlement",
    "DRS Entitlement",
    "Limit",
    "Hot Add",
    "Hot Remove",
    "Numa Hotadd Exposed",
    *VM_TAIL_HEADERS,
)


VCPU = Sheet(
    "vCPU",
    rvtools_columns(
        VCPU_HEADERS,
        {
            **VM_HEAD,
            "CPUs": (key("num_cpu"), 6),
            "Sockets": (sockets, 8),
            "Cores p/s": (key("cores_per_socket"), 9),
            **VM_TAIL,
        },
        *EXTRA_TAIL,
    ),
    lambda i: _vms(i, VM_TABLE.c.num_cpu, VM_TABLE.c.cores_per_socket),
    VM_ATTRIBUTES,
)


VMEMORY_HEADERS = (
    "VM",
    "Powerstate",
    "Template",
    "SRM Placeholder",
    "Size MiB",
    "Memory Reservation Locked To Max",
    "Overhead",
    "Max",
    "Consumed",
    "Consumed Overhead",
    "Private",
    "Shared",
    "Swapped",
    "Ballooned",
    "Active",
    "Entitlement",
    "DRS Entitlement",
    "Level",
    "Shares",
    "Reservation",
    "Limit",
    "Hot Add",
    *VM_TAIL_HEADERS,
)


VMEMORY = Sheet(
    "vMemory",
    rvtools_columns(
        VMEMORY_HEADERS,
        {**VM_HEAD, "Size MiB": (key("memory_mib"), 10), **VM_TAIL},
        Column("Assigned MiB", hyperv_only(key("memory_assigned_mib")), 12),
        Column("Dynamic Memory", hyperv_only(key("memory_dynamic")), 9),
        Column("Minimum MiB", hyperv_only(key("memory_min_mib")), 12),
        Column("Maximum MiB", hyperv_only(key("memory_max_mib")), 12),
        *EXTRA_TAIL,
    ),
    lambda i: _vms(
        i,
        VM_TABLE.c.memory_mib,
        VM_TABLE.c.memory_assigned_mib,
        VM_TABLE.c.memory_dynamic,
        VM_TABLE.c.memory_min_mib,
        VM_TABLE.c.memory_max_mib,
    ),
    VM_ATTRIBUTES,
)


DISK_TABLE = m.VmDisk.__table__


DATASTORE_TABLE = m.Datastore.__table__


def _vdisk(integration_id: int | None) -> Select[Any]:
    datastore = DATASTORE_TABLE.alias()
    stmt = vm_children(
        DISK_TABLE,
        integration_id,
        DISK_TABLE.c.label,
        DISK_TABLE.c.external_id.label("disk_external_id"),
        DISK_TABLE.c.capacity_bytes,
        DISK_TABLE.c.used_bytes,
        DISK_TABLE.c.disk_mode,
        DISK_TABLE.c.thin_provisioned,
        DISK_TABLE.c.controller,
        DISK_TABLE.c.file_path,
        DISK_TABLE.c.disk_format,
        DISK_TABLE.c.disk_type,
        DISK_TABLE.c.unit_number,
        DISK_TABLE.c.raw,
        DISK_TABLE.c.raw_compatibility_mode,
        DISK_TABLE.c.sharing,
        DISK_TABLE.c.eagerly_scrub,
        DISK_TABLE.c.disk_uuid,
        datastore.c.name.label("datastore"),
        order=DISK_TABLE.c.label,
    )
    return stmt.outerjoin(datastore, datastore.c.id == DISK_TABLE.c.datastore_id)


def disk_key(row: Any) -> int | None:
    """A vCenter disk's device key: the last part of its id (``vm-12:2000``)."""
    if row._mapping["platform"] != "vcenter":
        return None
    found = str(row._mapping["disk_external_id"]).rpartition(":")[2]
    return int(found) if found.isdigit() else None


VDISK_HEADERS = (
    "VM",
    "Powerstate",
    "Template",
    "SRM Placeholder",
    "Disk",
    "Disk Key",
    "Disk UUID",
    "Disk Path",
    "Capacity MiB",
    "Raw",
    "Disk Mode",
    "Sharing mode",
    "Thin",
    "Eagerly Scrub",
    "Split",
    "Write Through",
    "Level",
    "Shares",
    "Reservation",
    "Limit",
    "Controller",
    "Label",
    "SCSI Unit #",
    "Unit #",
    "Shared Bus",
    "Path",
    "Raw LUN ID",
    "Raw Comp. Mode",
    "Internal Sort Column",
    *VM_TAIL_HEADERS,
)


VDISK = Sheet(
    "vDisk",
    rvtools_columns(
        VDISK_HEADERS,
        {
            **VM_HEAD,
            "Disk": (key("label"), 14),
            "Disk Key": (disk_key, 8),
            "Disk UUID": (key("disk_uuid"), 36),
            "Capacity MiB": (mib("capacity_bytes"), 12),
            "Raw": (key("raw"), 6),
            "Disk Mode": (key("disk_mode"), 18),
            "Sharing mode": (key("sharing"), 12),
            "Thin": (key("thin_provisioned"), 6),
            "Eagerly Scrub": (key("eagerly_scrub"), 8),
            "Controller": (key("controller"), 22),
            "Label": (key("label"), 14),
            "Unit #": (key("unit_number"), 6),
            "Path": (key("file_path"), 50),
            "Raw Comp. Mode": (key("raw_compatibility_mode"), 14),
            **VM_TAIL,
        },
        Column("Datastore", key("datastore"), 20),
        Column("Disk Format", key("disk_format"), 10),
        Column("Disk Type", key("disk_type"), 12),
        Column("Used MiB", mib("used_bytes"), 12),
        *EXTRA_TAIL,
    ),
    _vdisk,
    VM_ATTRIBUTES,
)


def _vnetwork(integration_id: int | None) -> Select[Any]:
    network = NETWORK_TABLE.alias()
    stmt = vm_children(
        NIC_TABLE,
        integration_id,
        NIC_TABLE.c.label,
        NIC_TABLE.c.adapter_type,
        func.coalesce(network.c.name, NIC_TABLE.c.network_name).label("network"),
        network.c.switch_name,
        NIC_TABLE.c.connected,
        NIC_TABLE.c.mac_address,
        NIC_TABLE.c.ip_addresses.label("ip_addresses"),
        order=NIC_TABLE.c.label,
    )
    return stmt.outerjoin(network, network.c.id == NIC_TABLE.c.network_id)


VNETWORK_HEADERS = (
    "VM",
    "Powerstate",
    "Template",
    "SRM Placeholder",
    "NIC label",
    "Adapter",
    "Network",
    "Switch",
    "Connected",
    "Starts Connected",
    "Mac Address",
    "Type",
    "IPv4 Address",
    "IPv6 Address",
    "Direct Path IO",
    "Internal Sort Column",
    *VM_TAIL_HEADERS,
)


VNETWORK = Sheet(
    "vNetwork",
    rvtools_columns(
        VNETWORK_HEADERS,
        {
            **VM_HEAD,
            "NIC label": (key("label"), 22),
            "Adapter": (key("adapter_type"), 12),
            "Network": (key("network"), 22),
            "Switch": (key("switch_name"), 18),
            "Connected": (key("connected"), 10),
            "Mac Address": (key("mac_address"), 18),
            "IPv4 Address": (ip_list(4), 16),
            "IPv6 Address": (ip_list(6), 26),
            **VM_TAIL,
        },
        *EXTRA_TAIL,
    ),
    _vnetwork,
    VM_ATTRIBUTES,
)


SNAPSHOT_TABLE = m.VmSnapshot.__table__


VSNAPSHOT_HEADERS = (
    "VM",
    "Powerstate",
    "Name",
    "Description",
    "Date / time",
    "Filename",
    "Size MiB (vmsn)",
    "Size MiB (total)",
    "Quiesced",
    "State",
    *VM_TAIL_HEADERS,
)


VSNAPSHOT = Sheet(
    "vSnapshot",
    rvtools_columns(
        VSNAPSHOT_HEADERS,
        {
            "VM": VM_HEAD["VM"],
            "Powerstate": VM_HEAD["Powerstate"],
            "Name": (key("snapshot_name"), 24),
            "Description": (key("description"), 30),
            "Date / time": (utc("created_at"), 19),
            "Size MiB (vmsn)": (mib("vmsn_bytes"), 10),
            "Size MiB (total)": (mib("snapshot_size_bytes"), 10),
            "State": (power("snapshot_power_state"), 11),
            **VM_TAIL,
        },
        Column("Current", key("is_current"), 8),
        *EXTRA_TAIL,
    ),
    lambda i: vm_children(
        SNAPSHOT_TABLE,
        i,
        SNAPSHOT_TABLE.c.name.label("snapshot_name"),
        SNAPSHOT_TABLE.c.description,
        SNAPSHOT_TABLE.c.created_at,
        SNAPSHOT_TABLE.c.power_state.label("snapshot_power_state"),
        SNAPSHOT_TABLE.c.is_current,
        SNAPSHOT_TABLE.c.vmsn_bytes,
        SNAPSHOT_TABLE.c.size_bytes.label("snapshot_size_bytes"),
        order=SNAPSHOT_TABLE.c.created_at,
    ),
    VM_ATTRIBUTES,
)


VTOOLS_HEADERS = (
    "VM",
    "Powerstate",
    "Template",
    "SRM Placeholder",
    "VM Version",
    "Tools",
    "Tools Version",
    "Required Version",
    "Upgradeable",
    "Upgrade Policy",
    "Sync time",
    "App status",
    "Heartbeat status",
    "Kernel Crash state",
    "Operation Ready",
    "State change support",
    "Interactive Guest",
    *VM_TAIL_WITH_REF,
)


VTOOLS = Sheet(
    "vTools",
    rvtools_columns(
        VTOOLS_HEADERS,
        {
            **VM_HEAD,
            "VM Version": (key("hardware_version"), 10),
            "Tools": (key("tools_status"), 16),
            "Tools Version": (key("tools_version"), 14),
            **VM_TAIL,
        },
        *EXTRA_TAIL,
    ),
    lambda i: _vms(
        i, VM_TABLE.c.hardware_version, VM_TABLE.c.tools_status, VM_TABLE.c.tools_version
    ),
    VM_ATTRIBUTES,
)
