"""vMetaData: which program wrote the workbook, when, and from which sources.

RVTools writes one row with its own version, the workbook's creation time and
the vCenter it read. The creation time is the export's moment (when it is
taken; every age in the export is counted from it). IROA is not RVTools, so
``RVTools major version`` and ``RVTools version`` stay empty (a reader that
checks them must not take IROA's workbook for one RVTools wrote); ``Exported
by`` and ``Version`` (IROA's own columns) name IROA and its version. There is
one row per integration in the export, ``Server`` being its vCenter (empty for
Hyper-V).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import ColumnElement, Connection, Select, func, select

from iroa import __version__
from iroa.exports.columns import INTEGRATION, PLATFORM, Column, Scope, empty, key, vi_sdk_server
from iroa.integrations.models import Integration
from iroa.vocabulary import Platform

EXPORTED_BY = "IROA"


def _integrations(integration_id: int | None) -> Select[str, str, str]:
    conditions: list[ColumnElement[bool]] = [Integration.kind.in_(tuple(Platform))]
    if integration_id is not None:
        conditions.append(Integration.id == integration_id)
    return (
        select(
            Integration.name.label("integration"),
            Integration.kind.label("platform"),
            Integration.url.label("integration_url"),
        )
        .where(*conditions)
        .order_by(Integration.name)
    )


@dataclass(frozen=True)
class MetaDataSheet:
    """vMetaData: RVTools' columns, then IROA's ``Exported by`` and ``Version``."""

    name: str = "vMetaData"
    columns: tuple[Column, ...] = (
        Column("RVTools major version", empty, 10),
        Column("RVTools version", empty, 10),
        Column("xlsx creation datetime", key("created"), 19),
        Column("Server", vi_sdk_server, 24),
        Column("Exported by", key("exported_by"), 10),
        Column("Version", key("version"), 10),
        PLATFORM,
        INTEGRATION,
    )

    def columns_for(self, conn: Connection, scope: Scope) -> tuple[Column, ...]:
        return self.columns

    def count(self, conn: Connection, scope: Scope) -> int:
        inner = _integrations(scope.integration_id).order_by(None).subquery()
        return int(conn.execute(select(func.count()).select_from(inner)).scalar_one())

    def chunks(
        self, conn: Connection, scope: Scope, chunk_size: int
    ) -> Iterator[tuple[list[list[Any]], int]]:
        rows = conn.execute(_integrations(scope.integration_id)).all()
        extra = {"created": _naive(scope.now), "exported_by": EXPORTED_BY, "version": __version__}
        yield (
            [[column.value(_Row(row, extra)) for column in self.columns] for row in rows],
            len(rows),
        )


@dataclass(frozen=True)
class _Row:
    """A row with values added (the getters read ``row._mapping``)."""

    row: Any
    extra: dict[str, Any]

    @property
    def _mapping(self) -> dict[str, Any]:
        return {**self.row._mapping, **self.extra}


def _naive(moment: datetime) -> datetime:
    """A UTC timestamp as Excel holds it: without a time zone."""
    return moment.astimezone(UTC).replace(tzinfo=None)


VMETADATA = MetaDataSheet()
