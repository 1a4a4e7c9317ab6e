"""Applying an inventory snapshot: compare it with what is stored, then write what changed.

One transaction per run: rows are inserted, updated or marked removed (never
deleted), one change row per object, the run's KPIs summarised. A snapshot
that would remove too much is held by the safeguard and changes nothing.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from operator import attrgetter
from typing import Any

from sqlalchemy import ColumnElement, Connection, select

from iroa.connectors.base import Progress, Snapshot
from iroa.db.base import utcnow
from iroa.db.engine import Database
from iroa.history.models import Change
from iroa.integrations.models import Integration
from iroa.inventory.types import OBJECT_TYPES, ObjectType
from iroa.sync.policy import SyncPolicy
from iroa.sync.reconcile import Plan, StoredRow, hold_reason, plan_type
from iroa.sync.runs import SyncResult, finish_read
from iroa.sync.summary import write_summary
from iroa.sync.writes import write_plan
from iroa.vocabulary import ChangeAction, RunStatus

ANALYZE_AFTER_WRITES = 5_000


@dataclass(frozen=True)
class TypeFields:
    """How one object type's records line up with its table's columns."""

    type: ObjectType
    columns: tuple[str, ...]
    fields: tuple[str, ...]
    refs: tuple[tuple[int, str], ...]  # (position in fields, target table)
    name_index: int | None

    @classmethod
    def of(cls, object_type: ObjectType) -> TypeFields:
        columns = tuple(c.name for c in object_type.data_columns)
        fields = tuple(
            c.removesuffix("_id") + "_external_id" if c in object_type.refs else c for c in columns
        )
        refs = tuple((columns.index(c), table) for c, table in object_type.refs.items())
        name_index = next((fields.index(n) for n in ("name", "label") if n in fields), None)
        return cls(object_type, columns, fields, refs, name_index)

    def values_of(self, records: Iterable[Any]) -> Iterable[tuple[str, tuple[Any, ...]]]:
        getter = attrgetter(*self.fields)
        if len(self.fields) == 1:
            return ((r.external_id, (getter(r),)) for r in records)
        return ((r.external_id, getter(r)) for r in records)


TYPE_FIELDS = tuple(TypeFields.of(t) for t in OBJECT_TYPES)


def warnings_of(snapshot: Snapshot) -> list[dict[str, str]] | None:
    if not snapshot.warnings:
        return None
    return [
        {"type": w.object_type, "id": w.external_id, "reason": w.reason} for w in snapshot.warnings
    ]


def spare_skipped(tf: TypeFields, plan: Plan, skipped: set[str]) -> None:
    """Keep, as stored, objects the source had but could not map, and what hangs off them."""
    owners = [
        tf.fields.index(f) for f in ("vm_external_id", "object_external_id") if f in tf.fields
    ]
    plan.removals = [
        removal
        for removal in plan.removals
        if removal[1] not in skipped and not any(removal[2][pos] in skipped for pos in owners)
    ]


def source_of(snapshot: Any) -> dict[str, str | None]:
    """What a run records of the system it read."""
    return {
        "name": snapshot.source.name,
        "product": snapshot.source.product,
        "version": snapshot.source.version,
        "build": snapshot.source.build,
    }


def apply_inventory(
    db: Database,
    run_id: int,
    integration_id: int,
    snapshot: Snapshot,
    force: bool,
    progress: Progress,
    policy: SyncPolicy,
) -> SyncResult:
    """Apply one inventory snapshot in one transaction, or hold it (see the module's doc)."""
    records = {tf.type.plural: getattr(snapshot, tf.type.plural) for tf in TYPE_FIELDS}
    skipped_by_type = skipped_of(snapshot)
    skipped = set().union(*skipped_by_type.values()) if skipped_by_type else set()
    with applying(db, integration_id) as (conn, now, previous_success):
        progress.start("compare", len(TYPE_FIELDS))
        # References to a skipped object stay as stored, like the object itself.
        incoming_ids = {
            tf.type.plural: {r.external_id for r in records[tf.type.plural]}
            | skipped_by_type.get(tf.type.name, set())
            for tf in TYPE_FIELDS
        }
        id_to_external: dict[str, dict[int, str]] = {}
        plans: dict[str, Plan] = {}
        for tf in TYPE_FIELDS:
            stored = load_stored(conn, tf, integration_id, id_to_external)
            incoming = drop_dangling(tf, tf.values_of(records[tf.type.plural]), incoming_ids)
            plans[tf.type.plural] = plan_type(tf.fields, stored, incoming)
            if skipped:
                spare_skipped(tf, plans[tf.type.plural], skipped)
            progress.advance()
        result = record_plans(
            conn,
            RunPlans(integration_id, run_id, snapshot, plans, now, previous_success),
            id_to_external,
            force,
            policy,
            progress,
        )
        if not result.succeeded:
            return result
    written = [tf.type.table.name for tf in TYPE_FIELDS if plans[tf.type.plural].writes]
    if sum(plans[tf.type.plural].writes for tf in TYPE_FIELDS) >= ANALYZE_AFTER_WRITES:
        with db.engine.connect() as conn:
            _refresh_statistics(
                conn.execution_options(iroa_write=True), [*written, Change.__tablename__]
            )
    return result


@contextmanager
def applying(
    db: Database, integration_id: int
) -> Iterator[tuple[Connection, datetime, datetime | None]]:
    """The one transaction a run applies in (taking the write lock at once): its
    connection, the moment it applies at, and the integration's last success before it."""
    with db.engine.connect() as conn:
        conn = conn.execution_options(iroa_write=True)
        with conn.begin():
            previous_success = conn.execute(
                select(Integration.last_success_at).where(Integration.id == integration_id)
            ).scalar_one()
            yield conn, utcnow(), previous_success


def skipped_of(snapshot: Snapshot) -> dict[str, set[str]]:
    """The external ids of the objects a snapshot could not map, by object type name."""
    skipped: dict[str, set[str]] = {}
    for skipped_object in snapshot.warnings:
        skipped.setdefault(skipped_object.object_type, set()).add(skipped_object.external_id)
    return skipped


@dataclass(frozen=True)
class RunPlans:
    """What one run planned, in its applying transaction."""

    integration_id: int
    run_id: int
    snapshot: Snapshot
    plans: dict[str, Plan]
    now: datetime
    previous_success: datetime | None


def record_plans(
    conn: Connection,
    run: RunPlans,
    id_to_external: dict[str, dict[int, str]],
    force: bool,
    policy: SyncPolicy,
    progress: Progress,
    *,
    reschedule: bool = True,
) -> SyncResult:
    """Hold the plans (the safeguard, unless forced) or write them, and record the run,
    its counts and the integration's KPIs: the end of a full or a delta run.
    ``id_to_external`` holds the stored rows' ids that new references may point to."""
    plans = run.plans
    totals = {tf.type.plural: len(getattr(run.snapshot, tf.type.plural)) for tf in TYPE_FIELDS}
    counts = {
        p: {
            ChangeAction.ADDED.value: plan.added,
            ChangeAction.MODIFIED.value: plan.modified,
            ChangeAction.REMOVED.value: plan.removed,
        }
        for p, plan in plans.items()
    }
    recorded: dict[str, Any] = {
        "totals": totals,
        "counts": counts,
        "source": source_of(run.snapshot),
        "warnings": warnings_of(run.snapshot),
    }
    guarded = [t.plural for t in OBJECT_TYPES if t.primary]
    reason = None if force else hold_reason(plans, guarded, policy.safeguard)
    if reason is not None:
        finish_read(
            conn,
            run.integration_id,
            run.run_id,
            RunStatus.HELD,
            policy.schedule,
            reschedule=reschedule,
            error=f"held: {reason}; nothing was changed",
            **recorded,
        )
        return SyncResult(run.run_id, RunStatus.HELD, reason, counts, totals)
    external_to_id = {
        table: {ext: i for i, ext in ids.items()} for table, ids in id_to_external.items()
    }
    for tf in TYPE_FIELDS:
        plan = plans[tf.type.plural]
        progress.start(f"apply {tf.type.plural}", plan.writes)
        write_plan(
            conn,
            tf,
            plan,
            run.integration_id,
            run.run_id,
            run.now,
            run.previous_success,
            external_to_id,
            progress,
        )
    write_summary(conn, run.integration_id, run.run_id, run.now)
    finish_read(
        conn,
        run.integration_id,
        run.run_id,
        RunStatus.SUCCEEDED,
        policy.schedule,
        applied_at=run.now,
        reschedule=reschedule,
        added=sum(c[ChangeAction.ADDED.value] for c in counts.values()),
        modified=sum(c[ChangeAction.MODIFIED.value] for c in counts.values()),
        removed=sum(c[ChangeAction.REMOVED.value] for c in counts.values()),
        **recorded,
    )
    return SyncResult(run.run_id, RunStatus.SUCCEEDED, None, counts, totals)


def _refresh_statistics(conn: Connection, tables: Sequence[str]) -> None:
    """Let the planner see a large batch of new rows now rather than at the next autovacuum.

    Without it, queries right after a first sync of a big estate (lists, exports)
    are planned for empty tables and can be slower by orders of magnitude.
    """
    if conn.dialect.name == "postgresql":
        with conn.begin():
            conn.exec_driver_sql("ANALYZE " + ", ".join(f'"{t}"' for t in tables))
    elif conn.dialect.name == "sqlite":
        with conn.begin():
            conn.exec_driver_sql("PRAGMA optimize")


def load_stored(
    conn: Connection,
    tf: TypeFields,
    integration_id: int,
    id_to_external: dict[str, dict[int, str]],
    *where: ColumnElement[bool],
) -> dict[str, StoredRow]:
    """Load one type's rows (those matching ``where``) in record space, and remember their
    ids for later references."""
    table = tf.type.table
    columns = [table.c[name] for name in tf.columns]
    rows = conn.execute(
        select(table.c.id, table.c.external_id, table.c.removed_at, *columns).where(
            table.c.integration_id == integration_id, *where
        )
    ).all()
    ids = id_to_external.setdefault(table.name, {})
    stored: dict[str, StoredRow] = {}
    ref_maps = [(pos, id_to_external.get(target, {})) for pos, target in tf.refs]
    for row in rows:
        values = list(row[3:])
        for pos, mapping in ref_maps:
            if values[pos] is not None:
                values[pos] = mapping.get(values[pos])
        for pos, value in enumerate(values):
            if isinstance(value, list):
                values[pos] = tuple(value)
        ids[row.id] = row.external_id
        stored[row.external_id] = StoredRow(row.id, tuple(values), row.removed_at is not None)
    return stored


def drop_dangling(
    tf: TypeFields,
    incoming: Iterable[tuple[str, tuple[Any, ...]]],
    incoming_ids: dict[str, set[str]],
) -> Iterable[tuple[str, tuple[Any, ...]]]:
    """References to objects the snapshot does not contain become None."""
    if not tf.refs:
        return incoming
    targets = [(pos, incoming_ids[table]) for pos, table in tf.refs]

    def fixed() -> Iterable[tuple[str, tuple[Any, ...]]]:
        for external_id, values in incoming:
            if any(values[p] is not None and values[p] not in known for p, known in targets):
                patched = list(values)
                for pos, known in targets:
                    if patched[pos] not in known:
                        patched[pos] = None
                values = tuple(patched)
            yield external_id, values

    return fixed()
