"""Figures about syncs and inventory size, read from the database (for ``/metrics``)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import func, select

from iroa.db.engine import Database
from iroa.integrations.models import Integration
from iroa.integrations.service import is_watched
from iroa.integrations.watchers import watch_fields, watchers_by_integration_in
from iroa.inventory.types import OBJECT_TYPES
from iroa.sync.models import SyncRun
from iroa.vocabulary import WatchState


@dataclass(frozen=True, slots=True)
class LastRun:
    integration: str
    status: str
    started_at: datetime
    duration_s: float | None


@dataclass(frozen=True, slots=True)
class SyncStats:
    runs: dict[tuple[str, str], int]
    """Number of runs per (integration, status)."""
    last_runs: list[LastRun]
    last_success: dict[str, datetime]
    objects: dict[tuple[str, str], int]
    """Present objects per (integration, object type)."""
    watchers: dict[str, dict[str, Any]] = field(default_factory=dict)
    """Per watched integration: its watch state fields, ``updates`` and ``last_delay_s``."""


def read_stats(db: Database) -> SyncStats:
    """Run counts, the latest run of each integration, and object counts, as they stand."""
    with db.session() as session:
        integrations = list(session.scalars(select(Integration)))
        names = {integration.id: integration.name for integration in integrations}
        runs = {
            (names[i], status): n
            for i, status, n in session.execute(
                select(SyncRun.integration_id, SyncRun.status, func.count()).group_by(
                    SyncRun.integration_id, SyncRun.status
                )
            )
            if i in names
        }
        latest_ids = select(func.max(SyncRun.id)).group_by(SyncRun.integration_id)
        last_runs = [
            LastRun(names[run.integration_id], run.status, run.started_at, run.duration_s)
            for run in session.scalars(select(SyncRun).where(SyncRun.id.in_(latest_ids)))
            if run.integration_id in names
        ]
        last_success = {
            name: at
            for name, at in session.execute(
                select(Integration.name, Integration.last_success_at).where(
                    Integration.last_success_at.is_not(None)
                )
            )
            if at is not None
        }
        objects: dict[tuple[str, str], int] = {}
        for object_type in OBJECT_TYPES:
            table = object_type.table
            for integration_id, count in session.execute(
                select(table.c.integration_id, func.count())
                .where(table.c.removed_at.is_(None))
                .group_by(table.c.integration_id)
            ):
                if integration_id in names:
                    objects[(names[integration_id], object_type.plural)] = count
        rows = watchers_by_integration_in(session)
        watchers = {}
        for integration in integrations:
            if not is_watched(integration):
                continue
            row = rows.get(integration.id)
            shown = watch_fields(integration, True, row)
            alive = shown["watch_state"] != WatchState.OFF
            watchers[integration.name] = {
                **shown,
                "updates": row.updates if row is not None and alive else 0,
                "last_delay_s": row.last_delay_s if row is not None and alive else None,
            }
    return SyncStats(runs, last_runs, last_success, objects, watchers)
