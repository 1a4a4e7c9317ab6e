"""vRP: resource pools with RVTools' columns in RVTools' order (docs/exports.md lists them)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Select, and_, func, or_, select

from iroa.exports.columns import (
    INTEGRATION,
    PLATFORM,
    Column,
    Sheet,
    key,
    mib,
    rvtools_columns,
    scoped,
    vi_sdk_server,
    with_names,
)
from iroa.inventory import models as m

POOL_TABLE = m.ResourcePool.__table__
VM_TABLE = m.Vm.__table__

_USAGE = (
    "maxUsage",
    "reservationUsed",
    "reservationUsedForVm",
    "unreservedForPool",
    "unreservedForVm",
)
_USAGE_FIELDS = (
    "max_usage",
    "reservation_used",
    "reservation_used_for_vm",
    "unreserved_for_pool",
    "unreserved_for_vm",
)
_QUICK_STATS = (
    "overallCpuDemand",
    "overallCpuUsage",
    "staticCpuEntitlement",
    "distributedCpuEntitlement",
    "balloonedMemory",
    "compressedMemory",
    "consumedOverheadMemory",
    "distributedMemoryEntitlement",
    "guestMemoryUsage",
    "hostMemoryUsage",
    "overheadMemory",
    "privateMemory",
    "sharedMemory",
    "staticMemoryEntitlement",
    "swappedMemory",
)

_RVTOOLS_USAGE = ("maxUsage", "overallUsage", *_USAGE[1:])
"""RVTools' usage columns: ``overallUsage`` too, which IROA does not read (docs/exports.md)."""

VRP_HEADERS = (
    "Resource Pool name",
    "Resource Pool path",
    "Status",
    "# VMs total",
    "# VMs",
    "# vCPUs",
    "CPU limit",
    "CPU overheadLimit",
    "CPU reservation",
    "CPU level",
    "CPU shares",
    "CPU expandableReservation",
    *(f"CPU {name}" for name in _RVTOOLS_USAGE),
    "Mem Configured",
    "Mem limit",
    "Mem overheadLimit",
    "Mem reservation",
    "Mem level",
    "Mem shares",
    "Mem expandableReservation",
    *(f"Mem {name}" for name in _RVTOOLS_USAGE),
    *(f"QS {name}" for name in _QUICK_STATS),
    "Object ID",
    "VI SDK Server",
    "VI SDK UUID",
)


_NOT_SHOWN = ("id", "integration_id", "datacenter_id", "cluster_id")
"""Pool columns the sheet does not read (references: their names are added)."""


def _vms_by_pool() -> Any:
    """Present VMs per integration and pool path, with their vCPUs and memory."""
    return (
        select(
            VM_TABLE.c.integration_id,
            VM_TABLE.c.resource_pool,
            func.count().label("vms"),
            func.sum(VM_TABLE.c.num_cpu).label("vcpus"),
            func.sum(VM_TABLE.c.memory_mib).label("memory_mib"),
        )
        .where(VM_TABLE.c.removed_at.is_(None), VM_TABLE.c.resource_pool.is_not(None))
        .group_by(VM_TABLE.c.integration_id, VM_TABLE.c.resource_pool)
        .subquery()
    )


def _vrp(integration_id: int | None) -> Select[Any]:
    by_pool = _vms_by_pool()
    # A pool's VMs total: those of every pool whose path is its own or under it.
    under = _vms_by_pool()
    nested = (
        select(func.coalesce(func.sum(under.c.vms), 0))
        .where(
            under.c.integration_id == POOL_TABLE.c.integration_id,
            or_(
                under.c.resource_pool == POOL_TABLE.c.path,
                func.substr(under.c.resource_pool, 1, func.length(POOL_TABLE.c.path) + 1)
                == POOL_TABLE.c.path + "/",
            ),
        )
        .scalar_subquery()
    )
    stmt = scoped(
        POOL_TABLE,
        integration_id,
        *(c for c in POOL_TABLE.c if c.name not in _NOT_SHOWN),
        func.coalesce(by_pool.c.vms, 0).label("vms"),
        func.coalesce(by_pool.c.vcpus, 0).label("vcpus"),
        func.coalesce(by_pool.c.memory_mib, 0).label("vm_memory_mib"),
        nested.label("vms_total"),
    ).outerjoin(
        by_pool,
        and_(
            by_pool.c.integration_id == POOL_TABLE.c.integration_id,
            by_pool.c.resource_pool == POOL_TABLE.c.path,
        ),
    )
    stmt = with_names(stmt, POOL_TABLE, ("datacenter_id", m.Datacenter), ("cluster_id", m.Cluster))
    return stmt.order_by(POOL_TABLE.c.path, POOL_TABLE.c.id)


VRP = Sheet(
    "vRP",
    rvtools_columns(
        VRP_HEADERS,
        {
            "Resource Pool name": (key("name"), 20),
            "Resource Pool path": (key("path"), 40),
            "Status": (key("overall_status"), 8),
            "# VMs total": (key("vms_total"), 8),
            "# VMs": (key("vms"), 7),
            "# vCPUs": (key("vcpus"), 8),
            "CPU limit": (key("cpu_limit_mhz"), 9),
            "CPU reservation": (key("cpu_reservation_mhz"), 9),
            "CPU level": (key("cpu_shares_level"), 8),
            "CPU shares": (key("cpu_shares"), 8),
            "CPU expandableReservation": (key("cpu_expandable"), 8),
            **{
                f"CPU {name}": (key(f"cpu_{field}_mhz"), 9)
                for name, field in zip(_USAGE, _USAGE_FIELDS, strict=True)
            },
            "Mem Configured": (key("vm_memory_mib"), 10),
            "Mem limit": (key("memory_limit_mib"), 9),
            "Mem reservation": (key("memory_reservation_mib"), 9),
            "Mem level": (key("memory_shares_level"), 8),
            "Mem shares": (key("memory_shares"), 8),
            "Mem expandableReservation": (key("memory_expandable"), 8),
            **{
                f"Mem {name}": (mib(f"memory_{field}_bytes"), 9)
                for name, field in zip(_USAGE, _USAGE_FIELDS, strict=True)
            },
            "Object ID": (key("external_id"), 20),
            "VI SDK Server": (vi_sdk_server, 24),
        },
        Column("Datacenter", key("datacenter"), 16),
        Column("Cluster", key("cluster"), 16),
        PLATFORM,
        INTEGRATION,
    ),
    _vrp,
)
