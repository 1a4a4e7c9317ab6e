"""Storing the usage figures of VMs and hosts (vCenter ``summary.quickStats``) a sync read.

They are a moment's figures, not inventory: every read differs, so comparing them
would turn every sync into a change of every running VM. They travel in the
records (:data:`~iroa.connectors.base.USAGE_FIELDS`) but the planner never sees
them: they have no column in the inventory tables. Instead each full sync
replaces the integration's :class:`~iroa.inventory.models.UsageLatest` rows,
and appends the CPU use of its running VMs to
:class:`~iroa.inventory.models.VmCpuSample`, of which the last few syncs' are
kept. Both are bulk inserts without comparison, in the run's transaction. A
watched change replaces the latest figures of the objects it read, and adds no
sample: the samples are one per full sync, evenly spaced.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, delete, select

from iroa.connectors.base import USAGE_FIELDS, Part, Rows
from iroa.db.bulk import BulkInsert
from iroa.inventory.models import UsageLatest, VmCpuSample

USAGE_TABLES = (UsageLatest.__tablename__, VmCpuSample.__tablename__)
_PLURALS = {"vm": "vms", "host": "hosts"}
_IN_CHUNK = 2_000


def clear_latest(conn: Connection, integration_id: int) -> None:
    """Drop the integration's latest figures: a full sync writes them all again."""
    conn.execute(delete(UsageLatest).where(UsageLatest.integration_id == integration_id))


def write_usage(
    conn: Connection,
    integration_id: int,
    run_id: int,
    now: datetime,
    part: Part,
    *,
    sample: bool,
) -> None:
    """Insert the latest figures of the part's VMs and hosts that have any, and if ``sample``
    the CPU use of its running VMs as samples of this run."""
    for object_type, plural in _PLURALS.items():
        rows = part[plural]
        if not rows or "cpu_used_mhz" not in rows.fields:
            continue
        _insert_latest(conn, integration_id, run_id, now, object_type, rows)
    vms = part["vms"]
    if sample and vms and "cpu_used_mhz" in vms.fields:
        read = vms.getter("external_id", "power_state", "cpu_used_mhz")
        ids, cpu = [], []
        for external_id, power_state, mhz in map(read, vms.rows):
            if power_state == "on" and mhz is not None:
                ids.append(external_id)
                cpu.append(mhz)
        BulkInsert(
            conn,
            VmCpuSample.__table__,  # type: ignore[arg-type]
            ("external_id", "cpu_used_mhz"),
            {"integration_id": integration_id, "run_id": run_id},
        ).send([ids, cpu])


def replace_usage(
    conn: Connection,
    integration_id: int,
    run_id: int,
    now: datetime,
    part: Part,
    touched: Mapping[str, Collection[str]],
) -> None:
    """The latest figures of the objects a delta touched, as it read them (none for those
    gone); samples are left to full syncs."""
    for object_type in _PLURALS:
        ids = list(touched.get(object_type, ()))
        for start in range(0, len(ids), _IN_CHUNK):
            conn.execute(
                delete(UsageLatest).where(
                    UsageLatest.integration_id == integration_id,
                    UsageLatest.object_type == object_type,
                    UsageLatest.external_id.in_(ids[start : start + _IN_CHUNK]),
                )
            )
    write_usage(conn, integration_id, run_id, now, part, sample=False)


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


def _insert_latest(
    conn: Connection,
    integration_id: int,
    run_id: int,
    now: datetime,
    object_type: str,
    rows: Rows,
) -> None:
    names = USAGE_FIELDS[object_type]
    read = rows.getter("external_id", *names)
    found: list[tuple[Any, ...]] = [
        values for values in map(read, rows.rows) if any(v is not None for v in values[1:])
    ]
    if not found:
        return
    BulkInsert(
        conn,
        UsageLatest.__table__,  # type: ignore[arg-type]
        ("external_id", *names),
        {
            "integration_id": integration_id,
            "object_type": object_type,
            "run_id": run_id,
            "sampled_at": now,
        },
    ).send([list(column) for column in zip(*found, strict=True)])
