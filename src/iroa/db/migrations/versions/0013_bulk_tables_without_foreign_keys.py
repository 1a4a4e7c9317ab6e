"""The tables that grow with the VMs (VMs, their disks, NICs, snapshots and placements, tags,
change rows) lose their foreign keys: their references stay indexed id columns.

PostgreSQL checks a foreign key of each inserted row with a query of its own,
about 5 µs each: a first sync of 100,000 VMs inserted some 2.6 million checks,
more than half of its time. The sync engine alone writes these rows and
resolves their references; deleting an integration deletes them explicitly.
The index of change rows by run served only the cascade from runs: it goes too.

On SQLite a table loses a constraint only by being rebuilt: the VMs' table is
rebuilt last (nothing references it by then) and its search triggers, which
go with it, are created again.

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-04
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0013"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Each table's foreign keys as migration 0001 made them: (column, referred table, on delete).
FOREIGN_KEYS: dict[str, list[tuple[str, str, str]]] = {
    "vm_disks": [
        ("vm_id", "vms", "CASCADE"),
        ("datastore_id", "datastores", "SET NULL"),
        ("integration_id", "integrations", "CASCADE"),
    ],
    "vm_nics": [
        ("vm_id", "vms", "CASCADE"),
        ("network_id", "networks", "SET NULL"),
        ("integration_id", "integrations", "CASCADE"),
    ],
    "vm_snapshots": [
        ("vm_id", "vms", "CASCADE"),
        ("integration_id", "integrations", "CASCADE"),
    ],
    "vm_datastores": [
        ("vm_id", "vms", "CASCADE"),
        ("datastore_id", "datastores", "CASCADE"),
        ("integration_id", "integrations", "CASCADE"),
    ],
    "vm_networks": [
        ("vm_id", "vms", "CASCADE"),
        ("network_id", "networks", "CASCADE"),
        ("integration_id", "integrations", "CASCADE"),
    ],
    "tags": [("integration_id", "integrations", "CASCADE")],
    "changes": [
        ("sync_run_id", "sync_runs", "CASCADE"),
        ("integration_id", "integrations", "CASCADE"),
    ],
    # Last: on SQLite, rebuilding a table referenced with ON DELETE CASCADE would empty
    # the tables that reference it.
    "vms": [
        ("datacenter_id", "datacenters", "SET NULL"),
        ("cluster_id", "clusters", "SET NULL"),
        ("host_id", "hosts", "SET NULL"),
        ("integration_id", "integrations", "CASCADE"),
    ],
}

# The VM search triggers of migration 0004, which SQLite drops with the table they are on.
SEARCH_COLUMNS = "name, guest_hostname, uuid, ip_addresses"
OLD = "old.id, old.name, old.guest_hostname, old.uuid, old.ip_addresses"
NEW = "new.id, new.name, new.guest_hostname, new.uuid, new.ip_addresses"
SQLITE_SEARCH_TRIGGERS = [
    f"CREATE TRIGGER vms_search_insert AFTER INSERT ON vms BEGIN "
    f"INSERT INTO vm_search(rowid, {SEARCH_COLUMNS}) VALUES ({NEW}); END",
    f"CREATE TRIGGER vms_search_delete AFTER DELETE ON vms BEGIN "
    f"INSERT INTO vm_search(vm_search, rowid, {SEARCH_COLUMNS}) VALUES ('delete', {OLD}); END",
    f"CREATE TRIGGER vms_search_update AFTER UPDATE OF {SEARCH_COLUMNS} ON vms BEGIN "
    f"INSERT INTO vm_search(vm_search, rowid, {SEARCH_COLUMNS}) VALUES ('delete', {OLD}); "
    f"INSERT INTO vm_search(rowid, {SEARCH_COLUMNS}) VALUES ({NEW}); END",
]


def _name(table: str, column: str, referred: str) -> str:
    return f"fk_{table}_{column}_{referred}"


def _sqlite() -> bool:
    return op.get_context().dialect.name == "sqlite"


def upgrade() -> None:
    for table, keys in FOREIGN_KEYS.items():
        with op.batch_alter_table(table, recreate="always" if _sqlite() else "auto") as batch:
            for column, referred, _ in keys:
                batch.drop_constraint(_name(table, column, referred), type_="foreignkey")
    if _sqlite():
        for statement in SQLITE_SEARCH_TRIGGERS:
            op.execute(statement)
    op.drop_index("ix_changes_sync_run_id", "changes")


def downgrade() -> None:
    op.create_index("ix_changes_sync_run_id", "changes", ["sync_run_id"])
    for table, keys in reversed(FOREIGN_KEYS.items()):
        with op.batch_alter_table(table, recreate="always" if _sqlite() else "auto") as batch:
            for column, referred, ondelete in keys:
                batch.create_foreign_key(
                    _name(table, column, referred), referred, [column], ["id"], ondelete=ondelete
                )
    if _sqlite():
        for statement in SQLITE_SEARCH_TRIGGERS:
            op.execute(statement)
