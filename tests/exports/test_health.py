"""vHealth: the findings' rules on the exported inventory, agreeing with the findings;
the exports' pure pieces."""

from __future__ import annotations

from datetime import datetime

import pytest
from sqlalchemy import select

from iroa.config import get_settings
from iroa.db.base import utcnow
from iroa.db.engine import Database
from iroa.exports.columns import free_percent
from iroa.exports.csv import cell_text
from iroa.exports.health import VHEALTH
from iroa.exports.service import resolve_scope, snapshot_connection
from iroa.exports.xlsx import MAX_WIDTH, column_width
from iroa.findings.catalog import RULES_BY_ID
from iroa.findings.models import Finding
from iroa.findings.rules import Thresholds
from iroa.findings.service import refresh_findings
from iroa.integrations.models import Integration
from tests.findings.estate import hyperv_estate, vcenter_estate
from tests.findings.test_findings import add_integration, sync

Row = tuple[str, str, str | None, str, str, str]
"""(rule, object type, name, severity, message, integration)."""


def sheet_rows(
    db: Database, integration: str | None, now: datetime, thresholds: Thresholds
) -> list[Row]:
    with snapshot_connection(db) as conn:
        scope = resolve_scope(conn, integration, now, thresholds)
        columns = [c.header for c in VHEALTH.columns_for(conn, scope)]
        total = VHEALTH.count(conn, scope)
        chunks = list(VHEALTH.chunks(conn, scope, 2))
    assert sum(read for _, read in chunks) == total  # progress advances to its total
    rows = [dict(zip(columns, row, strict=True)) for cells, _ in chunks for row in cells]
    for row in rows:
        assert row["Message type"] == RULES_BY_ID[row["Rule"]].title
        assert row["VI SDK Server"] == ("vc.example" if row["Platform"] == "vcenter" else None)
    return [
        (
            row["Rule"],
            row["Object type"],
            row["Name"],
            row["Severity"],
            row["Message"],
            row["Integration"],
        )
        for row in rows
    ]


def open_findings(db: Database) -> list[Row]:
    stmt = (
        select(
            Finding.rule,
            Finding.object_type,
            Finding.object_name,
            Finding.severity,
            Finding.message,
            Integration.name,
        )
        .join(Integration, Integration.id == Finding.integration_id)
        .where(Finding.resolved_at.is_(None))
    )
    with db.session() as session:
        return [tuple(row) for row in session.execute(stmt)]  # type: ignore[misc]


def test_the_sheet_lists_exactly_the_findings_of_the_same_estate(db: Database) -> None:
    """Same rules, same thresholds, same moment: the sheet and the findings agree, row for row,
    with the default thresholds and with others."""
    vc = add_integration(db, "vcenter", "vc")
    hv = add_integration(db, "hyperv", "hv")
    sync(db, vc, vcenter_estate(utcnow()))
    sync(db, hv, hyperv_estate())
    for thresholds in (
        Thresholds(),
        Thresholds(
            snapshot_max_age_days=60,
            datastore_free_warning_pct=60,
            datastore_free_critical_pct=1,
            datastore_vm_max=100,
            hardware_version_min=21,
            partition_free_warning_pct=60,
            partition_free_critical_pct=1,
        ),
    ):
        now = utcnow()
        for integration_id in (vc, hv):
            refresh_findings(db, integration_id, thresholds, now=now)
        rows = sheet_rows(db, None, now, thresholds)
        assert sorted(rows) == sorted(open_findings(db))
        assert len(rows) == len(set(rows)) > 20
        assert {r[0] for r in rows} >= {
            "overall_status",
            "consolidation_needed",
            "disk_datastore_not_on_host",
            "guest_tools_outdated",
            "vm_cdrom_connected",
            "guest_partition_low_free_space",
        }
    assert {row[-1] for row in sheet_rows(db, "hv", utcnow(), Thresholds())} == {"hv"}


def test_the_sheet_uses_the_findings_settings(
    db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Without thresholds given, an export reads the ``IROA_FINDINGS_*`` settings."""
    vc = add_integration(db, "vcenter", "vc")
    sync(db, vc, vcenter_estate(utcnow()))
    monkeypatch.setenv("IROA_FINDINGS_DATASTORE_FREE_WARNING_PCT", "60")
    get_settings.cache_clear()
    try:
        with snapshot_connection(db) as conn:
            scope = resolve_scope(conn, None)
    finally:
        get_settings.cache_clear()
    assert scope.thresholds.datastore_free_warning_pct == 60
    rows = sheet_rows(db, None, scope.now, scope.thresholds)
    assert ("datastore_low_free_space", "datastore", "ds-ok") in {r[:3] for r in rows}


def test_cells_and_widths() -> None:
    assert [cell_text(v) for v in (None, True, False, 3, "x", ["a", "b"], [])] == [
        "",
        "true",
        "false",
        "3",
        "x",
        "a; b",
        "",
    ]
    assert cell_text(datetime(2026, 1, 2, 3, 4, 5)) == "2026-01-02T03:04:05"
    assert (
        free_percent(100, 9) == 9 and free_percent(0, 0) is None and free_percent(5, None) is None
    )
    assert column_width("OS according to the configuration file", 30) == 40
    assert column_width("VM", 30) == 30
    assert column_width("Path", 500) == MAX_WIDTH
