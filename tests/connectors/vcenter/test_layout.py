"""Snapshot sizes from recorded file layouts (``vim.vm.FileLayoutEx``): the simulator's
files are all of size 0, so the attribution is tested here."""

from __future__ import annotations

from pyVmomi import vim

from iroa.connectors.base import VmSnapshotRecord
from iroa.connectors.vcenter.layout import SnapshotSize, snapshot_sizes, with_sizes

_Layout = vim.vm.FileLayoutEx
GIB = 1024**3


def _file(key: int, name: str, size: int) -> vim.vm.FileLayoutEx.FileInfo:
    return _Layout.FileInfo(key=key, name=f"[ds1] app/{name}", type="diskExtent", size=size)


def _disk(*units: tuple[int, int]) -> vim.vm.FileLayoutEx.DiskLayout:
    return _Layout.DiskLayout(
        key=2000, chain=[_Layout.DiskUnit(fileKey=list(unit)) for unit in units]
    )


def _snapshot(
    moid: str, data: int, memory: int, *units: tuple[int, int]
) -> vim.vm.FileLayoutEx.SnapshotLayout:
    return _Layout.SnapshotLayout(
        key=vim.vm.Snapshot(moid), dataKey=data, memoryKey=memory, disk=[_disk(*units)]
    )


def _record(moid: str, parent: str | None, current: bool) -> VmSnapshotRecord:
    return VmSnapshotRecord(moid, "vm-1", moid, parent_external_id=parent, is_current=current)


BASE = (1, 2)  # app.vmdk, app-flat.vmdk
FIRST_DELTA = (3, 4)  # app-000001.vmdk, app-000001-delta.vmdk: written after "before"
RUNNING = (5, 6)  # app-000002.vmdk, app-000002-sesparse.vmdk: written after "after"

LAYOUT = _Layout(
    file=[
        _file(1, "app.vmdk", 500),
        _file(2, "app-flat.vmdk", 100 * GIB),
        _file(3, "app-000001.vmdk", 400),
        _file(4, "app-000001-delta.vmdk", 7 * GIB),
        _file(5, "app-000002.vmdk", 400),
        _file(6, "app-000002-sesparse.vmdk", 2 * GIB),
        _file(7, "app-Snapshot1.vmsn", 30_000),
        _file(8, "app-Snapshot2.vmsn", 40_000),
        _file(9, "app-Snapshot2.vmem", 4 * GIB),
        _file(10, "vmware.log", 900_000),
    ],
    disk=[_disk(BASE, FIRST_DELTA, RUNNING)],
    snapshot=[
        _snapshot("snapshot-1", 7, -1, BASE),
        _snapshot("snapshot-2", 8, 9, BASE, FIRST_DELTA),
    ],
)
RECORDS = [_record("snapshot-1", None, False), _record("snapshot-2", "snapshot-1", True)]


def test_a_snapshot_holds_its_state_memory_and_the_deltas_written_on_top_of_it():
    sizes = snapshot_sizes(LAYOUT, RECORDS)

    assert sizes == {
        # Its .vmsn and the delta written until the next snapshot; never the base disk.
        "snapshot-1": SnapshotSize(vmsn_bytes=30_000, size_bytes=30_000 + 400 + 7 * GIB),
        # The current one: its .vmsn, .vmem and the running delta.
        "snapshot-2": SnapshotSize(vmsn_bytes=40_000, size_bytes=40_000 + 4 * GIB + 400 + 2 * GIB),
    }


def test_a_snapshot_reverted_to_holds_both_branches_written_on_top_of_it():
    # Reverted to snapshot-1 and running again: a new delta (11, 12) beside snapshot-2's.
    layout = _Layout(
        file=[*LAYOUT.file, _file(11, "app-000003.vmdk", 300), _file(12, "app-000003-delta", 5)],
        disk=[_disk(BASE, (11, 12))],
        snapshot=LAYOUT.snapshot,
    )
    records = [_record("snapshot-1", None, True), _record("snapshot-2", "snapshot-1", False)]

    sizes = snapshot_sizes(layout, records)

    assert sizes["snapshot-1"].size_bytes == 30_000 + 400 + 7 * GIB + 300 + 5
    # Nothing was written on top of snapshot-2 since: its files only.
    assert sizes["snapshot-2"].size_bytes == 40_000 + 4 * GIB


def test_a_file_the_layout_does_not_list_counts_as_nothing():
    layout = _Layout(file=[], disk=LAYOUT.disk, snapshot=LAYOUT.snapshot)

    assert snapshot_sizes(layout, RECORDS)["snapshot-2"] == SnapshotSize(0, 0)


def test_without_a_layout_sizes_stay_unknown():
    assert snapshot_sizes(None, RECORDS) == {}
    assert with_sizes(RECORDS, {}) == RECORDS
    assert [r.size_bytes for r in with_sizes(RECORDS, snapshot_sizes(LAYOUT, RECORDS))] == [
        30_000 + 400 + 7 * GIB,
        40_000 + 4 * GIB + 400 + 2 * GIB,
    ]
