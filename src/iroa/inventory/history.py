"""The inventory as it stood at a past moment, rebuilt from today's rows and the change log.

Design (docs/history.md): inventory rows are never deleted — a vanished
object keeps its row, with its last values, and ``removed_at`` — and every
added, modified and removed object has a change row whose ``fields`` hold
``[old, new]`` for each field that changed. So the state at a moment *T* is
today's rows with every change made after *T* undone:

- an object is present at *T* if its first change after *T* is ``removed``
  or ``modified``, absent if that change is ``added`` (inserted or revived
  after *T*), and as it is today if nothing changed after *T*;
- each field takes the *old* value of the first change after *T* that touched
  it, or today's value.

Rebuilding therefore reads each table once and the changes made after *T*
once, and costs what those do: cheap for recent moments, more the further
back (and the busier the estate) one goes.

The rebuilt rows are written to a throwaway SQLite database with IROA's own
schema (migrated like any other), and the ordinary list and export code reads
it: filters, search, sort, keyset cursors and every sheet of the workbook
behave exactly as they do on the live inventory. A few recent ones are kept
while nothing new happens, so paging through one ``as_of`` list builds it once.
"""

from __future__ import annotations

import logging
import shutil
import tempfile
import threading
from collections import OrderedDict
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, func, insert, select

from iroa.db.base import UTCDateTime, utcnow
from iroa.db.engine import Database
from iroa.history.models import Change, Summary
from iroa.history.retention import history_horizon
from iroa.integrations.models import Integration
from iroa.inventory.listing import ListParams, list_page
from iroa.inventory.rows import ListItem
from iroa.inventory.types import OBJECT_TYPES, ObjectType
from iroa.paging import InvalidQueryError, Page, parse_timestamp, to_utc

log = logging.getLogger(__name__)

CACHED_SNAPSHOTS = 2
_INSERT_CHUNK = 2000


class HistoryUnavailableError(InvalidQueryError):
    """The moment asked for lies before the history horizon: its changes were pruned."""


def parse_as_of(value: str) -> datetime:
    """An ``as_of`` parameter: an ISO-8601 timestamp, taken as UTC if it has no zone."""
    return parse_timestamp(value, "as_of")


@dataclass(frozen=True)
class _FieldMap:
    """How one type's change ``fields`` (record space) map back to its columns."""

    columns: dict[str, str]  # change field -> column
    refs: dict[str, str]  # change field -> referenced table
    timestamps: frozenset[str]  # change fields holding an ISO-8601 timestamp

    @classmethod
    def of(cls, kind: ObjectType) -> _FieldMap:
        columns: dict[str, str] = {}
        refs: dict[str, str] = {}
        timestamps: set[str] = set()
        for column in kind.data_columns:
            target = kind.refs.get(column.name)
            field = column.name
            if target is not None:
                field = column.name.removesuffix("_id") + "_external_id"
                refs[field] = target
            elif isinstance(column.type, UTCDateTime):
                timestamps.add(field)
            columns[field] = column.name
        return cls(columns, refs, frozenset(timestamps))


_FIELD_MAPS = {kind.name: _FieldMap.of(kind) for kind in OBJECT_TYPES}


_REFERENCED = frozenset(target for kind in OBJECT_TYPES for target in kind.refs.values())


def rows_as_of(
    conn: Connection,
    kind: ObjectType,
    at: datetime,
    external_ids: dict[str, dict[tuple[int, str], int]],
) -> Iterator[dict[str, Any]]:
    """The rows of ``kind`` present at ``at``, with the values they had then, streamed.

    ``external_ids`` maps each table already read to ``{(integration, external id): id}``
    (references in the change log are external ids); this table is added to it when
    others refer to it. Memory holds the changes after ``at`` and those maps, not the rows.
    """
    first_action: dict[int, str] = {}
    old_values: dict[int, dict[str, Any]] = {}
    later = (
        select(Change.object_id, Change.action, Change.fields)
        .where(Change.object_type == kind.name, Change.changed_at > at)
        .order_by(Change.changed_at, Change.id)
    )
    for object_id, action, fields in conn.execute(later):
        first_action.setdefault(object_id, action)
        if fields:
            olds = old_values.setdefault(object_id, {})
            for name, pair in fields.items():
                olds.setdefault(name, pair[0])
    field_map = _FIELD_MAPS[kind.name]
    table = kind.table
    own_ids: dict[tuple[int, str], int] | None = None
    if table.name in _REFERENCED:
        own_ids = external_ids.setdefault(table.name, {})
    result = conn.execution_options(yield_per=_INSERT_CHUNK).execute(select(table))
    keys = list(result.keys())
    for partition in result.partitions():
        for values in partition:
            row = dict(zip(keys, values, strict=True))
            if own_ids is not None:
                own_ids[(row["integration_id"], row["external_id"])] = row["id"]
            action = first_action.get(row["id"])
            if (row["removed_at"] is not None) if action is None else action == "added":
                continue
            for name, old in old_values.get(row["id"], {}).items():
                column = field_map.columns.get(name)
                if column is not None:
                    row[column] = _column_value(
                        field_map, name, old, row["integration_id"], external_ids
                    )
            row["removed_at"] = None
            yield row


def _column_value(
    field_map: _FieldMap,
    name: str,
    value: Any,
    integration_id: int,
    external_ids: dict[str, dict[tuple[int, str], int]],
) -> Any:
    if value is None:
        return None
    target = field_map.refs.get(name)
    if target is not None:
        return external_ids.get(target, {}).get((integration_id, value))
    if name in field_map.timestamps and isinstance(value, str):
        return datetime.fromisoformat(value)
    return value


def _check_horizon(conn: Connection, at: datetime) -> None:
    horizon = history_horizon(conn)
    if horizon is not None and at < horizon:
        raise HistoryUnavailableError(
            f"as_of {at.isoformat()} is before the history horizon {horizon.isoformat()}: "
            "the changes needed to rebuild it were pruned (IROA_CHANGE_RETENTION_DAYS)"
        )


def _cache_key(conn: Connection, at: datetime) -> tuple[Any, ...]:
    """What the rebuilt inventory depends on besides ``at``: new changes, prunes, integrations."""
    last_change = conn.execute(select(func.max(Change.id))).scalar_one()
    integrations = tuple(conn.execute(select(Integration.id).order_by(Integration.id)).scalars())
    return (at, last_change, history_horizon(conn), integrations)


def _copy_as_of(source: Connection, target: Connection, at: datetime) -> dict[str, int]:
    """Write the inventory at ``at`` into ``target``; the number of rows of each table."""
    last_success = dict(
        source.execute(
            select(Summary.integration_id, func.max(Summary.taken_at))
            .where(Summary.taken_at <= at)
            .group_by(Summary.integration_id)
        ).all()
    )
    integrations = [
        {
            "id": row.id,
            "kind": row.kind,
            "name": row.name,
            "url": row.url,
            "username": row.username,
            "secret_encrypted": None,
            "options": {},
            "interval_seconds": row.interval_seconds,
            "enabled": row.enabled,
            "last_success_at": last_success.get(row.id),
            "created_at": row.created_at,
            "updated_at": row.updated_at,
        }
        for row in source.execute(select(Integration))
    ]
    if integrations:
        target.execute(insert(Integration), integrations)
    counts: dict[str, int] = {}
    external_ids: dict[str, dict[tuple[int, str], int]] = {}
    for kind in OBJECT_TYPES:
        counts[kind.plural] = 0
        chunk: list[dict[str, Any]] = []
        for row in rows_as_of(source, kind, at, external_ids):
            seen = last_success.get(row["integration_id"])
            if seen is not None:
                row["last_seen_at"] = min(row["last_seen_at"], seen)
            chunk.append(row)
            if len(chunk) == _INSERT_CHUNK:
                target.execute(insert(kind.table), chunk)
                counts[kind.plural] += len(chunk)
                chunk = []
        if chunk:
            target.execute(insert(kind.table), chunk)
            counts[kind.plural] += len(chunk)
    return counts


class _Snapshot:
    """One rebuilt inventory: a SQLite database in a temporary directory, and its readers."""

    def __init__(self, db: Database) -> None:
        self.db = db
        self.readers = 0
        self.evicted = False

    def close(self) -> None:
        self.db.dispose()
        shutil.rmtree(Path(str(self.db.engine.url.database)).parent, ignore_errors=True)


_cache: OrderedDict[tuple[Any, ...], _Snapshot] = OrderedDict()
_cache_lock = threading.Lock()


def build_snapshot(db: Database, at: datetime) -> Database:
    """A new database holding the inventory as it stood at ``at`` (the caller disposes of it)."""
    from iroa.db.migrate import upgrade  # Alembic: only for this, not in every CLI process

    directory = Path(tempfile.mkdtemp(prefix="iroa-as-of-"))
    snapshot = Database(f"sqlite:///{directory / 'as-of.db'}")
    try:
        upgrade(snapshot.engine)
        started = utcnow()
        with db.engine.connect() as source:
            if not db.is_sqlite:
                source = source.execution_options(isolation_level="REPEATABLE READ")
            with source.begin():
                _check_horizon(source, at)
                with snapshot.engine.connect() as target:
                    # Only present rows are copied; references to others stay as they were.
                    driver = target.connection.driver_connection
                    assert driver is not None
                    driver.execute("PRAGMA foreign_keys=OFF")
                    # A throwaway file: no need to survive a crash, so no journal or fsync.
                    driver.execute("PRAGMA journal_mode=OFF")
                    driver.execute("PRAGMA synchronous=OFF")
                    with target.begin():
                        counts = _copy_as_of(source, target, at)
        log.info(
            "rebuilt the inventory as of %s in %.1f s (%s)",
            at.isoformat(),
            (utcnow() - started).total_seconds(),
            ", ".join(f"{k} {v}" for k, v in counts.items()),
        )
    except BaseException:
        snapshot.dispose()
        shutil.rmtree(directory, ignore_errors=True)
        raise
    return snapshot


@contextmanager
def inventory_as_of(db: Database, at: datetime | None) -> Iterator[Database]:
    """``db`` itself for ``at`` None, else a database of the inventory as it stood at ``at``.

    Raises :class:`HistoryUnavailableError` for a moment before the history horizon.
    Rebuilt inventories are cached (the last :data:`CACHED_SNAPSHOTS`) until a sync
    records a change, a prune happens or an integration comes or goes.
    """
    if at is None:
        yield db
        return
    at = to_utc(at, "as_of")
    with db.engine.connect() as conn:
        _check_horizon(conn, at)
        key = (db.url, *_cache_key(conn, at))
    with _cache_lock:
        snapshot = _cache.get(key)
        if snapshot is None:
            snapshot = _Snapshot(build_snapshot(db, at))
            _cache[key] = snapshot
            while len(_cache) > CACHED_SNAPSHOTS:
                _, evicted = _cache.popitem(last=False)
                evicted.evicted = True
                if evicted.readers == 0:
                    evicted.close()
        else:
            _cache.move_to_end(key)
        snapshot.readers += 1
    try:
        yield snapshot.db
    finally:
        with _cache_lock:
            snapshot.readers -= 1
            if snapshot.evicted and snapshot.readers == 0:
                snapshot.close()


def clear_snapshots() -> None:
    """Drop every cached rebuilt inventory no one is reading (and its files)."""
    with _cache_lock:
        for key, snapshot in list(_cache.items()):
            del _cache[key]
            snapshot.evicted = True
            if snapshot.readers == 0:
                snapshot.close()


def list_page_as_of(
    db: Database, plural: str, params: ListParams, at: datetime | None
) -> Page[ListItem]:
    """:func:`~iroa.inventory.listing.list_page` on the inventory as it stood at ``at`` (or now)."""
    if at is None:
        return list_page(db, plural, params)
    if params.include_removed:
        raise InvalidQueryError(
            "include_removed cannot be combined with as_of: an as_of list holds the objects "
            "present at that moment"
        )
    with inventory_as_of(db, at) as past:
        return list_page(past, plural, params)
