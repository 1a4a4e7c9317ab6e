"""Applying a monitoring snapshot (Prometheus, Zabbix): replace the stored monitoring data.

Only the monitoring tables are written, through :mod:`iroa.monitoring.store`;
inventory is never touched. The run's life cycle is the engine's, as for
inventory runs.
"""

from __future__ import annotations

from sqlalchemy import select

from iroa.connectors.base import Progress
from iroa.connectors.monitoring import MetricsSnapshot, MonitoringSnapshot
from iroa.db.base import utcnow
from iroa.db.engine import Database
from iroa.integrations.models import Integration
from iroa.integrations.monitoring import resolve_settings
from iroa.monitoring.store import store_metrics, store_zabbix
from iroa.sync.apply import source_of
from iroa.sync.policy import SyncPolicy
from iroa.sync.runs import SyncResult, finish_read
from iroa.vocabulary import IntegrationKind, RunStatus


def apply_monitoring(
    db: Database,
    run_id: int,
    integration_id: int,
    snapshot: MonitoringSnapshot,
    force: bool,
    progress: Progress,
    policy: SyncPolicy,
) -> SyncResult:
    """Store what one monitoring system knows, in one transaction."""
    progress.start("apply")
    with db.engine.connect() as conn:
        conn = conn.execution_options(iroa_write=True)
        with conn.begin():
            now = utcnow()
            if isinstance(snapshot, MetricsSnapshot):
                totals = store_metrics(conn, integration_id, run_id, snapshot, now)
            else:
                options = conn.execute(
                    select(Integration.options).where(Integration.id == integration_id)
                ).scalar_one()
                order = resolve_settings(IntegrationKind.ZABBIX, (options or {}).get("monitoring"))
                totals = store_zabbix(conn, integration_id, run_id, snapshot, order["match"], now)
            finish_read(
                conn,
                integration_id,
                run_id,
                RunStatus.SUCCEEDED,
                policy.schedule,
                applied_at=now,
                totals=totals,
                counts={},
                source=source_of(snapshot),
            )
    return SyncResult(run_id, RunStatus.SUCCEEDED, None, {}, totals)
