"""On PostgreSQL, a partial index of present VMs, which counts a VM list's total.

Every page of the VM list carries the number of VMs that match it. Unfiltered,
that is every present VM: without this index PostgreSQL counts them by reading
the whole ``vms`` table (40 ms at 100,000 VMs on a small machine); with it, by
an index-only scan of about a tenth of the pages. SQLite already counts from
``ix_vms_removed_at_name_id`` and gets no such index.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-04
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    if op.get_context().dialect.name == "postgresql":
        op.execute("CREATE INDEX ix_vms_present ON vms (id) WHERE removed_at IS NULL")


def downgrade() -> None:
    if op.get_context().dialect.name == "postgresql":
        op.execute("DROP INDEX ix_vms_present")
