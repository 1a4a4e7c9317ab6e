"""The sheets of an export: RVTools-like columns over the common model of both platforms.

Each :class:`Sheet` is one select over the present inventory (``removed_at IS
NULL``) and the columns that turn one of its rows into cells. Headers are the
ones RVTools uses where IROA's model has that column (so tools that import
RVTools workbooks, such as Azure Migrate, find them) and IROA's own, with the
unit in the header, where RVTools has none. ``Platform`` and ``Integration``
end every sheet; a value the platform does not have is left blank.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Select, func, select

from iroa.exports.columns import (
    INTEGRATION,
    PLATFORM,
    Column,
    Sheet,
    cores_per_cpu,
    esx_version,
    free_percent_of,
    in_use_mib,
    key,
    mib,
    scoped,
    utc,
    with_names,
)
from iroa.exports.vm_sheets import (
    DATASTORE_TABLE,
    VCPU,
    VDISK,
    VINFO,
    VM_TABLE,
    VMEMORY,
    VNETWORK,
    VSNAPSHOT,
    VTOOLS,
)
from iroa.inventory import models as m

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
    lambda i: with_names(
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
    stmt = with_names(stmt, HOST_TABLE, ("datacenter_id", m.Datacenter), ("cluster_id", m.Cluster))
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
        Column("Cores per CPU", cores_per_cpu, 8),
        Column("# Cores", key("cpu_cores"), 8),
        Column("# Threads", key("cpu_threads"), 9),
        Column("# Memory", key("memory_mib"), 10),
        Column("# VMs", key("vms"), 7),
        Column("# vCPUs", key("vcpus"), 8),
        Column("vRAM", key("vram_mib"), 10),
        Column("ESX Version", esx_version, 30),
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
    stmt = with_names(
        stmt, DATASTORE_TABLE, ("datacenter_id", m.Datacenter), ("cluster_id", m.Cluster)
    )
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
        Column("In Use MiB", in_use_mib, 12),
        Column("Free MiB", mib("free_bytes"), 12),
        Column("Free %", free_percent_of, 7),
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
