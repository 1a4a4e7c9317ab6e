"""Applying an inventory snapshot: compare it with what is stored, then write what changed.

One transaction per run: rows are inserted, updated or marked removed (never
deleted), one change row per object, the run's KPIs summarised. A snapshot
that would remove too much is held by the safeguard and changes nothing.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from operator import attrgetter
from typing import Any, TypeVar

from sqlalchemy import ColumnElement, Connection, bindparam, insert, select, update

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
from iroa.vocabulary import ChangeAction, RunStatus

_CHUNK = 500
_T = TypeVar("_T")
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
    warnings = warnings_of(snapshot)
    skipped_by_type: dict[str, set[str]] = {}
    for skipped_object in snapshot.warnings:
        skipped_by_type.setdefault(skipped_object.object_type, set()).add(
            skipped_object.external_id
        )
    skipped = set().union(*skipped_by_type.values()) if skipped_by_type else set()
    totals = {plural: len(items) for plural, items in records.items()}
    source = source_of(snapshot)
    with db.engine.connect() as conn:
        conn = conn.execution_options(iroa_write=True)
        with conn.begin():
            now = utcnow()
            previous_success = conn.execute(
                select(Integration.last_success_at).where(Integration.id == integration_id)
            ).scalar_one()
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
                "source": source,
                "warnings": warnings,
            }
            reason = (
                None
                if force
                else hold_reason(
                    plans, [t.plural for t in OBJECT_TYPES if t.primary], policy.safeguard
                )
            )
            if reason is not None:
                finish_read(
                    conn,
                    integration_id,
                    run_id,
                    RunStatus.HELD,
                    policy.schedule,
                    error=f"held: {reason}; nothing was changed",
                    **recorded,
                )
                return SyncResult(run_id, RunStatus.HELD, reason, counts, totals)
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
                    integration_id,
                    run_id,
                    now,
                    previous_success,
                    external_to_id,
                    progress,
                )
            write_summary(conn, integration_id, run_id, now)
            finish_read(
                conn,
                integration_id,
                run_id,
                RunStatus.SUCCEEDED,
                policy.schedule,
                applied_at=now,
                added=sum(c[ChangeAction.ADDED.value] for c in counts.values()),
                modified=sum(c[ChangeAction.MODIFIED.value] for c in counts.values()),
                removed=sum(c[ChangeAction.REMOVED.value] for c in counts.values()),
                **recorded,
            )
        written = [tf.type.table.name for tf in TYPE_FIELDS if plans[tf.type.plural].writes]
        if sum(plans[tf.type.plural].writes for tf in TYPE_FIELDS) >= ANALYZE_AFTER_WRITES:
            _refresh_statistics(conn, [*written, Change.__tablename__])
    return SyncResult(run_id, RunStatus.SUCCEEDED, None, counts, totals)


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


def write_plan(
    conn: Connection,
    tf: TypeFields,
    plan: Plan,
    integration_id: int,
    run_id: int,
    now: datetime,
    previous_success: datetime | None,
    external_to_id: dict[str, dict[str, int]],
    progress: Progress,
) -> None:
    table = tf.type.table
    ref_maps = [(pos, external_to_id.setdefault(target, {})) for pos, target in tf.refs]

    def to_columns(values: tuple[Any, ...]) -> dict[str, Any]:
        row = dict(zip(tf.columns, values, strict=True))
        for pos, mapping in ref_maps:
            ref = values[pos]
            row[tf.columns[pos]] = None if ref is None else mapping.get(ref)
        return row

    changes: list[dict[str, Any]] = []

    def change(
        object_id: int,
        external_id: str,
        action: ChangeAction,
        values: tuple[Any, ...],
        fields: dict[str, list[Any]] | None = None,
    ) -> None:
        name = values[tf.name_index] if tf.name_index is not None else None
        changes.append(
            {
                "sync_run_id": run_id,
                "integration_id": integration_id,
                "changed_at": now,
                "object_type": tf.type.name,
                "object_id": object_id,
                "external_id": external_id,
                "object_name": name,
                "action": action,
                "fields": {k: [_jsonable(o), _jsonable(n)] for k, (o, n) in fields.items()}
                if fields
                else None,
            }
        )

    own_ids = external_to_id.setdefault(table.name, {})
    for insert_chunk in _chunks(plan.inserts):
        rows = [
            {
                **to_columns(values),
                "integration_id": integration_id,
                "external_id": ext,
                "first_seen_at": now,
                "last_seen_at": now,
                "removed_at": None,
            }
            for ext, values in insert_chunk
        ]
        inserted = conn.execute(
            insert(table).returning(table.c.id, table.c.external_id, sort_by_parameter_order=True),
            rows,
        ).all()
        for (ext, values), (new_id, _) in zip(insert_chunk, inserted, strict=True):
            own_ids[ext] = new_id
            change(new_id, ext, ChangeAction.ADDED, values)
        progress.advance(len(insert_chunk))

    if plan.updates:
        stmt = (
            update(table)
            .where(table.c.id == bindparam("b_id"))
            .values(
                {
                    name: bindparam(f"b_{name}")
                    for name in (*tf.columns, "last_seen_at", "removed_at")
                }
            )
        )
        for update_chunk in _chunks(plan.updates):
            params = []
            for u in update_chunk:
                row = {f"b_{k}": v for k, v in to_columns(u.values).items()}
                row.update(b_id=u.id, b_last_seen_at=now, b_removed_at=None)
                params.append(row)
                change(
                    u.id,
                    u.external_id,
                    ChangeAction.ADDED if u.revived else ChangeAction.MODIFIED,
                    u.values,
                    u.fields,
                )
            conn.execute(stmt, params)
            progress.advance(len(update_chunk))

    for removal_chunk in _chunks(plan.removals):
        ids = [row_id for row_id, _, _ in removal_chunk]
        removal: dict[str, Any] = {"removed_at": now}
        if previous_success is not None:
            removal["last_seen_at"] = previous_success
        conn.execute(update(table).where(table.c.id.in_(ids)).values(removal))
        for row_id, ext, old_values in removal_chunk:
            change(row_id, ext, ChangeAction.REMOVED, old_values)
        progress.advance(len(removal_chunk))

    for change_chunk in _chunks(changes, 2000):
        conn.execute(insert(Change), change_chunk)


def _chunks(items: Sequence[_T], size: int = _CHUNK) -> Iterable[Sequence[_T]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def _jsonable(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, tuple):
        return list(value)
    return value
