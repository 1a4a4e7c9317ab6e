"""Read monitoring data: per object, coverage, objects without metrics, unmatched Zabbix hosts.

Only present inventory objects count; rows left by a removed object are ignored.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import ColumnElement, exists, func, select
from sqlalchemy.orm import Session

from iroa.connectors.registry import MONITORING_KINDS
from iroa.db.engine import Database
from iroa.integrations.models import Integration
from iroa.inventory.models import Host, Vm
from iroa.monitoring.models import MetricValue, ZabbixHostRow, ZabbixLink, ZabbixProblemRow

SEVERITIES = ("not classified", "information", "warning", "average", "high", "disaster")
_TABLES: dict[str, Any] = {"vm": Vm, "host": Host}


def _iso(value: Any) -> str | None:
    return value.isoformat() if value is not None else None


def object_monitoring(session: Session, object_type: str, object_id: int) -> dict[str, Any]:
    """Utilization (latest and history, per Prometheus integration) and Zabbix status of one
    VM or host."""
    metrics: list[dict[str, Any]] = []
    rows = session.execute(
        select(MetricValue, Integration.name)
        .join(Integration, Integration.id == MetricValue.integration_id)
        .where(MetricValue.object_type == object_type, MetricValue.object_id == object_id)
        .order_by(Integration.name, MetricValue.metric)
    ).all()
    for value, integration in rows:
        metrics.append(
            {
                "integration": integration,
                "metric": value.metric,
                "value": value.value,
                "sampled_at": _iso(value.sampled_at),
                "history": value.history or [],
            }
        )
    zabbix: dict[int, dict[str, Any]] = {}
    hosts = session.execute(
        select(ZabbixHostRow, ZabbixLink.matched_by, Integration.name, ZabbixProblemRow)
        .join(ZabbixLink, ZabbixLink.zabbix_host_row_id == ZabbixHostRow.id)
        .join(Integration, Integration.id == ZabbixHostRow.integration_id)
        .outerjoin(ZabbixProblemRow, ZabbixProblemRow.zabbix_host_row_id == ZabbixHostRow.id)
        .where(ZabbixLink.object_type == object_type, ZabbixLink.object_id == object_id)
        .order_by(
            Integration.name,
            ZabbixHostRow.host,
            ZabbixHostRow.id,
            ZabbixProblemRow.severity.desc(),
            ZabbixProblemRow.started_at,
        )
    ).all()
    for host, matched_by, integration, problem in hosts:
        entry = zabbix.setdefault(
            host.id,
            {"integration": integration, **_zabbix_host(host), "matched_by": matched_by},
        )
        problems = entry.setdefault("problems", [])
        if problem is not None:
            problems.append(_problem(problem))
    return {
        "has_metrics": bool(metrics),
        "metrics": metrics,
        "zabbix_monitored": any(z["enabled"] for z in zabbix.values()),
        "zabbix": list(zabbix.values()),
    }


def _problem(p: ZabbixProblemRow) -> dict[str, Any]:
    return {
        "event_id": p.event_id,
        "name": p.name,
        "severity": p.severity,
        "severity_name": SEVERITIES[p.severity]
        if 0 <= p.severity < len(SEVERITIES)
        else str(p.severity),
        "started_at": _iso(p.started_at),
        "acknowledged": p.acknowledged,
    }


def monitoring_of(db: Database, object_type: str, object_id: int) -> dict[str, Any]:
    """:func:`object_monitoring` in a session of its own (two statements)."""
    with db.session() as session:
        return object_monitoring(session, object_type, object_id)


def _zabbix_host(host: ZabbixHostRow) -> dict[str, Any]:
    return {
        "zabbix_host_id": host.zabbix_host_id,
        "host": host.host,
        "name": host.name,
        "enabled": host.enabled,
        "availability": host.availability,
        "dns": host.dns or [],
        "ips": host.ips or [],
        "url": host.url,
        "problem_count": host.problem_count,
        "max_severity": host.max_severity,
        "collected_at": _iso(host.collected_at),
    }


def _has_metrics(table: Any, object_type: str) -> Any:
    return exists().where(MetricValue.object_type == object_type, MetricValue.object_id == table.id)


def _in_zabbix(table: Any, object_type: str) -> Any:
    return exists().where(
        ZabbixLink.object_type == object_type,
        ZabbixLink.object_id == table.id,
        ZabbixHostRow.id == ZabbixLink.zabbix_host_row_id,
        ZabbixHostRow.enabled.is_(True),
    )


def coverage(session: Session) -> dict[str, Any]:
    """How many present VMs (not templates) and hosts Zabbix monitors and Prometheus measures."""
    result: dict[str, Any] = {}
    for object_type, table in _TABLES.items():
        present = [table.removed_at.is_(None)]
        if table is Vm:
            present.append(Vm.is_template.is_(False))
        total = session.scalar(select(func.count()).select_from(table).where(*present)) or 0
        zabbix = (
            session.scalar(
                select(func.count())
                .select_from(table)
                .where(*present, _in_zabbix(table, object_type))
            )
            or 0
        )
        prometheus = (
            session.scalar(
                select(func.count())
                .select_from(table)
                .where(*present, _has_metrics(table, object_type))
            )
            or 0
        )
        result[f"{object_type}s"] = {
            "total": total,
            "zabbix_monitored": zabbix,
            "zabbix_pct": round(100.0 * zabbix / total, 1) if total else None,
            "with_metrics": prometheus,
            "metrics_pct": round(100.0 * prometheus / total, 1) if total else None,
        }
    result["unmatched_zabbix_hosts"] = (
        session.scalar(
            select(func.count()).select_from(ZabbixHostRow).where(ZabbixHostRow.matched.is_(False))
        )
        or 0
    )
    result["monitoring_integrations"] = {
        kind: session.scalar(
            select(func.count()).select_from(Integration).where(Integration.kind == kind)
        )
        or 0
        for kind in MONITORING_KINDS
    }
    return result


def objects_without_metrics(
    session: Session, object_type: str, limit: int = 1000
) -> list[dict[str, Any]]:
    """Present VMs (not templates) or hosts that no Prometheus integration has a series for."""
    table = _TABLES[object_type]
    return _present_objects(session, object_type, ~_has_metrics(table, object_type), limit)


def objects_not_in_zabbix(
    session: Session, object_type: str, limit: int = 1000
) -> list[dict[str, Any]]:
    """Present VMs (not templates) or hosts no enabled Zabbix host matched."""
    table = _TABLES[object_type]
    return _present_objects(session, object_type, ~_in_zabbix(table, object_type), limit)


def _present_objects(
    session: Session, object_type: str, condition: ColumnElement[bool], limit: int
) -> list[dict[str, Any]]:
    """Present VMs (not templates) or hosts meeting ``condition``, by name."""
    table = _TABLES[object_type]
    conditions = [table.removed_at.is_(None), condition]
    if table is Vm:
        conditions.append(Vm.is_template.is_(False))
    rows = session.execute(
        select(table.id, table.name).where(*conditions).order_by(table.name, table.id).limit(limit)
    ).all()
    return [{"id": i, "name": n, "type": object_type} for i, n in rows]


def unmatched_zabbix_hosts(session: Session, limit: int = 1000) -> list[dict[str, Any]]:
    """Zabbix hosts that match no inventory VM or host."""
    rows = session.execute(
        select(ZabbixHostRow, Integration.name)
        .join(Integration, Integration.id == ZabbixHostRow.integration_id)
        .where(ZabbixHostRow.matched.is_(False))
        .order_by(Integration.name, ZabbixHostRow.host, ZabbixHostRow.id)
        .limit(limit)
    ).all()
    return [{"integration": name, **_zabbix_host(host)} for host, name in rows]
