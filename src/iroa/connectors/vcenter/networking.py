"""Pure functions from a host's network and storage configuration, and from distributed
switches and port groups, to the facts RVTools' host sheets show (vNIC, vSwitch, vPort,
vSC_VMK, vHBA, dvSwitch, dvPort) and its vMultiPath sheet.

Each fact list is a tuple of small dicts with fixed keys, in device or name order, so
an unchanged configuration gives an equal value (no change row) and a changed one a
readable before and after. Values are as vSphere reports them; a value not reported is
None. Nothing here raises on data.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from pyVmomi import vim

from iroa.connectors.vcenter.index import InventoryIndex
from iroa.connectors.vcenter.retrieval import Props, moref_id

Fact = dict[str, Any]
Facts = tuple[Fact, ...]

_Dvs = vim.dvs.VmwareDistributedVirtualSwitch
_HBA_PREFIX = "Host"
_WWN_BYTES = 8


def _str(value: object) -> str | None:
    return str(value) if isinstance(value, str) and value else None


def _int(value: object) -> int | None:
    return int(value) if isinstance(value, int) and not isinstance(value, bool) else None


def _bool(value: object) -> bool | None:
    return value if isinstance(value, bool) else None


def _list(value: object) -> list[Any]:
    return list(value) if isinstance(value, list) else []


def _sorted(facts: Iterable[Fact], key: str) -> Facts:
    return tuple(sorted(facts, key=lambda fact: (fact[key] is None, fact[key] or "")))


def _host_policy(policy: object) -> Fact:
    """A standard switch's or port group's security, teaming, offload and shaping policy."""
    found = policy if isinstance(policy, vim.host.NetworkPolicy) else None
    security = found.security if found else None
    teaming = found.nicTeaming if found else None
    offload = found.offloadPolicy if found else None
    shaping = found.shapingPolicy if found else None
    return {
        "promiscuous": _bool(security.allowPromiscuous) if security else None,
        "mac_changes": _bool(security.macChanges) if security else None,
        "forged_transmits": _bool(security.forgedTransmits) if security else None,
        "shaping": _bool(shaping.enabled) if shaping else None,
        "average_bps": _int(shaping.averageBandwidth) if shaping else None,
        "peak_bps": _int(shaping.peakBandwidth) if shaping else None,
        "burst_bytes": _int(shaping.burstSize) if shaping else None,
        "teaming": _str(teaming.policy) if teaming else None,
        "reverse_policy": _bool(teaming.reversePolicy) if teaming else None,
        "notify_switches": _bool(teaming.notifySwitches) if teaming else None,
        "rolling_order": _bool(teaming.rollingOrder) if teaming else None,
        "checksum_offload": _bool(offload.csumOffload) if offload else None,
        "tso": _bool(offload.tcpSegmentation) if offload else None,
        "zero_copy_xmit": _bool(offload.zeroCopyXmit) if offload else None,
    }


def _distributed_uplinks(props: Props) -> dict[str, tuple[str | None, str | None]]:
    """``(switch name, uplink name)`` by NIC device, of the distributed switches the host is
    a member of (``config.network.proxySwitch``)."""
    found: dict[str, tuple[str | None, str | None]] = {}
    for proxy in _list(props.get("config.network.proxySwitch")):
        if not isinstance(proxy, vim.host.HostProxySwitch):
            continue
        names = {
            kv.key: _str(kv.value) for kv in _list(proxy.uplinkPort) if isinstance(kv, vim.KeyValue)
        }
        spec = (
            proxy.spec if isinstance(proxy.spec, vim.host.HostProxySwitch.Specification) else None
        )
        backing = spec.backing if spec else None
        if not isinstance(backing, vim.dvs.HostMember.PnicBacking):
            continue
        for pnic in _list(backing.pnicSpec):
            device = (
                _str(pnic.pnicDevice) if isinstance(pnic, vim.dvs.HostMember.PnicSpec) else None
            )
            if device:
                found.setdefault(device, (_str(proxy.dvsName), names.get(pnic.uplinkPortKey)))
    return found


def physical_nics(props: Props) -> Facts:
    """``config.network.pnic``, each with the standard switch it is an uplink of, or the
    distributed switch and uplink it backs."""
    switch_of: dict[str, str] = {}
    for switch in _list(props.get("config.network.vswitch")):
        if isinstance(switch, vim.host.VirtualSwitch) and _str(switch.name):
            for key in _list(switch.pnic):
                if isinstance(key, str):
                    switch_of.setdefault(key, switch.name)
    uplinks = _distributed_uplinks(props)
    found = []
    for nic in _list(props.get("config.network.pnic")):
        if not isinstance(nic, vim.host.PhysicalNic):
            continue
        link = (
            nic.linkSpeed
            if isinstance(nic.linkSpeed, vim.host.PhysicalNic.LinkSpeedDuplex)
            else None
        )
        distributed, uplink = uplinks.get(nic.device, (None, None))
        standard = switch_of.get(nic.key) if isinstance(nic.key, str) else None
        found.append(
            {
                "device": _str(nic.device),
                "driver": _str(nic.driver),
                "speed_mbps": _int(link.speedMb) if link else None,
                "full_duplex": _bool(link.duplex) if link else None,
                "mac": _str(nic.mac),
                "switch": standard or distributed,
                "uplink_port": uplink,
                "pci": _str(nic.pci),
                "wake_on_lan": _bool(nic.wakeOnLanSupported),
            }
        )
    return _sorted(found, "device")


def virtual_switches(props: Props) -> Facts:
    """``config.network.vswitch``: ports, MTU and the switch's own policy."""
    found = []
    for switch in _list(props.get("config.network.vswitch")):
        if not isinstance(switch, vim.host.VirtualSwitch):
            continue
        spec = (
            switch.spec if isinstance(switch.spec, vim.host.VirtualSwitch.Specification) else None
        )
        found.append(
            {
                "name": _str(switch.name),
                "ports": _int(switch.numPorts),
                "free_ports": _int(switch.numPortsAvailable),
                "mtu": _int(switch.mtu),
                **_host_policy(spec.policy if spec else None),
            }
        )
    return _sorted(found, "name")


def standard_portgroups(props: Props) -> Facts:
    """``config.network.portgroup``: switch, VLAN and the policy in effect (``computedPolicy``:
    the switch's, with what the port group overrides)."""
    found = []
    for portgroup in _list(props.get("config.network.portgroup")):
        if not isinstance(portgroup, vim.host.PortGroup):
            continue
        spec = (
            portgroup.spec if isinstance(portgroup.spec, vim.host.PortGroup.Specification) else None
        )
        found.append(
            {
                "name": _str(spec.name) if spec else None,
                "switch": _str(spec.vswitchName) if spec else None,
                "vlan": _int(spec.vlanId) if spec else None,
                **_host_policy(portgroup.computedPolicy),
            }
        )
    return _sorted(found, "name")


def vmkernel_nics(props: Props) -> Facts:
    """``config.network.vnic``: the host's VMkernel adapters and their addresses."""
    found = []
    for nic in _list(props.get("config.network.vnic")):
        if not isinstance(nic, vim.host.VirtualNic):
            continue
        spec = nic.spec if isinstance(nic.spec, vim.host.VirtualNic.Specification) else None
        ip = spec.ip if spec and isinstance(spec.ip, vim.host.IpConfig) else None
        v6 = (
            ip.ipV6Config
            if ip and isinstance(ip.ipV6Config, vim.host.IpConfig.IpV6AddressConfiguration)
            else None
        )
        routes = (
            spec.ipRouteSpec
            if spec and isinstance(spec.ipRouteSpec, vim.host.VirtualNic.IpRouteSpec)
            else None
        )
        route = (
            routes.ipRouteConfig
            if routes and isinstance(routes.ipRouteConfig, vim.host.IpRouteConfig)
            else None
        )
        v6_addresses = [
            f"{address.ipAddress}/{address.prefixLength}"
            for address in _list(v6.ipV6Address if v6 else None)
            if isinstance(address, vim.host.IpConfig.IpV6Address) and _str(address.ipAddress)
        ]
        found.append(
            {
                "device": _str(nic.device),
                "portgroup": _str(nic.portgroup) or (_str(spec.portgroup) if spec else None),
                "mac": _str(spec.mac) if spec else None,
                "dhcp": _bool(ip.dhcp) if ip else None,
                "ip": _str(ip.ipAddress) if ip else None,
                "ip6": ", ".join(v6_addresses) or None,
                "subnet_mask": _str(ip.subnetMask) if ip else None,
                "gateway": _str(route.defaultGateway) if route else None,
                "ip6_gateway": _str(route.ipV6DefaultGateway) if route else None,
                "mtu": _int(spec.mtu) if spec else None,
            }
        )
    return _sorted(found, "device")


def host_bus_adapters(props: Props) -> Facts:
    """``config.storageDevice.hostBusAdapter``: type, status, bus, driver, model, and the
    port WWN of a Fibre Channel adapter or the iSCSI name of an iSCSI one."""
    found = []
    for hba in _list(props.get("config.storageDevice.hostBusAdapter")):
        if not isinstance(hba, vim.host.HostBusAdapter):
            continue
        kind = getattr(type(hba), "_wsdlName", "") or ""
        found.append(
            {
                "device": _str(hba.device),
                "type": kind.removeprefix(_HBA_PREFIX) or None,
                "status": _str(hba.status),
                "bus": _int(hba.bus),
                "pci": _str(hba.pci),
                "driver": _str(hba.driver),
                "model": _str(hba.model),
                "wwn": _wwn(hba),
            }
        )
    return _sorted(found, "device")


def multipaths(props: Props) -> Facts:
    """``config.storageDevice.multipathInfo.lun``: each LUN's path selection policy, storage
    array type policy and paths (in the order vSphere lists them), with what
    ``config.storageDevice.scsiLun`` says of the LUN it names (names, vendor, model, state)."""
    luns = {
        lun.key: lun
        for lun in _list(props.get("config.storageDevice.scsiLun"))
        if isinstance(lun, vim.host.ScsiLun) and isinstance(lun.key, str)
    }
    found = []
    for unit in _list(props.get("config.storageDevice.multipathInfo.lun")):
        if not isinstance(unit, vim.host.MultipathInfo.LogicalUnit):
            continue
        scsi = luns.get(unit.lun) if isinstance(unit.lun, str) else None
        policy = unit.policy
        satp = unit.storageArrayTypePolicy
        found.append(
            {
                **_scsi_lun(scsi),
                "policy": (
                    _str(policy.policy)
                    if isinstance(policy, vim.host.MultipathInfo.LogicalUnitPolicy)
                    else None
                ),
                "satp": (
                    _str(satp.policy)
                    if isinstance(satp, vim.host.MultipathInfo.LogicalUnitStorageArrayTypePolicy)
                    else None
                ),
                "paths": [
                    {
                        "name": _str(path.name),
                        "state": _str(path.state) or _str(path.pathState),
                        "working": _bool(path.isWorkingPath),
                    }
                    for path in _list(unit.path)
                    if isinstance(path, vim.host.MultipathInfo.Path)
                ],
            }
        )
    return _sorted(found, "canonical_name")


def _scsi_lun(found: object) -> Fact:
    """What vMultiPath shows of a LUN; all unknown when vSphere lists no such LUN."""
    lun = found if isinstance(found, vim.host.ScsiLun) else None
    states = [str(s) for s in _list(lun.operationalState if lun else None) if _str(s)]
    return {
        "canonical_name": _str(lun.canonicalName) if lun else None,
        "display_name": _str(lun.displayName) if lun else None,
        "operational_state": ", ".join(states) or None,
        "vstorage": _str(lun.vStorageSupport) if lun else None,
        "queue_depth": _int(lun.queueDepth) if lun else None,
        "vendor": _str(lun.vendor) if lun else None,
        "model": _str(lun.model) if lun else None,
        "revision": _str(lun.revision) if lun else None,
        "scsi_level": _int(lun.scsiLevel) if lun else None,
        "serial_number": _str(lun.serialNumber) if lun else None,
        "uuid": _str(lun.uuid) if lun else None,
    }


def _wwn(hba: object) -> str | None:
    if isinstance(hba, vim.host.FibreChannelHba):
        port = _int(hba.portWorldWideName)
        if port is None:
            return None
        raw = (port % (1 << 64)).to_bytes(_WWN_BYTES, "big")  # sent as a signed long
        return ":".join(f"{byte:02x}" for byte in raw)
    if isinstance(hba, vim.host.InternetScsiHba):
        return _str(hba.iScsiName)
    return None


def _value(policy: object) -> Any:
    """The value of a DVS ``BoolPolicy``/``IntPolicy``/``LongPolicy``/``StringPolicy``."""
    return getattr(policy, "value", None) if isinstance(policy, vim.InheritablePolicy) else None


def _shaping(policy: object, prefix: str) -> Fact:
    found = (
        policy if isinstance(policy, vim.dvs.DistributedVirtualPort.TrafficShapingPolicy) else None
    )
    return {
        f"{prefix}_shaping": _bool(_value(found.enabled)) if found else None,
        f"{prefix}_average_bps": _int(_value(found.averageBandwidth)) if found else None,
        f"{prefix}_peak_bps": _int(_value(found.peakBandwidth)) if found else None,
        f"{prefix}_burst_bytes": _int(_value(found.burstSize)) if found else None,
    }


def port_policy(props: Props) -> Fact | None:
    """A distributed port group's port binding, ports, and default port policy
    (``config.type``, ``config.numPorts``, ``config.defaultPortConfig``, ``config.policy``)."""
    config = props.get("config.defaultPortConfig")
    setting = config if isinstance(config, _Dvs.VmwarePortConfigPolicy) else None
    security = setting.securityPolicy if setting else None
    teaming = setting.uplinkTeamingPolicy if setting else None
    criteria = teaming.failureCriteria if teaming else None
    order = teaming.uplinkPortOrder if teaming else None
    policy = props.get("config.policy")
    overrides = (
        policy if isinstance(policy, vim.dvs.DistributedVirtualPortgroup.PortgroupPolicy) else None
    )
    vmware = policy if isinstance(policy, _Dvs.VMwarePortgroupPolicy) else None
    port_type = _str(props.get("config.type"))
    if setting is None and port_type is None:
        return None
    return {
        "type": port_type,
        "ports": _int(props.get("config.numPorts")),
        "blocked": _bool(_value(setting.blocked)) if setting else None,
        "promiscuous": _bool(_value(security.allowPromiscuous)) if security else None,
        "mac_changes": _bool(_value(security.macChanges)) if security else None,
        "forged_transmits": _bool(_value(security.forgedTransmits)) if security else None,
        "active_uplinks": [str(u) for u in _list(order.activeUplinkPort)] if order else [],
        "standby_uplinks": [str(u) for u in _list(order.standbyUplinkPort)] if order else [],
        "teaming": _str(_value(teaming.policy)) if teaming else None,
        **_shaping(setting.inShapingPolicy if setting else None, "in"),
        **_shaping(setting.outShapingPolicy if setting else None, "out"),
        "reverse_policy": _bool(_value(teaming.reversePolicy)) if teaming else None,
        "notify_switches": _bool(_value(teaming.notifySwitches)) if teaming else None,
        "rolling_order": _bool(_value(teaming.rollingOrder)) if teaming else None,
        "check_beacon": _bool(_value(criteria.checkBeacon)) if criteria else None,
        "check_duplex": _bool(_value(criteria.checkDuplex)) if criteria else None,
        "check_error_percent": _bool(_value(criteria.checkErrorPercent)) if criteria else None,
        "check_speed": _str(_value(criteria.checkSpeed)) if criteria else None,
        "percentage": _int(_value(criteria.percentage)) if criteria else None,
        "live_port_moving": _bool(overrides.livePortMovingAllowed) if overrides else None,
        "block_override": _bool(overrides.blockOverrideAllowed) if overrides else None,
        "config_reset": _bool(overrides.portConfigResetAtDisconnect) if overrides else None,
        "shaping_override": _bool(overrides.shapingOverrideAllowed) if overrides else None,
        "vendor_config_override": (
            _bool(overrides.vendorConfigOverrideAllowed) if overrides else None
        ),
        "security_override": _bool(vmware.securityPolicyOverrideAllowed) if vmware else None,
        "teaming_override": _bool(vmware.uplinkTeamingOverrideAllowed) if vmware else None,
        "vlan_override": _bool(vmware.vlanOverrideAllowed) if vmware else None,
    }


def distributed_switch(object_id: str, props: Props, index: InventoryIndex) -> Fact:
    """A distributed switch (its ``config`` and ``summary``): what each of its port groups
    carries, for the dvSwitch sheet."""
    found = props.get("summary.productInfo")
    product = found if isinstance(found, vim.dvs.ProductSpec) else None
    config = props.get("config")
    dvs = config if isinstance(config, vim.DistributedVirtualSwitch.ConfigInfo) else None
    vmware = config if isinstance(config, _Dvs.ConfigInfo) else None
    port = dvs.defaultPortConfig if dvs else None
    discovery = vmware.linkDiscoveryProtocolConfig if vmware else None
    lacp = [
        g
        for g in _list(vmware.lacpGroupConfig if vmware else None)
        if isinstance(g, _Dvs.LacpGroupConfig)
    ]
    contact = (
        dvs.contact
        if dvs and isinstance(dvs.contact, vim.DistributedVirtualSwitch.ContactInfo)
        else None
    )
    hosts = sorted(
        {
            index.host_names.get(moref_id(h) or "", moref_id(h) or "")
            for h in _list(props.get("summary.hostMember"))
        }
        - {""}
    )
    created = dvs.createTime if dvs and isinstance(dvs.createTime, datetime) else None
    if created is not None and created.year == 1:  # the zero time of a switch that has none
        created = None
    return {
        "id": object_id,
        "name": _str(props.get("name")) or object_id,
        "vendor": _str(product.vendor) if product else None,
        "version": _str(product.version) if product else None,
        "description": _str(props.get("summary.description")),
        "created": created.isoformat() if created is not None else None,
        "hosts": hosts,
        "max_ports": _int(dvs.maxPorts) if dvs else None,
        "ports": _int(dvs.numPorts) if dvs else None,
        **_shaping(port.inShapingPolicy if port else None, "in"),
        **_shaping(port.outShapingPolicy if port else None, "out"),
        "cdp_type": _str(discovery.protocol) if discovery else None,
        "cdp_operation": _str(discovery.operation) if discovery else None,
        "lacp_name": ", ".join(filter(None, (_str(g.name) for g in lacp))) or None,
        "lacp_mode": ", ".join(filter(None, (_str(g.mode) for g in lacp))) or None,
        "lacp_load_balance": ", ".join(filter(None, (_str(g.loadbalanceAlgorithm) for g in lacp)))
        or None,
        "max_mtu": _int(vmware.maxMtu) if vmware else None,
        "contact": _str(contact.contact) if contact else None,
        "admin_name": _str(contact.name) if contact else None,
    }
