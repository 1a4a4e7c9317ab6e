"""The VM sheets as RVTools names them: vInfo, vCPU, vMemory, vDisk, vNetwork, vSnapshot, vTools."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Select, func, select

from iroa.exports.columns import (
    INTEGRATION,
    PLATFORM,
    Column,
    Sheet,
    first_ip,
    hyperv_only,
    ip_list,
    key,
    mib,
    power,
    scoped,
    sockets,
    utc,
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
    "external_id",
    "uuid",
    "instance_uuid",
    "notes",
)


def _vm_columns() -> list[Any]:
    return [VM_TABLE.c[f] for f in VM_FIELDS]


def _vms(integration_id: int | None, *extra: Any) -> Select[Any]:
    stmt = scoped(VM_TABLE, integration_id, *_vm_columns(), *extra)
    return with_names(stmt, VM_TABLE, *VM_REFS).order_by(VM_TABLE.c.name, VM_TABLE.c.id)


def _vm_children(
    child: Any, integration_id: int | None, *columns: Any, order: Any = None
) -> Select[Any]:
    """Rows of a VM's disks, NICs or snapshots, each with its VM's columns."""
    stmt = scoped(child, integration_id, *columns, *_vm_columns())
    stmt = stmt.join(VM_TABLE, VM_TABLE.c.id == child.c.vm_id).where(
        VM_TABLE.c.removed_at.is_(None)
    )
    stmt = with_names(stmt, VM_TABLE, *VM_REFS)
    return stmt.order_by(VM_TABLE.c.name, VM_TABLE.c.id, order if order is not None else child.c.id)


VM_HEAD = (
    Column("VM", key("name"), 30),
    Column("Powerstate", power("power_state"), 11),
    Column("Template", key("is_template"), 9),
)


VM_TAIL = (
    Column("Annotation", key("notes"), 30),
    Column("Datacenter", key("datacenter"), 16),
    Column("Cluster", key("cluster"), 16),
    Column("Host", key("host"), 24),
    Column("Folder", key("folder"), 24),
    Column("OS according to the configuration file", key("guest_os"), 30),
    Column("VM ID", key("external_id"), 38),
    Column("VM UUID", key("uuid"), 38),
    PLATFORM,
    INTEGRATION,
)


def _count_by_vm(child: type[m.InventoryRow], *sums: Any) -> Any:
    table = child.__table__  # type: ignore[attr-defined]
    return (
        select(table.c.vm_id, func.count().label("n"), *sums)
        .where(table.c.removed_at.is_(None))
        .group_by(table.c.vm_id)
        .subquery()
    )


def _vinfo(integration_id: int | None) -> Select[Any]:
    disks = _count_by_vm(
        m.VmDisk, func.sum(m.VmDisk.__table__.c.capacity_bytes).label("capacity_bytes")
    )
    nics = _count_by_vm(m.VmNic)
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
        func.coalesce(nics.c.n, 0).label("nics"),
        func.coalesce(disks.c.n, 0).label("disks"),
        disks.c.capacity_bytes.label("disk_capacity_bytes"),
    )
    return stmt.outerjoin(nics, nics.c.vm_id == VM_TABLE.c.id).outerjoin(
        disks, disks.c.vm_id == VM_TABLE.c.id
    )


VINFO = Sheet(
    "vInfo",
    (
        *VM_HEAD,
        Column("DNS Name", key("guest_hostname"), 24),
        Column("PowerOn", utc("boot_time"), 19),
        Column("Creation date", utc("created_at"), 19),
        Column("CPUs", key("num_cpu"), 6),
        Column("Memory", key("memory_mib"), 9),
        Column("NICs", key("nics"), 6),
        Column("Disks", key("disks"), 6),
        Column("Total disk capacity MiB", mib("disk_capacity_bytes"), 12),
        Column("Primary IP Address", first_ip, 16),
        Column("Resource pool", key("resource_pool"), 24),
        Column("Provisioned MiB", mib("provisioned_bytes"), 12),
        Column("In Use MiB", mib("used_bytes"), 12),
        Column("HW version", key("hardware_version"), 10),
        Column("Generation", hyperv_only(key("generation")), 10),
        Column("Instance UUID", key("instance_uuid"), 38),
        *VM_TAIL,
    ),
    _vinfo,
)


VCPU = Sheet(
    "vCPU",
    (
        *VM_HEAD,
        Column("CPUs", key("num_cpu"), 6),
        Column("Sockets", sockets, 8),
        Column("Cores p/s", key("cores_per_socket"), 9),
        *VM_TAIL,
    ),
    lambda i: _vms(i, VM_TABLE.c.num_cpu, VM_TABLE.c.cores_per_socket),
)


VMEMORY = Sheet(
    "vMemory",
    (
        *VM_HEAD,
        Column("Size MiB", key("memory_mib"), 10),
        Column("Assigned MiB", hyperv_only(key("memory_assigned_mib")), 12),
        Column("Dynamic Memory", hyperv_only(key("memory_dynamic")), 9),
        Column("Minimum MiB", hyperv_only(key("memory_min_mib")), 12),
        Column("Maximum MiB", hyperv_only(key("memory_max_mib")), 12),
        *VM_TAIL,
    ),
    lambda i: _vms(
        i,
        VM_TABLE.c.memory_mib,
        VM_TABLE.c.memory_assigned_mib,
        VM_TABLE.c.memory_dynamic,
        VM_TABLE.c.memory_min_mib,
        VM_TABLE.c.memory_max_mib,
    ),
)


DISK_TABLE = m.VmDisk.__table__


DATASTORE_TABLE = m.Datastore.__table__


def _vdisk(integration_id: int | None) -> Select[Any]:
    datastore = DATASTORE_TABLE.alias()
    stmt = _vm_children(
        DISK_TABLE,
        integration_id,
        DISK_TABLE.c.label,
        DISK_TABLE.c.capacity_bytes,
        DISK_TABLE.c.used_bytes,
        DISK_TABLE.c.disk_mode,
        DISK_TABLE.c.thin_provisioned,
        DISK_TABLE.c.controller,
        DISK_TABLE.c.file_path,
        DISK_TABLE.c.disk_format,
        DISK_TABLE.c.disk_type,
        datastore.c.name.label("datastore"),
        order=DISK_TABLE.c.label,
    )
    return stmt.outerjoin(datastore, datastore.c.id == DISK_TABLE.c.datastore_id)


VDISK = Sheet(
    "vDisk",
    (
        *VM_HEAD,
        Column("Disk", key("label"), 14),
        Column("Capacity MiB", mib("capacity_bytes"), 12),
        Column("Disk Mode", key("disk_mode"), 18),
        Column("Thin", key("thin_provisioned"), 6),
        Column("Controller", key("controller"), 22),
        Column("Path", key("file_path"), 50),
        Column("Datastore", key("datastore"), 20),
        Column("Disk Format", key("disk_format"), 10),
        Column("Disk Type", key("disk_type"), 12),
        Column("Used MiB", mib("used_bytes"), 12),
        *VM_TAIL,
    ),
    _vdisk,
)


NIC_TABLE = m.VmNic.__table__


NETWORK_TABLE = m.Network.__table__


def _vnetwork(integration_id: int | None) -> Select[Any]:
    network = NETWORK_TABLE.alias()
    stmt = _vm_children(
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


VNETWORK = Sheet(
    "vNetwork",
    (
        *VM_HEAD,
        Column("NIC label", key("label"), 22),
        Column("Adapter", key("adapter_type"), 12),
        Column("Network", key("network"), 22),
        Column("Switch", key("switch_name"), 18),
        Column("Connected", key("connected"), 10),
        Column("Mac Address", key("mac_address"), 18),
        Column("IPv4 Address", ip_list(4), 16),
        Column("IPv6 Address", ip_list(6), 26),
        *VM_TAIL,
    ),
    _vnetwork,
)


SNAPSHOT_TABLE = m.VmSnapshot.__table__


VSNAPSHOT = Sheet(
    "vSnapshot",
    (
        Column("VM", key("name"), 30),
        Column("Powerstate", power("power_state"), 11),
        Column("Name", key("snapshot_name"), 24),
        Column("Description", key("description"), 30),
        Column("Date / time", utc("created_at"), 19),
        Column("State", power("snapshot_power_state"), 11),
        Column("Current", key("is_current"), 8),
        *VM_TAIL,
    ),
    lambda i: _vm_children(
        SNAPSHOT_TABLE,
        i,
        SNAPSHOT_TABLE.c.name.label("snapshot_name"),
        SNAPSHOT_TABLE.c.description,
        SNAPSHOT_TABLE.c.created_at,
        SNAPSHOT_TABLE.c.power_state.label("snapshot_power_state"),
        SNAPSHOT_TABLE.c.is_current,
        order=SNAPSHOT_TABLE.c.created_at,
    ),
)


VTOOLS = Sheet(
    "vTools",
    (
        *VM_HEAD,
        Column("VM Version", key("hardware_version"), 10),
        Column("Tools", key("tools_status"), 16),
        Column("Tools Version", key("tools_version"), 14),
        *VM_TAIL,
    ),
    lambda i: _vms(
        i, VM_TABLE.c.hardware_version, VM_TABLE.c.tools_status, VM_TABLE.c.tools_version
    ),
)
