"""Pure functions from PropertyCollector results to the records of :mod:`iroa.connectors.base`.

Inputs are ``{property path: value}`` dicts as one ``ObjectContent.propSet``
holds them, plus the :class:`InventoryIndex` for references to other objects.
Anything missing or of an unexpected shape becomes None; nothing here raises
on data. VMs are mapped in :mod:`iroa.connectors.vcenter.vm_mapping`.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime

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
from iroa.connectors.vcenter.networking import (
    host_bus_adapters,
    multipaths,
    physical_nics,
    port_policy,
    standard_portgroups,
    virtual_switches,
    vmkernel_nics,
)
from iroa.connectors.vcenter.retrieval import Props, moref_id

MIB = 1024 * 1024
_TRUNK_ALL_VLANS = 4095
_SERIAL_NUMBER_KEYS = ("SerialNumberTag", "ServiceTag", "EnclosureSerialNumberTag")
_VM_POWER_STATES = {"poweredOn": "on", "poweredOff": "off", "suspended": "suspended"}
_HOST_POWER_STATES = {"poweredOn": "on", "poweredOff": "off", "standBy": "standby"}
_DvsVlan = vim.dvs.VmwareDistributedVirtualSwitch
# Resolved once: called for every VM, and pyVmomi's lazy type lookup is slow.
_StringValue = vim.CustomFieldsManager.StringValue


def as_str(value: object) -> str | None:
    """A non-empty string as plain ``str`` (pyVmomi enums are str subclasses), else None."""
    return str(value) if isinstance(value, str) and value else None


def as_int(value: object) -> int | None:
    """An integer as plain ``int`` (not bool), else None."""
    return int(value) if isinstance(value, int) and not isinstance(value, bool) else None


def as_bool(value: object) -> bool | None:
    """A bool, else None."""
    return value if isinstance(value, bool) else None


def as_utc(value: object) -> datetime | None:
    """A datetime converted to timezone-aware UTC (naive ones are taken as UTC), else None."""
    if not isinstance(value, datetime):
        return None
    if value.tzinfo is None or value.utcoffset() is None:
        return value.replace(tzinfo=UTC)
    return value.astimezone(UTC)


def bytes_to_mib(value: object) -> int | None:
    """Whole MiB of a byte count, else None."""
    count = as_int(value)
    return None if count is None else count // MIB


def power_state(value: object) -> str:
    """vSphere power state to the contract's ``on``/``off``/``suspended`` (``unknown`` else)."""
    return _VM_POWER_STATES.get(as_str(value) or "", "unknown")


def host_power_state(value: object) -> str | None:
    """A host's power state: ``on``, ``off``, ``standby`` or ``unknown``; None if not reported."""
    text = as_str(value)
    return None if text is None else _HOST_POWER_STATES.get(text, "unknown")


def map_datacenter(object_id: str, props: Props) -> DatacenterRecord:
    """A datacenter."""
    return DatacenterRecord(external_id=object_id, name=as_str(props.get("name")) or object_id)


def map_cluster(object_id: str, props: Props, index: InventoryIndex) -> ClusterRecord:
    """A cluster with its totals and HA/DRS settings."""
    config = props.get("configurationEx")
    das = config.dasConfig if isinstance(config, vim.cluster.ConfigInfoEx) else None
    drs = config.drsConfig if isinstance(config, vim.cluster.ConfigInfoEx) else None
    return ClusterRecord(
        external_id=object_id,
        name=as_str(props.get("name")) or object_id,
        datacenter_external_id=index.datacenter_of(moref_id(props.get("parent"))),
        host_count=as_int(props.get("summary.numHosts")),
        cpu_total_mhz=as_int(props.get("summary.totalCpu")),
        cpu_cores=as_int(props.get("summary.numCpuCores")),
        cpu_threads=as_int(props.get("summary.numCpuThreads")),
        memory_total_mib=bytes_to_mib(props.get("summary.totalMemory")),
        ha_enabled=as_bool(das.enabled) if isinstance(das, vim.cluster.DasConfigInfo) else None,
        drs_enabled=as_bool(drs.enabled) if isinstance(drs, vim.cluster.DrsConfigInfo) else None,
        drs_behavior=(
            as_str(drs.defaultVmBehavior) if isinstance(drs, vim.cluster.DrsConfigInfo) else None
        ),
        overall_status=as_str(props.get("overallStatus")),
    )


def map_host(object_id: str, props: Props, index: InventoryIndex) -> HostRecord:
    """A host, in a cluster or standalone."""
    parent_id = moref_id(props.get("parent"))
    hardware = props.get("summary.hardware")
    hw = hardware if isinstance(hardware, vim.host.Summary.HardwareSummary) else None
    product = props.get("summary.config.product")
    about = product if isinstance(product, vim.AboutInfo) else None
    return HostRecord(
        external_id=object_id,
        name=as_str(props.get("name")) or object_id,
        datacenter_external_id=index.datacenter_of(parent_id),
        cluster_external_id=index.cluster_of_parent(parent_id),
        vendor=as_str(hw.vendor) if hw else None,
        model=as_str(hw.model) if hw else None,
        serial_number=_serial_number(hw.otherIdentifyingInfo) if hw else None,
        cpu_model=as_str(hw.cpuModel) if hw else None,
        cpu_sockets=as_int(hw.numCpuPkgs) if hw else None,
        cpu_cores=as_int(hw.numCpuCores) if hw else None,
        cpu_threads=as_int(hw.numCpuThreads) if hw else None,
        cpu_mhz=as_int(hw.cpuMhz) if hw else None,
        memory_mib=bytes_to_mib(hw.memorySize) if hw else None,
        hypervisor_name=as_str(about.name) if about else None,
        hypervisor_version=as_str(about.version) if about else None,
        hypervisor_build=as_str(about.build) if about else None,
        connection_state=as_str(props.get("runtime.connectionState")),
        power_state=host_power_state(props.get("runtime.powerState")),
        in_maintenance=as_bool(props.get("runtime.inMaintenanceMode")),
        boot_time=as_utc(props.get("runtime.bootTime")),
        overall_status=as_str(props.get("overallStatus")),
        datastore_external_ids=_moref_ids(props.get("datastore")),
        physical_nics=physical_nics(props),
        virtual_switches=virtual_switches(props),
        portgroups=standard_portgroups(props),
        vmkernel_nics=vmkernel_nics(props),
        host_bus_adapters=host_bus_adapters(props),
        multipaths=multipaths(props),
        cpu_used_mhz=as_int(props.get("summary.quickStats.overallCpuUsage")),
        memory_used_mib=as_int(props.get("summary.quickStats.overallMemoryUsage")),
        uptime_s=as_int(props.get("summary.quickStats.uptime")),
    )


def _moref_ids(values: object) -> tuple[str, ...] | None:
    """The sorted ids of a list of managed object references; None if there is no list."""
    if not isinstance(values, list):
        return None
    return tuple(sorted({i for value in values if (i := moref_id(value)) is not None}))


def _serial_number(identifiers: Iterable[object]) -> str | None:
    values: dict[str, str] = {}
    for info in identifiers or ():
        if isinstance(info, vim.host.SystemIdentificationInfo) and info.identifierType:
            key = as_str(info.identifierType.key)
            value = as_str(info.identifierValue)
            if key and value and value.strip():
                values.setdefault(key, value.strip())
    return next((values[key] for key in _SERIAL_NUMBER_KEYS if key in values), None)


def host_portgroups(props: Props) -> list[tuple[str, PortgroupVlan]]:
    """The standard port groups a host defines: ``(name, VLAN and switch)``."""
    found: list[tuple[str, PortgroupVlan]] = []
    for portgroup in _as_list(props.get("config.network.portgroup")):
        if not isinstance(portgroup, vim.host.PortGroup) or portgroup.spec is None:
            continue
        name = as_str(portgroup.spec.name)
        if name:
            vlan = PortgroupVlan(as_int(portgroup.spec.vlanId), as_str(portgroup.spec.vswitchName))
            found.append((name, vlan))
    return found


def map_datastore(object_id: str, props: Props, index: InventoryIndex) -> DatastoreRecord:
    """A datastore; provisioned = capacity - free + uncommitted when all three are known."""
    summary = props.get("summary")
    info = summary if isinstance(summary, vim.Datastore.Summary) else None
    capacity = as_int(info.capacity) if info else None
    free = as_int(info.freeSpace) if info else None
    uncommitted = as_int(info.uncommitted) if info else None
    provisioned = (
        capacity - free + uncommitted
        if capacity is not None and free is not None and uncommitted is not None
        else None
    )
    return DatastoreRecord(
        external_id=object_id,
        name=as_str(props.get("name")) or object_id,
        datacenter_external_id=index.datacenter_of(moref_id(props.get("parent"))),
        cluster_external_id=_datastore_cluster(props.get("host"), index),
        type=as_str(info.type) if info else None,
        url=as_str(info.url) if info else None,
        capacity_bytes=capacity,
        free_bytes=free,
        provisioned_bytes=provisioned,
        accessible=as_bool(info.accessible) if info else None,
        maintenance_mode=as_str(info.maintenanceMode) if info else None,
        overall_status=as_str(props.get("overallStatus")),
    )


def _datastore_cluster(mounts: object, index: InventoryIndex) -> str | None:
    """The one cluster whose hosts mount a datastore, if no host outside it does."""
    clusters: set[str | None] = set()
    for mount in _as_list(mounts):
        host_id = moref_id(mount.key) if isinstance(mount, vim.Datastore.HostMount) else None
        if host_id is None or host_id not in index.host_clusters:
            return None
        clusters.add(index.host_clusters[host_id])
    return clusters.pop() if len(clusters) == 1 else None


def map_network(
    object_id: str, props: Props, index: InventoryIndex, network_type: str = "standard"
) -> NetworkRecord:
    """A standard (or opaque) network; its VLAN comes from the hosts' port groups."""
    name = as_str(props.get("name")) or object_id
    datacenter_id = index.datacenter_of(moref_id(props.get("parent")))
    vlan = index.standard_portgroup(datacenter_id, name) if network_type == "standard" else None
    vlan_id, vlan_text = _standard_vlan(vlan.vlan_id if vlan else None)
    return NetworkRecord(
        external_id=object_id,
        name=name,
        datacenter_external_id=datacenter_id,
        type=network_type,
        vlan_id=vlan_id,
        vlan=vlan_text,
        switch_name=vlan.switch_name if vlan else None,
    )


def _standard_vlan(vlan_id: int | None) -> tuple[int | None, str | None]:
    if vlan_id is None:
        return None, None
    if vlan_id == _TRUNK_ALL_VLANS:  # "all VLANs": the guest tags its own traffic
        return None, f"0-{_TRUNK_ALL_VLANS - 1}"
    return vlan_id, str(vlan_id)


def map_portgroup(object_id: str, props: Props, index: InventoryIndex) -> NetworkRecord:
    """A distributed port group with its VLAN (id, trunk ranges or private VLAN) and switch."""
    config = props.get("config.defaultPortConfig")
    vlan_spec = config.vlan if isinstance(config, _DvsVlan.VmwarePortConfigPolicy) else None
    vlan_id: int | None = None
    vlan_text: str | None = None
    if isinstance(vlan_spec, _DvsVlan.VlanIdSpec):
        vlan_id = as_int(vlan_spec.vlanId)
        vlan_text = None if vlan_id is None else str(vlan_id)
    elif isinstance(vlan_spec, _DvsVlan.TrunkVlanSpec):
        vlan_text = _vlan_ranges(vlan_spec.vlanId)
    elif isinstance(vlan_spec, _DvsVlan.PvlanSpec):
        pvlan = as_int(vlan_spec.pvlanId)
        vlan_text = None if pvlan is None else f"pvlan {pvlan}"
    switch_id = moref_id(props.get("config.distributedVirtualSwitch"))
    return NetworkRecord(
        external_id=object_id,
        name=as_str(props.get("name")) or object_id,
        datacenter_external_id=index.datacenter_of(moref_id(props.get("parent"))),
        type="distributed",
        vlan_id=vlan_id,
        vlan=vlan_text,
        switch_name=index.switch_names.get(switch_id) if switch_id else None,
        port_policy=port_policy(props),
        distributed_switch=index.switch_facts.get(switch_id) if switch_id else None,
    )


def _vlan_ranges(ranges: Iterable[object]) -> str | None:
    parts: list[tuple[int, int]] = []
    for item in ranges or ():
        if isinstance(item, vim.NumericRange):
            start, end = as_int(item.start), as_int(item.end)
            if start is not None and end is not None:
                parts.append((start, end))
    texts = [str(start) if start == end else f"{start}-{end}" for start, end in sorted(parts)]
    return ",".join(texts) or None


def field_names(props: Props) -> dict[int, str]:
    """Custom attribute names by key, from the CustomFieldsManager's ``field`` property."""
    names: dict[int, str] = {}
    for definition in _as_list(props.get("field")):
        if isinstance(definition, vim.CustomFieldsManager.FieldDef):
            key, name = as_int(definition.key), as_str(definition.name)
            if key is not None and name:
                names[key] = name
    return names


def map_custom_values(
    object_type: str, object_id: str, props: Props, index: InventoryIndex
) -> list[TagRecord]:
    """An object's custom attributes (``customValue``) as tag records."""
    tags: list[TagRecord] = []
    for item in _as_list(props.get("customValue")):
        if not isinstance(item, _StringValue):
            continue
        key = as_int(item.key)
        if key is None:
            continue
        tags.append(
            TagRecord(
                external_id=f"{object_type}:{object_id}:{key}",
                object_type=object_type,
                object_external_id=object_id,
                key=index.field_names.get(key, str(key)),
                value=item.value if isinstance(item.value, str) else None,
            )
        )
    return sorted(tags, key=lambda tag: tag.external_id)


def _as_list(value: object) -> list[object]:
    return list(value) if isinstance(value, list) else []
