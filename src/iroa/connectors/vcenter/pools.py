"""Pure mapping of a resource pool's (or vApp's) properties to its record: RVTools' vRP."""

from __future__ import annotations

from pyVmomi import vim

from iroa.connectors.base import ResourcePoolRecord
from iroa.connectors.vcenter.index import InventoryIndex
from iroa.connectors.vcenter.mapping import as_bool, as_int, as_str
from iroa.connectors.vcenter.retrieval import Props

_Allocation = vim.ResourceAllocationInfo
_Shares = vim.SharesInfo
_USAGE_FIELDS = (
    "maxUsage",
    "reservationUsed",
    "reservationUsedForVm",
    "unreservedForPool",
    "unreservedForVm",
)
"""Of a pool's ``runtime.cpu`` and ``runtime.memory``, what is read (see
:data:`~iroa.connectors.vcenter.properties.UNWATCHED` for ``overallUsage``)."""


def map_resource_pool(object_id: str, props: Props, index: InventoryIndex) -> ResourcePoolRecord:
    """A resource pool with its allocation settings and usage; ``index`` must know every
    container already (its path goes through its parent pools)."""
    cpu = _allocation(props.get("config.cpuAllocation"))
    memory = _allocation(props.get("config.memoryAllocation"))
    cpu_usage = [as_int(props.get(f"runtime.cpu.{name}")) for name in _USAGE_FIELDS]
    memory_usage = [as_int(props.get(f"runtime.memory.{name}")) for name in _USAGE_FIELDS]
    return ResourcePoolRecord(
        object_id,
        as_str(props.get("name")) or object_id,
        index.datacenter_of(object_id),
        index.cluster_of(object_id),
        index.path(object_id),
        as_str(props.get("overallStatus")),
        *cpu,
        *memory,
        *cpu_usage,
        *memory_usage,
    )


def _allocation(
    value: object,
) -> tuple[int | None, int | None, bool | None, str | None, int | None]:
    """Reservation, limit, expandable reservation, shares level and shares."""
    if not isinstance(value, _Allocation):
        return None, None, None, None, None
    shares = value.shares if isinstance(value.shares, _Shares) else None
    return (
        as_int(value.reservation),
        as_int(value.limit),
        as_bool(value.expandableReservation),
        as_str(shares.level) if shares else None,
        as_int(shares.shares) if shares else None,
    )
