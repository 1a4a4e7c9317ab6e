"""Reading vCenter events: who did what to which object, and when.

Syncs store vCenter's events in ``events`` with the object they are about as
vCenter names it: a vim type (``VirtualMachine``) and a managed object id
(``vm-42``). Readers want IROA's names: the inventory type (``vm``) and, when
the object is in the inventory, its id. This module maps one onto the other;
the events themselves are shown as stored, never guessed or merged.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any, cast

from sqlalchemy import ColumnElement, Connection, Select, and_, false, func, select, tuple_
from sqlalchemy.orm import Session

from iroa.db.engine import Database
from iroa.errors import check_choice
from iroa.history.models import Event
from iroa.integrations.models import Integration
from iroa.inventory.queries import jsonable_rows
from iroa.inventory.rows import EventRow
from iroa.inventory.types import BY_NAME
from iroa.paging import (
    MAX_INT,
    InvalidQueryError,
    Page,
    check_limit,
    check_text,
    decode_cursor,
    encode_cursor,
    to_utc,
)

VIM_TYPES: dict[str, str] = {
    "VirtualMachine": "vm",
    "HostSystem": "host",
    "Datastore": "datastore",
    "Network": "network",
    "DistributedVirtualPortgroup": "network",
    "OpaqueNetwork": "network",
    "ClusterComputeResource": "cluster",
    "ComputeResource": "cluster",
    "Datacenter": "datacenter",
    "ResourcePool": "resource_pool",
}
"""The inventory type of each vim type an event can be about. vCenter names a standalone
host's compute resource ``ComputeResource`` too: such an event says ``cluster`` and has no
``object_id``, as IROA keeps no cluster for a standalone host. Any other vim type
(``DistributedVirtualSwitch``) is shown lower-cased, with no ``object_id``."""

EVENT_OBJECT_TYPES = tuple(sorted(set(VIM_TYPES.values())))
"""The ``object_type`` values the events list filters by: inventory types events name."""

EVENTS_SORT = "-created_at"
_IN_CHUNK = 900  # below SQLite's historical limit of 999 bound parameters per statement
OBJECT_EVENTS_LIMIT = 50
"""How many of its latest events a VM's or host's detail carries."""


def iroa_type(vim_type: str | None) -> str | None:
    """The name readers see for an event's object type: IROA's, or the vim name lower-cased."""
    if vim_type is None:
        return None
    return VIM_TYPES.get(vim_type, vim_type.lower())


def vim_types_of(object_type: str) -> list[str]:
    """The vim types that map to the inventory type ``object_type``."""
    return sorted(vim for vim, name in VIM_TYPES.items() if name == object_type)


_COLUMNS: tuple[Any, ...] = (
    Event.id,
    Integration.name.label("integration"),
    Integration.kind.label("platform"),
    Event.event_key.label("key"),
    Event.created_at,
    Event.event_type.label("type"),
    Event.user_name.label("user"),
    Event.object_type,
    Event.integration_id,
    Event.object_external_id.label("external_id"),
    Event.object_name,
    Event.message,
    Event.chain_id,
)


def _select_events() -> Select[Any]:
    stmt = (
        select(*_COLUMNS)
        .select_from(Event)
        .outerjoin(Integration, Integration.id == Event.integration_id)
    )
    return stmt


def _shaped(row: dict[str, Any], object_id: int | None) -> dict[str, Any]:
    """One event as readers see it: IROA's type name and the object's inventory id."""
    return {
        "id": row["id"],
        "integration": row["integration"],
        "platform": row["platform"],
        "key": row["key"],
        "created_at": row["created_at"],
        "type": row["type"],
        "user": row["user"],
        "object_type": iroa_type(row["object_type"]),
        "object_id": object_id,
        "external_id": row["external_id"],
        "object_name": row["object_name"],
        "message": row["message"],
        "chain_id": row["chain_id"],
    }


def _with_object_ids(conn: Connection, rows: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """The events shaped, each with the inventory id of its object (None when that object
    is not in the inventory); one statement per inventory type the events name (and per
    900 objects of it)."""
    wanted: dict[str, set[tuple[int, str]]] = {}
    for row in rows:
        name = iroa_type(row["object_type"])
        if name in BY_NAME and row["external_id"] is not None:
            wanted.setdefault(name, set()).add((row["integration_id"], row["external_id"]))
    found: dict[tuple[str | None, int, str], int] = {}
    for name, keys in wanted.items():
        table = BY_NAME[name].table
        integrations = sorted({integration for integration, _ in keys})
        externals = sorted({external for _, external in keys})
        for start in range(0, len(externals), _IN_CHUNK):
            stmt = select(table.c.id, table.c.integration_id, table.c.external_id).where(
                table.c.integration_id.in_(integrations),
                table.c.external_id.in_(externals[start : start + _IN_CHUNK]),
            )
            for object_id, integration_id, external_id in conn.execute(stmt):
                found[(name, integration_id, external_id)] = object_id
    return [
        _shaped(
            row,
            found.get((iroa_type(row["object_type"]), row["integration_id"], row["external_id"])),
        )
        for row in rows
    ]


def _object_condition(conn: Connection, object_type: str, object_id: int) -> ColumnElement[bool]:
    """The events about one inventory object: its integration's, with its external id."""
    if abs(object_id) > MAX_INT:
        raise InvalidQueryError("object_id is out of range")
    table = BY_NAME[object_type].table
    row = conn.execute(
        select(table.c.integration_id, table.c.external_id).where(table.c.id == object_id)
    ).first()
    if row is None:
        return false()  # no such object: no events, as for any unknown id
    return and_(
        Event.integration_id == row.integration_id, Event.object_external_id == row.external_id
    )


def list_events(
    db: Database,
    *,
    integration: str | None = None,
    object_type: str | None = None,
    object_id: int | None = None,
    event_type: str | None = None,
    user: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    limit: int = 100,
    cursor: str | None = None,
) -> Page[dict[str, Any]]:
    """Events newest first (``since`` inclusive, ``until`` exclusive), paged by keyset.

    ``object_type`` alone keeps the events about objects of that inventory type; with
    ``object_id``, those about that one object (found by its integration and external id,
    so also the events from before it was first synced).
    """
    limit = check_limit(limit)
    if object_id is not None and object_type is None:
        raise InvalidQueryError("object_id needs object_type (vm, host, …): ids are per type")
    conditions: list[ColumnElement[bool]] = []
    if since is not None:
        conditions.append(Event.created_at >= to_utc(since, "since"))
    if until is not None:
        conditions.append(Event.created_at < to_utc(until, "until"))
    if integration is not None:
        check_text("integration", integration)
        conditions.append(
            Event.integration_id.in_(select(Integration.id).where(Integration.name == integration))
        )
    if event_type is not None:
        check_text("type", event_type)
        conditions.append(Event.event_type == event_type)
    if user is not None:
        check_text("user", user)
        conditions.append(Event.user_name == user)
    if object_type is not None:
        check_choice("object_type", object_type, EVENT_OBJECT_TYPES, InvalidQueryError)
        if object_id is None:
            conditions.append(Event.object_type.in_(vim_types_of(object_type)))
    stmt = _select_events()
    if cursor is not None:
        created_at, last_id = _decode_event_cursor(cursor)
        stmt = stmt.where(tuple_(Event.created_at, Event.id) < tuple_(created_at, last_id))
    with db.engine.connect() as conn:
        if object_type is not None and object_id is not None:
            conditions.append(_object_condition(conn, object_type, object_id))
        count = select(func.count()).select_from(Event).where(*conditions)
        total = int(conn.execute(count).scalar_one())
        stmt = stmt.where(*conditions).order_by(Event.created_at.desc(), Event.id.desc())
        rows = conn.execute(stmt.limit(limit + 1)).all()
        next_cursor = None
        if len(rows) > limit:
            rows = rows[:limit]
            next_cursor = encode_cursor(EVENTS_SORT, rows[-1].created_at, rows[-1].id)
        items = _with_object_ids(conn, jsonable_rows(rows))
    return Page(items, total, next_cursor)


def _decode_event_cursor(cursor: str) -> tuple[datetime, int]:
    value, last_id = decode_cursor(cursor, EVENTS_SORT, datetime)
    if value is None:
        raise InvalidQueryError("invalid cursor: use the next_cursor of a previous page as is")
    return value, last_id


def events_of(
    session: Session, object_type: str, detail: dict[str, Any], limit: int = OBJECT_EVENTS_LIMIT
) -> list[EventRow]:
    """The latest events about an inventory object (its detail row), newest first, in the
    shape of the events list; timestamps stay datetimes, as in the rest of a detail."""
    table = BY_NAME[object_type].table
    integration_id = (
        select(table.c.integration_id).where(table.c.id == detail["id"]).scalar_subquery()
    )
    stmt = (
        _select_events()
        .where(
            Event.integration_id == integration_id,
            Event.object_external_id == detail["external_id"],
        )
        .order_by(Event.created_at.desc(), Event.id.desc())
        .limit(limit)
    )
    events: list[EventRow] = []
    for row in session.execute(stmt):
        values = dict(row._mapping)
        mine = iroa_type(values["object_type"]) == object_type
        events.append(cast(EventRow, _shaped(values, detail["id"] if mine else None)))
    return events
