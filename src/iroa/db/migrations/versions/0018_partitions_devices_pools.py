"""A VM's guest partitions (RVTools' vPartition) and its CD/DVD drives and USB devices (vCD,
vUSB): two tables that grow with the VMs, without foreign keys like the others; and resource
pools (vRP), a small table with its keys.

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-04
"""

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op

revision: str = "0018"
down_revision: str | None = "0017"
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

_POOL_NUMBERS: list[tuple[str, Any]] = [
    ("cpu_reservation_mhz", sa.BigInteger()),
    ("cpu_limit_mhz", sa.BigInteger()),
    ("cpu_expandable", sa.Boolean()),
    ("cpu_shares_level", sa.String(length=16)),
    ("cpu_shares", sa.Integer()),
    ("memory_reservation_mib", sa.BigInteger()),
    ("memory_limit_mib", sa.BigInteger()),
    ("memory_expandable", sa.Boolean()),
    ("memory_shares_level", sa.String(length=16)),
    ("memory_shares", sa.Integer()),
    *(
        (f"{resource}_{usage}_{unit}", sa.BigInteger())
        for resource, unit in (("cpu", "mhz"), ("memory", "bytes"))
        for usage in (
            "max_usage",
            "reservation_used",
            "reservation_used_for_vm",
            "unreserved_for_pool",
            "unreserved_for_vm",
        )
    ),
]


def _create_pools() -> None:
    op.create_table(
        "resource_pools",
        sa.Column("name", sa.String(length=500), nullable=False),
        sa.Column("datacenter_id", _ID, nullable=True),
        sa.Column("cluster_id", _ID, nullable=True),
        sa.Column("path", sa.String(length=2000), nullable=True),
        sa.Column("overall_status", sa.String(length=32), nullable=True),
        *(sa.Column(name, type_, nullable=True) for name, type_ in _POOL_NUMBERS),
        sa.Column("id", _ID, nullable=False),
        sa.Column("external_id", sa.String(length=500), nullable=False),
        sa.Column("first_seen_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_seen_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("removed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("integration_id", _ID, nullable=False),
        sa.ForeignKeyConstraint(
            ["integration_id"],
            ["integrations.id"],
            name="fk_resource_pools_integration_id_integrations",
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["datacenter_id"],
            ["datacenters.id"],
            name="fk_resource_pools_datacenter_id_datacenters",
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["cluster_id"],
            ["clusters.id"],
            name="fk_resource_pools_cluster_id_clusters",
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name="pk_resource_pools"),
    )
    for column in ("name", "datacenter_id", "cluster_id"):
        op.create_index(f"ix_resource_pools_{column}", "resource_pools", [column], unique=False)
    op.create_index(
        "uq_resource_pools_integration_id_external_id",
        "resource_pools",
        ["integration_id", "external_id"],
        unique=True,
    )


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
    _create_pools()


def downgrade() -> None:
    op.drop_table("resource_pools")
    for table in reversed(TABLES):
        op.drop_index(f"uq_{table}_integration_id_external_id", table_name=table)
        op.drop_index(f"ix_{table}_vm_id", table_name=table)
        op.drop_table(table)
