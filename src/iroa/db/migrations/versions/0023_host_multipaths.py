"""What RVTools' vMultiPath sheet shows: a host's storage LUNs with their multipathing policy
and paths (a JSON list, empty by default).

Revision ID: 0023
Revises: 0022
Create Date: 2026-12-04
"""

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0023"
down_revision: str | None = "0022"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _json() -> Any:
    return sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")


# Not a batch operation, as in 0016 and 0019: SQLite keeps its table (and triggers) as it is.


def upgrade() -> None:
    column = sa.Column("multipaths", _json(), nullable=False, server_default=sa.text("'[]'"))
    op.add_column("hosts", column)


def downgrade() -> None:
    op.execute("ALTER TABLE hosts DROP COLUMN multipaths")
