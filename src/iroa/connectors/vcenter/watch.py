# pyVmomi's generated data object constructors carry no annotations.
# mypy: disable-error-code="no-untyped-call"
"""Watching one vCenter: what changed in its inventory since the last look, never a write.

One long-lived session holds a PropertyCollector filter over a ContainerView of
every type a full collection reads, for every property it reads
(:data:`~iroa.connectors.vcenter.properties.PROPERTIES`) but the usage figures
(``summary.quickStats``), which change all the time: an object read again for
another change brings its current figures along. ``WaitForUpdatesEx``
then answers, from a version, which objects entered, changed or left. A change
to a VM, host, datastore, cluster or resource pool is read again, object by object, and mapped
with the index of the last full collection, exactly as that collection maps it:
a :class:`~iroa.connectors.base.Delta`. A change that can alter the records of
other objects too (a folder, a network, a host's cluster or port
groups, an object's name or place in a path) asks for a full collection instead
(:class:`Resync`).

The baseline is a full collection taken after the filter's first version: a
change that lands while it reads is read again with the next wait, so nothing
falls between the two.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Sequence
from contextlib import AbstractContextManager, ExitStack
from datetime import UTC, datetime
from typing import ClassVar, Final

from pyVmomi import vim, vmodl
from pyVmomi.VmomiSupport import ManagedObject

from iroa.connectors.base import (
    ConnectionOptions,
    Delta,
    EventCursor,
    EventRecord,
    Progress,
    Resync,
)
from iroa.connectors.spool import SpooledSnapshot
from iroa.connectors.vcenter.client import (
    Session,
    build_ssl_context,
    open_session,
    translated_errors,
)
from iroa.connectors.vcenter.collector import (
    DEFAULT_BATCH_SIZE,
    LEAF_TYPES,
    collect_indexed,
    collect_objects,
)
from iroa.connectors.vcenter.events import read_events
from iroa.connectors.vcenter.index import InventoryIndex
from iroa.connectors.vcenter.properties import PROPERTIES, watched_paths_for
from iroa.connectors.vcenter.retrieval import moref_id, moref_type
from iroa.connectors.vcenter.tagging import open_tagging
from iroa.connectors.vcenter.wire import invoke_streamed, read_update_version

log = logging.getLogger(__name__)

PC = vmodl.query.PropertyCollector

_VIM_TYPES: Final = {
    "Folder": vim.Folder,
    "Datacenter": vim.Datacenter,
    "ClusterComputeResource": vim.ClusterComputeResource,
    "ComputeResource": vim.ComputeResource,
    "ResourcePool": vim.ResourcePool,
    "HostSystem": vim.HostSystem,
    "Datastore": vim.Datastore,
    "Network": vim.Network,
    "DistributedVirtualPortgroup": vim.dvs.DistributedVirtualPortgroup,
    "DistributedVirtualSwitch": vim.DistributedVirtualSwitch,
    "VirtualMachine": vim.VirtualMachine,
}

_TYPE_NAMES: Final = {
    "ClusterComputeResource": "cluster",
    "HostSystem": "host",
    "Datastore": "datastore",
    "ResourcePool": "resource_pool",
    "VirtualMachine": "vm",
}
"""The object type (``ObjectType.name``) of each type a delta can carry."""

_SHAPING_PATHS: Final = {
    "ClusterComputeResource": frozenset({"name", "parent"}),
    "HostSystem": frozenset({"name", "parent", "config.network.portgroup"}),
    "ResourcePool": frozenset({"name", "parent"}),
}
"""Properties of a leaf type that other objects' records are built from."""

_MAX_WAIT_S: Final = 60


class VCenterWatch:
    """What changed in one vCenter, from one session (use it as a context manager)."""

    kind: ClassVar[str] = "vcenter"

    def __init__(self, options: ConnectionOptions, *, batch_size: int = DEFAULT_BATCH_SIZE) -> None:
        self._options = options
        self._batch_size = batch_size
        self._stack = ExitStack()
        self._session: Session | None = None
        self._collector: vmodl.query.PropertyCollector | None = None
        self._version: str | None = None
        self._index = InventoryIndex()

    def __enter__(self) -> VCenterWatch:
        self._session = self._stack.enter_context(open_session(self._options))
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._session = None
        self._collector = None
        self._stack.close()  # logs out: the server drops the session's collector and filter

    @property
    def max_wait_s(self) -> int:
        """The longest one :meth:`wait` may block: well inside the read timeout."""
        return max(1, min(_MAX_WAIT_S, int(self._options.read_timeout_s) - 10))

    def baseline(self, progress: Progress) -> SpooledSnapshot:
        """Start watching (once) and read the whole inventory; later waits report what
        changed since this read began."""
        session = self._current()
        with self._errors():
            if self._collector is None:
                self._collector = self._create_filter(session)
            self._version = self._drain(self._collector, self._version or "")
            verify = build_ssl_context(self._options)
            with open_tagging(self._options, session.endpoint, verify) as tagging:
                snapshot, self._index = collect_indexed(
                    session,
                    progress,
                    self._batch_size,
                    tagging,
                    search_disks=self._options.search_datastores,
                )
        return snapshot

    def wait(self, max_wait_s: float) -> Delta | Resync | None:
        """Block up to ``max_wait_s`` (at most :attr:`max_wait_s`) for changes; what they
        are, or None if nothing changed."""
        session = self._current()
        if self._collector is None or self._version is None:
            raise RuntimeError("wait() before baseline()")
        wait_s = max(0, min(int(max_wait_s), self.max_wait_s))
        with self._errors():
            updates = list(self._updates(self._collector, wait_s))
            if not updates:
                return None
            changed: dict[str, dict[str, ManagedObject]] = {}
            gone: dict[str, set[str]] = {}
            for update in updates:
                reason = _needs_resync(update)
                if reason is not None:
                    return Resync(reason)
                type_name = moref_type(update.obj) or ""
                object_id = moref_id(update.obj) or ""
                if update.kind == "leave":
                    gone.setdefault(type_name, set()).add(object_id)
                    changed.get(type_name, {}).pop(object_id, None)
                else:
                    changed.setdefault(type_name, {})[object_id] = update.obj
                    gone.get(type_name, set()).discard(object_id)
            objects = {name: list(by_id.values()) for name, by_id in changed.items()}
            snapshot = collect_objects(session, self._index, objects, self._batch_size)
        touched = {
            _TYPE_NAMES[name]: frozenset(changed.get(name, {}).keys() | gone.get(name, set()))
            for name in LEAF_TYPES
            if changed.get(name) or gone.get(name)
        }
        return Delta(snapshot, touched)

    def read_events(self, after: EventCursor | None) -> Sequence[EventRecord]:
        """The events logged after ``after``, read in the watch's session."""
        session = self._current()
        with self._errors():
            return read_events(session.content, after, datetime.now(UTC), decoder=session.decoder)

    def _current(self) -> Session:
        if self._session is None:
            raise RuntimeError("the watch is not open: use it in a with block")
        return self._session

    def _errors(self) -> AbstractContextManager[None]:
        """Vendor and transport errors as connector errors, as the session translates them."""
        return translated_errors(self._current().endpoint, self._options)

    def _create_filter(self, session: Session) -> vmodl.query.PropertyCollector:
        content = session.content
        if content.viewManager is None:
            raise vmodl.fault.NotSupported(msg="this endpoint has no ViewManager")
        collector = content.propertyCollector.CreatePropertyCollector()
        view = content.viewManager.CreateContainerView(
            content.rootFolder, [_VIM_TYPES[name] for name in PROPERTIES], True
        )
        traversal = PC.TraversalSpec(
            name="view", type=vim.view.ContainerView, path="view", skip=False
        )
        spec = PC.FilterSpec(
            objectSet=[PC.ObjectSpec(obj=view, skip=True, selectSet=[traversal])],
            propSet=[
                PC.PropertySpec(
                    type=_VIM_TYPES[name],
                    pathSet=list(watched_paths_for(name, session.api_version)),
                )
                for name in PROPERTIES
            ],
        )
        collector.CreateFilter(spec, partialUpdates=False)
        return collector

    def _drain(self, collector: vmodl.query.PropertyCollector, version: str) -> str:
        """Skip what is pending (the filter's first answer is every object); the version
        after it. The answer is parsed as it arrives and each object dropped at once: a
        server that ignores ``maxObjectUpdates`` sends the whole inventory in one piece."""
        options = PC.WaitOptions(maxWaitSeconds=0, maxObjectUpdates=self._batch_size)
        while True:
            next_version, truncated = invoke_streamed(
                collector, "WaitForUpdatesEx", (version, options), read_update_version
            )
            if next_version is None:
                return version
            version = next_version
            if not truncated:
                return version

    def _updates(
        self, collector: vmodl.query.PropertyCollector, wait_s: int
    ) -> Iterator[PC.ObjectUpdate]:
        """The object updates of one wait, with every page a truncated answer left."""
        options = PC.WaitOptions(maxWaitSeconds=wait_s, maxObjectUpdates=self._batch_size)
        decoder = self._current().decoder
        while True:
            if decoder is not None:
                result = decoder.wait_for_updates(collector, self._version or "", options)
            else:
                result = collector.WaitForUpdatesEx(self._version, options)
            if result is None:
                return
            self._version = result.version
            for filter_update in result.filterSet or ():
                yield from filter_update.objectSet or ()
            if not result.truncated:
                return
            options = PC.WaitOptions(maxWaitSeconds=0, maxObjectUpdates=self._batch_size)


def _needs_resync(update: PC.ObjectUpdate) -> str | None:
    """Why one update cannot be applied as a change of that object alone, if it cannot."""
    type_name = moref_type(update.obj) or "object"
    object_id = moref_id(update.obj)
    if type_name not in LEAF_TYPES:
        return f"{type_name} {object_id} {_verb(update.kind)}"
    shaping = _SHAPING_PATHS.get(type_name)
    if shaping is None:
        return None
    if update.kind != "modify":
        return f"{type_name} {object_id} {_verb(update.kind)}"
    changed = {change.name for change in update.changeSet or ()}
    if changed & shaping:
        return f"{type_name} {object_id} changed {', '.join(sorted(changed & shaping))}"
    return None


def _verb(kind: str) -> str:
    return {"enter": "appeared", "leave": "went away"}.get(kind, "changed")
