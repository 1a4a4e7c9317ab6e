"""Writing one object type's plan: inserts, updates, rows marked removed, and a change row
per object, in chunks, within the caller's transaction.

New rows get ids reserved up front and are sent in bulk (:mod:`iroa.db.bulk`),
as are the change rows; updates and removals go through SQLAlchemy as usual.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from itertools import islice, repeat
from typing import TYPE_CHECKING, Any, TypeVar

from sqlalchemy import Connection, bindparam, update

from iroa.connectors.base import Progress
from iroa.db.bulk import BulkInsert, reserve_ids
from iroa.history.models import Change
from iroa.sync.reconcile import Plan, Update
from iroa.vocabulary import ChangeAction

if TYPE_CHECKING:
    from iroa.sync.scope import TypeFields

_CHUNK = 500
_BULK_CHUNK = 10_000
_CHANGE_COLUMNS = ("object_id", "external_id", "action", "object_name", "fields")
_CHANGES = Change.metadata.tables[Change.__tablename__]
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
    name_index = tf.name_index

    def to_columns(values: tuple[Any, ...]) -> Sequence[Any]:
        """Record space to columns: references become the ids of the rows they name."""
        if not ref_maps:
            return values
        row = list(values)
        for pos, mapping in ref_maps:
            ref = row[pos]
            if ref is not None:
                row[pos] = mapping.get(ref)
        return row

    def name_of(values: tuple[Any, ...]) -> Any:
        return None if name_index is None else values[name_index]

    changes = _Changes()
    own_ids = external_to_id.setdefault(table.name, {})

    if plan.inserts:
        ids = reserve_ids(conn, table, len(plan.inserts))
        rows = BulkInsert(
            conn,
            table,
            ("id", "external_id", *tf.columns),
            {"integration_id": integration_id, "first_seen_at": now, "last_seen_at": now},
        )
        for start in range(0, len(plan.inserts), _BULK_CHUNK):
            chunk_ids = ids[start : start + _BULK_CHUNK]
            external_ids, records = zip(*plan.inserts[start : start + _BULK_CHUNK], strict=True)
            own_ids.update(zip(external_ids, chunk_ids, strict=True))
            columns: list[Sequence[Any]] = list(zip(*records, strict=True))
            names = columns[name_index] if name_index is not None else repeat(None)
            for pos, mapping in ref_maps:
                columns[pos] = list(map(mapping.get, columns[pos]))
            rows.send([chunk_ids, external_ids, *columns])
            changes.add(chunk_ids, external_ids, repeat(ChangeAction.ADDED.value), names)
            progress.advance(len(chunk_ids))

    if plan.updates or plan.quiet:
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
        keys = [f"b_{name}" for name in tf.columns]

        def _update_params(u: Update) -> dict[str, Any]:
            row = dict(zip(keys, to_columns(u.values), strict=True))
            row.update(b_id=u.id, b_last_seen_at=now, b_removed_at=None)
            return row

        for update_chunk in _chunks(plan.updates):
            conn.execute(stmt, [_update_params(u) for u in update_chunk])
            changes.add(
                [u.id for u in update_chunk],
                [u.external_id for u in update_chunk],
                [
                    (ChangeAction.ADDED if u.revived else ChangeAction.MODIFIED).value
                    for u in update_chunk
                ],
                [name_of(u.values) for u in update_chunk],
                [_fields_of(u.fields) for u in update_chunk],
            )
            progress.advance(len(update_chunk))
        for update_chunk in _chunks(plan.quiet):
            conn.execute(stmt, [_update_params(u) for u in update_chunk])
            progress.advance(len(update_chunk))

    for removal_chunk in _chunks(plan.removals):
        removed_ids = [row_id for row_id, _, _ in removal_chunk]
        removal: dict[str, Any] = {"removed_at": now}
        if previous_success is not None:
            removal["last_seen_at"] = previous_success
        conn.execute(update(table).where(table.c.id.in_(removed_ids)).values(removal))
        changes.add(
            removed_ids,
            [ext for _, ext, _ in removal_chunk],
            repeat(ChangeAction.REMOVED.value),
            [name_of(old_values) for _, _, old_values in removal_chunk],
        )
        progress.advance(len(removal_chunk))

    change_rows = BulkInsert(
        conn,
        _CHANGES,
        _CHANGE_COLUMNS,
        {
            "sync_run_id": run_id,
            "integration_id": integration_id,
            "changed_at": now,
            "object_type": tf.type.name,
        },
    )
    for start in range(0, len(changes.object_ids), _BULK_CHUNK):
        change_rows.send([column[start : start + _BULK_CHUNK] for column in changes.columns()])


class _Changes:
    """The change rows of one type, column by column, in the order they were made."""

    def __init__(self) -> None:
        self.object_ids: list[int] = []
        self.external_ids: list[str] = []
        self.actions: list[str] = []
        self.names: list[Any] = []
        self.fields: list[dict[str, list[Any]] | None] = []

    def add(
        self,
        object_ids: Sequence[int],
        external_ids: Sequence[str],
        actions: Iterable[str],
        names: Iterable[Any],
        fields: Iterable[dict[str, list[Any]] | None] | None = None,
    ) -> None:
        count = len(object_ids)
        self.object_ids.extend(object_ids)
        self.external_ids.extend(external_ids)
        self.actions.extend(islice(actions, count))
        self.names.extend(islice(names, count))
        self.fields.extend(islice(repeat(None) if fields is None else fields, count))

    def columns(self) -> tuple[list[Any], ...]:
        """In the order of the columns the rows are inserted with."""
        return self.object_ids, self.external_ids, self.actions, self.names, self.fields


def _fields_of(fields: dict[str, list[Any]] | None) -> dict[str, list[Any]] | None:
    """A modification's ``{field: [old, new]}`` as JSON holds it."""
    if not fields:
        return None
    return {k: [_jsonable(o), _jsonable(n)] for k, (o, n) in fields.items()}


def _chunks(items: Sequence[_T], size: int = _CHUNK) -> Iterable[Sequence[_T]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def _jsonable(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, tuple):
        return list(value)
    return value
