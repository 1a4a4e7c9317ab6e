"""Applying an inventory snapshot: compare it with what is stored, then write what changed.

One transaction per run: rows are inserted, updated or marked removed (never
deleted), one change row per object, the run's KPIs summarised. The usage
figures the records carry are stored beside, never a change (:mod:`iroa.sync.usage`). A
snapshot that would remove too much is held by the safeguard and changes nothing.

A full snapshot is applied a part at a time (:mod:`iroa.sync.scope`), as its
connector read it: its containers, then VMs a batch at a time with what hangs
off them, then the objects it no longer has. Only one part's records and
stored rows are in memory at once; what the safeguard weighs is known before
the first row is written, from the snapshot's external ids and the stored ones.
"""

from __future__ import annotations

import gc
import threading
from collections.abc import Collection, Iterable, Iterator, Mapping, Sequence
from contextlib import AbstractContextManager, contextmanager, nullcontext
from dataclasses import dataclass, field
from datetime import datetime
from itertools import chain
from typing import Any, TypeVar

from sqlalchemy import Connection, select

from iroa.connectors.base import (
    EMPTY_ROWS,
    OWNER_PARTS,
    SNAPSHOT_PARTS,
    Collected,
    LicenseInfo,
    NullProgress,
    Part,
    Progress,
    Rows,
)
from iroa.db.base import utcnow
from iroa.db.bulk import indexes_built_after
from iroa.db.engine import Database, large_write
from iroa.history.models import Change
from iroa.integrations.models import Integration
from iroa.inventory.types import BY_PLURAL
from iroa.sync.forget import unkeyed_tables
from iroa.sync.orphans import store_orphaned_disks
from iroa.sync.policy import SyncPolicy
from iroa.sync.reconcile import DuplicateExternalIdError, Plan, Weight, hold_reason
from iroa.sync.runs import SyncResult, finish_read
from iroa.sync.scope import (
    CONTAINERS,
    TYPE_FIELDS,
    IdMaps,
    plan_scope,
    row_index,
    unstored_types,
)
from iroa.sync.summary import write_summary
from iroa.sync.usage import CPU_SAMPLES, USAGE_LATEST, LatestFigures, mark_read, prune_samples
from iroa.sync.writes import write_plan
from iroa.vocabulary import ChangeAction, RunStatus

ANALYZE_AFTER_WRITES = 5_000
DEFER_INDEXES_VMS = 10_000
"""A snapshot of this many VMs into empty tables builds their indexes after its rows (on
SQLite, its VM search index)."""
DEFER_SQLITE_INDEXES_VMS = 50_000
"""… and on SQLite, from this many, their plain indexes too: building them afterwards took
a first sync of 100,000 VMs from 7.4 s of rows to 5 s and under 1 s of indexes, but its
sort buffers raised the peak memory of a first sync of 20,000 VMs by 6 MB, for a few
tenths of a second."""
SCOPE_VMS = 1_000
"""VMs per scope of a full snapshot: the connector's parts are joined up to it."""
PRIMARY = tuple(tf for tf in TYPE_FIELDS if tf.type.primary)
_APPLIED = {tf.type.table.name for tf in TYPE_FIELDS} | {Change.__tablename__}
BULK_TABLES = tuple(t for t in unkeyed_tables() if t.name in _APPLIED)
"""The tables that grow with the VMs: those of the snapshot's object types and the change
rows without foreign keys (not the usage figures', empty for ever on Hyper-V, nor the
events', which a snapshot does not fill: their indexes would be rebuilt at every large sync)."""
Counts = dict[str, dict[str, int]]
_K = TypeVar("_K")
_V = TypeVar("_V")


def warnings_of(snapshot: Collected) -> list[dict[str, str]] | None:
    if not snapshot.warnings:
        return None
    return [
        {"type": w.object_type, "id": w.external_id, "reason": w.reason} for w in snapshot.warnings
    ]


def source_of(snapshot: Any) -> dict[str, Any]:
    """What a run records of the system it read: name, product, version and build, what
    else it says of itself (``about``) and the licenses it holds, if they were read."""
    source = snapshot.source
    recorded: dict[str, Any] = {
        "name": source.name,
        "product": source.product,
        "version": source.version,
        "build": source.build,
    }
    if source.about:
        recorded["about"] = dict(source.about)
    if source.licenses is not None:
        recorded["licenses"] = [license_of(info) for info in source.licenses]
    return recorded


def license_of(info: LicenseInfo) -> dict[str, Any]:
    """One license as a run records it (JSON: the expiry as ISO 8601 text)."""
    return {
        "name": info.name,
        "key": info.key,
        "total": info.total,
        "used": info.used,
        "cost_unit": info.cost_unit,
        "expires_at": info.expires_at.isoformat() if info.expires_at else None,
        "labels": list(info.labels),
        "features": list(info.features),
    }


def apply_inventory(
    db: Database,
    run_id: int,
    integration_id: int,
    snapshot: Collected,
    force: bool,
    progress: Progress,
    policy: SyncPolicy,
) -> SyncResult:
    """Apply one inventory snapshot in one transaction, or hold it (see the module's doc)."""
    check_unique(snapshot)
    skipped_by_type = skipped_of(snapshot)
    skipped = set().union(*skipped_by_type.values()) if skipped_by_type else set()
    owner_ids = snapshot.owner_ids()
    # References to a skipped object stay as stored, like the object itself.
    known = {
        plural: owner_ids[plural] | skipped_by_type.get(BY_PLURAL[plural].name, set())
        for plural in OWNER_PARTS
    }
    vms = snapshot.counts()["vms"]
    with _collector_paused, applying(db, integration_id, vms) as (conn, now, previous_success):
        progress.start("compare", len(PRIMARY))
        row_ids: dict[str, dict[str, int]] = {}
        present: dict[str, set[str]] = {}
        for tf in PRIMARY:
            row_ids[tf.type.plural], present[tf.type.plural] = row_index(conn, tf, integration_id)
            progress.advance()
        containers = {tf.type.table.name: invert(row_ids[tf.type.plural]) for tf in CONTAINERS}
        gone = {tf.type.name: present[tf.type.plural] - known[tf.type.plural] for tf in PRIMARY}
        weights = {
            tf.type.plural: Weight(
                present_before=len(present[tf.type.plural]),
                added=len(owner_ids[tf.type.plural] - present[tf.type.plural]),
                removed=len(gone[tf.type.name]),
            )
            for tf in PRIMARY
        }
        del present
        guarded = [tf.type.plural for tf in PRIMARY]
        reason = None if force else hold_reason(weights, guarded, policy.safeguard)
        parts = chain(
            ((part, touched_by(part)) for part in scopes_of(snapshot.parts())),
            [(dict.fromkeys(SNAPSHOT_PARTS, EMPTY_ROWS), gone)],  # what it no longer has
        )
        scope = RunScope(
            integration_id,
            run_id,
            now,
            previous_success,
            known,
            skipped,
            unstored_types(conn, integration_id),
            row_ids,
        )
        if reason is not None:
            counts = scope.apply_parts(conn, containers, parts, NullProgress(), write=False)
            return record_held(conn, run_id, integration_id, snapshot, counts, reason, policy)
        progress.start("apply vms", vms)
        scope.latest = LatestFigures(conn, integration_id, run_id, now)
        with indexes_deferred(conn, vms):
            counts = scope.apply_parts(conn, containers, parts, progress, write=True)
        scope.finish_usage(conn)
        store_orphaned_disks(conn, integration_id, snapshot.disk_scan, known["datastores"], now)
        mark_read(conn, integration_id, now)
        prune_samples(conn, integration_id, policy.thresholds.idle_syncs)
        record_succeeded(conn, run_id, integration_id, snapshot, counts, now, policy)
    if scope.writes >= ANALYZE_AFTER_WRITES:
        with db.engine.connect() as conn:
            _refresh_statistics(
                conn.execution_options(iroa_write=True),
                [*sorted(scope.written), Change.__tablename__],
            )
    return SyncResult(run_id, RunStatus.SUCCEEDED, None, counts, dict(snapshot.counts()))


def indexes_deferred(conn: Connection, vms: int) -> AbstractContextManager[list[str]]:
    """For a large snapshot, the indexes of the empty tables that grow with the VMs built
    after the rows are in (:func:`~iroa.db.bulk.indexes_built_after`: their plain indexes,
    and SQLite's VM search)."""
    if vms < DEFER_INDEXES_VMS:
        return nullcontext([])
    plain = conn.dialect.name != "sqlite" or vms >= DEFER_SQLITE_INDEXES_VMS
    return indexes_built_after(conn, BULK_TABLES, plain=plain)


def scopes_of(parts: Iterable[Part], vms: int = SCOPE_VMS) -> Iterator[Part]:
    """Consecutive parts joined until they hold ``vms`` VMs: each scope costs a query per
    type, and holds its records and stored rows in memory while it is applied."""
    pending: list[Part] = []
    count = 0
    for part in parts:
        pending.append(part)
        count += len(part["vms"])
        if count >= vms:
            yield joined(pending)
            pending, count = [], 0
    if pending:
        yield joined(pending)


def joined(parts: Sequence[Part]) -> Part:
    if len(parts) == 1:
        return parts[0]
    merged: dict[str, Rows] = {}
    for name in SNAPSHOT_PARTS:
        found = [part[name] for part in parts if part[name]]
        if not found:
            merged[name] = EMPTY_ROWS
        else:
            merged[name] = Rows(found[0].kind, found[0].fields, [r for f in found for r in f.rows])
    return merged


def touched_by(part: Part) -> dict[str, set[str]]:
    """The objects a part of a full snapshot speaks for: its primary objects, by type name."""
    return {tf.type.name: set(part[tf.type.plural].column("external_id")) for tf in PRIMARY}


def check_unique(snapshot: Collected) -> None:
    """Raise :class:`DuplicateExternalIdError` if the snapshot holds an object twice (parts
    check their own records as they are planned; this finds one across parts)."""
    owner_ids = snapshot.owner_ids()
    counts = snapshot.counts()
    repeated = [plural for plural in OWNER_PARTS if counts[plural] > len(owner_ids[plural])]
    if not repeated:
        return
    seen: dict[str, set[str]] = {plural: set() for plural in repeated}
    for part in snapshot.parts():
        for plural in repeated:
            for external_id in part[plural].column("external_id"):
                if external_id in seen[plural]:
                    raise DuplicateExternalIdError(f"the source reported {external_id!r} twice")
                seen[plural].add(external_id)


@dataclass
class RunScope:
    """What every scope of one full run shares: who applies, when, what is known."""

    integration_id: int
    run_id: int
    now: datetime
    previous_success: datetime | None
    known: Mapping[str, frozenset[str] | set[str]]
    skipped: set[str]
    unstored: Collection[str] = ()
    """Types of which the integration had no row before the run."""
    row_ids: Mapping[str, Mapping[str, int]] | None = None
    """The row id of every stored object of the primary types, by plural and external id."""
    latest: LatestFigures | None = None
    """The run's usage figures, written with each part if set."""
    writes: int = 0
    written: set[str] = field(default_factory=set)

    def apply_parts(
        self,
        conn: Connection,
        containers: IdMaps,
        parts: Iterator[tuple[Part, Mapping[str, set[str] | frozenset[str]]]],
        progress: Progress,
        *,
        write: bool,
    ) -> Counts:
        """Plan each part, and write it if ``write``; the counts of objects added,
        modified and removed, by type."""
        counts = no_counts()
        container_ids = {table: invert(ids) for table, ids in containers.items()}
        for part, touched in parts:
            id_to_external: IdMaps = dict(containers)  # a VM's rows are forgotten after its part
            plans = plan_scope(
                conn,
                self.integration_id,
                part,
                touched,
                self.known,
                self.skipped,
                id_to_external,
                self.unstored,
                self.row_ids,
            )
            for plural, plan in plans.items():
                add_counts(counts[plural], plan)
            if write:
                external_to_id = dict(container_ids)
                for table, ids in id_to_external.items():
                    if table not in containers:
                        external_to_id[table] = invert(ids)
                self.write(conn, plans, external_to_id)
                if self.latest is not None:
                    self.latest.write(conn, part)
            progress.advance(len(part["vms"]))
        return counts

    def finish_usage(self, conn: Connection) -> None:
        """The usage figures no part read deleted (:class:`~iroa.sync.usage.LatestFigures`);
        the latest figures and CPU samples written count among the run's writes, for the
        statistics refresh (a first sync's would otherwise leave them planned for empty
        tables: the idle VM rule's join of 10,000 samples was planned for 6)."""
        if self.latest is None:
            return
        self.latest.finish(conn)
        if self.latest.sampled:
            self.writes += self.latest.sampled
            self.written.add(CPU_SAMPLES)
        if self.latest.written:
            self.writes += self.latest.written
            self.written.add(USAGE_LATEST)

    def write(
        self, conn: Connection, plans: Mapping[str, Plan], external_to_id: dict[str, dict[str, int]]
    ) -> None:
        for tf in TYPE_FIELDS:
            plan = plans[tf.type.plural]
            if not plan.writes:
                continue
            self.writes += plan.writes
            self.written.add(tf.type.table.name)
            write_plan(
                conn,
                tf,
                plan,
                self.integration_id,
                self.run_id,
                self.now,
                self.previous_success,
                external_to_id,
                NullProgress(),
            )


def invert(mapping: Mapping[_K, _V]) -> dict[_V, _K]:
    return dict(zip(mapping.values(), mapping.keys(), strict=True))


def no_counts() -> Counts:
    """Objects added, modified and removed, by type: none yet."""
    return {tf.type.plural: dict.fromkeys((a.value for a in ChangeAction), 0) for tf in TYPE_FIELDS}


def add_counts(counts: dict[str, int], plan: Plan) -> None:
    counts[ChangeAction.ADDED.value] += plan.added
    counts[ChangeAction.MODIFIED.value] += plan.modified
    counts[ChangeAction.REMOVED.value] += plan.removed


def recorded_of(snapshot: Collected, counts: Counts) -> dict[str, Any]:
    """What a run records of a snapshot it read: totals, counts, source, warnings."""
    return {
        "totals": dict(snapshot.counts()),
        "counts": counts,
        "source": source_of(snapshot),
        "warnings": warnings_of(snapshot),
    }


def record_held(
    conn: Connection,
    run_id: int,
    integration_id: int,
    snapshot: Collected,
    counts: Counts,
    reason: str,
    policy: SyncPolicy,
    *,
    reschedule: bool = True,
) -> SyncResult:
    """Record a run the safeguard held: nothing else was written."""
    finish_read(
        conn,
        integration_id,
        run_id,
        RunStatus.HELD,
        policy.schedule,
        reschedule=reschedule,
        error=f"held: {reason}; nothing was changed",
        **recorded_of(snapshot, counts),
    )
    return SyncResult(run_id, RunStatus.HELD, reason, counts, dict(snapshot.counts()))


def record_succeeded(
    conn: Connection,
    run_id: int,
    integration_id: int,
    snapshot: Collected,
    counts: Counts,
    now: datetime,
    policy: SyncPolicy,
    *,
    reschedule: bool = True,
) -> None:
    """Summarise the integration's KPIs and record a run that applied its snapshot."""
    write_summary(conn, integration_id, run_id, now)
    finish_read(
        conn,
        integration_id,
        run_id,
        RunStatus.SUCCEEDED,
        policy.schedule,
        applied_at=now,
        reschedule=reschedule,
        **{action.value: sum(c[action.value] for c in counts.values()) for action in ChangeAction},
        **recorded_of(snapshot, counts),
    )


class _CollectorPause:
    """Pauses Python's cyclic garbage collector while a snapshot is applied.

    Applying a large snapshot allocates millions of objects while the snapshot's
    own records are alive, and each full collection walks them all: the
    collector's passes took a third of an unchanged apply of 100,000 VMs. An
    apply makes almost no reference cycles; those it makes are collected once it
    ends. Runs in other threads share the pause: the collector resumes when the
    last one ends, if it was running before the first began.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._holders = 0
        self._resume = False

    def __enter__(self) -> None:
        with self._lock:
            if self._holders == 0:
                self._resume = gc.isenabled()
                gc.disable()
            self._holders += 1

    def __exit__(self, *exc_info: object) -> None:
        with self._lock:
            self._holders -= 1
            if self._holders == 0 and self._resume:
                gc.enable()


_collector_paused = _CollectorPause()


@contextmanager
def applying(
    db: Database, integration_id: int, vms: int = 0
) -> Iterator[tuple[Connection, datetime, datetime | None]]:
    """The one transaction a run applies in (taking the write lock at once), sized for
    ``vms`` VMs: its connection, the moment it applies at, and the integration's last
    success before it."""
    with db.engine.connect() as conn:
        conn = conn.execution_options(iroa_write=True)
        with large_write(conn, vms), conn.begin():
            previous_success = conn.execute(
                select(Integration.last_success_at).where(Integration.id == integration_id)
            ).scalar_one()
            yield conn, utcnow(), previous_success


def skipped_of(snapshot: Collected) -> dict[str, set[str]]:
    """The external ids of the objects a snapshot could not map, by object type name."""
    skipped: dict[str, set[str]] = {}
    for skipped_object in snapshot.warnings:
        skipped.setdefault(skipped_object.object_type, set()).add(skipped_object.external_id)
    return skipped


def _refresh_statistics(conn: Connection, tables: Sequence[str]) -> None:
    """Let the planner see a large batch of new rows now rather than at the next autovacuum.

    Without it, queries right after a first sync of a big estate (lists, exports)
    are planned for empty tables and can be slower by orders of magnitude.
    """
    if conn.dialect.name == "postgresql":
        with conn.begin():
            conn.exec_driver_sql("ANALYZE " + ", ".join(f'"{t}"' for t in tables))
    elif conn.dialect.name == "sqlite":
        with conn.begin():
            conn.exec_driver_sql("PRAGMA optimize")
