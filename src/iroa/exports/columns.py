"""How a sheet is described: columns with their getters, the scope of an export, the source of
a sheet's rows; the getters and formats RVTools uses."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Protocol

from sqlalchemy import Connection, Select, func, select
from sqlalchemy.sql.elements import ColumnElement

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
    """What an export covers: one integration (by id) or all, and the time checks run at."""

    integration_id: int | None
    now: datetime


class SheetSource(Protocol):
    """What the writers need of a sheet: its name, columns, a row total and the rows."""

    @property
    def name(self) -> str: ...

    @property
    def columns(self) -> tuple[Column, ...]: ...

    def count(self, conn: Connection, scope: Scope) -> int:
        """The progress total: rows to read."""
        ...

    def chunks(
        self, conn: Connection, scope: Scope, chunk_size: int
    ) -> Iterator[tuple[list[list[Any]], int]]:
        """Rows of cell values, a chunk at a time, each with how many rows it read."""
        ...


@dataclass(frozen=True)
class Sheet:
    """One sheet whose rows are those of one select, one row each."""

    name: str
    columns: tuple[Column, ...]
    build: Callable[[int | None], Select[Any]]
    """The rows' select, for one integration id or all (None)."""

    def count(self, conn: Connection, scope: Scope) -> int:
        inner = self.build(scope.integration_id).order_by(None).subquery()
        return int(conn.execute(select(func.count()).select_from(inner)).scalar_one())

    def chunks(
        self, conn: Connection, scope: Scope, chunk_size: int
    ) -> Iterator[tuple[list[list[Any]], int]]:
        stmt = self.build(scope.integration_id)
        result = conn.execution_options(yield_per=chunk_size).execute(stmt)
        for partition in result.partitions():
            yield (
                [[column.value(row) for column in self.columns] for row in partition],
                len(partition),
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
        )
        .select_from(table)
        .join(Integration, Integration.id == table.c.integration_id)
        .where(table.c.removed_at.is_(None))
    )
    if integration_id is not None:
        stmt = stmt.where(table.c.integration_id == integration_id)
    return stmt
