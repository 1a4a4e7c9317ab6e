"""How SQLite plans a list page at scale: with the statistics ``ANALYZE`` keeps for a
100,000-VM estate (written straight into ``sqlite_stat1``, as SQLite allows), a
filter on one cluster or host starts from that object's index, not from a walk
of the whole sort order checking each VM."""

from __future__ import annotations

import shutil
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import event

from iroa.db.engine import Database
from iroa.inventory.listing import ListParams, list_page

STATS_AT_100K_VMS = [
    ("vms", "ix_vms_removed_at_power_state_name_id", "100000 100000 33334 1 1"),
    ("vms", "ix_vms_removed_at_name_id", "100000 100000 1 1"),
    ("vms", "uq_vms_integration_id_external_id", "100000 100000 1"),
    ("vms", "ix_vms_uuid", "100000 1"),
    ("vms", "ix_vms_power_state", "100000 33334"),
    ("vms", "ix_vms_name", "100000 1"),
    ("vms", "ix_vms_host_id", "100000 40"),
    ("vms", "ix_vms_datacenter_id", "100000 50000"),
    ("vms", "ix_vms_cluster_id", "100000 642"),
    ("hosts", "ix_hosts_name", "2500 1"),
    ("clusters", "ix_clusters_name", "156 1"),
]


@pytest.fixture
def analyzed_db(sqlite_template: Path, tmp_path: Path) -> Iterator[Database]:
    path = tmp_path / "iroa.db"
    shutil.copy(sqlite_template, path)
    conn = sqlite3.connect(path)
    conn.execute("ANALYZE")  # creates sqlite_stat1
    conn.execute("DELETE FROM sqlite_stat1")
    conn.executemany("INSERT INTO sqlite_stat1 VALUES (?, ?, ?)", STATS_AT_100K_VMS)
    conn.commit()
    conn.close()
    db = Database(f"sqlite:///{path}")
    yield db
    db.dispose()


def page_plan(db: Database, filters: dict[str, object], sort: str) -> list[str]:
    sent: list[tuple[str, Any]] = []

    def seen(_conn: object, _cursor: object, statement: str, parameters: Any, *_: object) -> None:
        sent.append((statement, parameters))

    event.listen(db.engine, "before_cursor_execute", seen)
    try:
        list_page(db, "vms", ListParams(filters=filters, sort=sort))
    finally:
        event.remove(db.engine, "before_cursor_execute", seen)
    statement, parameters = sent[-1]
    with db.engine.connect() as conn:
        rows = conn.exec_driver_sql("EXPLAIN QUERY PLAN " + statement, parameters).all()
    return [row[3] for row in rows]


@pytest.mark.parametrize(
    ("filters", "index"),
    [
        ({"cluster": "Cluster-007"}, "ix_vms_cluster_id"),
        ({"cluster_id": 7}, "ix_vms_cluster_id"),
        ({"host": "esx0007"}, "ix_vms_host_id"),
        ({"host_id": 7}, "ix_vms_host_id"),
    ],
)
@pytest.mark.parametrize("sort", ["name", "-name", "memory_mib"])
def test_one_cluster_or_host_is_read_from_its_index(
    analyzed_db: Database, filters: dict[str, object], index: str, sort: str
) -> None:
    plan = page_plan(analyzed_db, filters, sort)
    vms_reads = [step for step in plan if step.startswith(("SCAN vms", "SEARCH vms"))]
    # The page's ids and its count come from the index; its rows are then looked up by id.
    assert any(index in step for step in vms_reads), plan
    assert all(index in step or "INTEGER PRIMARY KEY" in step for step in vms_reads), plan


@pytest.mark.parametrize("sort", ["memory_mib", "-boot_time", "id"])
def test_a_sort_without_an_index_scans_the_table_for_the_page_ids(
    analyzed_db: Database, sort: str
) -> None:
    # Not row by row through the removed_at index (a covering read, as the count's, is fine).
    plan = page_plan(analyzed_db, {}, sort)
    assert "SCAN vms" in plan, plan
    assert not [s for s in plan if "USING INDEX ix_vms_removed_at" in s], plan
