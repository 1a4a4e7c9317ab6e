"""How a sheet is described: columns with their getters, the scope of an export, the source of
a sheet's rows; the getters and formats RVTools uses.

A sheet's columns are RVTools' own, in RVTools' order (:func:`rvtools_columns`): a column IROA
has a value for gets its getter, any other is present and empty. Custom attributes become
columns of their own where RVTools puts them (:class:`Attributes`); IROA's own columns follow
RVTools' ones.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Protocol
from urllib.parse import urlsplit

from sqlalchemy import Connection, Select, func, select
from sqlalchemy.sql.elements import ColumnElement

from iroa.findings.rules import Thresholds
from iroa.integrations.models import Integration
from iroa.inventory import models as m

MIB = 1 << 20


POWER_STATES = {"on": "poweredOn", "off": "poweredOff", "suspended": "suspended"}
"""IROA's power states (docs/model.md) as RVTools writes them, for Hyper-V VMs too."""


Getter = Callable[[Any], Any]


@dataclass(frozen=True)
class Column:
    """One column: its header, how to read its value from a row, and a typical width."""

    header: str
    value: Getter
    width: int = 12


@dataclass(frozen=True)
class Scope:
    """What an export covers: one integration (by id) or all, the time checks run at, and the
    health rules' thresholds (``IROA_FINDINGS_*``)."""

    integration_id: int | None
    now: datetime
    thresholds: Thresholds


class SheetSource(Protocol):
    """What the writers need of a sheet: its name, columns, a row total and the rows."""

    @property
    def name(self) -> str: ...

    def columns_for(self, conn: Connection, scope: Scope) -> tuple[Column, ...]:
        """The sheet's columns in this export (custom attributes depend on the estate)."""
        ...

    def count(self, conn: Connection, scope: Scope) -> int:
        """The progress total: rows to read."""
        ...

    def chunks(
        self, conn: Connection, scope: Scope, chunk_size: int
    ) -> Iterator[tuple[list[list[Any]], int]]:
        """Rows of cell values, a chunk at a time, each with how many rows it read."""
        ...


@dataclass(frozen=True)
class Attributes:
    """Custom attributes as columns, one per attribute name, as RVTools writes them: the
    attributes of ``object_type`` objects (tags of kind ``custom_attribute``) that the rows'
    ``table`` holds, in name order, after the column headed ``after``."""

    object_type: str
    table: Any
    after: str


TAG_TABLE = m.Tag.__table__


@dataclass(frozen=True)
class Sheet:
    """One sheet whose rows are those of one select, one row each."""

    name: str
    columns: tuple[Column, ...]
    build: Callable[[int | None], Select[Any]]
    """The rows' select, for one integration id or all (None)."""
    attributes: Attributes | None = None

    def columns_for(self, conn: Connection, scope: Scope) -> tuple[Column, ...]:
        names = self._attribute_names(conn, scope)
        if not names:
            return self.columns
        headers = [c.header for c in self.columns]
        at = headers.index(self.attributes.after) + 1 if self.attributes else len(headers)
        found = tuple(Column(n, key(f"attribute_{i}"), 16) for i, n in enumerate(names))
        return (*self.columns[:at], *found, *self.columns[at:])

    def count(self, conn: Connection, scope: Scope) -> int:
        inner = self.build(scope.integration_id).order_by(None).subquery()
        return int(conn.execute(select(func.count()).select_from(inner)).scalar_one())

    def chunks(
        self, conn: Connection, scope: Scope, chunk_size: int
    ) -> Iterator[tuple[list[list[Any]], int]]:
        columns = self.columns_for(conn, scope)
        stmt = self.build(scope.integration_id)
        for i, name in enumerate(self._attribute_names(conn, scope)):
            stmt = stmt.add_columns(self._attribute_value(name).label(f"attribute_{i}"))
        result = conn.execution_options(yield_per=chunk_size).execute(stmt)
        for partition in result.partitions():
            yield (
                [[column.value(row) for column in columns] for row in partition],
                len(partition),
            )

    def _attribute_names(self, conn: Connection, scope: Scope) -> list[str]:
        if self.attributes is None:
            return []
        stmt = (
            select(TAG_TABLE.c.key)
            .distinct()
            .where(
                TAG_TABLE.c.kind == "custom_attribute",
                TAG_TABLE.c.object_type == self.attributes.object_type,
                TAG_TABLE.c.removed_at.is_(None),
            )
            .order_by(TAG_TABLE.c.key)
        )
        if scope.integration_id is not None:
            stmt = stmt.where(TAG_TABLE.c.integration_id == scope.integration_id)
        return [str(name) for name in conn.execute(stmt).scalars()]

    def _attribute_value(self, name: str) -> Any:
        """The value of one attribute of the row's object (a correlated subquery: an object
        has at most one value per name, but two attribute definitions may share a name)."""
        assert self.attributes is not None
        table = self.attributes.table
        tag = TAG_TABLE.alias()
        return (
            select(func.max(tag.c.value))
            .where(
                tag.c.integration_id == table.c.integration_id,
                tag.c.object_type == self.attributes.object_type,
                tag.c.object_external_id == table.c.external_id,
                tag.c.kind == "custom_attribute",
                tag.c.key == name,
                tag.c.removed_at.is_(None),
            )
            .scalar_subquery()
        )


def empty(row: Any) -> None:
    """A column RVTools has and IROA cannot know: present, never filled."""
    return None


def rvtools_columns(
    headers: Sequence[str], known: Mapping[str, tuple[Getter, int]], *extra: Column
) -> tuple[Column, ...]:
    """RVTools' ``headers`` in their order, each with its getter from ``known`` (else empty),
    then IROA's own ``extra`` columns. A ``known`` header RVTools lacks is a mistake."""
    unknown = set(known) - set(headers)
    if unknown:
        raise ValueError(f"not RVTools headers: {sorted(unknown)}")
    return (
        *(Column(h, *known[h]) if h in known else Column(h, empty, 8) for h in headers),
        *extra,
    )


def key(name: str) -> Getter:
    return lambda row: row._mapping[name]


def mib(name: str) -> Getter:
    """A byte count as whole MiB."""

    def value(row: Any) -> int | None:
        found = row._mapping[name]
        return None if found is None else round(found / MIB)

    return value


def utc(name: str) -> Getter:
    """A timestamp as a naive UTC datetime: Excel cells have no time zone."""

    def value(row: Any) -> datetime | None:
        found: datetime | None = row._mapping[name]
        if found is None or found.tzinfo is None:
            return found
        return found.astimezone(UTC).replace(tzinfo=None)

    return value


def power(name: str) -> Getter:
    return lambda row: POWER_STATES.get(row._mapping[name], row._mapping[name])


def hyperv_only(getter: Getter) -> Getter:
    return lambda row: getter(row) if row._mapping["platform"] == "hyperv" else None


def first_ip(row: Any) -> str | None:
    addresses = row._mapping["ip_addresses"] or []
    return str(addresses[0]) if addresses else None


def ip_list(version: int) -> Getter:
    def value(row: Any) -> str | None:
        found = [a for a in row._mapping["ip_addresses"] or [] if (":" in a) == (version == 6)]
        return ", ".join(found) or None

    return value


def sockets(row: Any) -> int | None:
    cpus, per_socket = row._mapping["num_cpu"], row._mapping["cores_per_socket"]
    if not cpus or not per_socket:
        return None
    return int(cpus // per_socket)


def cores_per_cpu(row: Any) -> int | None:
    cores, sockets = row._mapping["cpu_cores"], row._mapping["cpu_sockets"]
    if not cores or not sockets:
        return None
    return int(cores // sockets)


def esx_version(row: Any) -> str | None:
    if row._mapping["platform"] != "vcenter" or not row._mapping["hypervisor_version"]:
        return None
    parts = [row._mapping["hypervisor_name"], row._mapping["hypervisor_version"]]
    if row._mapping["hypervisor_build"]:
        parts.append(f"build-{row._mapping['hypervisor_build']}")
    return " ".join(part for part in parts if part)


def in_use_mib(row: Any) -> int | None:
    capacity: int | None = row._mapping["capacity_bytes"]
    free: int | None = row._mapping["free_bytes"]
    if capacity is None or free is None:
        return None
    return round((capacity - free) / MIB)


def free_percent(capacity: int | None, free: int | None) -> int | None:
    """Free space as a whole percentage of capacity, as RVTools shows it."""
    if not capacity or free is None:
        return None
    return round(free * 100 / capacity)


def free_percent_of(row: Any) -> int | None:
    return free_percent(row._mapping["capacity_bytes"], row._mapping["free_bytes"])


def vi_sdk_server(row: Any) -> str | None:
    """The vCenter an object was read from (RVTools' ``VI SDK Server``): its integration's host."""
    if row._mapping["platform"] != "vcenter":
        return None
    url = str(row._mapping["integration_url"] or "")
    try:
        return urlsplit(url if "//" in url else f"//{url}").hostname or None
    except ValueError:
        return None


def natural_key(text: str) -> list[Any]:
    """``Network adapter 10`` after ``Network adapter 9``."""
    return [int(part) if part.isdigit() else part for part in re.split(r"(\d+)", text)]


PLATFORM = Column("Platform", key("platform"), 10)


INTEGRATION = Column("Integration", key("integration"), 16)


def with_names(
    stmt: Select[Any], table: Any, *refs: tuple[str, type[m.InventoryRow]]
) -> Select[Any]:
    """Add the names of the objects ``table`` references (``host_id`` → ``host``)."""
    for column, model in refs:
        target = model.__table__.alias()  # type: ignore[attr-defined]
        stmt = stmt.add_columns(target.c.name.label(column.removesuffix("_id")))
        stmt = stmt.outerjoin(target, target.c.id == table.c[column])
    return stmt


def scoped(
    table: Any, integration_id: int | None, *columns: ColumnElement[Any] | Any
) -> Select[Any]:
    """Present rows of ``table`` with their integration's name and platform."""
    stmt = (
        select(
            *columns,
            Integration.name.label("integration"),
            Integration.kind.label("platform"),
            Integration.url.label("integration_url"),
        )
        .select_from(table)
        .join(Integration, Integration.id == table.c.integration_id)
        .where(table.c.removed_at.is_(None))
    )
    if integration_id is not None:
        stmt = stmt.where(table.c.integration_id == integration_id)
    return stmt
