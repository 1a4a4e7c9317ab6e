"""What each list page shows: its columns, which sort, and its filters."""

from __future__ import annotations

from dataclasses import dataclass

from iroa.inventory.filters import VM_POWER_STATES


@dataclass(frozen=True, slots=True)
class Column:
    """One column: the item field, its header, how to render it, whether it sorts."""

    field: str
    label: str
    kind: str = "text"  # text | link | ref | bytes | mib | mhz | duration | time | state | number
    sortable: bool = True
    ref: str | None = None  # for kind "ref": the plural of the linked object


@dataclass(frozen=True, slots=True)
class ListView:
    plural: str
    title: str
    singular: str
    columns: tuple[Column, ...]
    power_states: tuple[str, ...] = ()


PLATFORM = Column("platform", "Platform", sortable=False)
INTEGRATION = Column("integration", "Integration", sortable=False)

LIST_VIEWS: dict[str, ListView] = {
    view.plural: view
    for view in (
        ListView(
            "vms",
            "Virtual machines",
            "virtual machine",
            (
                Column("name", "Name", "link"),
                Column("power_state", "Power", "state"),
                Column("num_cpu", "vCPU", "number"),
                Column("memory_mib", "Memory", "mib"),
                Column("cpu_used_mhz", "CPU used", "mhz"),
                Column("guest_memory_used_mib", "Guest memory used", "mib"),
                Column("host_memory_used_mib", "Host memory used", "mib"),
                Column("uptime_s", "Uptime", "duration"),
                Column("guest_os", "Guest OS"),
                Column("ip_addresses", "IP addresses", sortable=False),
                Column("host", "Host", "ref", sortable=False, ref="hosts"),
                Column("cluster", "Cluster", "ref", sortable=False, ref="clusters"),
                PLATFORM,
                INTEGRATION,
            ),
            VM_POWER_STATES,
        ),
        ListView(
            "hosts",
            "Hosts",
            "host",
            (
                Column("name", "Name", "link"),
                Column("cluster", "Cluster", "ref", sortable=False, ref="clusters"),
                Column("connection_state", "Connection"),
                Column("power_state", "Power", "state"),
                Column("cpu_cores", "Cores", "number"),
                Column("memory_mib", "Memory", "mib"),
                Column("cpu_used_mhz", "CPU used", "mhz"),
                Column("memory_used_mib", "Memory used", "mib"),
                Column("uptime_s", "Uptime", "duration"),
                Column("hypervisor_version", "Version"),
                PLATFORM,
                INTEGRATION,
            ),
        ),
        ListView(
            "clusters",
            "Clusters",
            "cluster",
            (
                Column("name", "Name", "link"),
                Column("datacenter", "Datacenter", "ref", sortable=False, ref="datacenters"),
                Column("host_count", "Hosts", "number"),
                Column("cpu_cores", "Cores", "number"),
                Column("memory_total_mib", "Memory", "mib"),
                Column("ha_enabled", "HA"),
                Column("drs_enabled", "DRS"),
                PLATFORM,
                INTEGRATION,
            ),
        ),
        ListView(
            "datacenters",
            "Datacenters",
            "datacenter",
            (
                Column("name", "Name", "link"),
                Column("first_seen_at", "First seen", "time"),
                PLATFORM,
                INTEGRATION,
            ),
        ),
        ListView(
            "datastores",
            "Datastores",
            "datastore",
            (
                Column("name", "Name", "link"),
                Column("type", "Type"),
                Column("capacity_bytes", "Capacity", "bytes"),
                Column("free_bytes", "Free", "bytes"),
                Column("accessible", "Accessible"),
                PLATFORM,
                INTEGRATION,
            ),
        ),
        ListView(
            "networks",
            "Networks",
            "network",
            (
                Column("name", "Name", "link"),
                Column("type", "Type"),
                Column("vlan", "VLAN"),
                Column("switch_name", "Switch"),
                PLATFORM,
                INTEGRATION,
            ),
        ),
    )
}
