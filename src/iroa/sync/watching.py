"""Keeping one integration current from its source's change feed: a watcher.

A watcher opens the integration's :class:`~iroa.connectors.base.Watch`, reads
and applies a baseline as a sync run (trigger ``watch``), then applies each
batch of changes as a delta run (:mod:`iroa.sync.delta`) as soon as the source
reports it. Changes that need a full read are read and applied in full. When
the session is lost it reconnects, after a pause that doubles up to a cap, and
starts from a new baseline; what it applied stays. A delta that finds a sync of
the integration going is kept and applied after it, merged with what came since.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from iroa.connectors.base import (
    Collected,
    ConnectorError,
    Delta,
    EventCursor,
    EventFeed,
    EventRecord,
    Progress,
    Resync,
    Watch,
)
from iroa.connectors.registry import Reads, create_watch
from iroa.db.base import utcnow
from iroa.db.locks import sync_lock
from iroa.integrations.service import get_integration_by_id
from iroa.inventory.types import OBJECT_TYPES
from iroa.sync.collect import CheckedProgress
from iroa.sync.delta import sync_delta
from iroa.sync.engine import run_reading
from iroa.sync.events import EventRead, event_cursor, keep_events, read_feed
from iroa.sync.runs import SyncAlreadyRunningError, SyncResult
from iroa.sync.service import SyncDeps
from iroa.vocabulary import RunStatus, Trigger, WatchState

log = logging.getLogger(__name__)

WAIT_S = 5.0
"""How long one wait for changes blocks: how soon a stop request is noticed."""
EVENTS_IDLE_S = 30.0
"""While nothing changes, how often a watch whose source logs events reads them: events
are read with every change anyway, this keeps those that change no inventory current."""


@dataclass(frozen=True, slots=True)
class Backoff:
    """Pauses between attempts: ``first_s``, doubling up to ``max_s``; ``failed_s`` after a
    baseline the safeguard held (nothing changes until someone looks)."""

    first_s: float = 1.0
    max_s: float = 60.0
    failed_s: float = 300.0

    def pause(self, attempt: int) -> float:
        return min(self.max_s, self.first_s * 2.0**attempt)


@dataclass(frozen=True, slots=True)
class WatchStatus:
    """What a watcher reports whenever its state changes or it applies something."""

    state: WatchState
    since: datetime
    reason: str | None = None
    last_update_at: datetime | None = None
    """When it last applied changes (or its baseline)."""
    last_delay_s: float | None = None
    """From the watch's report of the last changes to their commit, in seconds."""
    updates: int = 0
    """Objects its delta runs added, modified or removed since it started."""


StatusSink = Callable[[WatchStatus], None]
ResultSink = Callable[[SyncResult], None]


class WatchStoppedError(ConnectorError):
    """Raised inside a watcher's reads once it was asked to stop."""


def watch_integration(
    deps: SyncDeps,
    integration_id: int,
    stop: threading.Event,
    *,
    on_status: StatusSink | None = None,
    on_result: ResultSink | None = None,
    heartbeat: Callable[[], None] | None = None,
    backoff: Backoff | None = None,
    wait_s: float = WAIT_S,
    events_idle_s: float = EVENTS_IDLE_S,
) -> None:
    """Keep one integration current until ``stop`` is set (see the module's doc).

    Raises :class:`~iroa.connectors.registry.UnsupportedKindError` if its kind has no
    change feed. ``on_status`` hears every state; ``on_result`` every run it records;
    ``heartbeat`` is called at least every :data:`WAIT_S` seconds while it runs. Events are
    read with every change, and every ``events_idle_s`` while nothing changes.
    """
    watcher = _Watcher(
        deps,
        integration_id,
        stop,
        on_status,
        on_result,
        heartbeat,
        backoff or Backoff(),
        events_idle_s,
    )
    watcher.run(wait_s)


class _Watcher:
    def __init__(
        self,
        deps: SyncDeps,
        integration_id: int,
        stop: threading.Event,
        on_status: StatusSink | None,
        on_result: ResultSink | None,
        heartbeat: Callable[[], None] | None,
        backoff: Backoff,
        events_idle_s: float = EVENTS_IDLE_S,
    ) -> None:
        self.deps = deps
        self.integration_id = integration_id
        self.stop = stop
        self.on_status = on_status
        self.on_result = on_result
        self.backoff = backoff
        self.status = WatchStatus(WatchState.STARTING, utcnow())
        self.pending: Delta | None = None
        self.pending_since = 0.0
        self.heartbeat: Callable[[], None] = heartbeat or (lambda: None)
        self.events_read_at = 0.0
        self.events_idle_s = events_idle_s

    def report(
        self,
        state: WatchState,
        reason: str | None = None,
        *,
        applied: bool = False,
        delay_s: float | None = None,
        updates: int = 0,
    ) -> None:
        now = utcnow()
        since = self.status.since if state == self.status.state else now
        last = now if applied else self.status.last_update_at
        delay = delay_s if delay_s is not None else self.status.last_delay_s
        total = self.status.updates + updates
        self.status = WatchStatus(state, since, reason, last, delay, total)
        if self.on_status is not None:
            self.on_status(self.status)

    def recorded(self, result: SyncResult) -> None:
        if self.on_result is not None:
            self.on_result(result)

    def run(self, wait_s: float) -> None:
        integration = get_integration_by_id(self.deps.db, self.integration_id)
        options = self.deps.options_for(integration)
        attempt = 0
        self.report(WatchState.STARTING)
        while not self.stop.is_set():
            pause = self.backoff.pause(attempt)
            try:
                with create_watch(integration.kind, options) as watch:
                    if self._baseline(watch):
                        attempt = 0
                        self._follow(watch, wait_s)
                        continue
                    pause = self.backoff.failed_s
            except ConnectorError as exc:
                self.report(WatchState.RECONNECTING, str(exc))
                attempt += 1
            self.heartbeat()
            self.stop.wait(pause)
        self.report(WatchState.OFF)

    def _baseline(self, watch: Watch) -> bool:
        """Read and apply everything; whether the watcher may follow changes from here."""
        while True:
            try:
                result = run_reading(
                    self.deps.db,
                    self.integration_id,
                    Reads.INVENTORY,
                    _baseline_of(watch, self.stop, self.heartbeat),
                    policy=self.deps.policy,
                    trigger=Trigger.WATCH,
                )
            except SyncAlreadyRunningError:
                if self.stop.wait(self.backoff.first_s):
                    return False
                continue
            self.recorded(result)
            break
        if result.status == RunStatus.FAILED:
            raise ConnectorError(result.error or "the baseline failed")
        if result.status != RunStatus.SUCCEEDED:
            reason = f"baseline {result.status}: {result.error}; nothing was changed"
            self.report(WatchState.FAILED, reason)
            return False
        self.pending = None
        self.events_read_at = time.monotonic()
        self.report(WatchState.LIVE, applied=True)
        return True

    def _follow(self, watch: Watch, wait_s: float) -> None:
        """Apply changes as they come until asked to stop."""
        while not self.stop.is_set():
            self.heartbeat()
            change = watch.wait(wait_s)
            if isinstance(change, Resync):
                log.info(
                    "integration %s: reading everything: %s", self.integration_id, change.reason
                )
                if not self._baseline(watch):
                    return
                continue
            if change is not None and self.pending is None:
                self.pending_since = time.monotonic()
                self.pending = change
            elif change is not None and self.pending is not None:
                self.pending = merge_deltas(self.pending, change)
            if self.pending is not None:
                self._apply_pending(watch)
            elif time.monotonic() - self.events_read_at >= self.events_idle_s:
                self._read_events(watch)

    def _events(self, watch: Watch) -> EventRead | None:
        """The events logged since the last one kept, if the watch's source logs any."""
        if not isinstance(watch, EventFeed):
            return None
        self.events_read_at = time.monotonic()
        return read_feed(watch, event_cursor(self.deps.db, self.integration_id))

    def _read_events(self, watch: Watch) -> None:
        """Keep the events logged while nothing changed (unless a sync is going, which
        reads them itself)."""
        events = self._events(watch)
        if events is None or events.error is not None:
            return  # a refusal is said on the runs of the changes it leaves unexplained
        with sync_lock(self.deps.db, self.integration_id) as taken:
            if taken:
                keep_events(self.deps.db, self.integration_id, events, None)

    def _apply_pending(self, watch: Watch) -> None:
        assert self.pending is not None
        events = self._events(watch)  # after the changes were read: their events are logged
        try:
            result = sync_delta(
                self.deps.db, self.integration_id, self.pending, self.deps.policy, events=events
            )
        except SyncAlreadyRunningError:
            return  # kept: applied after the sync, with what comes meanwhile
        self.pending = None
        self.recorded(result)
        if result.status == RunStatus.HELD:
            self.report(WatchState.LIVE, f"changes held: {result.error}")
        else:
            written = sum(sum(by_action.values()) for by_action in result.counts.values())
            delay_s = time.monotonic() - self.pending_since
            self.report(WatchState.LIVE, applied=True, delay_s=delay_s, updates=written)


class _Baseline:
    """A watch's baseline as the sync engine collects a snapshot."""

    def __init__(self, watch: Watch, stop: threading.Event, beat: Callable[[], None]) -> None:
        self.watch = watch
        self.stop = stop
        self.beat = beat

    def collect(self, progress: Progress) -> Collected:
        return self.watch.baseline(CheckedProgress(progress, self._check))

    def _check(self) -> None:
        """Beat the heart at each report; end the read there once asked to stop."""
        if self.stop.is_set():
            raise WatchStoppedError("the watcher was asked to stop")
        self.beat()


class _BaselineWithEvents(_Baseline):
    """A baseline whose watch also reads its source's events."""

    def read_events(self, after: EventCursor | None) -> Sequence[EventRecord]:
        assert isinstance(self.watch, EventFeed)
        return self.watch.read_events(after)


def _baseline_of(watch: Watch, stop: threading.Event, beat: Callable[[], None]) -> _Baseline:
    """The baseline collector of ``watch``: with its events if it reads any."""
    if isinstance(watch, EventFeed):
        return _BaselineWithEvents(watch, stop, beat)
    return _Baseline(watch, stop, beat)


def merge_deltas(older: Delta, newer: Delta) -> Delta:
    """One delta with the effect of ``older`` then ``newer``: an object the newer one
    touches is as it says, with its parts and tags; the rest as the older one says."""
    touched = {
        name: older.touched.get(name, frozenset()) | newer.touched.get(name, frozenset())
        for name in older.touched.keys() | newer.touched.keys()
    }
    renewed = {(name, ext) for name, ids in newer.touched.items() for ext in ids}
    renewed_vms = newer.touched.get("vm", frozenset())

    def superseded(record: Any, object_type: str) -> bool:
        if hasattr(record, "vm_external_id"):
            return record.vm_external_id in renewed_vms
        if hasattr(record, "object_external_id"):
            return (record.object_type, record.object_external_id) in renewed
        return (object_type, record.external_id) in renewed

    parts: dict[str, Any] = {
        t.plural: [
            *(r for r in getattr(older.snapshot, t.plural) if not superseded(r, t.name)),
            *getattr(newer.snapshot, t.plural),
        ]
        for t in OBJECT_TYPES
    }
    warnings = [
        *(w for w in older.snapshot.warnings if (w.object_type, w.external_id) not in renewed),
        *newer.snapshot.warnings,
    ]
    unread = frozenset((*older.snapshot.unread_tag_kinds, *newer.snapshot.unread_tag_kinds))
    snapshot = replace(newer.snapshot, warnings=warnings, unread_tag_kinds=unread, **parts)
    return Delta(snapshot, touched)
