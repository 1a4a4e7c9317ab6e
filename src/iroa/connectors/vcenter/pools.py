"""Pure mapping of a resource pool's (or vApp's) properties to its record: RVTools' vRP."""

from __future__ import annotations

from pyVmomi import vim

from iroa.connectors.base import ResourcePoolRecord
from iroa.connectors.vcenter.index import InventoryIndex
from iroa.connectors.vcenter.mapping import as_bool, as_int, as_str
from iroa.connectors.vcenter.retrieval import Props

_Allocation = vim.ResourceAllocationInfo
_Shares = vim.SharesInfo
_Runtime = vim.ResourcePool.RuntimeInfo
_Usage = vim.ResourcePool.ResourceUsage
_USAGE_FIELDS = (
    "maxUsage",
    "overallUsage",
    "reservationUsed",
    "reservationUsedForVm",
    "unreservedForPool",
    "unreservedForVm",
)


def map_resource_pool(object_id: str, props: Props, index: InventoryIndex) -> ResourcePoolRecord:
    """A resource pool with its allocation settings and usage; ``index`` must know every
    container already (its path goes through its parent pools)."""
    cpu = _allocation(props.get("config.cpuAllocation"))
    memory = _allocation(props.get("config.memoryAllocation"))
    runtime = props.get("runtime")
    cpu_usage = _usage(runtime.cpu if isinstance(runtime, _Runtime) else None)
    memory_usage = _usage(runtime.memory if isinstance(runtime, _Runtime) else None)
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


def _usage(value: object) -> tuple[int | None, ...]:
    """The fields of :data:`_USAGE_FIELDS`, in that order."""
    if not isinstance(value, _Usage):
        return (None,) * len(_USAGE_FIELDS)
    return tuple(as_int(getattr(value, name)) for name in _USAGE_FIELDS)
