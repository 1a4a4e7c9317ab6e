"""Monitoring on the dashboard: a VM's or host's utilization and Zabbix status, the
coverage page. Reads through :mod:`iroa.monitoring.queries`, as the API does."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request, Response
from fastapi.responses import HTMLResponse
from sqlalchemy import func, select

from iroa.connectors.registry import MONITORING_KINDS
from iroa.db.engine import Database
from iroa.http.deps import DB
from iroa.integrations.models import Integration
from iroa.monitoring.queries import (
    coverage,
    object_monitoring,
    objects_not_in_zabbix,
    objects_without_metrics,
    unmatched_zabbix_hosts,
)
from iroa.web.charts import sparkline
from iroa.web.formatting import format_bytes
from iroa.web.render import render
from iroa.web.session import PageUser

router = APIRouter(include_in_schema=False)

METRIC_LABELS = {
    "cpu_pct": "CPU",
    "memory_pct": "Memory",
    "disk_bytes_per_s": "Disk throughput",
    "net_bytes_per_s": "Network throughput",
}
LIST_LIMIT = 1000


def format_metric(metric: str, value: float | None) -> str:
    if value is None:
        return "—"
    if metric.endswith("_pct"):
        return f"{value:.1f} %"
    return f"{format_bytes(value)}/s"


def monitoring_panel(db: Database, object_type: str, object_id: int) -> dict[str, Any]:
    """The object's metrics (with a sparkline each) and Zabbix hosts; whether any monitoring
    integration exists (for the empty state). Three statements."""
    with db.session() as session:
        found = object_monitoring(session, object_type, object_id)
        integrations = session.scalar(
            select(func.count())
            .select_from(Integration)
            .where(Integration.kind.in_(MONITORING_KINDS))
        )
    for metric in found["metrics"]:
        metric["label"] = METRIC_LABELS.get(metric["metric"], metric["metric"])
        metric["shown"] = format_metric(metric["metric"], metric["value"])
        metric["spark"] = sparkline(metric["history"])
        values = [v for _, v in metric["history"] if isinstance(v, int | float)]
        metric["range"] = (
            f"{format_metric(metric['metric'], min(values))} to "
            f"{format_metric(metric['metric'], max(values))}"
            if values
            else None
        )
    found["integrations"] = integrations or 0
    return found


@router.get("/monitoring", response_class=HTMLResponse)
def monitoring_page(request: Request, user: PageUser, db: DB) -> Response:
    """Coverage, the VMs and hosts Zabbix or Prometheus miss, unmatched Zabbix hosts."""
    with db.session() as session:
        summary = coverage(session)
        lists = {
            "vm_not_in_zabbix": objects_not_in_zabbix(session, "vm", LIST_LIMIT),
            "host_not_in_zabbix": objects_not_in_zabbix(session, "host", LIST_LIMIT),
            "vm_no_metrics": objects_without_metrics(session, "vm", LIST_LIMIT),
            "host_no_metrics": objects_without_metrics(session, "host", LIST_LIMIT),
        }
        unmatched = unmatched_zabbix_hosts(session, LIST_LIMIT)
    return render(
        request,
        "monitoring.html",
        {
            "user": user,
            "coverage": summary,
            "lists": lists,
            "unmatched": unmatched,
            "limit": LIST_LIMIT,
        },
    )


def monitoring_coverage(db: Database) -> dict[str, Any]:
    """The coverage figures for the overview (a few counts)."""
    with db.session() as session:
        return coverage(session)
