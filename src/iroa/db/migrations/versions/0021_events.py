"""vCenter events, and who did each change: an ``events`` table and ``changes.actor``/``event``.

Revision ID: 0021
Revises: 0020
Create Date: 2026-12-04
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from iroa.db.base import UTCDateTime
from iroa.db.types import IdType

revision: str = "0021"
down_revision: str | None = "0020"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "events",
        sa.Column("id", IdType, primary_key=True),
        sa.Column("integration_id", IdType, nullable=False),
        sa.Column("event_key", sa.BigInteger(), nullable=False),
        sa.Column("created_at", UTCDateTime(timezone=True), nullable=False),
        sa.Column("event_type", sa.String(length=200), nullable=False),
        sa.Column("user_name", sa.String(length=500), nullable=True),
        sa.Column("object_type", sa.String(length=32), nullable=True),
        sa.Column("object_external_id", sa.String(length=500), nullable=True),
        sa.Column("object_name", sa.String(length=500), nullable=True),
        sa.Column("message", sa.Text(), nullable=True),
        sa.Column("chain_id", sa.BigInteger(), nullable=True),
        sa.UniqueConstraint(
            "integration_id", "event_key", name="uq_events_integration_id_event_key"
        ),
    )
    op.create_index(
        "ix_events_integration_id_object_created_at",
        "events",
        ["integration_id", "object_external_id", "created_at"],
    )
    op.create_index("ix_events_created_at_id", "events", ["created_at", "id"])
    # Not batch operations: in place, as 0016 does.
    op.add_column("changes", sa.Column("actor", sa.String(length=500), nullable=True))
    op.add_column("changes", sa.Column("event", sa.String(length=200), nullable=True))


def downgrade() -> None:
    op.execute("ALTER TABLE changes DROP COLUMN event")
    op.execute("ALTER TABLE changes DROP COLUMN actor")
    op.drop_index("ix_events_created_at_id", table_name="events")
    op.drop_index("ix_events_integration_id_object_created_at", table_name="events")
    op.drop_table("events")
