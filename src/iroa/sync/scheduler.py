"""The thread of ``iroa serve`` that starts due syncs (see :mod:`iroa.sync.schedule`).

Embedded mode: runs start the way API syncs do
(:func:`~iroa.sync.background.start_sync`, trigger ``schedule``), so
the per-integration lock decides, across processes, that one run at a time goes
ahead: a run already going is skipped, not queued.

Queue mode (given a :class:`~iroa.sync.queue.SyncQueue`): a due time is claimed
with a compare-and-set of ``integrations.next_sync_at`` (only the scheduler
whose update still sees the time it read wins, however many run) and the winner
enqueues one job for the workers. The claim moves ``next_sync_at`` one interval
on, so should the job be lost (a crash between claim and enqueue) the
integration is simply due again then; a finished run sets the real next time.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select, update

from iroa.db.base import utcnow
from iroa.db.engine import Database
from iroa.integrations.models import Integration
from iroa.integrations.service import IntegrationNotFoundError
from iroa.sync.background import ProgressBroker, start_sync
from iroa.sync.queue import SyncQueue
from iroa.sync.runs import SyncAlreadyRunningError
from iroa.sync.schedule import ScheduleEntry, due_integrations, first_sync_at
from iroa.sync.service import SyncDeps, SyncNotStartedError
from iroa.vocabulary import Trigger

log = logging.getLogger(__name__)


@dataclass
class Scheduler:
    """Starts the due syncs of this database every ``tick_s`` seconds, in a background thread.

    Runs go through the same path as API syncs; one already going for an
    integration (here or in another process) is never started again.
    """

    deps: SyncDeps
    broker: ProgressBroker
    tick_s: float = 5.0
    clock: Callable[[], datetime] = utcnow
    queue: SyncQueue | None = None
    """Enqueue due syncs for ``iroa worker`` processes instead of running them here."""
    _running: set[int] = field(default_factory=set, init=False)
    _changed: threading.Condition = field(default_factory=threading.Condition, init=False)
    _stop: threading.Event = field(default_factory=threading.Event, init=False)
    _thread: threading.Thread | None = field(default=None, init=False)

    @property
    def db(self) -> Database:
        return self.deps.db

    def start(self) -> None:
        """Begin ticking in a daemon thread."""
        if self._thread is not None:
            raise RuntimeError("the scheduler is already running")
        self._stop.clear()
        self._thread = threading.Thread(target=self._loop, name="iroa-scheduler", daemon=True)
        self._thread.start()
        log.info("scheduler started (every %g s)", self.tick_s)

    def stop(self, grace_s: float = 10.0) -> None:
        """Start no more runs; wait up to ``grace_s`` for the running ones to finish.

        A run still going after that is left to its thread; if the process then
        exits, the next start marks it ``interrupted``.
        """
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
            self._thread = None
        with self._changed:
            if not self._changed.wait_for(lambda: not self._running, grace_s):
                log.warning("scheduler stopped with %d syncs still running", len(self._running))

    @property
    def running(self) -> frozenset[int]:
        """Integrations whose scheduled run this scheduler is waiting for."""
        with self._changed:
            return frozenset(self._running)

    def tick(self) -> list[int]:
        """Start every due sync now; return the ids of the runs started (in queue mode:
        of the jobs queued)."""
        now = self.clock()
        entries = self._load_entries(now)
        started: list[int] = []
        by_id = {entry.integration_id: entry for entry in entries}
        for integration_id in due_integrations(entries, now):
            if self._stop.is_set():
                break
            if self.queue is not None:
                job_id = self._enqueue_one(self.queue, by_id[integration_id], now)
                if job_id is not None:
                    started.append(job_id)
                continue
            if integration_id in self.running:
                continue
            run_id = self._start_one(integration_id, now)
            if run_id is not None:
                started.append(run_id)
        return started

    def _loop(self) -> None:
        while not self._stop.is_set():
            try:
                self.tick()
            except Exception:
                log.exception("scheduler: looking for due syncs failed")
            self._stop.wait(self.tick_s)

    def _load_entries(self, now: datetime) -> list[ScheduleEntry]:
        """The scheduled integrations; those never scheduled get their first time now."""
        with self.db.session() as session:
            rows = session.execute(
                select(
                    Integration.id,
                    Integration.enabled,
                    Integration.interval_seconds,
                    Integration.next_sync_at,
                    Integration.last_success_at,
                ).where(Integration.interval_seconds.is_not(None), Integration.enabled)
            ).all()
        entries: list[ScheduleEntry] = []
        for integration_id, enabled, interval_s, next_sync_at, last_success_at in rows:
            if next_sync_at is None and interval_s:
                jitter_s = self.deps.policy.schedule.draw_jitter_s(interval_s)
                next_sync_at = first_sync_at(now, interval_s, last_success_at, jitter_s)
                self._set_next(integration_id, next_sync_at, only_if_unset=True)
            entries.append(ScheduleEntry(integration_id, enabled, interval_s, next_sync_at))
        return entries

    def _set_next(self, integration_id: int, at: datetime, *, only_if_unset: bool = False) -> None:
        stmt = update(Integration).where(Integration.id == integration_id).values(next_sync_at=at)
        if only_if_unset:
            stmt = stmt.where(Integration.next_sync_at.is_(None))
        with self.db.write_session() as session:
            session.execute(stmt)

    def _claim(self, entry: ScheduleEntry, now: datetime) -> bool:
        """Take this due time for this process: true for exactly one scheduler."""
        lease = now + timedelta(
            seconds=entry.interval_seconds or self.deps.policy.schedule.min_interval_s
        )
        stmt = (
            update(Integration)
            .where(
                Integration.id == entry.integration_id,
                Integration.next_sync_at == entry.next_sync_at,
            )
            .values(next_sync_at=lease)
        )
        with self.db.write_session() as session:
            return bool(session.execute(stmt).rowcount)  # type: ignore[attr-defined]

    def _enqueue_one(self, queue: SyncQueue, entry: ScheduleEntry, now: datetime) -> int | None:
        if not self._claim(entry, now):
            log.debug("scheduler: integration %s was claimed elsewhere", entry.integration_id)
            return None
        try:
            job_id = queue.enqueue(entry.integration_id, trigger=Trigger.SCHEDULE, once=True)
        except Exception:
            log.exception(
                "scheduler: queueing the sync of integration %s failed", entry.integration_id
            )
            return None
        if job_id is None:
            log.debug("scheduler: integration %s already has a job waiting", entry.integration_id)
        else:
            log.info("scheduler: queued job %s for integration %s", job_id, entry.integration_id)
        return job_id

    def _start_one(self, integration_id: int, now: datetime) -> int | None:
        with self._changed:
            self._running.add(integration_id)

        def finished(_: Any) -> None:
            with self._changed:
                self._running.discard(integration_id)
                self._changed.notify_all()

        try:
            run_id = start_sync(
                self.deps, self.broker, integration_id, trigger=Trigger.SCHEDULE, on_finish=finished
            )
        except SyncNotStartedError as exc:
            # Nothing to run (say, a kind this version cannot sync): look again an interval later.
            log.warning("scheduler: %s", exc)
            finished(None)
            self._set_next(integration_id, now + self._retry_delay(integration_id))
            return None
        except SyncAlreadyRunningError:
            log.debug(
                "scheduler: integration %s is being synced elsewhere; skipped", integration_id
            )
            finished(None)
            return None
        except IntegrationNotFoundError:
            log.debug("scheduler: integration %s was removed meanwhile", integration_id)
            finished(None)
            return None
        except Exception:
            log.exception("scheduler: starting the sync of integration %s failed", integration_id)
            finished(None)
            return None
        log.info("scheduler: started sync run %s of integration %s", run_id, integration_id)
        return run_id

    def _retry_delay(self, integration_id: int) -> timedelta:
        with self.db.session() as session:
            interval_s = session.scalar(
                select(Integration.interval_seconds).where(Integration.id == integration_id)
            )
        return timedelta(seconds=interval_s or self.deps.policy.schedule.min_interval_s)
