"""Monitoring: Prometheus metrics per object, Zabbix hosts, their links to objects and problems.

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-26
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from sqlalchemy.dialects import postgresql

import iroa.db.base

revision: str = '0008'
down_revision: str | None = '0007'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('monitoring_metrics',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('integration_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('sync_run_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('object_type', sa.String(length=16), nullable=False),
    sa.Column('object_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('metric', sa.String(length=32), nullable=False),
    sa.Column('value', sa.Float(), nullable=True),
    sa.Column('sampled_at', iroa.db.base.UTCDateTime(timezone=True), nullable=True),
    sa.Column('history', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('series_key', sa.String(length=500), nullable=False),
    sa.Column('collected_at', iroa.db.base.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['integration_id'], ['integrations.id'], name=op.f('fk_monitoring_metrics_integration_id_integrations'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['sync_run_id'], ['sync_runs.id'], name=op.f('fk_monitoring_metrics_sync_run_id_sync_runs'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_monitoring_metrics')),
    sa.UniqueConstraint('integration_id', 'object_type', 'object_id', 'metric', name=op.f('uq_monitoring_metrics_integration_id_object_type_object_id_metric'))
    )
    with op.batch_alter_table('monitoring_metrics', schema=None) as batch_op:
        batch_op.create_index('ix_monitoring_metrics_object', ['object_type', 'object_id'], unique=False)

    op.create_table('monitoring_zabbix_hosts',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('integration_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('sync_run_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('zabbix_host_id', sa.String(length=64), nullable=False),
    sa.Column('host', sa.String(length=500), nullable=False),
    sa.Column('name', sa.String(length=500), nullable=False),
    sa.Column('enabled', sa.Boolean(), nullable=False),
    sa.Column('availability', sa.String(length=16), nullable=False),
    sa.Column('dns', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('ips', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('url', sa.Text(), nullable=False),
    sa.Column('matched', sa.Boolean(), nullable=False),
    sa.Column('problem_count', sa.Integer(), nullable=False),
    sa.Column('max_severity', sa.Integer(), nullable=True),
    sa.Column('collected_at', iroa.db.base.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['integration_id'], ['integrations.id'], name=op.f('fk_monitoring_zabbix_hosts_integration_id_integrations'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['sync_run_id'], ['sync_runs.id'], name=op.f('fk_monitoring_zabbix_hosts_sync_run_id_sync_runs'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_monitoring_zabbix_hosts')),
    sa.UniqueConstraint('integration_id', 'zabbix_host_id', name=op.f('uq_monitoring_zabbix_hosts_integration_id_zabbix_host_id'))
    )
    op.create_table('monitoring_zabbix_links',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('integration_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('zabbix_host_row_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('object_type', sa.String(length=16), nullable=False),
    sa.Column('object_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('matched_by', sa.String(length=16), nullable=False),
    sa.ForeignKeyConstraint(['integration_id'], ['integrations.id'], name=op.f('fk_monitoring_zabbix_links_integration_id_integrations'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['zabbix_host_row_id'], ['monitoring_zabbix_hosts.id'], name=op.f('fk_monitoring_zabbix_links_zabbix_host_row_id_monitoring_zabbix_hosts'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_monitoring_zabbix_links')),
    sa.UniqueConstraint('zabbix_host_row_id', 'object_type', 'object_id', name=op.f('uq_monitoring_zabbix_links_zabbix_host_row_id_object_type_object_id'))
    )
    with op.batch_alter_table('monitoring_zabbix_links', schema=None) as batch_op:
        batch_op.create_index('ix_monitoring_zabbix_links_object', ['object_type', 'object_id'], unique=False)

    op.create_table('monitoring_zabbix_problems',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('integration_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('zabbix_host_row_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('event_id', sa.String(length=64), nullable=False),
    sa.Column('name', sa.Text(), nullable=False),
    sa.Column('severity', sa.Integer(), nullable=False),
    sa.Column('started_at', iroa.db.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('acknowledged', sa.Boolean(), nullable=False),
    sa.ForeignKeyConstraint(['integration_id'], ['integrations.id'], name=op.f('fk_monitoring_zabbix_problems_integration_id_integrations'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['zabbix_host_row_id'], ['monitoring_zabbix_hosts.id'], name=op.f('fk_monitoring_zabbix_problems_zabbix_host_row_id_monitoring_zabbix_hosts'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_monitoring_zabbix_problems'))
    )
    with op.batch_alter_table('monitoring_zabbix_problems', schema=None) as batch_op:
        batch_op.create_index('ix_monitoring_zabbix_problems_host', ['zabbix_host_row_id'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('monitoring_zabbix_problems', schema=None) as batch_op:
        batch_op.drop_index('ix_monitoring_zabbix_problems_host')

    op.drop_table('monitoring_zabbix_problems')
    with op.batch_alter_table('monitoring_zabbix_links', schema=None) as batch_op:
        batch_op.drop_index('ix_monitoring_zabbix_links_object')

    op.drop_table('monitoring_zabbix_links')
    op.drop_table('monitoring_zabbix_hosts')
    with op.batch_alter_table('monitoring_metrics', schema=None) as batch_op:
        batch_op.drop_index('ix_monitoring_metrics_object')

    op.drop_table('monitoring_metrics')
