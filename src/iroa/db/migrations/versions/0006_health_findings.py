"""Health findings: one row per episode of a rule holding for an inventory object.

At most one open finding (``resolved_at IS NULL``) per integration, rule and
object, enforced by a partial unique index on both backends.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-26
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import iroa.db.base

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
OPEN = sa.text("resolved_at IS NULL")


def upgrade() -> None:
    op.create_table(
        "findings",
        sa.Column("id", ID, nullable=False),
        sa.Column("integration_id", ID, nullable=False),
        sa.Column("rule", sa.String(length=64), nullable=False),
        sa.Column("severity", sa.String(length=16), nullable=False),
        sa.Column("severity_level", sa.Integer(), nullable=False),
        sa.Column("object_type", sa.String(length=32), nullable=False),
        sa.Column("object_id", ID, nullable=False),
        sa.Column("object_external_id", sa.String(length=500), nullable=False),
        sa.Column("object_name", sa.String(length=500), nullable=True),
        sa.Column("message", sa.Text(), nullable=False),
        sa.Column("first_seen_at", iroa.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("last_seen_at", iroa.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("resolved_at", iroa.db.base.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["integration_id"],
            ["integrations.id"],
            name=op.f("fk_findings_integration_id_integrations"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_findings")),
    )
    with op.batch_alter_table("findings", schema=None) as batch_op:
        batch_op.create_index("ix_findings_integration_id", ["integration_id"], unique=False)
        batch_op.create_index(
            "ix_findings_object", ["object_type", "object_id", "resolved_at"], unique=False
        )
        batch_op.create_index(
            "ix_findings_resolved_at_severity_level_id",
            ["resolved_at", "severity_level", "id"],
            unique=False,
        )
        batch_op.create_index(
            "uq_findings_open",
            ["integration_id", "rule", "object_type", "object_id"],
            unique=True,
            sqlite_where=OPEN,
            postgresql_where=OPEN,
        )


def downgrade() -> None:
    op.drop_table("findings")
