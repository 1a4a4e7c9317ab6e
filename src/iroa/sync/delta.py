"""Applying a delta: the objects a watcher saw change, written as a full sync would write them.

A delta is authoritative for the objects it touches (see
:class:`~iroa.connectors.base.Delta`) and for what hangs off them: a touched VM's
disks, NICs, snapshots, placements and tags; every other row stays as stored.
Within that scope it is planned, guarded and written by the same code as a full
snapshot (:mod:`iroa.sync.apply`), so the rows and change rows it leaves are
those a full sync would leave: a full sync after any sequence of deltas writes
nothing. One short transaction per delta; the integration's KPIs are summarised
with it. Its run does not move the next full sync, which stays the safety net.
"""

from __future__ import annotations

import logging

from sqlalchemy import Connection, func, select

from iroa.connectors.base import Delta
from iroa.db.engine import Database
from iroa.db.locks import sync_lock
from iroa.findings.service import refresh_findings
from iroa.sync.apply import (
    PRIMARY,
    RunScope,
    add_counts,
    applying,
    invert,
    no_counts,
    record_held,
    record_succeeded,
    skipped_of,
)
from iroa.sync.events import EventRead, keep_events
from iroa.sync.policy import SyncPolicy
from iroa.sync.reconcile import hold_reason
from iroa.sync.runs import (
    SyncAlreadyRunningError,
    SyncResult,
    finish_failed,
    start_run,
)
from iroa.sync.scope import TYPE_FIELDS, DeltaScopeError, TypeFields, load_containers, plan_scope
from iroa.sync.usage import replace_usage
from iroa.vocabulary import RunStatus, Trigger

__all__ = ["DeltaScopeError", "apply_delta", "sync_delta"]

log = logging.getLogger(__name__)


def sync_delta(
    db: Database,
    integration_id: int,
    delta: Delta,
    policy: SyncPolicy,
    *,
    force: bool = False,
    events: EventRead | None = None,
) -> SyncResult:
    """Apply a watcher's delta as a run of its own (trigger ``watch``), keep the ``events``
    read with it (:mod:`iroa.sync.events`), then refresh the integration's findings; raise
    :class:`SyncAlreadyRunningError` while a sync of the integration is going (the watcher
    keeps the delta and tries again)."""
    with sync_lock(db, integration_id) as taken:
        if not taken:
            raise SyncAlreadyRunningError("a sync of this integration is already running")
        run_id, _ = start_run(db, integration_id, Trigger.WATCH, force)
        try:
            result = apply_delta(db, run_id, integration_id, delta, force, policy)
        except BaseException:
            finish_failed(db, run_id, "interrupted while applying changes", RunStatus.INTERRUPTED)
            raise
        if events is not None:
            keep_events(db, integration_id, events, run_id)
    if result.succeeded:
        try:
            refresh_findings(db, integration_id, policy.thresholds)
        except Exception:
            log.exception("watch run %s: refreshing health findings failed", run_id)
    return result


def apply_delta(
    db: Database,
    run_id: int,
    integration_id: int,
    delta: Delta,
    force: bool,
    policy: SyncPolicy,
) -> SyncResult:
    """Apply one delta in one transaction, or hold it (see the module's doc)."""
    snapshot = delta.snapshot
    _check_scope(delta)
    skipped_by_type = skipped_of(snapshot)
    skipped = set().union(*skipped_by_type.values()) if skipped_by_type else set()
    skipped.update(snapshot.unread_tag_kinds)  # spare_skipped keeps the stored tags of these kinds
    with applying(db, integration_id) as (conn, now, previous_success):
        id_to_external, present = load_containers(conn, integration_id)
        known = {
            # References are known if the target is present after this delta.
            tf.type.plural: (present.get(tf.type.plural, set()) - _gone(delta, tf))
            | {r.external_id for r in getattr(snapshot, tf.type.plural)}
            | skipped_by_type.get(tf.type.name, set())
            for tf in TYPE_FIELDS
        }
        (part,) = snapshot.parts()
        plans = plan_scope(
            conn, integration_id, part, delta.touched, known, skipped, id_to_external
        )
        for tf in PRIMARY:
            # The safeguard weighs removals against the whole type, not the scope: its
            # present rows were read whole above, but for VMs, which are counted.
            plural = tf.type.plural
            plans[plural].present_before = (
                len(present[plural])
                if plural in present
                else _present_count(conn, tf, integration_id)
            )
        counts = no_counts()
        for plural, plan in plans.items():
            add_counts(counts[plural], plan)
        guarded = [tf.type.plural for tf in PRIMARY]
        reason = None if force else hold_reason(plans, guarded, policy.safeguard)
        if reason is not None:
            return record_held(
                conn, run_id, integration_id, snapshot, counts, reason, policy, reschedule=False
            )
        scope = RunScope(integration_id, run_id, now, previous_success, known, skipped)
        scope.write(conn, plans, {table: invert(ids) for table, ids in id_to_external.items()})
        replace_usage(conn, integration_id, run_id, now, part, delta.touched)
        record_succeeded(
            conn, run_id, integration_id, snapshot, counts, now, policy, reschedule=False
        )
    return SyncResult(run_id, RunStatus.SUCCEEDED, None, counts, dict(snapshot.counts()))


def _check_scope(delta: Delta) -> None:
    for object_type in (tf.type for tf in PRIMARY):
        touched = delta.touched.get(object_type.name, frozenset())
        for record in getattr(delta.snapshot, object_type.plural):
            if record.external_id not in touched:
                raise DeltaScopeError(
                    f"the delta holds {object_type.name} {record.external_id!r} "
                    "but does not say it touches it"
                )


def _gone(delta: Delta, tf: TypeFields) -> set[str]:
    """The objects of a primary type the delta says are gone."""
    if not tf.type.primary:
        return set()
    here = {r.external_id for r in getattr(delta.snapshot, tf.type.plural)}
    return set(delta.touched.get(tf.type.name, frozenset())) - here


def _present_count(conn: Connection, tf: TypeFields, integration_id: int) -> int:
    table = tf.type.table
    return int(
        conn.execute(
            select(func.count()).where(
                table.c.integration_id == integration_id, table.c.removed_at.is_(None)
            )
        ).scalar_one()
    )
