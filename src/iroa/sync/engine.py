"""Run a sync: collect a snapshot, then apply it in one transaction and record the run.

The connector is handed in already built: this module never imports a vendor SDK.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from operator import attrgetter
from typing import Any, TypeVar

from sqlalchemy import Connection, bindparam, insert, select, update
from sqlalchemy.orm import Session

from iroa.config import get_settings
from iroa.connectors.base import Connector, ConnectorError, NullProgress, Progress, Snapshot
from iroa.db.base import utcnow
from iroa.db.engine import Database
from iroa.db.locks import sync_lock
from iroa.findings.rules import Thresholds
from iroa.findings.service import refresh_findings
from iroa.history.models import Change
from iroa.history.retention import prune_changes
from iroa.integrations.models import Integration
from iroa.inventory.types import OBJECT_TYPES, ObjectType
from iroa.sync.models import SyncRun
from iroa.sync.reconcile import (
    DuplicateExternalIdError,
    Plan,
    Safeguard,
    StoredRow,
    hold_reason,
    plan_type,
)
from iroa.sync.schedule import SchedulePolicy, next_after_failure, next_after_success
from iroa.sync.summary import write_summary

log = logging.getLogger(__name__)

_CHUNK = 500
_T = TypeVar("_T")
ANALYZE_AFTER_WRITES = 5_000
INTERRUPTED_REASON = "the process running this sync stopped before it finished"
DEFAULT_SYNC_TIMEOUT_S = 1800
"""How long connecting and collecting may take, unless the integration sets ``sync_timeout_s``."""


class SyncAlreadyRunningError(Exception):
    """Another process is syncing this integration right now."""


class SyncTimeoutError(Exception):
    """Collection went on past the integration's timeout and was abandoned."""


class CollectionAbandonedError(Exception):
    """Raised inside an abandoned collection, at its next progress report, to end it."""


@dataclass(frozen=True, slots=True)
class SyncResult:
    run_id: int
    status: str
    error: str | None = None
    counts: dict[str, dict[str, int]] = field(default_factory=dict)
    totals: dict[str, int] = field(default_factory=dict)

    @property
    def succeeded(self) -> bool:
        return self.status == "succeeded"


@dataclass(frozen=True)
class _TypeFields:
    """How one object type's records line up with its table's columns."""

    type: ObjectType
    columns: tuple[str, ...]
    fields: tuple[str, ...]
    refs: tuple[tuple[int, str], ...]  # (position in fields, target table)
    name_index: int | None

    @classmethod
    def of(cls, object_type: ObjectType) -> _TypeFields:
        columns = tuple(c.name for c in object_type.data_columns)
        fields = tuple(
            c.removesuffix("_id") + "_external_id" if c in object_type.refs else c for c in columns
        )
        refs = tuple((columns.index(c), table) for c, table in object_type.refs.items())
        name_index = next((fields.index(n) for n in ("name", "label") if n in fields), None)
        return cls(object_type, columns, fields, refs, name_index)

    def values_of(self, records: Iterable[Any]) -> Iterable[tuple[str, tuple[Any, ...]]]:
        getter = attrgetter(*self.fields)
        if len(self.fields) == 1:
            return ((r.external_id, (getter(r),)) for r in records)
        return ((r.external_id, getter(r)) for r in records)


TYPE_FIELDS = tuple(_TypeFields.of(t) for t in OBJECT_TYPES)


def run_sync(
    db: Database,
    integration_id: int,
    connector: Connector,
    *,
    trigger: str = "manual",
    force: bool = False,
    progress: Progress | None = None,
    safeguard: Safeguard | None = None,
    on_start: Callable[[int], None] | None = None,
    policy: SchedulePolicy | None = None,
    timeout_s: float | None = None,
    thresholds: Thresholds | None = None,
    run_id: int | None = None,
    change_retention_days: int | None = None,
) -> SyncResult:
    """Sync one integration now; raise :class:`SyncAlreadyRunningError` if one is going.

    ``run_id`` names a ``queued`` run (see :func:`record_queued_run`) that this
    run carries out; without it (or if that run is no longer queued) a new run
    is recorded. ``on_start`` is called with the run's id as soon as the run is recorded.
    Connecting and collecting may take ``timeout_s`` (default: the integration's
    ``sync_timeout_s`` option, else :data:`DEFAULT_SYNC_TIMEOUT_S`); past it the
    run fails and the collection is abandoned. Applying is one transaction, never
    cut short. Every finished run sets the integration's next automatic sync.
    After a successful run the integration's health findings are refreshed
    (``thresholds``, default: the ``IROA_FINDINGS_*`` settings), and change rows
    older than ``change_retention_days`` are pruned (default: the
    ``IROA_CHANGE_RETENTION_DAYS`` setting).
    """
    progress = progress or NullProgress()
    policy = policy or SchedulePolicy()
    with sync_lock(db, integration_id) as taken:
        if not taken:
            raise SyncAlreadyRunningError("a sync of this integration is already running")
        interrupt_stale_runs(db, integration_id)
        run_id, option_timeout_s = start_run(db, integration_id, trigger, force, run_id)
        if on_start is not None:
            on_start(run_id)
        try:
            progress.start("connect")
            snapshot = collect_within(connector, progress, timeout_s or option_timeout_s)
        except (ConnectorError, SyncTimeoutError) as exc:
            return finish_failed(db, run_id, str(exc), policy=policy)
        except BaseException as exc:
            if not isinstance(exc, Exception):
                finish_failed(db, run_id, "interrupted during collection", "interrupted")
                raise
            log.exception("sync run %s: collection failed", run_id)
            return finish_failed(
                db, run_id, f"collection failed: {type(exc).__name__}: {exc}", policy=policy
            )
        try:
            result = _apply(
                db,
                run_id,
                integration_id,
                snapshot,
                force,
                progress,
                safeguard or Safeguard(),
                policy,
            )
        except DuplicateExternalIdError as exc:
            return finish_failed(db, run_id, f"the snapshot is inconsistent: {exc}", policy=policy)
        except BaseException:
            finish_failed(db, run_id, "interrupted while applying changes", "interrupted")
            raise
    if result.succeeded:
        _refresh_findings(db, integration_id, thresholds)
        if change_retention_days is None:
            change_retention_days = get_settings().change_retention_days
        try:
            prune_changes(db, change_retention_days)
        except Exception:
            log.exception("sync run %s: pruning old changes failed", run_id)
    return result


def _refresh_findings(db: Database, integration_id: int, thresholds: Thresholds | None) -> None:
    """Findings follow a committed run; failing to compute them does not fail the run."""
    try:
        refresh_findings(db, integration_id, thresholds or Thresholds.from_settings(get_settings()))
    except Exception:
        log.exception("integration %s: refreshing health findings failed", integration_id)


def collect_within(connector: Connector, progress: Progress, timeout_s: float) -> Snapshot:
    """Collect in a thread of its own; give up on it after ``timeout_s``.

    The abandoned collection never reaches the database: it ends at its next
    progress report (or when its connection times out) and its result is dropped.
    """
    outcome: dict[str, Any] = {}
    done = threading.Event()
    abandoned = threading.Event()

    def collect() -> None:
        try:
            outcome["snapshot"] = connector.collect(_AbandonableProgress(progress, abandoned))
        except BaseException as exc:
            outcome["error"] = exc
        finally:
            done.set()

    worker = threading.Thread(target=collect, name="iroa-collect", daemon=True)
    worker.start()
    if not done.wait(timeout_s):
        abandoned.set()
        raise SyncTimeoutError(
            f"the sync did not finish collecting within its timeout of {timeout_s:g} s; "
            "nothing was changed"
        )
    error = outcome.get("error")
    if error is not None:
        raise error
    snapshot: Snapshot = outcome["snapshot"]
    return snapshot


class _AbandonableProgress:
    """Passes progress on until the run gives up on the collection, then stops it."""

    def __init__(self, progress: Progress, abandoned: threading.Event) -> None:
        self._progress = progress
        self._abandoned = abandoned

    def start(self, phase: str, total: int | None = None) -> None:
        self._check()
        self._progress.start(phase, total)

    def advance(self, done: int = 1) -> None:
        self._check()
        self._progress.advance(done)

    def _check(self) -> None:
        if self._abandoned.is_set():
            raise CollectionAbandonedError("the sync gave up on this collection")


def recover_stale_runs(db: Database) -> int:
    """Mark ``interrupted`` the runs left ``running`` by processes that died.

    Only integrations whose lock can be taken are touched: a run that another
    live process is carrying out keeps its status. Returns how many runs changed.
    """
    with db.session() as session:
        integration_ids = list(
            session.scalars(
                select(SyncRun.integration_id).where(SyncRun.status == "running").distinct()
            )
        )
    recovered = 0
    for integration_id in integration_ids:
        with sync_lock(db, integration_id) as taken:
            if taken:
                recovered += interrupt_stale_runs(db, integration_id)
    if recovered:
        log.warning("marked %d sync runs of stopped processes as interrupted", recovered)
    return recovered


def interrupt_stale_runs(db: Database, integration_id: int | None = None) -> int:
    """Mark runs left ``running`` by a dead process as ``interrupted``.

    Call only while holding the integration's sync lock (or with no sync possible),
    since then no live process can own such a run.
    """
    stmt = (
        update(SyncRun)
        .where(SyncRun.status == "running")
        .values(status="interrupted", finished_at=utcnow(), error=INTERRUPTED_REASON)
    )
    if integration_id is not None:
        stmt = stmt.where(SyncRun.integration_id == integration_id)
    with db.write_session() as session:
        return session.execute(stmt).rowcount  # type: ignore[attr-defined, no-any-return]


def record_queued_run(db: Database, integration_id: int, trigger: str, force: bool) -> int:
    """Record a run that waits for a worker (status ``queued``); return its id."""
    with db.write_session() as session:
        run = SyncRun(
            integration_id=integration_id,
            trigger=trigger,
            status="queued",
            forced=force,
            started_at=utcnow(),
            totals={},
            counts={},
        )
        session.add(run)
        session.flush()
        return run.id


def fail_queued_run(db: Database, run_id: int, error: str) -> None:
    """A queued run that will never start (its job could not be queued or was dropped)."""
    with db.write_session() as session:
        session.execute(
            update(SyncRun)
            .where(SyncRun.id == run_id, SyncRun.status == "queued")
            .values(status="failed", finished_at=utcnow(), error=" ".join(error.split())[:1000])
        )


def start_run(
    db: Database, integration_id: int, trigger: str, force: bool, queued_id: int | None = None
) -> tuple[int, float]:
    """Record the run (or start the queued one); return its id and the collection timeout."""
    with db.write_session() as session:
        options = session.execute(
            select(Integration.options).where(Integration.id == integration_id)
        ).scalar_one()
        timeout_s = float((options or {}).get("sync_timeout_s") or DEFAULT_SYNC_TIMEOUT_S)
        if queued_id is not None:
            started = session.execute(
                update(SyncRun)
                .where(
                    SyncRun.id == queued_id,
                    SyncRun.integration_id == integration_id,
                    SyncRun.status == "queued",
                )
                .values(
                    status="running",
                    started_at=utcnow(),
                    pid=os.getpid(),
                    hostname=socket.gethostname(),
                )
                .returning(SyncRun.id)
            ).scalar_one_or_none()
            if started is not None:
                return started, timeout_s
        run = SyncRun(
            integration_id=integration_id,
            trigger=trigger,
            status="running",
            forced=force,
            started_at=utcnow(),
            pid=os.getpid(),
            hostname=socket.gethostname(),
            totals={},
            counts={},
        )
        session.add(run)
        session.flush()
        return run.id, timeout_s


def finish_failed(
    db: Database,
    run_id: int,
    error: str,
    status: str = "failed",
    *,
    policy: SchedulePolicy | None = None,
) -> SyncResult:
    """Record a run that changed nothing; a ``failed`` one (given a policy) schedules a retry."""
    error = " ".join(error.split())[:1000]
    finished_at = utcnow()
    with db.write_session() as session:
        integration_id = session.execute(
            update(SyncRun)
            .where(SyncRun.id == run_id)
            .values(status=status, finished_at=finished_at, error=error)
            .returning(SyncRun.integration_id)
        ).scalar_one()
        if status == "failed" and policy is not None:
            _schedule_retry(session, integration_id, finished_at, policy)
    return SyncResult(run_id, status, error)


def _schedule_retry(
    session: Session, integration_id: int, finished_at: datetime, policy: SchedulePolicy
) -> None:
    interval_s, failures = session.execute(
        select(Integration.interval_seconds, Integration.consecutive_failures).where(
            Integration.id == integration_id
        )
    ).one()
    failures += 1
    next_sync_at = None
    if interval_s:
        next_sync_at = next_after_failure(
            finished_at,
            interval_s,
            failures,
            policy.min_interval_s,
            policy.draw_jitter_s(interval_s),
        )
    session.execute(
        update(Integration)
        .where(Integration.id == integration_id)
        .values(consecutive_failures=failures, next_sync_at=next_sync_at)
    )


def schedule_next(
    conn: Connection, integration_id: int, finished_at: datetime, policy: SchedulePolicy
) -> None:
    """After a run that read the source: the next sync one interval on, failures forgotten."""
    interval_s = conn.execute(
        select(Integration.interval_seconds).where(Integration.id == integration_id)
    ).scalar_one()
    next_sync_at = None
    if interval_s:
        next_sync_at = next_after_success(finished_at, interval_s, policy.draw_jitter_s(interval_s))
    conn.execute(
        update(Integration)
        .where(Integration.id == integration_id)
        .values(consecutive_failures=0, next_sync_at=next_sync_at)
    )


def _warnings_of(snapshot: Snapshot) -> list[dict[str, str]] | None:
    if not snapshot.warnings:
        return None
    return [
        {"type": w.object_type, "id": w.external_id, "reason": w.reason} for w in snapshot.warnings
    ]


def _spare_skipped(tf: _TypeFields, plan: Plan, skipped: set[str]) -> None:
    """Keep, as stored, objects the source had but could not map, and what hangs off them."""
    owners = [
        tf.fields.index(f) for f in ("vm_external_id", "object_external_id") if f in tf.fields
    ]
    plan.removals = [
        removal
        for removal in plan.removals
        if removal[1] not in skipped and not any(removal[2][pos] in skipped for pos in owners)
    ]


def _apply(
    db: Database,
    run_id: int,
    integration_id: int,
    snapshot: Snapshot,
    force: bool,
    progress: Progress,
    safeguard: Safeguard,
    policy: SchedulePolicy,
) -> SyncResult:
    records = {tf.type.plural: getattr(snapshot, tf.type.plural) for tf in TYPE_FIELDS}
    warnings = _warnings_of(snapshot)
    skipped_by_type: dict[str, set[str]] = {}
    for skipped_object in snapshot.warnings:
        skipped_by_type.setdefault(skipped_object.object_type, set()).add(
            skipped_object.external_id
        )
    skipped = set().union(*skipped_by_type.values()) if skipped_by_type else set()
    totals = {plural: len(items) for plural, items in records.items()}
    source = {
        "name": snapshot.source.name,
        "product": snapshot.source.product,
        "version": snapshot.source.version,
        "build": snapshot.source.build,
    }
    with db.engine.connect() as conn:
        conn = conn.execution_options(iroa_write=True)
        with conn.begin():
            now = utcnow()
            previous_success = conn.execute(
                select(Integration.last_success_at).where(Integration.id == integration_id)
            ).scalar_one()
            progress.start("compare", len(TYPE_FIELDS))
            # References to a skipped object stay as stored, like the object itself.
            incoming_ids = {
                tf.type.plural: {r.external_id for r in records[tf.type.plural]}
                | skipped_by_type.get(tf.type.name, set())
                for tf in TYPE_FIELDS
            }
            id_to_external: dict[str, dict[int, str]] = {}
            plans: dict[str, Plan] = {}
            for tf in TYPE_FIELDS:
                stored = _load_stored(conn, tf, integration_id, id_to_external)
                incoming = _drop_dangling(tf, tf.values_of(records[tf.type.plural]), incoming_ids)
                plans[tf.type.plural] = plan_type(tf.fields, stored, incoming)
                if skipped:
                    _spare_skipped(tf, plans[tf.type.plural], skipped)
                progress.advance()
            counts = {
                p: {"added": plan.added, "modified": plan.modified, "removed": plan.removed}
                for p, plan in plans.items()
            }
            reason = (
                None
                if force
                else hold_reason(plans, [t.plural for t in OBJECT_TYPES if t.primary], safeguard)
            )
            if reason is not None:
                conn.execute(
                    update(SyncRun)
                    .where(SyncRun.id == run_id)
                    .values(
                        status="held",
                        finished_at=utcnow(),
                        totals=totals,
                        counts=counts,
                        source=source,
                        warnings=warnings,
                        error=f"held: {reason}; nothing was changed "
                        "(run again with --allow-mass-removal to apply it)",
                    )
                )
                schedule_next(conn, integration_id, utcnow(), policy)
                return SyncResult(run_id, "held", reason, counts, totals)
            external_to_id = {
                table: {ext: i for i, ext in ids.items()} for table, ids in id_to_external.items()
            }
            for tf in TYPE_FIELDS:
                plan = plans[tf.type.plural]
                progress.start(f"apply {tf.type.plural}", plan.writes)
                _write_plan(
                    conn,
                    tf,
                    plan,
                    integration_id,
                    run_id,
                    now,
                    previous_success,
                    external_to_id,
                    progress,
                )
            write_summary(conn, integration_id, run_id, now)
            conn.execute(
                update(Integration)
                .where(Integration.id == integration_id)
                .values(last_success_at=now)
            )
            schedule_next(conn, integration_id, utcnow(), policy)
            added = sum(c["added"] for c in counts.values())
            modified = sum(c["modified"] for c in counts.values())
            removed = sum(c["removed"] for c in counts.values())
            conn.execute(
                update(SyncRun)
                .where(SyncRun.id == run_id)
                .values(
                    status="succeeded",
                    finished_at=utcnow(),
                    totals=totals,
                    counts=counts,
                    source=source,
                    warnings=warnings,
                    added=added,
                    modified=modified,
                    removed=removed,
                )
            )
        written = [tf.type.table.name for tf in TYPE_FIELDS if plans[tf.type.plural].writes]
        if sum(plans[tf.type.plural].writes for tf in TYPE_FIELDS) >= ANALYZE_AFTER_WRITES:
            _refresh_statistics(conn, [*written, Change.__tablename__])
    return SyncResult(run_id, "succeeded", None, counts, totals)


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


def _load_stored(
    conn: Connection,
    tf: _TypeFields,
    integration_id: int,
    id_to_external: dict[str, dict[int, str]],
) -> dict[str, StoredRow]:
    """Load one type's rows in record space, and remember their ids for later references."""
    table = tf.type.table
    columns = [table.c[name] for name in tf.columns]
    rows = conn.execute(
        select(table.c.id, table.c.external_id, table.c.removed_at, *columns).where(
            table.c.integration_id == integration_id
        )
    ).all()
    ids: dict[int, str] = {}
    stored: dict[str, StoredRow] = {}
    ref_maps = [(pos, id_to_external.get(target, {})) for pos, target in tf.refs]
    for row in rows:
        values = list(row[3:])
        for pos, mapping in ref_maps:
            if values[pos] is not None:
                values[pos] = mapping.get(values[pos])
        for pos, value in enumerate(values):
            if isinstance(value, list):
                values[pos] = tuple(value)
        ids[row.id] = row.external_id
        stored[row.external_id] = StoredRow(row.id, tuple(values), row.removed_at is not None)
    id_to_external[table.name] = ids
    return stored


def _drop_dangling(
    tf: _TypeFields,
    incoming: Iterable[tuple[str, tuple[Any, ...]]],
    incoming_ids: dict[str, set[str]],
) -> Iterable[tuple[str, tuple[Any, ...]]]:
    """References to objects the snapshot does not contain become None."""
    if not tf.refs:
        return incoming
    targets = [(pos, incoming_ids[table]) for pos, table in tf.refs]

    def fixed() -> Iterable[tuple[str, tuple[Any, ...]]]:
        for external_id, values in incoming:
            if any(values[p] is not None and values[p] not in known for p, known in targets):
                patched = list(values)
                for pos, known in targets:
                    if patched[pos] not in known:
                        patched[pos] = None
                values = tuple(patched)
            yield external_id, values

    return fixed()


def _write_plan(
    conn: Connection,
    tf: _TypeFields,
    plan: Plan,
    integration_id: int,
    run_id: int,
    now: datetime,
    previous_success: datetime | None,
    external_to_id: dict[str, dict[str, int]],
    progress: Progress,
) -> None:
    table = tf.type.table
    ref_maps = [(pos, external_to_id.setdefault(target, {})) for pos, target in tf.refs]

    def to_columns(values: tuple[Any, ...]) -> dict[str, Any]:
        row = dict(zip(tf.columns, values, strict=True))
        for pos, mapping in ref_maps:
            ref = values[pos]
            row[tf.columns[pos]] = None if ref is None else mapping.get(ref)
        return row

    changes: list[dict[str, Any]] = []

    def change(
        object_id: int,
        external_id: str,
        action: str,
        values: tuple[Any, ...],
        fields: dict[str, list[Any]] | None = None,
    ) -> None:
        name = values[tf.name_index] if tf.name_index is not None else None
        changes.append(
            {
                "sync_run_id": run_id,
                "integration_id": integration_id,
                "changed_at": now,
                "object_type": tf.type.name,
                "object_id": object_id,
                "external_id": external_id,
                "object_name": name,
                "action": action,
                "fields": {k: [_jsonable(o), _jsonable(n)] for k, (o, n) in fields.items()}
                if fields
                else None,
            }
        )

    own_ids = external_to_id.setdefault(table.name, {})
    for insert_chunk in _chunks(plan.inserts):
        rows = [
            {
                **to_columns(values),
                "integration_id": integration_id,
                "external_id": ext,
                "first_seen_at": now,
                "last_seen_at": now,
                "removed_at": None,
            }
            for ext, values in insert_chunk
        ]
        inserted = conn.execute(
            insert(table).returning(table.c.id, table.c.external_id, sort_by_parameter_order=True),
            rows,
        ).all()
        for (ext, values), (new_id, _) in zip(insert_chunk, inserted, strict=True):
            own_ids[ext] = new_id
            change(new_id, ext, "added", values)
        progress.advance(len(insert_chunk))

    if plan.updates:
        stmt = (
            update(table)
            .where(table.c.id == bindparam("b_id"))
            .values(
                {
                    name: bindparam(f"b_{name}")
                    for name in (*tf.columns, "last_seen_at", "removed_at")
                }
            )
        )
        for update_chunk in _chunks(plan.updates):
            params = []
            for u in update_chunk:
                row = {f"b_{k}": v for k, v in to_columns(u.values).items()}
                row.update(b_id=u.id, b_last_seen_at=now, b_removed_at=None)
                params.append(row)
                change(
                    u.id, u.external_id, "added" if u.revived else "modified", u.values, u.fields
                )
            conn.execute(stmt, params)
            progress.advance(len(update_chunk))

    for removal_chunk in _chunks(plan.removals):
        ids = [row_id for row_id, _, _ in removal_chunk]
        removal: dict[str, Any] = {"removed_at": now}
        if previous_success is not None:
            removal["last_seen_at"] = previous_success
        conn.execute(update(table).where(table.c.id.in_(ids)).values(removal))
        for row_id, ext, old_values in removal_chunk:
            change(row_id, ext, "removed", old_values)
        progress.advance(len(removal_chunk))

    for change_chunk in _chunks(changes, 2000):
        conn.execute(insert(Change), change_chunk)


def _chunks(items: Sequence[_T], size: int = _CHUNK) -> Iterable[Sequence[_T]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def _jsonable(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, tuple):
        return list(value)
    return value
