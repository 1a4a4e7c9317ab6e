"""When a full sync last read an integration's usage figures (``integrations.usage_read_at``): a
sync leaves the latest figures that did not change as they are, so a row's own time is that of
the run that last wrote it, and the figures were read at the later of the two.

Revision ID: 0024
Revises: 0023
Create Date: 2026-12-04
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from iroa.db.base import UTCDateTime

revision: str = "0024"
down_revision: str | None = "0023"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Not a batch operation: in place on SQLite, like the other added columns.


def upgrade() -> None:
    op.add_column("integrations", sa.Column("usage_read_at", UTCDateTime(timezone=True), nullable=True))
    # Left empty: until now every row was written by the run that read it, so its own time
    # is when its figures were read.


def downgrade() -> None:
    op.execute("ALTER TABLE integrations DROP COLUMN usage_read_at")
