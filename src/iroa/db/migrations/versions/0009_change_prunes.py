"""Change retention: each pruning of old change rows, and the history horizon it leaves.

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-26
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import iroa.db.base

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "change_prunes",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("pruned_at", iroa.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("horizon", iroa.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("deleted", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_change_prunes")),
    )
    with op.batch_alter_table("change_prunes", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_change_prunes_horizon"), ["horizon"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("change_prunes", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_change_prunes_horizon"))
    op.drop_table("change_prunes")
