"""Indexes for paged inventory lists, the change log and detail tags; VM search on SQLite.

On SQLite, ``vm_search`` is an FTS5 trigram index (external content: the
``vms`` table) over the fields ``q`` searches, kept current by triggers, so a
substring search reads the index instead of scanning every VM. A later
migration that rebuilds ``vms`` (batch mode copies and drops the table) drops
these triggers and must create them again; ``tests/api`` fails if they are
missing. On PostgreSQL the same fields get pg_trgm GIN indexes, which serve
``ILIKE '%…%'``, where the pg_trgm extension is available (it ships with
PostgreSQL's contrib package and is trusted: a database owner may create it);
without it, search still works, by scanning.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-26
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

COLUMNS = "name, guest_hostname, uuid, ip_addresses"
OLD = "old.id, old.name, old.guest_hostname, old.uuid, old.ip_addresses"
NEW = "new.id, new.name, new.guest_hostname, new.uuid, new.ip_addresses"
SQLITE_VM_SEARCH = [
    f"CREATE VIRTUAL TABLE vm_search USING fts5({COLUMNS}, "
    "content='vms', content_rowid='id', tokenize='trigram')",
    "INSERT INTO vm_search(vm_search) VALUES ('rebuild')",
    f"CREATE TRIGGER vms_search_insert AFTER INSERT ON vms BEGIN "
    f"INSERT INTO vm_search(rowid, {COLUMNS}) VALUES ({NEW}); END",
    f"CREATE TRIGGER vms_search_delete AFTER DELETE ON vms BEGIN "
    f"INSERT INTO vm_search(vm_search, rowid, {COLUMNS}) VALUES ('delete', {OLD}); END",
    f"CREATE TRIGGER vms_search_update AFTER UPDATE OF {COLUMNS} ON vms BEGIN "
    f"INSERT INTO vm_search(vm_search, rowid, {COLUMNS}) VALUES ('delete', {OLD}); "
    f"INSERT INTO vm_search(rowid, {COLUMNS}) VALUES ({NEW}); END",
]

POSTGRES_TRIGRAM_INDEXES = {
    "ix_vms_search_name": "name",
    "ix_vms_search_guest_hostname": "guest_hostname",
    "ix_vms_search_uuid": "uuid",
    "ix_vms_search_ip_addresses": "(CAST(ip_addresses AS TEXT))",
}


def _create_postgres_trigram_indexes() -> None:
    bind = op.get_bind()
    available = bind.execute(
        sa.text("SELECT 1 FROM pg_available_extensions WHERE name = 'pg_trgm'")
    ).first()
    if available is None:
        return
    try:
        with bind.begin_nested():
            bind.execute(sa.text("CREATE EXTENSION IF NOT EXISTS pg_trgm"))
    except sa.exc.DBAPIError:
        return  # not allowed to create it here: search scans instead
    for name, column in POSTGRES_TRIGRAM_INDEXES.items():
        op.execute(f"CREATE INDEX {name} ON vms USING gin ({column} gin_trgm_ops)")


def upgrade() -> None:
    op.create_index("ix_changes_changed_at_id", "changes", ["changed_at", "id"])
    op.create_index(
        "ix_tags_object", "tags", ["integration_id", "object_type", "object_external_id"]
    )
    op.create_index("ix_vms_removed_at_name_id", "vms", ["removed_at", "name", "id"])
    op.create_index(
        "ix_vms_removed_at_power_state_name_id",
        "vms",
        ["removed_at", "power_state", "name", "id"],
    )
    if op.get_context().dialect.name == "sqlite":
        for statement in SQLITE_VM_SEARCH:
            op.execute(statement)
    else:
        _create_postgres_trigram_indexes()


def downgrade() -> None:
    if op.get_context().dialect.name == "sqlite":
        for trigger in ("vms_search_update", "vms_search_delete", "vms_search_insert"):
            op.execute(f"DROP TRIGGER {trigger}")
        op.execute("DROP TABLE vm_search")
    else:
        for name in POSTGRES_TRIGRAM_INDEXES:
            op.execute(f"DROP INDEX IF EXISTS {name}")
    op.drop_index("ix_vms_removed_at_power_state_name_id", "vms")
    op.drop_index("ix_vms_removed_at_name_id", "vms")
    op.drop_index("ix_tags_object", "tags")
    op.drop_index("ix_changes_changed_at_id", "changes")
