"""Reading the inventory: lists of objects as plain dicts keyed by SPEC §3 field names."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Select, case, select

from iroa.db.engine import Database
from iroa.integrations.models import Integration
from iroa.inventory.types import BY_PLURAL, BY_TABLE, ObjectType

LISTABLE = ("vms", "hosts", "clusters", "datacenters", "datastores", "networks")


class UnknownObjectTypeError(ValueError):
    pass


def object_type(plural: str) -> ObjectType:
    """The object type listed under ``plural`` (``vms``, ``hosts`` …)."""
    if plural not in LISTABLE:
        raise UnknownObjectTypeError(
            f"unknown object type {plural!r}: choose one of {', '.join(LISTABLE)}"
        )
    return BY_PLURAL[plural]


def list_query(
    object_type: ObjectType, *, integration: str | None = None, include_removed: bool = False
) -> Select[Any]:
    """A select of one type's rows with integration, platform and referenced names."""
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
    columns += [table.c.first_seen_at, last_seen.label("last_seen_at"), table.c.removed_at]
    stmt = select(*columns).join(Integration, Integration.id == table.c.integration_id)
    for target, on in joins:
        stmt = stmt.outerjoin(target, on)
    if integration is not None:
        stmt = stmt.where(Integration.name == integration)
    if not include_removed:
        stmt = stmt.where(table.c.removed_at.is_(None))
    name_column = table.c.get("name")
    return stmt.order_by(
        Integration.name, *([name_column] if name_column is not None else []), table.c.id
    )


def list_objects(
    db: Database, plural: str, *, integration: str | None = None, include_removed: bool = False
) -> list[dict[str, Any]]:
    """Every object of one type, optionally of one integration, as JSON-ready dicts."""
    stmt = list_query(object_type(plural), integration=integration, include_removed=include_removed)
    with db.session() as session:
        return [_jsonable_row(row._mapping) for row in session.execute(stmt)]


def _jsonable_row(mapping: Any) -> dict[str, Any]:
    return {
        key: value.isoformat() if isinstance(value, datetime) else value
        for key, value in mapping.items()
    }
