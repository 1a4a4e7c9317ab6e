"""vHealth: the few checks IROA can make honestly from what a sync collected.

Each check is one select over the present inventory and a pure function that
words its finding; none guesses at data a platform does not report (see
docs/exports.md for what each check covers on vCenter and on Hyper-V):

- a snapshot (Hyper-V checkpoint) older than :data:`SNAPSHOT_MAX_AGE`;
- a powered-on vCenter VM whose VMware Tools are not running, not installed or
  out of date; a Hyper-V VM whose integration services report "Update required";
- a datastore (CSV, volume) with less than :data:`DATASTORE_MIN_FREE_PERCENT` free,
  or not accessible;
- a host in maintenance mode, or disconnected / not responding / down.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Connection, Select, func, or_, select

from iroa.exports.columns import (
    INTEGRATION,
    PLATFORM,
    Column,
    Scope,
    empty,
    free_percent,
    key,
    scoped,
    vi_sdk_server,
)
from iroa.inventory import models as m

SNAPSHOT_MAX_AGE = timedelta(days=7)
DATASTORE_MIN_FREE_PERCENT = 10
VMWARE_TOOLS_PROBLEMS = {
    "toolsNotRunning": "VMware Tools are not running",
    "guestToolsNotRunning": "VMware Tools are not running",
    "toolsNotInstalled": "VMware Tools are not installed",
    "toolsOld": "VMware Tools are out of date",
}
HYPERV_SERVICES_PROBLEMS = {"Update required": "Integration services need an update"}
HOST_DOWN_STATES = {
    "disconnected": "Host is disconnected",
    "notResponding": "Host is not responding",
    "down": "Cluster node is down",
}


@dataclass(frozen=True)
class Finding:
    name: str
    message: str
    message_type: str
    object_type: str
    platform: str
    integration: str


@dataclass(frozen=True)
class Check:
    """One health check: the rows it looks at and how a row becomes findings."""

    select: Callable[[int | None, datetime], Select[Any]]
    findings: Callable[[Any, datetime], Iterator[Finding]]


def _snapshots(integration_id: int | None, now: datetime) -> Select[Any]:
    snapshot, vm = m.VmSnapshot.__table__, m.Vm.__table__
    return (
        scoped(
            snapshot,
            integration_id,
            vm.c.name.label("vm"),
            snapshot.c.name,
            snapshot.c.created_at,
        )
        .join(vm, vm.c.id == snapshot.c.vm_id)
        .where(vm.c.removed_at.is_(None), snapshot.c.created_at < now - SNAPSHOT_MAX_AGE)
        .order_by(vm.c.name, snapshot.c.created_at, snapshot.c.id)
    )


def snapshot_findings(row: Any, now: datetime) -> Iterator[Finding]:
    """A snapshot older than the limit, with its age in whole days."""
    created: datetime = row.created_at
    age = (now - created.astimezone(UTC)).days
    yield Finding(
        row.vm,
        f"Snapshot {row.name!r} is {age} days old (taken {created:%Y-%m-%d %H:%M} UTC)",
        "Snapshot",
        "vm",
        row.platform,
        row.integration,
    )


def _tools(integration_id: int | None, now: datetime) -> Select[Any]:
    vm = m.Vm.__table__
    problems = [*VMWARE_TOOLS_PROBLEMS, *HYPERV_SERVICES_PROBLEMS]
    return (
        scoped(vm, integration_id, vm.c.name, vm.c.tools_status, vm.c.power_state)
        .where(vm.c.power_state == "on", vm.c.is_template.is_(False))
        .where(vm.c.tools_status.in_(problems))
        .order_by(vm.c.name, vm.c.id)
    )


def tools_findings(row: Any, now: datetime) -> Iterator[Finding]:
    """A running VM whose guest tools (or integration services) need attention."""
    problems = VMWARE_TOOLS_PROBLEMS if row.platform == "vcenter" else HYPERV_SERVICES_PROBLEMS
    message = problems.get(row.tools_status)
    if message is not None:
        yield Finding(row.name, message, "VM Tools", "vm", row.platform, row.integration)


def _datastores(integration_id: int | None, now: datetime) -> Select[Any]:
    ds = m.Datastore.__table__
    low = (ds.c.capacity_bytes > 0) & (
        ds.c.free_bytes * 100 < ds.c.capacity_bytes * DATASTORE_MIN_FREE_PERCENT
    )
    return (
        scoped(ds, integration_id, ds.c.name, ds.c.capacity_bytes, ds.c.free_bytes, ds.c.accessible)
        .where(or_(low, ds.c.accessible.is_(False)))
        .order_by(ds.c.name, ds.c.id)
    )


def nearly_full(capacity_bytes: int | None, free_bytes: int | None) -> bool:
    """Less than :data:`DATASTORE_MIN_FREE_PERCENT` free, if both sizes are known."""
    if not capacity_bytes or free_bytes is None:
        return False
    return free_bytes * 100 < capacity_bytes * DATASTORE_MIN_FREE_PERCENT


def datastore_findings(row: Any, now: datetime) -> Iterator[Finding]:
    """A datastore that is not accessible, or nearly full."""
    found = []
    if row.accessible is False:
        found.append("Datastore is not accessible")
    if nearly_full(row.capacity_bytes, row.free_bytes):
        found.append(
            f"Datastore has {free_percent(row.capacity_bytes, row.free_bytes)} % free "
            f"({row.free_bytes >> 20} MiB of {row.capacity_bytes >> 20} MiB), "
            f"under {DATASTORE_MIN_FREE_PERCENT} %"
        )
    for message in found:
        yield Finding(row.name, message, "Datastore", "datastore", row.platform, row.integration)


def _hosts(integration_id: int | None, now: datetime) -> Select[Any]:
    host = m.Host.__table__
    return (
        scoped(host, integration_id, host.c.name, host.c.in_maintenance, host.c.connection_state)
        .where(or_(host.c.in_maintenance.is_(True), host.c.connection_state.in_(HOST_DOWN_STATES)))
        .order_by(host.c.name, host.c.id)
    )


def host_findings(row: Any, now: datetime) -> Iterator[Finding]:
    """A host that is down or in maintenance mode."""
    down = HOST_DOWN_STATES.get(row.connection_state)
    if down is not None:
        yield Finding(row.name, down, "Host", "host", row.platform, row.integration)
    if row.in_maintenance:
        yield Finding(
            row.name, "Host is in maintenance mode", "Host", "host", row.platform, row.integration
        )


CHECKS: tuple[Check, ...] = (
    Check(_snapshots, snapshot_findings),
    Check(_tools, tools_findings),
    Check(_datastores, datastore_findings),
    Check(_hosts, host_findings),
)


@dataclass(frozen=True)
class HealthSheet:
    """vHealth: one row per finding of :data:`CHECKS`; progress counts the rows examined.

    RVTools' columns (``Name``, ``Message``, ``Message type``, ``VI SDK Server``, ``VI SDK
    UUID``), then IROA's ``Object type``, ``Platform`` and ``Integration``."""

    name: str = "vHealth"
    columns: tuple[Column, ...] = (
        Column("Name", key("name"), 30),
        Column("Message", key("message"), 70),
        Column("Message type", key("message_type"), 12),
        Column("VI SDK Server", key("vi_sdk_server"), 24),
        Column("VI SDK UUID", empty, 12),
        Column("Object type", key("object_type"), 10),
        PLATFORM,
        INTEGRATION,
    )

    def columns_for(self, conn: Connection, scope: Scope) -> tuple[Column, ...]:
        return self.columns

    def count(self, conn: Connection, scope: Scope) -> int:
        total = 0
        for check in CHECKS:
            inner = check.select(scope.integration_id, scope.now).order_by(None).subquery()
            total += int(conn.execute(select(func.count()).select_from(inner)).scalar_one())
        return total

    def chunks(
        self, conn: Connection, scope: Scope, chunk_size: int
    ) -> Iterator[tuple[list[list[Any]], int]]:
        for check in CHECKS:
            stmt = check.select(scope.integration_id, scope.now)
            result = conn.execution_options(yield_per=chunk_size).execute(stmt)
            for partition in result.partitions():
                cells = [
                    _cells(f, vi_sdk_server(row))
                    for row in partition
                    for f in check.findings(row, scope.now)
                ]
                yield cells, len(partition)


def _cells(finding: Finding, server: str | None) -> list[Any]:
    return [
        finding.name,
        finding.message,
        finding.message_type,
        server,
        None,
        finding.object_type,
        finding.platform,
        finding.integration,
    ]


VHEALTH = HealthSheet()
