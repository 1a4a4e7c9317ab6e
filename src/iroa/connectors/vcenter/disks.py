"""Orphaned ("zombie") virtual disks: ``.vmdk`` files on a datastore that no VM uses.

A full read searches each datastore it can (``HostDatastoreBrowser``
``SearchDatastoreSubFolders_Task``, pattern ``*.vmdk``, with sizes and
modification times) before it lists the VMs, then crosses off every file a VM
of the vCenter uses: its disks' backing files and, for a VM with snapshots,
every file of its layout (the delta chains keep the base disks the running
disk no longer names). What is left is orphaned. The searches are tasks the
server runs side by side; their results are read by polling each task, not
through a property collector filter (a watch's session has its own).

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
from collections.abc import Iterable, Sequence
from contextlib import suppress
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Final

from pyVmomi import vim, vmodl
from pyVmomi.VmomiSupport import ManagedObject

from iroa.connectors.base import (
    DatastoreRecord,
    DiskScan,
    OrphanedDiskRecord,
    Progress,
    skip_reason,
)

log = logging.getLogger(__name__)

DISK_PATTERN: Final = "*.vmdk"
EXTENT_SUFFIXES: Final = ("-flat", "-delta", "-sesparse", "-ctk", "-rdm", "-rdmp", "-digest")
"""Name endings (before ``.vmdk``) of the files that belong to a descriptor."""
SIZED_EXTENTS: Final = ("-flat", "-delta", "-sesparse", "-ctk")
"""The extents whose space an orphaned descriptor holds (a raw mapping's file reports the
size of the LUN it points to, which is not space on the datastore)."""
DIGEST_MARK: Final = "-digest"
UNSEARCHED_TYPES: Final = frozenset(("vsan", "VVOL", "vvol", "PMEM", "pmem"))
"""Datastore types whose folders are not named as the paths VMs use."""
SEARCH_TIMEOUT_S: Final = 600.0
"""How long the searches of one read may take together before the rest are given up."""
_POLL_S: Final = (0.05, 0.1, 0.2, 0.5, 1.0)
"""Pauses between polls of a running search, the last repeated."""
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
    stem = name[: -len(".vmdk")] if name.lower().endswith(".vmdk") else name
    return not stem.endswith(EXTENT_SUFFIXES) and DIGEST_MARK not in stem


def searchable(datastore: DatastoreRecord) -> bool:
    """Whether a search of the datastore can tell orphaned disks (see the module's doc)."""
    return datastore.accessible is not False and datastore.type not in UNSEARCHED_TYPES


@dataclass
class DiskSearch:
    """The disk files found on the datastores, crossed off as the VMs that use them are read."""

    found: dict[tuple[str, str], OrphanedDiskRecord] = field(default_factory=dict)
    """Files not crossed off yet, by (datastore name, path in it)."""
    searched: set[str] = field(default_factory=set)
    """External ids of the datastores searched completely."""
    complete: bool = True
    """False once a VM's files could not all be known: then no file is reported."""

    def cross_off(self, paths: Iterable[str | None]) -> None:
        """Files a VM uses (full ``[datastore] path`` names)."""
        for path in paths:
            if path and (key := split_path(path)) is not None:
                self.found.pop(key, None)

    def give_up(self, reason: str) -> None:
        """Some VM's files are unknown: report nothing this time (stored files are kept)."""
        if self.complete:
            log.warning("orphaned disks not reported: %s", reason)
        self.complete = False
        self.found.clear()

    def scan(self) -> DiskScan:
        if not self.complete:
            return DiskScan()
        orphaned = sorted(self.found.values(), key=lambda r: (r.datastore_external_id, r.path))
        return DiskScan(frozenset(self.searched), tuple(orphaned))


def search_datastores(
    targets: Sequence[tuple[DatastoreRecord, ManagedObject]],
    progress: Progress,
    timeout_s: float = SEARCH_TIMEOUT_S,
) -> DiskSearch:
    """Search each datastore of ``targets`` (with its ``browser``) for disk descriptors;
    one that cannot be searched (refused, failed, too slow) is left out of
    :attr:`DiskSearch.searched`."""
    search = DiskSearch()
    progress.start("search datastores", len(targets))
    spec = _Browser.SearchSpec(
        matchPattern=[DISK_PATTERN],
        details=_Browser.FileInfo.Details(
            fileSize=True, modification=True, fileType=False, fileOwner=False
        ),
        searchCaseInsensitive=True,
    )
    tasks: list[tuple[DatastoreRecord, Any]] = []
    for ds, browser in targets:
        try:
            tasks.append((ds, browser.SearchDatastoreSubFolders_Task(f"[{ds.name}]", spec)))
        except (vim.fault.VimFault, vmodl.RuntimeFault) as exc:
            log.warning("datastore %s not searched for disks: %s", ds.name, skip_reason(exc))
            progress.advance()
    deadline = time.monotonic() + timeout_s
    for ds, task in tasks:
        try:
            results = _result(task, deadline)
        except (vim.fault.VimFault, vmodl.RuntimeFault, TimeoutError) as exc:
            log.warning("datastore %s not searched for disks: %s", ds.name, skip_reason(exc))
            continue
        finally:
            progress.advance()
        search.searched.add(ds.external_id)
        for folder in results:
            _add_folder(search, ds, folder)
    return search


def _result(task: Any, deadline: float) -> Sequence[object]:
    """A search task's result once it has ended; its fault if it failed."""
    pauses = iter(_POLL_S)
    pause = next(pauses)
    while True:
        info = task.info
        if info.state == vim.TaskInfo.State.success:
            return list(info.result or ())
        if info.state == vim.TaskInfo.State.error:
            raise info.error
        if time.monotonic() >= deadline:
            # It may have ended meanwhile, or not be cancellable: either way, given up.
            with suppress(vim.fault.VimFault, vmodl.RuntimeFault):
                task.CancelTask()
            raise TimeoutError("the search took too long")
        time.sleep(pause)
        pause = next(pauses, pause)


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
        modified = info.modification
        search.found[(ds.name, path)] = OrphanedDiskRecord(
            datastore_external_id=ds.external_id,
            path=f"[{ds.name}] {path}",
            size_bytes=size,
            modified_at=modified if isinstance(modified, datetime) else None,
        )
