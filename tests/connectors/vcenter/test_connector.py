"""The vCenter connector against the real simulator (vcsim): what it reports, it reads."""

from __future__ import annotations

from datetime import UTC

import pytest
from pyVmomi import vim, vmodl

from iroa.connectors.base import ConnectionOptions, Connector, NullProgress
from iroa.connectors.vcenter import VCenterConnector
from iroa.connectors.vcenter.collector import LEAF_TYPES, Collection, collect_objects
from iroa.connectors.vcenter.retrieval import moref_id
from iroa.connectors.vcenter.watch import VCenterWatch
from iroa.connectors.vcenter.watch import _needs_resync as needs_resync
from tests.connectors.vcenter.support import RecordingProgress, options_for, session_count
from tests.peers import vsphere_ops
from tests.peers.vcsim import Topology

TOPOLOGY = Topology(
    datacenters=1,
    clusters=1,
    hosts_per_cluster=2,
    standalone_hosts=1,
    vms_per_host=2,
    datastores=1,
    portgroups=1,
    folders=1,
    pools=1,
)


@pytest.fixture
def shaped(vcsim):
    """A simulator with guest data, snapshots, a custom attribute and one VM powered off."""
    server = vcsim(TOPOLOGY)
    si = vsphere_ops.connect(server)
    vsphere_ops.set_guest_info(si, "DC0_C0_RP0_VM0", ip="10.20.30.40", hostname="app01.example.com")
    vsphere_ops.create_snapshot(si, "DC0_C0_RP0_VM0", "before-patch")
    vsphere_ops.create_snapshot(si, "DC0_C0_RP0_VM0", "after-patch")
    vsphere_ops.set_custom_value(si, "DC0_H0_VM1", "Owner", "team-db")
    vsphere_ops.power_off(si, "DC0_H0_VM1")
    return server, si


def test_connector_satisfies_the_protocol():
    connector: Connector = VCenterConnector(ConnectionOptions(url="https://vc.example.com"))

    assert connector.kind == "vcenter"


def test_check_reports_product_and_counts(vcsim):
    server = vcsim(TOPOLOGY)

    info = VCenterConnector(options_for(server)).check()

    assert info.name == "127.0.0.1"
    assert info.product.startswith("VMware vCenter Server")
    assert (info.version, info.build) == ("6.5.0", "5973321")
    assert info.object_counts == {
        "vms": TOPOLOGY.vm_count,
        "hosts": TOPOLOGY.host_count,
        "datastores": TOPOLOGY.datastores,
        "clusters": TOPOLOGY.clusters,
    }


def test_collect_matches_the_simulator(shaped):
    server, si = shaped
    sim_vms = {
        vm["obj"]._moId: vm
        for vm in vsphere_ops.retrieve(
            si,
            vim.VirtualMachine,
            [
                "config.uuid",
                "config.instanceUuid",
                "config.hardware.memoryMB",
                "config.hardware.numCPU",
                "runtime.powerState",
                "runtime.host",
            ],
        )
    }
    sim_hosts = {h["obj"]._moId: h for h in vsphere_ops.retrieve(si, vim.HostSystem, ["parent"])}
    sim_datastores = vsphere_ops.retrieve(si, vim.Datastore, ["summary.capacity"])
    sim_networks = vsphere_ops.retrieve(si, vim.Network)

    snapshot = VCenterConnector(options_for(server)).collect(NullProgress()).whole()

    (datacenter,) = snapshot.datacenters
    assert datacenter.name == "DC0"

    assert {vm.external_id for vm in snapshot.vms} == set(sim_vms)
    for vm in snapshot.vms:
        sim = sim_vms[vm.external_id]
        assert vm.name == sim["name"]
        assert vm.uuid == sim["config.uuid"]
        assert vm.instance_uuid == sim["config.instanceUuid"]
        assert vm.memory_mib == sim["config.hardware.memoryMB"]
        assert vm.num_cpu == sim["config.hardware.numCPU"]
        assert vm.host_external_id == moref_id(sim["runtime.host"])
        expected_power = {"poweredOn": "on", "poweredOff": "off"}[sim["runtime.powerState"]]
        assert vm.power_state == expected_power
        assert vm.datacenter_external_id == datacenter.external_id
        assert vm.folder == "/F0/DC0/vm/F0"
        assert vm.is_template is False

    (cluster,) = snapshot.clusters
    assert (cluster.name, cluster.host_count) == ("DC0_C0", TOPOLOGY.hosts_per_cluster)
    assert cluster.cpu_total_mhz and cluster.memory_total_mib
    assert cluster.datacenter_external_id == datacenter.external_id

    assert {h.external_id for h in snapshot.hosts} == set(sim_hosts)
    for host in snapshot.hosts:
        in_cluster = isinstance(sim_hosts[host.external_id]["parent"], vim.ClusterComputeResource)
        assert host.cluster_external_id == (cluster.external_id if in_cluster else None)
        assert host.datacenter_external_id == datacenter.external_id
        assert host.hypervisor_name == "VMware ESXi"
        assert host.connection_state == "connected"
        assert host.power_state == "on"
        assert host.cpu_mhz and host.memory_mib and host.cpu_cores
        assert host.boot_time is not None and host.boot_time.tzinfo is UTC

    assert [(d.name, d.capacity_bytes) for d in snapshot.datastores] == [
        (d["name"], d["summary.capacity"]) for d in sim_datastores
    ]
    assert snapshot.datastores[0].free_bytes is not None

    assert sorted((n.name, n.type) for n in snapshot.networks) == sorted(
        (
            n["name"],
            "distributed" if "DVPG" in n["name"] or "DVUplinks" in n["name"] else "standard",
        )
        for n in sim_networks
    )
    standard = next(n for n in snapshot.networks if n.type == "standard")
    assert (standard.name, standard.switch_name, standard.vlan_id) == ("VM Network", "vSwitch0", 0)
    portgroup = next(n for n in snapshot.networks if n.name == "DC0_DVPG0")
    assert (portgroup.switch_name, portgroup.vlan_id) == ("DVS0", 0)


def test_collect_reads_disks_nics_and_relations(shaped):
    server, _ = shaped

    snapshot = VCenterConnector(options_for(server)).collect(NullProgress()).whole()

    datastore_ids = {d.external_id for d in snapshot.datastores}
    network_ids = {n.external_id for n in snapshot.networks}
    vm_ids = {vm.external_id for vm in snapshot.vms}
    assert len(snapshot.vm_disks) == TOPOLOGY.vm_count
    for disk in snapshot.vm_disks:
        assert disk.vm_external_id in vm_ids
        assert disk.datastore_external_id in datastore_ids
        assert disk.capacity_bytes and disk.file_path and disk.controller
    assert len(snapshot.vm_nics) == TOPOLOGY.vm_count
    for nic in snapshot.vm_nics:
        assert nic.network_external_id in network_ids
        assert nic.mac_address and nic.mac_address == nic.mac_address.lower()
        assert nic.adapter_type
    assert {r.vm_external_id for r in snapshot.vm_datastores} == vm_ids
    assert {r.network_external_id for r in snapshot.vm_networks} <= network_ids


def test_collect_reads_guest_data_snapshots_and_custom_attributes(shaped):
    server, _ = shaped

    snapshot = VCenterConnector(options_for(server)).collect(NullProgress()).whole()

    vms = {vm.name: vm for vm in snapshot.vms}
    app = vms["DC0_C0_RP0_VM0"]
    assert app.ip_addresses == ("10.20.30.40",)
    assert app.guest_hostname == "app01.example.com"
    assert app.resource_pool == "/F0/DC0/host/F0/DC0_C0/Resources"
    assert app.cluster_external_id == snapshot.clusters[0].external_id
    assert vms["DC0_H0_VM1"].power_state == "off"

    before, after = sorted(
        (s for s in snapshot.vm_snapshots if s.vm_external_id == app.external_id),
        key=lambda s: s.name == "after-patch",
    )
    assert (before.name, before.parent_external_id, before.is_current) == (
        "before-patch",
        None,
        False,
    )
    assert (after.name, after.parent_external_id, after.is_current) == (
        "after-patch",
        before.external_id,
        True,
    )
    assert after.created_at is not None and after.created_at.tzinfo is UTC
    # Read from the VMs' layoutEx; the simulator's snapshot files are all of size 0.
    assert [(s.vmsn_bytes, s.size_bytes) for s in (before, after)] == [(0, 0), (0, 0)]

    (tag,) = snapshot.tags
    owner = vms["DC0_H0_VM1"].external_id
    assert (tag.object_type, tag.object_external_id, tag.key, tag.value) == (
        "vm",
        owner,
        "Owner",
        "team-db",
    )
    assert tag.external_id.startswith(f"vm:{owner}:")


def test_collect_reports_real_totals_per_type(shaped):
    server, _ = shaped
    progress = RecordingProgress()

    snapshot = VCenterConnector(options_for(server), batch_size=3).collect(progress).whole()

    totals = dict(progress.phases)
    assert totals["connect"] == 1
    assert totals["collect datacenters"] == len(snapshot.datacenters)
    assert totals["collect clusters"] == len(snapshot.clusters)
    assert totals["collect hosts"] == len(snapshot.hosts)
    assert totals["collect datastores"] == len(snapshot.datastores)
    assert totals["collect networks"] == len(snapshot.networks)
    assert totals["collect vms"] == len(snapshot.vms) == TOPOLOGY.vm_count
    for phase, total in progress.phases:
        assert progress.done[phase] == total, phase
    assert snapshot.source.object_counts["vms"] == TOPOLOGY.vm_count


def test_collect_is_deterministic_and_independent_of_batch_size(shaped):
    server, _ = shaped

    first = VCenterConnector(options_for(server), batch_size=1).collect(NullProgress()).whole()
    second = VCenterConnector(options_for(server)).collect(NullProgress()).whole()

    assert first == second
    assert [vm.external_id for vm in first.vms] == sorted(vm.external_id for vm in first.vms)


def test_every_session_is_logged_out(shaped):
    server, si = shaped
    before = session_count(si)
    connector = VCenterConnector(options_for(server))

    connector.check()
    connector.collect(NullProgress())

    assert session_count(si) == before


def test_collect_reads_cd_drives_as_the_simulator_has_them(shaped):
    server, si = shaped
    sim = {
        vm["obj"]._moId: [
            d for d in vm["config.hardware.device"] if isinstance(d, vim.vm.device.VirtualCdrom)
        ]
        for vm in vsphere_ops.retrieve(si, vim.VirtualMachine, ["config.hardware.device"])
    }

    snapshot = VCenterConnector(options_for(server)).collect(NullProgress()).whole()

    assert sum(map(len, sim.values())) > 0
    assert sorted(
        (d.vm_external_id, d.label, d.connected, d.start_connected, d.device_type)
        for d in snapshot.vm_devices
    ) == sorted(
        (
            vm_id,
            cd.deviceInfo.label,
            cd.connectable.connected,
            cd.connectable.startConnected,
            cd.backing.deviceName or None,
        )
        for vm_id, cds in sim.items()
        for cd in cds
    )
    assert {d.kind for d in snapshot.vm_devices} == {"cd"}


def test_collect_reads_what_the_vcenter_says_of_itself_and_its_licenses(shaped):
    server, si = shaped
    about = si.content.about
    manager = si.content.licenseManager
    manager.AddLicense(licenseKey="AB1CD-EF2GH-IJ3KL-MN4OP-QR5ST")
    keys = [info.licenseKey for info in manager.licenses]

    source = VCenterConnector(options_for(server)).collect(NullProgress()).whole().source

    assert source.about["api_version"] == about.apiVersion
    assert source.about["instance_uuid"] == about.instanceUuid
    assert (source.about["os_type"], source.about["vendor"]) == (about.osType, about.vendor)
    assert source.licenses is not None
    assert [info.key for info in source.licenses] == [
        "*****-*****-*****-*****-" + key[-5:] for key in keys
    ]
    assert "AB1CD" not in repr(source)
    evaluation = next(info for info in source.licenses if info.name == "Evaluation Mode")
    assert "vSphere Distributed Switch" in evaluation.features


def test_a_refused_license_read_leaves_the_licenses_out_not_the_inventory(shaped, monkeypatch):
    server, _ = shaped
    read = Collection._read

    def refusing(self, objects, vim_type, **kwargs):
        if vim_type is vim.LicenseManager:
            raise vim.fault.NoPermission(privilegeId="Global.Licenses")
        return read(self, objects, vim_type, **kwargs)

    monkeypatch.setattr(Collection, "_read", refusing)

    snapshot = VCenterConnector(options_for(server)).collect(NullProgress()).whole()

    assert snapshot.source.licenses is None
    assert len(snapshot.vms) == TOPOLOGY.vm_count


def test_collect_reads_resource_pools_as_the_simulator_has_them(shaped):
    server, si = shaped
    sim = {
        pool["obj"]._moId: pool
        for pool in vsphere_ops.retrieve(
            si,
            vim.ResourcePool,
            ["name", "config.cpuAllocation", "config.memoryAllocation", "runtime"],
        )
    }

    snapshot = VCenterConnector(options_for(server)).collect(NullProgress()).whole()

    pools = {pool.external_id: pool for pool in snapshot.resource_pools}
    assert pools.keys() == sim.keys()
    clusters = {c.external_id for c in snapshot.clusters}
    for pool_id, pool in pools.items():
        cpu, memory = sim[pool_id]["config.cpuAllocation"], sim[pool_id]["config.memoryAllocation"]
        runtime = sim[pool_id]["runtime"]
        assert pool.name == sim[pool_id]["name"]
        assert (pool.cpu_limit_mhz, pool.cpu_reservation_mhz) == (cpu.limit, cpu.reservation)
        assert (pool.cpu_shares_level, pool.cpu_shares) == (cpu.shares.level, cpu.shares.shares)
        assert pool.memory_expandable == memory.expandableReservation
        assert pool.memory_limit_mib == memory.limit
        assert pool.memory_max_usage_bytes == runtime.memory.maxUsage
        assert pool.cpu_unreserved_for_vm_mhz == runtime.cpu.unreservedForVm
        assert pool.path and "/host/" in pool.path
        assert pool.datacenter_external_id == snapshot.datacenters[0].external_id
    child = next(p for p in pools.values() if p.name == "DC0_C0_RP1")
    assert child.path and child.path.endswith("/DC0_C0/Resources/DC0_C0_RP1")
    assert child.cluster_external_id in clusters
    vm_pools = {vm.resource_pool for vm in snapshot.vms}
    assert vm_pools <= {pool.path for pool in pools.values()}


def test_a_changed_pool_is_read_again_alone(shaped):
    """A watcher reads a pool whose settings changed as it reads a changed VM; a renamed or
    moved pool changes other objects' paths, so it asks for a full read."""
    server, si = shaped
    connector = VCenterConnector(options_for(server))
    with VCenterWatch(options_for(server)) as watch:
        watch.baseline(NullProgress())
        assert watch._collector is not None
        [watched] = watch._collector.filter
        paths = {p.type.__name__: set(p.pathSet) for p in watched.spec.propSet}
        assert "guest.disk" not in paths["vim.VirtualMachine"]  # free space: not watched
        assert "layoutEx" not in paths["vim.VirtualMachine"]  # file sizes: not watched
        assert "runtime.cpu.maxUsage" in paths["vim.ResourcePool"]
        pool_id = next(
            p.external_id
            for p in connector.collect(NullProgress()).whole().resource_pools
            if p.name == "DC0_C0_RP1"
        )
        vsphere_ops.set_pool_cpu_limit(si, pool_id, 1500)
        session = watch._current()
        pool = vim.ResourcePool(pool_id, session.content.propertyCollector._stub)
        snapshot = collect_objects(session, watch._index, {"ResourcePool": [pool]})

    [changed] = snapshot.resource_pools
    assert (changed.external_id, changed.cpu_limit_mhz) == (pool_id, 1500)
    assert changed.path and changed.path.endswith("/DC0_C0/Resources/DC0_C0_RP1")
    assert "ResourcePool" in LEAF_TYPES
    modify = vmodl.query.PropertyCollector.ObjectUpdate
    change = vmodl.query.PropertyCollector.Change
    limit = modify(
        kind="modify", obj=pool, changeSet=[change(name="config.cpuAllocation", op="assign")]
    )
    rename = modify(kind="modify", obj=pool, changeSet=[change(name="name", op="assign")])
    assert needs_resync(limit) is None
    assert needs_resync(rename) == f"ResourcePool {pool_id} changed name"


def test_a_vm_read_again_by_a_watch_has_its_snapshot_sizes_read_the_same_way(shaped):
    server, si = shaped
    with VCenterWatch(options_for(server)) as watch:
        watch.baseline(NullProgress())
        session = watch._current()
        vm_id = moref_id(vsphere_ops.find_vm(si, "DC0_C0_RP0_VM0"))
        assert vm_id is not None
        vm = vim.VirtualMachine(vm_id, session.content.propertyCollector._stub)
        snapshot = collect_objects(session, watch._index, {"VirtualMachine": [vm]})

    assert sorted(s.name for s in snapshot.vm_snapshots) == ["after-patch", "before-patch"]
    assert {s.size_bytes for s in snapshot.vm_snapshots} == {0}  # read, not left unknown
