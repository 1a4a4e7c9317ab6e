"""Reading the inventory: objects as plain dicts keyed by the field names of docs/model.md."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime
from functools import cache
from typing import Any, cast

from sqlalchemy import (
    Column,
    ColumnElement,
    Connection,
    FromClause,
    Result,
    Select,
    and_,
    bindparam,
    case,
    func,
    select,
)

from iroa.connectors.base import USAGE_FIELDS
from iroa.db.engine import Database
from iroa.errors import InvalidInputError, check_choice
from iroa.integrations.models import Integration
from iroa.inventory.filters import FILTERS, check_value
from iroa.inventory.models import Datastore, Network, UsageLatest, VmDatastore, VmNetwork
from iroa.inventory.types import BY_PLURAL, BY_TABLE, ObjectType

LISTABLE = ("vms", "hosts", "clusters", "datacenters", "datastores", "networks")


class UnknownObjectTypeError(InvalidInputError):
    pass


def object_type(plural: str) -> ObjectType:
    """The object type listed under ``plural`` (``vms``, ``hosts`` …)."""
    check_choice("object type", plural, LISTABLE, UnknownObjectTypeError)
    return BY_PLURAL[plural]


USAGE = UsageLatest.__table__.alias("usage")
"""The latest usage figures, joined to the VMs and hosts they belong to (:func:`usage_on`)."""


def usage_fields(object_type: ObjectType) -> tuple[str, ...]:
    """The usage figures a type's rows carry (VMs and hosts: vCenter's quickStats)."""
    return USAGE_FIELDS.get(object_type.name, ())


def usage_on(object_type: ObjectType) -> ColumnElement[bool]:
    """How a type's rows meet their latest usage figures."""
    table = object_type.table
    return and_(
        USAGE.c.integration_id == table.c.integration_id,
        USAGE.c.object_type == object_type.name,
        USAGE.c.external_id == table.c.external_id,
    )


def usage_read_at() -> ColumnElement[Any]:
    """When a row's usage figures were read: the run that last wrote them, or the integration's
    last full sync if later (a full sync leaves the figures that did not change as they are)."""
    read_at = Integration.usage_read_at
    return case((read_at > USAGE.c.sampled_at, read_at), else_=USAGE.c.sampled_at)


def sort_column(object_type: ObjectType, field: str) -> Column[Any]:
    """The column a list of the type is sorted by for ``field``: its own, or a usage figure."""
    if field in usage_fields(object_type):
        return cast(Column[Any], USAGE.c[field])  # a table alias's columns are columns
    return object_type.table.c[field]


def sorted_from(object_type: ObjectType, field: str) -> FromClause:
    """What a list's ids are read from to sort them by ``field``: the type's table, joined
    to its usage figures when it is one of them."""
    table = object_type.table
    if field in usage_fields(object_type):
        return table.outerjoin(USAGE, usage_on(object_type))
    return table


@cache
def select_objects(object_type: ObjectType) -> Select[Any]:
    """A select of one type's rows with integration, platform and referenced names (and, for
    VMs and hosts, their latest usage figures).

    No filter and no order: :func:`list_query` and the paged lists add their own
    (a select is immutable, so one per type is built and shared).
    Every join is an outer join on the listed table, so that table drives the
    query plan and an index on its sort key serves ``ORDER BY … LIMIT``.
    """
    table = object_type.table
    last_seen = case(
        (table.c.removed_at.is_(None), Integration.last_success_at),
        else_=table.c.last_seen_at,
    )
    columns: list[Any] = [
        table.c.id,
        Integration.name.label("integration"),
        Integration.kind.label("platform"),
        table.c.external_id,
    ]
    joins = []
    for column in object_type.data_columns:
        columns.append(column)
        target_table = object_type.refs.get(column.name)
        if target_table is not None:
            target = BY_TABLE[target_table].table.alias()
            columns.append(target.c.name.label(column.name.removesuffix("_id")))
            joins.append((target, target.c.id == column))
    usage = usage_fields(object_type)
    if usage:
        columns += [USAGE.c[name] for name in usage]
        columns.append(usage_read_at().label("usage_sampled_at"))
    columns += [table.c.first_seen_at, last_seen.label("last_seen_at"), table.c.removed_at]
    stmt = select(*columns).select_from(table)
    stmt = stmt.outerjoin(Integration, Integration.id == table.c.integration_id)
    for target, on in joins:
        stmt = stmt.outerjoin(target, on)
    if usage:
        stmt = stmt.outerjoin(USAGE, usage_on(object_type))
    return stmt


def list_query(
    object_type: ObjectType, *, integration: str | None = None, include_removed: bool = False
) -> Select[Any]:
    """All rows of one type, ordered by integration and name, as :func:`select_objects`."""
    table = object_type.table
    stmt = select_objects(object_type)
    if integration is not None:
        stmt = stmt.where(Integration.name == integration)
    if not include_removed:
        stmt = stmt.where(table.c.removed_at.is_(None))
    name_column = table.c.get("name")
    return stmt.order_by(
        Integration.name, *([name_column] if name_column is not None else []), table.c.id
    )


def list_objects(
    db: Database,
    plural: str,
    *,
    integration: str | None = None,
    include_removed: bool = False,
    tag: str | None = None,
) -> list[dict[str, Any]]:
    """Every object of one type, optionally of one integration or carrying one vSphere tag
    (``Category:Name``), as JSON-ready dicts."""
    kind = object_type(plural)
    stmt = list_query(kind, integration=integration, include_removed=include_removed)
    if tag is not None:
        spec = FILTERS[plural]["tag"]
        stmt = stmt.where(spec.condition(kind.table, check_value("tag", tag, spec)))
    with db.engine.connect() as conn:
        items = jsonable_rows(conn.execute(stmt))
        if kind.placements:
            add_vm_placements(conn, items)
    return items


PLACEMENTS = (
    ("datastores", VmDatastore, VmDatastore.datastore_id, Datastore),
    ("networks", VmNetwork, VmNetwork.network_id, Network),
)
"""Where a VM is placed, by key: the relation, its column naming the target, the target."""
_IN_CHUNK = 900  # below SQLite's default limit of bound parameters per statement
_VM_IDS = "vm_ids"


@cache
def _placement_queries() -> tuple[tuple[str, Select[int | None, str]], ...]:
    """Per placement key, the names related to a list of VMs (bound as ``vm_ids``).

    Built once: a page of VMs runs both, and a prebuilt select with an expanding
    parameter costs less per request than building it again.
    """
    return tuple(
        (
            key,
            select(relation.vm_id, target.name)
            .join(target, target.id == target_id)
            .where(relation.vm_id.in_(bindparam(_VM_IDS, expanding=True)))
            .where(relation.removed_at.is_(None))
            .order_by(relation.vm_id, target.name),
        )
        for key, relation, target_id, target in PLACEMENTS
    )


PLACEMENT_SEPARATOR = "\x1f"  # ASCII unit separator: not in a datastore's or network's name


def with_vm_placements(page: Select[Any], order: Callable[[Any], list[Any]]) -> Select[Any]:
    """``page`` (a select of one page of VMs) with each VM's datastore and network names.

    The names come as one aggregated string per placement key (see
    :func:`split_vm_placements`), from correlated subqueries on the outside of
    the page, so that they are computed for the page's rows only — not
    for every row a sort has to look at — and a page stays one statement.
    ``order`` gives the page's ``ORDER BY`` for a column collection, to keep
    the order on the outside.
    """
    inner = page.subquery("page")
    names = []
    for key, relation, target_id, target in PLACEMENTS:
        names.append(
            select(func.aggregate_strings(target.name, PLACEMENT_SEPARATOR))
            .select_from(relation)
            .join(target, target.id == target_id)
            .where(relation.vm_id == inner.c.id, relation.removed_at.is_(None))
            .scalar_subquery()
            .label(key)
        )
    return select(inner, *names).order_by(*order(inner.c))


def split_vm_placements(items: list[dict[str, Any]]) -> None:
    """Turn the aggregated names of :func:`with_vm_placements` into sorted lists."""
    for item in items:
        for key, *_ in PLACEMENTS:
            joined = item[key]
            names = joined.split(PLACEMENT_SEPARATOR) if joined else []
            if len(names) > 1:
                names.sort()
            item[key] = names


def add_vm_placements(conn: Connection, items: list[dict[str, Any]]) -> None:
    """Give each VM item the names of its datastores and networks (from disks and NICs)."""
    by_id = {item["id"]: item for item in items}
    for item in items:
        item["datastores"] = []
        item["networks"] = []
    ids = list(by_id)
    for key, stmt in _placement_queries():
        for start in range(0, len(ids), _IN_CHUNK):
            rows = conn.execute(stmt, {_VM_IDS: ids[start : start + _IN_CHUNK]}).all()
            for vm_id, name in rows:
                by_id[vm_id][key].append(name)


def jsonable_row(mapping: Any) -> dict[str, Any]:
    """A result row as a dict of JSON-ready values (timestamps as ISO-8601)."""
    return {
        key: value.isoformat() if isinstance(value, datetime) else value
        for key, value in mapping.items()
    }


def row_keys(rows: Sequence[Any]) -> tuple[str, ...]:
    """The column names of ``rows`` as plain strings.

    SQLAlchemy names result columns with ``str`` subclasses; orjson writes a
    dict's keys fastest, and without its slower non-string-keys option, when
    they are plain ``str`` (a 100-VM page renders in a third of the time).
    """
    return tuple(str(key) for key in rows[0]._fields) if rows else ()


def jsonable_rows(result: Result[Any] | Sequence[Any]) -> list[dict[str, Any]]:
    """Rows as :func:`jsonable_row` makes them, for many rows of one result at less cost."""
    rows = result.all() if isinstance(result, Result) else result
    keys = row_keys(rows)
    items = [dict(zip(keys, row, strict=True)) for row in rows]
    for key in keys:
        for item in items:
            value = item[key]
            if isinstance(value, datetime):
                item[key] = value.isoformat()
    return items
