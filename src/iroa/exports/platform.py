"""The whole inventory of one platform as one JSON document, streamed from one read transaction.

What ``/api/v1/vcenter/inventory`` and ``/api/v1/hyperv/inventory`` send:
``{"datacenters": [...], "clusters": [...], "hosts": [...], "datastores": [...],
"networks": [...], "vms": [...]}``, each list's items as the paged lists show
them, by name. Rows are read a chunk at a time (server-side cursors on
PostgreSQL), so memory stays flat whatever the size of the estate; every
type is read in the same transaction as the counts, so the document shows one
moment.
"""

from __future__ import annotations

from collections.abc import Generator
from dataclasses import dataclass

import orjson

from iroa.db.engine import Database
from iroa.exports.service import CHUNK_SIZE, snapshot_connection
from iroa.inventory.listing import platform_inventory_query
from iroa.inventory.queries import jsonable_rows, object_type, split_vm_placements


@dataclass(frozen=True)
class PlatformInventoryStream:
    """The counts of every type, known before the first byte, and the document's chunks.

    ``first`` was read when the stream was opened; ``rest`` holds the read
    transaction open until it is exhausted or closed — close it however the
    response ends.
    """

    totals: dict[str, int]
    first: bytes
    rest: Generator[bytes, None, None]


def open_platform_inventory(
    db: Database, platform: str, limit: int | None = None
) -> PlatformInventoryStream:
    """Open the read transaction, count every type, and start the document; with ``limit``,
    each list holds at most that many objects."""
    totals: dict[str, int] = {}
    chunks = _document(db, platform, limit, totals)
    try:
        first = next(chunks)
    except BaseException:
        chunks.close()
        raise
    return PlatformInventoryStream(totals, first, chunks)


def _document(
    db: Database, platform: str, limit: int | None, totals: dict[str, int]
) -> Generator[bytes, None, None]:
    query = platform_inventory_query(db, platform, limit)
    with snapshot_connection(db) as conn:
        totals.update(conn.execute(query.counts, query.values).one()._asdict())
        opening = b"{"
        for plural, stmt in query.objects.items():
            placements = object_type(plural).placements
            chunk = opening + orjson.dumps(plural) + b":["
            separator = b""
            result = conn.execution_options(yield_per=CHUNK_SIZE).execute(stmt, query.values)
            for partition in result.partitions():
                items = jsonable_rows(partition)
                if placements:
                    split_vm_placements(items)
                # An array's items without its brackets, to be joined with the next chunk's.
                chunk += separator + orjson.dumps(items)[1:-1]
                separator = b","
                yield chunk
                chunk = b""
            yield chunk + b"]"
            opening = b","
        yield b"}"
