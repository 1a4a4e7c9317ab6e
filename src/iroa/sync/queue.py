"""Syncs run by ``iroa worker`` processes from a job queue in PostgreSQL (Procrastinate).

With ``IROA_EXECUTION=queue``, ``iroa serve`` only enqueues: its scheduler claims
each due time once (see :mod:`iroa.sync.scheduler`) and API or dashboard syncs
record a ``queued`` run. Any number of workers take jobs from the queue; each
job carries Procrastinate's ``lock`` of its integration, so jobs of one
integration run one after the other, and the engine's own lock
(:mod:`iroa.db.locks`) still guards against a sync started elsewhere.

A worker that dies (``SIGKILL``, lost machine) stops sending heartbeats; the
others then release its jobs (failed) and mark its runs ``interrupted``, so the
integration's next run can start. The inventory is untouched: a run applies in
one transaction, which PostgreSQL rolls back when its connection goes.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import procrastinate
from procrastinate.exceptions import AlreadyEnqueued
from sqlalchemy.engine import make_url

from iroa.config import Settings
from iroa.db.engine import Database
from iroa.integrations.service import IntegrationNotFoundError
from iroa.sync.runs import (
    SyncAlreadyRunningError,
    SyncResult,
    fail_queued_run,
    recover_stale_runs,
)
from iroa.sync.service import SyncDeps, SyncNotStartedError, sync_integration
from iroa.sync.watchers import WatchSupervisor
from iroa.vocabulary import Trigger

log = logging.getLogger(__name__)

TASK_NAME = "iroa.sync_integration"
QUEUE_NAME = "iroa-sync"
REAP_EVERY_S = 5.0
LOCK_ATTEMPTS = 5
LOCK_RETRY_S = 1.0


def conninfo(database_url: str) -> str:
    """The libpq connection string of a SQLAlchemy PostgreSQL URL."""
    url = make_url(database_url)
    if url.get_backend_name() != "postgresql":
        raise ValueError("the sync queue needs PostgreSQL")
    return url.set(drivername="postgresql").render_as_string(hide_password=False)


def integration_lock(integration_id: int) -> str:
    """Procrastinate's lock (and queueing lock) of one integration's sync jobs."""
    return f"iroa-sync-{integration_id}"


class SyncQueue:
    """Puts sync jobs on the queue; used by ``iroa serve`` in queue mode (thread-safe)."""

    def __init__(self, database_url: str) -> None:
        self.app = procrastinate.App(
            connector=procrastinate.SyncPsycopgConnector(
                conninfo=conninfo(database_url), min_size=1, max_size=4
            )
        )
        self._opened = False

    def open(self) -> SyncQueue:
        self.app.open()
        self._opened = True
        return self

    def close(self) -> None:
        if self._opened:
            self.app.close()
            self._opened = False

    def enqueue(
        self,
        integration_id: int,
        *,
        trigger: Trigger,
        force: bool = False,
        run_id: int | None = None,
        once: bool = False,
    ) -> int | None:
        """Queue a sync; return the job id.

        With ``once``, return None instead when a job of this integration is
        already waiting (it will do the work).
        """
        lock = integration_lock(integration_id)
        task = self.app.configure_task(
            name=TASK_NAME,
            queue=QUEUE_NAME,
            lock=lock,
            queueing_lock=lock if once else None,
        )
        try:
            job_id: int = task.defer(
                integration_id=integration_id, trigger=trigger, force=force, run_id=run_id
            )
        except AlreadyEnqueued:
            return None
        return job_id


@dataclass
class WorkerContext:
    """What a worker's jobs need: the sync dependencies of this process."""

    deps: SyncDeps

    @property
    def db(self) -> Database:
        return self.deps.db

    def sync(self, integration_id: int, trigger: Trigger, force: bool, run_id: int | None) -> str:
        """Carry out one sync job; return the run's status."""
        try:
            result = self._run(integration_id, trigger, force, run_id)
        except (SyncNotStartedError, IntegrationNotFoundError) as exc:
            if run_id is not None:
                fail_queued_run(self.db, run_id, f"the sync could not start: {exc}")
            log.warning("sync job of integration %s not started: %s", integration_id, exc)
            return "not started"
        except SyncAlreadyRunningError:
            # Started outside the queue (say, `iroa sync` on a shell): that run does the work.
            if run_id is not None:
                fail_queued_run(
                    self.db, run_id, "not run: a sync of this integration started elsewhere"
                )
            log.info("integration %s is being synced elsewhere; job dropped", integration_id)
            return "skipped"
        log.info("sync run %s of integration %s: %s", result.run_id, integration_id, result.status)
        return result.status

    def _run(
        self, integration_id: int, trigger: Trigger, force: bool, run_id: int | None
    ) -> SyncResult:
        """Run the sync; wait briefly for the lock, which a worker checking for stale runs
        may hold for an instant."""
        for attempt in range(LOCK_ATTEMPTS):
            try:
                return sync_integration(
                    self.deps, integration_id, trigger=trigger, force=force, run_id=run_id
                )
            except SyncAlreadyRunningError:
                if attempt == LOCK_ATTEMPTS - 1:
                    raise
                time.sleep(LOCK_RETRY_S)
        raise AssertionError("unreachable")


def build_worker_app(context: WorkerContext, database_url: str) -> procrastinate.App:
    """A Procrastinate app whose one task syncs an integration with ``context``."""
    app = procrastinate.App(
        connector=procrastinate.PsycopgConnector(conninfo=conninfo(database_url))
    )

    @app.task(name=TASK_NAME, queue=QUEUE_NAME)
    def sync_integration_job(
        integration_id: int, trigger: str, force: bool = False, run_id: int | None = None
    ) -> str:
        return context.sync(integration_id, Trigger(trigger), force, run_id)

    return app


async def reap_stalled(
    app: procrastinate.App, context: WorkerContext, stalled_after_s: float
) -> int:
    """Release the jobs of dead workers and mark their runs ``interrupted``; return how many."""
    manager = app.job_manager
    await manager.prune_stalled_workers(stalled_after_s)
    jobs = list(
        await manager.get_stalled_jobs(
            queue=QUEUE_NAME, task_name=TASK_NAME, seconds_since_heartbeat=stalled_after_s
        )
    )
    for job in jobs:
        log.warning("sync job %s: its worker stopped; releasing its lock", job.id)
        await manager.finish_job(job, status=procrastinate.jobs.Status.FAILED, delete_job=False)
        run_id = job.task_kwargs.get("run_id")
        if isinstance(run_id, int):
            await asyncio.to_thread(
                fail_queued_run, context.db, run_id, "the worker stopped before it started"
            )
    await asyncio.to_thread(recover_stale_runs, context.db)
    return len(jobs)


async def _reap_forever(
    app: procrastinate.App, context: WorkerContext, stalled_after_s: float
) -> None:
    while True:
        try:
            await reap_stalled(app, context, stalled_after_s)
        except Exception:
            log.exception("releasing the jobs of stopped workers failed")
        await asyncio.sleep(REAP_EVERY_S)


def worker_pool_size(concurrency: int) -> int:
    """Database connections a worker needs: each running sync holds its lock and its session."""
    return max(5, 2 * concurrency + 2)


def run_worker(
    deps: SyncDeps, settings: Settings, concurrency: int, name: str | None = None
) -> None:
    """Execute sync jobs until SIGINT or SIGTERM (then finish the running ones)."""
    context = WorkerContext(deps)
    app = build_worker_app(context, settings.resolved_database_url)
    options: dict[str, Any] = {
        "queues": [QUEUE_NAME],
        "concurrency": concurrency,
        "update_heartbeat_interval": settings.worker_heartbeat_s,
        "stalled_worker_timeout": settings.worker_stalled_after_s,
        "delete_jobs": "successful",
    }
    if name:
        options["name"] = name

    async def main() -> None:
        # Sync jobs run in the loop's default executor: room for all of them and the reaper.
        asyncio.get_running_loop().set_default_executor(
            ThreadPoolExecutor(concurrency + 2, thread_name_prefix="iroa-sync")
        )
        async with app.open_async():
            reaper = asyncio.create_task(
                _reap_forever(app, context, settings.worker_stalled_after_s)
            )
            watchers = WatchSupervisor(deps)
            watchers.start()
            try:
                await app.run_worker_async(**options)
            finally:
                reaper.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await reaper
                await asyncio.to_thread(watchers.stop)

    asyncio.run(main())
