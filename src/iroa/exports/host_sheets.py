"""RVTools' host network and storage sheets: vHBA, vNIC, vSwitch, vPort, dvSwitch, dvPort,
vSC_VMK and vMultiPath, one row per fact a host or a distributed port group holds (JSON
columns, written by the vCenter connector; see ``iroa.connectors.vcenter.networking`` for
their keys)."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, Select, func, select

from iroa.exports.columns import (
    INTEGRATION,
    PLATFORM,
    Column,
    Getter,
    Scope,
    Sheet,
    key,
    rvtools_columns,
    scoped,
    vi_sdk_server,
    with_names,
)
from iroa.inventory import models as m

HOST_TABLE = m.Host.__table__
NETWORK_TABLE = m.Network.__table__
VM_NETWORK_TABLE = m.VmNetwork.__table__


class _Known(dict[str, Any]):
    """A row's values: a key a fact lacks (Hyper-V knows a switch's name only) is unknown."""

    def __missing__(self, key: str) -> None:
        return None


class _FactRow:
    """A sheet row: its object's columns and one of its facts, read alike by the getters."""

    __slots__ = ("_mapping",)

    def __init__(self, mapping: Mapping[str, Any]) -> None:
        self._mapping = _Known(mapping)


@dataclass(frozen=True)
class FactsSheet(Sheet):
    """A sheet with a row per fact: the select's rows hold the facts in column ``facts``, a
    list of dicts (one row each) or one dict (one row, none if null)."""

    facts: str = ""

    def _expand(self, row: Any) -> Iterator[_FactRow]:
        mapping = row._mapping
        found = mapping[self.facts]
        for fact in found if isinstance(found, list) else [found] if found else []:
            yield _FactRow({**mapping, **fact})

    def count(self, conn: Connection, scope: Scope) -> int:
        inner = self.build(scope.integration_id).order_by(None).subquery()
        return sum(
            len(found) if isinstance(found, list) else 1
            for found in conn.execute(select(inner.c[self.facts])).scalars()
            if found
        )

    def chunks(
        self, conn: Connection, scope: Scope, chunk_size: int
    ) -> Iterator[tuple[list[list[Any]], int]]:
        columns = self.columns_for(conn, scope)
        result = conn.execution_options(yield_per=chunk_size).execute(
            self.build(scope.integration_id)
        )
        for partition in result.partitions():
            rows = [fact for row in partition for fact in self._expand(row)]
            yield [[column.value(row) for column in columns] for row in rows], len(rows)


def _host_facts(facts: str) -> Any:
    def build(integration_id: int | None) -> Select[Any]:
        stmt = scoped(
            HOST_TABLE,
            integration_id,
            HOST_TABLE.c.name.label("host"),
            HOST_TABLE.c[facts],
        )
        stmt = with_names(
            stmt, HOST_TABLE, ("datacenter_id", m.Datacenter), ("cluster_id", m.Cluster)
        )
        return stmt.order_by(HOST_TABLE.c.name, HOST_TABLE.c.id)

    return build


def _host_sheet(
    name: str, headers: tuple[str, ...], columns: dict[str, Any], facts: str
) -> FactsSheet:
    """A sheet with a row per fact of a host's list ``facts``: the host's columns and
    ``columns``, in RVTools' order of ``headers``, then IROA's own."""
    return FactsSheet(
        name,
        rvtools_columns(headers, {**_HOST_COLUMNS, **columns}, PLATFORM, INTEGRATION),
        _host_facts(facts),
        facts=facts,
    )


def _joined(name: str) -> Getter:
    def value(row: Any) -> str | None:
        return ", ".join(row._mapping[name] or []) or None

    return value


def _utc_text(name: str) -> Getter:
    """An ISO-8601 timestamp kept as text, as a naive UTC datetime (Excel has no zones)."""

    def value(row: Any) -> datetime | None:
        text = row._mapping[name]
        if not text:
            return None
        found = datetime.fromisoformat(text)
        if found.tzinfo is not None:
            found = found.astimezone(UTC).replace(tzinfo=None)
        return found

    return value


_HOST_COLUMNS = {
    "Host": (key("host"), 26),
    "Datacenter": (key("datacenter"), 16),
    "Cluster": (key("cluster"), 16),
    "VI SDK Server": (vi_sdk_server, 24),
}
_STANDARD_POLICY = {
    "Promiscuous Mode": (key("promiscuous"), 10),
    "Mac Changes": (key("mac_changes"), 10),
    "Forged Transmits": (key("forged_transmits"), 10),
    "Traffic Shaping": (key("shaping"), 10),
    "Width": (key("average_bps"), 10),
    "Peak": (key("peak_bps"), 10),
    "Burst": (key("burst_bytes"), 10),
    "Policy": (key("teaming"), 18),
    "Reverse Policy": (key("reverse_policy"), 10),
    "Notify Switch": (key("notify_switches"), 10),
    "Rolling Order": (key("rolling_order"), 10),
    "Offload": (key("checksum_offload"), 8),
    "TSO": (key("tso"), 8),
    "Zero Copy Xmit": (key("zero_copy_xmit"), 10),
}
_SHAPING = {
    "In Traffic Shaping": (key("in_shaping"), 10),
    "In Avg": (key("in_average_bps"), 10),
    "In Peak": (key("in_peak_bps"), 10),
    "In Burst": (key("in_burst_bytes"), 10),
    "Out Traffic Shaping": (key("out_shaping"), 10),
    "Out Avg": (key("out_average_bps"), 10),
    "Out Peak": (key("out_peak_bps"), 10),
    "Out Burst": (key("out_burst_bytes"), 10),
}

VHBA_HEADERS = (
    "Host",
    "Datacenter",
    "Cluster",
    "Device",
    "Type",
    "Status",
    "Bus",
    "Pci",
    "Driver",
    "Model",
    "WWN",
    "VI SDK Server",
    "VI SDK UUID",
)

VHBA = _host_sheet(
    "vHBA",
    VHBA_HEADERS,
    {
        "Device": (key("device"), 10),
        "Type": (key("type"), 16),
        "Status": (key("status"), 10),
        "Bus": (key("bus"), 6),
        "Pci": (key("pci"), 14),
        "Driver": (key("driver"), 12),
        "Model": (key("model"), 30),
        "WWN": (key("wwn"), 26),
    },
    "host_bus_adapters",
)

VNIC_HEADERS = (
    "Host",
    "Datacenter",
    "Cluster",
    "Network Device",
    "Driver",
    "Speed",
    "Duplex",
    "MAC",
    "Switch",
    "Uplink port",
    "PCI",
    "WakeOn",
    "VI SDK Server",
    "VI SDK UUID",
)

VNIC = _host_sheet(
    "vNIC",
    VNIC_HEADERS,
    {
        "Network Device": (key("device"), 12),
        "Driver": (key("driver"), 12),
        "Speed": (key("speed_mbps"), 8),
        "Duplex": (key("full_duplex"), 8),
        "MAC": (key("mac"), 18),
        "Switch": (key("switch"), 14),
        "Uplink port": (key("uplink_port"), 12),
        "PCI": (key("pci"), 14),
        "WakeOn": (key("wake_on_lan"), 8),
    },
    "physical_nics",
)

VSWITCH_HEADERS = (
    "Host",
    "Datacenter",
    "Cluster",
    "Switch",
    "# Ports",
    "Free Ports",
    "Promiscuous Mode",
    "Mac Changes",
    "Forged Transmits",
    "Traffic Shaping",
    "Width",
    "Peak",
    "Burst",
    "Policy",
    "Reverse Policy",
    "Notify Switch",
    "Rolling Order",
    "Offload",
    "TSO",
    "Zero Copy Xmit",
    "MTU",
    "VI SDK Server",
    "VI SDK UUID",
)

VSWITCH = _host_sheet(
    "vSwitch",
    VSWITCH_HEADERS,
    {
        **_STANDARD_POLICY,
        "Switch": (key("name"), 14),
        "# Ports": (key("ports"), 8),
        "Free Ports": (key("free_ports"), 8),
        "MTU": (key("mtu"), 6),
    },
    "virtual_switches",
)

VPORT_HEADERS = (
    "Host",
    "Datacenter",
    "Cluster",
    "Port Group",
    "Switch",
    "VLAN",
    "Promiscuous Mode",
    "Mac Changes",
    "Forged Transmits",
    "Traffic Shaping",
    "Width",
    "Peak",
    "Burst",
    "Policy",
    "Reverse Policy",
    "Notify Switch",
    "Rolling Order",
    "Offload",
    "TSO",
    "Zero Copy Xmit",
    "VI SDK Server",
    "VI SDK UUID",
)

VPORT = _host_sheet(
    "vPort",
    VPORT_HEADERS,
    {
        **_STANDARD_POLICY,
        "Port Group": (key("name"), 20),
        "Switch": (key("switch"), 14),
        "VLAN": (key("vlan"), 6),
    },
    "portgroups",
)


def _distributed(integration_id: int | None, facts: str) -> Select[Any]:
    stmt = scoped(
        NETWORK_TABLE,
        integration_id,
        NETWORK_TABLE.c.name,
        NETWORK_TABLE.c.switch_name,
        NETWORK_TABLE.c.vlan,
        NETWORK_TABLE.c.vlan_id,
        NETWORK_TABLE.c.external_id,
        NETWORK_TABLE.c[facts],
    ).where(NETWORK_TABLE.c.type == "distributed", NETWORK_TABLE.c[facts].is_not(None))
    return with_names(stmt, NETWORK_TABLE, ("datacenter_id", m.Datacenter))


def _trunk(row: Any) -> str | None:
    """Trunk ranges or a private VLAN, which RVTools' readers cannot take as a VLAN number."""
    return None if row._mapping["vlan_id"] is not None else row._mapping["vlan"]


def _dvport(integration_id: int | None) -> Select[Any]:
    return _distributed(integration_id, "port_policy").order_by(
        NETWORK_TABLE.c.switch_name, NETWORK_TABLE.c.name, NETWORK_TABLE.c.id
    )


DVPORT_HEADERS = (
    "Port",
    "Switch",
    "Type",
    "# Ports",
    "VLAN",
    "Speed",
    "Full Duplex",
    "Blocked",
    "Allow Promiscuous",
    "Mac Changes",
    "Active Uplink",
    "Standby Uplink",
    "Policy",
    "Forged Transmits",
    "In Traffic Shaping",
    "In Avg",
    "In Peak",
    "In Burst",
    "Out Traffic Shaping",
    "Out Avg",
    "Out Peak",
    "Out Burst",
    "Reverse Policy",
    "Notify Switch",
    "Rolling Order",
    "Check Beacon",
    "Live Port Moving",
    "Check Duplex",
    "Check Error %",
    "Check Speed",
    "Percentage",
    "Block Override",
    "Config Reset",
    "Shaping Override",
    "Vendor Config Override",
    "Sec. Policy Override",
    "Teaming Override",
    "Vlan Override",
    "Object ID",
    "VI SDK Server",
    "VI SDK UUID",
)

DVPORT = FactsSheet(
    "dvPort",
    rvtools_columns(
        DVPORT_HEADERS,
        {
            **_SHAPING,
            "Port": (key("name"), 24),
            "Switch": (key("switch_name"), 16),
            "Type": (key("type"), 12),
            "# Ports": (key("ports"), 8),
            "VLAN": (key("vlan_id"), 6),
            "Blocked": (key("blocked"), 8),
            "Allow Promiscuous": (key("promiscuous"), 10),
            "Mac Changes": (key("mac_changes"), 10),
            "Active Uplink": (_joined("active_uplinks"), 16),
            "Standby Uplink": (_joined("standby_uplinks"), 16),
            "Policy": (key("teaming"), 18),
            "Forged Transmits": (key("forged_transmits"), 10),
            "Reverse Policy": (key("reverse_policy"), 10),
            "Notify Switch": (key("notify_switches"), 10),
            "Rolling Order": (key("rolling_order"), 10),
            "Check Beacon": (key("check_beacon"), 10),
            "Live Port Moving": (key("live_port_moving"), 10),
            "Check Duplex": (key("check_duplex"), 10),
            "Check Error %": (key("check_error_percent"), 10),
            "Check Speed": (key("check_speed"), 10),
            "Percentage": (key("percentage"), 10),
            "Block Override": (key("block_override"), 10),
            "Config Reset": (key("config_reset"), 10),
            "Shaping Override": (key("shaping_override"), 10),
            "Vendor Config Override": (key("vendor_config_override"), 10),
            "Sec. Policy Override": (key("security_override"), 10),
            "Teaming Override": (key("teaming_override"), 10),
            "Vlan Override": (key("vlan_override"), 10),
            "Object ID": (key("external_id"), 20),
            "VI SDK Server": (vi_sdk_server, 24),
        },
        Column("VLAN Ranges", _trunk, 14),
        PLATFORM,
        INTEGRATION,
    ),
    _dvport,
    facts="port_policy",
)


def _dvswitch(integration_id: int | None) -> Select[Any]:
    """One row per switch: the facts its first port group carries, and how many VMs its
    port groups connect."""
    switch = (NETWORK_TABLE.c.integration_id, NETWORK_TABLE.c.datacenter_id)
    present = (
        NETWORK_TABLE.c.removed_at.is_(None),
        NETWORK_TABLE.c.type == "distributed",
        NETWORK_TABLE.c.distributed_switch.is_not(None),
    )
    first = (
        select(func.min(NETWORK_TABLE.c.id))
        .where(*present)
        .group_by(*switch, NETWORK_TABLE.c.switch_name)
    )
    ports = NETWORK_TABLE.alias()
    vms = (
        select(
            ports.c.integration_id,
            ports.c.datacenter_id,
            ports.c.switch_name,
            func.count(func.distinct(VM_NETWORK_TABLE.c.vm_id)).label("vms"),
        )
        .join(ports, ports.c.id == VM_NETWORK_TABLE.c.network_id)
        .where(
            VM_NETWORK_TABLE.c.removed_at.is_(None),
            ports.c.removed_at.is_(None),
            ports.c.type == "distributed",
        )
        .group_by(ports.c.integration_id, ports.c.datacenter_id, ports.c.switch_name)
        .subquery()
    )
    stmt = (
        _distributed(integration_id, "distributed_switch")
        .add_columns(func.coalesce(vms.c.vms, 0).label("vms"))
        .outerjoin(
            vms,
            (vms.c.integration_id == NETWORK_TABLE.c.integration_id)
            & (vms.c.datacenter_id == NETWORK_TABLE.c.datacenter_id)
            & (vms.c.switch_name == NETWORK_TABLE.c.switch_name),
        )
        .where(NETWORK_TABLE.c.id.in_(first))
    )
    return stmt.order_by(NETWORK_TABLE.c.switch_name, NETWORK_TABLE.c.id)


DVSWITCH_HEADERS = (
    "Switch",
    "Datacenter",
    "Name",
    "Vendor",
    "Version",
    "Description",
    "Created",
    "Host members",
    "Max Ports",
    "# Ports",
    "# VMs",
    "In Traffic Shaping",
    "In Avg",
    "In Peak",
    "In Burst",
    "Out Traffic Shaping",
    "Out Avg",
    "Out Peak",
    "Out Burst",
    "CDP Type",
    "CDP Operation",
    "LACP Name",
    "LACP Mode",
    "LACP Load Balance Alg.",
    "Max MTU",
    "Contact",
    "Admin Name",
    "Object ID",
    "VI SDK Server",
    "VI SDK UUID",
)

DVSWITCH = FactsSheet(
    "dvSwitch",
    rvtools_columns(
        DVSWITCH_HEADERS,
        {
            **_SHAPING,
            "Switch": (key("switch_name"), 16),
            "Datacenter": (key("datacenter"), 16),
            "Vendor": (key("vendor"), 12),
            "Version": (key("version"), 8),
            "Description": (key("description"), 24),
            "Created": (_utc_text("created"), 19),
            "Host members": (_joined("hosts"), 30),
            "Max Ports": (key("max_ports"), 8),
            "# Ports": (key("ports"), 8),
            "# VMs": (key("vms"), 7),
            "CDP Type": (key("cdp_type"), 8),
            "CDP Operation": (key("cdp_operation"), 10),
            "LACP Name": (key("lacp_name"), 12),
            "LACP Mode": (key("lacp_mode"), 10),
            "LACP Load Balance Alg.": (key("lacp_load_balance"), 16),
            "Max MTU": (key("max_mtu"), 8),
            "Contact": (key("contact"), 16),
            "Admin Name": (key("admin_name"), 16),
            "Object ID": (key("id"), 20),
            "VI SDK Server": (vi_sdk_server, 24),
        },
        PLATFORM,
        INTEGRATION,
    ),
    _dvswitch,
    facts="distributed_switch",
)

VSC_VMK_HEADERS = (
    "Host",
    "Datacenter",
    "Cluster",
    "Port Group",
    "Device",
    "Mac Address",
    "DHCP",
    "IP Address",
    "IP 6 Address",
    "Subnet mask",
    "Gateway",
    "IP 6 Gateway",
    "MTU",
    "VI SDK Server",
    "VI SDK UUID",
)

VSC_VMK = _host_sheet(
    "vSC_VMK",
    VSC_VMK_HEADERS,
    {
        "Port Group": (key("portgroup"), 20),
        "Device": (key("device"), 8),
        "Mac Address": (key("mac"), 18),
        "DHCP": (key("dhcp"), 6),
        "IP Address": (key("ip"), 16),
        "IP 6 Address": (key("ip6"), 30),
        "Subnet mask": (key("subnet_mask"), 16),
        "Gateway": (key("gateway"), 16),
        "IP 6 Gateway": (key("ip6_gateway"), 20),
        "MTU": (key("mtu"), 6),
    },
    "vmkernel_nics",
)

HOST_SHEETS: tuple[FactsSheet, ...] = (VHBA, VNIC, VSWITCH, VPORT, DVSWITCH, DVPORT, VSC_VMK)
"""In RVTools' order, which puts them between vHost and vDatastore."""


VMULTIPATH_PATHS = 8
"""RVTools' vMultiPath shows a LUN's first eight paths; ``# Paths`` counts them all."""

VMULTIPATH_HEADERS = (
    "Host",
    "Cluster",
    "Datacenter",
    "Datastore",
    "Disk",
    "Display name",
    "Policy",
    "Oper. State",
    *(
        header
        for n in range(1, VMULTIPATH_PATHS + 1)
        for header in (f"Path {n}", f"Path {n} state")
    ),
    "vStorage",
    "Queue depth",
    "Vendor",
    "Model",
    "Revision",
    "Level",
    "Serial #",
    "UUID",
    "Object ID",
    "VI SDK Server",
    "VI SDK UUID",
)


def _path(index: int, field: str) -> Getter:
    """A field of a LUN's path at ``index`` (from 0) in vSphere's order; empty past the last."""

    def value(row: Any) -> Any:
        paths = row._mapping["paths"] or []
        return paths[index].get(field) if index < len(paths) else None

    return value


def _path_count(row: Any) -> int:
    return len(row._mapping["paths"] or [])


def _working_paths(row: Any) -> str | None:
    """The paths the path selection policy is likely to send I/O down (``isWorkingPath``)."""
    names = [p["name"] for p in row._mapping["paths"] or [] if p.get("working") and p.get("name")]
    return ", ".join(names) or None


VMULTIPATH = FactsSheet(
    "vMultiPath",
    rvtools_columns(
        VMULTIPATH_HEADERS,
        {
            **_HOST_COLUMNS,
            "Disk": (key("canonical_name"), 30),
            "Display name": (key("display_name"), 40),
            "Policy": (key("policy"), 14),
            "Oper. State": (key("operational_state"), 10),
            **{
                header: (_path(n, field), width)
                for n in range(VMULTIPATH_PATHS)
                for header, field, width in (
                    (f"Path {n + 1}", "name", 18),
                    (f"Path {n + 1} state", "state", 10),
                )
            },
            "vStorage": (key("vstorage"), 18),
            "Queue depth": (key("queue_depth"), 8),
            "Vendor": (key("vendor"), 12),
            "Model": (key("model"), 18),
            "Revision": (key("revision"), 8),
            "Level": (key("scsi_level"), 6),
            "Serial #": (key("serial_number"), 16),
            "UUID": (key("uuid"), 34),
        },
        Column("SATP", key("satp"), 16),
        Column("# Paths", _path_count, 7),
        Column("Working Paths", _working_paths, 20),
        PLATFORM,
        INTEGRATION,
    ),
    _host_facts("multipaths"),
    facts="multipaths",
)
"""One row per LUN of each vCenter host, after vDatastore as in RVTools (a Hyper-V host has
none collected). ``Datastore`` stays empty: the LUN a VMFS datastore lives on is in the
datastore's ``info.vmfs.extent``, which IROA does not read."""
