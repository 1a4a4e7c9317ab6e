"""Login throttling: one counted row per (username, client network), replacing a row per failure.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-04
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import iroa.db.base

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "login_throttles",
        sa.Column("username", sa.String(length=150), nullable=False),
        sa.Column("client", sa.String(length=64), nullable=False),
        sa.Column("window_start", iroa.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("username", "client", name=op.f("pk_login_throttles")),
    )
    op.create_index(
        "ix_login_throttles_window_start", "login_throttles", ["window_start"], unique=False
    )
    # Failures counted the old way are at most five minutes' worth: they are not carried over.
    op.drop_index("ix_login_failures_username_failed_at", table_name="login_failures")
    op.drop_table("login_failures")


def downgrade() -> None:
    op.create_table(
        "login_failures",
        sa.Column(
            "id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("username", sa.String(length=150), nullable=False),
        sa.Column("failed_at", iroa.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_login_failures")),
    )
    op.create_index(
        "ix_login_failures_username_failed_at",
        "login_failures",
        ["username", "failed_at"],
        unique=False,
    )
    op.drop_index("ix_login_throttles_window_start", table_name="login_throttles")
    op.drop_table("login_throttles")
