"""Deleting an integration deletes everything of it — rows with a foreign key and rows without
(the tables that grow with the VMs) — and nothing of another integration."""

from __future__ import annotations

import pytest
from sqlalchemy import Table, func, select

import iroa.models
from iroa.audit.service import CLI_ACTOR
from iroa.crypto import SecretBox
from iroa.db.engine import Database
from iroa.integrations.service import IntegrationInput, IntegrationNotFoundError, add_integration
from iroa.sync.engine import run_sync
from iroa.sync.forget import delete_integration, remove_integration, unkeyed_tables
from tests.inventory.history_estate import SEQUENCE, StaticConnector

TABLES_OF_INTEGRATIONS = [
    table for table in iroa.models.Base.metadata.sorted_tables if "integration_id" in table.c
]


def rows_by_table(db: Database, integration_id: int) -> dict[str, int]:
    def count(table: Table) -> int:
        query = select(func.count()).where(table.c.integration_id == integration_id)
        return int(conn.execute(query).scalar_one())

    with db.engine.connect() as conn:
        return {table.name: count(table) for table in TABLES_OF_INTEGRATIONS}


def synced(db: Database, box: SecretBox, name: str) -> int:
    integration_id = add_integration(
        db, box, IntegrationInput("vcenter", name, f"https://{name}")
    ).id
    for snapshot in SEQUENCE:
        assert run_sync(db, integration_id, StaticConnector(snapshot)).succeeded
    return integration_id


def test_every_table_without_a_key_to_its_integration_is_known() -> None:
    """A table added without a foreign key to integrations must be deleted with them too."""
    unkeyed = {t.name for t in TABLES_OF_INTEGRATIONS if not t.c.integration_id.foreign_keys}
    assert {t.name for t in unkeyed_tables()} == unkeyed
    assert {"vms", "vm_disks", "changes", "tags"} <= unkeyed


@pytest.mark.parametrize("by", ["id", "name"])
def test_deleting_an_integration_deletes_all_of_it_and_nothing_else(
    db: Database, box: SecretBox, by: str
) -> None:
    gone = synced(db, box, "vc1")
    kept = synced(db, box, "vc2")
    before = rows_by_table(db, kept)
    held = rows_by_table(db, gone)
    for table in ("vms", "vm_disks", "vm_nics", "vm_snapshots", "vm_datastores", "tags"):
        assert held[table] > 0, table
    assert held["changes"] > 0 and held["sync_runs"] == len(SEQUENCE)

    if by == "id":
        delete_integration(db, gone, CLI_ACTOR)
    else:
        remove_integration(db, "vc1", CLI_ACTOR)

    assert set(rows_by_table(db, gone).values()) == {0}
    assert rows_by_table(db, kept) == before
    with pytest.raises(IntegrationNotFoundError, match="vc1"):
        remove_integration(db, "vc1", CLI_ACTOR)
    with pytest.raises(IntegrationNotFoundError, match=str(gone)):
        delete_integration(db, gone, CLI_ACTOR)
