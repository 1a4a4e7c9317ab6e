"""What every connector produces: plain, immutable records of one full read.

A connector turns one external system into a :class:`Snapshot`. References
between records are the referenced object's ``external_id`` (fields ending in
``_external_id``); the sync engine resolves them to database ids. Units are in
the field names. Connectors never touch the database.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, fields
from datetime import datetime
from operator import attrgetter, itemgetter
from typing import Any, ClassVar, Protocol, runtime_checkable

from iroa.errors import IroaError


@dataclass(frozen=True, slots=True)
class DatacenterRecord:
    external_id: str
    name: str


@dataclass(frozen=True, slots=True)
class ClusterRecord:
    external_id: str
    name: str
    datacenter_external_id: str | None = None
    host_count: int | None = None
    cpu_total_mhz: int | None = None
    cpu_cores: int | None = None
    cpu_threads: int | None = None
    memory_total_mib: int | None = None
    ha_enabled: bool | None = None
    drs_enabled: bool | None = None
    drs_behavior: str | None = None
    overall_status: str | None = None


@dataclass(frozen=True, slots=True)
class HostRecord:
    external_id: str
    name: str
    datacenter_external_id: str | None = None
    cluster_external_id: str | None = None
    vendor: str | None = None
    model: str | None = None
    serial_number: str | None = None
    cpu_model: str | None = None
    cpu_sockets: int | None = None
    cpu_cores: int | None = None
    cpu_threads: int | None = None
    cpu_mhz: int | None = None
    memory_mib: int | None = None
    hypervisor_name: str | None = None
    hypervisor_version: str | None = None
    hypervisor_build: str | None = None
    connection_state: str | None = None
    power_state: str | None = None
    in_maintenance: bool | None = None
    boot_time: datetime | None = None
    overall_status: str | None = None
    datastore_external_ids: tuple[str, ...] | None = None
    """The datastores available to the host, sorted; None if the source does not say."""
    physical_nics: tuple[dict[str, Any], ...] = ()
    virtual_switches: tuple[dict[str, Any], ...] = ()
    portgroups: tuple[dict[str, Any], ...] = ()
    vmkernel_nics: tuple[dict[str, Any], ...] = ()
    host_bus_adapters: tuple[dict[str, Any], ...] = ()
    """The host's network and storage adapters, switches and port groups, one small dict each
    (keys: docs/exports.md's host sheets), in device or name order."""
    multipaths: tuple[dict[str, Any], ...] = ()
    """The host's storage LUNs with their multipathing policy and paths, one small dict each
    (keys: docs/exports.md's vMultiPath), in canonical name order."""
    cpu_used_mhz: int | None = None
    memory_used_mib: int | None = None
    uptime_s: int | None = None


@dataclass(frozen=True, slots=True)
class DatastoreRecord:
    external_id: str
    name: str
    datacenter_external_id: str | None = None
    cluster_external_id: str | None = None
    type: str | None = None
    file_system: str | None = None
    url: str | None = None
    capacity_bytes: int | None = None
    free_bytes: int | None = None
    provisioned_bytes: int | None = None
    accessible: bool | None = None
    maintenance_mode: str | None = None
    overall_status: str | None = None


@dataclass(frozen=True, slots=True)
class NetworkRecord:
    external_id: str
    name: str
    datacenter_external_id: str | None = None
    type: str | None = None
    vlan_id: int | None = None
    vlan: str | None = None
    switch_name: str | None = None
    port_policy: dict[str, Any] | None = None
    """A distributed port group's binding, ports and default port policy."""
    distributed_switch: dict[str, Any] | None = None
    """The facts of a distributed port group's switch (the same on each of its port groups)."""


@dataclass(frozen=True, slots=True)
class ResourcePoolRecord:
    """A resource pool (a vApp too): its allocation settings and usage, RVTools' vRP.

    CPU in MHz; configured memory in MiB; memory usage in bytes, as vCenter reports
    them. A limit of -1 is none.
    """

    external_id: str
    name: str
    datacenter_external_id: str | None = None
    cluster_external_id: str | None = None
    path: str | None = None
    overall_status: str | None = None
    cpu_reservation_mhz: int | None = None
    cpu_limit_mhz: int | None = None
    cpu_expandable: bool | None = None
    cpu_shares_level: str | None = None
    cpu_shares: int | None = None
    memory_reservation_mib: int | None = None
    memory_limit_mib: int | None = None
    memory_expandable: bool | None = None
    memory_shares_level: str | None = None
    memory_shares: int | None = None
    cpu_max_usage_mhz: int | None = None
    cpu_reservation_used_mhz: int | None = None
    cpu_reservation_used_for_vm_mhz: int | None = None
    cpu_unreserved_for_pool_mhz: int | None = None
    cpu_unreserved_for_vm_mhz: int | None = None
    memory_max_usage_bytes: int | None = None
    memory_reservation_used_bytes: int | None = None
    memory_reservation_used_for_vm_bytes: int | None = None
    memory_unreserved_for_pool_bytes: int | None = None
    memory_unreserved_for_vm_bytes: int | None = None


@dataclass(frozen=True, slots=True)
class VmRecord:
    external_id: str
    name: str
    datacenter_external_id: str | None = None
    cluster_external_id: str | None = None
    host_external_id: str | None = None
    power_state: str = "unknown"
    is_template: bool = False
    num_cpu: int | None = None
    cores_per_socket: int | None = None
    memory_mib: int | None = None
    memory_assigned_mib: int | None = None
    memory_dynamic: bool | None = None
    memory_min_mib: int | None = None
    memory_max_mib: int | None = None
    guest_os: str | None = None
    guest_os_version: str | None = None
    guest_id: str | None = None
    guest_hostname: str | None = None
    ip_addresses: tuple[str, ...] = ()
    tools_status: str | None = None
    tools_version: str | None = None
    uuid: str | None = None
    instance_uuid: str | None = None
    resource_pool: str | None = None
    folder: str | None = None
    notes: str | None = None
    hardware_version: str | None = None
    generation: int | None = None
    is_clustered: bool | None = None
    provisioned_bytes: int | None = None
    used_bytes: int | None = None
    created_at: datetime | None = None
    boot_time: datetime | None = None
    overall_status: str | None = None
    tools_guest_os: str | None = None
    guest_state: str | None = None
    connection_state: str | None = None
    heartbeat: str | None = None
    firmware: str | None = None
    config_path: str | None = None
    video_ram_kib: int | None = None
    num_monitors: int | None = None
    consolidation_needed: bool | None = None
    tools_version_status: str | None = None
    cpu_used_mhz: int | None = None
    guest_memory_used_mib: int | None = None
    host_memory_used_mib: int | None = None
    uptime_s: int | None = None


USAGE_FIELDS: Mapping[str, tuple[str, ...]] = {
    "vm": ("cpu_used_mhz", "guest_memory_used_mib", "host_memory_used_mib", "uptime_s"),
    "host": ("cpu_used_mhz", "memory_used_mib", "uptime_s"),
}
"""The fields of VM and host records that are a moment's usage, not inventory: they change
at every read, so the sync stores them as usage samples and never compares them
(:mod:`iroa.sync.usage`); they have no column in the inventory tables."""


@dataclass(frozen=True, slots=True)
class VmDiskRecord:
    external_id: str
    vm_external_id: str
    label: str
    datastore_external_id: str | None = None
    capacity_bytes: int | None = None
    file_path: str | None = None
    thin_provisioned: bool | None = None
    used_bytes: int | None = None
    disk_format: str | None = None
    disk_type: str | None = None
    disk_mode: str | None = None
    controller: str | None = None
    unit_number: int | None = None
    raw: bool | None = None
    raw_compatibility_mode: str | None = None
    sharing: str | None = None
    eagerly_scrub: bool | None = None
    disk_uuid: str | None = None


@dataclass(frozen=True, slots=True)
class VmNicRecord:
    external_id: str
    vm_external_id: str
    label: str
    network_external_id: str | None = None
    network_name: str | None = None
    mac_address: str | None = None
    adapter_type: str | None = None
    connected: bool | None = None
    ip_addresses: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class VmSnapshotRecord:
    external_id: str
    vm_external_id: str
    name: str
    description: str | None = None
    created_at: datetime | None = None
    parent_external_id: str | None = None
    is_current: bool | None = None
    power_state: str | None = None
    vmsn_bytes: int | None = None
    """Its state file's size on disk; None where the source does not say."""
    size_bytes: int | None = None
    """What it holds on disk: state, memory and the delta disks written on top of it
    (:mod:`iroa.connectors.vcenter.layout`); None where the source does not say."""


@dataclass(frozen=True, slots=True)
class VmDatastoreRecord:
    """A VM uses a datastore (derived from its disks and files)."""

    external_id: str
    vm_external_id: str
    datastore_external_id: str


@dataclass(frozen=True, slots=True)
class VmNetworkRecord:
    """A VM is attached to a network (derived from its NICs)."""

    external_id: str
    vm_external_id: str
    network_external_id: str


@dataclass(frozen=True, slots=True)
class VmPartitionRecord:
    """A file system the guest reports (VMware Tools' ``guest.disk``): RVTools' vPartition."""

    external_id: str
    vm_external_id: str
    disk_path: str
    capacity_bytes: int | None = None
    free_bytes: int | None = None
    disk_key: int | None = None
    """The virtual disk it lives on (vSphere 7.0 and later report it)."""


@dataclass(frozen=True, slots=True)
class VmDeviceRecord:
    """A VM's CD/DVD drive (``kind`` ``cd``) or USB device (``usb``): RVTools' vCD and vUSB."""

    external_id: str
    vm_external_id: str
    kind: str
    label: str
    connected: bool | None = None
    start_connected: bool | None = None
    device_type: str | None = None
    """What backs it: an ISO file's path, the client's or host's drive, a USB device's name."""
    unit_number: int | None = None
    usb_family: str | None = None
    usb_speed: str | None = None
    ehci_enabled: bool | None = None
    """Of the USB controller the device is attached to, as are the two below."""
    auto_connect: bool | None = None
    bus_number: int | None = None


@dataclass(frozen=True, slots=True)
class TagRecord:
    """A custom attribute or tag of one object, addressed by type and external id."""

    external_id: str
    object_type: str
    object_external_id: str
    key: str
    value: str | None = None
    kind: str = "custom_attribute"


Record = (
    DatacenterRecord
    | ClusterRecord
    | HostRecord
    | DatastoreRecord
    | NetworkRecord
    | ResourcePoolRecord
    | VmRecord
    | VmDiskRecord
    | VmNicRecord
    | VmSnapshotRecord
    | VmDatastoreRecord
    | VmNetworkRecord
    | VmPartitionRecord
    | VmDeviceRecord
    | TagRecord
)


@dataclass(frozen=True, slots=True)
class Rows:
    """Records of one kind as plain tuples in the order of their fields: how the parts of
    a snapshot reach the sync (tuples are far cheaper to store, read back and compare
    than record objects)."""

    kind: type[Record] | None
    fields: tuple[str, ...]
    rows: Sequence[tuple[Any, ...]]

    @classmethod
    def of(cls, records: Sequence[Record]) -> Rows:
        if not records:
            return EMPTY_ROWS
        kind = type(records[0])
        names = tuple(f.name for f in fields(kind))
        getter = attrgetter(*names)
        return cls(kind, names, [getter(record) for record in records])

    def __len__(self) -> int:
        return len(self.rows)

    def getter(self, *names: str) -> Callable[[tuple[Any, ...]], Any]:
        """Reads the fields ``names`` of a row (one value for one name, else a tuple)."""
        return itemgetter(*(self.fields.index(name) for name in names))

    def column(self, name: str) -> list[Any]:
        return list(map(self.getter(name), self.rows)) if self.rows else []

    def records(self) -> list[Any]:
        """The rows as record objects again."""
        if self.kind is None:
            return []
        kind = self.kind
        return [kind(*row) for row in self.rows]


EMPTY_ROWS = Rows(None, (), ())

Part = Mapping[str, Rows]
"""Part of a snapshot as the sync applies it: its rows by part name (``vms``, ``tags`` …)."""


@dataclass(frozen=True, slots=True)
class LicenseInfo:
    """One license a vCenter holds (its LicenseManager): RVTools' vLicense.

    ``key`` is masked but for its last five characters, when it is read: the
    whole key never leaves the connector.
    """

    name: str
    key: str
    total: int | None = None
    used: int | None = None
    cost_unit: str | None = None
    expires_at: datetime | None = None
    labels: tuple[str, ...] = ()
    features: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class SourceInfo:
    """What a successful connection learned about the system behind it."""

    name: str
    product: str
    version: str | None = None
    build: str | None = None
    object_counts: dict[str, int] = field(default_factory=dict)
    about: Mapping[str, str | None] = field(default_factory=dict)
    """What the system says of itself beyond the above, by RVTools' vSource column names'
    sources (vCenter: its ``AboutInfo``: ``apiVersion``, ``instanceUuid`` …)."""
    licenses: tuple[LicenseInfo, ...] | None = None
    """The licenses it holds; None when they were not read (a partial read, no permission)."""


@dataclass(frozen=True, slots=True)
class SkippedObject:
    """An object left out of a snapshot because it could not be mapped; the run goes on.

    ``object_type`` is the inventory type's singular name (``vm``, ``host``).
    """

    object_type: str
    external_id: str
    reason: str


@dataclass(frozen=True, slots=True, order=True)
class OrphanedDiskRecord:
    """A virtual disk file on a datastore that no VM of the source uses (a "zombie" VMDK)."""

    datastore_external_id: str
    path: str
    """As vSphere writes it: ``[datastore] folder/name.vmdk``."""
    size_bytes: int | None = None


@dataclass(frozen=True, slots=True)
class DiskScan:
    """What a search of the datastores for virtual disk files found that no VM uses.

    ``datastores`` are those searched completely: the stored files of the others are
    kept as they are (a datastore that could not be searched this time says nothing).
    """

    datastores: frozenset[str] = frozenset()
    orphaned: tuple[OrphanedDiskRecord, ...] = ()


@dataclass(frozen=True, slots=True)
class Snapshot:
    """One full read of an inventory source."""

    source: SourceInfo
    datacenters: Sequence[DatacenterRecord] = ()
    clusters: Sequence[ClusterRecord] = ()
    hosts: Sequence[HostRecord] = ()
    datastores: Sequence[DatastoreRecord] = ()
    networks: Sequence[NetworkRecord] = ()
    resource_pools: Sequence[ResourcePoolRecord] = ()
    vms: Sequence[VmRecord] = ()
    vm_disks: Sequence[VmDiskRecord] = ()
    vm_nics: Sequence[VmNicRecord] = ()
    vm_snapshots: Sequence[VmSnapshotRecord] = ()
    vm_datastores: Sequence[VmDatastoreRecord] = ()
    vm_networks: Sequence[VmNetworkRecord] = ()
    vm_partitions: Sequence[VmPartitionRecord] = ()
    vm_devices: Sequence[VmDeviceRecord] = ()
    tags: Sequence[TagRecord] = ()
    warnings: Sequence[SkippedObject] = ()
    """Objects that could not be mapped: reported with the run, kept as they were stored."""
    unread_tag_kinds: Collection[str] = frozenset()
    """Kinds of tags this read leaves alone (a watch's delta does not read vSphere tags):
    the stored ones stay as they are."""
    disk_scan: DiskScan | None = None
    """The orphaned disk files a search of the datastores found; None when none was run
    (then a full sync forgets the stored ones)."""

    def counts(self) -> Mapping[str, int]:
        """How many records of each part name (``vms``, ``vm_disks`` …) it holds."""
        return {name: len(getattr(self, name)) for name in SNAPSHOT_PARTS}

    def owner_ids(self) -> Mapping[str, frozenset[str]]:
        """The external ids of the objects of each of :data:`OWNER_PARTS`."""
        return {
            name: frozenset(record.external_id for record in getattr(self, name))
            for name in OWNER_PARTS
        }

    def parts(self) -> Iterator[Part]:
        """The snapshot as parts to apply one by one: here, the whole of it."""
        yield {name: Rows.of(getattr(self, name)) for name in SNAPSHOT_PARTS}

    def close(self) -> None:
        """Nothing to release: a snapshot in memory goes with its last reference."""


class Collected(Protocol):
    """A full read as a sync applies it: a :class:`Snapshot`, or one kept in parts
    (:class:`~iroa.connectors.spool.SpooledSnapshot`).

    Each part is complete for the objects it holds (an owner comes with its
    parts and tags), and objects come before the parts that reference them.
    """

    @property
    def source(self) -> SourceInfo: ...

    @property
    def warnings(self) -> Sequence[SkippedObject]: ...

    @property
    def disk_scan(self) -> DiskScan | None: ...

    def counts(self) -> Mapping[str, int]: ...

    def owner_ids(self) -> Mapping[str, frozenset[str]]: ...

    def parts(self) -> Iterator[Part]: ...

    def close(self) -> None:
        """Release what holds the parts (a temporary file); the snapshot is not read again."""
        ...


@dataclass(frozen=True, slots=True)
class Delta:
    """What changed in an inventory source since an earlier read: the current records of the
    objects it touched, and which objects those are.

    ``touched`` holds, per primary type (``"vm"``, ``"host"`` …), the external ids
    the delta speaks for: those in ``snapshot`` are as the source has them now, with
    their parts (a VM's disks, NICs, snapshots, placements) and tags; those not in it
    are gone. Everything else stays as stored.
    """

    snapshot: Snapshot
    touched: Mapping[str, frozenset[str]]

    @property
    def size(self) -> int:
        """How many objects it touches."""
        return sum(len(ids) for ids in self.touched.values())


@dataclass(frozen=True, slots=True)
class Resync:
    """Changes a watch cannot give as a :class:`Delta`: a full read must map them."""

    reason: str


class Watch(Protocol):
    """What changed in one inventory source, from one long-lived session.

    A context manager: entering connects, leaving disconnects. Only reads.
    """

    kind: ClassVar[str]

    @property
    def max_wait_s(self) -> int:
        """The longest :meth:`wait` blocks."""
        ...

    def __enter__(self) -> Watch: ...

    def __exit__(self, *exc_info: object) -> None: ...

    def baseline(self, progress: Progress) -> Collected:
        """Read everything; later waits report what changed since this read began."""
        ...

    def wait(self, max_wait_s: float) -> Delta | Resync | None:
        """Block up to ``max_wait_s`` for changes: what they are, or None."""
        ...


SNAPSHOT_PARTS: tuple[str, ...] = tuple(
    part.name
    for part in fields(Snapshot)
    if part.name not in ("source", "warnings", "unread_tag_kinds", "disk_scan")
)
"""The record lists of a :class:`Snapshot`, by name (``datacenters`` … ``tags``)."""

OWNER_PARTS: tuple[str, ...] = (
    "datacenters",
    "clusters",
    "hosts",
    "datastores",
    "networks",
    "resource_pools",
    "vms",
)
"""The record lists whose objects others reference or own: everything but a VM's parts and
tags."""


def skip_reason(exc: Exception) -> str:
    """One short line saying why mapping an object failed."""
    text = " ".join(str(exc).split())
    return f"{type(exc).__name__}: {text}"[:300] if text else type(exc).__name__


class Progress(Protocol):
    """Receives real progress: a phase with its total, then steps done."""

    def start(self, phase: str, total: int | None = None) -> None: ...

    def advance(self, done: int = 1) -> None: ...


class NullProgress:
    """Progress sink that discards everything."""

    def start(self, phase: str, total: int | None = None) -> None:
        return None

    def advance(self, done: int = 1) -> None:
        return None


@dataclass(frozen=True, slots=True)
class ConnectionOptions:
    """How to reach one external system; built from an integration's settings."""

    url: str
    username: str | None = None
    password: str | None = field(default=None, repr=False)
    ca_file: str | None = None
    insecure: bool = False
    transport: str | None = None
    connect_timeout_s: float = 15.0
    read_timeout_s: float = 300.0
    token: bool = False
    """The secret is an API (bearer) token rather than a password."""
    settings: Mapping[str, Any] = field(default_factory=dict)
    """Kind-specific settings (Prometheus queries and join, Zabbix match order), resolved."""
    lean_decoding: bool = True
    """vCenter: decode bulk answers with IROA's lean decoder rather than pyVmomi's."""
    search_datastores: bool = True
    """vCenter: search the datastores for orphaned disks at each full read."""
    kerberos_delegation: bool = False
    """Hyper-V over Kerberos: a forwardable ticket for the host (a cluster reads its nodes)."""


class Connector(Protocol):
    """Reads one external system; never writes anything anywhere."""

    kind: ClassVar[str]

    def check(self) -> SourceInfo:
        """Connect and log in, then log out; raise a :class:`ConnectorError` if that fails."""
        ...

    def collect(self, progress: Progress) -> Collected:
        """Read the whole inventory in one pass."""
        ...


@dataclass(frozen=True, slots=True)
class EventRecord:
    """One event of the source's own log: who did what to which object, and when.

    ``object_type`` is the source's name for the object's type (vCenter:
    ``VirtualMachine``, ``HostSystem`` …) and ``object_external_id`` its id
    there; both are None for an event about no inventory object. ``key``
    grows with every event the source logs.
    """

    key: int
    created_at: datetime
    event_type: str
    user_name: str | None
    object_type: str | None
    object_external_id: str | None
    object_name: str | None
    message: str | None
    chain_id: int | None


@dataclass(frozen=True, slots=True)
class EventCursor:
    """Where a reading of events resumes: after the event of this key, logged at this time."""

    key: int
    created_at: datetime


@runtime_checkable
class EventFeed(Protocol):
    """A connector or watch that also reads its source's event log (vCenter's events)."""

    def read_events(self, after: EventCursor | None) -> Sequence[EventRecord]:
        """The events logged after ``after``, oldest first (None: the recent ones); raises
        :class:`EventsUnavailableError` when the source refuses or fails the read."""
        ...


class ConnectorError(IroaError):
    """A failure talking to an external system, with a one-line, secret-free message."""


class CannotConnectError(ConnectorError):
    """The system is unreachable: DNS, refused, reset, wrong URL."""


class InvalidLoginError(ConnectorError):
    """The system rejected the username or password."""


class UntrustedCertificateError(ConnectorError):
    """The system's TLS certificate could not be verified."""


class ConnectorTimeoutError(ConnectorError):
    """The system did not answer in time."""


class UnexpectedResponseError(ConnectorError):
    """The system answered, but not as the expected product does."""


class EventsUnavailableError(ConnectorError):
    """The source refused or failed a read of its events; the inventory is not concerned."""
