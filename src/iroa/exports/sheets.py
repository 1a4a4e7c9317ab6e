"""The sheets of an export: RVTools' columns over the common model of both platforms.

Each :class:`Sheet` is one select over the present inventory (``removed_at IS
NULL``) and the columns that turn one of its rows into cells. Every sheet has
RVTools 4.x's columns in RVTools' order (so tools that import RVTools
workbooks, such as Azure Migrate, find them), a column IROA cannot know left
empty; IROA's own columns, with the unit in the header, follow them, and
``Platform`` and ``Integration`` end every sheet.
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
    SheetSource,
    cores_per_cpu,
    esx_version,
    free_percent_of,
    in_use_mib,
    key,
    mib,
    rvtools_columns,
    scoped,
    utc,
    vi_sdk_server,
    with_names,
)
from iroa.exports.host_sheets import HOST_SHEETS, VMULTIPATH
from iroa.exports.pool_sheets import VRP
from iroa.exports.source_sheets import VLICENSE, VSOURCE
from iroa.exports.vm_device_sheets import VCD, VPARTITION, VUSB
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

VCLUSTER_HEADERS = (
    "Name",
    "Config status",
    "OverallStatus",
    "NumHosts",
    "numEffectiveHosts",
    "TotalCpu",
    "NumCpuCores",
    "NumCpuThreads",
    "Effective Cpu",
    "TotalMemory",
    "Effective Memory",
    "Num VMotions",
    "HA enabled",
    "Failover Level",
    "AdmissionControlEnabled",
    "Host monitoring",
    "HB Datastore Candidate Policy",
    "Isolation Response",
    "Restart Priority",
    "Cluster Settings",
    "Max Failures",
    "Max Failure Window",
    "Failure Interval",
    "Min Up Time",
    "VM Monitoring",
    "DRS enabled",
    "DRS default VM behavior",
    "DRS vmotion rate",
    "DPM enabled",
    "DPM default behavior",
    "DPM Host Power Action Rate",
    "Object ID",
    "VI SDK Server",
    "VI SDK UUID",
)

VCLUSTER = Sheet(
    "vCluster",
    rvtools_columns(
        VCLUSTER_HEADERS,
        {
            "Name": (key("name"), 20),
            "OverallStatus": (key("overall_status"), 12),
            "NumHosts": (key("host_count"), 9),
            "TotalCpu": (key("cpu_total_mhz"), 10),
            "NumCpuCores": (key("cpu_cores"), 11),
            "NumCpuThreads": (key("cpu_threads"), 12),
            "TotalMemory": (key("memory_total_mib"), 12),
            "HA enabled": (key("ha_enabled"), 10),
            "DRS enabled": (key("drs_enabled"), 11),
            "DRS default VM behavior": (key("drs_behavior"), 18),
            "Object ID": (key("external_id"), 20),
            "VI SDK Server": (vi_sdk_server, 24),
        },
        Column("Datacenter", key("datacenter"), 16),
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
    Attributes("cluster", CLUSTER_TABLE, "Object ID"),
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
    "physical_nics",
    "host_bus_adapters",
)


def _count_of(name: str) -> Getter:
    """How many facts a JSON list holds; empty where none were collected (Hyper-V)."""

    def value(row: Any) -> int | None:
        return len(row._mapping[name]) or None

    return value


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


VHOST_HEADERS = (
    "Host",
    "Datacenter",
    "Cluster",
    "Config status",
    "Compliance Check State",
    "in Maintenance Mode",
    "in Quarantine Mode",
    "vSAN Fault Domain Name",
    "CPU Model",
    "Speed",
    "HT Available",
    "HT Active",
    "# CPU",
    "Cores per CPU",
    "# Cores",
    "CPU usage %",
    "# Memory",
    "Memory Tiering Type",
    "Memory usage %",
    "Console",
    "# NICs",
    "# HBAs",
    "# VMs total",
    "# VMs",
    "VMs per Core",
    "# vCPUs",
    "vCPUs per Core",
    "vRAM",
    "VM Used memory",
    "VM Memory Swapped",
    "VM Memory Ballooned",
    "VMotion support",
    "Storage VMotion support",
    "Current EVC",
    "Max EVC",
    "Assigned License(s)",
    "ATS Heartbeat",
    "ATS Locking",
    "Current CPU power man. policy",
    "Supported CPU power man.",
    "Host Power Policy",
    "ESX Version",
    "Boot time",
    "DNS Servers",
    "DHCP",
    "Domain",
    "Domain List",
    "DNS Search Order",
    "NTP Server(s)",
    "NTPD running",
    "Time Zone",
    "Time Zone Name",
    "GMT Offset",
    "Vendor",
    "Model",
    "Serial number",
    "Service tag",
    "OEM specific string",
    "BIOS Vendor",
    "BIOS Version",
    "BIOS Date",
    "Certificate Issuer",
    "Certificate Start Date",
    "Certificate Expiry Date",
    "Certificate Status",
    "Certificate Subject",
    "Object ID",
    "UUID",
    "VI SDK Server",
    "VI SDK UUID",
)

VHOST = Sheet(
    "vHost",
    rvtools_columns(
        VHOST_HEADERS,
        {
            "Host": (key("name"), 26),
            "Datacenter": (key("datacenter"), 16),
            "Cluster": (key("cluster"), 16),
            "in Maintenance Mode": (key("in_maintenance"), 12),
            "CPU Model": (key("cpu_model"), 36),
            "Speed": (key("cpu_mhz"), 8),
            "# CPU": (key("cpu_sockets"), 6),
            "Cores per CPU": (cores_per_cpu, 8),
            "# Cores": (key("cpu_cores"), 8),
            "# Memory": (key("memory_mib"), 10),
            "# NICs": (_count_of("physical_nics"), 7),
            "# HBAs": (_count_of("host_bus_adapters"), 7),
            "# VMs": (key("vms"), 7),
            "# vCPUs": (key("vcpus"), 8),
            "vRAM": (key("vram_mib"), 10),
            "ESX Version": (esx_version, 30),
            "Boot time": (utc("boot_time"), 19),
            "Vendor": (key("vendor"), 16),
            "Model": (key("model"), 22),
            "Serial number": (key("serial_number"), 16),
            "Object ID": (key("external_id"), 20),
            "VI SDK Server": (vi_sdk_server, 24),
        },
        Column("# Threads", key("cpu_threads"), 9),
        Column("Hypervisor", key("hypervisor_name"), 30),
        Column("Hypervisor Version", key("hypervisor_version"), 14),
        Column("Hypervisor Build", key("hypervisor_build"), 12),
        Column("Connection State", key("connection_state"), 14),
        Column("Power State", key("power_state"), 11),
        Column("Overall Status", key("overall_status"), 12),
        PLATFORM,
        INTEGRATION,
    ),
    _vhost,
    Attributes("host", HOST_TABLE, "Object ID"),
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


VDATASTORE_HEADERS = (
    "Name",
    "Config status",
    "Address",
    "Accessible",
    "Type",
    "# VMs total",
    "# VMs",
    "Capacity MiB",
    "Provisioned MiB",
    "In Use MiB",
    "Free MiB",
    "Free %",
    "SIOC enabled",
    "SIOC Threshold",
    "# Hosts",
    "Hosts",
    "Cluster name",
    "Cluster capacity MiB",
    "Cluster free space MiB",
    "Block size",
    "Max Blocks",
    "# Extents",
    "Major Version",
    "Version",
    "VMFS Upgradeable",
    "MHA",
    "URL",
    "Object ID",
    "VI SDK Server",
    "VI SDK UUID",
)

VDATASTORE = Sheet(
    "vDatastore",
    rvtools_columns(
        VDATASTORE_HEADERS,
        {
            "Name": (key("name"), 24),
            "Accessible": (key("accessible"), 10),
            "Type": (key("type"), 8),
            "# VMs": (key("vms"), 7),
            "Capacity MiB": (mib("capacity_bytes"), 12),
            "Provisioned MiB": (mib("provisioned_bytes"), 12),
            "In Use MiB": (in_use_mib, 12),
            "Free MiB": (mib("free_bytes"), 12),
            "Free %": (free_percent_of, 7),
            "Cluster name": (key("cluster"), 16),
            "URL": (key("url"), 40),
            "Object ID": (key("external_id"), 20),
            "VI SDK Server": (vi_sdk_server, 24),
        },
        Column("File System", key("file_system"), 10),
        Column("Maintenance Mode", key("maintenance_mode"), 12),
        Column("Datacenter", key("datacenter"), 16),
        PLATFORM,
        INTEGRATION,
    ),
    _vdatastore,
    Attributes("datastore", DATASTORE_TABLE, "Object ID"),
)

INVENTORY_SHEETS: tuple[SheetSource, ...] = (
    VINFO,
    VCPU,
    VMEMORY,
    VDISK,
    VPARTITION,
    VNETWORK,
    VCD,
    VUSB,
    VSNAPSHOT,
    VTOOLS,
    VSOURCE,
    VRP,
    VCLUSTER,
    VHOST,
    *HOST_SHEETS,
    VDATASTORE,
    VMULTIPATH,
    VLICENSE,
)
"""In RVTools' order; vHealth and vMetaData follow them."""
