"""Usage figures of VMs and hosts (vCenter ``summary.quickStats``): the latest per object, and
the last few full syncs' CPU use of running VMs for the idle VM finding. Neither table has
foreign keys: their rows are written in bulk and deleted with their integration explicitly.

Revision ID: 0020
Revises: 0019
Create Date: 2026-12-04
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0020"
down_revision: str | None = "0019"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "usage_latest",
        sa.Column("id", ID, nullable=False),
        sa.Column("integration_id", ID, nullable=False),
        sa.Column("object_type", sa.String(length=16), nullable=False),
        sa.Column("external_id", sa.String(length=500), nullable=False),
        sa.Column("run_id", ID, nullable=False),
        sa.Column("sampled_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("cpu_used_mhz", sa.Integer(), nullable=True),
        sa.Column("memory_used_mib", sa.Integer(), nullable=True),
        sa.Column("guest_memory_used_mib", sa.Integer(), nullable=True),
        sa.Column("host_memory_used_mib", sa.Integer(), nullable=True),
        sa.Column("uptime_s", sa.BigInteger(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_usage_latest")),
    )
    op.create_index(
        "uq_usage_latest_object",
        "usage_latest",
        ["integration_id", "object_type", "external_id"],
        unique=True,
    )
    op.create_table(
        "vm_cpu_samples",
        sa.Column("id", ID, nullable=False),
        sa.Column("integration_id", ID, nullable=False),
        sa.Column("run_id", ID, nullable=False),
        sa.Column("external_id", sa.String(length=500), nullable=False),
        sa.Column("cpu_used_mhz", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_vm_cpu_samples")),
    )
    op.create_index(
        "ix_vm_cpu_samples_integration_id_run_id",
        "vm_cpu_samples",
        ["integration_id", "run_id"],
    )
    op.create_index(
        "ix_vm_cpu_samples_integration_id_external_id",
        "vm_cpu_samples",
        ["integration_id", "external_id"],
    )


def downgrade() -> None:
    op.drop_table("vm_cpu_samples")
    op.drop_table("usage_latest")
