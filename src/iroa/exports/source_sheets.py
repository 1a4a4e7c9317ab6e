"""vSource and vLicense: what each integration's system said of itself at its last read.

They come from the runs (``sync_runs.source``), not the inventory: a run that
read its source records its ``about`` and, for a full vCenter read, its
licenses, each key masked but for its last five characters by the connector
(the whole key is never stored). A sheet shows, per integration, the last
successful or held run that recorded them and finished by the export's
moment; an export ``as of`` a past moment reads a rebuilt inventory without
runs, so these sheets are empty there.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, select

from iroa.exports.columns import INTEGRATION, PLATFORM, Column, Scope, key, vi_sdk_server
from iroa.integrations.models import Integration
from iroa.sync.models import SyncRun
from iroa.vocabulary import Platform, RunStatus

_READ = (RunStatus.SUCCEEDED.value, RunStatus.HELD.value)


@dataclass(frozen=True)
class _Row:
    """One sheet row: what the getters read (``row._mapping``)."""

    _mapping: dict[str, Any]


def _about(field: str) -> Any:
    return lambda row: (row._mapping["about"] or {}).get(field)


def _vi_sdk_uuid(row: Any) -> str | None:
    return (row._mapping["about"] or {}).get("instance_uuid")


def _integrations(conn: Connection, scope: Scope) -> list[Any]:
    stmt = (
        select(Integration.id, Integration.name, Integration.kind, Integration.url)
        .where(Integration.kind.in_(tuple(Platform)))
        .order_by(Integration.name)
    )
    if scope.integration_id is not None:
        stmt = stmt.where(Integration.id == scope.integration_id)
    return list(conn.execute(stmt).all())


def last_source(conn: Connection, integration_id: int, now: datetime, field: str) -> Any:
    """The newest run's ``source`` that holds ``field``, among the integration's runs that
    read their source and finished by ``now``; None if there is none."""
    stmt = (
        select(SyncRun.source)
        .where(
            SyncRun.integration_id == integration_id,
            SyncRun.status.in_(_READ),
            SyncRun.finished_at <= now,
            SyncRun.source.is_not(None),
        )
        .order_by(SyncRun.finished_at.desc(), SyncRun.id.desc())
    )
    for source in conn.execution_options(yield_per=20).execute(stmt).scalars():
        if isinstance(source, dict) and field in source:
            return source
    return None


@dataclass(frozen=True)
class RunSourceSheet:
    """A sheet of rows taken from each integration's last recorded ``source`` (``field``)."""

    name: str
    columns: tuple[Column, ...]
    field: str

    def columns_for(self, conn: Connection, scope: Scope) -> tuple[Column, ...]:
        return self.columns

    def count(self, conn: Connection, scope: Scope) -> int:
        return sum(len(self._rows_of(conn, scope, i)) for i in _integrations(conn, scope))

    def chunks(
        self, conn: Connection, scope: Scope, chunk_size: int
    ) -> Iterator[tuple[list[list[Any]], int]]:
        for integration in _integrations(conn, scope):
            rows = self._rows_of(conn, scope, integration)
            if rows:
                yield [[c.value(row) for c in self.columns] for row in rows], len(rows)

    def _rows_of(self, conn: Connection, scope: Scope, integration: Any) -> list[_Row]:
        source = last_source(conn, integration.id, scope.now, self.field)
        if source is None:
            return []
        common = {
            "integration": integration.name,
            "platform": integration.kind,
            "integration_url": integration.url,
            "about": source.get("about"),
            "source": source,
        }
        if self.field == "licenses":
            return [_Row({**common, **_license(info)}) for info in source["licenses"]]
        return [_Row(common)]


def _license(info: dict[str, Any]) -> dict[str, Any]:
    expires = info.get("expires_at")
    return {
        "license_name": info.get("name"),
        "license_key": info.get("key"),
        "total": info.get("total"),
        "used": info.get("used"),
        "cost_unit": info.get("cost_unit"),
        # A naive UTC timestamp: Excel cells have no time zone.
        "expires_at": (
            datetime.fromisoformat(expires).astimezone(UTC).replace(tzinfo=None)
            if expires
            else None
        ),
        "labels": ", ".join(info.get("labels") or ()) or None,
        "features": ", ".join(info.get("features") or ()) or None,
    }


def _source(field: str) -> Any:
    return lambda row: row._mapping["source"].get(field)


VSOURCE = RunSourceSheet(
    "vSource",
    (
        Column("Name", _about("name"), 24),
        Column("OS type", _about("os_type"), 14),
        Column("API type", _about("api_type"), 12),
        Column("API version", _about("api_version"), 10),
        Column("Version", _source("version"), 10),
        Column("Patch level", _about("patch_level"), 10),
        Column("Build", _source("build"), 10),
        Column("Fullname", _source("product"), 40),
        Column("Product name", _about("product_name"), 20),
        Column("Product version", _about("product_version"), 10),
        Column("Product line", _about("product_line"), 10),
        Column("Vendor", _about("vendor"), 16),
        Column("VI SDK Server", vi_sdk_server, 24),
        Column("VI SDK UUID", _vi_sdk_uuid, 38),
        PLATFORM,
        INTEGRATION,
    ),
    "about",
)
"""One row per integration whose runs recorded its ``about`` (vCenter)."""

VLICENSE = RunSourceSheet(
    "vLicense",
    (
        Column("Name", key("license_name"), 30),
        Column("Key", key("license_key"), 30),
        Column("Labels", key("labels"), 16),
        Column("Cost Unit", key("cost_unit"), 10),
        Column("Total", key("total"), 8),
        Column("Used", key("used"), 8),
        Column("Expiration Date", key("expires_at"), 19),
        Column("Features", key("features"), 40),
        Column("VI SDK Server", vi_sdk_server, 24),
        Column("VI SDK UUID", _vi_sdk_uuid, 38),
        PLATFORM,
        INTEGRATION,
    ),
    "licenses",
)
"""One row per license of each integration whose last full read recorded its licenses."""
