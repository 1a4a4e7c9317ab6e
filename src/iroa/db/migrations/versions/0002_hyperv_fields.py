"""Columns for Hyper-V: dynamic memory, clustered VMs, VHD format/type/size, file systems.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-26
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('datastores', schema=None) as batch_op:
        batch_op.add_column(sa.Column('file_system', sa.String(length=32), nullable=True))

    with op.batch_alter_table('vm_disks', schema=None) as batch_op:
        batch_op.add_column(sa.Column('used_bytes', sa.BigInteger(), nullable=True))
        batch_op.add_column(sa.Column('disk_format', sa.String(length=16), nullable=True))
        batch_op.add_column(sa.Column('disk_type', sa.String(length=32), nullable=True))

    with op.batch_alter_table('vms', schema=None) as batch_op:
        batch_op.add_column(sa.Column('memory_dynamic', sa.Boolean(), nullable=True))
        batch_op.add_column(sa.Column('memory_min_mib', sa.BigInteger(), nullable=True))
        batch_op.add_column(sa.Column('memory_max_mib', sa.BigInteger(), nullable=True))
        batch_op.add_column(sa.Column('is_clustered', sa.Boolean(), nullable=True))



def downgrade() -> None:
    with op.batch_alter_table('vms', schema=None) as batch_op:
        batch_op.drop_column('is_clustered')
        batch_op.drop_column('memory_max_mib')
        batch_op.drop_column('memory_min_mib')
        batch_op.drop_column('memory_dynamic')

    with op.batch_alter_table('vm_disks', schema=None) as batch_op:
        batch_op.drop_column('disk_type')
        batch_op.drop_column('disk_format')
        batch_op.drop_column('used_bytes')

    with op.batch_alter_table('datastores', schema=None) as batch_op:
        batch_op.drop_column('file_system')

