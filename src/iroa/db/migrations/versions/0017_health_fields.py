"""What the health rules read: whether a VM's disks need consolidation and its VMware Tools'
version status; a datastore's vCenter status; the datastores available to a host.

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-04
"""

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0017"
down_revision: str | None = "0016"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _columns() -> list[tuple[str, str, Any]]:
    """Built afresh on each run: a Column joins one table only."""
    return [
        ("vms", "consolidation_needed", sa.Boolean()),
        ("vms", "tools_version_status", sa.String(length=64)),
        ("datastores", "overall_status", sa.String(length=32)),
        ("hosts", "datastore_external_ids", sa.JSON().with_variant(postgresql.JSONB(), "postgresql")),
    ]


# Not batch operations: SQLite would rebuild the VMs' table and lose its search triggers.


def upgrade() -> None:
    for table, name, type_ in _columns():
        op.add_column(table, sa.Column(name, type_, nullable=True))


def downgrade() -> None:
    for table, name, _ in reversed(_columns()):
        op.execute(f"ALTER TABLE {table} DROP COLUMN {name}")
