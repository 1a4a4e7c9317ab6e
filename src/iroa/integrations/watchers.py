"""Where each integration's watcher stands: written by the watcher's process, read by the API,
the dashboard, the CLI and ``/metrics``.

A watcher renews its row's heartbeat while it runs; a row whose heartbeat is older
than :data:`STALE_AFTER_S` belongs to a process that is gone, and reads as ``off``.
"""

from __future__ import annotations

import os
import socket
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from iroa.db.base import utcnow
from iroa.db.engine import Database
from iroa.integrations.models import Integration, Watcher
from iroa.vocabulary import WatchState

STALE_AFTER_S = 60.0
HEARTBEAT_S = 15.0
"""How often a running watcher renews its heartbeat (well inside :data:`STALE_AFTER_S`)."""


def this_process() -> str:
    """``host:pid``: who holds a watcher."""
    return f"{socket.gethostname()}:{os.getpid()}"


def record_watch_state(
    db: Database,
    integration_id: int,
    state: WatchState,
    since: datetime,
    reason: str | None,
    last_update_at: datetime | None,
    holder: str,
    *,
    last_delay_s: float | None = None,
    updates: int = 0,
) -> None:
    """Store what a watcher says of itself (it holds the integration's watch lock)."""
    with db.write_session() as session:
        session.merge(
            Watcher(
                integration_id=integration_id,
                state=state,
                since=since,
                reason=reason,
                last_update_at=last_update_at,
                last_delay_s=last_delay_s,
                updates=updates,
                holder=holder,
                heartbeat_at=utcnow(),
            )
        )


def renew_heartbeat(db: Database, integration_id: int, holder: str) -> None:
    with db.write_session() as session:
        session.execute(
            update(Watcher)
            .where(Watcher.integration_id == integration_id, Watcher.holder == holder)
            .values(heartbeat_at=utcnow())
        )


def watchers_by_integration(db: Database) -> dict[int, Watcher]:
    with db.session() as session:
        return watchers_by_integration_in(session)


def watchers_by_integration_in(session: Session) -> dict[int, Watcher]:
    return {row.integration_id: row for row in session.scalars(select(Watcher))}


def watch_fields(
    integration: Integration, watching: bool, row: Watcher | None, now: datetime | None = None
) -> dict[str, Any]:
    """The watch state an integration shows (``watch_state``, ``watch_since``,
    ``watch_reason``, ``watch_last_update_at``): ``off`` unless it is watched and a
    live process says otherwise."""
    now = now or utcnow()
    alive = row is not None and now - row.heartbeat_at <= timedelta(seconds=STALE_AFTER_S)
    if not watching or row is None or not alive or not integration.enabled:
        return {
            "watch_state": WatchState.OFF.value,
            "watch_since": None,
            "watch_reason": None,
            "watch_last_update_at": row.last_update_at.isoformat()
            if row is not None and row.last_update_at
            else None,
        }
    return {
        "watch_state": row.state,
        "watch_since": row.since.isoformat(),
        "watch_reason": row.reason,
        "watch_last_update_at": row.last_update_at.isoformat() if row.last_update_at else None,
    }
