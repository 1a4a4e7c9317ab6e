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
from collections.abc import Iterable
from typing import Any

from sqlalchemy import ColumnElement, Connection, func, select, tuple_

from iroa.connectors.base import Delta, NullProgress
from iroa.db.engine import Database
from iroa.db.locks import sync_lock
from iroa.findings.service import refresh_findings
from iroa.inventory.types import BY_NAME, OBJECT_TYPES
from iroa.sync.apply import (
    TYPE_FIELDS,
    RunPlans,
    TypeFields,
    applying,
    drop_dangling,
    load_stored,
    record_plans,
    skipped_of,
    spare_skipped,
)
from iroa.sync.policy import SyncPolicy
from iroa.sync.reconcile import Plan, StoredRow, plan_type
from iroa.sync.runs import (
    SyncAlreadyRunningError,
    SyncResult,
    finish_failed,
    start_run,
)
from iroa.vocabulary import RunStatus, Trigger

log = logging.getLogger(__name__)

PRIMARY = tuple(t for t in OBJECT_TYPES if t.primary)
_OWNER_FIELD = "vm_external_id"
_TAG_FIELDS = ("object_type", "object_external_id")
_IN_CHUNK = 500


class DeltaScopeError(ValueError):
    """A delta holds a record of an object it does not say it touches (a connector's bug)."""


def sync_delta(
    db: Database, integration_id: int, delta: Delta, policy: SyncPolicy, *, force: bool = False
) -> SyncResult:
    """Apply a watcher's delta as a run of its own (trigger ``watch``), then refresh the
    integration's findings; raise :class:`SyncAlreadyRunningError` while a sync of the
    integration is going (the watcher keeps the delta and tries again)."""
    with sync_lock(db, integration_id) as taken:
        if not taken:
            raise SyncAlreadyRunningError("a sync of this integration is already running")
        run_id, _ = start_run(db, integration_id, Trigger.WATCH, force)
        try:
            result = apply_delta(db, run_id, integration_id, delta, force, policy)
        except BaseException:
            finish_failed(db, run_id, "interrupted while applying changes", RunStatus.INTERRUPTED)
            raise
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
    records = {tf.type.plural: getattr(snapshot, tf.type.plural) for tf in TYPE_FIELDS}
    _check_scope(delta)
    skipped_by_type = skipped_of(snapshot)
    skipped = set().union(*skipped_by_type.values()) if skipped_by_type else set()
    with applying(db, integration_id) as (conn, now, previous_success):
        id_to_external: dict[str, dict[int, str]] = {}
        present: dict[str, set[str]] = {}
        plans: dict[str, Plan] = {}
        for tf in TYPE_FIELDS:
            plural = tf.type.plural
            stored = _load_scope(conn, tf, integration_id, delta, id_to_external, present)
            present_before = present.get(plural)
            incoming_ids = {r.external_id for r in records[plural]}
            # References are known if the target is present after this delta.
            known = (present.get(plural, set()) - _gone(delta, tf)) | incoming_ids
            present[plural] = known | skipped_by_type.get(tf.type.name, set())
            incoming = drop_dangling(tf, tf.values_of(records[plural]), present)
            plan = plan_type(tf.fields, stored, incoming)
            if skipped:
                spare_skipped(tf, plan, skipped)
            if tf.type.primary:
                # The safeguard weighs removals against the whole type, not the scope: its
                # present rows were read whole above, but for VMs, which are counted.
                plan.present_before = (
                    len(present_before)
                    if present_before is not None
                    else _present_count(conn, tf, integration_id)
                )
            plans[plural] = plan
        return record_plans(
            conn,
            RunPlans(integration_id, run_id, snapshot, plans, now, previous_success),
            id_to_external,
            force,
            policy,
            NullProgress(),
            reschedule=False,
        )


def _check_scope(delta: Delta) -> None:
    for object_type in PRIMARY:
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


def _load_scope(
    conn: Connection,
    tf: TypeFields,
    integration_id: int,
    delta: Delta,
    id_to_external: dict[str, dict[int, str]],
    present: dict[str, set[str]],
) -> dict[str, StoredRow]:
    """The stored rows of one type that the delta speaks for, keyed by external id.

    For a primary type without parts, every row's id is remembered (they are few,
    and touched objects may reference any of them) and ``present`` gets the type's
    present external ids; VMs are read for the touched ones only. A VM's parts are
    read by their VM, tags by the object they belong to.
    """
    table = tf.type.table
    name = tf.type.name
    if tf.type.primary:
        touched = sorted(delta.touched.get(name, frozenset()))
        if not tf.type.parts:
            rows = conn.execute(
                select(table.c.id, table.c.external_id, table.c.removed_at).where(
                    table.c.integration_id == integration_id
                )
            ).all()
            id_to_external.setdefault(table.name, {}).update(
                (row.id, row.external_id) for row in rows
            )
            present[tf.type.plural] = {row.external_id for row in rows if row.removed_at is None}
        return _load_in(conn, tf, integration_id, id_to_external, table.c.external_id, touched)
    if _OWNER_FIELD in tf.fields:
        owners = id_to_external.get(BY_NAME["vm"].table.name, {})
        return _load_in(conn, tf, integration_id, id_to_external, table.c.vm_id, sorted(owners))
    if all(field in tf.fields for field in _TAG_FIELDS):
        pairs = sorted(
            (object_type, external_id)
            for object_type, ids in delta.touched.items()
            for external_id in ids
        )
        key = tuple_(table.c.object_type, table.c.object_external_id)
        return _load_in(conn, tf, integration_id, id_to_external, key, pairs)
    raise DeltaScopeError(f"no delta scope for {tf.type.plural}")


def _load_in(
    conn: Connection,
    tf: TypeFields,
    integration_id: int,
    id_to_external: dict[str, dict[int, str]],
    column: ColumnElement[Any],
    values: Iterable[Any],
) -> dict[str, StoredRow]:
    """:func:`load_stored` of the rows whose ``column`` is one of ``values``, in chunks."""
    values = list(values)
    stored: dict[str, StoredRow] = {}
    for start in range(0, len(values), _IN_CHUNK):
        chunk = values[start : start + _IN_CHUNK]
        stored |= load_stored(conn, tf, integration_id, id_to_external, column.in_(chunk))
    return stored


def _present_count(conn: Connection, tf: TypeFields, integration_id: int) -> int:
    table = tf.type.table
    return int(
        conn.execute(
            select(func.count()).where(
                table.c.integration_id == integration_id, table.c.removed_at.is_(None)
            )
        ).scalar_one()
    )
