"""The migrations build exactly the schema the models describe, on both backends."""

from __future__ import annotations

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect, select, text

from iroa.crypto import SecretBox
from iroa.db import schema
from iroa.db.engine import Database
from iroa.db.migrate import (
    alembic_config,
    current_revision,
    head_revision,
    include_name,
    is_up_to_date,
    upgrade,
)
from iroa.integrations.service import IntegrationInput, add_integration
from iroa.inventory.listing import ListParams, list_page
from iroa.models import Base
from iroa.sync.engine import run_sync
from tests.inventory.history_estate import SEQUENCE, StaticConnector


def test_models_and_migrations_agree(db: Database) -> None:
    with db.engine.connect() as conn:
        context = MigrationContext.configure(
            conn, opts={"compare_type": True, "include_name": include_name}
        )
        diff = compare_metadata(context, Base.metadata)
    assert diff == []


def test_database_is_at_head(db: Database) -> None:
    assert is_up_to_date(db.engine)
    assert head_revision(db.engine) is not None


def test_the_schema_check_reads_the_revisions_alembic_reads(db: Database) -> None:
    """The CLI's check goes without Alembic: it must see what Alembic sees."""
    assert schema.head_revision() == head_revision(db.engine)
    assert schema.stored_revision(db) == current_revision(db.engine)
    head = schema.head_revision()
    with db.engine.begin() as conn:
        conn.execute(text("UPDATE alembic_version SET version_num = '0001'"))
    try:
        assert schema.stored_revision(db) == current_revision(db.engine) == "0001"
        with pytest.raises(schema.SchemaOutdatedError, match="at revision 0001, this version"):
            schema.ensure_schema(db)
    finally:  # the PostgreSQL database is shared by the session
        with db.engine.begin() as conn:
            conn.execute(text("UPDATE alembic_version SET version_num = :head"), {"head": head})


def test_sqlite_runs_in_wal_mode_with_foreign_keys(db: Database) -> None:
    if not db.is_sqlite:
        return
    with db.engine.connect() as conn:
        assert conn.execute(text("PRAGMA journal_mode")).scalar() == "wal"
        assert conn.execute(text("PRAGMA foreign_keys")).scalar() == 1
        assert conn.execute(text("PRAGMA busy_timeout")).scalar() == 30000


def foreign_keys_of(db: Database, table: str) -> set[str]:
    return {fk["referred_table"] for fk in inspect(db.engine).get_foreign_keys(table)}


def names_found(db: Database, q: str) -> list[str]:
    return [item["name"] for item in list_page(db, "vms", ListParams(q=q)).items]


def test_the_tables_that_grow_with_the_vms_lose_their_keys_and_nothing_else(
    db: Database, box: SecretBox
) -> None:
    """Migration 0013 down and up again over a synced estate: rows, references and VM
    search (on SQLite, triggers on the rebuilt table) come through."""
    integration_id = add_integration(db, box, IntegrationInput("vcenter", "vc", "https://vc")).id
    for snapshot in SEQUENCE[:2]:
        assert run_sync(db, integration_id, StaticConnector(snapshot)).succeeded
    # Tables made after 0013 go, with their rows, in a downgrade to 0012.
    later = {"vm_partitions", "vm_devices", "resource_pools"}
    tables = [
        t
        for t in Base.metadata.sorted_tables
        if not t.name.startswith("procrastinate") and t.name not in later
    ]

    # A column made after 0013 that a sync fills goes too, and comes back empty.
    later_columns = {("integrations", "usage_read_at")}

    def contents() -> dict[str, list[tuple[object, ...]]]:
        with db.engine.connect() as conn:
            return {
                t.name: sorted(
                    map(
                        tuple,
                        conn.execute(
                            select(*(c for c in t.c if (t.name, c.name) not in later_columns))
                        ).all(),
                    ),
                    key=repr,
                )
                for t in tables
            }

    before = contents()
    config = alembic_config(db.engine)
    try:
        command.downgrade(config, "0012")
        assert foreign_keys_of(db, "vm_disks") == {"vms", "datastores", "integrations"}
        assert foreign_keys_of(db, "changes") == {"sync_runs", "integrations"}
    finally:
        upgrade(db.engine)
    for table in ("vms", "vm_disks", "vm_nics", "vm_snapshots", "vm_datastores", "tags", "changes"):
        assert foreign_keys_of(db, table) == set(), table
    assert foreign_keys_of(db, "hosts") == {"datacenters", "clusters", "integrations"}
    assert contents() == before
    assert names_found(db, "vm0-ren") == ["vm0-renamed"]
    # The search index follows new, renamed and removed VMs again.
    assert run_sync(db, integration_id, StaticConnector(SEQUENCE[2])).succeeded
    assert names_found(db, "vm0-") == ["vm0-final"]
    assert names_found(db, "vm2") == ["vm2"]
