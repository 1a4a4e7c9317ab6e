"""Run a sync: collect a snapshot, then apply it in one transaction and record the run.

Every run, whatever its integration reads, has the same life cycle: one at a
time per integration (across processes), a ``sync_runs`` row, collection within
a timeout, a clear one-line error on failure, the next automatic sync set when
it ends. What differs is how a snapshot is applied and what follows a run that
succeeded: :data:`HANDLING`, chosen by what the connector's kind reads.

The connector is handed in already built: this module never imports a vendor SDK.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypedDict, Unpack

from iroa.connectors.base import ConnectorError, NullProgress, Progress
from iroa.connectors.registry import AnyConnector, Reads, reads_of
from iroa.db.engine import Database
from iroa.db.locks import sync_lock
from iroa.findings.service import refresh_findings, refresh_findings_after_monitoring
from iroa.history.retention import prune_changes
from iroa.sync.apply import apply_inventory
from iroa.sync.collect import Collector, SyncTimeoutError, collect_within
from iroa.sync.events import CollectingEvents, event_cursor, keep_events, prune_events
from iroa.sync.monitoring import apply_monitoring
from iroa.sync.policy import SyncPolicy
from iroa.sync.reconcile import DuplicateExternalIdError
from iroa.sync.runs import (
    SyncAlreadyRunningError,
    SyncResult,
    finish_failed,
    interrupt_stale_runs,
    start_run,
)
from iroa.vocabulary import RunStatus, Trigger

log = logging.getLogger(__name__)

Applier = Callable[[Database, int, int, Any, bool, Progress, SyncPolicy], SyncResult]
Step = Callable[[Database, int, SyncPolicy], object]


@dataclass(frozen=True, slots=True)
class Handling:
    """How a snapshot of one kind of source is applied, and what follows a run that succeeded."""

    apply: Applier
    after: tuple[tuple[str, Step], ...]
    """What to do, and how to say it, once the integration's lock is released; a step's
    failure is logged and never fails the run."""
    interrupted: str
    """The error recorded when the process is interrupted while applying."""


def _refresh_findings(db: Database, integration_id: int, policy: SyncPolicy) -> object:
    return refresh_findings(db, integration_id, policy.thresholds)


def _prune_changes(db: Database, integration_id: int, policy: SyncPolicy) -> object:
    return prune_changes(db, policy.change_retention_days)


def _prune_events(db: Database, integration_id: int, policy: SyncPolicy) -> object:
    return prune_events(db, policy.event_retention_days)


def _refresh_all_findings(db: Database, integration_id: int, policy: SyncPolicy) -> object:
    # The monitoring rules of every inventory integration read monitoring data.
    return refresh_findings_after_monitoring(db, policy.thresholds)


HANDLING: dict[Reads, Handling] = {
    Reads.INVENTORY: Handling(
        apply_inventory,
        (
            ("refreshing health findings", _refresh_findings),
            ("pruning old changes", _prune_changes),
            ("pruning old events", _prune_events),
        ),
        "interrupted while applying changes",
    ),
    Reads.MONITORING: Handling(
        apply_monitoring,
        (("refreshing health findings", _refresh_all_findings),),
        "interrupted while storing monitoring data",
    ),
}


class RunOptions(TypedDict, total=False):
    """How a caller may shape a run (see :func:`run_sync`)."""

    policy: SyncPolicy | None
    trigger: Trigger
    force: bool
    progress: Progress | None
    on_start: Callable[[int], None] | None
    run_id: int | None
    timeout_s: float | None


def run_sync(
    db: Database, integration_id: int, connector: AnyConnector, **options: Unpack[RunOptions]
) -> SyncResult:
    """Sync one integration now with ``connector``; raise :class:`SyncAlreadyRunningError` if
    one is going.

    ``run_id`` names a ``queued`` run that this run carries out; without it (or
    if that run is no longer queued) a new run is recorded. ``on_start`` is
    called with the run's id as soon as the run is recorded. Connecting and
    collecting may take ``timeout_s`` (default: the integration's
    ``sync_timeout_s`` option, else 30 minutes); past it the run fails and the
    collection is abandoned. Applying is one transaction, never cut short.
    ``force`` applies a snapshot the safeguard would hold.
    """
    return run_reading(db, integration_id, reads_of(connector.kind), connector, **options)


def run_reading(
    db: Database,
    integration_id: int,
    reads: Reads,
    collector: Collector[Any],
    *,
    policy: SyncPolicy | None = None,
    trigger: Trigger = Trigger.MANUAL,
    force: bool = False,
    progress: Progress | None = None,
    on_start: Callable[[int], None] | None = None,
    run_id: int | None = None,
    timeout_s: float | None = None,
) -> SyncResult:
    """:func:`run_sync` of anything that collects what ``reads`` says (a watch's baseline)."""
    progress = progress or NullProgress()
    policy = policy or SyncPolicy()
    handling = HANDLING[reads]
    with sync_lock(db, integration_id) as taken:
        if not taken:
            raise SyncAlreadyRunningError("a sync of this integration is already running")
        interrupt_stale_runs(db, integration_id)
        run_id, option_timeout_s = start_run(db, integration_id, trigger, force, run_id)
        if on_start is not None:
            on_start(run_id)
        cursor = event_cursor(db, integration_id) if reads is Reads.INVENTORY else None
        try:
            progress.start("connect")
            snapshot, events = collect_within(
                CollectingEvents(collector, cursor), progress, timeout_s or option_timeout_s
            )
        except (ConnectorError, SyncTimeoutError) as exc:
            return finish_failed(db, run_id, str(exc), policy=policy.schedule)
        except BaseException as exc:
            if not isinstance(exc, Exception):
                finish_failed(db, run_id, "interrupted during collection", RunStatus.INTERRUPTED)
                raise
            log.exception("sync run %s: collection failed", run_id)
            return finish_failed(
                db,
                run_id,
                f"collection failed: {type(exc).__name__}: {exc}",
                policy=policy.schedule,
            )
        try:
            result = handling.apply(db, run_id, integration_id, snapshot, force, progress, policy)
        except DuplicateExternalIdError as exc:
            return finish_failed(
                db, run_id, f"the snapshot is inconsistent: {exc}", policy=policy.schedule
            )
        except BaseException:
            finish_failed(db, run_id, handling.interrupted, RunStatus.INTERRUPTED)
            raise
        finally:
            close = getattr(snapshot, "close", None)
            if close is not None:  # a snapshot kept on disk while it was applied
                close()
        if events is not None:
            keep_events(db, integration_id, events, run_id)
    if result.succeeded:
        for doing, step in handling.after:
            try:
                step(db, integration_id, policy)
            except Exception:
                log.exception("sync run %s: %s failed", run_id, doing)
    return result
