"""The one writer of monitoring rows: replaces an integration's rows with one read's.

Called by the monitoring sync (:mod:`iroa.sync.monitoring`) inside its
transaction; it matches records to present inventory objects first.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, delete, insert, select

from iroa.connectors.monitoring import MetricsSnapshot, ZabbixSnapshot
from iroa.inventory.models import Host, Vm
from iroa.monitoring.matching import InventoryObject, ObjectIndex
from iroa.monitoring.models import MetricValue, ZabbixHostRow, ZabbixLink, ZabbixProblemRow

_CHUNK = 500


def load_objects(conn: Connection) -> list[InventoryObject]:
    """Every present VM and host, of every inventory integration."""
    objects = [
        InventoryObject("vm", vm_id, name, hostname, tuple(ips or ()), uuid)
        for vm_id, name, hostname, ips, uuid in conn.execute(
            select(Vm.id, Vm.name, Vm.guest_hostname, Vm.ip_addresses, Vm.uuid).where(
                Vm.removed_at.is_(None)
            )
        )
    ]
    objects.extend(
        InventoryObject("host", host_id, name)
        for host_id, name in conn.execute(
            select(Host.id, Host.name).where(Host.removed_at.is_(None))
        )
    )
    return objects


def _insert(conn: Connection, table: Any, rows: Sequence[dict[str, Any]]) -> None:
    for start in range(0, len(rows), _CHUNK):
        conn.execute(insert(table), list(rows[start : start + _CHUNK]))


def store_metrics(
    conn: Connection, integration_id: int, run_id: int, snapshot: MetricsSnapshot, now: datetime
) -> dict[str, int]:
    """Replace the integration's metric rows; return the run's totals."""
    index = ObjectIndex.of(load_objects(conn))
    rows: dict[tuple[str, int, str], dict[str, Any]] = {}
    unmatched: set[str] = set()
    for series in snapshot.series:
        refs = index.find(snapshot.join, series.join_value)
        if not refs:
            unmatched.add(series.join_value)
        for object_type, object_id in refs:
            rows.setdefault(
                (object_type, object_id, series.metric),
                {
                    "integration_id": integration_id,
                    "sync_run_id": run_id,
                    "object_type": object_type,
                    "object_id": object_id,
                    "metric": series.metric,
                    "value": series.value,
                    "sampled_at": series.sampled_at,
                    "history": [[at.isoformat(), value] for at, value in series.history],
                    "series_key": series.join_value[:500],
                    "collected_at": now,
                },
            )
    conn.execute(delete(MetricValue).where(MetricValue.integration_id == integration_id))
    _insert(conn, MetricValue.__table__, list(rows.values()))
    objects = {(t, i) for t, i, _ in rows}
    return {
        "series": len(snapshot.series),
        "vms_with_metrics": sum(1 for t, _ in objects if t == "vm"),
        "hosts_with_metrics": sum(1 for t, _ in objects if t == "host"),
        "unmatched_series": len(unmatched),
    }


def store_zabbix(
    conn: Connection,
    integration_id: int,
    run_id: int,
    snapshot: ZabbixSnapshot,
    order: Sequence[str],
    now: datetime,
) -> dict[str, int]:
    """Replace the integration's Zabbix hosts, links and problems; return the run's totals."""
    index = ObjectIndex.of(load_objects(conn))
    for table in (ZabbixProblemRow, ZabbixLink, ZabbixHostRow):
        conn.execute(delete(table).where(table.integration_id == integration_id))
    linked: set[tuple[str, int]] = set()
    unmatched = problems = 0
    for host in snapshot.hosts:
        match = index.match_zabbix(host, order)
        row_id = conn.execute(
            insert(ZabbixHostRow)
            .values(
                integration_id=integration_id,
                sync_run_id=run_id,
                zabbix_host_id=host.host_id,
                host=host.host[:500],
                name=host.name[:500],
                enabled=host.enabled,
                availability=host.availability,
                dns=list(host.dns),
                ips=list(host.ips),
                url=host.url,
                matched=match is not None,
                problem_count=len(host.problems),
                max_severity=max((p.severity for p in host.problems), default=None),
                collected_at=now,
            )
            .returning(ZabbixHostRow.id)
        ).scalar_one()
        if match is None:
            unmatched += 1
        else:
            matched_by, refs = match
            _insert(
                conn,
                ZabbixLink.__table__,
                [
                    {
                        "integration_id": integration_id,
                        "zabbix_host_row_id": row_id,
                        "object_type": object_type,
                        "object_id": object_id,
                        "matched_by": matched_by,
                    }
                    for object_type, object_id in refs
                ],
            )
            linked.update(refs)
        problems += len(host.problems)
        _insert(
            conn,
            ZabbixProblemRow.__table__,
            [
                {
                    "integration_id": integration_id,
                    "zabbix_host_row_id": row_id,
                    "event_id": p.event_id,
                    "name": p.name,
                    "severity": p.severity,
                    "started_at": p.started_at,
                    "acknowledged": p.acknowledged,
                }
                for p in host.problems
            ],
        )
    return {
        "zabbix_hosts": len(snapshot.hosts),
        "vms_monitored": sum(1 for t, _ in linked if t == "vm"),
        "hosts_monitored": sum(1 for t, _ in linked if t == "host"),
        "unmatched_zabbix_hosts": unmatched,
        "problems": problems,
    }
