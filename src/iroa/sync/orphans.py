"""Storing the orphaned disks a full sync's search of the datastores found.

They are what the search saw, not inventory with a history: each full sync
brings the integration's :class:`~iroa.inventory.models.OrphanedDisk` rows to
its :class:`~iroa.connectors.base.DiskScan`, in the run's transaction. For each
datastore it searched, a file still there keeps its row (and when it was first
found, with its size brought up to date), a new one is inserted and
one gone deleted; the rows of a datastore it could not search are kept, those
of a datastore the integration no longer has are deleted. A read that searched
nothing (the search is off, or the source has no datastores to search)
deletes them all. A watched change leaves them alone.
"""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime

from sqlalchemy import Connection, delete, insert, select, update

from iroa.connectors.base import DiskScan
from iroa.inventory.models import OrphanedDisk

_IN_CHUNK = 1_000


def store_orphaned_disks(
    conn: Connection,
    integration_id: int,
    scan: DiskScan | None,
    datastores: Collection[str],
    now: datetime,
) -> None:
    """Bring the integration's orphaned disks to ``scan`` (see the module's doc);
    ``datastores`` are the external ids of the datastores it has now."""
    stored = conn.execute(
        select(
            OrphanedDisk.id,
            OrphanedDisk.datastore_external_id,
            OrphanedDisk.path,
            OrphanedDisk.size_bytes,
        ).where(OrphanedDisk.integration_id == integration_id)
    ).all()
    searched = scan.datastores if scan is not None else frozenset()
    found = {(r.datastore_external_id, r.path): r for r in scan.orphaned} if scan else {}
    gone: list[int] = []
    for row_id, datastore, path, size in stored:
        if scan is None or datastore not in datastores:
            gone.append(row_id)
        elif datastore in searched:
            record = found.pop((datastore, path), None)
            if record is None:
                gone.append(row_id)
            elif record.size_bytes != size:
                conn.execute(
                    update(OrphanedDisk)
                    .where(OrphanedDisk.id == row_id)
                    .values(size_bytes=record.size_bytes)
                )
    for start in range(0, len(gone), _IN_CHUNK):
        chunk = gone[start : start + _IN_CHUNK]
        conn.execute(delete(OrphanedDisk).where(OrphanedDisk.id.in_(chunk)))
    if found:
        conn.execute(
            insert(OrphanedDisk),
            [
                {
                    "integration_id": integration_id,
                    "datastore_external_id": record.datastore_external_id,
                    "path": record.path,
                    "size_bytes": record.size_bytes,
                    "first_seen_at": now,
                }
                for record in found.values()
            ],
        )
