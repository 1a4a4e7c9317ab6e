"""``iroa get`` and ``iroa history``: read the inventory and the sync history."""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated

import typer

from iroa.cli.context import get_context
from iroa.cli.output import print_json, print_table, say
from iroa.inventory.history import inventory_as_of, parse_as_of
from iroa.inventory.queries import list_objects
from iroa.sync.history import list_runs


class ListableType(StrEnum):
    vms = "vms"
    hosts = "hosts"
    clusters = "clusters"
    datacenters = "datacenters"
    datastores = "datastores"
    networks = "networks"


TABLE_COLUMNS: dict[str, list[tuple[str, str]]] = {
    "vms": [
        ("name", "Name"),
        ("power_state", "Power"),
        ("num_cpu", "vCPU"),
        ("memory_mib", "Memory MiB"),
        ("host", "Host"),
        ("cluster", "Cluster"),
        ("ip_addresses", "IPs"),
        ("guest_os", "Guest OS"),
        ("integration", "Integration"),
    ],
    "hosts": [
        ("name", "Name"),
        ("cluster", "Cluster"),
        ("connection_state", "State"),
        ("cpu_cores", "Cores"),
        ("memory_mib", "Memory MiB"),
        ("hypervisor_version", "Version"),
        ("integration", "Integration"),
    ],
    "clusters": [
        ("name", "Name"),
        ("datacenter", "Datacenter"),
        ("host_count", "Hosts"),
        ("cpu_total_mhz", "CPU MHz"),
        ("memory_total_mib", "Memory MiB"),
        ("ha_enabled", "HA"),
        ("drs_enabled", "DRS"),
        ("integration", "Integration"),
    ],
    "datacenters": [("name", "Name"), ("integration", "Integration")],
    "datastores": [
        ("name", "Name"),
        ("type", "Type"),
        ("capacity_bytes", "Capacity B"),
        ("free_bytes", "Free B"),
        ("accessible", "Accessible"),
        ("integration", "Integration"),
    ],
    "networks": [
        ("name", "Name"),
        ("type", "Type"),
        ("vlan", "VLAN"),
        ("switch_name", "Switch"),
        ("integration", "Integration"),
    ],
}


def get_command(
    ctx: typer.Context,
    object_type: Annotated[ListableType, typer.Argument(help="What to list")],
    integration: Annotated[str | None, typer.Option(help="Only this integration")] = None,
    tag: Annotated[
        str | None, typer.Option(help="Only objects with this vSphere tag, as Category:Name")
    ] = None,
    json_output: Annotated[bool, typer.Option("--json", help="Print JSON")] = False,
    as_of: Annotated[
        str | None,
        typer.Option("--as-of", help="ISO-8601 time (UTC if no zone): the objects present then"),
    ] = None,
) -> None:
    """List inventory objects of one type."""
    at = parse_as_of(as_of) if as_of is not None else None
    with inventory_as_of(get_context(ctx).db, at) as db:
        rows = list_objects(db, object_type.value, integration=integration, tag=tag)
    if json_output:
        print_json(rows)
        return
    print_table(
        rows,
        TABLE_COLUMNS[object_type.value],
        empty=f"No {object_type.value} yet: add an integration and run `iroa sync`.",
    )


SHOWN_WARNINGS = 5


def history_command(
    ctx: typer.Context,
    name: Annotated[str | None, typer.Argument(help="Only this integration")] = None,
    json_output: Annotated[bool, typer.Option("--json", help="Print JSON")] = False,
) -> None:
    """List sync runs, newest first."""
    rows = list_runs(get_context(ctx).db, name)
    if json_output:
        print_json(rows)
        return
    rows = [{**row, "skipped": len(row["warnings"]) or None} for row in rows]
    print_table(
        rows,
        [
            ("id", "Run"),
            ("integration", "Integration"),
            ("trigger", "Trigger"),
            ("status", "Status"),
            ("started_at", "Started"),
            ("duration_s", "Seconds"),
            ("added", "Added"),
            ("modified", "Modified"),
            ("removed", "Removed"),
            ("skipped", "Skipped"),
            ("error", "Error"),
        ],
        empty="No sync runs yet.",
    )
    for row in rows:
        warnings = row["warnings"]
        for warning in warnings[:SHOWN_WARNINGS]:
            say(f"run {row['id']} skipped {warning['type']} {warning['id']}: {warning['reason']}")
        if len(warnings) > SHOWN_WARNINGS:
            more = len(warnings) - SHOWN_WARNINGS
            say(f"run {row['id']} skipped {more} more (see --json)")
