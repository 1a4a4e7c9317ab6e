"""Columns RVTools' sheets show: a VM's guest OS per VMware Tools, guest state, connection state,
heartbeat, firmware, configuration file, video card; a disk's unit number, raw mapping,
sharing, eager zeroing and UUID.

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-04
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0013"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("vms", schema=None) as batch_op:
        batch_op.add_column(sa.Column("tools_guest_os", sa.String(length=500), nullable=True))
        batch_op.add_column(sa.Column("guest_state", sa.String(length=32), nullable=True))
        batch_op.add_column(sa.Column("connection_state", sa.String(length=32), nullable=True))
        batch_op.add_column(sa.Column("heartbeat", sa.String(length=32), nullable=True))
        batch_op.add_column(sa.Column("firmware", sa.String(length=16), nullable=True))
        batch_op.add_column(sa.Column("config_path", sa.String(length=2000), nullable=True))
        batch_op.add_column(sa.Column("video_ram_kib", sa.BigInteger(), nullable=True))
        batch_op.add_column(sa.Column("num_monitors", sa.Integer(), nullable=True))

    with op.batch_alter_table("vm_disks", schema=None) as batch_op:
        batch_op.add_column(sa.Column("unit_number", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("raw", sa.Boolean(), nullable=True))
        batch_op.add_column(
            sa.Column("raw_compatibility_mode", sa.String(length=32), nullable=True)
        )
        batch_op.add_column(sa.Column("sharing", sa.String(length=32), nullable=True))
        batch_op.add_column(sa.Column("eagerly_scrub", sa.Boolean(), nullable=True))
        batch_op.add_column(sa.Column("disk_uuid", sa.String(length=64), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("vm_disks", schema=None) as batch_op:
        for name in (
            "disk_uuid",
            "eagerly_scrub",
            "sharing",
            "raw_compatibility_mode",
            "raw",
            "unit_number",
        ):
            batch_op.drop_column(name)

    with op.batch_alter_table("vms", schema=None) as batch_op:
        for name in (
            "num_monitors",
            "video_ram_kib",
            "config_path",
            "firmware",
            "heartbeat",
            "connection_state",
            "guest_state",
            "tools_guest_os",
        ):
            batch_op.drop_column(name)
