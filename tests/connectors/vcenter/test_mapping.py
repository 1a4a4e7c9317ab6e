from __future__ import annotations

from datetime import UTC, datetime

import pytest
from pyVmomi import vim

from iroa.connectors.base import (
    ClusterRecord,
    DatacenterRecord,
    DatastoreRecord,
    HostRecord,
    NetworkRecord,
    TagRecord,
)
from iroa.connectors.vcenter.index import InventoryIndex, PortgroupVlan
from iroa.connectors.vcenter.mapping import (
    as_utc,
    field_names,
    host_portgroups,
    map_cluster,
    map_custom_values,
    map_datacenter,
    map_datastore,
    map_host,
    map_network,
    map_portgroup,
)
from tests.connectors.vcenter import recorded

GIB = 1024**3
DvsVlan = vim.dvs.VmwareDistributedVirtualSwitch


def test_datacenter():
    assert map_datacenter("datacenter-2", {"name": "DC1"}) == DatacenterRecord(
        "datacenter-2", "DC1"
    )


def test_cluster_totals_and_ha_drs():
    props = {
        "name": "Prod",
        "parent": vim.Folder("group-h4"),
        "overallStatus": "yellow",
        "summary.numHosts": 2,
        "summary.totalCpu": 83200,
        "summary.totalMemory": 512 * GIB,
        "summary.numCpuCores": 32,
        "summary.numCpuThreads": 64,
        "configurationEx": vim.cluster.ConfigInfoEx(
            dasConfig=vim.cluster.DasConfigInfo(enabled=True),
            drsConfig=vim.cluster.DrsConfigInfo(
                enabled=True, defaultVmBehavior="partiallyAutomated"
            ),
        ),
    }

    assert map_cluster("domain-c7", props, recorded.index()) == ClusterRecord(
        external_id="domain-c7",
        name="Prod",
        datacenter_external_id="datacenter-2",
        host_count=2,
        cpu_total_mhz=83200,
        cpu_cores=32,
        cpu_threads=64,
        memory_total_mib=512 * 1024,
        ha_enabled=True,
        drs_enabled=True,
        drs_behavior="partiallyAutomated",
        overall_status="yellow",
    )


def test_cluster_without_configuration():
    record = map_cluster("domain-c7", {"name": "Prod"}, InventoryIndex())

    assert (record.ha_enabled, record.drs_enabled, record.drs_behavior) == (None, None, None)
    assert record.datacenter_external_id is None


def host_props(parent: vim.ManagedEntity) -> dict[str, object]:
    return {
        "name": "esx01.example.com",
        "parent": parent,
        "overallStatus": "green",
        "summary.hardware": vim.host.Summary.HardwareSummary(
            vendor="Dell Inc.",
            model="PowerEdge R650",
            uuid="4c4c4544-0042",
            memorySize=256 * GIB,
            cpuModel="Intel(R) Xeon(R) Gold 6338 CPU @ 2.00GHz",
            cpuMhz=2000,
            numCpuPkgs=2,
            numCpuCores=64,
            numCpuThreads=128,
            numNics=4,
            numHBAs=2,
            otherIdentifyingInfo=[
                vim.host.SystemIdentificationInfo(
                    identifierValue=" No Asset Tag",
                    identifierType=vim.ElementDescription(
                        key="AssetTag", label="Asset Tag", summary=""
                    ),
                ),
                vim.host.SystemIdentificationInfo(
                    identifierValue="7XK2LM3",
                    identifierType=vim.ElementDescription(
                        key="ServiceTag", label="Service tag", summary=""
                    ),
                ),
            ],
        ),
        "summary.config.product": vim.AboutInfo(
            name="VMware ESXi",
            fullName="VMware ESXi 8.0.2 build-22380479",
            version="8.0.2",
            build="22380479",
            apiType="HostAgent",
        ),
        "runtime.connectionState": vim.HostSystem.ConnectionState.connected,
        "runtime.powerState": vim.HostSystem.PowerState.poweredOn,
        "runtime.inMaintenanceMode": False,
        "runtime.bootTime": datetime(2024, 1, 15, 6, 30, tzinfo=recorded.CEST),
        "config.network.portgroup": [
            vim.host.PortGroup(
                spec=vim.host.PortGroup.Specification(
                    name="VM Network", vlanId=10, vswitchName="vSwitch0"
                )
            ),
            vim.host.PortGroup(
                spec=vim.host.PortGroup.Specification(
                    name="Trunk", vlanId=4095, vswitchName="vSwitch1"
                )
            ),
        ],
    }


def test_host_in_cluster():
    record = map_host(
        "host-10", host_props(vim.ClusterComputeResource("domain-c7")), recorded.index()
    )

    assert record == HostRecord(
        external_id="host-10",
        name="esx01.example.com",
        datacenter_external_id="datacenter-2",
        cluster_external_id="domain-c7",
        vendor="Dell Inc.",
        model="PowerEdge R650",
        serial_number="7XK2LM3",
        cpu_model="Intel(R) Xeon(R) Gold 6338 CPU @ 2.00GHz",
        cpu_sockets=2,
        cpu_cores=64,
        cpu_threads=128,
        cpu_mhz=2000,
        memory_mib=256 * 1024,
        hypervisor_name="VMware ESXi",
        hypervisor_version="8.0.2",
        hypervisor_build="22380479",
        connection_state="connected",
        power_state="on",
        in_maintenance=False,
        boot_time=datetime(2024, 1, 15, 4, 30, tzinfo=UTC),
        overall_status="green",
        portgroups=record.portgroups,
    )
    # No computed policy was sent: the port groups' policy facts are unknown, not guessed.
    assert [(p["name"], p["switch"], p["vlan"], p["promiscuous"]) for p in record.portgroups] == [
        ("Trunk", "vSwitch1", 4095, None),
        ("VM Network", "vSwitch0", 10, None),
    ]


def test_standalone_host_has_no_cluster():
    record = map_host("host-90", host_props(vim.ComputeResource("domain-s9")), recorded.index())

    assert record.cluster_external_id is None
    assert record.datacenter_external_id == "datacenter-2"


def test_disconnected_host_reports_little():
    props = {"name": "esx02", "runtime.connectionState": "notResponding", "runtime.powerState": "x"}

    record = map_host("host-11", props, InventoryIndex())

    assert record.connection_state == "notResponding"
    assert record.power_state == "unknown"
    assert record.vendor is None and record.boot_time is None


def test_host_portgroups():
    groups = host_portgroups(host_props(vim.ComputeResource("domain-s9")))

    assert groups == [
        ("VM Network", PortgroupVlan(10, "vSwitch0")),
        ("Trunk", PortgroupVlan(4095, "vSwitch1")),
    ]


def datastore_props(mounted_on: list[str]) -> dict[str, object]:
    return {
        "name": "ds-ssd",
        "parent": vim.Folder("group-s5"),
        "summary": vim.Datastore.Summary(
            datastore=vim.Datastore("datastore-15"),
            name="ds-ssd",
            url="ds:///vmfs/volumes/65a1b2c3-d4e5f6/",
            capacity=2048 * GIB,
            freeSpace=512 * GIB,
            uncommitted=256 * GIB,
            accessible=True,
            type="VMFS",
            maintenanceMode="normal",
        ),
        "host": [
            vim.Datastore.HostMount(
                key=vim.HostSystem(host),
                mountInfo=vim.host.MountInfo(accessMode="readWrite", mounted=True),
            )
            for host in mounted_on
        ],
    }


def test_datastore_capacity_and_provisioned():
    record = map_datastore(
        "datastore-15", datastore_props(["host-10", "host-11"]), recorded.index()
    )

    assert record == DatastoreRecord(
        external_id="datastore-15",
        name="ds-ssd",
        datacenter_external_id="datacenter-2",
        cluster_external_id="domain-c7",
        type="VMFS",
        url="ds:///vmfs/volumes/65a1b2c3-d4e5f6/",
        capacity_bytes=2048 * GIB,
        free_bytes=512 * GIB,
        provisioned_bytes=(2048 - 512 + 256) * GIB,
        accessible=True,
        maintenance_mode="normal",
    )


@pytest.mark.parametrize(
    "hosts", [["host-10", "host-90"], ["host-10", "host-404"], ["host-90"], []]
)
def test_datastore_cluster_only_when_every_host_is_in_one_cluster(hosts):
    record = map_datastore("datastore-15", datastore_props(hosts), recorded.index())

    assert record.cluster_external_id is None


def test_datastore_without_uncommitted_has_no_provisioned():
    props = datastore_props([])
    summary = props["summary"]
    assert isinstance(summary, vim.Datastore.Summary)
    summary.uncommitted = None

    record = map_datastore("datastore-15", props, recorded.index())

    assert (record.capacity_bytes, record.provisioned_bytes) == (2048 * GIB, None)


def test_standard_network_vlan_from_hosts():
    props = {"name": "VM Network", "parent": vim.Folder("group-n6")}

    record = map_network("network-12", props, recorded.index())

    assert record == NetworkRecord(
        external_id="network-12",
        name="VM Network",
        datacenter_external_id="datacenter-2",
        type="standard",
        vlan_id=10,
        vlan="10",
        switch_name="vSwitch0",
    )


def test_standard_network_with_disagreeing_hosts_has_no_vlan():
    idx = recorded.index()
    idx.add_host_portgroup("datacenter-2", "VM Network", PortgroupVlan(20, "vSwitch0"))

    record = map_network(
        "network-12", {"name": "VM Network", "parent": vim.Folder("group-n6")}, idx
    )

    assert (record.vlan_id, record.vlan, record.switch_name) == (None, None, None)


def test_standard_network_trunking_all_vlans():
    idx = recorded.index()
    idx.add_host_portgroup("datacenter-2", "Trunk", PortgroupVlan(4095, "vSwitch1"))

    record = map_network("network-13", {"name": "Trunk", "parent": vim.Folder("group-n6")}, idx)

    assert (record.vlan_id, record.vlan, record.switch_name) == (None, "0-4094", "vSwitch1")


def portgroup_props(vlan: object) -> dict[str, object]:
    return {
        "name": "App-VLAN-120",
        "parent": vim.Folder("group-n6"),
        "key": "dvportgroup-20-key",
        "config.distributedVirtualSwitch": vim.dvs.VmwareDistributedVirtualSwitch("dvs-19"),
        "config.defaultPortConfig": DvsVlan.VmwarePortConfigPolicy(vlan=vlan),
    }


@pytest.mark.parametrize(
    ("vlan", "vlan_id", "text"),
    [
        (DvsVlan.VlanIdSpec(vlanId=120, inherited=False), 120, "120"),
        (
            DvsVlan.TrunkVlanSpec(
                vlanId=[vim.NumericRange(start=300, end=310), vim.NumericRange(start=5, end=5)],
                inherited=False,
            ),
            None,
            "5,300-310",
        ),
        (DvsVlan.PvlanSpec(pvlanId=77, inherited=False), None, "pvlan 77"),
        (None, None, None),
    ],
)
def test_distributed_portgroup_vlans(vlan, vlan_id, text):
    record = map_portgroup("dvportgroup-20", portgroup_props(vlan), recorded.index())

    assert record == NetworkRecord(
        external_id="dvportgroup-20",
        name="App-VLAN-120",
        datacenter_external_id="datacenter-2",
        type="distributed",
        vlan_id=vlan_id,
        vlan=text,
        switch_name="DSwitch-Prod",
        port_policy=record.port_policy,
    )
    # A default port config without policies: every policy fact unknown.
    assert record.port_policy is not None
    assert {k: v for k, v in record.port_policy.items() if v not in (None, [])} == {}


def test_custom_attribute_names_and_tags():
    manager = {
        "field": [
            vim.CustomFieldsManager.FieldDef(key=101, name="Owner", type=str),
            vim.CustomFieldsManager.FieldDef(key=102, name="CostCenter", type=str),
        ]
    }
    idx = InventoryIndex(field_names=field_names(manager))
    props = {
        "customValue": [
            vim.CustomFieldsManager.StringValue(key=102, value="CC-4711"),
            vim.CustomFieldsManager.StringValue(key=101, value=""),
        ]
    }

    assert map_custom_values("host", "host-10", props, idx) == [
        TagRecord("host:host-10:101", "host", "host-10", "Owner", ""),
        TagRecord("host:host-10:102", "host", "host-10", "CostCenter", "CC-4711"),
    ]


def test_inventory_paths_stop_at_the_root_and_at_unknown_parents():
    idx = recorded.index()

    assert idx.path("resgroup-80") == "/DC1/host/Prod/Resources/Gold"
    assert idx.path("datacenter-2") == "/DC1"
    assert idx.path("group-nope") is None
    idx.add_node("group-v77", "Orphans", "group-v404", "Folder")
    assert idx.path("group-v77") is None
    assert idx.datacenter_of("group-v77") is None


def test_naive_datetimes_are_taken_as_utc():
    assert as_utc(datetime(2024, 1, 1, 12, 0)) == datetime(2024, 1, 1, 12, 0, tzinfo=UTC)
    assert as_utc("2024-01-01") is None
