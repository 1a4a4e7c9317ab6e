from __future__ import annotations

from datetime import UTC, datetime

import pytest
from pyVmomi import vim

from iroa.connectors.base import (
    TagRecord,
    VmDatastoreRecord,
    VmDiskRecord,
    VmNetworkRecord,
    VmNicRecord,
    VmRecord,
)
from iroa.connectors.vcenter.index import InventoryIndex
from iroa.connectors.vcenter.vm_mapping import (
    flatten_snapshots,
    map_partitions,
    map_vm,
    normalize_mac,
    sorted_ips,
)
from tests.connectors.vcenter import recorded


def test_vm_record_has_every_field():
    records = map_vm("vm-42", recorded.vm_props(), recorded.index())

    assert records.vm == VmRecord(
        external_id="vm-42",
        name="web01",
        datacenter_external_id="datacenter-2",
        cluster_external_id="domain-c7",
        host_external_id="host-10",
        power_state="on",
        is_template=False,
        num_cpu=4,
        cores_per_socket=2,
        memory_mib=8192,
        memory_assigned_mib=None,
        guest_os="Ubuntu Linux (64-bit)",
        guest_id="ubuntu64Guest",
        guest_hostname="web01.example.com",
        ip_addresses=("10.0.0.9", "10.0.0.10", "192.168.5.20", "fe80::250:56ff:feab:cdef"),
        tools_status="toolsOk",
        tools_version="12352",
        uuid="4210a1b2-0000-1111-2222-333344445555",
        instance_uuid="5010c3d4-6666-7777-8888-9999aaaabbbb",
        resource_pool="/DC1/host/Prod/Resources/Gold",
        folder="/DC1/vm/Web",
        notes="Front-end web server",
        hardware_version="vmx-19",
        generation=None,
        provisioned_bytes=21474836480 + 22548578304,
        used_bytes=21474836480,
        created_at=datetime(2023, 12, 24, 18, 0, tzinfo=UTC),
        boot_time=datetime(2024, 3, 3, 8, 0, tzinfo=UTC),
        overall_status="green",
    )
    assert records.vm.boot_time is not None and records.vm.boot_time.tzinfo is UTC
    # Plain Python values, not pyVmomi's str/int subclasses.
    assert type(records.vm.power_state) is str
    assert type(records.vm.overall_status) is str


@pytest.mark.parametrize(
    ("state", "expected"),
    [
        (vim.VirtualMachine.PowerState.poweredOn, "on"),
        (vim.VirtualMachine.PowerState.poweredOff, "off"),
        (vim.VirtualMachine.PowerState.suspended, "suspended"),
        ("poweringOn", "unknown"),
        (None, "unknown"),
        (42, "unknown"),
    ],
)
def test_power_state_is_one_of_the_contract_values(state, expected):
    props = {"name": "x", "runtime.powerState": state}

    assert map_vm("vm-1", props, InventoryIndex()).vm.power_state == expected


def test_disks_with_controller_backing_and_capacity():
    disks = map_vm("vm-42", recorded.vm_props(), recorded.index()).disks

    assert disks == [
        VmDiskRecord(
            external_id="vm-42:2000",
            vm_external_id="vm-42",
            label="Hard disk 1",
            datastore_external_id="datastore-15",
            capacity_bytes=42949672960,
            file_path="[ds-ssd] web01/web01.vmdk",
            thin_provisioned=True,
            disk_mode="persistent",
            controller="SCSI controller 0",
            unit_number=0,
            raw=False,
        ),
        VmDiskRecord(
            external_id="vm-42:2001",
            vm_external_id="vm-42",
            label="Hard disk 2",
            datastore_external_id="datastore-15",
            capacity_bytes=1048576 * 1024,
            file_path="[ds-ssd] web01/web01_1.vmdk",
            thin_provisioned=None,  # an RDM has no thin flag
            disk_mode="independent_persistent",
            controller="SCSI controller 0",
            unit_number=1,
            raw=True,
            raw_compatibility_mode="physicalMode",
        ),
    ]


def test_nics_standard_and_distributed_backing_with_guest_ips():
    nics = map_vm("vm-42", recorded.vm_props(), recorded.index()).nics

    assert nics == [
        VmNicRecord(
            external_id="vm-42:4000",
            vm_external_id="vm-42",
            label="Network adapter 1",
            network_external_id="network-12",
            network_name="VM Network",
            mac_address="00:50:56:ab:cd:ef",
            adapter_type="vmxnet3",
            connected=True,
            ip_addresses=("10.0.0.9", "10.0.0.10", "fe80::250:56ff:feab:cdef"),
        ),
        VmNicRecord(
            external_id="vm-42:4001",
            vm_external_id="vm-42",
            label="Network adapter 2",
            # The DVS backing names a portgroup key; the record needs the portgroup's moref.
            network_external_id="dvportgroup-20",
            network_name="App-VLAN-120",
            mac_address="00:50:56:01:02:03",
            adapter_type="e1000e",
            connected=False,
            ip_addresses=("192.168.5.20",),
        ),
    ]


def test_dvs_backing_with_unknown_portgroup_key_has_no_network():
    nic = vim.vm.device.VirtualVmxnet3(
        key=4000,
        macAddress="00:50:56:00:00:01",
        backing=vim.vm.device.VirtualEthernetCard.DistributedVirtualPortBackingInfo(
            port=vim.dvs.PortConnection(switchUuid="x", portgroupKey="dvportgroup-404")
        ),
    )
    props = {"name": "x", "config.hardware.device": [nic]}

    (record,) = map_vm("vm-1", props, recorded.index()).nics

    assert record.network_external_id is None
    assert record.network_name is None
    assert record.label == "network adapter 4000"
    assert record.connected is None


def test_sriov_adapter_type():
    nic = vim.vm.device.VirtualSriovEthernetCard(key=4000, macAddress="00:50:56:00:00:02")

    (record,) = map_vm("vm-1", {"config.hardware.device": [nic]}, InventoryIndex()).nics

    assert record.adapter_type == "sriov"


def test_snapshot_tree_is_flattened_with_parents():
    snapshots = flatten_snapshots("vm-42", recorded.snapshot_tree())

    assert [(s.external_id, s.name, s.parent_external_id, s.is_current) for s in snapshots] == [
        ("snapshot-101", "base", None, False),
        ("snapshot-102", "before-upgrade", "snapshot-101", False),
        ("snapshot-103", "after-upgrade", "snapshot-102", True),
        ("snapshot-104", "test", "snapshot-101", False),
    ]
    after = snapshots[2]
    assert after.created_at == datetime(2024, 3, 2, 10, 0, tzinfo=UTC)
    assert after.created_at is not None and after.created_at.tzinfo is UTC
    assert after.vm_external_id == "vm-42"
    assert after.description == "after-upgrade description"
    assert after.power_state == "on"
    assert snapshots[0].power_state == "off"


def test_no_snapshots():
    assert flatten_snapshots("vm-1", None) == []
    assert map_vm("vm-1", {"name": "x"}, InventoryIndex()).snapshots == []


def test_relations_and_custom_attributes():
    records = map_vm("vm-42", recorded.vm_props(), recorded.index())

    assert records.datastores == [VmDatastoreRecord("vm-42:datastore-15", "vm-42", "datastore-15")]
    assert records.networks == [
        VmNetworkRecord("vm-42:dvportgroup-20", "vm-42", "dvportgroup-20"),
        VmNetworkRecord("vm-42:network-12", "vm-42", "network-12"),
    ]
    assert records.tags == [
        TagRecord("vm:vm-42:101", "vm", "vm-42", "Owner", "team-web"),
        TagRecord("vm:vm-42:999", "vm", "vm-42", "999", "orphan"),
    ]


def test_vm_without_any_property_maps_to_unknowns():
    records = map_vm("vm-7", {}, InventoryIndex())

    assert records.vm == VmRecord(external_id="vm-7", name="vm-7", power_state="unknown")
    assert (records.disks, records.nics, records.tags) == ([], [], [])


def test_template_without_pool_or_guest():
    props = {
        "name": "tpl-ubuntu",
        "parent": vim.Folder("group-v3"),
        "config.template": True,
        "runtime.powerState": "poweredOff",
        "summary.storage.committed": 1000,
    }

    vm = map_vm("vm-50", props, recorded.index()).vm

    assert vm.is_template is True
    assert vm.power_state == "off"
    assert vm.resource_pool is None
    assert vm.folder == "/DC1/vm"
    assert vm.datacenter_external_id == "datacenter-2"
    assert (vm.used_bytes, vm.provisioned_bytes) == (1000, None)


def test_vm_in_unknown_folder_has_no_path():
    props = {"name": "x", "parent": vim.Folder("group-v999")}

    vm = map_vm("vm-1", props, recorded.index()).vm

    assert vm.folder is None
    assert vm.datacenter_external_id is None


@pytest.mark.parametrize(
    "mac",
    [
        "00:50:56:AB:CD:EF",
        "00-50-56-ab-cd-ef",
        "005056ABCDEF",
        "0050.56ab.cdef",
        " 00:50:56:ab:cd:ef",
    ],
)
def test_mac_addresses_are_normalized(mac):
    assert normalize_mac(mac) == "00:50:56:ab:cd:ef"


def test_unusual_mac_is_only_lowercased():
    assert normalize_mac("AB:CD") == "ab:cd"
    assert normalize_mac(None) is None
    assert normalize_mac("") is None


def test_ips_are_distinct_and_sorted():
    ips = ["10.0.0.10", "::1", "10.0.0.9", "10.0.0.10", "", None, "not-an-ip", "2.2.2.2"]

    assert sorted_ips(ips) == ("2.2.2.2", "10.0.0.9", "10.0.0.10", "::1", "not-an-ip")


def test_guest_partitions_are_one_per_path_and_fit_an_external_id() -> None:
    disk = vim.vm.GuestInfo.DiskInfo
    long_path = "/mnt/" + "x" * 600
    found = map_partitions(
        "vm-7",
        [
            disk(diskPath="C:\\", capacity=100, freeSpace=40),
            disk(diskPath="C:\\", capacity=100, freeSpace=39),  # reported twice: the first
            disk(diskPath=long_path, capacity=10, freeSpace=1),
            disk(capacity=5, freeSpace=5),  # no path: nothing to name it by
        ],
    )

    assert [(p.disk_path, p.free_bytes) for p in found] == [("C:\\", 40), (long_path, 1)]
    assert found[0].external_id == "vm-7:partition:C:\\"
    assert len(found[1].external_id) <= 500 and found[1].external_id.startswith("vm-7:partition:")
