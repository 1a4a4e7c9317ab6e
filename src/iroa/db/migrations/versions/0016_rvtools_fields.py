"""Columns RVTools' sheets show: a VM's guest OS per VMware Tools, guest state, connection state,
heartbeat, firmware, configuration file, video card; a disk's unit number, raw mapping,
sharing, eager zeroing and UUID.

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-04
"""

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op

revision: str = "0016"
down_revision: str | None = "0015"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


VM_COLUMNS: list[tuple[str, Any]] = [
    ("tools_guest_os", sa.String(length=500)),
    ("guest_state", sa.String(length=32)),
    ("connection_state", sa.String(length=32)),
    ("heartbeat", sa.String(length=32)),
    ("firmware", sa.String(length=16)),
    ("config_path", sa.String(length=2000)),
    ("video_ram_kib", sa.BigInteger()),
    ("num_monitors", sa.Integer()),
]
DISK_COLUMNS: list[tuple[str, Any]] = [
    ("unit_number", sa.Integer()),
    ("raw", sa.Boolean()),
    ("raw_compatibility_mode", sa.String(length=32)),
    ("sharing", sa.String(length=32)),
    ("eagerly_scrub", sa.Boolean()),
    ("disk_uuid", sa.String(length=64)),
]
# Not batch operations: SQLite would rebuild the VMs' table and lose its search triggers.


def upgrade() -> None:
    for table, columns in (("vms", VM_COLUMNS), ("vm_disks", DISK_COLUMNS)):
        for name, type_ in columns:
            op.add_column(table, sa.Column(name, type_, nullable=True))


def downgrade() -> None:
    for table, columns in (("vm_disks", DISK_COLUMNS), ("vms", VM_COLUMNS)):
        for name, _ in reversed(columns):
            op.execute(f"ALTER TABLE {table} DROP COLUMN {name}")
