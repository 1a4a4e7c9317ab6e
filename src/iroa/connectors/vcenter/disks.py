"""Orphaned ("zombie") virtual disks: ``.vmdk`` files on a datastore that no VM uses.

A full read searches each datastore it can (``HostDatastoreBrowser``
``SearchDatastoreSubFolders_Task``, pattern ``*.vmdk``, with file sizes and
modification times) and crosses off every file a VM of the vCenter uses: its
disks' backing files and, for a VM with snapshots, every file of its layout
(the delta chains keep the base disks the running disk no longer names). What
is left is orphaned. The search (:func:`search_disks`) runs in a thread of its
own from the start of the read (:class:`BackgroundSearch`), beside the read of
everything else, VMs included: the searches are tasks the server runs side by
side. IROA polls their states, all in one property read (never through a
property collector filter: a watch's session has its own), and reads the
result of each done in one more, its files read straight off the answer by the
lean decoder as it arrives (:func:`read_search_answer`). What the VMs read before the
results came in use is crossed off when they do (:meth:`DiskSearch.take_in`).
A descriptor modified shortly before the read or during it is not reported
(:data:`RECENT`): it may belong to a VM created or changed after its read.

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

import functools
import logging
import threading
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import Future
from contextlib import suppress
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from io import BufferedIOBase
from typing import TYPE_CHECKING, Any, Final, NamedTuple

from lxml import etree
from pyVmomi import vim, vmodl
from pyVmomi.VmomiSupport import ManagedObject

from iroa.connectors.base import (
    DiskScan,
    OrphanedDiskRecord,
    VmDiskRecord,
    VmRecord,
    skip_reason,
)
from iroa.connectors.vcenter.decoder import Props
from iroa.connectors.vcenter.retrieval import moref_id
from iroa.connectors.vcenter.wire import VIM25, SentCall, invoke_streamed, read_result, send_call

if TYPE_CHECKING:
    from iroa.connectors.vcenter.decoder import LeanDecoder


@dataclass(frozen=True, slots=True)
class SearchTarget:
    """A datastore to search: its external id and name, and its ``browser``."""

    external_id: str
    name: str
    browser: Any = None


class FolderFiles(NamedTuple):
    """One folder of a search's result: its path (``[datastore] folder``) and the name,
    size and modification time of each file found in it."""

    folder_path: str | None
    files: list[tuple[str, int | None, datetime | None]]


Running = dict[str, tuple[SearchTarget, Any]]
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
RECENT: Final = timedelta(minutes=5)
"""How long before a read started a descriptor must have been last modified to be reported.
The VMs are read while the datastores are searched: a disk created or attached meanwhile
(a new VM's, say) may be found by the search and missed by the read, so it waits for the
next sync; the margin allows for hosts' clocks a little behind vCenter's. A true orphan
has not been touched for much longer."""
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
_SEARCH: Final = "SearchSubFolders"  # SearchDatastoreSubFolders_Task on the wire
_SearchResults: Any = _Browser.SearchResults
_FileInfo: Any = _Browser.FileInfo
_PC: Any = vmodl.query.PropertyCollector
_FILE: Final = f"{{{VIM25}}}file"
_VAL: Final = f"{{{VIM25}}}val"
_OBJ: Final = f"{{{VIM25}}}obj"
_OBJECTS: Final = f"{{{VIM25}}}objects"
_MISSING_SET: Final = f"{{{VIM25}}}missingSet"


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


def searchable(kind: object, accessible: object) -> bool:
    """Whether a search of a datastore of type ``kind`` (``summary.type``) can tell orphaned
    disks (see the module's doc); ``accessible`` is its ``summary.accessible``."""
    lowered = kind.lower() if isinstance(kind, str) else ""
    return accessible is not False and not lowered.startswith(UNSEARCHED_TYPES)


@dataclass
class DiskSearch:
    """The disk files found on the datastores, crossed off as the VMs that use them are read.

    The VMs may be read before the files are known (:attr:`known` False): what they use
    is kept until :meth:`take_in` brings the files, and crossed off then."""

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
    since: datetime | None = None
    """Descriptors modified at or after it are left out (see :data:`RECENT`)."""
    known: bool = True
    """Whether :attr:`found` holds the files of the search yet."""
    in_use: set[tuple[str, str]] = field(default_factory=set)
    """Until the files are known: those the VMs read use."""
    claimed: list[tuple[str, str]] = field(default_factory=list)
    """Until the files are known: the folders (datastore name, folder path and ``/``) whose
    disks a VM that is not connected claims."""

    def cross_off(self, paths: Iterable[str | None]) -> None:
        """Files a VM uses (full ``[datastore] path`` names)."""
        for path in paths:
            if path and (key := split_path(path)) is not None:
                if self.known:
                    self.found.pop(key, None)
                elif self.complete:
                    self.in_use.add(key)

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
        if self.known:
            self._claim(datastore, prefix)
        elif self.complete:
            self.claimed.append((datastore, prefix))

    def _claim(self, datastore: str, prefix: str) -> None:
        for key in [k for k in self.found if k[0] == datastore and k[1].startswith(prefix)]:
            del self.found[key]

    def give_up(self, reason: str) -> None:
        """Some VM's files are unknown: report nothing this time (stored files are kept)."""
        if self.complete:
            log.warning("orphaned disks not reported: %s", reason)
        self.complete = False
        self.found.clear()
        self.in_use.clear()
        self.claimed.clear()

    def take_in(self, search: DiskSearch) -> None:
        """The files a search found (:func:`search_disks`), less those the VMs read so far
        use; the VMs read from now on cross theirs off at once."""
        self.datastore_ids, self.searched = search.datastore_ids, search.searched
        self.found = search.found if self.complete else {}
        self.known = True
        for key in self.in_use:
            self.found.pop(key, None)
        for datastore, prefix in self.claimed:
            self._claim(datastore, prefix)
        self.in_use, self.claimed = set(), []

    def scan(self) -> DiskScan:
        if not self.complete or not self.known:
            return DiskScan()
        orphaned = sorted(
            OrphanedDiskRecord(self.datastore_ids[name], f"[{name}] {path}", size)
            for (name, path), size in self.found.items()
        )
        return DiskScan(frozenset(self.searched), tuple(orphaned))


TaskReader = Callable[[Sequence[ManagedObject], tuple[str, ...]], Iterable[tuple[Any, Props]]]
"""Reads some properties of tasks, ``(task, {path: value})`` for those that still exist."""

ResultReader = Callable[[Any, Callable[[FolderFiles], None]], bool]
"""Reads a search task's result, a folder at a time (:func:`stream_search_result`); whether
the task was there to read."""


DatastoreReader = Callable[[], Iterable[tuple[Any, Props]]]
"""Reads every datastore's :data:`~iroa.connectors.vcenter.properties.SEARCH_PATHS`,
``(datastore, {path: value})``."""


def search_disks(
    datastores: DatastoreReader,
    read: TaskReader,
    read_result: ResultReader,
    stop: threading.Event,
    since: datetime | None,
    timeout_s: float = SEARCH_TIMEOUT_S,
) -> DiskSearch:
    """Search every datastore that can tell orphaned disks, as :func:`start_searches` and
    :func:`finish_searches` do, leaving out the descriptors modified at or after ``since``.
    Never fails: a search that cannot be done or read leaves the datastores unsearched
    (their stored files are kept), with a warning."""
    search = DiskSearch()
    try:
        targets = [
            SearchTarget(moref_id(obj) or "", str(props.get("name") or moref_id(obj)), browser)
            for obj, props in datastores()
            if isinstance(browser := props.get("browser"), ManagedObject)
            and searchable(props.get("summary.type"), props.get("summary.accessible"))
        ]
        search = start_searches(targets, since)
        finish_searches(search, read, read_result, timeout_s, stop)
    except Exception as exc:
        # Not inventory: the read goes on without it (it logs in again if it must).
        log.warning("datastores not searched for disks: %s", skip_reason(exc))
        _cancel(search, "the search failed")
        return DiskSearch()
    return search


class BackgroundSearch:
    """:func:`search_disks` in a thread of its own, beside the rest of a read.

    A daemon thread, not an executor's: a process that ends while a read is under way
    (Ctrl-C during a watch's first read) must not wait at exit for a search nobody will
    take in."""

    def __init__(
        self,
        datastores: DatastoreReader,
        read: TaskReader,
        read_result: ResultReader,
        since: datetime | None,
    ) -> None:
        self._stop = threading.Event()
        self._future: Future[DiskSearch] = Future()
        search = functools.partial(search_disks, datastores, read, read_result, self._stop, since)
        self._thread = threading.Thread(
            target=self._run, args=(search,), name="vcenter-disk-search", daemon=True
        )
        self._thread.start()

    def _run(self, search: Callable[[], DiskSearch]) -> None:
        try:
            self._future.set_result(search())
        except BaseException as exc:  # handed to whoever takes the result
            self._future.set_exception(exc)

    def done(self) -> bool:
        """Whether the search is done (:meth:`result` then returns at once)."""
        return self._future.done()

    def result(self) -> DiskSearch:
        """The search, once done."""
        return self._future.result()

    def close(self) -> None:
        """Stop a search still running (its tasks are cancelled) and wait for its thread."""
        self._stop.set()
        self._thread.join()


def start_searches(targets: Sequence[SearchTarget], since: datetime | None = None) -> DiskSearch:
    """Start a search of each datastore of ``targets`` for disk descriptors (those modified
    at or after ``since`` will be left out); the server runs them side by side."""
    search = DiskSearch(since=since)
    spec = _Browser.SearchSpec(
        matchPattern=[DISK_PATTERN],
        details=_Browser.FileInfo.Details(
            fileSize=True, modification=True, fileType=False, fileOwner=False
        ),
        searchCaseInsensitive=True,
    )
    # All asked for before any answer is read: a server that searches before it answers
    # (vcsim does) searches the datastores side by side too.
    calls: list[tuple[SearchTarget, SentCall]] = []
    try:
        for ds in targets:
            calls.append((ds, send_call(ds.browser, _SEARCH, (f"[{ds.name}]", spec))))
        while calls:
            ds, call = calls.pop(0)
            try:
                task = read_result(call)
            except (vim.fault.VimFault, vmodl.RuntimeFault) as exc:
                log.warning("datastore %s not searched for disks: %s", ds.name, skip_reason(exc))
                continue
            search.running[moref_id(task) or ""] = (ds, task)
    finally:
        for _, call in calls:
            call.discard()
    return search


def finish_searches(
    search: DiskSearch,
    read: TaskReader,
    read_result: ResultReader,
    timeout_s: float = SEARCH_TIMEOUT_S,
    stop: threading.Event | None = None,
) -> None:
    """Wait for the searches :func:`start_searches` started and take in their results.

    All running tasks' states are read in one request per poll; the result of each done
    in one more (the lean decoder's, when the session has it). A search that failed,
    vanished or is still running after ``timeout_s`` or once ``stop`` is set (then it
    is cancelled) is left out of :attr:`DiskSearch.searched`, with a warning.
    """
    deadline = time.monotonic() + timeout_s
    pauses = iter(_POLL_S)
    stop = stop or threading.Event()
    try:
        while search.running:
            ended = _ended(search.running, read)
            if ended:
                _take_in(search, ended, read, read_result)
            if not search.running:
                break
            if time.monotonic() >= deadline:
                _cancel(search, "the search took too long")
                break
            if stop.wait(next(pauses, _POLL_S[-1])):
                _cancel(search, "the read ended first")
                break
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


def _take_in(
    search: DiskSearch, ended: Mapping[str, object], read: TaskReader, read_result: ResultReader
) -> None:
    """The files the searches that succeeded found; a warning for each of the others."""
    for task_id, state in ended.items():
        if state == _SUCCESS:
            ds, task = search.running[task_id]
            if read_result(task, functools.partial(_add_folder, search, ds, since=search.since)):
                search.searched.add(ds.external_id)
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
    read: TaskReader, running: Running, task_ids: Sequence[str], paths: tuple[str, ...]
) -> Iterable[tuple[Any, Props]]:
    if not task_ids:
        return ()
    return read([running[task_id][1] for task_id in task_ids], paths)


def _cancel(search: DiskSearch, reason: str) -> None:
    """Give up the searches still running: cancelled, if the server still lets them be."""
    for ds, task in search.running.values():
        log.warning("datastore %s not searched for disks: %s", ds.name, reason)
        with suppress(vim.fault.VimFault, vmodl.RuntimeFault):
            task.CancelTask()
    search.running.clear()


def _add_folder(
    search: DiskSearch, ds: SearchTarget, folder: FolderFiles, since: datetime | None = None
) -> None:
    """The descriptors of one folder of a search's result, each sized with its extents;
    those modified at or after ``since`` are left out (see :data:`RECENT`)."""
    where = split_path(folder.folder_path or "")
    if where is None:
        return
    _, folder_path = where
    if any(part.startswith(".") for part in folder_path.split("/")):
        return
    search.datastore_ids[ds.name] = ds.external_id
    files = [file for file in folder.files if file[0]]
    sizes = {name: size for name, size, _ in files}
    for name, size, modified in files:
        if not is_descriptor(name) or (
            since is not None and (modified is None or modified >= since)
        ):
            continue
        stem = name[: -len(".vmdk")]
        if size is not None:
            size += sum(sizes.get(f"{stem}{suffix}.vmdk") or 0 for suffix in SIZED_EXTENTS)
        path = f"{folder_path}/{name}" if folder_path else name
        search.found[(ds.name, path)] = size


def folders_of(result: object) -> list[FolderFiles]:
    """The folders of a search's result (``info.result``) as pyVmomi decodes it (its
    ``SearchResults``)."""
    if not isinstance(result, list):
        return []
    return [
        folder if isinstance(folder, FolderFiles) else _folder_of(folder)
        for folder in result
        if isinstance(folder, FolderFiles | _SearchResults)
    ]


def _folder_of(folder: Any) -> FolderFiles:
    files = [(f.path, f.fileSize, f.modification) for f in folder.file or ()]
    return FolderFiles(folder.folderPath, files)


def read_search_answer(
    decoder: LeanDecoder, stream: BufferedIOBase, on_folder: Callable[[FolderFiles], None]
) -> bool:
    """A ``RetrievePropertiesEx`` answer for one search task's ``info.result``, read off the
    XML as it arrives, each field as pyVmomi would decode it: ``on_folder`` gets each folder
    (with each file's name, size and modification time only), which is dropped once read (a
    datastore's result names every disk on it: tens of MB as a tree). Whether the task was
    there to read."""
    there = False
    for _, element in etree.iterparse(stream, events=("end",), huge_tree=True):
        parent = element.getparent()
        if parent is None:
            continue
        if parent.tag == _VAL:
            if issubclass(decoder.class_of(element, _SearchResults), _SearchResults):
                on_folder(_read_folder(decoder, element))
            element.clear()
            while element.getprevious() is not None:
                del parent[0]
        elif element.tag == _OBJ and parent.tag == _OBJECTS:
            there = True
        elif element.tag == _MISSING_SET and parent.tag == _OBJECTS:
            there = False  # gone, or its result not readable: taken as not searched
            break
    return there


def _read_folder(decoder: LeanDecoder, folder: etree._Element) -> FolderFiles:
    field = decoder.field
    return FolderFiles(
        field(folder, _SearchResults, "folderPath"),
        [
            (
                field(file, _FileInfo, "path"),
                field(file, _FileInfo, "fileSize"),
                field(file, _FileInfo, "modification"),
            )
            for file in folder.iterchildren(_FILE)
        ],
    )


def stream_search_result(
    decoder: LeanDecoder, collector: Any, task: Any, on_folder: Callable[[FolderFiles], None]
) -> bool:
    """Read one search task's result through ``collector`` with :func:`read_search_answer`."""
    spec = _PC.FilterSpec(
        objectSet=[_PC.ObjectSpec(obj=task, skip=False)],
        propSet=[_PC.PropertySpec(type=vim.Task, pathSet=list(RESULT_PATHS))],
        reportMissingObjectsInResults=True,
    )
    return invoke_streamed(
        collector,
        "RetrievePropertiesEx",
        ([spec], _PC.RetrieveOptions()),
        lambda stream: read_search_answer(decoder, stream, on_folder),
    )
