"""One full read of a vCenter inventory: what to retrieve, in which order, mapped batch by batch.

Each type is listed through a ContainerView (one call), then read in batches
of explicit objects, so memory stays bounded however large the inventory is
and progress has real totals. Containers (folders, datacenters, compute
resources, pools) come first: they give every later record its datacenter,
folder and pool path.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from operator import attrgetter
from typing import Any, Final, Protocol, TypeVar

from pyVmomi import vim, vmodl
from pyVmomi.VmomiSupport import ManagedObject

from iroa.connectors.base import (
    SNAPSHOT_PARTS,
    ClusterRecord,
    DatacenterRecord,
    DatastoreRecord,
    HostRecord,
    LicenseInfo,
    NetworkRecord,
    NullProgress,
    Progress,
    ResourcePoolRecord,
    SkippedObject,
    Snapshot,
    SourceInfo,
    TagRecord,
    VmDatastoreRecord,
    VmDeviceRecord,
    VmDiskRecord,
    VmNetworkRecord,
    VmNicRecord,
    VmPartitionRecord,
    VmRecord,
    VmSnapshotRecord,
    skip_reason,
)
from iroa.connectors.spool import SnapshotSpool, SpooledSnapshot
from iroa.connectors.vcenter.client import Session
from iroa.connectors.vcenter.disks import (
    RECENT,
    RESULT_PATHS,
    BackgroundSearch,
    DiskSearch,
    FolderFiles,
    folders_of,
    stream_search_result,
)
from iroa.connectors.vcenter.index import InventoryIndex
from iroa.connectors.vcenter.layout import (
    SnapshotSize,
    layout_files,
    snapshot_sizes,
    with_sizes,
)
from iroa.connectors.vcenter.mapping import (
    as_str,
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
from iroa.connectors.vcenter.networking import distributed_switch
from iroa.connectors.vcenter.pools import map_resource_pool
from iroa.connectors.vcenter.properties import (
    CUSTOM_FIELDS_PATHS,
    KEPT,
    LAYOUT_PATHS,
    SEARCH_PATHS,
    paths_for,
)
from iroa.connectors.vcenter.retrieval import (
    list_objects,
    moref_id,
    moref_type,
    retrieve_batches,
    type_name,
)
from iroa.connectors.vcenter.source import LICENSE_PATHS, about_of, map_licenses
from iroa.connectors.vcenter.tagging import (
    TAG_KIND,
    TaggingUnavailableError,
    TagName,
    TagReader,
    tag_records,
)
from iroa.connectors.vcenter.vm_mapping import VmRecords, map_vm

log = logging.getLogger(__name__)

DEFAULT_BATCH_SIZE: Final = 500


# An older server fails the whole request on a path its API version lacks.

_TAGGED_TYPES: Final = frozenset(
    ("Datacenter", "ClusterComputeResource", "HostSystem", "Datastore", "VirtualMachine")
)
"""Types whose objects become records, and so carry their vSphere tags (networks too)."""

_CLUSTER = "ClusterComputeResource"
_PORTGROUP = "DistributedVirtualPortgroup"
_OPAQUE_NETWORK = "OpaqueNetwork"


class _Identified(Protocol):
    @property
    def external_id(self) -> str: ...


_R = TypeVar("_R", bound=_Identified)
_T = TypeVar("_T")


def count_objects(session: Session) -> dict[str, int]:
    """How many VMs (templates included), hosts, datastores and clusters the server has."""
    types = {
        "vms": vim.VirtualMachine,
        "hosts": vim.HostSystem,
        "datastores": vim.Datastore,
        "clusters": vim.ClusterComputeResource,
    }
    return {name: len(list_objects(session.content, vim_type)) for name, vim_type in types.items()}


def source_info(
    session: Session,
    object_counts: dict[str, int],
    licenses: tuple[LicenseInfo, ...] | None = None,
) -> SourceInfo:
    """What the server says about itself (its ``about``, read at login), and its licenses if
    they were read."""
    about = session.content.about
    return SourceInfo(
        name=session.endpoint.host,
        product=as_str(about.fullName) or as_str(about.apiType) or "vSphere",
        version=as_str(about.version),
        build=as_str(about.build),
        object_counts=object_counts,
        about=about_of(about),
        licenses=licenses,
    )


Tagging = TagReader | TaggingUnavailableError | None
"""How a collection reads vSphere tags: a reader; why there is none (the stored ones are
then kept, with a warning); or None, for a source read without them."""


def collect_inventory(
    session: Session,
    progress: Progress,
    batch_size: int = DEFAULT_BATCH_SIZE,
    tagging: Tagging = None,
    *,
    search_disks: bool = False,
) -> SpooledSnapshot:
    """Read the whole inventory behind ``session`` into a snapshot kept on disk in parts:
    the containers, then VMs ``batch_size`` at a time with their parts and tags; with
    ``search_disks``, the datastores are searched for orphaned disks too
    (:mod:`~iroa.connectors.vcenter.disks`)."""
    return collect_indexed(session, progress, batch_size, tagging, search_disks=search_disks)[0]


def collect_indexed(
    session: Session,
    progress: Progress,
    batch_size: int = DEFAULT_BATCH_SIZE,
    tagging: Tagging = None,
    *,
    search_disks: bool = False,
) -> tuple[SpooledSnapshot, InventoryIndex]:
    """:func:`collect_inventory`, and the index it built: what :func:`collect_objects`
    needs to map objects read later the same way."""
    spool = SnapshotSpool()
    try:
        collection = Collection(session, progress, batch_size, spool=spool)
        collection.use_tagging(tagging)
        collection.search_disks = search_disks
        collection.run()
        return collection.spooled(spool), collection.index
    except BaseException:
        spool.close()
        raise


LEAF_TYPES: Final = (
    "ClusterComputeResource",
    "HostSystem",
    "Datastore",
    "ResourcePool",
    "VirtualMachine",
)
"""The types :func:`collect_objects` maps on their own; a change to any other (a folder,
a network, a vApp) can change the records of many objects."""


def collect_objects(
    session: Session,
    index: InventoryIndex,
    objects: Mapping[str, Sequence[ManagedObject]],
    batch_size: int = DEFAULT_BATCH_SIZE,
) -> Snapshot:
    """Read and map some objects of :data:`LEAF_TYPES`, by type name, as a full collection
    would with ``index``; the snapshot holds their records only (deleted ones are left out)
    and leaves their stored vSphere tags alone."""
    collection = Collection(session, NullProgress(), batch_size, index)
    collection.collect_clusters(objects.get("ClusterComputeResource", ()))
    collection.collect_hosts(objects.get("HostSystem", ()))
    collection.collect_datastores(objects.get("Datastore", ()))
    collection.collect_resource_pools(objects.get("ResourcePool", ()))
    collection.collect_vms(objects.get("VirtualMachine", ()))
    # The PropertyCollector sees no tag change; the next full read brings them.
    return replace(collection.snapshot(), unread_tag_kinds=frozenset((TAG_KIND,)))


@dataclass
class Collection:
    """One collection's records and index, built type by type."""

    session: Session
    progress: Progress
    batch_size: int
    index: InventoryIndex = field(default_factory=InventoryIndex)
    spool: SnapshotSpool | None = None
    """Where records go, a part at a time; without one they stay in the lists below."""
    datacenters: list[DatacenterRecord] = field(default_factory=list)
    clusters: list[ClusterRecord] = field(default_factory=list)
    hosts: list[HostRecord] = field(default_factory=list)
    datastores: list[DatastoreRecord] = field(default_factory=list)
    networks: list[NetworkRecord] = field(default_factory=list)
    resource_pools: list[ResourcePoolRecord] = field(default_factory=list)
    vms: list[VmRecord] = field(default_factory=list)
    vm_disks: list[VmDiskRecord] = field(default_factory=list)
    vm_nics: list[VmNicRecord] = field(default_factory=list)
    vm_snapshots: list[VmSnapshotRecord] = field(default_factory=list)
    vm_datastores: list[VmDatastoreRecord] = field(default_factory=list)
    vm_networks: list[VmNetworkRecord] = field(default_factory=list)
    vm_partitions: list[VmPartitionRecord] = field(default_factory=list)
    vm_devices: list[VmDeviceRecord] = field(default_factory=list)
    tags: list[TagRecord] = field(default_factory=list)
    skipped: list[SkippedObject] = field(default_factory=list)
    licenses: tuple[LicenseInfo, ...] | None = None
    tag_reader: TagReader | None = None
    attached: dict[str, list[TagName]] = field(default_factory=dict)
    """The vSphere tags of the objects being read, by moref id."""
    search_disks: bool = False
    """Whether :meth:`run` searches the datastores for orphaned disks."""
    disk_search: DiskSearch | None = None
    """The disk files found, crossed off as the VMs that use them are read."""
    _search: BackgroundSearch | None = None
    """The search under way, taken in by :attr:`disk_search` once done."""

    def use_tagging(self, tagging: Tagging) -> None:
        """Read vSphere tags with ``tagging``; without a reader, the stored ones are kept."""
        if isinstance(tagging, TagReader):
            self.tag_reader = tagging
        elif isinstance(tagging, TaggingUnavailableError):
            self._keep_stored_tags(tagging)

    def _keep_stored_tags(self, reason: TaggingUnavailableError) -> None:
        self.tag_reader = None
        self.attached.clear()
        # A skipped "object" named by the tag kind: the sync keeps tags of that kind.
        self.skipped.append(SkippedObject("tag", TAG_KIND, f"vSphere tags not read: {reason}"))

    @property
    def content(self) -> vim.ServiceInstanceContent:
        return self.session.content

    def run(self) -> None:
        self.index.root_folder_id = moref_id(self.content.rootFolder)
        # The server searches the datastores while everything else is read.
        search = (
            BackgroundSearch(
                self._read_search_targets,
                self._read_tasks,
                self._read_search_result,
                self._server_time() - RECENT,
            )
            if self.search_disks
            else None
        )
        try:
            self.disk_search = DiskSearch(known=False) if search is not None else None
            self._search = search
            self._collect_field_names()
            self._collect_licenses()
            self._collect_containers()
            self.collect_hosts(self._list(vim.HostSystem))
            self.collect_datastores(self._list(vim.Datastore))
            self._collect_networks()
            self._flush()
            self.collect_vms(self._list(vim.VirtualMachine))
            self._flush()
            self._take_in_search(wait=True)
        finally:
            self._search = None
            if search is not None:
                search.close()

    def _server_time(self) -> datetime:
        try:
            return server_time(self.content)
        except vim.fault.NotAuthenticated:
            self.session.relogin()
            return server_time(self.content)

    def spooled(self, spool: SnapshotSpool) -> SpooledSnapshot:
        """The snapshot put in ``spool`` part by part."""
        self._flush()
        scan = self.disk_search.scan() if self.disk_search is not None else None
        return spool.finish(source_info(self.session, {}, self.licenses), self.skipped, scan)

    def _flush(self) -> None:
        """Put the records read since the last flush in the spool, as one part."""
        if self.spool is None:
            return
        part = self._part(SourceInfo(name="", product=""))
        for name in SNAPSHOT_PARTS:
            getattr(self, name).clear()
        self.spool.add(part)

    def snapshot(self) -> Snapshot:
        snapshot = self._part(source_info(self.session, {}))
        counts = {name: len(getattr(snapshot, name)) for name in SNAPSHOT_PARTS}
        return replace(snapshot, source=replace(snapshot.source, object_counts=counts))

    def _part(self, source: SourceInfo) -> Snapshot:
        return Snapshot(
            source=source,
            datacenters=_sorted(self.datacenters),
            clusters=_sorted(self.clusters),
            hosts=_sorted(self.hosts),
            datastores=_sorted(self.datastores),
            networks=_sorted(self.networks),
            resource_pools=_sorted(self.resource_pools),
            vms=_sorted(self.vms),
            vm_disks=_sorted(self.vm_disks),
            vm_nics=_sorted(self.vm_nics),
            vm_snapshots=_sorted(self.vm_snapshots),
            vm_datastores=_sorted(self.vm_datastores),
            vm_networks=_sorted(self.vm_networks),
            vm_partitions=_sorted(self.vm_partitions),
            vm_devices=_sorted(self.vm_devices),
            tags=_sorted(self.tags),
            warnings=tuple(self.skipped),
        )

    def _collect_field_names(self) -> None:
        manager = self.content.customFieldsManager
        if manager is None:  # a standalone ESXi host has no custom attributes
            return
        paths = CUSTOM_FIELDS_PATHS
        for _, props in self._read([manager], vim.CustomFieldsManager, paths=paths):
            self.index.field_names.update(field_names(props))

    def _collect_licenses(self) -> None:
        manager = self.content.licenseManager
        if manager is None:
            return
        try:
            for _, props in self._read([manager], vim.LicenseManager, paths=LICENSE_PATHS):
                # A user without the privilege gets no value (a missing property).
                if "licenses" in props:
                    self.licenses = map_licenses(props["licenses"])
        except (vim.fault.NoPermission, vmodl.fault.SecurityError) as exc:
            # Licenses are not inventory: without them the read goes on (vLicense is empty).
            log.warning("cannot read the vCenter's licenses: %s", skip_reason(exc))

    def _collect_containers(self) -> None:
        folders = self._list(vim.Folder)
        for obj, props in self._phase("folders", folders, vim.Folder):
            self._add_node(obj, props)

        datacenters = self._list(vim.Datacenter)
        for obj, props in self._phase("datacenters", datacenters, vim.Datacenter):
            self._add_node(obj, props)
            datacenter = self._map("datacenter", map_datacenter, _id(obj), props)
            if datacenter is not None:
                self._add(self.datacenters, datacenter, "datacenter", props)

        compute = self._list(vim.ComputeResource)
        self.collect_clusters([obj for obj in compute if moref_type(obj) == _CLUSTER])
        standalone = [obj for obj in compute if moref_type(obj) != _CLUSTER]
        for obj, props in self._phase("compute_resources", standalone, vim.ComputeResource):
            self._add_node(obj, props)

        self.collect_resource_pools(self._list(vim.ResourcePool))

    def collect_resource_pools(self, objects: Sequence[ManagedObject]) -> None:
        # Mapped once every pool is known: a pool's path goes through its parent pools.
        read = list(self._phase("resource_pools", objects, vim.ResourcePool))
        for obj, props in read:
            self._add_node(obj, props)
        for obj, props in read:
            pool = self._map("resource_pool", map_resource_pool, _id(obj), props, self.index)
            if pool is not None:
                self.resource_pools.append(pool)

    def collect_clusters(self, objects: Sequence[ManagedObject]) -> None:
        for obj, props in self._phase("clusters", objects, vim.ClusterComputeResource):
            self._add_node(obj, props)
            cluster = self._map("cluster", map_cluster, _id(obj), props, self.index)
            if cluster is not None:
                self._add(self.clusters, cluster, "cluster", props)

    def collect_hosts(self, objects: Sequence[ManagedObject]) -> None:
        for obj, props in self._phase("hosts", objects, vim.HostSystem):
            host = self._map("host", map_host, _id(obj), props, self.index)
            if host is None:
                continue
            self._add(self.hosts, host, "host", props)
            self.index.host_clusters[host.external_id] = host.cluster_external_id
            self.index.host_names[host.external_id] = host.name
            for name, vlan in host_portgroups(props):
                self.index.add_host_portgroup(host.datacenter_external_id, name, vlan)

    def collect_datastores(self, objects: Sequence[ManagedObject]) -> None:
        for obj, props in self._phase("datastores", objects, vim.Datastore):
            record = self._map("datastore", map_datastore, _id(obj), props, self.index)
            if record is not None:
                self._add(self.datastores, record, "datastore", props)

    def _collect_networks(self) -> None:
        objects = self._list(vim.Network)
        portgroups = [obj for obj in objects if moref_type(obj) == _PORTGROUP]
        others = [obj for obj in objects if moref_type(obj) != _PORTGROUP]
        self.progress.start("collect networks", len(objects))
        self._read_attached(objects)
        # Port groups are few; keep their properties until the switch names are known.
        portgroup_props: list[tuple[str, dict[str, object]]] = []
        for obj, props in self._read(portgroups, vim.dvs.DistributedVirtualPortgroup, advance=True):
            object_id = _id(obj)
            portgroup_props.append((object_id, props))
            key = as_str(props.get("key"))
            if key:
                self.index.portgroup_ids_by_key[key] = object_id
        switches: dict[str, ManagedObject] = {}
        for _, props in portgroup_props:
            switch = props.get("config.distributedVirtualSwitch")
            switch_id = moref_id(switch)
            if switch_id and isinstance(switch, ManagedObject):
                switches[switch_id] = switch
        for obj, props in self._read(list(switches.values()), vim.DistributedVirtualSwitch):
            self.index.switch_names[_id(obj)] = as_str(props.get("name")) or _id(obj)
            facts = self._map("network", distributed_switch, _id(obj), props, self.index)
            if facts is not None:
                self.index.switch_facts[_id(obj)] = facts
        for object_id, props in portgroup_props:
            self._add_network(props, map_portgroup, object_id, props, self.index)
        for obj, props in self._read(others, vim.Network, advance=True):
            kind = "opaque" if moref_type(obj) == _OPAQUE_NETWORK else "standard"
            self._add_network(props, map_network, _id(obj), props, self.index, kind)

    def _add_network(
        self, props: Mapping[str, object], mapper: Callable[..., NetworkRecord], *args: Any
    ) -> None:
        record = self._map("network", mapper, *args)
        if record is None:
            return
        self._add(self.networks, record, "network", props)
        self.index.network_names[record.external_id] = record.name

    def collect_vms(self, objects: Sequence[ManagedObject]) -> None:
        pending: list[tuple[ManagedObject, VmRecords]] = []
        for obj, props in self._phase("vms", objects, vim.VirtualMachine):
            records: VmRecords | None = self._map("vm", map_vm, _id(obj), props, self.index)
            if records is None:
                if self.disk_search is not None:
                    self.disk_search.give_up(f"VM {_id(obj)} could not be read")
                continue
            pending.append((obj, records))
            if len(pending) >= self.batch_size:
                self._add_vms(pending)
                pending = []
        self._add_vms(pending)

    def _add_vms(self, pending: Sequence[tuple[ManagedObject, VmRecords]]) -> None:
        """Add a batch of mapped VMs, their snapshots sized by one more read for the batch."""
        self._take_in_search(wait=False)
        sizes = self._snapshot_sizes(pending)
        for _, records in pending:
            if self.disk_search is not None:
                self.disk_search.read_vm(records.vm, records.disks)
            self.vms.append(records.vm)
            self.vm_disks.extend(records.disks)
            self.vm_nics.extend(records.nics)
            self.vm_snapshots.extend(with_sizes(records.snapshots, sizes))
            self.vm_datastores.extend(records.datastores)
            self.vm_networks.extend(records.networks)
            self.vm_partitions.extend(records.partitions)
            self.vm_devices.extend(records.devices)
            self.tags.extend(records.tags)
            self._add_vsphere_tags("vm", records.vm.external_id)
            if len(self.vms) >= self.batch_size:
                self._flush()

    def _take_in_search(self, *, wait: bool) -> None:
        """Bring in the files of the search under way if it is done; ``wait``: once it is,
        as a phase of its own (the VMs are read then)."""
        search, claims = self._search, self.disk_search
        if search is None or claims is None or claims.known:
            return
        if not wait:
            if search.done():
                claims.take_in(search.result())
            return
        self.progress.start("search datastores", 1)
        claims.take_in(search.result())
        self.progress.advance()

    def _snapshot_sizes(
        self, pending: Sequence[tuple[ManagedObject, VmRecords]]
    ) -> dict[str, SnapshotSize]:
        """The sizes of the snapshots of ``pending``, by snapshot id: the file layouts of the
        VMs that have snapshots, read in one request (none if no VM has one). A refused read
        leaves the sizes unknown, with a warning: they are not inventory the run needs.

        While the datastores are searched for orphaned disks, the layouts also name the
        files of the VMs' delta chains (the base disks their disks no longer name): those
        of the VMs that need consolidation too, whose deltas outlived their snapshots."""
        with_snapshots = {
            _id(obj): (obj, records)
            for obj, records in pending
            if records.snapshots
            or (self.disk_search is not None and records.vm.consolidation_needed)
        }
        if not with_snapshots:
            return {}
        objects = [obj for obj, _ in with_snapshots.values()]
        sizes: dict[str, SnapshotSize] = {}
        try:
            # pyVmomi decodes these (no lean decoder): few, and read while the next batch of
            # VMs is being fetched, which the decoder serves.
            for obj, props in self._read(
                objects, vim.VirtualMachine, paths=LAYOUT_PATHS, decoder=False
            ):
                _, records = with_snapshots[_id(obj)]
                layout = props.get("layoutEx")
                sizes.update(snapshot_sizes(layout, records.snapshots))
                if self.disk_search is not None:
                    # The base disks under the deltas are named by the layout only.
                    files = layout_files(layout)
                    if files:
                        self.disk_search.cross_off(files)
                    else:
                        self.disk_search.give_up(f"VM {_id(obj)} has deltas and no file layout")
        except vim.fault.NotAuthenticated:
            raise  # the session is gone (after one more login): the run cannot go on
        except (vim.fault.NoPermission, vmodl.fault.SecurityError, vmodl.RuntimeFault) as exc:
            log.warning("snapshot sizes not read: %s", skip_reason(exc))
            if self.disk_search is not None:
                reason = skip_reason(exc)
                self.disk_search.give_up(f"the file layouts of VMs with snapshots: {reason}")
        return sizes

    def _read_search_targets(self) -> Iterator[tuple[ManagedObject, dict[str, object]]]:
        """Every datastore's name, type, accessibility and browser (for the disk search)."""
        objects = list_objects(self.content, vim.Datastore)
        return self._read(objects, vim.Datastore, paths=SEARCH_PATHS, decoder=False, relogin=False)

    def _read_tasks(
        self, tasks: Sequence[ManagedObject], paths: tuple[str, ...]
    ) -> Iterator[tuple[ManagedObject, dict[str, object]]]:
        return self._read(tasks, vim.Task, paths=paths, decoder=False, relogin=False)

    def _read_search_result(
        self, task: ManagedObject, on_folder: Callable[[FolderFiles], None]
    ) -> bool:
        """A search task's result, a folder at a time (streamed, with the lean decoder)."""
        decoder = self.session.decoder
        if decoder is not None:
            return stream_search_result(decoder, self.content.propertyCollector, task, on_folder)
        there = False
        read = self._read([task], vim.Task, paths=RESULT_PATHS, decoder=False, relogin=False)
        for _, props in read:
            there = True
            for folder in folders_of(props.get("info.result")):
                on_folder(folder)
        return there

    def _add(
        self, records: list[_R], record: _R, object_type: str, props: Mapping[str, object]
    ) -> None:
        records.append(record)
        try:
            self.tags.extend(map_custom_values(object_type, record.external_id, props, self.index))
        except Exception as exc:
            self._skip(object_type, record.external_id, exc, "its custom attributes: ")
        self._add_vsphere_tags(object_type, record.external_id)

    def _add_vsphere_tags(self, object_type: str, object_id: str) -> None:
        names = self.attached.pop(object_id, None)
        if names:
            self.tags.extend(tag_records(object_type, object_id, names))

    def _read_attached(self, objects: Sequence[ManagedObject]) -> None:
        """Read, in bulk, the vSphere tags of ``objects`` (of a type that gets records)."""
        if self.tag_reader is None or not objects:
            return
        refs = [(moref_type(obj) or "", _id(obj)) for obj in objects]
        try:
            self.attached.update(self.tag_reader.attached(refs))
        except TaggingUnavailableError as exc:
            log.warning("vSphere tags not read: %s", exc)
            self._keep_stored_tags(exc)

    def _map(
        self, object_type: str, mapper: Callable[..., _T], object_id: str, *args: Any
    ) -> _T | None:
        """Map one object; one that cannot be mapped is reported and skipped, not fatal."""
        try:
            return mapper(object_id, *args)
        except Exception as exc:
            self._skip(object_type, object_id, exc)
            return None

    def _skip(self, object_type: str, object_id: str, exc: Exception, what: str = "") -> None:
        log.warning("skipping %s%s %s: cannot map it", what, object_type, object_id, exc_info=True)
        self.skipped.append(SkippedObject(object_type, object_id, what + skip_reason(exc)))

    def _list(self, vim_type: type) -> list[ManagedObject]:
        """Every object of ``vim_type``; logs in once more if the server ended the session."""
        try:
            return list_objects(self.content, vim_type)
        except vim.fault.NotAuthenticated:
            self.session.relogin()
            return list_objects(self.content, vim_type)

    def _add_node(self, obj: ManagedObject, props: Mapping[str, object]) -> None:
        object_id = _id(obj)
        self.index.add_node(
            object_id,
            as_str(props.get("name")) or object_id,
            moref_id(props.get("parent")),
            moref_type(obj) or "",
        )

    def _phase(
        self, phase: str, objects: Sequence[ManagedObject], vim_type: type
    ) -> Iterator[tuple[ManagedObject, dict[str, object]]]:
        self.progress.start(f"collect {phase}", len(objects))
        if type_name(vim_type) in _TAGGED_TYPES:
            self._read_attached(objects)
        return self._read(objects, vim_type, advance=True)

    def _read(
        self,
        objects: Sequence[ManagedObject],
        vim_type: type,
        *,
        advance: bool = False,
        paths: tuple[str, ...] | None = None,
        decoder: bool = True,
        relogin: bool = True,
    ) -> Iterator[tuple[ManagedObject, dict[str, object]]]:
        """``objects``' properties; ``relogin``: log in again once if the session ended
        (not from a thread beside the read, which logs in again itself)."""
        if paths is None:
            paths = paths_for(type_name(vim_type), self.session.api_version)
        collector = self.content.propertyCollector
        done = 0
        relogged_at: int | None = None
        while True:
            batches = retrieve_batches(
                collector,
                objects[done:],
                vim_type,
                paths,
                self.batch_size,
                decoder=self.session.decoder if decoder else None,
                kept=KEPT.get(type_name(vim_type)),
            )
            try:
                for batch in batches:
                    yield from batch
                    # Objects deleted since listing count as done too.
                    step = min(self.batch_size, len(objects) - done)
                    done += step
                    if advance:
                        self.progress.advance(step)
                return
            except vim.fault.NotAuthenticated:
                # The session expired (or was ended) mid-run: log in again and retry the
                # batch once, so a long read does not lose what it has not read yet.
                if not relogin or relogged_at == done:
                    raise
                relogged_at = done
                self.session.relogin()


def server_time(content: vim.ServiceInstanceContent) -> datetime:
    """The server's current time (a host's clock may differ from ours)."""
    stub = content.propertyCollector._stub
    instance: Any = vim.ServiceInstance("ServiceInstance", stub)  # type: ignore[no-untyped-call]
    return instance.CurrentTime()  # type: ignore[no-any-return]


def _id(obj: ManagedObject) -> str:
    return moref_id(obj) or ""


def _sorted(records: list[_R]) -> list[_R]:
    return sorted(records, key=attrgetter("external_id"))
