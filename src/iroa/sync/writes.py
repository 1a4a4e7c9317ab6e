"""Writing one object type's plan: inserts, updates, rows marked removed, and a change row
per object, in chunks, within the caller's transaction."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any, TypeVar

from sqlalchemy import Connection, bindparam, insert, update

from iroa.connectors.base import Progress
from iroa.history.models import Change
from iroa.sync.reconcile import Plan
from iroa.vocabulary import ChangeAction

if TYPE_CHECKING:
    from iroa.sync.apply import TypeFields

_CHUNK = 500
_T = TypeVar("_T")


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
