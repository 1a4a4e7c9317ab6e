"""A snapshot kept on disk while it is collected, part by part, and read back the same way.

A large inventory read whole costs memory twice: once as records, once more
while it is compared with what is stored and written. A connector that reads in
batches puts each batch's records in a :class:`SnapshotSpool` instead: a
temporary file of pickled parts, gone when closed. The sync applies the
:class:`SpooledSnapshot` part by part, so at most one part's records are in
memory at a time, whatever the size of the estate. Only the external ids of the
objects that others may reference (:data:`OWNER_PARTS`) stay in memory: what the
apply needs to know before the first part is written.
"""

from __future__ import annotations

import pickle
import tempfile
from collections import defaultdict
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import replace
from operator import attrgetter
from typing import IO, Any

from iroa.connectors.base import (
    EMPTY_ROWS,
    OWNER_PARTS,
    SNAPSHOT_PARTS,
    DiskScan,
    Part,
    Rows,
    SkippedObject,
    Snapshot,
    SourceInfo,
)


class SnapshotSpool:
    """Collects a snapshot's parts into a temporary file (see the module's doc).

    A part is a :class:`Snapshot` whose records are complete for the objects it
    holds: an owner's parts and tags come in the same part as the owner, and the
    objects others reference come before them (containers, then VMs).
    """

    def __init__(self) -> None:
        self._file: IO[bytes] = tempfile.TemporaryFile(prefix="iroa-snapshot-")  # noqa: SIM115 - closed by the snapshot
        self._counts = dict.fromkeys(SNAPSHOT_PARTS, 0)
        self._owner_ids: dict[str, set[str]] = {name: set() for name in OWNER_PARTS}
        self._parts = 0

    def add(self, part: Snapshot) -> None:
        """Write one part; its source and warnings are not kept (see :meth:`finish`)."""
        rows = {name: Rows.of(getattr(part, name)) for name in SNAPSHOT_PARTS}
        if not any(rows.values()):
            return
        # Plain tuples: a tenth of the time of pickling the records themselves.
        stored = {name: (r.kind, r.fields, r.rows) for name, r in rows.items() if r}
        pickle.dump(stored, self._file, protocol=pickle.HIGHEST_PROTOCOL)
        for name, records in rows.items():
            self._counts[name] += len(records)
            if name in self._owner_ids and records:
                self._owner_ids[name].update(records.column("external_id"))
        self._parts += 1

    def finish(
        self,
        source: SourceInfo,
        warnings: Sequence[SkippedObject],
        disk_scan: DiskScan | None = None,
    ) -> SpooledSnapshot:
        """The snapshot written so far, with what the connector learned of its source."""
        self._file.flush()
        source = replace(source, object_counts=dict(self._counts))
        return SpooledSnapshot(
            self._file,
            self._parts,
            source,
            tuple(warnings),
            self._counts,
            self._owner_ids,
            disk_scan,
        )

    def close(self) -> None:
        self._file.close()


class SpooledSnapshot:
    """A full read kept in a temporary file, read back part by part (see the module's doc).

    It is read once by a sync; :meth:`parts` may be called again (a test, a
    comparison) and reads it from the start. :meth:`close` removes the file.
    """

    def __init__(
        self,
        file: IO[bytes],
        part_count: int,
        source: SourceInfo,
        warnings: tuple[SkippedObject, ...],
        counts: Mapping[str, int],
        owner_ids: Mapping[str, set[str]],
        disk_scan: DiskScan | None = None,
    ) -> None:
        self._file = file
        self._part_count = part_count
        self.source = source
        self.warnings = warnings
        self.disk_scan = disk_scan
        self._counts = dict(counts)
        self._owner_ids = {name: frozenset(ids) for name, ids in owner_ids.items()}

    def counts(self) -> Mapping[str, int]:
        return self._counts

    def owner_ids(self) -> Mapping[str, frozenset[str]]:
        return self._owner_ids

    def parts(self) -> Iterator[Part]:
        self._file.seek(0)
        for _ in range(self._part_count):
            stored = pickle.load(self._file)  # this process wrote the file
            yield {
                name: Rows(*stored[name]) if name in stored else EMPTY_ROWS
                for name in SNAPSHOT_PARTS
            }

    def whole(self) -> Snapshot:
        """Every part as one snapshot in memory: for small estates and tests."""
        merged: dict[str, list[Any]] = {name: [] for name in SNAPSHOT_PARTS}
        for part in self.parts():
            for name in SNAPSHOT_PARTS:
                merged[name].extend(part[name].records())
        for records in merged.values():
            records.sort(key=attrgetter("external_id"))
        return Snapshot(self.source, warnings=self.warnings, disk_scan=self.disk_scan, **merged)

    def close(self) -> None:
        self._file.close()

    def __enter__(self) -> SpooledSnapshot:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


_VM_PARTS = tuple(name for name in SNAPSHOT_PARTS if name not in (*OWNER_PARTS, "tags"))


def spool_whole(snapshot: Snapshot, vms_per_part: int = 500) -> SpooledSnapshot:
    """A snapshot read whole, kept in the parts a connector that reads in batches writes:
    the containers with their tags, then ``vms_per_part`` VMs at a time with theirs."""
    by_vm: dict[str, dict[str, list[Any]]] = defaultdict(lambda: defaultdict(list))
    for name in _VM_PARTS:
        for record in getattr(snapshot, name):
            by_vm[record.vm_external_id][name].append(record)
    for tag in snapshot.tags:
        if tag.object_type == "vm":
            by_vm[tag.object_external_id]["tags"].append(tag)
    spool = SnapshotSpool()
    spool.add(
        Snapshot(
            snapshot.source,
            **{name: getattr(snapshot, name) for name in OWNER_PARTS if name != "vms"},
            tags=[tag for tag in snapshot.tags if tag.object_type != "vm"],
        )
    )
    for start in range(0, len(snapshot.vms), vms_per_part):
        vms = snapshot.vms[start : start + vms_per_part]
        parts: dict[str, Any] = defaultdict(list)
        for vm in vms:
            for name, records in by_vm.get(vm.external_id, {}).items():
                parts[name].extend(records)
        spool.add(Snapshot(snapshot.source, vms=vms, **parts))
    return spool.finish(snapshot.source, snapshot.warnings, snapshot.disk_scan)
