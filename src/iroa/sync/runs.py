"""Sync run records: starting, queueing and finishing runs, stale runs, the next run's time."""

from __future__ import annotations

import logging
import os
import socket
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, select, update
from sqlalchemy.orm import Session

from iroa.db.base import utcnow
from iroa.db.engine import Database
from iroa.db.locks import sync_lock
from iroa.errors import ConflictError
from iroa.integrations.models import Integration
from iroa.sync.models import SyncRun
from iroa.sync.policy import DEFAULT_SYNC_TIMEOUT_S
from iroa.sync.schedule import SchedulePolicy, next_after_failure, next_after_success
from iroa.vocabulary import RunStatus, Trigger

log = logging.getLogger(__name__)

INTERRUPTED_REASON = "the process running this sync stopped before it finished"


class SyncAlreadyRunningError(ConflictError):
    """Another process is syncing this integration right now."""


@dataclass(frozen=True, slots=True)
class SyncResult:
    run_id: int
    status: RunStatus
    error: str | None = None
    counts: dict[str, dict[str, int]] = field(default_factory=dict)
    totals: dict[str, int] = field(default_factory=dict)

    @property
    def succeeded(self) -> bool:
        return self.status == RunStatus.SUCCEEDED


def one_line(error: str) -> str:
    """An error as stored on a run: one line, at most 1,000 characters."""
    return " ".join(error.split())[:1000]


def recover_stale_runs(db: Database) -> int:
    """Mark ``interrupted`` the runs left ``running`` by processes that died.

    Only integrations whose lock can be taken are touched: a run that another
    live process is carrying out keeps its status. Returns how many runs changed.
    """
    with db.session() as session:
        integration_ids = list(
            session.scalars(
                select(SyncRun.integration_id).where(SyncRun.status == RunStatus.RUNNING).distinct()
            )
        )
    recovered = 0
    for integration_id in integration_ids:
        with sync_lock(db, integration_id) as taken:
            if taken:
                recovered += interrupt_stale_runs(db, integration_id)
    if recovered:
        log.warning("marked %d sync runs of stopped processes as interrupted", recovered)
    return recovered


def interrupt_stale_runs(db: Database, integration_id: int | None = None) -> int:
    """Mark runs left ``running`` by a dead process as ``interrupted``.

    Call only while holding the integration's sync lock (or with no sync possible),
    since then no live process can own such a run.
    """
    stmt = (
        update(SyncRun)
        .where(SyncRun.status == RunStatus.RUNNING)
        .values(status=RunStatus.INTERRUPTED, finished_at=utcnow(), error=INTERRUPTED_REASON)
    )
    if integration_id is not None:
        stmt = stmt.where(SyncRun.integration_id == integration_id)
    with db.write_session() as session:
        return session.execute(stmt).rowcount  # type: ignore[attr-defined, no-any-return]


def record_queued_run(db: Database, integration_id: int, trigger: Trigger, force: bool) -> int:
    """Record a run that waits for a worker (status ``queued``); return its id."""
    with db.write_session() as session:
        run = SyncRun(
            integration_id=integration_id,
            trigger=trigger,
            status=RunStatus.QUEUED,
            forced=force,
            started_at=utcnow(),
            totals={},
            counts={},
        )
        session.add(run)
        session.flush()
        return run.id


def fail_queued_run(db: Database, run_id: int, error: str) -> None:
    """A queued run that will never start (its job could not be queued or was dropped)."""
    with db.write_session() as session:
        session.execute(
            update(SyncRun)
            .where(SyncRun.id == run_id, SyncRun.status == RunStatus.QUEUED)
            .values(status=RunStatus.FAILED, finished_at=utcnow(), error=one_line(error))
        )


def start_run(
    db: Database,
    integration_id: int,
    trigger: Trigger,
    force: bool,
    queued_id: int | None = None,
) -> tuple[int, float]:
    """Record the run (or start the queued one); return its id and the collection timeout."""
    with db.write_session() as session:
        options = session.execute(
            select(Integration.options).where(Integration.id == integration_id)
        ).scalar_one()
        timeout_s = float((options or {}).get("sync_timeout_s") or DEFAULT_SYNC_TIMEOUT_S)
        running = {
            "status": RunStatus.RUNNING,
            "started_at": utcnow(),
            "pid": os.getpid(),
            "hostname": socket.gethostname(),
        }
        if queued_id is not None:
            started = session.execute(
                update(SyncRun)
                .where(
                    SyncRun.id == queued_id,
                    SyncRun.integration_id == integration_id,
                    SyncRun.status == RunStatus.QUEUED,
                )
                .values(running)
                .returning(SyncRun.id)
            ).scalar_one_or_none()
            if started is not None:
                return started, timeout_s
        run = SyncRun(
            integration_id=integration_id,
            trigger=trigger,
            forced=force,
            totals={},
            counts={},
            **running,
        )
        session.add(run)
        session.flush()
        return run.id, timeout_s


def finish_failed(
    db: Database,
    run_id: int,
    error: str,
    status: RunStatus = RunStatus.FAILED,
    *,
    policy: SchedulePolicy | None = None,
) -> SyncResult:
    """Record a run that changed nothing; a ``failed`` one (given a policy) schedules a retry."""
    error = one_line(error)
    finished_at = utcnow()
    with db.write_session() as session:
        integration_id = session.execute(
            update(SyncRun)
            .where(SyncRun.id == run_id)
            .values(status=status, finished_at=finished_at, error=error)
            .returning(SyncRun.integration_id)
        ).scalar_one()
        if status == RunStatus.FAILED and policy is not None:
            _schedule_retry(session, integration_id, finished_at, policy)
    return SyncResult(run_id, status, error)


def finish_read(
    conn: Connection,
    integration_id: int,
    run_id: int,
    status: RunStatus,
    policy: SchedulePolicy,
    *,
    applied_at: datetime | None = None,
    reschedule: bool = True,
    **values: Any,
) -> None:
    """Record, in the applying transaction, a run that read its source (succeeded or held).

    A run that applied its snapshot (``applied_at``) moves the integration's
    ``last_success_at``; either kind sets the next sync and forgets past failures,
    unless ``reschedule`` is false (a watcher's delta leaves the next full sync be).
    """
    if applied_at is not None:
        conn.execute(
            update(Integration)
            .where(Integration.id == integration_id)
            .values(last_success_at=applied_at)
        )
    if reschedule:
        schedule_next(conn, integration_id, utcnow(), policy)
    conn.execute(
        update(SyncRun)
        .where(SyncRun.id == run_id)
        .values(status=status, finished_at=utcnow(), **values)
    )


def _schedule_retry(
    session: Session, integration_id: int, finished_at: datetime, policy: SchedulePolicy
) -> None:
    interval_s, failures = session.execute(
        select(Integration.interval_seconds, Integration.consecutive_failures).where(
            Integration.id == integration_id
        )
    ).one()
    failures += 1
    next_sync_at = None
    if interval_s:
        next_sync_at = next_after_failure(
            finished_at,
            interval_s,
            failures,
            policy.min_interval_s,
            policy.draw_jitter_s(interval_s),
        )
    session.execute(
        update(Integration)
        .where(Integration.id == integration_id)
        .values(consecutive_failures=failures, next_sync_at=next_sync_at)
    )


def schedule_next(
    conn: Connection, integration_id: int, finished_at: datetime, policy: SchedulePolicy
) -> None:
    """After a run that read the source: the next sync one interval on, failures forgotten."""
    interval_s = conn.execute(
        select(Integration.interval_seconds).where(Integration.id == integration_id)
    ).scalar_one()
    next_sync_at = None
    if interval_s:
        next_sync_at = next_after_success(finished_at, interval_s, policy.draw_jitter_s(interval_s))
    conn.execute(
        update(Integration)
        .where(Integration.id == integration_id)
        .values(consecutive_failures=0, next_sync_at=next_sync_at)
    )
