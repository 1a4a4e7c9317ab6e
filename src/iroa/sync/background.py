"""Syncs started by the API, the dashboard and the scheduler: run in a thread of the serving
process, progress kept for streaming.

A :class:`ProgressBroker` keeps the live state of each run started here; the API
streams it to clients. Runs started elsewhere (the CLI, another process) are
followed by reading their row instead.
"""

from __future__ import annotations

import logging
import threading
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from iroa.audit.service import Actor, record_sync_start
from iroa.errors import UnavailableError
from iroa.integrations.service import get_integration_by_id
from iroa.sync.queue import SyncQueue
from iroa.sync.runs import SyncResult, fail_queued_run, record_queued_run
from iroa.sync.service import SyncDeps, sync_integration
from iroa.vocabulary import RunStatus, Trigger

log = logging.getLogger(__name__)

KEEP_FINISHED = 200
START_TIMEOUT_S = 120.0


class SyncStartTimeoutError(UnavailableError):
    """A background sync could not record its run in time."""


@dataclass(frozen=True, slots=True)
class ProgressUpdate:
    """What happened in a run since a follower last looked.

    ``steps`` are ``{phase, done, total}`` records: each phase as it starts and as it
    ends; ``current`` is the running phase now; ``cursor`` is where to look next time.
    """

    steps: list[dict[str, Any]]
    current: dict[str, Any] | None
    cursor: int
    finished: bool
    status: str | None


@dataclass
class _Channel:
    phase: str | None = None
    done: int = 0
    total: int | None = None
    finished: bool = False
    status: str | None = None
    steps: list[dict[str, Any]] = field(default_factory=list)

    def snapshot(self) -> dict[str, Any] | None:
        if self.phase is None:
            return None
        return {"phase": self.phase, "done": self.done, "total": self.total}

    def close_phase(self) -> None:
        current = self.snapshot()
        if current is not None and (not self.steps or self.steps[-1] != current):
            self.steps.append(current)


class ProgressBroker:
    """Thread-safe live progress of the runs this process started."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._channels: OrderedDict[int, _Channel] = OrderedDict()

    def open(self, run_id: int) -> None:
        with self._lock:
            self._channels[run_id] = _Channel()
            while len(self._channels) > KEEP_FINISHED:
                oldest = next(iter(self._channels))
                if not self._channels[oldest].finished:
                    break
                del self._channels[oldest]

    def start_phase(self, run_id: int, phase: str, total: int | None) -> None:
        with self._lock:
            channel = self._channels.get(run_id)
            if channel is None:
                return
            channel.close_phase()
            channel.phase, channel.done, channel.total = phase, 0, total
            channel.close_phase()

    def advance(self, run_id: int, done: int) -> None:
        with self._lock:
            channel = self._channels.get(run_id)
            if channel is not None:
                channel.done += done

    def finish(self, run_id: int, status: str) -> None:
        with self._lock:
            channel = self._channels.get(run_id)
            if channel is None:
                return
            channel.close_phase()
            channel.finished, channel.status = True, status

    def updates(self, run_id: int, cursor: int = 0) -> ProgressUpdate | None:
        """Steps since ``cursor`` and the current phase, or None if this process did not
        start the run."""
        with self._lock:
            channel = self._channels.get(run_id)
            if channel is None:
                return None
            return ProgressUpdate(
                channel.steps[cursor:],
                channel.snapshot(),
                len(channel.steps),
                channel.finished,
                channel.status,
            )


class BrokerProgress:
    """The engine's :class:`~iroa.connectors.base.Progress`, published to a broker."""

    def __init__(self, broker: ProgressBroker) -> None:
        self._broker = broker
        self.run_id: int | None = None
        self._pending: list[tuple[str, int | None]] = []

    def bind(self, run_id: int) -> None:
        self.run_id = run_id
        self._broker.open(run_id)
        for phase, total in self._pending:
            self._broker.start_phase(run_id, phase, total)
        self._pending.clear()

    def start(self, phase: str, total: int | None = None) -> None:
        if self.run_id is None:
            self._pending.append((phase, total))
        else:
            self._broker.start_phase(self.run_id, phase, total)

    def advance(self, done: int = 1) -> None:
        if self.run_id is not None:
            self._broker.advance(self.run_id, done)


@dataclass
class _Start:
    event: threading.Event = field(default_factory=threading.Event)
    run_id: int | None = None
    error: BaseException | None = None


def start_sync(
    deps: SyncDeps,
    broker: ProgressBroker,
    integration_id: int,
    *,
    trigger: Trigger,
    force: bool = False,
    on_start: Callable[[int], Any] | None = None,
    on_finish: Callable[[SyncResult | None], Any] | None = None,
) -> int:
    """Run :func:`~iroa.sync.service.sync_integration` in a daemon thread; return the run's id
    once the run is recorded.

    ``on_start`` runs in that thread with the run id before collection begins;
    ``on_finish`` runs there last, with the result (None if the run raised or
    never started). The broker hears that the run finished before what follows
    it (say, the monitoring refresh after an inventory run). Raises what
    prevented the run from starting: :class:`~iroa.sync.runs.SyncAlreadyRunningError`
    if the integration is being synced.
    """
    started = _Start()
    progress = BrokerProgress(broker)

    def started_run(run_id: int) -> None:
        progress.bind(run_id)
        if on_start is not None:
            try:
                on_start(run_id)
            except Exception:
                log.exception("sync run %s: start hook failed", run_id)
        started.run_id = run_id
        started.event.set()

    def work() -> None:
        result: SyncResult | None = None
        try:
            result = sync_integration(
                deps,
                integration_id,
                trigger=trigger,
                force=force,
                progress=progress,
                on_start=started_run,
                on_result=lambda finished: broker.finish(finished.run_id, finished.status),
            )
        except BaseException as exc:
            if started.run_id is None:
                started.error = exc
                started.event.set()
            else:
                log.exception("sync run %s failed", started.run_id)
                broker.finish(started.run_id, RunStatus.FAILED)
            if not isinstance(exc, Exception):
                raise
        finally:
            if on_finish is not None:
                try:
                    on_finish(result)
                except Exception:
                    log.exception("sync of integration %s: finish hook failed", integration_id)

    thread = threading.Thread(target=work, name=f"iroa-sync-{integration_id}", daemon=True)
    thread.start()
    if not started.event.wait(START_TIMEOUT_S):
        raise SyncStartTimeoutError("the sync did not start in time: the database is busy")
    if started.error is not None:
        raise started.error
    assert started.run_id is not None
    return started.run_id


def start_integration_sync(
    deps: SyncDeps,
    broker: ProgressBroker,
    integration_id: int,
    actor: Actor,
    *,
    trigger: Trigger,
    force: bool = False,
    queue: SyncQueue | None = None,
) -> int:
    """Start an audited sync of one stored integration for the API or dashboard; return its
    run id.

    Given a ``queue`` (``IROA_EXECUTION=queue``), the run is recorded ``queued``
    and a worker carries it out; jobs of one integration run one after another.
    """
    integration = get_integration_by_id(deps.db, integration_id)

    def audit_start(run_id: int) -> None:
        record_sync_start(deps.db, actor, integration.id, integration.name, run_id, force)

    if queue is None:
        return start_sync(
            deps, broker, integration.id, trigger=trigger, force=force, on_start=audit_start
        )
    run_id = record_queued_run(deps.db, integration.id, trigger, force)
    audit_start(run_id)
    try:
        queue.enqueue(integration.id, trigger=trigger, force=force, run_id=run_id)
    except Exception as exc:
        fail_queued_run(deps.db, run_id, f"the sync could not be queued: {type(exc).__name__}")
        raise
    return run_id
