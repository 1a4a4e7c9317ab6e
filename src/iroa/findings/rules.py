"""The health rules: each is one set-based query over one integration's inventory.

A rule's ``evaluate`` gets a connection and the :class:`Context` of the
integration being checked and returns a :class:`Hit` for every present object
the rule holds for. Adding a rule is one such function and one entry in
:data:`~iroa.findings.catalog.RULES` (with its condition in words there); the
findings and the workbook's vHealth sheet both evaluate that catalogue. The
monitoring rules read the monitoring tables and hold for nothing until an
enabled integration of their kind (Zabbix, Prometheus) has had a successful
run. A rule with ``needs`` set waits for data IROA does not collect and
evaluates to nothing.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, Float, Select, and_, func, or_, select, type_coerce

from iroa.config import Settings
from iroa.db.base import UTCDateTime
from iroa.history.models import Change
from iroa.inventory.models import (
    Cluster,
    Datastore,
    Host,
    OrphanedDisk,
    Vm,
    VmCpuSample,
    VmDatastore,
    VmDevice,
    VmDisk,
    VmPartition,
    VmSnapshot,
)

GIB = 1 << 30
MIB = 1 << 20
PARTITIONS_NAMED = 3
"""A guest partition finding names at most this many partitions, the fullest first."""
ORPHANED_DISKS_NAMED = 3
"""An orphaned disk finding names at most this many files, the largest first."""
TOOLS_NOT_RUNNING = ("toolsNotRunning", "toolsNotInstalled", "guestToolsNotRunning")
"""vCenter ``guest.toolsStatus`` / ``guest.toolsRunningStatus`` values of a guest without tools."""
TOOLS_OUTDATED = ("toolsOld", "Update required")
"""vCenter ``toolsOld``; Hyper-V ``IntegrationServicesState`` "Update required"."""
TOOLS_VERSION_OUTDATED = {
    "guestToolsNeedUpgrade": "info",
    "guestToolsSupportedOld": "info",
    "guestToolsTooOld": "warning",
    "guestToolsBlacklisted": "warning",
}
"""vCenter ``guest.toolsVersionStatus2`` values of tools older than the host offers, with the
severity: still supported (info), or too old or known to be broken (warning)."""
STATUS_SEVERITY = {"red": "critical", "yellow": "warning"}
"""vCenter ``overallStatus`` (alarms and configuration issues) that is a finding."""
HOST_UNREACHABLE = ("disconnected", "notResponding", "down")
"""Connection states of a host its manager cannot reach (vCenter; Hyper-V cluster node)."""


@dataclass(frozen=True, slots=True)
class Thresholds:
    """Where each rule starts to hold; from ``IROA_FINDINGS_*`` settings."""

    snapshot_max_age_days: float = 7.0
    snapshot_max_count: int = 3
    datastore_free_warning_pct: float = 20.0
    datastore_free_critical_pct: float = 10.0
    powered_off_days: float = 30.0
    vcpu_per_core_max: float = 4.0
    memory_overcommit_max: float = 1.0
    datastore_vm_max: int = 30
    hardware_version_min: int = 13
    idle_cpu_pct: float = 5.0
    idle_syncs: int = 6
    idle_min_samples: int = 3
    partition_free_warning_pct: float = 10.0
    partition_free_critical_pct: float = 5.0
    snapshot_max_size_gib: float = 50.0

    @classmethod
    def from_settings(cls, settings: Settings) -> Thresholds:
        return cls(
            snapshot_max_age_days=settings.findings_snapshot_max_age_days,
            snapshot_max_count=settings.findings_snapshot_max_count,
            datastore_free_warning_pct=settings.findings_datastore_free_warning_pct,
            datastore_free_critical_pct=settings.findings_datastore_free_critical_pct,
            powered_off_days=settings.findings_powered_off_days,
            vcpu_per_core_max=settings.findings_vcpu_per_core_max,
            memory_overcommit_max=settings.findings_memory_overcommit_max,
            datastore_vm_max=settings.findings_datastore_vm_max,
            hardware_version_min=settings.findings_hardware_version_min,
            idle_cpu_pct=settings.findings_idle_cpu_pct,
            idle_syncs=settings.findings_idle_syncs,
            idle_min_samples=settings.findings_idle_min_samples,
            partition_free_warning_pct=settings.findings_partition_free_warning_pct,
            partition_free_critical_pct=settings.findings_partition_free_critical_pct,
            snapshot_max_size_gib=settings.findings_snapshot_max_size_gib,
        )


@dataclass(frozen=True, slots=True)
class Context:
    """What a rule evaluates against: one integration, at one moment, with thresholds."""

    integration_id: int
    platform: str
    now: datetime
    thresholds: Thresholds


@dataclass(frozen=True, slots=True)
class Hit:
    """A rule holds for one object."""

    object_type: str
    object_id: int
    external_id: str
    name: str | None
    severity: str
    message: str


@dataclass(frozen=True, slots=True)
class Rule:
    id: str
    title: str
    object_types: tuple[str, ...]
    severity: str
    """The highest severity the rule gives."""
    evaluate: Callable[[Connection, Context], Iterable[Hit]]
    needs: str | None = None
    """What the rule waits for before it can hold (it produces nothing until then)."""

    @property
    def active(self) -> bool:
        return self.needs is None


def present(model: Any, ctx: Context) -> Any:
    return and_(model.integration_id == ctx.integration_id, model.removed_at.is_(None))


def present_vms(ctx: Context, *columns: Any) -> Select[Any]:
    return select(Vm.id, Vm.external_id, Vm.name, *columns).where(
        present(Vm, ctx), Vm.is_template.is_(False)
    )


def _day(value: datetime) -> str:
    return value.strftime("%Y-%m-%d")


def figure(value: float) -> str:
    return f"{value:g}"


def old_snapshots(conn: Connection, ctx: Context) -> Iterable[Hit]:
    """VMs whose oldest present snapshot is older than the age threshold."""
    cutoff = ctx.now - timedelta(days=ctx.thresholds.snapshot_max_age_days)
    oldest = func.min(VmSnapshot.created_at)
    stmt = (
        present_vms(ctx, type_coerce(oldest, UTCDateTime), func.count(VmSnapshot.id))
        .join(VmSnapshot, and_(VmSnapshot.vm_id == Vm.id, VmSnapshot.removed_at.is_(None)))
        .group_by(Vm.id, Vm.external_id, Vm.name)
        .having(oldest < type_coerce(cutoff, UTCDateTime))
    )
    limit = figure(ctx.thresholds.snapshot_max_age_days)
    for vm_id, external_id, name, taken_at, count in conn.execute(stmt):
        yield Hit(
            "vm",
            vm_id,
            external_id,
            name,
            "warning",
            f"{'a snapshot' if count == 1 else f'{count} snapshots'}, the oldest taken "
            f"{_day(taken_at)}: older than {limit} days",
        )


def many_snapshots(conn: Connection, ctx: Context) -> Iterable[Hit]:
    """VMs with more present snapshots than the count threshold."""
    count = func.count(VmSnapshot.id)
    stmt = (
        present_vms(ctx, count)
        .join(VmSnapshot, and_(VmSnapshot.vm_id == Vm.id, VmSnapshot.removed_at.is_(None)))
        .group_by(Vm.id, Vm.external_id, Vm.name)
        .having(count > ctx.thresholds.snapshot_max_count)
    )
    for vm_id, external_id, name, found in conn.execute(stmt):
        yield Hit(
            "vm",
            vm_id,
            external_id,
            name,
            "warning",
            f"{found} snapshots: more than {ctx.thresholds.snapshot_max_count}",
        )


def tools_not_running(conn: Connection, ctx: Context) -> Iterable[Hit]:
    """Powered-on VMs whose guest tools (VMware Tools, Hyper-V integration services) are silent.

    Hyper-V reports no integration services state for a running VM whose services
    do not answer; vCenter names the state, and a VM it reports nothing for is left out.
    """
    if ctx.platform == "hyperv":
        silent = or_(Vm.tools_status.is_(None), Vm.tools_status == "")
        what = "Hyper-V integration services report no state"
    else:
        silent = Vm.tools_status.in_(TOOLS_NOT_RUNNING)
        what = "VMware Tools are not running"
    stmt = present_vms(ctx, Vm.tools_status).where(Vm.power_state == "on", silent)
    for vm_id, external_id, name, status in conn.execute(stmt):
        detail = f" ({status})" if status else ""
        yield Hit("vm", vm_id, external_id, name, "warning", f"{what}{detail} on a running VM")


def tools_outdated(conn: Connection, ctx: Context) -> Iterable[Hit]:
    """VMs whose guest tools need an update (vCenter: ``toolsOld`` or an outdated
    ``toolsVersionStatus2``)."""
    stmt = present_vms(ctx, Vm.tools_status, Vm.tools_version, Vm.tools_version_status).where(
        or_(
            Vm.tools_status.in_(TOOLS_OUTDATED), Vm.tools_version_status.in_(TOOLS_VERSION_OUTDATED)
        )
    )
    what = "Hyper-V integration services" if ctx.platform == "hyperv" else "VMware Tools"
    for vm_id, external_id, name, status, version, version_status in conn.execute(stmt):
        installed = f" (version {version})" if version else ""
        severity = TOOLS_VERSION_OUTDATED.get(version_status or "", "info")
        reason = ", ".join(
            v
            for v in (status, version_status)
            if v in TOOLS_OUTDATED or v in TOOLS_VERSION_OUTDATED
        )
        yield Hit(
            "vm", vm_id, external_id, name, severity, f"{what}{installed} need an update: {reason}"
        )


def powered_off_long(conn: Connection, ctx: Context) -> Iterable[Hit]:
    """VMs powered off for longer than the threshold.

    Off since: the last change that recorded a new power state (it is the current
    one, off), else when IROA first saw the VM — the VM was off at least since then.
    """
    cutoff = ctx.now - timedelta(days=ctx.thresholds.powered_off_days)
    last_change = func.max(Change.changed_at)
    since = type_coerce(func.coalesce(last_change, Vm.first_seen_at), UTCDateTime)
    stmt = (
        present_vms(ctx, since, last_change.is_(None))
        .outerjoin(
            Change,
            and_(
                Change.object_type == "vm",
                Change.object_id == Vm.id,
                Change.fields["power_state"].as_string().is_not(None),
            ),
        )
        .where(Vm.power_state == "off")
        .group_by(Vm.id, Vm.external_id, Vm.name, Vm.first_seen_at)
        .having(since < type_coerce(cutoff, UTCDateTime))
    )
    limit = figure(ctx.thresholds.powered_off_days)
    for vm_id, external_id, name, off_since, never_changed in conn.execute(stmt):
        when = (
            f"since at least {_day(off_since)}, when IROA first saw it"
            if never_changed
            else f"since {_day(off_since)}"
        )
        yield Hit("vm", vm_id, external_id, name, "info", f"powered off {when}: over {limit} days")


def low_free_space(conn: Connection, ctx: Context) -> Iterable[Hit]:
    """Datastores, volumes and CSVs with little free space: warning, then critical."""
    t = ctx.thresholds
    free_pct = type_coerce(Datastore.free_bytes, Float) * 100.0 / Datastore.capacity_bytes
    stmt = select(
        Datastore.id,
        Datastore.external_id,
        Datastore.name,
        Datastore.free_bytes,
        Datastore.capacity_bytes,
    ).where(
        present(Datastore, ctx),
        Datastore.capacity_bytes > 0,
        Datastore.free_bytes.is_not(None),
        free_pct < max(t.datastore_free_warning_pct, t.datastore_free_critical_pct),
    )
    for ds_id, external_id, name, free, capacity in conn.execute(stmt):
        if free is None or not capacity:
            continue
        pct = free * 100.0 / capacity
        critical = pct < t.datastore_free_critical_pct
        limit = t.datastore_free_critical_pct if critical else t.datastore_free_warning_pct
        yield Hit(
            "datastore",
            ds_id,
            external_id,
            name,
            "critical" if critical else "warning",
            f"{pct:.1f}% free ({free / GIB:,.1f} GiB of {capacity / GIB:,.1f} GiB): "
            f"below {figure(limit)}%",
        )


def host_unreachable(conn: Connection, ctx: Context) -> Iterable[Hit]:
    """Hosts their vCenter or failover cluster cannot reach."""
    stmt = select(Host.id, Host.external_id, Host.name, Host.connection_state).where(
        present(Host, ctx), Host.connection_state.in_(HOST_UNREACHABLE)
    )
    for host_id, external_id, name, state in conn.execute(stmt):
        yield Hit("host", host_id, external_id, name, "critical", f"connection state is {state}")


def host_in_maintenance(conn: Connection, ctx: Context) -> Iterable[Hit]:
    """Hosts in maintenance mode (vCenter) or paused or draining (Hyper-V cluster node)."""
    stmt = select(Host.id, Host.external_id, Host.name).where(
        present(Host, ctx), Host.in_maintenance.is_(True)
    )
    for host_id, external_id, name in conn.execute(stmt):
        yield Hit("host", host_id, external_id, name, "info", "in maintenance mode")


def _overcommit(
    conn: Connection,
    ctx: Context,
    vm_amount: Any,
    host_amount: Any,
    limit: float,
    describe: Callable[[float, int, int], str],
) -> Iterable[Hit]:
    """Powered-on VMs' ``vm_amount`` over the hosts' ``host_amount``, per cluster and per
    standalone host, where the ratio exceeds ``limit``; hosts of unknown size count as none.

    One pass over the VMs, grouped by cluster and host, then sums per cluster here:
    cheaper on SQLite than a grouped subquery per cluster and per host.
    """
    demand_rows = conn.execute(
        select(Vm.cluster_id, Vm.host_id, func.sum(vm_amount))
        .where(present(Vm, ctx), Vm.is_template.is_(False), Vm.power_state == "on")
        .group_by(Vm.cluster_id, Vm.host_id)
    ).all()
    hosts = conn.execute(
        select(Host.id, Host.external_id, Host.name, Host.cluster_id, host_amount).where(
            present(Host, ctx)
        )
    ).all()
    clusters = conn.execute(
        select(Cluster.id, Cluster.external_id, Cluster.name).where(present(Cluster, ctx))
    ).all()
    cluster_demand: dict[int, int] = {}
    host_demand: dict[int, int] = {}
    for cluster_id, host_id, amount in demand_rows:
        if amount is None:
            continue
        if cluster_id is not None:
            cluster_demand[cluster_id] = cluster_demand.get(cluster_id, 0) + int(amount)
        if host_id is not None:
            host_demand[host_id] = host_demand.get(host_id, 0) + int(amount)
    cluster_supply: dict[int, int] = {}
    for _, _, _, cluster_id, amount in hosts:
        if cluster_id is not None and amount:
            cluster_supply[cluster_id] = cluster_supply.get(cluster_id, 0) + int(amount)
    candidates = [
        ("cluster", cluster_id, external_id, name, cluster_demand.get(cluster_id), supply)
        for cluster_id, external_id, name in clusters
        if (supply := cluster_supply.get(cluster_id))
    ] + [
        ("host", host_id, external_id, name, host_demand.get(host_id), amount)
        for host_id, external_id, name, cluster_id, amount in hosts
        if cluster_id is None and amount
    ]
    for object_type, object_id, external_id, name, demand, supply in candidates:
        if not demand:
            continue
        ratio = demand / supply
        if ratio > limit:
            yield Hit(
                object_type,
                object_id,
                external_id,
                name,
                "warning",
                describe(ratio, demand, int(supply)),
            )


def cpu_overcommit(conn: Connection, ctx: Context) -> Iterable[Hit]:
    """vCPUs of powered-on VMs per physical core above the threshold."""
    limit = ctx.thresholds.vcpu_per_core_max
    return _overcommit(
        conn,
        ctx,
        Vm.num_cpu,
        Host.cpu_cores,
        limit,
        lambda ratio, vcpus, cores: (
            f"{ratio:.2f} vCPUs per core ({vcpus} vCPUs of running VMs on {cores} cores): "
            f"above {figure(limit)}"
        ),
    )


def memory_overcommit(conn: Connection, ctx: Context) -> Iterable[Hit]:
    """Configured memory of powered-on VMs per host memory above the threshold."""
    limit = ctx.thresholds.memory_overcommit_max
    return _overcommit(
        conn,
        ctx,
        Vm.memory_mib,
        Host.memory_mib,
        limit,
        lambda ratio, vm_mib, host_mib: (
            f"memory overcommit {ratio:.2f} ({vm_mib / 1024:,.0f} GiB of running VMs on "
            f"{host_mib / 1024:,.0f} GiB): above {figure(limit)}"
        ),
    )


def datastore_inaccessible(conn: Connection, ctx: Context) -> Iterable[Hit]:
    """Datastores (volumes, CSVs) their source reports as not accessible."""
    stmt = select(Datastore.id, Datastore.external_id, Datastore.name).where(
        present(Datastore, ctx), Datastore.accessible.is_(False)
    )
    for ds_id, external_id, name in conn.execute(stmt):
        yield Hit("datastore", ds_id, external_id, name, "critical", "not accessible")


def consolidation_needed(conn: Connection, ctx: Context) -> Iterable[Hit]:
    """VMs whose disks vCenter says need consolidation (redundant delta disks left over)."""
    stmt = present_vms(ctx).where(Vm.consolidation_needed.is_(True))
    for vm_id, external_id, name in conn.execute(stmt):
        yield Hit(
            "vm",
            vm_id,
            external_id,
            name,
            "warning",
            "its disks need consolidation (delta disks a snapshot operation left behind)",
        )


def overall_status(conn: Connection, ctx: Context) -> Iterable[Hit]:
    """VMs, hosts, clusters and datastores whose vCenter status is red or yellow."""
    kinds: tuple[tuple[str, Any], ...] = (
        ("vm", Vm),
        ("host", Host),
        ("cluster", Cluster),
        ("datastore", Datastore),
    )
    for object_type, model in kinds:
        stmt = select(model.id, model.external_id, model.name, model.overall_status).where(
            present(model, ctx), model.overall_status.in_(STATUS_SEVERITY)
        )
        if model is Vm:
            stmt = stmt.where(Vm.is_template.is_(False))
        for object_id, external_id, name, status in conn.execute(stmt):
            yield Hit(
                object_type,
                object_id,
                external_id,
                name,
                STATUS_SEVERITY[status],
                f"vCenter status is {status} (a triggered alarm or a configuration issue)",
            )


def old_hardware_version(conn: Connection, ctx: Context) -> Iterable[Hit]:
    """vCenter VMs whose virtual hardware version ``vmx-NN`` is below the threshold."""
    minimum = ctx.thresholds.hardware_version_min
    stmt = present_vms(ctx, Vm.hardware_version).where(Vm.hardware_version.like("vmx-%"))
    for vm_id, external_id, name, hardware_version in conn.execute(stmt):
        number = hardware_version_number(hardware_version)
        if number is not None and number < minimum:
            yield Hit(
                "vm",
                vm_id,
                external_id,
                name,
                "info",
                f"virtual hardware version {hardware_version}: below vmx-{minimum}",
            )


def hardware_version_number(value: str) -> int | None:
    """``13`` of ``vmx-13``; None for anything else."""
    prefix, _, number = value.partition("-")
    return int(number) if prefix == "vmx" and number.isdigit() else None


def datastore_many_vms(conn: Connection, ctx: Context) -> Iterable[Hit]:
    """Datastores holding files of more VMs (templates excluded) than the threshold."""
    limit = ctx.thresholds.datastore_vm_max
    vms = func.count(func.distinct(VmDatastore.vm_id))
    stmt = (
        select(Datastore.id, Datastore.external_id, Datastore.name, vms)
        .join(VmDatastore, VmDatastore.datastore_id == Datastore.id)
        .join(Vm, Vm.id == VmDatastore.vm_id)
        .where(
            present(Datastore, ctx),
            VmDatastore.removed_at.is_(None),
            Vm.removed_at.is_(None),
            Vm.is_template.is_(False),
        )
        .group_by(Datastore.id, Datastore.external_id, Datastore.name)
        .having(vms > limit)
    )
    for ds_id, external_id, name, found in conn.execute(stmt):
        yield Hit(
            "datastore", ds_id, external_id, name, "warning", f"{found} VMs: more than {limit}"
        )


def disk_not_on_host(conn: Connection, ctx: Context) -> Iterable[Hit]:
    """VMs with a disk on a datastore their host does not have (not mounted there).

    Only hosts whose datastores are known (vCenter) are checked.
    """
    available = {
        host_id: set(datastores)
        for host_id, datastores in conn.execute(
            select(Host.id, Host.datastore_external_ids).where(
                present(Host, ctx), Host.datastore_external_ids.is_not(None)
            )
        )
        if datastores is not None
    }
    if not available:
        return
    stmt = (
        present_vms(ctx, Vm.host_id, Host.name, Datastore.external_id, Datastore.name)
        .join(Host, Host.id == Vm.host_id)
        .join(VmDisk, and_(VmDisk.vm_id == Vm.id, VmDisk.removed_at.is_(None)))
        .join(Datastore, Datastore.id == VmDisk.datastore_id)
        .where(Host.removed_at.is_(None), Datastore.removed_at.is_(None))
    )
    unseen: dict[tuple[int, str, str | None, str | None], set[str]] = {}
    for vm_id, external_id, name, host_id, host_name, ds_external_id, ds_name in conn.execute(stmt):
        datastores = available.get(host_id)
        if datastores is not None and ds_external_id not in datastores:
            unseen.setdefault((vm_id, external_id, name, host_name), set()).add(ds_name)
    for (vm_id, external_id, name, host_name), names in unseen.items():
        yield Hit(
            "vm",
            vm_id,
            external_id,
            name,
            "critical",
            f"a disk on {', '.join(sorted(names))}, which its host {host_name} does not mount",
        )


def idle_vms(conn: Connection, ctx: Context) -> Iterable[Hit]:
    """Running VMs whose CPU use stayed under the idle share of their vCPUs' capacity (vCPUs
    times their host's core MHz) at every sample of the recent full syncs, with enough samples.

    The samples are vCenter's ``summary.quickStats.overallCpuUsage`` of running VMs, one
    per full sync (:mod:`iroa.sync.usage`); a VM on a host of unknown speed is left out.
    """
    t = ctx.thresholds
    recent = (
        select(VmCpuSample.run_id)
        .where(VmCpuSample.integration_id == ctx.integration_id)
        .group_by(VmCpuSample.run_id)
        .order_by(VmCpuSample.run_id.desc())
        .limit(t.idle_syncs)
    )
    samples = func.count(VmCpuSample.id)
    peak = func.max(VmCpuSample.cpu_used_mhz)
    capacity = type_coerce(Vm.num_cpu, Float) * Host.cpu_mhz
    stmt = (
        present_vms(ctx, Vm.num_cpu, Host.cpu_mhz, samples, peak)
        .join(Host, Host.id == Vm.host_id)
        .join(
            VmCpuSample,
            and_(
                VmCpuSample.integration_id == Vm.integration_id,
                VmCpuSample.external_id == Vm.external_id,
                VmCpuSample.run_id.in_(recent.scalar_subquery()),
            ),
        )
        .where(Vm.power_state == "on", Vm.num_cpu > 0, Host.cpu_mhz > 0)
        .group_by(Vm.id, Vm.external_id, Vm.name, Vm.num_cpu, Host.cpu_mhz)
        .having(samples >= t.idle_min_samples, peak * 100.0 < capacity * t.idle_cpu_pct)
    )
    limit = figure(t.idle_cpu_pct)
    for vm_id, external_id, name, vcpus, mhz, count, most in conn.execute(stmt):
        yield Hit(
            "vm",
            vm_id,
            external_id,
            name,
            "info",
            f"CPU use at most {most:,} MHz at each of the last {count} syncs: under {limit}% "
            f"of its {vcpus} vCPUs at {mhz:,} MHz ({vcpus * mhz:,} MHz)",
        )


def cd_connected(conn: Connection, ctx: Context) -> Iterable[Hit]:
    """VMs with a CD/DVD drive connected to an ISO image or a device.

    A connected drive pins the VM: vMotion and DRS refuse to move it while the ISO or
    the host's drive is not reachable from the destination, and a forgotten installer
    ISO keeps its datastore busy. vCenter reports a drive connected only while the VM
    runs; Hyper-V's drive is connected while it holds media (docs/hyperv.md).
    """
    stmt = (
        present_vms(ctx, VmDevice.label, VmDevice.device_type)
        .join(VmDevice, and_(VmDevice.vm_id == Vm.id, VmDevice.removed_at.is_(None)))
        .where(VmDevice.kind == "cd", VmDevice.connected.is_(True))
        .order_by(Vm.id, VmDevice.label)
    )
    drives: dict[tuple[int, str, str | None], list[str]] = {}
    for vm_id, external_id, name, label, backing in conn.execute(stmt):
        drives.setdefault((vm_id, external_id, name), []).append(
            f"{label} is connected to {_cd_backing(backing)}"
        )
    for (vm_id, external_id, name), described in drives.items():
        yield Hit("vm", vm_id, external_id, name, "warning", "; ".join(described))


def _cd_backing(device_type: str | None) -> str:
    """What a connected drive holds, in words: an ISO image (a datastore path or a file
    named ``.iso``), a named device, or a device that names none (a vCenter client device)."""
    if not device_type:
        return "a device it does not name"
    if device_type.startswith("[") or device_type.lower().endswith(".iso"):
        return f"the ISO image {device_type}"
    return f"the device {device_type}"


def partition_low_free_space(conn: Connection, ctx: Context) -> Iterable[Hit]:
    """VMs with a guest file system (VMware Tools' ``guest.disk``) low on free space.

    One finding per VM, as for every VM rule: the fullest partition decides the
    severity, and the message names the partitions under the warning threshold, the
    fullest first (at most :data:`PARTITIONS_NAMED` of them, then how many more).
    """
    t = ctx.thresholds
    free_pct = type_coerce(VmPartition.free_bytes, Float) * 100.0 / VmPartition.capacity_bytes
    stmt = (
        present_vms(ctx, VmPartition.disk_path, VmPartition.free_bytes, VmPartition.capacity_bytes)
        .join(VmPartition, and_(VmPartition.vm_id == Vm.id, VmPartition.removed_at.is_(None)))
        .where(
            VmPartition.capacity_bytes > 0,
            VmPartition.free_bytes.is_not(None),
            free_pct < max(t.partition_free_warning_pct, t.partition_free_critical_pct),
        )
    )
    full: dict[tuple[int, str, str | None], list[tuple[float, str, int, int]]] = {}
    for vm_id, external_id, name, path, free, capacity in conn.execute(stmt):
        if free is None or not capacity:
            continue
        full.setdefault((vm_id, external_id, name), []).append(
            (free * 100.0 / capacity, path, free, capacity)
        )
    warning = figure(max(t.partition_free_warning_pct, t.partition_free_critical_pct))
    for (vm_id, external_id, name), partitions in full.items():
        partitions.sort()
        named = [
            f"{path} {pct:.1f}% free ({_size(free)} of {_size(capacity)}): "
            f"below {figure(_partition_limit(t, pct))}%"
            for pct, path, free, capacity in partitions[:PARTITIONS_NAMED]
        ]
        more = len(partitions) - PARTITIONS_NAMED
        if more > 0:
            named.append(f"and {more} more below {warning}%")
        critical = partitions[0][0] < t.partition_free_critical_pct
        yield Hit(
            "vm", vm_id, external_id, name, "critical" if critical else "warning", "; ".join(named)
        )


def _partition_limit(t: Thresholds, pct: float) -> float:
    """The threshold a partition with ``pct`` free is below: the critical one if it is."""
    return (
        t.partition_free_critical_pct
        if pct < t.partition_free_critical_pct
        else (t.partition_free_warning_pct)
    )


def _size(value: int) -> str:
    """``1.5 GiB``; under a GiB in MiB (``/boot``'s ``312 MiB``), where GiB would read 0.3."""
    if value >= GIB:
        return f"{value / GIB:,.1f} GiB"
    return f"{value / MIB:,.0f} MiB"


_GIB = 1024**3


def large_snapshots(conn: Connection, ctx: Context) -> Iterable[Hit]:
    """VMs whose present snapshots together hold more than the size threshold on disk: the
    space deleting them would give back, which grows as long as they are kept. Snapshots of
    unknown size (not read yet, or from a source that does not say) count as none."""
    held = func.sum(VmSnapshot.size_bytes)
    limit = ctx.thresholds.snapshot_max_size_gib
    stmt = (
        present_vms(ctx, held, func.count(VmSnapshot.id))
        .join(VmSnapshot, and_(VmSnapshot.vm_id == Vm.id, VmSnapshot.removed_at.is_(None)))
        .group_by(Vm.id, Vm.external_id, Vm.name)
        .having(held > limit * _GIB)
    )
    for vm_id, external_id, name, size, count in conn.execute(stmt):
        yield Hit(
            "vm",
            vm_id,
            external_id,
            name,
            "warning",
            f"{'a snapshot holds' if count == 1 else f'{count} snapshots hold'} "
            f"{int(size) / _GIB:.1f} GiB on disk: more than {figure(limit)} GiB",
        )


def orphaned_disks(conn: Connection, ctx: Context) -> Iterable[Hit]:
    """Datastores holding virtual disk files no VM of the integration uses, as the last
    search of the datastore found them (vCenter, :mod:`iroa.sync.orphans`). One finding
    per datastore, naming the largest files (at most :data:`ORPHANED_DISKS_NAMED`)."""
    stmt = (
        select(
            Datastore.id,
            Datastore.external_id,
            Datastore.name,
            OrphanedDisk.path,
            OrphanedDisk.size_bytes,
        )
        .join(
            OrphanedDisk,
            and_(
                OrphanedDisk.integration_id == Datastore.integration_id,
                OrphanedDisk.datastore_external_id == Datastore.external_id,
            ),
        )
        .where(present(Datastore, ctx))
    )
    found: dict[tuple[int, str, str | None], list[tuple[int | None, str]]] = {}
    for ds_id, external_id, ds_name, path, size in conn.execute(stmt):
        found.setdefault((ds_id, external_id, ds_name), []).append((size, path))
    for (ds_id, external_id, name), files in found.items():
        files.sort(key=lambda file: (-(file[0] or 0), file[1]))
        named = [
            path if size is None else f"{path} ({_size(size)})"
            for size, path in files[:ORPHANED_DISKS_NAMED]
        ]
        more = len(files) - ORPHANED_DISKS_NAMED
        if more > 0:
            named.append(f"and {more} more")
        count = "a disk" if len(files) == 1 else f"{len(files)} disks"
        sizes = [size for size, _ in files if size is not None]
        total = f" holding {_size(sum(sizes))}" if sizes else ""
        yield Hit(
            "datastore",
            ds_id,
            external_id,
            name,
            "warning",
            f"{count} no VM uses{total}: {', '.join(named)}",
        )
