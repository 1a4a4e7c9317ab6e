"""The sheets of an export: RVTools-like columns over the common model of both platforms.

Each :class:`Sheet` is one select over the present inventory (``removed_at IS
NULL``) and the columns that turn one of its rows into cells. Headers are the
ones RVTools uses where IROA's model has that column (so tools that import
RVTools workbooks, such as Azure Migrate, find them) and IROA's own, with the
unit in the header, where RVTools has none. ``Platform`` and ``Integration``
end every sheet; a value the platform does not have is left blank.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Protocol

from sqlalchemy import Connection, Select, func, select
from sqlalchemy.sql.elements import ColumnElement

from iroa.integrations.models import Integration
from iroa.inventory import models as m

MIB = 1 << 20
POWER_STATES = {"on": "poweredOn", "off": "poweredOff", "suspended": "suspended"}
"""IROA's power states (docs/model.md) as RVTools writes them, for Hyper-V VMs too."""

Getter = Callable[[Any], Any]


@dataclass(frozen=True)
class Column:
    """One column: its header, how to read its value from a row, and a typical width."""

    header: str
    value: Getter
    width: int = 12


@dataclass(frozen=True)
class Scope:
    """What an export covers: one integration (by id) or all, and the time checks run at."""

    integration_id: int | None
    now: datetime


class SheetSource(Protocol):
    """What the writers need of a sheet: its name, columns, a row total and the rows."""

    @property
    def name(self) -> str: ...

    @property
    def columns(self) -> tuple[Column, ...]: ...

    def count(self, conn: Connection, scope: Scope) -> int:
        """The progress total: rows to read."""
        ...

    def chunks(
        self, conn: Connection, scope: Scope, chunk_size: int
    ) -> Iterator[tuple[list[list[Any]], int]]:
        """Rows of cell values, a chunk at a time, each with how many rows it read."""
        ...


@dataclass(frozen=True)
class Sheet:
    """One sheet whose rows are those of one select, one row each."""

    name: str
    columns: tuple[Column, ...]
    build: Callable[[int | None], Select[Any]]
    """The rows' select, for one integration id or all (None)."""

    def count(self, conn: Connection, scope: Scope) -> int:
        inner = self.build(scope.integration_id).order_by(None).subquery()
        return int(conn.execute(select(func.count()).select_from(inner)).scalar_one())

    def chunks(
        self, conn: Connection, scope: Scope, chunk_size: int
    ) -> Iterator[tuple[list[list[Any]], int]]:
        stmt = self.build(scope.integration_id)
        result = conn.execution_options(yield_per=chunk_size).execute(stmt)
        for partition in result.partitions():
            yield (
                [[column.value(row) for column in self.columns] for row in partition],
                len(partition),
            )


def key(name: str) -> Getter:
    return lambda row: row._mapping[name]


def mib(name: str) -> Getter:
    """A byte count as whole MiB."""

    def value(row: Any) -> int | None:
        found = row._mapping[name]
        return None if found is None else round(found / MIB)

    return value


def utc(name: str) -> Getter:
    """A timestamp as a naive UTC datetime: Excel cells have no time zone."""

    def value(row: Any) -> datetime | None:
        found: datetime | None = row._mapping[name]
        if found is None or found.tzinfo is None:
            return found
        return found.astimezone(UTC).replace(tzinfo=None)

    return value


def power(name: str) -> Getter:
    return lambda row: POWER_STATES.get(row._mapping[name], row._mapping[name])


def hyperv_only(getter: Getter) -> Getter:
    return lambda row: getter(row) if row._mapping["platform"] == "hyperv" else None


def _first_ip(row: Any) -> str | None:
    addresses = row._mapping["ip_addresses"] or []
    return str(addresses[0]) if addresses else None


def _ips(version: int) -> Getter:
    def value(row: Any) -> str | None:
        found = [a for a in row._mapping["ip_addresses"] or [] if (":" in a) == (version == 6)]
        return ", ".join(found) or None

    return value


def _sockets(row: Any) -> int | None:
    cpus, per_socket = row._mapping["num_cpu"], row._mapping["cores_per_socket"]
    if not cpus or not per_socket:
        return None
    return int(cpus // per_socket)


def _cores_per_cpu(row: Any) -> int | None:
    cores, sockets = row._mapping["cpu_cores"], row._mapping["cpu_sockets"]
    if not cores or not sockets:
        return None
    return int(cores // sockets)


def _esx_version(row: Any) -> str | None:
    if row._mapping["platform"] != "vcenter" or not row._mapping["hypervisor_version"]:
        return None
    parts = [row._mapping["hypervisor_name"], row._mapping["hypervisor_version"]]
    if row._mapping["hypervisor_build"]:
        parts.append(f"build-{row._mapping['hypervisor_build']}")
    return " ".join(part for part in parts if part)


def _in_use_mib(row: Any) -> int | None:
    capacity: int | None = row._mapping["capacity_bytes"]
    free: int | None = row._mapping["free_bytes"]
    if capacity is None or free is None:
        return None
    return round((capacity - free) / MIB)


def free_percent(capacity: int | None, free: int | None) -> int | None:
    """Free space as a whole percentage of capacity, as RVTools shows it."""
    if not capacity or free is None:
        return None
    return round(free * 100 / capacity)


def _free_percent(row: Any) -> int | None:
    return free_percent(row._mapping["capacity_bytes"], row._mapping["free_bytes"])


PLATFORM = Column("Platform", key("platform"), 10)
INTEGRATION = Column("Integration", key("integration"), 16)


def _names(stmt: Select[Any], table: Any, *refs: tuple[str, type[m.InventoryRow]]) -> Select[Any]:
    """Add the names of the objects ``table`` references (``host_id`` → ``host``)."""
    for column, model in refs:
        target = model.__table__.alias()  # type: ignore[attr-defined]
        stmt = stmt.add_columns(target.c.name.label(column.removesuffix("_id")))
        stmt = stmt.outerjoin(target, target.c.id == table.c[column])
    return stmt


def scoped(
    table: Any, integration_id: int | None, *columns: ColumnElement[Any] | Any
) -> Select[Any]:
    """Present rows of ``table`` with their integration's name and platform."""
    stmt = (
        select(
            *columns,
            Integration.name.label("integration"),
            Integration.kind.label("platform"),
        )
        .select_from(table)
        .join(Integration, Integration.id == table.c.integration_id)
        .where(table.c.removed_at.is_(None))
    )
    if integration_id is not None:
        stmt = stmt.where(table.c.integration_id == integration_id)
    return stmt


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
    return _names(stmt, VM_TABLE, *VM_REFS).order_by(VM_TABLE.c.name, VM_TABLE.c.id)


def _vm_children(
    child: Any, integration_id: int | None, *columns: Any, order: Any = None
) -> Select[Any]:
    """Rows of a VM's disks, NICs or snapshots, each with its VM's columns."""
    stmt = scoped(child, integration_id, *columns, *_vm_columns())
    stmt = stmt.join(VM_TABLE, VM_TABLE.c.id == child.c.vm_id).where(
        VM_TABLE.c.removed_at.is_(None)
    )
    stmt = _names(stmt, VM_TABLE, *VM_REFS)
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
        Column("Primary IP Address", _first_ip, 16),
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
        Column("Sockets", _sockets, 8),
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
        Column("IPv4 Address", _ips(4), 16),
        Column("IPv6 Address", _ips(6), 26),
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

CLUSTER_TABLE = m.Cluster.__table__

VCLUSTER = Sheet(
    "vCluster",
    (
        Column("Name", key("name"), 20),
        Column("OverallStatus", key("overall_status"), 12),
        Column("NumHosts", key("host_count"), 9),
        Column("NumCpuCores", key("cpu_cores"), 11),
        Column("NumCpuThreads", key("cpu_threads"), 12),
        Column("TotalCpu MHz", key("cpu_total_mhz"), 12),
        Column("TotalMemory MiB", key("memory_total_mib"), 14),
        Column("HA enabled", key("ha_enabled"), 10),
        Column("DRS enabled", key("drs_enabled"), 11),
        Column("DRS default VM behavior", key("drs_behavior"), 18),
        Column("Datacenter", key("datacenter"), 16),
        Column("Object ID", key("external_id"), 20),
        PLATFORM,
        INTEGRATION,
    ),
    lambda i: _names(
        scoped(
            CLUSTER_TABLE,
            i,
            *(
                CLUSTER_TABLE.c[f]
                for f in (
                    "name",
                    "overall_status",
                    "host_count",
                    "cpu_cores",
                    "cpu_threads",
                    "cpu_total_mhz",
                    "memory_total_mib",
                    "ha_enabled",
                    "drs_enabled",
                    "drs_behavior",
                    "external_id",
                )
            ),
        ),
        CLUSTER_TABLE,
        ("datacenter_id", m.Datacenter),
    ).order_by(CLUSTER_TABLE.c.name, CLUSTER_TABLE.c.id),
)

HOST_TABLE = m.Host.__table__
HOST_FIELDS = (
    "name",
    "in_maintenance",
    "cpu_model",
    "cpu_mhz",
    "cpu_sockets",
    "cpu_cores",
    "cpu_threads",
    "memory_mib",
    "hypervisor_name",
    "hypervisor_version",
    "hypervisor_build",
    "connection_state",
    "power_state",
    "boot_time",
    "vendor",
    "model",
    "serial_number",
    "overall_status",
    "external_id",
)


def _vhost(integration_id: int | None) -> Select[Any]:
    vms = (
        select(
            VM_TABLE.c.host_id,
            func.count().label("vms"),
            func.sum(VM_TABLE.c.num_cpu).label("vcpus"),
            func.sum(VM_TABLE.c.memory_mib).label("vram_mib"),
        )
        .where(VM_TABLE.c.removed_at.is_(None), VM_TABLE.c.is_template.is_(False))
        .group_by(VM_TABLE.c.host_id)
        .subquery()
    )
    stmt = scoped(
        HOST_TABLE,
        integration_id,
        *(HOST_TABLE.c[f] for f in HOST_FIELDS),
        func.coalesce(vms.c.vms, 0).label("vms"),
        vms.c.vcpus,
        vms.c.vram_mib,
    ).outerjoin(vms, vms.c.host_id == HOST_TABLE.c.id)
    stmt = _names(stmt, HOST_TABLE, ("datacenter_id", m.Datacenter), ("cluster_id", m.Cluster))
    return stmt.order_by(HOST_TABLE.c.name, HOST_TABLE.c.id)


VHOST = Sheet(
    "vHost",
    (
        Column("Host", key("name"), 26),
        Column("Datacenter", key("datacenter"), 16),
        Column("Cluster", key("cluster"), 16),
        Column("in Maintenance Mode", key("in_maintenance"), 12),
        Column("CPU Model", key("cpu_model"), 36),
        Column("Speed", key("cpu_mhz"), 8),
        Column("# CPU", key("cpu_sockets"), 6),
        Column("Cores per CPU", _cores_per_cpu, 8),
        Column("# Cores", key("cpu_cores"), 8),
        Column("# Threads", key("cpu_threads"), 9),
        Column("# Memory", key("memory_mib"), 10),
        Column("# VMs", key("vms"), 7),
        Column("# vCPUs", key("vcpus"), 8),
        Column("vRAM", key("vram_mib"), 10),
        Column("ESX Version", _esx_version, 30),
        Column("Hypervisor", key("hypervisor_name"), 30),
        Column("Hypervisor Version", key("hypervisor_version"), 14),
        Column("Hypervisor Build", key("hypervisor_build"), 12),
        Column("Connection State", key("connection_state"), 14),
        Column("Power State", key("power_state"), 11),
        Column("Boot time", utc("boot_time"), 19),
        Column("Overall Status", key("overall_status"), 12),
        Column("Vendor", key("vendor"), 16),
        Column("Model", key("model"), 22),
        Column("Serial number", key("serial_number"), 16),
        Column("Object ID", key("external_id"), 20),
        PLATFORM,
        INTEGRATION,
    ),
    _vhost,
)


def _vdatastore(integration_id: int | None) -> Select[Any]:
    relation = m.VmDatastore.__table__
    vms = (
        select(relation.c.datastore_id, func.count().label("vms"))
        .where(relation.c.removed_at.is_(None))
        .group_by(relation.c.datastore_id)
        .subquery()
    )
    stmt = scoped(
        DATASTORE_TABLE,
        integration_id,
        *(
            DATASTORE_TABLE.c[f]
            for f in (
                "name",
                "accessible",
                "type",
                "file_system",
                "url",
                "capacity_bytes",
                "free_bytes",
                "provisioned_bytes",
                "maintenance_mode",
                "external_id",
            )
        ),
        func.coalesce(vms.c.vms, 0).label("vms"),
    ).outerjoin(vms, vms.c.datastore_id == DATASTORE_TABLE.c.id)
    stmt = _names(stmt, DATASTORE_TABLE, ("datacenter_id", m.Datacenter), ("cluster_id", m.Cluster))
    return stmt.order_by(DATASTORE_TABLE.c.name, DATASTORE_TABLE.c.id)


VDATASTORE = Sheet(
    "vDatastore",
    (
        Column("Name", key("name"), 24),
        Column("Accessible", key("accessible"), 10),
        Column("Type", key("type"), 8),
        Column("# VMs", key("vms"), 7),
        Column("Capacity MiB", mib("capacity_bytes"), 12),
        Column("Provisioned MiB", mib("provisioned_bytes"), 12),
        Column("In Use MiB", _in_use_mib, 12),
        Column("Free MiB", mib("free_bytes"), 12),
        Column("Free %", _free_percent, 7),
        Column("Cluster name", key("cluster"), 16),
        Column("URL", key("url"), 40),
        Column("File System", key("file_system"), 10),
        Column("Maintenance Mode", key("maintenance_mode"), 12),
        Column("Datacenter", key("datacenter"), 16),
        Column("Object ID", key("external_id"), 20),
        PLATFORM,
        INTEGRATION,
    ),
    _vdatastore,
)

INVENTORY_SHEETS: tuple[Sheet, ...] = (
    VINFO,
    VCPU,
    VMEMORY,
    VDISK,
    VNETWORK,
    VSNAPSHOT,
    VTOOLS,
    VCLUSTER,
    VHOST,
    VDATASTORE,
)
