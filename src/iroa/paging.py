"""Paging shared by every list: pages, limits, keyset cursors, and the error of a bad query.

A cursor is opaque to clients: the sort it was made for, the last row's sort value
and id, base64-encoded. A page is read with ``ORDER BY key, id`` after that pair."""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Generic, TypeVar

from sqlalchemy import (
    Column,
    ColumnElement,
    and_,
    bindparam,
    false,
    or_,
    tuple_,
)
from sqlalchemy.types import TypeDecorator

from iroa.errors import InvalidInputError

DEFAULT_LIMIT = 100


MAX_LIMIT = 1000


MAX_INT = 2**63 - 1


class InvalidQueryError(InvalidInputError):
    """A list parameter that cannot be honoured; the message says which and why."""


Item_co = TypeVar("Item_co", covariant=True)


@dataclass(frozen=True)
class Page(Generic[Item_co]):
    """One page of a list, of rows typed ``Item_co``. Inventory items hold timestamps as aware
    datetimes: orjson (the API's renderer) writes them as ISO-8601 itself, faster than
    converting them first."""

    items: Sequence[Item_co]
    total: int
    next_cursor: str | None

    def as_dict(self) -> dict[str, Any]:
        return {"items": self.items, "total": self.total, "next_cursor": self.next_cursor}


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


def parse_timestamp(value: str, name: str) -> datetime:
    """A timestamp given as text (a query parameter, a command's option): ISO-8601, taken
    as UTC if it has no zone; a bad one is an InvalidQueryError naming ``name``."""
    text = value.strip()
    try:
        parsed = datetime.fromisoformat(text.replace("Z", "+00:00") if text.endswith("Z") else text)
    except ValueError as exc:
        raise InvalidQueryError(
            f"{name} must be an ISO-8601 timestamp such as 2026-11-26T17:00:00Z, not {value!r}"
        ) from exc
    return to_utc(parsed, name)


def check_limit(limit: int) -> int:
    """The page size, if it is within bounds."""
    if not 1 <= limit <= MAX_LIMIT:
        raise InvalidQueryError(f"limit must be between 1 and {MAX_LIMIT}, not {limit}")
    return limit


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
