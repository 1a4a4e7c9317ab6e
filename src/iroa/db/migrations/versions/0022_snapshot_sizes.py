"""Snapshot sizes: what each VM snapshot holds on disk (``vm_snapshots.vmsn_bytes`` and
``size_bytes``), read from vCenter's ``layoutEx``.

Revision ID: 0022
Revises: 0021
Create Date: 2026-12-04
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0022"
down_revision: str | None = "0021"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_COLUMNS = ("vmsn_bytes", "size_bytes")

# Not batch operations: SQLite would rebuild the table (in place, as 0017 does).


def upgrade() -> None:
    for name in _COLUMNS:
        op.add_column("vm_snapshots", sa.Column(name, sa.BigInteger(), nullable=True))


def downgrade() -> None:
    for name in reversed(_COLUMNS):
        op.execute(f"ALTER TABLE vm_snapshots DROP COLUMN {name}")
