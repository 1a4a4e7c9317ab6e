"""The rows the inventory's reads return: list items and details, by object type.

Each is a ``TypedDict`` named after what it holds; the keys are the field names of
``docs/model.md``. ``tests/inventory/test_rows.py`` holds every type to the columns
its statement selects, so a renamed or added column fails there, and every use of
the old key fails type checking. Timestamps are aware datetimes in UTC (the JSON
renderers write them as ISO-8601).
"""

# Annotations are evaluated here (no ``from __future__ import annotations``): Python
# 3.11's TypedDict tells ``NotRequired`` keys only from evaluated annotations.
from datetime import datetime
from typing import Any, NotRequired, TypedDict


class ObjectRow(TypedDict):
    """What every inventory row carries: its identity, source and lifecycle."""

    id: int
    integration: str
    platform: str
    external_id: str
    first_seen_at: datetime
    last_seen_at: datetime | None
    """The integration's last successful sync while present; the last sight once removed."""
    removed_at: datetime | None


class DatacenterItem(ObjectRow):
    name: str


class InDatacenter(ObjectRow):
    name: str
    datacenter_id: int | None
    datacenter: str | None


class ClusterItem(InDatacenter):
    host_count: int | None
    cpu_total_mhz: int | None
    cpu_cores: int | None
    cpu_threads: int | None
    memory_total_mib: int | None
    ha_enabled: bool | None
    drs_enabled: bool | None
    drs_behavior: str | None
    overall_status: str | None


class HostItem(InDatacenter):
    cluster_id: int | None
    cluster: str | None
    vendor: str | None
    model: str | None
    serial_number: str | None
    cpu_model: str | None
    cpu_sockets: int | None
    cpu_cores: int | None
    cpu_threads: int | None
    cpu_mhz: int | None
    memory_mib: int | None
    hypervisor_name: str | None
    hypervisor_version: str | None
    hypervisor_build: str | None
    connection_state: str | None
    power_state: str | None
    in_maintenance: bool | None
    boot_time: datetime | None
    overall_status: str | None
    datastore_external_ids: list[str] | None
    physical_nics: list[dict[str, Any]]
    virtual_switches: list[dict[str, Any]]
    portgroups: list[dict[str, Any]]
    vmkernel_nics: list[dict[str, Any]]
    host_bus_adapters: list[dict[str, Any]]
    multipaths: list[dict[str, Any]]
    cpu_used_mhz: int | None
    """Latest usage figures (vCenter quickStats; None elsewhere): CPU in use …"""
    memory_used_mib: int | None
    uptime_s: int | None
    usage_sampled_at: datetime | None
    """When the usage figures were read (the sync or watched change that read them)."""


class DatastoreItem(InDatacenter):
    cluster_id: int | None
    cluster: str | None
    type: str | None
    file_system: str | None
    url: str | None
    capacity_bytes: int | None
    free_bytes: int | None
    provisioned_bytes: int | None
    accessible: bool | None
    maintenance_mode: str | None
    overall_status: str | None


class NetworkItem(InDatacenter):
    type: str | None
    vlan_id: int | None
    vlan: str | None
    switch_name: str | None
    port_policy: dict[str, Any] | None
    distributed_switch: dict[str, Any] | None


class VmRow(InDatacenter):
    """A VM's own columns and the names it references: the part its list item and its
    detail share."""

    cluster_id: int | None
    cluster: str | None
    host_id: int | None
    host: str | None
    power_state: str
    is_template: bool
    num_cpu: int | None
    cores_per_socket: int | None
    memory_mib: int | None
    memory_assigned_mib: int | None
    memory_dynamic: bool | None
    memory_min_mib: int | None
    memory_max_mib: int | None
    guest_os: str | None
    guest_os_version: str | None
    guest_id: str | None
    guest_hostname: str | None
    ip_addresses: list[str]
    tools_status: str | None
    tools_version: str | None
    uuid: str | None
    instance_uuid: str | None
    resource_pool: str | None
    folder: str | None
    notes: str | None
    hardware_version: str | None
    generation: int | None
    is_clustered: bool | None
    provisioned_bytes: int | None
    used_bytes: int | None
    created_at: datetime | None
    boot_time: datetime | None
    overall_status: str | None
    tools_guest_os: str | None
    guest_state: str | None
    connection_state: str | None
    heartbeat: str | None
    firmware: str | None
    config_path: str | None
    video_ram_kib: int | None
    num_monitors: int | None
    consolidation_needed: bool | None
    tools_version_status: str | None
    cpu_used_mhz: int | None
    """Latest usage figures (vCenter quickStats; None elsewhere): CPU in use …"""
    guest_memory_used_mib: int | None
    host_memory_used_mib: int | None
    uptime_s: int | None
    usage_sampled_at: datetime | None
    """When the usage figures were read (the sync or watched change that read them)."""


class VmItem(VmRow):
    """A VM in a list: its datastores and networks by name, sorted."""

    datastores: list[str]
    networks: list[str]


ListItem = DatacenterItem | ClusterItem | HostItem | DatastoreItem | NetworkItem | VmItem


class VmPartRow(ObjectRow):
    vm_id: int | None
    vm: str | None


class VmDiskRow(VmPartRow):
    label: str
    datastore_id: int | None
    datastore: str | None
    capacity_bytes: int | None
    file_path: str | None
    thin_provisioned: bool | None
    used_bytes: int | None
    disk_format: str | None
    disk_type: str | None
    disk_mode: str | None
    controller: str | None
    unit_number: int | None
    raw: bool | None
    raw_compatibility_mode: str | None
    sharing: str | None
    eagerly_scrub: bool | None
    disk_uuid: str | None


class VmNicRow(VmPartRow):
    label: str
    network_id: int | None
    network: str | None
    network_name: str | None
    mac_address: str | None
    adapter_type: str | None
    connected: bool | None
    ip_addresses: list[str]


class VmSnapshotRow(VmPartRow):
    name: str
    description: str | None
    created_at: datetime | None
    parent_external_id: str | None
    is_current: bool | None
    power_state: str | None
    vmsn_bytes: int | None
    size_bytes: int | None


class NamedRef(TypedDict):
    id: int
    name: str


class TagRow(TypedDict):
    kind: str
    key: str
    value: str | None


class ChangeRow(TypedDict):
    id: int
    changed_at: datetime
    sync_run_id: int
    object_type: str
    object_id: int
    object_name: str | None
    action: str
    fields: dict[str, list[Any]] | None
    actor: str | None
    """The vCenter user of the event that explains the change; None when none does."""
    event: str | None
    """That event's type (``VmPoweredOffEvent``)."""


class EventRow(TypedDict):
    """A vCenter event about an object, as the events list shows it."""

    id: int
    integration: str | None
    platform: str | None
    key: int
    created_at: datetime
    type: str
    user: str | None
    object_type: str | None
    """IROA's type name (``vm``), or vCenter's lower-cased where IROA has no such type."""
    object_id: int | None
    """The object's inventory id, when it is in the inventory."""
    external_id: str | None
    object_name: str | None
    message: str | None
    chain_id: int | None


class VmSummary(TypedDict):
    """A VM named in another object's detail."""

    id: int
    name: str
    power_state: str
    num_cpu: int | None
    memory_mib: int | None
    host: str | None
    cluster: str | None


class DetailParts(TypedDict):
    """What every detail adds to its object's row."""

    tags: list[TagRow]
    changes: list[ChangeRow]
    """The latest changes, newest first; a VM's include its disks', NICs' and snapshots'."""
    findings: NotRequired[list[dict[str, Any]]]
    """Open findings, where the reader asked for them."""
    monitoring: NotRequired[dict[str, Any]]
    """What monitoring systems report, for monitored types, where the reader asked."""


class VmDetail(VmRow, DetailParts):
    disks: list[VmDiskRow]
    nics: list[VmNicRow]
    snapshots: list[VmSnapshotRow]
    datastores: list[NamedRef]
    networks: list[NamedRef]
    metrics: None
    events: list[EventRow]
    """Its latest vCenter events, newest first."""


class VmsOf(TypedDict):
    """The present VMs related to an object: their count and the first of them by name."""

    vm_count: int
    vms: list[VmSummary]


class HostDetail(HostItem, DetailParts, VmsOf):
    events: list[EventRow]
    """Its latest vCenter events, newest first."""


class OrphanedDiskRow(TypedDict):
    """A disk file on a datastore no VM uses, as the last search of the datastore found it."""

    path: str
    size_bytes: int | None
    first_seen_at: datetime


class DatastoreDetail(DatastoreItem, DetailParts, VmsOf):
    orphaned_disks: list[OrphanedDiskRow]
    """Largest first (unknown sizes last), then by path."""


class NetworkDetail(NetworkItem, DetailParts, VmsOf):
    pass


class ClusterHost(TypedDict):
    id: int
    name: str
    connection_state: str | None
    power_state: str | None
    in_maintenance: bool | None
    cpu_cores: int | None
    memory_mib: int | None


class ClusterTotals(TypedDict):
    hosts: int
    host_cpu_cores: int
    host_memory_mib: int
    vms: int
    vms_on: int
    vcpus: int
    vm_memory_mib: int


class ClusterDetail(ClusterItem, DetailParts, VmsOf):
    hosts: list[ClusterHost]
    totals: ClusterTotals


class DatacenterCounts(TypedDict):
    clusters: int
    hosts: int
    datastores: int
    networks: int
    vms: int


class ClusterRef(TypedDict):
    id: int
    name: str
    host_count: int | None


class DatacenterDetail(DatacenterItem, DetailParts):
    counts: DatacenterCounts
    clusters: list[ClusterRef]


Detail = VmDetail | HostDetail | ClusterDetail | DatastoreDetail | NetworkDetail | DatacenterDetail

ITEMS: dict[str, type[Any]] = {
    "datacenters": DatacenterItem,
    "clusters": ClusterItem,
    "hosts": HostItem,
    "datastores": DatastoreItem,
    "networks": NetworkItem,
    "vms": VmItem,
    "vm_disks": VmDiskRow,
    "vm_nics": VmNicRow,
    "vm_snapshots": VmSnapshotRow,
}
"""The row type of each type's list statement, by plural."""

DETAILS: dict[str, type[Any]] = {
    "datacenters": DatacenterDetail,
    "clusters": ClusterDetail,
    "hosts": HostDetail,
    "datastores": DatastoreDetail,
    "networks": NetworkDetail,
    "vms": VmDetail,
}
"""The detail type of each listable type, by plural."""
