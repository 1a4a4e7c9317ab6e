"""Snapshot sizes from a VM's file layout (``layoutEx``): what each snapshot holds on disk.

``layoutEx.file`` lists the VM's files with their sizes, by key;
``layoutEx.snapshot[]`` gives each snapshot's data (``.vmsn``) and memory
(``.vmem``) file keys and the disk chains *as they were when it was taken*;
``layoutEx.disk[]`` gives the chains the VM runs on now. Each chain is a list
of disk units (base first), each unit the keys of its descriptor and extent
(``-flat``, ``-delta``, ``-sesparse``).

A snapshot *holds* what deleting it would merge away: its ``.vmsn`` and
``.vmem``, and the delta disks written after it was taken on top of it — the
units in the chains of what follows it (its child snapshots, and the running
disks if it is the current snapshot) that are not in its own chains. So the
current snapshot's size grows with the running delta, as the client's
snapshot manager shows it, and a base disk never counts.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace

from pyVmomi import vim

from iroa.connectors.base import VmSnapshotRecord
from iroa.connectors.vcenter.retrieval import moref_id

_FileLayoutEx = vim.vm.FileLayoutEx


@dataclass(frozen=True, slots=True)
class SnapshotSize:
    """One snapshot's files on disk, in bytes."""

    vmsn_bytes: int
    """Its state file (``.vmsn``)."""
    size_bytes: int
    """Everything it holds: state, memory and the delta disks written on top of it."""


def snapshot_sizes(
    layout: object, snapshots: Sequence[VmSnapshotRecord]
) -> dict[str, SnapshotSize]:
    """The size of each of ``snapshots`` (one VM's, with their parents and which is current)
    that ``layout`` (its ``layoutEx``) describes, by snapshot id; none without a layout."""
    if not isinstance(layout, _FileLayoutEx):
        return {}
    file_sizes = {file.key: file.size or 0 for file in layout.file or () if file.key is not None}
    chains = {
        snapshot_id: keys
        for entry in layout.snapshot or ()
        if (snapshot_id := moref_id(entry.key)) is not None
        for keys in [_chain_keys(entry.disk)]
    }
    running = _chain_keys(layout.disk)
    followers: dict[str, set[int]] = {}
    for record in snapshots:
        if record.parent_external_id is not None and record.external_id in chains:
            followers.setdefault(record.parent_external_id, set()).update(
                chains[record.external_id]
            )
        if record.is_current:
            followers.setdefault(record.external_id, set()).update(running)
    sizes: dict[str, SnapshotSize] = {}
    for entry in layout.snapshot or ():
        snapshot_id = moref_id(entry.key)
        if snapshot_id is None:
            continue
        own = {entry.dataKey, entry.memoryKey} - {None, -1}
        held = own | (followers.get(snapshot_id, set()) - chains[snapshot_id])
        sizes[snapshot_id] = SnapshotSize(
            vmsn_bytes=file_sizes.get(entry.dataKey, 0),
            size_bytes=sum(file_sizes.get(key, 0) for key in held),
        )
    return sizes


def layout_files(layout: object) -> list[str]:
    """The names of every file a VM's ``layoutEx`` lists (``[datastore] path``)."""
    if not isinstance(layout, _FileLayoutEx):
        return []
    return [file.name for file in layout.file or () if file.name]


def with_sizes(
    snapshots: Sequence[VmSnapshotRecord], sizes: Mapping[str, SnapshotSize]
) -> list[VmSnapshotRecord]:
    """``snapshots`` with the sizes found for them (the others keep theirs: unknown)."""
    return [
        replace(record, vmsn_bytes=size.vmsn_bytes, size_bytes=size.size_bytes)
        if (size := sizes.get(record.external_id)) is not None
        else record
        for record in snapshots
    ]


def _chain_keys(disks: Iterable[vim.vm.FileLayoutEx.DiskLayout] | None) -> set[int]:
    """The file keys of every disk unit of the chains of ``disks``."""
    return {key for disk in disks or () for unit in disk.chain or () for key in unit.fileKey or ()}
