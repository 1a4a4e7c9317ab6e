"""A large first sync on PostgreSQL builds the indexes of the empty tables that grow with the
VMs after their rows are in, in its one transaction — and leaves them exactly as they were."""

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

pytestmark = pytest.mark.parametrize("db_url", ["postgresql"], indirect=True)

INDEXES = text(
    "SELECT tablename, indexname, indexdef FROM pg_indexes"
    " WHERE schemaname = current_schema() ORDER BY tablename, indexname"
)


@pytest.fixture(autouse=True)
def small_snapshots_count_as_large(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(apply, "DEFER_INDEXES_VMS", 1)


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
