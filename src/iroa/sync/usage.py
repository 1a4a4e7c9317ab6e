"""Storing the usage figures of VMs and hosts (vCenter ``summary.quickStats``) a sync read.

They are a moment's figures, not inventory: every read differs, so comparing them
with the inventory would turn every sync into a change of every running VM. They
travel in the records (:data:`~iroa.connectors.base.USAGE_FIELDS`) but the planner
never sees them: they have no column in the inventory tables and make no change
row. Instead each full sync brings the integration's
:class:`~iroa.inventory.models.UsageLatest` rows to what it read, part by part:
a row whose figures are as stored is left alone, a changed one is updated, a new
one inserted, and the row of an object read without figures, or gone, deleted
(all in bulk, in the run's transaction). Since every row it leaves was read by
it, the run's time is kept once, on the integration (``usage_read_at``), rather
than rewritten in every unchanged row. It also appends the CPU use of its running
VMs to :class:`~iroa.inventory.models.VmCpuSample`, of which the last few syncs'
are kept. A watched change replaces the latest figures of the objects it read,
and adds no sample: the samples are one per full sync, evenly spaced.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Table, delete, select, update

from iroa.connectors.base import USAGE_FIELDS, Part, Rows
from iroa.db.bulk import BulkInsert, BulkUpdate
from iroa.integrations.models import Integration
from iroa.inventory.models import UsageLatest, VmCpuSample
from iroa.sync.scope import one_of

USAGE_LATEST = UsageLatest.__tablename__
CPU_SAMPLES = VmCpuSample.__tablename__
USAGE_TABLES = (USAGE_LATEST, CPU_SAMPLES)
_PLURALS = {"vm": "vms", "host": "hosts"}
_IN_CHUNK = 2_000
_LATEST: Table = UsageLatest.__table__  # type: ignore[assignment]
Figures = tuple[Any, ...]


def mark_read(conn: Connection, integration_id: int, now: datetime) -> None:
    """Record that a full sync read the integration's figures at ``now``: the rows it
    left unchanged were read then too (lists show the later of this and a row's own time)."""
    conn.execute(
        update(Integration).where(Integration.id == integration_id).values(usage_read_at=now)
    )


class LatestFigures:
    """A full sync's latest figures: the stored ones, read once, brought part by part to
    what the sync read, and those of objects it did not read (or read without figures)
    deleted at the end.

    The stored figures are read in one query per type rather than per part: looking up a
    part's thousand external ids in the unique index took several milliseconds a part
    on PostgreSQL, more than writing them all again had; the whole of them is held
    meanwhile, about 35 MB per 100,000 VMs.
    """

    def __init__(self, conn: Connection, integration_id: int, run_id: int, now: datetime) -> None:
        self.integration_id = integration_id
        self.run_id = run_id
        self.now = now
        self.stored = {
            object_type: _stored_latest(conn, integration_id, object_type)
            for object_type in _PLURALS
        }
        self.written = 0
        """Rows of latest figures inserted, updated or deleted so far."""
        self.sampled = 0
        """CPU samples inserted so far."""

    def write(self, conn: Connection, part: Part) -> None:
        """The latest figures of a part's VMs and hosts as it read them, and the CPU use of
        its running VMs as samples of this run."""
        for object_type, plural in _PLURALS.items():
            rows = part[plural]
            if rows:
                self._sync(conn, object_type, rows)
        vms = part["vms"]
        if vms and "cpu_used_mhz" in vms.fields:
            read = vms.getter("external_id", "power_state", "cpu_used_mhz")
            ids_on, cpu = [], []
            for external_id, power_state, mhz in map(read, vms.rows):
                if power_state == "on" and mhz is not None:
                    ids_on.append(external_id)
                    cpu.append(mhz)
            BulkInsert(
                conn,
                VmCpuSample.__table__,  # type: ignore[arg-type]
                ("external_id", "cpu_used_mhz"),
                {"integration_id": self.integration_id, "run_id": self.run_id},
            ).send([ids_on, cpu])
            self.sampled += len(ids_on)

    def finish(self, conn: Connection) -> None:
        """Delete the stored figures no part of the sync read: of objects gone, skipped or
        read without figures."""
        left = [row[0] for stored in self.stored.values() for row in stored.values()]
        _delete_ids(conn, left)
        self.written += len(left)
        self.stored = {}

    def _sync(self, conn: Connection, object_type: str, rows: Rows) -> None:
        """Only the rows whose figures differ from the stored ones are written."""
        read = _read_figures(object_type, rows) if "cpu_used_mhz" in rows.fields else {}
        stored = self.stored[object_type]
        new: dict[str, Figures] = {}
        changed_ids: list[int] = []
        changed: list[Figures] = []
        for external_id, figures in read.items():
            row = stored.pop(external_id, None)
            if row is None:
                new[external_id] = figures
            elif row[1:] != figures:
                changed_ids.append(row[0])
                changed.append(figures)
        if changed_ids:
            BulkUpdate(
                conn,
                _LATEST,
                USAGE_FIELDS[object_type],
                {"run_id": self.run_id, "sampled_at": self.now},
            ).send(changed_ids, list(zip(*changed, strict=True)))
        _insert_latest(conn, self.integration_id, self.run_id, self.now, object_type, new)
        self.written += len(changed_ids) + len(new)


def replace_usage(
    conn: Connection,
    integration_id: int,
    run_id: int,
    now: datetime,
    part: Part,
    touched: Mapping[str, Collection[str]],
) -> None:
    """The latest figures of the objects a delta touched, as it read them and stamped with
    its time, even where they did not change (none for those gone); samples are left to
    full syncs."""
    for object_type, plural in _PLURALS.items():
        drop_latest(conn, integration_id, object_type, list(touched.get(object_type, ())))
        rows = part[plural]
        if rows and "cpu_used_mhz" in rows.fields:
            found = _read_figures(object_type, rows)
            _insert_latest(conn, integration_id, run_id, now, object_type, found)


def drop_latest(
    conn: Connection, integration_id: int, object_type: str, external_ids: Collection[str]
) -> None:
    """Delete the latest figures of these objects of one type."""
    ids = sorted(external_ids)
    for start in range(0, len(ids), _IN_CHUNK):
        conn.execute(
            delete(UsageLatest).where(
                UsageLatest.integration_id == integration_id,
                UsageLatest.object_type == object_type,
                UsageLatest.external_id.in_(ids[start : start + _IN_CHUNK]),
            )
        )


def prune_samples(conn: Connection, integration_id: int, syncs: int) -> None:
    """Keep the CPU samples of the integration's last ``syncs`` sampling runs only."""
    oldest_kept = conn.execute(
        select(VmCpuSample.run_id)
        .where(VmCpuSample.integration_id == integration_id)
        .group_by(VmCpuSample.run_id)
        .order_by(VmCpuSample.run_id.desc())
        .offset(syncs - 1)
        .limit(1)
    ).scalar()
    if oldest_kept is not None:
        conn.execute(
            delete(VmCpuSample).where(
                VmCpuSample.integration_id == integration_id, VmCpuSample.run_id < oldest_kept
            )
        )


def _read_figures(object_type: str, rows: Rows) -> dict[str, Figures]:
    """The figures of each row that has any, by external id."""
    names = USAGE_FIELDS[object_type]
    external_ids = map(rows.getter("external_id"), rows.rows)
    figures = map(rows.getter(*names), rows.rows)
    none = (None,) * len(names)
    return {
        external_id: read
        for external_id, read in zip(external_ids, figures, strict=True)
        if read != none
    }


def _stored_latest(
    conn: Connection, integration_id: int, object_type: str
) -> dict[str, tuple[Any, ...]]:
    """The integration's stored figures of one type: row id, then figures, by external id."""
    columns = [_LATEST.c[name] for name in USAGE_FIELDS[object_type]]
    rows = conn.execute(
        select(_LATEST.c.external_id, _LATEST.c.id, *columns).where(
            _LATEST.c.integration_id == integration_id, _LATEST.c.object_type == object_type
        )
    ).all()
    if not rows:
        return {}
    # Column by column, so that the tuples are made in C rather than per row in Python.
    external_ids, *values = zip(*rows, strict=True)
    return dict(zip(external_ids, zip(*values, strict=True), strict=True))


def _delete_ids(conn: Connection, ids: list[int]) -> None:
    scoped, bind = one_of(conn, _LATEST.c.id)
    for start in range(0, len(ids), _IN_CHUNK):
        conn.execute(delete(_LATEST).where(scoped), {"scope": bind(ids[start : start + _IN_CHUNK])})


def _insert_latest(
    conn: Connection,
    integration_id: int,
    run_id: int,
    now: datetime,
    object_type: str,
    found: Mapping[str, Figures],
) -> None:
    if not found:
        return
    BulkInsert(
        conn,
        _LATEST,
        ("external_id", *USAGE_FIELDS[object_type]),
        {
            "integration_id": integration_id,
            "object_type": object_type,
            "run_id": run_id,
            "sampled_at": now,
        },
    ).send([list(found), *zip(*found.values(), strict=True)])
