"""A VM's guest partitions (RVTools' vPartition) and its CD/DVD drives and USB devices (vCD,
vUSB): two tables that grow with the VMs, without foreign keys like the others.

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-04
"""

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op

revision: str = "0017"
down_revision: str | None = "0016"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def _columns(*data: sa.Column[Any]) -> list[sa.Column[Any]]:
    """A table's columns, built afresh on each call (a Column joins one table only)."""
    return [
        sa.Column("id", _ID, nullable=False),
        sa.Column("external_id", sa.String(length=500), nullable=False),
        sa.Column("first_seen_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_seen_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("removed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("integration_id", _ID, nullable=False),
        sa.Column("vm_id", _ID, nullable=True),
        *data,
    ]


def _partition_columns() -> list[sa.Column[Any]]:
    return [
        sa.Column("disk_path", sa.String(length=2000), nullable=False),
        sa.Column("capacity_bytes", sa.BigInteger(), nullable=True),
        sa.Column("free_bytes", sa.BigInteger(), nullable=True),
        sa.Column("disk_key", sa.Integer(), nullable=True),
    ]


def _device_columns() -> list[sa.Column[Any]]:
    return [
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("label", sa.String(length=200), nullable=False),
        sa.Column("connected", sa.Boolean(), nullable=True),
        sa.Column("start_connected", sa.Boolean(), nullable=True),
        sa.Column("device_type", sa.String(length=2000), nullable=True),
        sa.Column("unit_number", sa.Integer(), nullable=True),
        sa.Column("usb_family", sa.String(length=200), nullable=True),
        sa.Column("usb_speed", sa.String(length=200), nullable=True),
        sa.Column("ehci_enabled", sa.Boolean(), nullable=True),
        sa.Column("auto_connect", sa.Boolean(), nullable=True),
        sa.Column("bus_number", sa.Integer(), nullable=True),
    ]


TABLES = {"vm_partitions": _partition_columns, "vm_devices": _device_columns}


def upgrade() -> None:
    for table, data in TABLES.items():
        op.create_table(
            table, *_columns(*data()), sa.PrimaryKeyConstraint("id", name=f"pk_{table}")
        )
        op.create_index(f"ix_{table}_vm_id", table, ["vm_id"], unique=False)
        op.create_index(
            f"uq_{table}_integration_id_external_id",
            table,
            ["integration_id", "external_id"],
            unique=True,
        )


def downgrade() -> None:
    for table in reversed(TABLES):
        op.drop_index(f"uq_{table}_integration_id_external_id", table_name=table)
        op.drop_index(f"ix_{table}_vm_id", table_name=table)
        op.drop_table(table)
