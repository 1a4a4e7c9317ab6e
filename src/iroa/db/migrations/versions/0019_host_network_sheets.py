"""What RVTools' host network and storage sheets show: a host's physical NICs, standard
switches, port groups, VMkernel adapters and host bus adapters (JSON lists, empty by
default); a distributed port group's port policy and its switch's facts (JSON).

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-04
"""

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0019"
down_revision: str | None = "0018"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

HOST_COLUMNS = (
    "physical_nics",
    "virtual_switches",
    "portgroups",
    "vmkernel_nics",
    "host_bus_adapters",
)
NETWORK_COLUMNS = ("port_policy", "distributed_switch")


def _json() -> Any:
    return sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")


# Not batch operations, as in 0016: SQLite keeps its tables (and triggers) as they are.


def upgrade() -> None:
    for name in HOST_COLUMNS:
        column = sa.Column(name, _json(), nullable=False, server_default=sa.text("'[]'"))
        op.add_column("hosts", column)
    for name in NETWORK_COLUMNS:
        op.add_column("networks", sa.Column(name, _json(), nullable=True))


def downgrade() -> None:
    for name in reversed(NETWORK_COLUMNS):
        op.execute(f"ALTER TABLE networks DROP COLUMN {name}")
    for name in reversed(HOST_COLUMNS):
        op.execute(f"ALTER TABLE hosts DROP COLUMN {name}")
