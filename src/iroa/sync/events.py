"""Keeping a source's events and joining them to the changes they explain.

A connector or watch that reads an event log (:class:`~iroa.connectors.base.EventFeed`,
vCenter) is asked, right after it read the inventory, for the events logged since the
last one kept (:func:`event_cursor`): what it reads then includes the events behind
every change it saw. After the run's changes are written, :func:`record_events` keeps
the new events and gives each change row they explain its ``actor`` and ``event``
(:mod:`iroa.history.attribution` says which event explains which change), in one
transaction. A change seen before its event is read is explained when the event
arrives. A refused or failed read of events is one warning on the run; the inventory
is applied all the same.
"""

from __future__ import annotations

import logging
from bisect import bisect_left
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from itertools import islice
from typing import Any, Generic, TypeVar

from sqlalchemy import Connection, bindparam, delete, func, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from iroa.connectors.base import (
    ConnectorError,
    EventCursor,
    EventFeed,
    EventRecord,
    Progress,
)
from iroa.db.base import utcnow
from iroa.db.engine import Database
from iroa.history.attribution import match_event
from iroa.history.models import Change, Event
from iroa.sync.collect import Collector
from iroa.sync.models import SyncRun
from iroa.text import storable
from iroa.vocabulary import RunStatus

log = logging.getLogger(__name__)

CLOCK_SKEW = timedelta(seconds=60)
"""Events are stamped by the source's clock, changes by IROA's: an event may explain a
change seen up to this long before the event's time."""
EXPLAINED_TYPES = {"VirtualMachine": "vm"}
"""The source's object types whose changes events explain, with IROA's type names."""
_IN_CHUNK = 500
_T_co = TypeVar("_T_co", covariant=True)


@dataclass(frozen=True, slots=True)
class EventRead:
    """What one read of a source's events brought: its events, or why there are none."""

    records: Sequence[EventRecord] = ()
    error: str | None = None


def read_feed(feed: EventFeed, cursor: EventCursor | None) -> EventRead:
    """Read the events after ``cursor``; a refusal or any failure is an :class:`EventRead`
    with its one-line reason, never an exception."""
    try:
        return EventRead(tuple(feed.read_events(cursor)))
    except ConnectorError as exc:
        return EventRead(error=str(exc))
    except Exception as exc:  # the inventory read before it must not be lost to it
        log.exception("reading events failed")
        return EventRead(error=f"events not read: {type(exc).__name__}: {exc}")


class CollectingEvents(Generic[_T_co]):
    """A collector that reads the source's events after its inventory, in the same thread
    and time limit: what it collects is the snapshot and an :class:`EventRead`."""

    def __init__(self, collector: Collector[_T_co], cursor: EventCursor | None) -> None:
        self._collector = collector
        self._cursor = cursor

    def collect(self, progress: Progress) -> tuple[_T_co, EventRead | None]:
        snapshot = self._collector.collect(progress)
        if not isinstance(self._collector, EventFeed):
            return snapshot, None
        return snapshot, read_feed(self._collector, self._cursor)


def event_cursor(db: Database, integration_id: int) -> EventCursor | None:
    """Where the integration's next read of events resumes: after the last event kept."""
    with db.engine.connect() as conn:
        row = conn.execute(
            select(Event.event_key, Event.created_at)
            .where(Event.integration_id == integration_id)
            .order_by(Event.event_key.desc())
            .limit(1)
        ).first()
    return EventCursor(row.event_key, row.created_at) if row else None


def record_events(db: Database, integration_id: int, read: EventRead, run_id: int | None) -> int:
    """Keep the events of ``read`` and explain the changes they can, with those of run
    ``run_id``, in one transaction; a failed read becomes a warning of the run. How many
    change rows got an actor."""
    with db.engine.connect() as conn:
        conn = conn.execution_options(iroa_write=True)
        with conn.begin():
            if read.error is not None:
                log.warning("integration %s: %s", integration_id, read.error)
                if run_id is not None:
                    _warn(conn, run_id, read.error)
            new = store_events(conn, integration_id, read.records)
            starts = [r.created_at - CLOCK_SKEW for r in new]
            if run_id is not None:
                starts.append(
                    conn.execute(
                        select(SyncRun.started_at).where(SyncRun.id == run_id)
                    ).scalar_one()
                )
            if not starts:
                return 0
            return attribute_changes(conn, integration_id, min(starts))


def keep_events(db: Database, integration_id: int, read: EventRead, run_id: int | None) -> None:
    """:func:`record_events`, whose failure is logged and leaves the run as it was recorded:
    the events are read again, from the last kept, by the next read."""
    try:
        record_events(db, integration_id, read, run_id)
    except Exception:
        log.exception("integration %s: keeping vCenter events failed", integration_id)


def store_events(
    conn: Connection, integration_id: int, records: Sequence[EventRecord]
) -> list[EventRecord]:
    """Insert the events not kept yet (a key kept is skipped, whoever kept it); the new ones."""
    insert = pg_insert if conn.dialect.name == "postgresql" else sqlite_insert
    stmt = (
        insert(Event)
        .on_conflict_do_nothing(index_elements=["integration_id", "event_key"])
        .returning(Event.event_key)
    )
    new: list[EventRecord] = []
    for start in range(0, len(records), _IN_CHUNK):
        chunk = records[start : start + _IN_CHUNK]
        inserted = set(conn.scalars(stmt, [_row(integration_id, r) for r in chunk]))
        new.extend(r for r in chunk if r.key in inserted)
    return new


def attribute_changes(conn: Connection, integration_id: int, since: datetime) -> int:
    """Give the unexplained change rows seen from ``since`` on the actor and type of the
    event that explains each, if one does; how many got one.

    A change's event must come after the run before its own began (the object was
    seen as it was then) and no later than the change was seen (plus
    :data:`CLOCK_SKEW`): a change of the integration's first run, which found the
    object rather than saw it change, is explained by none.
    """
    floor = _previous_start(conn, integration_id, since)
    events = _events_since(conn, integration_id, floor or since)
    if not events:
        return 0
    candidates = _unexplained(conn, integration_id, since, events)
    if not candidates:
        return 0
    previous = _previous_starts(conn, integration_id, {c.sync_run_id for c in candidates})
    explained: list[dict[str, Any]] = []
    for change in candidates:
        after = previous.get(change.sync_run_id)
        if after is None:
            continue
        event = match_event(
            change.action,
            change.fields,
            change.external_id,
            after,
            change.changed_at + CLOCK_SKEW,
            events[(change.object_type, change.external_id)],
        )
        if event is not None:
            explained.append(
                {"b_id": change.id, "b_actor": event.user_name, "b_event": event.event_type}
            )
    if explained:
        conn.execute(
            update(Change)
            .where(Change.id == bindparam("b_id"))
            .values(actor=bindparam("b_actor"), event=bindparam("b_event")),
            explained,
        )
    return len(explained)


def prune_events(db: Database, retention_days: int, now: datetime | None = None) -> int:
    """Delete events older than ``retention_days`` (0 keeps them forever); how many."""
    if retention_days <= 0:
        return 0
    cutoff = (now or utcnow()) - timedelta(days=retention_days)
    with db.write_session() as session:
        deleted: int = session.execute(  # type: ignore[attr-defined]
            delete(Event).where(Event.created_at < cutoff)
        ).rowcount
    if deleted:
        log.info("pruned %d events older than %s", deleted, cutoff.isoformat())
    return deleted


def _events_since(
    conn: Connection, integration_id: int, since: datetime
) -> dict[tuple[str, str], list[EventRecord]]:
    """The kept events that can explain changes, logged from ``since`` on, by (IROA type,
    external id) of their object."""
    found: dict[tuple[str, str], list[EventRecord]] = defaultdict(list)
    rows = conn.execute(
        select(
            Event.event_key,
            Event.created_at,
            Event.event_type,
            Event.user_name,
            Event.object_type,
            Event.object_external_id,
        ).where(
            Event.integration_id == integration_id,
            Event.created_at >= since,
            Event.object_type.in_(EXPLAINED_TYPES),
            Event.object_external_id.is_not(None),
        )
    )
    for key, created_at, event_type, user, object_type, external_id in rows:
        record = EventRecord(
            key, created_at, event_type, user, object_type, external_id, None, None, None
        )
        if object_type is not None and external_id is not None:  # as the query asks
            found[(EXPLAINED_TYPES[object_type], external_id)].append(record)
    return found


def _unexplained(
    conn: Connection,
    integration_id: int,
    since: datetime,
    events: dict[tuple[str, str], list[EventRecord]],
) -> list[Any]:
    """The change rows from ``since`` on with no event yet, of the objects events name."""
    by_type: dict[str, list[str]] = defaultdict(list)
    for object_type, external_id in events:
        by_type[object_type].append(external_id)
    found: list[Any] = []
    for object_type, external_ids in by_type.items():
        ids = iter(external_ids)
        while chunk := list(islice(ids, _IN_CHUNK)):
            found.extend(
                conn.execute(
                    select(
                        Change.id,
                        Change.sync_run_id,
                        Change.object_type,
                        Change.external_id,
                        Change.action,
                        Change.fields,
                        Change.changed_at,
                    ).where(
                        Change.integration_id == integration_id,
                        Change.changed_at >= since,
                        Change.object_type == object_type,
                        Change.external_id.in_(chunk),
                        Change.event.is_(None),
                    )
                )
            )
    return found


def _previous_starts(
    conn: Connection, integration_id: int, run_ids: set[int]
) -> dict[int, datetime | None]:
    """For each run, when the integration's last applied run before it began (None for its
    first): its objects were seen as stored from then on. Two queries, however many runs."""
    starts = dict(
        conn.execute(select(SyncRun.id, SyncRun.started_at).where(SyncRun.id.in_(run_ids))).all()
    )
    if not starts:
        return {}
    earliest, latest = min(starts.values()), max(starts.values())
    floor = _previous_start(conn, integration_id, earliest) or earliest
    applied = list(
        conn.scalars(
            select(SyncRun.started_at)
            .where(
                SyncRun.integration_id == integration_id,
                SyncRun.status == RunStatus.SUCCEEDED,
                SyncRun.started_at >= floor,
                SyncRun.started_at < latest,
            )
            .order_by(SyncRun.started_at)
        )
    )
    previous: dict[int, datetime | None] = {}
    for run_id, started in starts.items():
        before = bisect_left(applied, started)
        previous[run_id] = applied[before - 1] if before else None
    return previous


def _previous_start(conn: Connection, integration_id: int, before: datetime) -> datetime | None:
    """When the integration's last applied run that began before ``before`` began."""
    started: datetime | None = conn.execute(
        select(func.max(SyncRun.started_at)).where(
            SyncRun.integration_id == integration_id,
            SyncRun.status == RunStatus.SUCCEEDED,
            SyncRun.started_at < before,
        )
    ).scalar_one()
    return started


def _warn(conn: Connection, run_id: int, reason: str) -> None:
    """Add ``reason`` to the run's warnings, as a skipped read of events."""
    warnings = conn.execute(select(SyncRun.warnings).where(SyncRun.id == run_id)).scalar_one()
    entry = {"type": "event", "id": "events", "reason": reason}
    conn.execute(
        update(SyncRun).where(SyncRun.id == run_id).values(warnings=[*(warnings or []), entry])
    )


def _row(integration_id: int, record: EventRecord) -> dict[str, Any]:
    """An event as its row: text cut to its column and made storable."""
    return {
        "integration_id": integration_id,
        "event_key": record.key,
        "created_at": record.created_at,
        "event_type": _clip(record.event_type, 200),
        "user_name": _clip(record.user_name, 500),
        "object_type": _clip(record.object_type, 32),
        "object_external_id": _clip(record.object_external_id, 500),
        "object_name": _clip(record.object_name, 500),
        "message": None if record.message is None else storable(record.message),
        "chain_id": record.chain_id,
    }


def _clip(value: str | None, length: int) -> str | None:
    return None if value is None else storable(value)[:length]
