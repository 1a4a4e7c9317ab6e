"""Rules that read monitoring data: objects Zabbix does not know, their Zabbix problems, VMs
without Prometheus metrics. Each holds only once its monitoring source has synced."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, cast

from sqlalchemy import Connection, Select, and_, exists, select, type_coerce

from iroa.db.base import UTCDateTime
from iroa.findings.rules import Context, Hit, present, present_vms
from iroa.integrations.models import Integration
from iroa.inventory.models import Host, Vm
from iroa.monitoring.models import MetricValue, ZabbixHostRow, ZabbixLink, ZabbixProblemRow

ZABBIX_SEVERITY_NAMES = ("not classified", "information", "warning", "average", "high", "disaster")


def zabbix_finding_severity(zabbix_severity: int) -> str:
    """Zabbix high and disaster are critical, warning and average a warning, the rest info."""
    if zabbix_severity >= 4:
        return "critical"
    if zabbix_severity >= 2:
        return "warning"
    return "info"


def _zabbix_severity_name(severity: int) -> str:
    if 0 <= severity < len(ZABBIX_SEVERITY_NAMES):
        return ZABBIX_SEVERITY_NAMES[severity]
    return str(severity)


def _monitoring_ready(conn: Connection, kind: str) -> bool:
    """Whether an enabled integration of ``kind`` has had a successful run.

    Without one a monitoring rule holds for nothing: a VM is not "unmonitored in
    Zabbix" where IROA reads no Zabbix at all.
    """
    return bool(
        conn.execute(
            select(
                exists().where(
                    Integration.kind == kind,
                    Integration.enabled.is_(True),
                    Integration.last_success_at.is_not(None),
                )
            )
        ).scalar()
    )


def _enabled_source(model: Any) -> Any:
    """Rows of an enabled monitoring integration (a disabled one's last data does not count)."""
    return exists().where(Integration.id == model.integration_id, Integration.enabled.is_(True))


def _objects(ctx: Context, object_type: str) -> Select[Any]:
    if object_type == "vm":
        return present_vms(ctx)
    return cast(
        "Select[Any]", select(Host.id, Host.external_id, Host.name).where(present(Host, ctx))
    )


def _not_in_zabbix(conn: Connection, ctx: Context, object_type: str) -> Iterable[Hit]:
    if not _monitoring_ready(conn, "zabbix"):
        return
    table = Vm if object_type == "vm" else Host
    linked = exists().where(
        ZabbixLink.object_type == object_type,
        ZabbixLink.object_id == table.id,
        ZabbixHostRow.id == ZabbixLink.zabbix_host_row_id,
        ZabbixHostRow.enabled.is_(True),
        _enabled_source(ZabbixHostRow),
    )
    what = "VM" if object_type == "vm" else "host"
    for object_id, external_id, name in conn.execute(_objects(ctx, object_type).where(~linked)):
        yield Hit(
            object_type,
            object_id,
            external_id,
            name,
            "warning",
            f"no monitored Zabbix host matches this {what}",
        )


def vm_not_in_zabbix(conn: Connection, ctx: Context) -> Iterable[Hit]:
    """VMs (not templates) no enabled Zabbix host matches, once Zabbix has been read."""
    return _not_in_zabbix(conn, ctx, "vm")


def host_not_in_zabbix(conn: Connection, ctx: Context) -> Iterable[Hit]:
    """Hosts no enabled Zabbix host matches, once Zabbix has been read."""
    return _not_in_zabbix(conn, ctx, "host")


def _zabbix_problems(conn: Connection, ctx: Context, object_type: str) -> Iterable[Hit]:
    """Objects whose matched Zabbix hosts have active problems; severity from the worst one."""
    if not _monitoring_ready(conn, "zabbix"):
        return
    table = Vm if object_type == "vm" else Host
    stmt = (
        _objects(ctx, object_type)
        .add_columns(
            ZabbixProblemRow.severity,
            ZabbixProblemRow.name,
            type_coerce(ZabbixProblemRow.started_at, UTCDateTime),
        )
        .join(
            ZabbixLink,
            and_(ZabbixLink.object_type == object_type, ZabbixLink.object_id == table.id),
        )
        .join(
            ZabbixHostRow,
            and_(ZabbixHostRow.id == ZabbixLink.zabbix_host_row_id, ZabbixHostRow.enabled),
        )
        .join(ZabbixProblemRow, ZabbixProblemRow.zabbix_host_row_id == ZabbixHostRow.id)
        .where(_enabled_source(ZabbixHostRow))
        .order_by(table.id, ZabbixProblemRow.severity.desc(), ZabbixProblemRow.started_at)
    )
    grouped: dict[int, list[Any]] = {}
    for row in conn.execute(stmt):
        grouped.setdefault(row[0], []).append(row)
    for object_id, rows in grouped.items():
        _, external_id, name, severity, problem, started_at = rows[0]
        count = (
            "an active Zabbix problem" if len(rows) == 1 else f"{len(rows)} active Zabbix problems"
        )
        since = f" since {started_at:%Y-%m-%d %H:%M} UTC" if started_at is not None else ""
        yield Hit(
            object_type,
            object_id,
            external_id,
            name,
            zabbix_finding_severity(severity),
            f"{count}, the worst {_zabbix_severity_name(severity)}: {problem}{since}",
        )


def vm_zabbix_problems(conn: Connection, ctx: Context) -> Iterable[Hit]:
    return _zabbix_problems(conn, ctx, "vm")


def host_zabbix_problems(conn: Connection, ctx: Context) -> Iterable[Hit]:
    return _zabbix_problems(conn, ctx, "host")


def vm_without_prometheus_metrics(conn: Connection, ctx: Context) -> Iterable[Hit]:
    """Running VMs no enabled Prometheus integration has a series for, once Prometheus has been
    read (a powered-off VM exports nothing, so it is left out)."""
    if not _monitoring_ready(conn, "prometheus"):
        return
    measured = exists().where(
        MetricValue.object_type == "vm",
        MetricValue.object_id == Vm.id,
        _enabled_source(MetricValue),
    )
    stmt = present_vms(ctx).where(Vm.power_state == "on", ~measured)
    for vm_id, external_id, name in conn.execute(stmt):
        yield Hit("vm", vm_id, external_id, name, "warning", "no Prometheus series for this VM")
