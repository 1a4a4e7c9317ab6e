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

import typing
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import cache, lru_cache
from typing import Any

from sqlalchemy import (
    JSON,
    ColumnElement,
    Integer,
    Select,
    Table,
    Text,
    bindparam,
    cast,
    func,
    literal_column,
    or_,
    select,
    text,
)

from iroa.connectors.registry import INVENTORY_KINDS
from iroa.db.engine import Database
from iroa.errors import check_choice
from iroa.integrations.models import Integration
from iroa.inventory.filters import (
    FILTERS,
    SEARCH_FIELDS,
    TRIGRAM,
    VM_SEARCH_TABLE,
    check_value,
    vm_search_text,
)
from iroa.inventory.queries import (
    object_type,
    row_keys,
    select_objects,
    sort_column,
    sorted_from,
    split_vm_placements,
    usage_fields,
    with_vm_placements,
)
from iroa.inventory.rows import ListItem
from iroa.inventory.types import BY_PLURAL, ObjectType
from iroa.paging import (
    DEFAULT_LIMIT,
    InvalidQueryError,
    Page,
    check_limit,
    check_text,
    decode_cursor,
    encode_cursor,
    keyset_after,
    keyset_order,
    python_type,
)

TOTAL_COLUMN = "total_matching"
MAX_SEARCH_LENGTH = 200


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


@cache
def sortable_fields(plural: str) -> tuple[str, ...]:
    """Fields a list of ``plural`` can be sorted by: its own scalar columns, and its usage
    figures."""
    kind = object_type(plural)
    excluded = set(BY_PLURAL[plural].refs) | {"integration_id", "last_seen_at", "external_id"}
    own = tuple(
        c.name
        for c in kind.table.columns
        if c.name not in excluded and not isinstance(c.type, JSON)
    )
    return own + usage_fields(kind)


def list_page(db: Database, plural: str, params: ListParams) -> Page[ListItem]:
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
        key = sort_column(kind, sort_field)
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
    if kind.placements:
        split_vm_placements(items)
    # Where rows meet their type: tests/inventory/test_rows.py holds ITEMS to these keys.
    return Page(typing.cast(list[ListItem], items), total, next_cursor)


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
        .order_by(*keyset_order(sort_column(kind, sort_field), table.c.id, descending))
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
        check_choice("platform", params.platform, INVENTORY_KINDS, InvalidQueryError)
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
        values[f"filter_{name}"] = check_value(name, value, spec)
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
    key = sort_column(kind, sort_field)
    order = keyset_order(key, table.c.id, descending)
    # For a sort no index serves, SQLite would read the ids through the removed_at
    # index, row by row; a scan of the table is several times cheaper
    # (sort=memory_mib at 100,000 VMs: 240 ms -> 37 ms).
    scan = is_sqlite and not _sorted_by_index(table, sort_field)
    ids = (
        select(table.c.id)
        .select_from(sorted_from(kind, sort_field))
        .where(*_conditions(is_sqlite, kind, shape, removed_at_index=not scan))
    )
    if after is not None:
        ids = ids.where(keyset_after(key, table.c.id, after, descending))
    page_ids = ids.order_by(*order).limit(bindparam("page_limit", type_=Integer())).subquery("ids")
    stmt = select_objects(kind).join(page_ids, page_ids.c.id == table.c.id).order_by(*order)
    if kind.placements:
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
    return db.is_sqlite and kind.search_index and len(q) >= TRIGRAM


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
    if not is_sqlite and kind.search_index:
        return vm_search_text(table).ilike(pattern, escape="/")
    matches = []
    for name in SEARCH_FIELDS[kind.plural]:
        column: ColumnElement[Any] = table.c[name]
        if name == "ip_addresses":
            column = cast(column, Text)
        matches.append(
            column.like(pattern, escape="/") if is_sqlite else column.ilike(pattern, escape="/")
        )
    return or_(*matches)


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


PLATFORM_INVENTORY_TYPES = ("datacenters", "clusters", "hosts", "datastores", "networks", "vms")


@dataclass(frozen=True)
class PlatformInventoryQuery:
    """The statements of a platform's whole inventory, sent with ``values``.

    ``counts`` is one row of every type's count (keyed by its plural); each of
    ``objects`` selects one type's present objects with the items' keys of
    :func:`list_page` (VMs' datastores and networks as joined names, see
    :func:`~iroa.inventory.queries.split_vm_placements`), by name and id.
    """

    counts: Select[Any]
    objects: dict[str, Select[Any]]
    values: dict[str, Any]


def platform_inventory_query(
    db: Database, platform: str, limit: int | None = None
) -> PlatformInventoryQuery:
    """Every present object of every listable type of one platform (at most ``limit``
    per type), in the order of a list sorted by name — one statement per type, whatever
    the number of objects."""
    params = ListParams(platform=platform)
    counts = []
    objects: dict[str, Select[Any]] = {}
    values: dict[str, Any] = {}
    for plural in PLATFORM_INVENTORY_TYPES:
        kind = object_type(plural)
        table = kind.table
        shape, values = _query_shape(db, kind, params)
        conditions = _conditions(db.is_sqlite, kind, shape)
        counts.append(
            select(func.count())
            .select_from(table)
            .where(*conditions)
            .scalar_subquery()
            .label(plural)
        )
        name = table.c.name
        stmt = (
            select_objects(kind).where(*conditions).order_by(*keyset_order(name, table.c.id, False))
        )
        if limit is not None:
            stmt = stmt.limit(limit)
        if kind.placements:
            stmt = with_vm_placements(stmt, _by_name(name.nullable))
        objects[plural] = stmt
    return PlatformInventoryQuery(select(*counts), objects, values)


def _by_name(nullable: bool | None) -> Callable[[Any], list[Any]]:
    """The ``ORDER BY`` of a list sorted by name, for the columns of a subquery."""
    return lambda c: keyset_order(c["name"], c.id, False, nullable=nullable)
