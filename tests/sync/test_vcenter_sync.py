"""End to end: VMware's simulator → vCenter connector → sync engine → database (both backends)."""

from __future__ import annotations

from collections import Counter
from typing import Any

import pytest
from pyVmomi import vim
from sqlalchemy import select

from iroa.connectors.base import ConnectionOptions, Progress, Snapshot, SourceInfo
from iroa.connectors.vcenter.collector import DEFAULT_BATCH_SIZE
from iroa.connectors.vcenter.connector import VCenterConnector
from iroa.crypto import SecretBox
from iroa.db.engine import Database
from iroa.history.models import Change
from iroa.integrations.service import IntegrationInput, add_integration
from iroa.inventory.models import VmCpuSample
from iroa.inventory.queries import list_objects
from iroa.sync.engine import run_sync
from iroa.sync.runs import SyncResult
from tests.peers import vsphere_ops as ops
from tests.peers.vcsim import Topology, VcsimServer, expected_quickstats

POWER = {"poweredOn": "on", "poweredOff": "off", "suspended": "suspended"}
SMALL = Topology(
    datacenters=1,
    clusters=1,
    hosts_per_cluster=2,
    standalone_hosts=1,
    vms_per_host=3,
    datastores=2,
    portgroups=2,
)


def connector_for(
    server: VcsimServer, password: str | None = None, batch_size: int = DEFAULT_BATCH_SIZE
) -> VCenterConnector:
    return VCenterConnector(
        ConnectionOptions(
            url=server.url,
            username=server.username,
            password=server.password if password is None else password,
            ca_file=str(server.ca_file) if server.ca_file else None,
        ),
        batch_size=batch_size,
    )


def new_integration(db: Database, box: SecretBox, server: VcsimServer, name: str = "vc") -> int:
    return add_integration(db, box, IntegrationInput("vcenter", name, server.url)).id


def sync(db: Database, integration_id: int, server: VcsimServer, **kw: Any) -> SyncResult:
    return run_sync(db, integration_id, connector_for(server), **kw)


def changes_of(db: Database, run_id: int) -> Counter[tuple[str, str]]:
    with db.session() as s:
        rows = s.execute(
            select(Change.object_type, Change.action).where(Change.sync_run_id == run_id)
        ).all()
    return Counter((t, a) for t, a in rows)


def change_rows(db: Database, run_id: int, object_type: str) -> list[Change]:
    with db.session() as s:
        return list(
            s.scalars(
                select(Change).where(
                    Change.sync_run_id == run_id, Change.object_type == object_type
                )
            )
        )


def by_external_id(rows: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {r["external_id"]: r for r in rows}


def test_database_equals_what_the_simulator_reports(
    db: Database, box: SecretBox, vcsim: Any
) -> None:
    server = vcsim(SMALL, tls=True)
    si = ops.connect(server)
    ops.set_guest_info(si, "DC0_H0_VM0", ip="10.1.2.3", hostname="web01.example.com")
    ops.set_custom_value(si, "DC0_H0_VM0", "owner", "team-a")
    ops.create_snapshot(si, "DC0_H0_VM1", "before-upgrade")
    integration_id = new_integration(db, box, server)
    result = sync(db, integration_id, server)
    assert result.status == "succeeded", result.error

    sim_vms = ops.retrieve(
        si,
        vim.VirtualMachine,
        [
            "config.uuid",
            "config.instanceUuid",
            "config.hardware.numCPU",
            "config.hardware.memoryMB",
            "config.template",
            "runtime.powerState",
            "runtime.host",
        ],
    )
    host_names = {h["obj"]._moId: h["name"] for h in ops.retrieve(si, vim.HostSystem)}
    vms = by_external_id(list_objects(db, "vms"))
    assert set(vms) == {v["obj"]._moId for v in sim_vms}
    assert len(vms) == SMALL.vm_count
    for sim in sim_vms:
        vm = vms[sim["obj"]._moId]
        assert vm["name"] == sim["name"]
        assert vm["uuid"] == sim["config.uuid"]
        assert vm["instance_uuid"] == sim["config.instanceUuid"]
        assert vm["num_cpu"] == sim["config.hardware.numCPU"]
        assert vm["memory_mib"] == sim["config.hardware.memoryMB"]
        assert vm["power_state"] == POWER[sim["runtime.powerState"]]
        assert vm["host"] == host_names[sim["runtime.host"]._moId]
        assert vm["is_template"] == sim["config.template"]
        assert vm["integration"] == "vc" and vm["platform"] == "vcenter"
    web = next(v for v in vms.values() if v["name"] == "DC0_H0_VM0")
    assert web["ip_addresses"] == ["10.1.2.3"] and web["guest_hostname"] == "web01.example.com"

    sim_hosts = ops.retrieve(
        si,
        vim.HostSystem,
        [
            "hardware.cpuInfo.numCpuCores",
            "hardware.memorySize",
            "config.product.version",
        ],
    )
    hosts = by_external_id(list_objects(db, "hosts"))
    assert set(hosts) == {h["obj"]._moId for h in sim_hosts}
    for sim in sim_hosts:
        host = hosts[sim["obj"]._moId]
        assert host["name"] == sim["name"]
        assert host["cpu_cores"] == sim["hardware.cpuInfo.numCpuCores"]
        assert host["memory_mib"] == sim["hardware.memorySize"] // (1024 * 1024)
        assert host["hypervisor_version"] == sim["config.product.version"]
    assert sum(1 for h in hosts.values() if h["cluster"] is None) == SMALL.standalone_hosts

    sim_clusters = ops.retrieve(si, vim.ClusterComputeResource, ["host"])
    clusters = by_external_id(list_objects(db, "clusters"))
    assert {k: c["host_count"] for k, c in clusters.items()} == {
        c["obj"]._moId: len(c["host"]) for c in sim_clusters
    }
    sim_ds = ops.retrieve(si, vim.Datastore, ["summary.capacity", "summary.freeSpace"])
    datastores = by_external_id(list_objects(db, "datastores"))
    assert {
        k: (d["name"], d["capacity_bytes"], d["free_bytes"]) for k, d in datastores.items()
    } == {
        d["obj"]._moId: (d["name"], d["summary.capacity"], d["summary.freeSpace"]) for d in sim_ds
    }
    sim_networks = ops.retrieve(si, vim.Network)
    networks = by_external_id(list_objects(db, "networks"))
    assert {k: n["name"] for k, n in networks.items()} == {
        n["obj"]._moId: n["name"] for n in sim_networks
    }
    assert {n["type"] for n in networks.values()} >= {"distributed"}
    assert [d["name"] for d in list_objects(db, "datacenters")] == ["DC0"]

    devices = ops.retrieve(si, vim.VirtualMachine, ["config.hardware.device"])
    sim_disks = sum(
        isinstance(d, vim.vm.device.VirtualDisk)
        for v in devices
        for d in v["config.hardware.device"]
    )
    sim_nics = sum(
        isinstance(d, vim.vm.device.VirtualEthernetCard)
        for v in devices
        for d in v["config.hardware.device"]
    )
    assert result.totals["vm_disks"] == sim_disks > 0
    assert result.totals["vm_nics"] == sim_nics > 0
    assert result.totals["vm_snapshots"] == 1
    assert result.totals["tags"] >= 1


def test_next_sync_records_exactly_what_changed_in_the_simulator(
    db: Database, box: SecretBox, vcsim: Any
) -> None:
    server = vcsim(SMALL)
    si = ops.connect(server)
    integration_id = new_integration(db, box, server)
    assert sync(db, integration_id, server).succeeded

    unchanged = sync(db, integration_id, server)
    assert unchanged.succeeded and changes_of(db, unchanged.run_id) == Counter()

    ops.power_off(si, "DC0_H0_VM0")
    ops.rename_vm(si, "DC0_H0_VM1", "renamed-vm")
    ops.reconfigure_vm(si, "DC0_H0_VM2", num_cpu=4, memory_mib=8192)
    ops.create_snapshot(si, "DC0_C0_RP0_VM0", "snap-1")
    ops.destroy_vm(si, "DC0_C0_RP0_VM1")
    result = sync(db, integration_id, server)
    assert result.succeeded, result.error
    counts = changes_of(db, result.run_id)
    modified = {
        c.object_name for c in change_rows(db, result.run_id, "vm") if c.action == "modified"
    }
    assert modified == {"DC0_H0_VM0", "renamed-vm", "DC0_H0_VM2"}
    assert counts[("vm", "removed")] == 1
    assert counts[("vm_snapshot", "added")] == 1
    assert counts[("vm", "added")] == 0
    fields = {
        c.object_name: c.fields
        for c in change_rows(db, result.run_id, "vm")
        if c.action == "modified"
    }
    assert fields["DC0_H0_VM0"] is not None and fields["DC0_H0_VM0"]["power_state"] == ["on", "off"]
    assert fields["renamed-vm"] is not None and fields["renamed-vm"]["name"] == [
        "DC0_H0_VM1",
        "renamed-vm",
    ]
    reconfigured = fields["DC0_H0_VM2"]
    assert reconfigured is not None
    assert reconfigured["num_cpu"][1] == 4 and reconfigured["memory_mib"][1] == 8192
    (removed,) = [c for c in change_rows(db, result.run_id, "vm") if c.action == "removed"]
    assert removed.object_name == "DC0_C0_RP0_VM1"

    again = sync(db, integration_id, server)
    assert again.succeeded and changes_of(db, again.run_id) == Counter()


def test_removing_a_host_removes_it_and_its_vms(db: Database, box: SecretBox, vcsim: Any) -> None:
    server = vcsim(SMALL)
    si = ops.connect(server)
    integration_id = new_integration(db, box, server)
    assert sync(db, integration_id, server).succeeded
    ops.remove_host(si, "DC0_H0")
    result = sync(db, integration_id, server)
    assert result.succeeded, result.error
    counts = changes_of(db, result.run_id)
    assert counts[("host", "removed")] == 1
    assert counts[("vm", "removed")] == SMALL.vms_per_host
    assert "DC0_H0" not in {h["name"] for h in list_objects(db, "hosts")}
    assert {v["name"] for v in list_objects(db, "vms")} == set(ops.list_vm_names(si))


class KillDuringCollection:
    """Progress sink that kills the simulator once collection of VMs begins."""

    def __init__(self, server: VcsimServer) -> None:
        self.server = server

    def start(self, phase: str, total: int | None = None) -> None:
        if phase == "collect vms":
            self.server.kill()

    def advance(self, done: int = 1) -> None:
        return None


def test_failures_leave_the_previous_inventory_intact(
    db: Database, box: SecretBox, vcsim: Any
) -> None:
    server = vcsim(SMALL, tls=True)
    integration_id = new_integration(db, box, server)
    assert sync(db, integration_id, server).succeeded
    before = list_objects(db, "vms")

    wrong = run_sync(db, integration_id, connector_for(server, password="wrong"))
    assert wrong.status == "failed" and "password" in (wrong.error or "").lower()
    assert "wrong" not in (wrong.error or "")

    untrusted = run_sync(
        db,
        integration_id,
        VCenterConnector(
            ConnectionOptions(url=server.url, username=server.username, password=server.password)
        ),
    )
    assert untrusted.status == "failed" and "certificate" in (untrusted.error or "").lower()

    died = run_sync(
        db, integration_id, connector_for(server), progress=KillDuringCollection(server)
    )
    assert died.status == "failed" and died.error
    assert list_objects(db, "vms") == before


def test_safeguard_holds_a_run_that_removes_most_vms(
    db: Database, box: SecretBox, vcsim: Any
) -> None:
    topology = Topology(clusters=1, hosts_per_cluster=1, standalone_hosts=1, vms_per_host=6)
    server = vcsim(topology)
    si = ops.connect(server)
    integration_id = new_integration(db, box, server)
    assert sync(db, integration_id, server).succeeded
    for name in ops.list_vm_names(si)[:7]:
        ops.destroy_vm(si, name)
    held = sync(db, integration_id, server)
    assert held.status == "held" and "7 of 12 vms" in (held.error or "")
    assert len(list_objects(db, "vms")) == 12
    forced = sync(db, integration_id, server, force=True)
    assert forced.succeeded and forced.counts["vms"]["removed"] == 7
    assert len(list_objects(db, "vms")) == 5


class EmptySource:
    """A source that answers with nothing at all, as a vCenter with its inventory gone would."""

    kind = "vcenter"

    def check(self) -> SourceInfo:
        return SourceInfo(name="empty", product="vcsim")

    def collect(self, progress: Progress) -> Snapshot:
        return Snapshot(source=self.check())


def test_safeguard_holds_a_run_that_removes_everything(
    db: Database, box: SecretBox, vcsim: Any
) -> None:
    server = vcsim(Topology(clusters=0, standalone_hosts=1, vms_per_host=1))
    integration_id = new_integration(db, box, server)
    assert sync(db, integration_id, server).succeeded
    held = run_sync(db, integration_id, EmptySource())
    assert held.status == "held" and "none of the" in (held.error or "")
    assert len(list_objects(db, "vms")) == 1


def test_two_integrations_never_touch_each_others_rows(
    db: Database, box: SecretBox, vcsim: Any
) -> None:
    # Two simulators built alike share every managed object id: a good test of isolation.
    first, second = vcsim(SMALL), vcsim(SMALL)
    a = new_integration(db, box, first, "a")
    b = new_integration(db, box, second, "b")
    assert sync(db, a, first).succeeded and sync(db, b, second).succeeded
    b_before = list_objects(db, "vms", integration="b")
    ops.destroy_vm(ops.connect(first), "DC0_H0_VM0")
    ops.rename_vm(ops.connect(first), "DC0_H0_VM1", "only-in-a")
    result = sync(db, a, first)
    assert result.succeeded and result.counts["vms"]["removed"] == 1
    assert list_objects(db, "vms", integration="b") == b_before
    assert "only-in-a" in {v["name"] for v in list_objects(db, "vms", integration="a")}


@pytest.mark.parametrize("tls", [False, True])
def test_check_reports_the_vcenter(vcsim: Any, tls: bool) -> None:
    server = vcsim(SMALL, tls=tls)
    info = connector_for(server).check()
    assert info.version and info.object_counts.get("vms") == SMALL.vm_count


def test_parts_of_two_vms_sync_as_one_part_does(db: Database, box: SecretBox, vcsim: Any) -> None:
    """The connector spools VMs a batch at a time: the batch size changes nothing stored."""
    from tests.sync.test_parts import rows

    server = vcsim(SMALL)
    si = ops.connect(server)
    whole = new_integration(db, box, server, "whole")
    parts = new_integration(db, box, server, "parts")
    small_batches = connector_for(server, batch_size=2)

    def both() -> tuple[SyncResult, SyncResult]:
        one = sync(db, whole, server)
        two = run_sync(db, parts, small_batches)
        assert one.succeeded and two.succeeded, (one.error, two.error)
        assert (two.counts, two.totals) == (one.counts, one.totals)
        assert changes_of(db, two.run_id) == changes_of(db, one.run_id)
        assert rows(db, parts) == rows(db, whole)
        return one, two

    both()
    ops.rename_vm(si, "DC0_H0_VM1", "renamed-vm")
    ops.create_snapshot(si, "DC0_C0_RP0_VM0", "snap-1")
    ops.destroy_vm(si, "DC0_C0_RP0_VM1")
    one, _ = both()
    assert one.counts["vms"] == {"added": 0, "modified": 1, "removed": 1}


VM_QUICKSTATS = {
    "cpu_used_mhz": "summary.quickStats.overallCpuUsage",
    "guest_memory_used_mib": "summary.quickStats.guestMemoryUsage",
    "host_memory_used_mib": "summary.quickStats.hostMemoryUsage",
    "uptime_s": "summary.quickStats.uptimeSeconds",
}
HOST_QUICKSTATS = {
    "cpu_used_mhz": "summary.quickStats.overallCpuUsage",
    "memory_used_mib": "summary.quickStats.overallMemoryUsage",
    "uptime_s": "summary.quickStats.uptime",
}


def test_usage_figures_are_what_the_simulator_reports(
    db: Database, box: SecretBox, vcsim: Any
) -> None:
    server = vcsim(SMALL)
    si = ops.connect(server)
    ops.power_off(si, "DC0_H0_VM0")
    integration_id = new_integration(db, box, server)
    assert sync(db, integration_id, server).succeeded
    assert sync(db, integration_id, server).succeeded

    vms = {vm["name"]: vm for vm in list_objects(db, "vms")}
    for sim in ops.retrieve(si, vim.VirtualMachine, list(VM_QUICKSTATS.values())):
        stored = {field: vms[sim["name"]][field] for field in VM_QUICKSTATS}
        assert stored == {field: sim.get(path) for field, path in VM_QUICKSTATS.items()}
        assert stored == expected_quickstats("vm", sim["name"])  # not left empty
    hosts = {host["name"]: host for host in list_objects(db, "hosts")}
    for sim in ops.retrieve(si, vim.HostSystem, list(HOST_QUICKSTATS.values())):
        stored = {field: hosts[sim["name"]][field] for field in HOST_QUICKSTATS}
        assert stored == {field: sim.get(path) for field, path in HOST_QUICKSTATS.items()}
        assert stored == expected_quickstats("host", sim["name"])
    with db.session() as s:
        samples = Counter(
            s.scalars(
                select(VmCpuSample.external_id).where(VmCpuSample.integration_id == integration_id)
            )
        )
    running = {vm["external_id"] for vm in vms.values() if vm["power_state"] == "on"}
    assert len(running) == SMALL.vm_count - 1
    assert samples == Counter({external_id: 2 for external_id in running})  # one per sync


def test_hosts_keep_their_multipath_luns_as_the_simulator_reports(
    db: Database, box: SecretBox, vcsim: Any
) -> None:
    server = vcsim(SMALL)
    integration_id = new_integration(db, box, server)
    assert sync(db, integration_id, server).succeeded

    si = ops.connect(server)
    paths = ["config.storageDevice.multipathInfo", "config.storageDevice.scsiLun"]
    hosts = {host["name"]: host for host in list_objects(db, "hosts")}
    for sim in ops.retrieve(si, vim.HostSystem, paths):
        luns = {lun.key: lun for lun in sim["config.storageDevice.scsiLun"]}
        expected = sorted(
            (
                {
                    "canonical_name": luns[unit.lun].canonicalName,
                    "display_name": luns[unit.lun].displayName,
                    "policy": unit.policy.policy,
                    "satp": unit.storageArrayTypePolicy.policy,
                    "paths": [
                        {"name": p.name, "state": p.state, "working": p.isWorkingPath}
                        for p in unit.path
                    ],
                }
                for unit in sim["config.storageDevice.multipathInfo"].lun
            ),
            key=lambda lun: lun["canonical_name"],
        )
        stored = hosts[sim["name"]]["multipaths"]
        assert [{k: lun[k] for k in expected[0]} for lun in stored] == expected
        # vcsim's two LUNs: its CD-ROM on vmhba1 and its local disk on vmhba0, one path each.
        found = [(lun["canonical_name"], lun["vendor"], lun["operational_state"]) for lun in stored]
        assert found == [
            ("mpx.vmhba0:C0:T0:L0", "VMware, ", "ok"),
            ("mpx.vmhba1:C0:T0:L0", "NECVMWar", "ok"),
        ]
    assert len(hosts) == SMALL.host_count
