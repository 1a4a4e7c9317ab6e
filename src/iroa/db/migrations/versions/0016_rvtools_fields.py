"""Columns RVTools' sheets show: a VM's guest OS per VMware Tools, guest state, connection state,
heartbeat, firmware, configuration file, video card; a disk's unit number, raw mapping,
sharing, eager zeroing and UUID.

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-04
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0016"
down_revision: str | None = "0015"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


VM_COLUMNS = [
    sa.Column("tools_guest_os", sa.String(length=500), nullable=True),
    sa.Column("guest_state", sa.String(length=32), nullable=True),
    sa.Column("connection_state", sa.String(length=32), nullable=True),
    sa.Column("heartbeat", sa.String(length=32), nullable=True),
    sa.Column("firmware", sa.String(length=16), nullable=True),
    sa.Column("config_path", sa.String(length=2000), nullable=True),
    sa.Column("video_ram_kib", sa.BigInteger(), nullable=True),
    sa.Column("num_monitors", sa.Integer(), nullable=True),
]
DISK_COLUMNS = [
    sa.Column("unit_number", sa.Integer(), nullable=True),
    sa.Column("raw", sa.Boolean(), nullable=True),
    sa.Column("raw_compatibility_mode", sa.String(length=32), nullable=True),
    sa.Column("sharing", sa.String(length=32), nullable=True),
    sa.Column("eagerly_scrub", sa.Boolean(), nullable=True),
    sa.Column("disk_uuid", sa.String(length=64), nullable=True),
]
# Not batch operations: SQLite would rebuild the VMs' table and lose its search triggers.


def upgrade() -> None:
    for column in VM_COLUMNS:
        op.add_column("vms", column)
    for column in DISK_COLUMNS:
        op.add_column("vm_disks", column)


def downgrade() -> None:
    for table, columns in (("vm_disks", DISK_COLUMNS), ("vms", VM_COLUMNS)):
        for column in reversed(columns):
            op.execute(f"ALTER TABLE {table} DROP COLUMN {column.name}")
