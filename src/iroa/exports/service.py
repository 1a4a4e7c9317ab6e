"""What an export reads: the sheets, the integration it is limited to, one consistent snapshot."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime

from sqlalchemy import Connection, select

from iroa.config import get_settings
from iroa.db.base import utcnow
from iroa.db.engine import Database
from iroa.errors import InvalidInputError, check_choice
from iroa.exports.columns import Scope, SheetSource
from iroa.exports.health import VHEALTH
from iroa.exports.metadata import VMETADATA
from iroa.exports.sheets import INVENTORY_SHEETS
from iroa.findings.rules import Thresholds
from iroa.integrations.models import Integration
from iroa.integrations.service import IntegrationNotFoundError
from iroa.inventory.history import inventory_as_of

SHEETS: tuple[SheetSource, ...] = (*INVENTORY_SHEETS, VHEALTH, VMETADATA)
BY_NAME = {sheet.name: sheet for sheet in SHEETS}
CHUNK_SIZE = 1000


class UnknownSheetError(InvalidInputError):
    pass


def sheet_named(name: str) -> SheetSource:
    """The sheet called ``name`` (``vInfo``, ``vDisk`` …)."""
    check_choice("sheet", name, BY_NAME, UnknownSheetError)
    return BY_NAME[name]


@contextmanager
def snapshot_connection(db: Database, as_of: datetime | None = None) -> Iterator[Connection]:
    """One read transaction for a whole export, so every sheet shows the same moment.

    With ``as_of``, it reads the inventory as it stood then (:mod:`iroa.inventory.history`).

    PostgreSQL gets REPEATABLE READ; SQLite's deferred read transaction in WAL
    mode already sees one snapshot until it ends. Rows are streamed through
    server-side cursors on PostgreSQL, which it plans for the first 10 % of
    rows by default (nested loops over the per-VM counts: minutes at 100,000
    VMs); an export reads every row, so it asks for plans of the whole result.
    """
    with inventory_as_of(db, as_of) as source, source.engine.connect() as conn:
        if not source.is_sqlite:
            conn = conn.execution_options(isolation_level="REPEATABLE READ")
        with conn.begin():
            if not source.is_sqlite:
                conn.exec_driver_sql("SET LOCAL cursor_tuple_fraction = 1.0")
            yield conn


def resolve_scope(
    conn: Connection,
    integration: str | None,
    now: datetime | None = None,
    thresholds: Thresholds | None = None,
) -> Scope:
    """The scope of an export of one integration (by name) or of all of them; the health
    checks use ``thresholds``, by default the findings' settings."""
    integration_id = None
    if integration is not None:
        if "\x00" in integration:  # no name can hold it, and PostgreSQL refuses it in text
            raise IntegrationNotFoundError(f"no integration named {integration!r}")
        integration_id = conn.execute(
            select(Integration.id).where(Integration.name == integration)
        ).scalar_one_or_none()
        if integration_id is None:
            raise IntegrationNotFoundError(f"no integration named {integration!r}")
    if thresholds is None:
        thresholds = Thresholds.from_settings(get_settings())
    return Scope(integration_id, now or utcnow(), thresholds)
