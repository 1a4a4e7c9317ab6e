"""Run a monitoring sync (Prometheus, Zabbix): collect, then store in one transaction.

Same life cycle as an inventory run — one at a time per integration, a
``sync_runs`` row with totals, a clear one-line error on failure — but it
writes only the monitoring tables, through :mod:`iroa.monitoring.store`.
Inventory is never touched.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import cast

from sqlalchemy import select, update

from iroa.config import get_settings
from iroa.connectors.base import Connector, ConnectorError, NullProgress, Progress
from iroa.connectors.monitoring import (
    MetricsSnapshot,
    MonitoringConnector,
    MonitoringSnapshot,
    ZabbixSnapshot,
)
from iroa.connectors.registry import MONITORING_KINDS, create_monitoring_connector
from iroa.crypto import SecretBox
from iroa.db.base import utcnow
from iroa.db.engine import Database
from iroa.db.locks import sync_lock
from iroa.findings.rules import Thresholds
from iroa.findings.service import refresh_findings_after_monitoring
from iroa.integrations.models import Integration
from iroa.integrations.monitoring import resolve_settings
from iroa.integrations.service import connection_options
from iroa.monitoring.store import store_metrics, store_zabbix
from iroa.sync.engine import (
    SyncAlreadyRunningError,
    SyncResult,
    SyncTimeoutError,
    collect_within,
    finish_failed,
    interrupt_stale_runs,
    schedule_next,
    start_run,
)
from iroa.sync.models import SyncRun
from iroa.sync.schedule import SchedulePolicy

log = logging.getLogger(__name__)


def run_monitoring_sync(
    db: Database,
    integration_id: int,
    connector: MonitoringConnector,
    *,
    trigger: str = "manual",
    progress: Progress | None = None,
    on_start: Callable[[int], None] | None = None,
    policy: SchedulePolicy | None = None,
    run_id: int | None = None,
    thresholds: Thresholds | None = None,
) -> SyncResult:
    """Read one monitoring integration now and replace its stored monitoring data.

    Once stored, and the integration's lock released, the health findings of every
    inventory integration are refreshed (the monitoring rules read this data).

    ``run_id`` names a ``queued`` run that this one carries out (queue mode).

    Collection may take the integration's ``sync_timeout_s`` (default 30 min), as for
    inventory syncs; past it the run fails and nothing is stored.
    """
    progress = progress or NullProgress()
    policy = policy or SchedulePolicy()
    with sync_lock(db, integration_id) as taken:
        if not taken:
            raise SyncAlreadyRunningError("a sync of this integration is already running")
        interrupt_stale_runs(db, integration_id)
        run_id, timeout_s = start_run(db, integration_id, trigger, False, run_id)
        if on_start is not None:
            on_start(run_id)
        try:
            progress.start("connect")
            # The inventory engine's timeout guard; it only calls ``collect(progress)``.
            snapshot = cast(
                MonitoringSnapshot,
                collect_within(cast(Connector, connector), progress, timeout_s),
            )
        except (ConnectorError, SyncTimeoutError) as exc:
            return finish_failed(db, run_id, str(exc), policy=policy)
        except BaseException as exc:
            if not isinstance(exc, Exception):
                finish_failed(db, run_id, "interrupted during collection", "interrupted")
                raise
            log.exception("monitoring run %s: collection failed", run_id)
            return finish_failed(
                db, run_id, f"collection failed: {type(exc).__name__}: {exc}", policy=policy
            )
        try:
            progress.start("apply")
            with db.engine.connect() as conn:
                conn = conn.execution_options(iroa_write=True)
                with conn.begin():
                    now = utcnow()
                    if isinstance(snapshot, MetricsSnapshot):
                        totals = store_metrics(conn, integration_id, run_id, snapshot, now)
                    else:
                        assert isinstance(snapshot, ZabbixSnapshot)
                        options = conn.execute(
                            select(Integration.options).where(Integration.id == integration_id)
                        ).scalar_one()
                        order = resolve_settings("zabbix", (options or {}).get("monitoring"))
                        totals = store_zabbix(
                            conn, integration_id, run_id, snapshot, order["match"], now
                        )
                    conn.execute(
                        update(Integration)
                        .where(Integration.id == integration_id)
                        .values(last_success_at=now)
                    )
                    schedule_next(conn, integration_id, utcnow(), policy)
                    conn.execute(
                        update(SyncRun)
                        .where(SyncRun.id == run_id)
                        .values(
                            status="succeeded",
                            finished_at=utcnow(),
                            totals=totals,
                            counts={},
                            source={
                                "name": snapshot.source.name,
                                "product": snapshot.source.product,
                                "version": snapshot.source.version,
                                "build": snapshot.source.build,
                            },
                        )
                    )
        except BaseException:
            finish_failed(db, run_id, "interrupted while storing monitoring data", "interrupted")
            raise
    _refresh_findings(db, thresholds)
    return SyncResult(run_id, "succeeded", None, {}, totals)


def _refresh_findings(db: Database, thresholds: Thresholds | None) -> None:
    """Findings follow the committed data; failing to compute them does not fail the run."""
    try:
        refresh_findings_after_monitoring(
            db, thresholds or Thresholds.from_settings(get_settings())
        )
    except Exception:
        log.exception("refreshing health findings after a monitoring run failed")


def is_monitoring(kind: str) -> bool:
    return kind in MONITORING_KINDS


def sync_all_monitoring(
    db: Database, box: SecretBox, *, trigger: str = "schedule"
) -> list[SyncResult]:
    """Run every enabled monitoring integration once (after an inventory sync), in turn.

    One already running elsewhere is skipped; a failure is recorded on its run.
    """
    with db.session() as session:
        integrations = list(
            session.scalars(
                select(Integration).where(
                    Integration.kind.in_(MONITORING_KINDS), Integration.enabled
                )
            )
        )
    results: list[SyncResult] = []
    for integration in integrations:
        try:
            connector = create_monitoring_connector(
                integration.kind, connection_options(integration, box)
            )
            results.append(run_monitoring_sync(db, integration.id, connector, trigger=trigger))
        except SyncAlreadyRunningError:
            log.info("monitoring sync of %r is already running; skipped", integration.name)
        except Exception:
            log.exception("monitoring sync of %r failed", integration.name)
    return results
