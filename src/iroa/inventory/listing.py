"""Paged inventory lists: filters, search, a whitelisted sort and keyset cursors.

A page is two statements whatever its size: one ``count(*)`` over the filtered
table (no joins) and one ``SELECT … ORDER BY key, id LIMIT n + 1`` whose rows
already carry the referenced names (and, for VMs, their datastores' and
networks'). Both are built once per shape of query and sent with the request's
values as parameters. Paging is by keyset — the cursor holds the
last row's sort value and id — so a deep page costs what the first one does,
and rows inserted or removed between requests never make a page repeat or skip
an object that stayed.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import cache, lru_cache
from typing import Any

from sqlalchemy import (
    JSON,
    Column,
    ColumnElement,
    Integer,
    Select,
    Table,
    Text,
    and_,
    bindparam,
    cast,
    false,
    func,
    literal_column,
    or_,
    select,
    text,
    tuple_,
)
from sqlalchemy.types import TypeDecorator

from iroa.db.engine import Database
from iroa.errors import InvalidInputError
from iroa.integrations.models import INVENTORY_KINDS, Integration
from iroa.inventory import models
from iroa.inventory.queries import (
    object_type,
    row_keys,
    select_objects,
    split_vm_placements,
    with_vm_placements,
)
from iroa.inventory.types import BY_PLURAL, ObjectType

DEFAULT_LIMIT = 100
TOTAL_COLUMN = "total_matching"
MAX_LIMIT = 1000
MAX_SEARCH_LENGTH = 200
MAX_INT = 2**63 - 1
VM_POWER_STATES = ("on", "off", "suspended", "unknown")
HOST_POWER_STATES = ("on", "off", "standby", "unknown")

SEARCH_FIELDS: dict[str, tuple[str, ...]] = {
    "vms": ("name", "guest_hostname", "ip_addresses", "uuid"),
    "hosts": ("name", "model", "serial_number"),
    "clusters": ("name",),
    "datacenters": ("name",),
    "datastores": ("name", "url"),
    "networks": ("name", "switch_name", "vlan"),
}
"""The fields ``q`` searches, case-insensitively, as a substring."""
VM_SEARCH_TABLE = "vm_search"
"""SQLite's FTS5 trigram index over the VM search fields (migration 0004)."""
TRIGRAM = 3


class InvalidQueryError(InvalidInputError):
    """A list parameter that cannot be honoured; the message says which and why."""


@dataclass(frozen=True)
class Filter:
    """One type-specific filter: its value type and the condition it adds.

    ``narrow`` marks a condition that holds for a small share of the rows (the
    VMs of one cluster). SQLite is told so (``unlikely()``): otherwise it may walk
    the list's sort order checking each row, which for a name that matches
    nothing reads every VM (160 ms at 100,000 VMs, against 0.2 ms from the
    cluster's index; 27 ms against 5 ms for a cluster of 675 VMs).
    """

    value_type: type
    condition: Callable[[Table, Any], ColumnElement[bool]]
    choices: tuple[str, ...] = ()
    narrow: bool = False


@dataclass(frozen=True)
class Page:
    """One page of a list. Its items hold timestamps as aware datetimes: orjson (the API's
    renderer) writes them as ISO-8601 itself, faster than converting them first."""

    items: list[dict[str, Any]]
    total: int
    next_cursor: str | None

    def as_dict(self) -> dict[str, Any]:
        return {"items": self.items, "total": self.total, "next_cursor": self.next_cursor}


@dataclass(frozen=True)
class ListParams:
    """What a caller may ask of a list; every field is validated by :func:`list_page`."""

    integration: str | None = None
    platform: str | None = None
    q: str | None = None
    filters: Mapping[str, Any] = field(default_factory=dict)
    sort: str | None = None
    limit: int = DEFAULT_LIMIT
    cursor: str | None = None
    include_removed: bool = False


def _equals(column: str) -> Callable[[Table, Any], ColumnElement[bool]]:
    return lambda table, value: table.c[column] == value


def _ref_name(column: str, target: str, *, narrow: bool = False) -> Filter:
    """The object referenced by ``column`` (``cluster_id``), of table ``target``, has this name."""
    target_table = BY_PLURAL[target].table

    def condition(table: Table, value: Any) -> ColumnElement[bool]:
        return table.c[column].in_(select(target_table.c.id).where(target_table.c.name == value))

    return Filter(str, condition, narrow=narrow)


def _ref_id(column: str, *, narrow: bool = False) -> Filter:
    return Filter(int, _equals(column), narrow=narrow)


def _related(
    relation: type[models.VmDatastore] | type[models.VmNetwork],
    column: str,
    target: type[models.Datastore] | type[models.Network],
    *,
    by_name: bool,
) -> Filter:
    """VMs related (through vm_datastores / vm_networks) to an object with this name or id."""
    rel = relation.__table__
    target_table = target.__table__

    def condition(table: Table, value: Any) -> ColumnElement[bool]:
        targets = (
            select(target_table.c.id).where(target_table.c.name == value)
            if by_name
            else select(target_table.c.id).where(target_table.c.id == value)
        )
        return table.c.id.in_(
            select(rel.c.vm_id).where(rel.c.removed_at.is_(None), rel.c[column].in_(targets))
        )

    return Filter(str if by_name else int, condition)


def _placement_filters(*, cluster: bool = True) -> dict[str, Filter]:
    found = {
        "datacenter": _ref_name("datacenter_id", "datacenters"),
        "datacenter_id": _ref_id("datacenter_id"),
    }
    if cluster:
        found |= {
            "cluster": _ref_name("cluster_id", "clusters", narrow=True),
            "cluster_id": _ref_id("cluster_id", narrow=True),
        }
    return found


FILTERS: dict[str, dict[str, Filter]] = {
    "vms": {
        **_placement_filters(),
        "host": _ref_name("host_id", "hosts", narrow=True),
        "host_id": _ref_id("host_id", narrow=True),
        "datastore": _related(models.VmDatastore, "datastore_id", models.Datastore, by_name=True),
        "datastore_id": _related(
            models.VmDatastore, "datastore_id", models.Datastore, by_name=False
        ),
        "network": _related(models.VmNetwork, "network_id", models.Network, by_name=True),
        "network_id": _related(models.VmNetwork, "network_id", models.Network, by_name=False),
        "power_state": Filter(str, _equals("power_state"), VM_POWER_STATES),
        "is_template": Filter(bool, _equals("is_template")),
        "guest_os": Filter(str, _equals("guest_os")),
    },
    "hosts": {
        **_placement_filters(),
        "connection_state": Filter(str, _equals("connection_state")),
        "power_state": Filter(str, _equals("power_state"), HOST_POWER_STATES),
        "in_maintenance": Filter(bool, _equals("in_maintenance")),
    },
    "clusters": _placement_filters(cluster=False),
    "datacenters": {},
    "datastores": {
        **_placement_filters(),
        "type": Filter(str, _equals("type")),
        "accessible": Filter(bool, _equals("accessible")),
    },
    "networks": {
        **_placement_filters(cluster=False),
        "type": Filter(str, _equals("type")),
        "vlan_id": Filter(int, _equals("vlan_id")),
        "switch_name": Filter(str, _equals("switch_name")),
    },
}
"""Type-specific filters; ``cluster`` and friends match the referenced object's name."""


@cache
def sortable_fields(plural: str) -> tuple[str, ...]:
    """Fields a list of ``plural`` can be sorted by: its own scalar columns."""
    table = object_type(plural).table
    excluded = set(BY_PLURAL[plural].refs) | {"integration_id", "last_seen_at", "external_id"}
    return tuple(
        c.name for c in table.columns if c.name not in excluded and not isinstance(c.type, JSON)
    )


def list_page(db: Database, plural: str, params: ListParams) -> Page:
    """One page of a type's objects, the total matching, and the cursor of the next page.

    One statement: its rows carry the total as a last column (see :func:`_statements`);
    only a page past the last row, which has no row to carry it, counts on its own.
    """
    kind = object_type(plural)
    shape, values = _query_shape(db, kind, params)
    sort_field, descending = _parse_sort(plural, params.sort)
    limit = check_limit(params.limit)
    after: bool | None = None  # no cursor; else whether the cursor's sort value is NULL
    if params.cursor is not None:
        key = kind.table.c[sort_field]
        value, last_id = decode_cursor(params.cursor, params.sort or "name", python_type(key))
        after = value is None
        values |= {"after_value": value, "after_id": last_id}
    count, page = _statements(db.is_sqlite, plural, shape, sort_field, descending, after)
    with db.single_read() as conn:
        rows = conn.execute(page, values | {"page_limit": limit + 1}).all()
        if rows:
            total = int(rows[0][-1])
        elif after is None:
            total = 0  # nothing matches: the first page is empty
        else:
            total = int(conn.execute(count, values).scalar_one())
    next_cursor = None
    if len(rows) > limit:
        rows = rows[:limit]
        last = rows[-1]._mapping
        next_cursor = encode_cursor(params.sort or "name", last[sort_field], last["id"])
    fields = row_keys(rows)[:-1]  # all but the total, the last column
    items = [dict(zip(fields, row, strict=False)) for row in rows]
    if plural == "vms":
        split_vm_placements(items)
    return Page(items, total, next_cursor)


def ordered_query(
    db: Database, plural: str, params: ListParams
) -> tuple[Select[Any], dict[str, Any]]:
    """Every row :func:`list_page` would show for ``params``, over all its pages, in its
    order, as one statement and its parameters (``limit`` and ``cursor`` are ignored):
    for exports of a view.

    Raises :class:`InvalidQueryError` for a bad parameter, as :func:`list_page` does.
    """
    kind = object_type(plural)
    table = kind.table
    shape, values = _query_shape(db, kind, params)
    sort_field, descending = _parse_sort(plural, params.sort)
    stmt = (
        select_objects(kind)
        .where(*_conditions(db.is_sqlite, kind, shape))
        .order_by(*keyset_order(table.c[sort_field], table.c.id, descending))
    )
    return stmt, values


@dataclass(frozen=True)
class _Shape:
    """What a list's statements depend on, but for the values they are sent with.

    Statements are built once per shape (see :func:`_statements`): building and
    keying a select of forty columns costs more than SQLite takes to run a page.
    """

    include_removed: bool
    search: str | None  # "index" (SQLite's trigram table), "like", or no search
    integration: bool
    platform: bool
    filters: tuple[str, ...]


def _query_shape(
    db: Database, kind: ObjectType, params: ListParams
) -> tuple[_Shape, dict[str, Any]]:
    """The shape of a list query and the values to bind, once each parameter is checked."""
    values: dict[str, Any] = {}
    q = (params.q or "").strip()
    search = None
    if q:
        check_text("q", q)
        if len(q) > MAX_SEARCH_LENGTH:
            raise InvalidQueryError(f"q is longer than {MAX_SEARCH_LENGTH} characters")
        if _uses_search_index(db, kind, q):
            search = "index"
            values["q"] = '"' + q.replace('"', '""') + '"'  # an FTS5 string: a substring
        else:
            search = "like"
            values["q"] = "%" + q.replace("/", "//").replace("%", "/%").replace("_", "/_") + "%"
    if params.integration is not None:
        check_text("integration", params.integration)
        values["integration"] = params.integration
    if params.platform is not None:
        if params.platform not in INVENTORY_KINDS:
            raise InvalidQueryError(
                f"unknown platform {params.platform!r}: choose one of {', '.join(INVENTORY_KINDS)}"
            )
        values["platform"] = params.platform
    allowed = FILTERS[kind.plural]
    names = []
    for name, value in params.filters.items():
        if value is None:
            continue
        spec = allowed.get(name)
        if spec is None:
            choices = ", ".join(sorted(allowed)) or "none"
            raise InvalidQueryError(
                f"unknown filter {name!r} for {kind.plural}: choose one of {choices}"
            )
        values[f"filter_{name}"] = _check_value(name, value, spec)
        names.append(name)
    shape = _Shape(
        include_removed=params.include_removed,
        search=search,
        integration=params.integration is not None,
        platform=params.platform is not None,
        filters=tuple(sorted(names)),
    )
    return shape, values


@lru_cache(maxsize=512)
def _statements(
    is_sqlite: bool,
    plural: str,
    shape: _Shape,
    sort_field: str,
    descending: bool,
    after: bool | None,
) -> tuple[Select[Any], Select[Any]]:
    """The count and the page of one list shape, with their values as named parameters.

    The page picks its ids first, from the listed table alone, and joins only
    those rows: a sort by a column without an index then sorts ids, not joined
    rows. Its rows end with the count as column :data:`TOTAL_COLUMN`: an
    uncorrelated scalar subquery, which SQLite and PostgreSQL run once per
    statement, so a page and its total take one round trip.
    """
    kind = object_type(plural)
    table = kind.table
    conditions = _conditions(is_sqlite, kind, shape)
    key = table.c[sort_field]
    order = keyset_order(key, table.c.id, descending)
    # For a sort no index serves, SQLite would read the ids through the removed_at
    # index, row by row; a scan of the table is several times cheaper
    # (sort=memory_mib at 100,000 VMs: 240 ms -> 37 ms).
    scan = is_sqlite and not _sorted_by_index(table, sort_field)
    ids = select(table.c.id).where(*_conditions(is_sqlite, kind, shape, removed_at_index=not scan))
    if after is not None:
        ids = ids.where(keyset_after(key, table.c.id, after, descending))
    page_ids = ids.order_by(*order).limit(bindparam("page_limit", type_=Integer())).subquery("ids")
    stmt = select_objects(kind).join(page_ids, page_ids.c.id == table.c.id).order_by(*order)
    if plural == "vms":
        stmt = with_vm_placements(
            stmt, lambda c: keyset_order(c[sort_field], c.id, descending, nullable=key.nullable)
        )
    count = select(func.count()).select_from(table).where(*conditions)
    total = count.correlate(None).scalar_subquery().label(TOTAL_COLUMN)
    return count, stmt.add_columns(total)


def _sorted_by_index(table: Table, sort_field: str) -> bool:
    """Whether an index on (``removed_at``, the sort field, …) gives a list its order."""
    return any(
        [column.name for column in index.columns][:2] == ["removed_at", sort_field]
        for index in table.indexes
    )


def _conditions(
    is_sqlite: bool, kind: ObjectType, shape: _Shape, *, removed_at_index: bool = True
) -> list[ColumnElement[bool]]:
    """The conditions of a list shape; on SQLite, ``removed_at_index=False`` keeps the
    planner off the indexes that start with ``removed_at``."""
    table = kind.table
    conditions: list[ColumnElement[bool]] = []
    if not shape.include_removed:
        if shape.search == "index" or (is_sqlite and not removed_at_index):
            # Unary + keeps SQLite from walking the removed_at index: the ids the search
            # index returns, or a scan of the table, are the cheaper place to start.
            conditions.append(literal_column(f"+{table.name}.removed_at").is_(None))
        else:
            conditions.append(table.c.removed_at.is_(None))
    if shape.integration:
        conditions.append(
            table.c.integration_id.in_(
                select(Integration.id).where(Integration.name == bindparam("integration"))
            )
        )
    if shape.platform:
        conditions.append(
            table.c.integration_id.in_(
                select(Integration.id).where(Integration.kind == bindparam("platform"))
            )
        )
    if shape.search is not None:
        conditions.append(_search(is_sqlite, kind, shape.search == "index"))
    allowed = FILTERS[kind.plural]
    for name in shape.filters:
        spec = allowed[name]
        condition = spec.condition(table, bindparam(f"filter_{name}"))
        if spec.narrow and is_sqlite:
            # Untyped: as a Boolean, SQLAlchemy would compare it with 1, which hides the
            # condition from SQLite's index planning.
            condition = func.unlikely(condition)
        conditions.append(condition)
    return conditions


def _uses_search_index(db: Database, kind: ObjectType, q: str) -> bool:
    """VM searches of 3+ characters on SQLite read the ``vm_search`` trigram index."""
    return db.is_sqlite and kind.plural == "vms" and len(q) >= TRIGRAM


def _search(is_sqlite: bool, kind: ObjectType, index: bool) -> ColumnElement[bool]:
    """Objects whose search fields hold the bound ``q`` (see :func:`_query_shape`)."""
    table = kind.table
    if index:
        matching: Select[Any] = (
            select(literal_column("rowid"))
            .select_from(text(VM_SEARCH_TABLE))
            .where(literal_column(VM_SEARCH_TABLE).op("MATCH")(bindparam("q")))
        )
        return table.c.id.in_(matching)
    # One bound pattern (not '%' || :q || '%'), so PostgreSQL can plan with its
    # trigram indexes; SQLite's LIKE already ignores ASCII case.
    pattern = bindparam("q", type_=Text())
    matches = []
    for name in SEARCH_FIELDS[kind.plural]:
        column: ColumnElement[Any] = table.c[name]
        if name == "ip_addresses":
            column = cast(column, Text)
        matches.append(
            column.like(pattern, escape="/") if is_sqlite else column.ilike(pattern, escape="/")
        )
    return or_(*matches)


def _check_value(name: str, value: Any, spec: Filter) -> Any:
    if spec.value_type is bool:
        if not isinstance(value, bool):
            raise InvalidQueryError(f"{name} must be true or false")
        return value
    if spec.value_type is int:
        if isinstance(value, bool) or not isinstance(value, int) or abs(value) > MAX_INT:
            raise InvalidQueryError(f"{name} must be an integer")
        return value
    if not isinstance(value, str):
        raise InvalidQueryError(f"{name} must be a string")
    check_text(name, value)
    if spec.choices and value not in spec.choices:
        raise InvalidQueryError(
            f"unknown {name} {value!r}: choose one of {', '.join(spec.choices)}"
        )
    return value


def check_text(name: str, value: str) -> None:
    """Refuse what no database column can hold (PostgreSQL rejects NUL in text)."""
    if "\x00" in value:
        raise InvalidQueryError(f"{name} must not contain NUL characters")


def to_utc(value: datetime, name: str) -> datetime:
    """A timestamp in UTC (taken as UTC if it has no zone), if UTC can represent it."""
    if value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    try:
        return value.astimezone(UTC)
    except OverflowError as exc:
        raise InvalidQueryError(f"{name} is out of range") from exc


def check_limit(limit: int) -> int:
    """The page size, if it is within bounds."""
    if not 1 <= limit <= MAX_LIMIT:
        raise InvalidQueryError(f"limit must be between 1 and {MAX_LIMIT}, not {limit}")
    return limit


def _parse_sort(plural: str, sort: str | None) -> tuple[str, bool]:
    if sort is None:
        return "name", False
    descending = sort.startswith("-")
    name = sort.removeprefix("-")
    allowed = sortable_fields(plural)
    if name not in allowed:
        raise InvalidQueryError(
            f"cannot sort {plural} by {sort!r}: choose one of {', '.join(allowed)} "
            "(prefix - for descending)"
        )
    return name, descending


def python_type(column: Column[Any]) -> type:
    column_type = column.type
    if isinstance(column_type, TypeDecorator):
        column_type = column_type.impl_instance
    return column_type.python_type


def keyset_order(
    key: ColumnElement[Any],
    id_column: ColumnElement[Any],
    descending: bool,
    *,
    nullable: bool | None = None,
) -> list[Any]:
    if key is id_column or key.key == "id":
        return [id_column.desc() if descending else id_column.asc()]
    ordered = key.desc() if descending else key.asc()
    if key.nullable if nullable is None else nullable:
        ordered = ordered.nulls_last()
    return [ordered, id_column.desc() if descending else id_column.asc()]


def keyset_after(
    key: Column[Any], id_column: Column[Any], null: bool, descending: bool
) -> ColumnElement[bool]:
    """Rows after the bound (``after_value``, ``after_id``) in the order of :func:`keyset_order`.

    NULLs sort last; ``null`` says whether the cursor's value is one.
    """
    last_id = bindparam("after_id", type_=id_column.type)
    if key is id_column:
        return id_column < last_id if descending else id_column > last_id
    if null:
        if not key.nullable:
            return false()
        return and_(key.is_(None), id_column < last_id if descending else id_column > last_id)
    pair = tuple_(key, id_column)
    # Typed binds, so that timestamps are stored-form (naive UTC on SQLite) like the column.
    last = tuple_(bindparam("after_value", type_=key.type), last_id)
    beyond = pair < last if descending else pair > last
    return or_(key.is_(None), beyond) if key.nullable else beyond


def encode_cursor(sort: str, value: Any, last_id: int) -> str:
    """An opaque cursor: base64 of the sort, the last row's sort value and its id."""
    if isinstance(value, datetime):
        value = value.isoformat()
    raw = json.dumps({"s": sort, "v": value, "i": last_id}, separators=(",", ":"))
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def decode_cursor(cursor: str, sort: str, expected: type) -> tuple[Any, int]:
    """The sort value (of type ``expected``, or None) and id a cursor of ``sort`` holds."""
    invalid = InvalidQueryError("invalid cursor: use the next_cursor of a previous page as is")
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        data = json.loads(raw)
    except (binascii.Error, ValueError, RecursionError) as exc:
        raise invalid from exc
    if not isinstance(data, dict) or set(data) != {"s", "v", "i"}:
        raise invalid
    if data["s"] != sort:
        raise InvalidQueryError(
            f"this cursor belongs to sort={data['s']!r}, not sort={sort!r}: "
            "start again without a cursor"
        )
    last_id, value = data["i"], data["v"]
    if isinstance(last_id, bool) or not isinstance(last_id, int) or abs(last_id) > MAX_INT:
        raise invalid
    if value is None:
        return None, last_id
    if expected is datetime:
        if not isinstance(value, str):
            raise invalid
        try:
            parsed = datetime.fromisoformat(value)
        except ValueError as exc:
            raise invalid from exc
        if parsed.tzinfo is None:
            raise invalid
        return to_utc(parsed, "cursor"), last_id
    if expected is bool:
        if not isinstance(value, bool):
            raise invalid
    elif expected is int:
        if isinstance(value, bool) or not isinstance(value, int) or abs(value) > MAX_INT:
            raise invalid
    elif not isinstance(value, str) or "\x00" in value:
        raise invalid
    return value, last_id


PLATFORM_INVENTORY_TYPES = ("datacenters", "clusters", "hosts", "datastores", "networks", "vms")


def platform_inventory(
    db: Database, platform: str, limit: int = MAX_LIMIT
) -> tuple[dict[str, list[dict[str, Any]]], dict[str, int]]:
    """Every listable type of one platform, each capped at ``limit`` by name, and the totals."""
    inventory: dict[str, list[dict[str, Any]]] = {}
    totals: dict[str, int] = {}
    for plural in PLATFORM_INVENTORY_TYPES:
        page = list_page(db, plural, ListParams(platform=platform, limit=limit))
        inventory[plural] = page.items
        totals[plural] = page.total
    return inventory, totals
