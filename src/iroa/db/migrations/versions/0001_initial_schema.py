"""Initial schema: integrations, inventory, sync runs, changes and summaries.

Revision ID: 0001
Revises: 
Create Date: 2026-11-26
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from sqlalchemy.dialects import postgresql

import iroa.db.base

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:

    op.create_table('integrations',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('kind', sa.String(length=32), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('url', sa.String(length=2000), nullable=False),
    sa.Column('username', sa.String(length=500), nullable=True),
    sa.Column('secret_encrypted', sa.Text(), nullable=True),
    sa.Column('options', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('interval_seconds', sa.Integer(), nullable=True),
    sa.Column('enabled', sa.Boolean(), nullable=False),
    sa.Column('last_success_at', iroa.db.base.UTCDateTime(timezone=True), nullable=True),
    sa.Column('created_at', iroa.db.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', iroa.db.base.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_integrations')),
    sa.UniqueConstraint('name', name=op.f('uq_integrations_name'))
    )
    op.create_table('datacenters',
    sa.Column('name', sa.String(length=500), nullable=False),
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('external_id', sa.String(length=500), nullable=False),
    sa.Column('first_seen_at', iroa.db.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('last_seen_at', iroa.db.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('removed_at', iroa.db.base.UTCDateTime(timezone=True), nullable=True),
    sa.Column('integration_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.ForeignKeyConstraint(['integration_id'], ['integrations.id'], name=op.f('fk_datacenters_integration_id_integrations'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_datacenters'))
    )
    with op.batch_alter_table('datacenters', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_datacenters_name'), ['name'], unique=False)
        batch_op.create_index('uq_datacenters_integration_id_external_id', ['integration_id', 'external_id'], unique=True)

    op.create_table('sync_runs',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('integration_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('trigger', sa.String(length=16), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('forced', sa.Boolean(), nullable=False),
    sa.Column('started_at', iroa.db.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('finished_at', iroa.db.base.UTCDateTime(timezone=True), nullable=True),
    sa.Column('pid', sa.Integer(), nullable=True),
    sa.Column('hostname', sa.String(length=255), nullable=True),
    sa.Column('source', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=True),
    sa.Column('totals', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('counts', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('added', sa.Integer(), nullable=False),
    sa.Column('modified', sa.Integer(), nullable=False),
    sa.Column('removed', sa.Integer(), nullable=False),
    sa.Column('error', sa.Text(), nullable=True),
    sa.ForeignKeyConstraint(['integration_id'], ['integrations.id'], name=op.f('fk_sync_runs_integration_id_integrations'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_sync_runs'))
    )
    with op.batch_alter_table('sync_runs', schema=None) as batch_op:
        batch_op.create_index('ix_sync_runs_integration_id_started_at', ['integration_id', 'started_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_sync_runs_status'), ['status'], unique=False)

    op.create_table('tags',
    sa.Column('object_type', sa.String(length=32), nullable=False),
    sa.Column('object_external_id', sa.String(length=500), nullable=False),
    sa.Column('kind', sa.String(length=32), nullable=False),
    sa.Column('key', sa.String(length=500), nullable=False),
    sa.Column('value', sa.Text(), nullable=True),
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('external_id', sa.String(length=500), nullable=False),
    sa.Column('first_seen_at', iroa.db.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('last_seen_at', iroa.db.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('removed_at', iroa.db.base.UTCDateTime(timezone=True), nullable=True),
    sa.Column('integration_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.ForeignKeyConstraint(['integration_id'], ['integrations.id'], name=op.f('fk_tags_integration_id_integrations'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_tags'))
    )
    with op.batch_alter_table('tags', schema=None) as batch_op:
        batch_op.create_index('uq_tags_integration_id_external_id', ['integration_id', 'external_id'], unique=True)

    op.create_table('changes',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('sync_run_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('integration_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('changed_at', iroa.db.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('object_type', sa.String(length=32), nullable=False),
    sa.Column('object_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('external_id', sa.String(length=500), nullable=False),
    sa.Column('object_name', sa.String(length=500), nullable=True),
    sa.Column('action', sa.String(length=16), nullable=False),
    sa.Column('fields', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=True),
    sa.ForeignKeyConstraint(['integration_id'], ['integrations.id'], name=op.f('fk_changes_integration_id_integrations'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['sync_run_id'], ['sync_runs.id'], name=op.f('fk_changes_sync_run_id_sync_runs'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_changes'))
    )
    with op.batch_alter_table('changes', schema=None) as batch_op:
        batch_op.create_index('ix_changes_integration_id_changed_at', ['integration_id', 'changed_at'], unique=False)
        batch_op.create_index('ix_changes_object_type_object_id', ['object_type', 'object_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_changes_sync_run_id'), ['sync_run_id'], unique=False)

    op.create_table('clusters',
    sa.Column('name', sa.String(length=500), nullable=False),
    sa.Column('datacenter_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('host_count', sa.Integer(), nullable=True),
    sa.Column('cpu_total_mhz', sa.BigInteger(), nullable=True),
    sa.Column('cpu_cores', sa.Integer(), nullable=True),
    sa.Column('cpu_threads', sa.Integer(), nullable=True),
    sa.Column('memory_total_mib', sa.BigInteger(), nullable=True),
    sa.Column('ha_enabled', sa.Boolean(), nullable=True),
    sa.Column('drs_enabled', sa.Boolean(), nullable=True),
    sa.Column('drs_behavior', sa.String(length=64), nullable=True),
    sa.Column('overall_status', sa.String(length=32), nullable=True),
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('external_id', sa.String(length=500), nullable=False),
    sa.Column('first_seen_at', iroa.db.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('last_seen_at', iroa.db.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('removed_at', iroa.db.base.UTCDateTime(timezone=True), nullable=True),
    sa.Column('integration_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.ForeignKeyConstraint(['datacenter_id'], ['datacenters.id'], name=op.f('fk_clusters_datacenter_id_datacenters'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['integration_id'], ['integrations.id'], name=op.f('fk_clusters_integration_id_integrations'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_clusters'))
    )
    with op.batch_alter_table('clusters', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_clusters_datacenter_id'), ['datacenter_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_clusters_name'), ['name'], unique=False)
        batch_op.create_index('uq_clusters_integration_id_external_id', ['integration_id', 'external_id'], unique=True)

    op.create_table('networks',
    sa.Column('name', sa.String(length=500), nullable=False),
    sa.Column('datacenter_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('type', sa.String(length=32), nullable=True),
    sa.Column('vlan_id', sa.Integer(), nullable=True),
    sa.Column('vlan', sa.String(length=200), nullable=True),
    sa.Column('switch_name', sa.String(length=500), nullable=True),
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('external_id', sa.String(length=500), nullable=False),
    sa.Column('first_seen_at', iroa.db.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('last_seen_at', iroa.db.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('removed_at', iroa.db.base.UTCDateTime(timezone=True), nullable=True),
    sa.Column('integration_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.ForeignKeyConstraint(['datacenter_id'], ['datacenters.id'], name=op.f('fk_networks_datacenter_id_datacenters'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['integration_id'], ['integrations.id'], name=op.f('fk_networks_integration_id_integrations'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_networks'))
    )
    with op.batch_alter_table('networks', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_networks_datacenter_id'), ['datacenter_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_networks_name'), ['name'], unique=False)
        batch_op.create_index('uq_networks_integration_id_external_id', ['integration_id', 'external_id'], unique=True)

    op.create_table('summaries',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('sync_run_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('integration_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('taken_at', iroa.db.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('datacenters', sa.Integer(), nullable=False),
    sa.Column('clusters', sa.Integer(), nullable=False),
    sa.Column('hosts', sa.Integer(), nullable=False),
    sa.Column('datastores', sa.Integer(), nullable=False),
    sa.Column('networks', sa.Integer(), nullable=False),
    sa.Column('vms', sa.Integer(), nullable=False),
    sa.Column('vms_on', sa.Integer(), nullable=False),
    sa.Column('vms_off', sa.Integer(), nullable=False),
    sa.Column('vms_suspended', sa.Integer(), nullable=False),
    sa.Column('templates', sa.Integer(), nullable=False),
    sa.Column('vcpus', sa.Integer(), nullable=False),
    sa.Column('vcpus_on', sa.Integer(), nullable=False),
    sa.Column('vm_memory_mib', sa.BigInteger(), nullable=False),
    sa.Column('vm_memory_on_mib', sa.BigInteger(), nullable=False),
    sa.Column('host_cpu_cores', sa.Integer(), nullable=False),
    sa.Column('host_cpu_threads', sa.Integer(), nullable=False),
    sa.Column('host_memory_mib', sa.BigInteger(), nullable=False),
    sa.Column('storage_capacity_bytes', sa.BigInteger(), nullable=False),
    sa.Column('storage_free_bytes', sa.BigInteger(), nullable=False),
    sa.Column('storage_used_bytes', sa.BigInteger(), nullable=False),
    sa.Column('vm_provisioned_bytes', sa.BigInteger(), nullable=False),
    sa.Column('vcpu_per_core', sa.Float(), nullable=True),
    sa.Column('memory_overcommit', sa.Float(), nullable=True),
    sa.ForeignKeyConstraint(['integration_id'], ['integrations.id'], name=op.f('fk_summaries_integration_id_integrations'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['sync_run_id'], ['sync_runs.id'], name=op.f('fk_summaries_sync_run_id_sync_runs'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_summaries')),
    sa.UniqueConstraint('sync_run_id', name=op.f('uq_summaries_sync_run_id'))
    )
    with op.batch_alter_table('summaries', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_summaries_integration_id'), ['integration_id'], unique=False)

    op.create_table('datastores',
    sa.Column('name', sa.String(length=500), nullable=False),
    sa.Column('datacenter_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('cluster_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('type', sa.String(length=32), nullable=True),
    sa.Column('url', sa.String(length=2000), nullable=True),
    sa.Column('capacity_bytes', sa.BigInteger(), nullable=True),
    sa.Column('free_bytes', sa.BigInteger(), nullable=True),
    sa.Column('provisioned_bytes', sa.BigInteger(), nullable=True),
    sa.Column('accessible', sa.Boolean(), nullable=True),
    sa.Column('maintenance_mode', sa.String(length=32), nullable=True),
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('external_id', sa.String(length=500), nullable=False),
    sa.Column('first_seen_at', iroa.db.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('last_seen_at', iroa.db.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('removed_at', iroa.db.base.UTCDateTime(timezone=True), nullable=True),
    sa.Column('integration_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.ForeignKeyConstraint(['cluster_id'], ['clusters.id'], name=op.f('fk_datastores_cluster_id_clusters'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['datacenter_id'], ['datacenters.id'], name=op.f('fk_datastores_datacenter_id_datacenters'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['integration_id'], ['integrations.id'], name=op.f('fk_datastores_integration_id_integrations'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_datastores'))
    )
    with op.batch_alter_table('datastores', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_datastores_cluster_id'), ['cluster_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_datastores_datacenter_id'), ['datacenter_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_datastores_name'), ['name'], unique=False)
        batch_op.create_index('uq_datastores_integration_id_external_id', ['integration_id', 'external_id'], unique=True)

    op.create_table('hosts',
    sa.Column('name', sa.String(length=500), nullable=False),
    sa.Column('datacenter_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('cluster_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('vendor', sa.String(length=200), nullable=True),
    sa.Column('model', sa.String(length=200), nullable=True),
    sa.Column('serial_number', sa.String(length=200), nullable=True),
    sa.Column('cpu_model', sa.String(length=200), nullable=True),
    sa.Column('cpu_sockets', sa.Integer(), nullable=True),
    sa.Column('cpu_cores', sa.Integer(), nullable=True),
    sa.Column('cpu_threads', sa.Integer(), nullable=True),
    sa.Column('cpu_mhz', sa.Integer(), nullable=True),
    sa.Column('memory_mib', sa.BigInteger(), nullable=True),
    sa.Column('hypervisor_name', sa.String(length=200), nullable=True),
    sa.Column('hypervisor_version', sa.String(length=64), nullable=True),
    sa.Column('hypervisor_build', sa.String(length=64), nullable=True),
    sa.Column('connection_state', sa.String(length=32), nullable=True),
    sa.Column('power_state', sa.String(length=32), nullable=True),
    sa.Column('in_maintenance', sa.Boolean(), nullable=True),
    sa.Column('boot_time', iroa.db.base.UTCDateTime(timezone=True), nullable=True),
    sa.Column('overall_status', sa.String(length=32), nullable=True),
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('external_id', sa.String(length=500), nullable=False),
    sa.Column('first_seen_at', iroa.db.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('last_seen_at', iroa.db.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('removed_at', iroa.db.base.UTCDateTime(timezone=True), nullable=True),
    sa.Column('integration_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.ForeignKeyConstraint(['cluster_id'], ['clusters.id'], name=op.f('fk_hosts_cluster_id_clusters'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['datacenter_id'], ['datacenters.id'], name=op.f('fk_hosts_datacenter_id_datacenters'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['integration_id'], ['integrations.id'], name=op.f('fk_hosts_integration_id_integrations'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_hosts'))
    )
    with op.batch_alter_table('hosts', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_hosts_cluster_id'), ['cluster_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_hosts_datacenter_id'), ['datacenter_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_hosts_name'), ['name'], unique=False)
        batch_op.create_index('uq_hosts_integration_id_external_id', ['integration_id', 'external_id'], unique=True)

    op.create_table('vms',
    sa.Column('name', sa.String(length=500), nullable=False),
    sa.Column('datacenter_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('cluster_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('host_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('power_state', sa.String(length=16), nullable=False),
    sa.Column('is_template', sa.Boolean(), nullable=False),
    sa.Column('num_cpu', sa.Integer(), nullable=True),
    sa.Column('cores_per_socket', sa.Integer(), nullable=True),
    sa.Column('memory_mib', sa.BigInteger(), nullable=True),
    sa.Column('memory_assigned_mib', sa.BigInteger(), nullable=True),
    sa.Column('guest_os', sa.String(length=500), nullable=True),
    sa.Column('guest_id', sa.String(length=200), nullable=True),
    sa.Column('guest_hostname', sa.String(length=500), nullable=True),
    sa.Column('ip_addresses', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('tools_status', sa.String(length=64), nullable=True),
    sa.Column('tools_version', sa.String(length=64), nullable=True),
    sa.Column('uuid', sa.String(length=64), nullable=True),
    sa.Column('instance_uuid', sa.String(length=64), nullable=True),
    sa.Column('resource_pool', sa.String(length=2000), nullable=True),
    sa.Column('folder', sa.String(length=2000), nullable=True),
    sa.Column('notes', sa.Text(), nullable=True),
    sa.Column('hardware_version', sa.String(length=32), nullable=True),
    sa.Column('generation', sa.Integer(), nullable=True),
    sa.Column('provisioned_bytes', sa.BigInteger(), nullable=True),
    sa.Column('used_bytes', sa.BigInteger(), nullable=True),
    sa.Column('created_at', iroa.db.base.UTCDateTime(timezone=True), nullable=True),
    sa.Column('boot_time', iroa.db.base.UTCDateTime(timezone=True), nullable=True),
    sa.Column('overall_status', sa.String(length=32), nullable=True),
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('external_id', sa.String(length=500), nullable=False),
    sa.Column('first_seen_at', iroa.db.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('last_seen_at', iroa.db.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('removed_at', iroa.db.base.UTCDateTime(timezone=True), nullable=True),
    sa.Column('integration_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.ForeignKeyConstraint(['cluster_id'], ['clusters.id'], name=op.f('fk_vms_cluster_id_clusters'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['datacenter_id'], ['datacenters.id'], name=op.f('fk_vms_datacenter_id_datacenters'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['host_id'], ['hosts.id'], name=op.f('fk_vms_host_id_hosts'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['integration_id'], ['integrations.id'], name=op.f('fk_vms_integration_id_integrations'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_vms'))
    )
    with op.batch_alter_table('vms', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_vms_cluster_id'), ['cluster_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_vms_datacenter_id'), ['datacenter_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_vms_host_id'), ['host_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_vms_name'), ['name'], unique=False)
        batch_op.create_index(batch_op.f('ix_vms_power_state'), ['power_state'], unique=False)
        batch_op.create_index(batch_op.f('ix_vms_uuid'), ['uuid'], unique=False)
        batch_op.create_index('uq_vms_integration_id_external_id', ['integration_id', 'external_id'], unique=True)

    op.create_table('vm_datastores',
    sa.Column('vm_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('datastore_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('external_id', sa.String(length=500), nullable=False),
    sa.Column('first_seen_at', iroa.db.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('last_seen_at', iroa.db.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('removed_at', iroa.db.base.UTCDateTime(timezone=True), nullable=True),
    sa.Column('integration_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.ForeignKeyConstraint(['datastore_id'], ['datastores.id'], name=op.f('fk_vm_datastores_datastore_id_datastores'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['integration_id'], ['integrations.id'], name=op.f('fk_vm_datastores_integration_id_integrations'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['vm_id'], ['vms.id'], name=op.f('fk_vm_datastores_vm_id_vms'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_vm_datastores'))
    )
    with op.batch_alter_table('vm_datastores', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_vm_datastores_datastore_id'), ['datastore_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_vm_datastores_vm_id'), ['vm_id'], unique=False)
        batch_op.create_index('uq_vm_datastores_integration_id_external_id', ['integration_id', 'external_id'], unique=True)

    op.create_table('vm_disks',
    sa.Column('vm_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('label', sa.String(length=200), nullable=False),
    sa.Column('datastore_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('capacity_bytes', sa.BigInteger(), nullable=True),
    sa.Column('file_path', sa.String(length=2000), nullable=True),
    sa.Column('thin_provisioned', sa.Boolean(), nullable=True),
    sa.Column('disk_mode', sa.String(length=64), nullable=True),
    sa.Column('controller', sa.String(length=200), nullable=True),
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('external_id', sa.String(length=500), nullable=False),
    sa.Column('first_seen_at', iroa.db.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('last_seen_at', iroa.db.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('removed_at', iroa.db.base.UTCDateTime(timezone=True), nullable=True),
    sa.Column('integration_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.ForeignKeyConstraint(['datastore_id'], ['datastores.id'], name=op.f('fk_vm_disks_datastore_id_datastores'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['integration_id'], ['integrations.id'], name=op.f('fk_vm_disks_integration_id_integrations'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['vm_id'], ['vms.id'], name=op.f('fk_vm_disks_vm_id_vms'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_vm_disks'))
    )
    with op.batch_alter_table('vm_disks', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_vm_disks_datastore_id'), ['datastore_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_vm_disks_vm_id'), ['vm_id'], unique=False)
        batch_op.create_index('uq_vm_disks_integration_id_external_id', ['integration_id', 'external_id'], unique=True)

    op.create_table('vm_networks',
    sa.Column('vm_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('network_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('external_id', sa.String(length=500), nullable=False),
    sa.Column('first_seen_at', iroa.db.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('last_seen_at', iroa.db.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('removed_at', iroa.db.base.UTCDateTime(timezone=True), nullable=True),
    sa.Column('integration_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.ForeignKeyConstraint(['integration_id'], ['integrations.id'], name=op.f('fk_vm_networks_integration_id_integrations'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['network_id'], ['networks.id'], name=op.f('fk_vm_networks_network_id_networks'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['vm_id'], ['vms.id'], name=op.f('fk_vm_networks_vm_id_vms'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_vm_networks'))
    )
    with op.batch_alter_table('vm_networks', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_vm_networks_network_id'), ['network_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_vm_networks_vm_id'), ['vm_id'], unique=False)
        batch_op.create_index('uq_vm_networks_integration_id_external_id', ['integration_id', 'external_id'], unique=True)

    op.create_table('vm_nics',
    sa.Column('vm_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('label', sa.String(length=200), nullable=False),
    sa.Column('network_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('network_name', sa.String(length=500), nullable=True),
    sa.Column('mac_address', sa.String(length=32), nullable=True),
    sa.Column('adapter_type', sa.String(length=64), nullable=True),
    sa.Column('connected', sa.Boolean(), nullable=True),
    sa.Column('ip_addresses', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('external_id', sa.String(length=500), nullable=False),
    sa.Column('first_seen_at', iroa.db.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('last_seen_at', iroa.db.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('removed_at', iroa.db.base.UTCDateTime(timezone=True), nullable=True),
    sa.Column('integration_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.ForeignKeyConstraint(['integration_id'], ['integrations.id'], name=op.f('fk_vm_nics_integration_id_integrations'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['network_id'], ['networks.id'], name=op.f('fk_vm_nics_network_id_networks'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['vm_id'], ['vms.id'], name=op.f('fk_vm_nics_vm_id_vms'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_vm_nics'))
    )
    with op.batch_alter_table('vm_nics', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_vm_nics_mac_address'), ['mac_address'], unique=False)
        batch_op.create_index(batch_op.f('ix_vm_nics_network_id'), ['network_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_vm_nics_vm_id'), ['vm_id'], unique=False)
        batch_op.create_index('uq_vm_nics_integration_id_external_id', ['integration_id', 'external_id'], unique=True)

    op.create_table('vm_snapshots',
    sa.Column('vm_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('name', sa.String(length=500), nullable=False),
    sa.Column('description', sa.Text(), nullable=True),
    sa.Column('created_at', iroa.db.base.UTCDateTime(timezone=True), nullable=True),
    sa.Column('parent_external_id', sa.String(length=500), nullable=True),
    sa.Column('is_current', sa.Boolean(), nullable=True),
    sa.Column('power_state', sa.String(length=16), nullable=True),
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('external_id', sa.String(length=500), nullable=False),
    sa.Column('first_seen_at', iroa.db.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('last_seen_at', iroa.db.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('removed_at', iroa.db.base.UTCDateTime(timezone=True), nullable=True),
    sa.Column('integration_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.ForeignKeyConstraint(['integration_id'], ['integrations.id'], name=op.f('fk_vm_snapshots_integration_id_integrations'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['vm_id'], ['vms.id'], name=op.f('fk_vm_snapshots_vm_id_vms'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_vm_snapshots'))
    )
    with op.batch_alter_table('vm_snapshots', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_vm_snapshots_vm_id'), ['vm_id'], unique=False)
        batch_op.create_index('uq_vm_snapshots_integration_id_external_id', ['integration_id', 'external_id'], unique=True)




def downgrade() -> None:

    with op.batch_alter_table('vm_snapshots', schema=None) as batch_op:
        batch_op.drop_index('uq_vm_snapshots_integration_id_external_id')
        batch_op.drop_index(batch_op.f('ix_vm_snapshots_vm_id'))

    op.drop_table('vm_snapshots')
    with op.batch_alter_table('vm_nics', schema=None) as batch_op:
        batch_op.drop_index('uq_vm_nics_integration_id_external_id')
        batch_op.drop_index(batch_op.f('ix_vm_nics_vm_id'))
        batch_op.drop_index(batch_op.f('ix_vm_nics_network_id'))
        batch_op.drop_index(batch_op.f('ix_vm_nics_mac_address'))

    op.drop_table('vm_nics')
    with op.batch_alter_table('vm_networks', schema=None) as batch_op:
        batch_op.drop_index('uq_vm_networks_integration_id_external_id')
        batch_op.drop_index(batch_op.f('ix_vm_networks_vm_id'))
        batch_op.drop_index(batch_op.f('ix_vm_networks_network_id'))

    op.drop_table('vm_networks')
    with op.batch_alter_table('vm_disks', schema=None) as batch_op:
        batch_op.drop_index('uq_vm_disks_integration_id_external_id')
        batch_op.drop_index(batch_op.f('ix_vm_disks_vm_id'))
        batch_op.drop_index(batch_op.f('ix_vm_disks_datastore_id'))

    op.drop_table('vm_disks')
    with op.batch_alter_table('vm_datastores', schema=None) as batch_op:
        batch_op.drop_index('uq_vm_datastores_integration_id_external_id')
        batch_op.drop_index(batch_op.f('ix_vm_datastores_vm_id'))
        batch_op.drop_index(batch_op.f('ix_vm_datastores_datastore_id'))

    op.drop_table('vm_datastores')
    with op.batch_alter_table('vms', schema=None) as batch_op:
        batch_op.drop_index('uq_vms_integration_id_external_id')
        batch_op.drop_index(batch_op.f('ix_vms_uuid'))
        batch_op.drop_index(batch_op.f('ix_vms_power_state'))
        batch_op.drop_index(batch_op.f('ix_vms_name'))
        batch_op.drop_index(batch_op.f('ix_vms_host_id'))
        batch_op.drop_index(batch_op.f('ix_vms_datacenter_id'))
        batch_op.drop_index(batch_op.f('ix_vms_cluster_id'))

    op.drop_table('vms')
    with op.batch_alter_table('hosts', schema=None) as batch_op:
        batch_op.drop_index('uq_hosts_integration_id_external_id')
        batch_op.drop_index(batch_op.f('ix_hosts_name'))
        batch_op.drop_index(batch_op.f('ix_hosts_datacenter_id'))
        batch_op.drop_index(batch_op.f('ix_hosts_cluster_id'))

    op.drop_table('hosts')
    with op.batch_alter_table('datastores', schema=None) as batch_op:
        batch_op.drop_index('uq_datastores_integration_id_external_id')
        batch_op.drop_index(batch_op.f('ix_datastores_name'))
        batch_op.drop_index(batch_op.f('ix_datastores_datacenter_id'))
        batch_op.drop_index(batch_op.f('ix_datastores_cluster_id'))

    op.drop_table('datastores')
    with op.batch_alter_table('summaries', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_summaries_integration_id'))

    op.drop_table('summaries')
    with op.batch_alter_table('networks', schema=None) as batch_op:
        batch_op.drop_index('uq_networks_integration_id_external_id')
        batch_op.drop_index(batch_op.f('ix_networks_name'))
        batch_op.drop_index(batch_op.f('ix_networks_datacenter_id'))

    op.drop_table('networks')
    with op.batch_alter_table('clusters', schema=None) as batch_op:
        batch_op.drop_index('uq_clusters_integration_id_external_id')
        batch_op.drop_index(batch_op.f('ix_clusters_name'))
        batch_op.drop_index(batch_op.f('ix_clusters_datacenter_id'))

    op.drop_table('clusters')
    with op.batch_alter_table('changes', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_changes_sync_run_id'))
        batch_op.drop_index('ix_changes_object_type_object_id')
        batch_op.drop_index('ix_changes_integration_id_changed_at')

    op.drop_table('changes')
    with op.batch_alter_table('tags', schema=None) as batch_op:
        batch_op.drop_index('uq_tags_integration_id_external_id')

    op.drop_table('tags')
    with op.batch_alter_table('sync_runs', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_sync_runs_status'))
        batch_op.drop_index('ix_sync_runs_integration_id_started_at')

    op.drop_table('sync_runs')
    with op.batch_alter_table('datacenters', schema=None) as batch_op:
        batch_op.drop_index('uq_datacenters_integration_id_external_id')
        batch_op.drop_index(batch_op.f('ix_datacenters_name'))

    op.drop_table('datacenters')
    op.drop_table('integrations')

