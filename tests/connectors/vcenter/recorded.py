"""Property dicts as a vCenter's PropertyCollector returns them, built from pyVmomi data objects.

The shapes follow what vCenter 7/8 and vcsim answer for the paths in
``collector.PROPERTY_PATHS``: one small inventory (datacenter DC1, cluster
Prod with host esx01, a standalone host esx09, datastore ds-ssd, a standard
network and a distributed port group) and one VM in it.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

from pyVmomi import vim

from iroa.connectors.vcenter.index import InventoryIndex, PortgroupVlan

CEST = timezone(timedelta(hours=2))
Device = vim.vm.device
Ethernet = vim.vm.device.VirtualEthernetCard


def index() -> InventoryIndex:
    """The containers of the small inventory, as the collector indexes them."""
    idx = InventoryIndex(root_folder_id="group-d1")
    for object_id, name, parent, type_name in [
        ("datacenter-2", "DC1", "group-d1", "Datacenter"),
        ("group-v3", "vm", "datacenter-2", "Folder"),
        ("group-v30", "Web", "group-v3", "Folder"),
        ("group-h4", "host", "datacenter-2", "Folder"),
        ("group-s5", "datastore", "datacenter-2", "Folder"),
        ("group-n6", "network", "datacenter-2", "Folder"),
        ("domain-c7", "Prod", "group-h4", "ClusterComputeResource"),
        ("resgroup-8", "Resources", "domain-c7", "ResourcePool"),
        ("resgroup-80", "Gold", "resgroup-8", "ResourcePool"),
        ("domain-s9", "esx09.example.com", "group-h4", "ComputeResource"),
    ]:
        idx.add_node(object_id, name, parent, type_name)
    idx.host_clusters.update({"host-10": "domain-c7", "host-11": "domain-c7", "host-90": None})
    idx.portgroup_ids_by_key["dvportgroup-20-key"] = "dvportgroup-20"
    idx.network_names.update({"network-12": "VM Network", "dvportgroup-20": "App-VLAN-120"})
    idx.switch_names["dvs-19"] = "DSwitch-Prod"
    idx.field_names.update({101: "Owner", 102: "CostCenter"})
    idx.add_host_portgroup("datacenter-2", "VM Network", PortgroupVlan(10, "vSwitch0"))
    return idx


def label(text: str) -> vim.Description:
    return vim.Description(label=text, summary=text)


def vm_devices() -> list[vim.vm.device.VirtualDevice]:
    """A SCSI controller with a thin disk and an RDM, one standard and one distributed NIC."""
    return [
        Device.ParaVirtualSCSIController(
            key=1000, deviceInfo=label("SCSI controller 0"), busNumber=0
        ),
        Device.VirtualDisk(
            key=2000,
            controllerKey=1000,
            unitNumber=0,
            deviceInfo=label("Hard disk 1"),
            capacityInKB=41943040,
            capacityInBytes=42949672960,
            backing=Device.VirtualDisk.FlatVer2BackingInfo(
                fileName="[ds-ssd] web01/web01.vmdk",
                datastore=vim.Datastore("datastore-15"),
                diskMode="persistent",
                thinProvisioned=True,
            ),
        ),
        Device.VirtualDisk(
            key=2001,
            controllerKey=1000,
            unitNumber=1,
            deviceInfo=label("Hard disk 2"),
            capacityInKB=1048576,  # no capacityInBytes: servers before 5.5
            backing=Device.VirtualDisk.RawDiskMappingVer1BackingInfo(
                fileName="[ds-ssd] web01/web01_1.vmdk",
                datastore=vim.Datastore("datastore-15"),
                diskMode="independent_persistent",
                compatibilityMode="physicalMode",
                lunUuid="0200000000600508b1001c",
            ),
        ),
        Device.VirtualVmxnet3(
            key=4000,
            deviceInfo=label("Network adapter 1"),
            macAddress="00:50:56:AB:CD:EF",
            backing=Ethernet.NetworkBackingInfo(
                network=vim.Network("network-12"), deviceName="VM Network"
            ),
            connectable=Device.VirtualDevice.ConnectInfo(
                connected=True, startConnected=True, allowGuestControl=True
            ),
        ),
        Device.VirtualE1000e(
            key=4001,
            deviceInfo=label("Network adapter 2"),
            macAddress="00-50-56-01-02-03",
            backing=Ethernet.DistributedVirtualPortBackingInfo(
                port=vim.dvs.PortConnection(
                    switchUuid="50 1e 2f 3a", portgroupKey="dvportgroup-20-key"
                )
            ),
            connectable=Device.VirtualDevice.ConnectInfo(
                connected=False, startConnected=False, allowGuestControl=True
            ),
        ),
    ]


def guest_nics() -> list[vim.vm.GuestInfo.NicInfo]:
    """The guest's view: the first NIC matched by device key, the second only by MAC."""
    return [
        vim.vm.GuestInfo.NicInfo(
            deviceConfigId=4000,
            macAddress="00:50:56:ab:cd:ef",
            connected=True,
            ipAddress=["fe80::250:56ff:feab:cdef", "10.0.0.10", "10.0.0.9"],
        ),
        vim.vm.GuestInfo.NicInfo(
            deviceConfigId=-1,
            macAddress="00:50:56:01:02:03",
            connected=True,
            ipAddress=["192.168.5.20"],
        ),
    ]


def snapshot_tree() -> vim.vm.SnapshotInfo:
    """base -> (before-upgrade -> after-upgrade [current]), base -> test."""

    def node(
        ref: str, name: str, created: datetime, children: list[vim.vm.SnapshotTree]
    ) -> vim.vm.SnapshotTree:
        return vim.vm.SnapshotTree(
            snapshot=vim.vm.Snapshot(ref),
            vm=vim.VirtualMachine("vm-42"),
            name=name,
            description=f"{name} description",
            id=int(ref.rsplit("-", 1)[1]),
            createTime=created,
            state="poweredOff" if name == "base" else "poweredOn",
            quiesced=False,
            childSnapshotList=children,
        )

    after = node("snapshot-103", "after-upgrade", datetime(2024, 3, 2, 12, 0, tzinfo=CEST), [])
    before = node(
        "snapshot-102", "before-upgrade", datetime(2024, 3, 1, 9, 30, tzinfo=UTC), [after]
    )
    test = node("snapshot-104", "test", datetime(2024, 3, 5, 8, 0, tzinfo=UTC), [])
    base = node("snapshot-101", "base", datetime(2024, 2, 1, 0, 0, tzinfo=UTC), [before, test])
    return vim.vm.SnapshotInfo(
        currentSnapshot=vim.vm.Snapshot("snapshot-103"), rootSnapshotList=[base]
    )


def vm_props() -> dict[str, object]:
    """Every VM path the collector asks for, filled in."""
    return {
        "name": "web01",
        "parent": vim.Folder("group-v30"),
        "resourcePool": vim.ResourcePool("resgroup-80"),
        "overallStatus": vim.ManagedEntity.Status.green,
        "datastore": [vim.Datastore("datastore-15")],
        "network": [
            vim.dvs.DistributedVirtualPortgroup("dvportgroup-20"),
            vim.Network("network-12"),
        ],
        "snapshot": snapshot_tree(),
        "customValue": [
            vim.CustomFieldsManager.StringValue(key=101, value="team-web"),
            vim.CustomFieldsManager.StringValue(key=999, value="orphan"),
        ],
        "runtime.powerState": vim.VirtualMachine.PowerState.poweredOn,
        "runtime.host": vim.HostSystem("host-10"),
        "runtime.bootTime": datetime(2024, 3, 3, 10, 0, tzinfo=CEST),
        "config.template": False,
        "config.hardware.numCPU": 4,
        "config.hardware.numCoresPerSocket": 2,
        "config.hardware.memoryMB": 8192,
        "config.hardware.device": vm_devices(),
        "config.guestFullName": "Ubuntu Linux (64-bit)",
        "config.guestId": "ubuntu64Guest",
        "config.uuid": "4210a1b2-0000-1111-2222-333344445555",
        "config.instanceUuid": "5010c3d4-6666-7777-8888-9999aaaabbbb",
        "config.annotation": "Front-end web server",
        "config.version": "vmx-19",
        "config.createDate": datetime(2023, 12, 24, 18, 0, tzinfo=UTC),
        "guest.hostName": "web01.example.com",
        "guest.ipAddress": "10.0.0.10",
        "guest.net": guest_nics(),
        "guest.toolsStatus": "toolsOk",
        "guest.toolsRunningStatus": "guestToolsRunning",
        "guest.toolsVersion": "12352",
        "summary.storage.committed": 21474836480,
        "summary.storage.uncommitted": 22548578304,
    }
