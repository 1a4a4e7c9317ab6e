"""A small synced vCenter estate (real simulator) for the monitoring tests."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select

from iroa.connectors.base import ConnectionOptions
from iroa.connectors.vcenter.connector import VCenterConnector
from iroa.crypto import SecretBox
from iroa.db.engine import Database
from iroa.integrations.service import IntegrationInput, add_integration
from iroa.inventory.models import Host, Vm
from iroa.sync.engine import run_sync
from tests.peers import vsphere_ops as ops
from tests.peers.vcsim import Topology

TOPOLOGY = Topology(
    datacenters=1,
    clusters=1,
    hosts_per_cluster=1,
    standalone_hosts=1,
    vms_per_host=2,
    datastores=1,
    portgroups=1,
)
NAMED_VM = "DC0_H0_VM0"
"""Matched by its name."""
IP_VM = "DC0_C0_RP0_VM0"
IP_VM_ADDRESS = "10.20.30.40"
HOSTNAME_VM = "DC0_H0_VM1"
HOSTNAME_VM_FQDN = "web17.example.com"
LONELY_VM = "DC0_C0_RP0_VM1"
"""Never monitored by anything."""
MEASURED_HOST = "DC0_C0_H0"
"""The cluster's host: has Prometheus series and a Zabbix host, both by name."""


@dataclass
class Estate:
    integration_id: int
    vm_ids: dict[str, int]
    host_ids: dict[str, int]


def build_estate(db: Database, box: SecretBox, vcsim: Any) -> Estate:
    server = vcsim(TOPOLOGY)
    si = ops.connect(server)
    ops.set_guest_info(si, IP_VM, ip=IP_VM_ADDRESS)
    ops.set_guest_info(si, HOSTNAME_VM, hostname=HOSTNAME_VM_FQDN)
    integration_id = add_integration(
        db, box, IntegrationInput("vcenter", "vc", server.url, server.username, server.password)
    ).id
    connector = VCenterConnector(
        ConnectionOptions(url=server.url, username=server.username, password=server.password)
    )
    result = run_sync(db, integration_id, connector)
    assert result.succeeded, result.error
    with db.session() as session:
        vm_ids = {name: i for name, i in session.execute(select(Vm.name, Vm.id))}
        host_ids = {name: i for name, i in session.execute(select(Host.name, Host.id))}
    return Estate(integration_id, vm_ids, host_ids)


def inventory_fingerprint(db: Database) -> dict[str, Any]:
    """What a failed monitoring run must leave exactly as it was."""
    with db.session() as session:
        return {
            "vms": session.execute(
                select(Vm.id, Vm.name, Vm.last_seen_at, Vm.removed_at).order_by(Vm.id)
            ).all(),
            "hosts": session.scalar(select(func.count()).select_from(Host)),
        }
