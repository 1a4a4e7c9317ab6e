"""Orphaned disks (``orphaned_disks``): the virtual disk files a full sync's search of a
vCenter's datastores found that no VM uses.

Revision ID: 0025
Revises: 0024
Create Date: 2026-12-04
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0025"
down_revision: str | None = "0024"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "orphaned_disks",
        sa.Column("id", ID, nullable=False),
        sa.Column("integration_id", ID, nullable=False),
        sa.Column("datastore_external_id", sa.String(500), nullable=False),
        sa.Column("path", sa.String(2000), nullable=False),
        sa.Column("size_bytes", sa.BigInteger(), nullable=True),
        sa.Column("first_seen_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_orphaned_disks")),
    )
    op.create_index(
        "ix_orphaned_disks_datastore",
        "orphaned_disks",
        ["integration_id", "datastore_external_id", "path"],
    )


def downgrade() -> None:
    op.drop_index("ix_orphaned_disks_datastore", table_name="orphaned_disks")
    op.drop_table("orphaned_disks")
