"""Orphaned ("zombie") virtual disks: ``.vmdk`` files on a datastore that no VM uses.

A full read starts a search of each datastore it can (``HostDatastoreBrowser``
``SearchDatastoreSubFolders_Task``, pattern ``*.vmdk``, with file sizes; not
modification times, whose decoding cost a third more) once it has read the
datastores, takes the results in before it lists the VMs, then crosses off
every file a VM of the vCenter uses: its disks' backing files and, for a VM
with snapshots, every file of its layout (the delta chains keep the base
disks the running disk no longer names). What is left is orphaned. The
searches are tasks the server runs side by side while the networks are read;
IROA polls their states, all in one property read (never through a property
collector filter: a watch's session has its own), and reads the results of
those done in one more, decoded by the lean decoder.

Only disk descriptors count: the extents beside them (``-flat``, ``-delta``,
``-sesparse``, ``-ctk``, ``-rdm``, ``-rdmp``) and the host-cache digests
(``-digest``) belong to a descriptor. Folders whose name starts with a dot
(``.snapshot`` of a NAS, ``.sdd.sf``, ``.vSphere-HA``) are not searched into,
and neither are vSAN, vVol or persistent-memory datastores, whose folder
names are not the paths VMs use (a search there would report every disk). A
file is crossed off by datastore *name* and path, as vSphere names files: a
name two datacenters share can hide an orphan, never invent one.

A datastore whose search fails or times out keeps the files stored for it; a
read that could not see every VM's files (a VM skipped, layouts not readable)
reports no orphan at all rather than false ones.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from contextlib import suppress
from dataclasses import dataclass, field
from typing import Any, Final

from pyVmomi import vim, vmodl
from pyVmomi.VmomiSupport import ManagedObject

from iroa.connectors.base import (
    DatastoreRecord,
    DiskScan,
    OrphanedDiskRecord,
    Progress,
    VmDiskRecord,
    VmRecord,
    skip_reason,
)
from iroa.connectors.vcenter.decoder import Props
from iroa.connectors.vcenter.retrieval import moref_id

Running = dict[str, tuple[DatastoreRecord, Any]]
"""Searches started and not taken in yet: datastore and task, by task id."""

log = logging.getLogger(__name__)

DISK_PATTERN: Final = "*.vmdk"
EXTENT_SUFFIXES: Final = ("-flat", "-delta", "-sesparse", "-ctk", "-rdm", "-rdmp", "-digest")
"""Name endings (before ``.vmdk``) of the files that belong to a descriptor."""
SIZED_EXTENTS: Final = ("-flat", "-delta", "-sesparse", "-ctk")
"""The extents whose space an orphaned descriptor holds (a raw mapping's file reports the
size of the LUN it points to, which is not space on the datastore)."""
UNSEARCHED_TYPES: Final = ("vsan", "vvol", "pmem")
"""Datastore types (``summary.type``, lower-cased: ``vsan``, ``vsanD``, ``VVOL``, ``PMEM``)
whose folders are not named as the paths VMs use."""
SEARCH_TIMEOUT_S: Final = 600.0
"""How long the searches of one read may take together before the rest are given up."""
_POLL_S: Final = (0.05, 0.1, 0.2, 0.4, 0.8, 1.0)
"""Pauses between polls of the running searches, the last repeated."""
_STATE_PATHS: Final = ("info.state",)
_ERROR_PATHS: Final = ("info.error",)
RESULT_PATHS: Final = ("info.result",)
_SUCCESS: Final = vim.TaskInfo.State.success
_ERROR: Final = vim.TaskInfo.State.error
_RUNNING: Final = (vim.TaskInfo.State.queued, vim.TaskInfo.State.running)
_Browser: Any = vim.host.DatastoreBrowser


def split_path(path: str) -> tuple[str, str] | None:
    """``[datastore] folder/name.vmdk`` as (datastore, ``folder/name.vmdk``), slashes
    normalised; None for anything else."""
    if not path.startswith("["):
        return None
    end = path.find("]")
    if end < 0:
        return None
    rest = "/".join(part for part in path[end + 1 :].strip().split("/") if part)
    return path[1:end], rest


def is_descriptor(name: str) -> bool:
    """Whether a ``.vmdk`` file name is a disk's descriptor rather than one of its extents,
    its change tracking or a host-cache digest."""
    stem = name.lower().removesuffix(".vmdk")
    return not stem.endswith(EXTENT_SUFFIXES)


def searchable(datastore: DatastoreRecord) -> bool:
    """Whether a search of the datastore can tell orphaned disks (see the module's doc)."""
    kind = (datastore.type or "").lower()
    return datastore.accessible is not False and not kind.startswith(UNSEARCHED_TYPES)


@dataclass
class DiskSearch:
    """The disk files found on the datastores, crossed off as the VMs that use them are read."""

    found: dict[tuple[str, str], int | None] = field(default_factory=dict)
    """Files not crossed off yet, by (datastore name, path in it): their sizes (a small
    value each, as there is about one per disk of the estate until the VMs are read)."""
    datastore_ids: dict[str, str] = field(default_factory=dict)
    """The external id of each datastore searched, by name."""
    searched: set[str] = field(default_factory=set)
    """External ids of the datastores searched completely."""
    running: Running = field(default_factory=dict)
    """The searches started and not yet taken in: datastore and task, by task id."""
    complete: bool = True
    """False once a VM's files could not all be known: then no file is reported."""

    def cross_off(self, paths: Iterable[str | None]) -> None:
        """Files a VM uses (full ``[datastore] path`` names)."""
        for path in paths:
            if path and (key := split_path(path)) is not None:
                self.found.pop(key, None)

    def read_vm(self, vm: VmRecord, disks: Sequence[VmDiskRecord]) -> None:
        """Cross off the disks of a VM as read. The server cannot read the configuration
        of a VM that is not connected (inaccessible, orphaned, invalid) and shows it
        without disks: every disk in the folder of its configuration file then counts as
        its own, and without that file no orphan can be told."""
        self.cross_off(disk.file_path for disk in disks)
        if disks or vm.connection_state in (None, "connected"):
            return
        folder = split_path(vm.config_path or "")
        if folder is None or "/" not in folder[1]:
            self.give_up(f"VM {vm.external_id} is {vm.connection_state}: its files are unknown")
            return
        datastore, vmx = folder
        prefix = vmx.rpartition("/")[0] + "/"
        for key in [k for k in self.found if k[0] == datastore and k[1].startswith(prefix)]:
            del self.found[key]

    def give_up(self, reason: str) -> None:
        """Some VM's files are unknown: report nothing this time (stored files are kept)."""
        if self.complete:
            log.warning("orphaned disks not reported: %s", reason)
        self.complete = False
        self.found.clear()

    def scan(self) -> DiskScan:
        if not self.complete:
            return DiskScan()
        orphaned = sorted(
            OrphanedDiskRecord(self.datastore_ids[name], f"[{name}] {path}", size)
            for (name, path), size in self.found.items()
        )
        return DiskScan(frozenset(self.searched), tuple(orphaned))


TaskReader = Callable[[Sequence[ManagedObject], tuple[str, ...], bool], Iterable[tuple[Any, Props]]]
"""Reads some properties of tasks, ``(task, {path: value})`` for those that still exist;
with the lean decoder (see :data:`~iroa.connectors.vcenter.properties.KEPT`) if asked."""


def start_searches(targets: Sequence[tuple[DatastoreRecord, ManagedObject]]) -> DiskSearch:
    """Start a search of each datastore of ``targets`` (with its ``browser``) for disk
    descriptors; the server runs them while the read goes on."""
    search = DiskSearch()
    spec = _Browser.SearchSpec(
        matchPattern=[DISK_PATTERN],
        details=_Browser.FileInfo.Details(
            fileSize=True, modification=False, fileType=False, fileOwner=False
        ),
        searchCaseInsensitive=True,
    )
    for ds, browser in targets:
        try:
            task = browser.SearchDatastoreSubFolders_Task(f"[{ds.name}]", spec)
        except (vim.fault.VimFault, vmodl.RuntimeFault) as exc:
            log.warning("datastore %s not searched for disks: %s", ds.name, skip_reason(exc))
            continue
        search.running[moref_id(task) or ""] = (ds, task)
    return search


def finish_searches(
    search: DiskSearch,
    read: TaskReader,
    progress: Progress,
    timeout_s: float = SEARCH_TIMEOUT_S,
) -> None:
    """Wait for the searches :func:`start_searches` started and take in their results.

    All running tasks' states are read in one request per poll; the results of those
    done in one more (the lean decoder's, when the session has it). A search that
    failed, vanished or is still running after ``timeout_s`` (then it is cancelled) is
    left out of :attr:`DiskSearch.searched`, with a warning.
    """
    progress.start("search datastores", len(search.running))
    deadline = time.monotonic() + timeout_s
    pauses = iter(_POLL_S)
    try:
        while search.running:
            ended = _ended(search.running, read)
            if ended:
                _take_in(search, ended, read)
                progress.advance(len(ended))
            if not search.running:
                break
            if time.monotonic() >= deadline:
                _cancel(search, "the search took too long")
                break
            time.sleep(next(pauses, _POLL_S[-1]))
    except vim.fault.NotAuthenticated:
        raise  # the session is gone (after one more login): the read cannot go on
    except (vim.fault.VimFault, vmodl.RuntimeFault) as exc:
        # The tasks cannot be read (a permission, a server error): the inventory goes on.
        _cancel(search, f"its task cannot be read: {skip_reason(exc)}")


def _ended(running: Running, read: TaskReader) -> dict[str, object]:
    """The state of each search that no longer runs, by task id (None: the task is gone)."""
    states = {
        moref_id(task): props.get("info.state")
        for task, props in _read_some(read, running, list(running), _STATE_PATHS)
    }
    return {
        task_id: states.get(task_id) for task_id in running if states.get(task_id) not in _RUNNING
    }


def _take_in(search: DiskSearch, ended: Mapping[str, object], read: TaskReader) -> None:
    """The files the searches that succeeded found; a warning for each of the others."""
    succeeded = [task_id for task_id, state in ended.items() if state == _SUCCESS]
    # One result a request: a datastore's lists every .vmdk on it (at 20,000 VMs, all
    # eight results at once raised the sync's peak memory by about 20 MB).
    for task_id in succeeded:
        for task, props in _read_some(read, search.running, [task_id], RESULT_PATHS, lean=True):
            ds, _ = search.running[moref_id(task) or ""]
            search.searched.add(ds.external_id)
            result = props.pop("info.result", None)
            for folder in result if isinstance(result, list) else ():
                _add_folder(search, ds, folder)
    failed = [task_id for task_id, state in ended.items() if state == _ERROR]
    errors = {
        moref_id(task): props.get("info.error")
        for task, props in _read_some(read, search.running, failed, _ERROR_PATHS)
    }
    for task_id in ended:
        ds, _ = search.running.pop(task_id)
        if ds.external_id not in search.searched:
            error = errors.get(task_id)
            reason = skip_reason(error) if isinstance(error, Exception) else "the task is gone"
            log.warning("datastore %s not searched for disks: %s", ds.name, reason)


def _read_some(
    read: TaskReader,
    running: Running,
    task_ids: Sequence[str],
    paths: tuple[str, ...],
    *,
    lean: bool = False,
) -> Iterable[tuple[Any, Props]]:
    if not task_ids:
        return ()
    return read([running[task_id][1] for task_id in task_ids], paths, lean)


def _cancel(search: DiskSearch, reason: str) -> None:
    """Give up the searches still running: cancelled, if the server still lets them be."""
    for ds, task in search.running.values():
        log.warning("datastore %s not searched for disks: %s", ds.name, reason)
        with suppress(vim.fault.VimFault, vmodl.RuntimeFault):
            task.CancelTask()
    search.running.clear()


def _add_folder(search: DiskSearch, ds: DatastoreRecord, folder: object) -> None:
    """The descriptors of one folder of a search's result, each sized with its extents."""
    if not isinstance(folder, _Browser.SearchResults):
        return
    where = split_path(folder.folderPath or "")
    if where is None:
        return
    _, folder_path = where
    if any(part.startswith(".") for part in folder_path.split("/")):
        return
    search.datastore_ids[ds.name] = ds.external_id
    files = [info for info in folder.file or () if info.path]
    sizes = {info.path: info.fileSize or 0 for info in files}
    for info in files:
        name: str = info.path
        if not is_descriptor(name):
            continue
        stem = name[: -len(".vmdk")]
        size = info.fileSize
        if size is not None:
            size += sum(sizes.get(f"{stem}{suffix}.vmdk", 0) for suffix in SIZED_EXTENTS)
        path = f"{folder_path}/{name}" if folder_path else name
        search.found[(ds.name, path)] = size
