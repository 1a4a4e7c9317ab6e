"""Reading sync history: runs and their integrations."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from iroa.db.engine import Database
from iroa.integrations.models import Integration
from iroa.sync.models import SyncRun


def list_runs(
    db: Database, integration_name: str | None = None, limit: int = 50
) -> list[dict[str, Any]]:
    """The latest runs, newest first, as plain dicts."""
    stmt = (
        select(SyncRun, Integration.name, Integration.kind)
        .join(Integration, Integration.id == SyncRun.integration_id)
        .order_by(SyncRun.started_at.desc(), SyncRun.id.desc())
        .limit(limit)
    )
    if integration_name is not None:
        stmt = stmt.where(Integration.name == integration_name)
    with db.session() as session:
        return [run_as_dict(run, name, kind) for run, name, kind in session.execute(stmt)]


def get_run(db: Database, run_id: int) -> dict[str, Any] | None:
    stmt = (
        select(SyncRun, Integration.name, Integration.kind)
        .join(Integration, Integration.id == SyncRun.integration_id)
        .where(SyncRun.id == run_id)
    )
    with db.session() as session:
        row = session.execute(stmt).first()
    return run_as_dict(*row) if row else None


def run_as_dict(run: SyncRun, integration: str, platform: str) -> dict[str, Any]:
    return {
        "id": run.id,
        "integration": integration,
        "platform": platform,
        "trigger": run.trigger,
        "status": run.status,
        "forced": run.forced,
        "started_at": run.started_at.isoformat(),
        "finished_at": run.finished_at.isoformat() if run.finished_at else None,
        "duration_s": round(run.duration_s, 3) if run.duration_s is not None else None,
        "added": run.added,
        "modified": run.modified,
        "removed": run.removed,
        "totals": run.totals,
        "counts": run.counts,
        "source": run.source,
        "error": run.error,
        "warnings": run.warnings or [],
    }


def list_runs_page(
    db: Database,
    *,
    integration_id: int | None = None,
    integration_name: str | None = None,
    status: str | None = None,
    limit: int = 50,
    before_id: int | None = None,
) -> list[dict[str, Any]]:
    """Runs newest first, a page at a time: ``before_id`` is the last id of the previous page."""
    stmt = (
        select(SyncRun, Integration.name, Integration.kind)
        .join(Integration, Integration.id == SyncRun.integration_id)
        .order_by(SyncRun.id.desc())
        .limit(limit)
    )
    if integration_id is not None:
        stmt = stmt.where(SyncRun.integration_id == integration_id)
    if integration_name is not None:
        stmt = stmt.where(Integration.name == integration_name)
    if status is not None:
        stmt = stmt.where(SyncRun.status == status)
    if before_id is not None:
        stmt = stmt.where(SyncRun.id < before_id)
    with db.session() as session:
        return [run_as_dict(run, name, kind) for run, name, kind in session.execute(stmt)]
