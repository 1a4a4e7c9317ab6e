"""The demo's vCenter: VMware's simulator with an estate that looks lived in.

vcsim builds two datacenters of three clusters (four hosts each) and a
standalone host, 125 VMs per cluster and per standalone host (1,000 in all),
three datastores and three distributed port groups. It starts them all powered
on and bare; :func:`furnish` then makes them look like an estate an admin
would meet, through the vSphere API as an operator would: some VMs powered off
or suspended, snapshots, custom attributes (owner, cost center), and vSphere
tags (environment, backup policy) through the tagging REST API.
"""

from __future__ import annotations

from pyVmomi import vim

from tests.peers import vsphere_ops as ops
from tests.peers.vcsim import Topology, VcsimServer
from tests.peers.vsphere_tags import Tagging

TOPOLOGY = Topology(
    datacenters=2,
    clusters=3,
    hosts_per_cluster=4,
    standalone_hosts=1,
    vms_per_host=125,
    datastores=3,
    portgroups=3,
)

OWNERS = ("web-team", "data-platform", "finance-it", "sre")
COST_CENTERS = ("CC-1040", "CC-2210", "CC-3300")
ENVIRONMENTS = ("production", "test", "development")
BACKUPS = ("gold", "silver")


def furnish(si: vim.ServiceInstance) -> dict[str, int]:
    """Give the fresh simulator's VMs varied states, snapshots and attributes; what was
    done, counted."""
    vms = sorted(ops.retrieve(si, vim.VirtualMachine), key=lambda vm: str(vm["name"]))
    manager = si.RetrieveContent().customFieldsManager
    fields = {
        name: manager.AddCustomFieldDef(name=name, moType=vim.VirtualMachine).key
        for name in ("owner", "cost-center")
    }
    done = {"powered off": 0, "suspended": 0, "with a snapshot": 0, "with attributes": 0}
    for n, found in enumerate(vms):
        vm = found["obj"]
        if n % 9 == 4:
            ops.wait_for_task(vm.PowerOffVM_Task())
            done["powered off"] += 1
        elif n % 41 == 7:
            ops.wait_for_task(vm.SuspendVM_Task())
            done["suspended"] += 1
        if n % 17 == 3:
            task = vm.CreateSnapshot_Task(
                name="before-patching",
                description="taken by the demo",
                memory=False,
                quiesce=False,
            )
            ops.wait_for_task(task)
            done["with a snapshot"] += 1
        if n % 6 == 0:
            manager.SetField(entity=vm, key=fields["owner"], value=OWNERS[n % len(OWNERS)])
            cost_center = COST_CENTERS[n % len(COST_CENTERS)]
            manager.SetField(entity=vm, key=fields["cost-center"], value=cost_center)
            done["with attributes"] += 1
    return done


def tag(server: VcsimServer, si: vim.ServiceInstance) -> int:
    """Attach vSphere tags to every fifth VM (an environment, and a backup policy to some);
    how many VMs were tagged."""
    vms = sorted(ops.retrieve(si, vim.VirtualMachine), key=lambda vm: str(vm["name"]))
    with Tagging(server) as tagging:
        environments = [tagging.tag("environment", name) for name in ENVIRONMENTS]
        backups = [tagging.tag("backup", name) for name in BACKUPS]
        tagged = 0
        for n, found in enumerate(vms):
            if n % 5:
                continue
            moref = found["obj"]._moId
            tagging.attach(environments[n % len(environments)], "VirtualMachine", moref)
            if n % 10 == 0:
                tagging.attach(backups[n % len(backups)], "VirtualMachine", moref)
            tagged += 1
    return tagged
