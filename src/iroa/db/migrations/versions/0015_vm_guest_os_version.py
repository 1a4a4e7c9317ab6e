"""VMs: the guest OS version, as the guest reports it (Hyper-V's key-value exchange).

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-04
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0015"
down_revision: str | None = "0014"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("vms", sa.Column("guest_os_version", sa.String(length=200), nullable=True))


def downgrade() -> None:
    # Not a batch operation: SQLite would rebuild the table and lose its search triggers.
    op.execute("ALTER TABLE vms DROP COLUMN guest_os_version")
