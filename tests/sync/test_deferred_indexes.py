"""A large first sync builds the indexes of the empty tables that grow with the VMs after their
rows are in, in its one transaction — and leaves them exactly as they were: the plain indexes,
and on SQLite the VM search index (FTS5) too."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import create_engine, event, text

from iroa.crypto import SecretBox
from iroa.db.engine import Database
from iroa.integrations.service import IntegrationInput, add_integration
from iroa.inventory.listing import ListParams, list_page
from iroa.sync import apply
from iroa.sync.engine import run_sync
from tests.inventory.history_estate import SEQUENCE, StaticConnector

on_postgresql = pytest.mark.parametrize("db_url", ["postgresql"], indirect=True)
on_sqlite = pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)

INDEXES = text(
    "SELECT tablename, indexname, indexdef FROM pg_indexes"
    " WHERE schemaname = current_schema() ORDER BY tablename, indexname"
)


@pytest.fixture(autouse=True)
def small_snapshots_count_as_large(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(apply, "DEFER_INDEXES_VMS", 1)
    monkeypatch.setattr(apply, "DEFER_SQLITE_INDEXES_VMS", 1)


@pytest.fixture
def dropped(db: Database) -> Iterator[list[str]]:
    """The names of the indexes the syncs of a test drop, in order."""
    names: list[str] = []

    def seen(_conn: object, _cursor: object, statement: str, *_: Any) -> None:
        if statement.startswith("DROP INDEX"):
            names.append(statement.split('"')[1])

    event.listen(db.engine, "before_cursor_execute", seen)
    yield names
    event.remove(db.engine, "before_cursor_execute", seen)


def indexes(db: Database) -> list[tuple[str, str, str]]:
    with db.engine.connect() as conn:
        return [tuple(row) for row in conn.execute(INDEXES)]  # type: ignore[misc]


@on_postgresql
def test_a_first_sync_builds_the_indexes_after_its_rows(
    db: Database, box: SecretBox, dropped: list[str]
) -> None:
    before = indexes(db)
    integration_id = add_integration(db, box, IntegrationInput("vcenter", "vc", "https://vc")).id
    assert run_sync(db, integration_id, StaticConnector(SEQUENCE[0])).succeeded
    assert {"ix_vms_search_text", "ix_vms_host_id", "ix_changes_changed_at_id"} <= set(dropped)
    assert not any(name.startswith(("pk_", "uq_")) for name in dropped)
    assert indexes(db) == before
    names = [item["name"] for item in list_page(db, "vms", ListParams(q="vm1")).items]
    assert names == ["vm1"]

    dropped.clear()
    assert run_sync(db, integration_id, StaticConnector(SEQUENCE[1])).succeeded
    assert dropped == []  # the tables hold rows now
    assert indexes(db) == before


@on_postgresql
def test_a_reader_holding_the_tables_keeps_the_indexes_in_place(
    db: Database, box: SecretBox, db_url: str, dropped: list[str]
) -> None:
    before = indexes(db)
    integration_id = add_integration(db, box, IntegrationInput("vcenter", "vc", "https://vc")).id
    reader = create_engine(db_url)
    try:
        with reader.connect() as conn, conn.begin():
            conn.execute(text("SELECT count(*) FROM vms"))  # holds its lock until rollback
            assert run_sync(db, integration_id, StaticConnector(SEQUENCE[0])).succeeded
    finally:
        reader.dispose()
    assert dropped  # tried, timed out, rolled back to before the drops
    assert indexes(db) == before
    names = [item["name"] for item in list_page(db, "vms", ListParams(q="vm1")).items]
    assert names == ["vm1"]


SCHEMA = text("SELECT type, name, sql FROM sqlite_master ORDER BY type, name")


def schema(db: Database) -> list[tuple[str, str, str]]:
    with db.engine.connect() as conn:
        return [tuple(row) for row in conn.execute(SCHEMA)]  # type: ignore[misc]


def searched(db: Database, q: str) -> list[str]:
    return [item["name"] for item in list_page(db, "vms", ListParams(q=q)).items]


@on_sqlite
def test_on_sqlite_a_first_sync_builds_its_indexes_and_vm_search_after_its_rows(
    db: Database, box: SecretBox, dropped: list[str]
) -> None:
    before = schema(db)
    triggers: list[str] = []

    def seen(_conn: object, _cursor: object, statement: str, *_: Any) -> None:
        if statement.startswith("DROP TRIGGER"):
            triggers.append(statement.split('"')[1])

    event.listen(db.engine, "before_cursor_execute", seen)
    integration_id = add_integration(db, box, IntegrationInput("vcenter", "vc", "https://vc")).id
    assert run_sync(db, integration_id, StaticConnector(SEQUENCE[0])).succeeded
    assert triggers == ["vms_search_insert"]
    assert {"ix_vms_host_id", "ix_vms_removed_at_name_id", "ix_changes_changed_at_id"} <= set(
        dropped
    )
    assert not any(name.startswith(("pk_", "uq_", "sqlite_")) for name in dropped)
    assert schema(db) == before  # the indexes and the trigger are back, as they were
    with db.engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA integrity_check").scalar() == "ok"
    assert searched(db, "vm1") == ["vm1"]

    # Later syncs keep the indexes up to date row by row, and the search through the
    # restored trigger.
    triggers.clear()
    dropped.clear()
    assert run_sync(db, integration_id, StaticConnector(SEQUENCE[1])).succeeded
    event.remove(db.engine, "before_cursor_execute", seen)
    assert triggers == [] and dropped == []
    with db.engine.connect() as conn:
        check = conn.exec_driver_sql(
            "INSERT INTO vm_search(vm_search, rank) VALUES ('integrity-check', 1)"
        )
        check.close()
    added = {vm.name for vm in SEQUENCE[1].vms} - {vm.name for vm in SEQUENCE[0].vms}
    for name in added:
        assert searched(db, name) == [name]


@on_sqlite
def test_on_sqlite_a_smaller_first_sync_defers_its_vm_search_only(
    db: Database, box: SecretBox, dropped: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(apply, "DEFER_SQLITE_INDEXES_VMS", 10**9)
    before = schema(db)
    integration_id = add_integration(db, box, IntegrationInput("vcenter", "vc", "https://vc")).id
    assert run_sync(db, integration_id, StaticConnector(SEQUENCE[0])).succeeded
    assert dropped == []
    assert schema(db) == before
    assert searched(db, "vm1") == ["vm1"]


@on_sqlite
def test_on_sqlite_a_failed_first_sync_leaves_vm_search_as_it_was(
    db: Database, box: SecretBox, monkeypatch: pytest.MonkeyPatch
) -> None:
    before = schema(db)
    integration_id = add_integration(db, box, IntegrationInput("vcenter", "vc", "https://vc")).id

    def failing(*_: Any, **__: Any) -> None:
        raise RuntimeError("the disk is full")

    monkeypatch.setattr(apply, "write_summary", failing)
    with pytest.raises(RuntimeError, match="the disk is full"):
        run_sync(db, integration_id, StaticConnector(SEQUENCE[0]))
    assert schema(db) == before
    monkeypatch.undo()
    monkeypatch.setattr(apply, "DEFER_INDEXES_VMS", 10**9)  # rows one by one through the trigger
    assert run_sync(db, integration_id, StaticConnector(SEQUENCE[0])).succeeded
    assert searched(db, "vm1") == ["vm1"]
