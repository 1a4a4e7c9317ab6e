"""The host sheets' facts from vSphere objects the simulator does not shape: Fibre Channel and
iSCSI adapters, IPv6 and gateways, LACP, overrides. Pure: no server."""

from __future__ import annotations

from datetime import UTC, datetime

from pyVmomi import vim

from iroa.connectors.vcenter.index import InventoryIndex
from iroa.connectors.vcenter.networking import (
    distributed_switch,
    host_bus_adapters,
    multipaths,
    physical_nics,
    port_policy,
    vmkernel_nics,
)

DVS = vim.dvs.VmwareDistributedVirtualSwitch


def test_fibre_channel_and_iscsi_adapters_have_their_names() -> None:
    props = {
        "config.storageDevice.hostBusAdapter": [
            vim.host.FibreChannelHba(
                device="vmhba2", model="QLE2692", driver="qlnativefc", status="online",
                portWorldWideName=-0x1FFFFFDA4B000001, nodeWorldWideName=1, portType="fabric",
                speed=16, bus=59, key="k2", pci="0000:3b:00.0",
            ),
            vim.host.InternetScsiHba(
                device="vmhba64", model="iSCSI Software Adapter", driver="iscsi_vmk",
                status="online", iScsiName="iqn.1998-01.com.vmware:esx01", key="k64", bus=0,
                isSoftwareBased=True, pci="",
            ),
        ]
    }  # fmt: skip
    fc, iscsi = host_bus_adapters(props)
    assert (fc["device"], fc["type"], fc["wwn"]) == (
        "vmhba2",
        "FibreChannelHba",
        "e0:00:00:25:b4:ff:ff:ff",
    )
    assert (iscsi["type"], iscsi["wwn"], iscsi["pci"]) == (
        "InternetScsiHba",
        "iqn.1998-01.com.vmware:esx01",
        None,
    )


def test_a_nic_without_link_has_no_speed_and_names_its_switch() -> None:
    props = {
        "config.network.pnic": [
            vim.host.PhysicalNic(device="vmnic1", key="key-vmnic1", driver="ixgben", pci="p1"),
            vim.host.PhysicalNic(device="vmnic0", key="key-vmnic0", driver="ixgben", pci="p0"),
        ],
        "config.network.vswitch": [
            vim.host.VirtualSwitch(name="vSwitch1", pnic=["key-vmnic1"], numPorts=128),
        ],
    }
    first, second = physical_nics(props)
    assert (first["device"], first["switch"], first["speed_mbps"]) == ("vmnic0", None, None)
    assert (second["device"], second["switch"]) == ("vmnic1", "vSwitch1")


def test_a_vmkernel_adapter_with_ipv6_and_its_own_gateway() -> None:
    spec = vim.host.VirtualNic.Specification(
        mac="00:50:56:6a:00:01",
        mtu=9000,
        ip=vim.host.IpConfig(
            dhcp=False,
            ipAddress="10.0.0.5",
            subnetMask="255.255.255.0",
            ipV6Config=vim.host.IpConfig.IpV6AddressConfiguration(
                ipV6Address=[vim.host.IpConfig.IpV6Address(ipAddress="fd00::5", prefixLength=64)]
            ),
        ),
        ipRouteSpec=vim.host.VirtualNic.IpRouteSpec(
            ipRouteConfig=vim.host.IpRouteConfig(
                defaultGateway="10.0.0.1", ipV6DefaultGateway="fd00::1"
            )
        ),
    )
    props = {"config.network.vnic": [vim.host.VirtualNic(device="vmk1", portgroup="", spec=spec)]}
    (vmk,) = vmkernel_nics(props)
    assert vmk == {
        "device": "vmk1",
        "portgroup": None,
        "mac": "00:50:56:6a:00:01",
        "dhcp": False,
        "ip": "10.0.0.5",
        "ip6": "fd00::5/64",
        "subnet_mask": "255.255.255.0",
        "gateway": "10.0.0.1",
        "ip6_gateway": "fd00::1",
        "mtu": 9000,
    }


def test_a_distributed_port_group_policy_and_its_switch() -> None:
    bool_policy = vim.BoolPolicy
    teaming = DVS.UplinkPortTeamingPolicy(
        policy=vim.StringPolicy(value="loadbalance_ip"),
        reversePolicy=bool_policy(value=True),
        notifySwitches=bool_policy(value=True),
        rollingOrder=bool_policy(value=False),
        failureCriteria=DVS.FailureCriteria(
            checkBeacon=bool_policy(value=True), percentage=vim.IntPolicy(value=0)
        ),
        uplinkPortOrder=DVS.UplinkPortOrderPolicy(
            activeUplinkPort=["uplink2", "uplink1"], standbyUplinkPort=[]
        ),
    )
    setting = DVS.VmwarePortConfigPolicy(
        blocked=bool_policy(value=False),
        securityPolicy=DVS.SecurityPolicy(
            allowPromiscuous=bool_policy(value=False),
            macChanges=bool_policy(value=True),
            forgedTransmits=bool_policy(value=True),
        ),
        uplinkTeamingPolicy=teaming,
        inShapingPolicy=vim.dvs.DistributedVirtualPort.TrafficShapingPolicy(
            enabled=bool_policy(value=True), averageBandwidth=vim.LongPolicy(value=100000000)
        ),
    )
    policy = DVS.VMwarePortgroupPolicy(
        blockOverrideAllowed=True,
        shapingOverrideAllowed=False,
        vendorConfigOverrideAllowed=False,
        livePortMovingAllowed=False,
        portConfigResetAtDisconnect=True,
        vlanOverrideAllowed=False,
        uplinkTeamingOverrideAllowed=False,
        securityPolicyOverrideAllowed=True,
    )
    facts = port_policy(
        {
            "config.defaultPortConfig": setting,
            "config.type": "earlyBinding",
            "config.numPorts": 8,
            "config.policy": policy,
        }
    )
    assert facts is not None
    assert (facts["type"], facts["ports"], facts["blocked"]) == ("earlyBinding", 8, False)
    assert (facts["promiscuous"], facts["mac_changes"], facts["forged_transmits"]) == (
        False,
        True,
        True,
    )
    assert (facts["teaming"], facts["reverse_policy"], facts["check_beacon"]) == (
        "loadbalance_ip",
        True,
        True,
    )
    assert (facts["in_shaping"], facts["in_average_bps"], facts["out_shaping"]) == (
        True,
        100000000,
        None,
    )
    assert (facts["config_reset"], facts["security_override"], facts["vlan_override"]) == (
        True,
        True,
        False,
    )
    assert (facts["active_uplinks"], facts["standby_uplinks"]) == (["uplink2", "uplink1"], [])
    assert port_policy({}) is None  # not a distributed port group's properties

    index = InventoryIndex()
    index.host_names["host-9"] = "esx09"
    switch = distributed_switch(
        "dvs-5",
        {
            "name": "dvs-prod",
            "summary.productInfo": vim.dvs.ProductSpec(vendor="VMware, Inc.", version="8.0.0"),
            "summary.hostMember": [vim.HostSystem("host-9"), vim.HostSystem("host-7")],
            "summary.description": "production",
            "config": DVS.ConfigInfo(
                maxPorts=2147483647,
                numPorts=120,
                maxMtu=9000,
                createTime=datetime(2024, 5, 1, 8, 0, tzinfo=UTC),
                contact=vim.DistributedVirtualSwitch.ContactInfo(name="net team", contact="x1"),
                linkDiscoveryProtocolConfig=vim.host.LinkDiscoveryProtocolConfig(
                    protocol="lldp", operation="both"
                ),
                lacpGroupConfig=[
                    DVS.LacpGroupConfig(name="lag1", mode="active", loadbalanceAlgorithm="srcMac")
                ],
            ),
        },
        index,
    )
    assert switch["hosts"] == ["esx09", "host-7"]  # a host not read keeps its id
    assert (switch["vendor"], switch["version"], switch["max_mtu"]) == (
        "VMware, Inc.",
        "8.0.0",
        9000,
    )
    assert (switch["cdp_type"], switch["cdp_operation"]) == ("lldp", "both")
    assert (switch["lacp_name"], switch["lacp_mode"]) == ("lag1", "active")
    assert (switch["contact"], switch["admin_name"]) == ("x1", "net team")
    assert switch["created"] == "2024-05-01T08:00:00+00:00"
    unset = DVS.ConfigInfo(createTime=datetime(1, 1, 1, tzinfo=UTC))
    assert distributed_switch("dvs-6", {"config": unset}, index)["created"] is None


def test_a_lun_vsphere_does_not_describe_keeps_its_paths_and_no_names() -> None:
    unit = vim.host.MultipathInfo.LogicalUnit(
        key="k", id="lun-id", lun="key-vim.host.ScsiDisk-gone",
        path=[
            vim.host.MultipathInfo.Path(
                key=f"p{n}", name=f"vmhba{n}:C0:T0:L3", pathState="disabled", adapter="a", lun="k"
            )
            for n in (3, 2)
        ],
    )  # fmt: skip
    (lun,) = multipaths({"config.storageDevice.multipathInfo.lun": [unit]})
    assert (lun["canonical_name"], lun["vendor"], lun["policy"], lun["satp"]) == (None,) * 4
    assert lun["paths"] == [  # vSphere's order, not sorted
        {"name": "vmhba3:C0:T0:L3", "state": "disabled", "working": None},
        {"name": "vmhba2:C0:T0:L3", "state": "disabled", "working": None},
    ]
    assert multipaths({}) == ()
