"""Benchmark: applying a 100,000-VM snapshot into an empty database, and again unchanged.

For each backend (a SQLite file, and PostgreSQL databases it creates and drops),
each round:

1. writes the rows of the generated estate of ``estate.py`` (``--vms`` VMs, one
   disk and NIC each) bare into a fresh database, the way the apply sends new
   rows (``iroa.db.bulk``: COPY on PostgreSQL, many rows per INSERT on SQLite),
   in one transaction, ids given and references resolved beforehand: nothing
   read or compared, no change rows, no run record. That is what storing the
   rows alone costs, for scale;
2. syncs the same snapshot into another fresh database with ``run_sync``, handed
   over as the vCenter connector hands what it read (kept on disk in parts of
   500 VMs), then syncs it once more: nothing has changed, so nothing but the
   run's record is written.

Each sync is timed whole and by step: the apply (reading what is stored and
comparing; writing the rows and their change rows, the run's record and KPIs,
and committing; then refreshing the planner's statistics), and what follows a
run (refreshing health findings, pruning old changes). ``stmts`` counts the
statements the apply sent through SQLAlchemy (an executemany counts once; a
``COPY`` goes to the driver and is not counted).

Prints the best of ``--rounds`` rounds with the spread (worst minus best) and
checks the apply's best against the targets: into an empty database <= 10 s on
SQLite and <= 15 s on PostgreSQL, unchanged <= 5 s on both. Usage: ``python
benchmarks/apply_large.py [--vms 100000] [--rounds 2] [--backends
sqlite,postgresql] [--postgres-url URL]``. Exits non-zero if a target is missed.
"""

from __future__ import annotations

import argparse
import dataclasses
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from estate import SnapshotConnector, generate_estate, postgres_database
from sqlalchemy import event

from iroa.connectors.base import Rows, Snapshot
from iroa.connectors.registry import Reads
from iroa.crypto import SecretBox
from iroa.db.base import utcnow
from iroa.db.bulk import BulkInsert
from iroa.db.engine import Database, large_write
from iroa.db.migrate import upgrade
from iroa.integrations.service import IntegrationInput, add_integration
from iroa.sync import apply, engine
from iroa.sync.engine import run_sync
from iroa.sync.scope import TYPE_FIELDS

TARGET_S = {
    ("sqlite", "empty"): 10.0,
    ("postgresql", "empty"): 15.0,
    ("sqlite", "unchanged"): 5.0,
    ("postgresql", "unchanged"): 5.0,
}
CASES = {"empty": "into an empty database", "unchanged": "again, nothing changed"}
STEPS = ("apply", "compare", "write", "statistics", "findings", "prune", "run_sync")


class Clock:
    """Seconds spent in each step of one sync, and the statements its apply sent."""

    def __init__(self) -> None:
        self.current: str | None = None
        self.reset()

    def reset(self) -> None:
        self.seconds: dict[str, float] = {}
        self.statements = 0
        self.phases: list[tuple[str, float]] = []

    def timed(self, step: str, fn: Callable[..., Any]) -> Callable[..., Any]:
        def call(*args: Any, **kwargs: Any) -> Any:
            outer, self.current = self.current, self.current or step
            start = time.perf_counter()
            try:
                return fn(*args, **kwargs)
            finally:
                self.seconds[step] = self.seconds.get(step, 0.0) + time.perf_counter() - start
                self.current = outer

        return call

    def start(self, phase: str, total: int | None = None) -> None:
        """As a sync's progress: note when each phase starts."""
        self.phases.append((phase, time.perf_counter()))

    def advance(self, done: int = 1) -> None:
        return None

    def count(self, *args: Any) -> None:
        if self.current == "apply":
            self.statements += 1

    def steps(self) -> dict[str, float]:
        """The seconds of each step: the apply's comparing is reading stored rows and
        planning, part by part (and the safeguard's counts before); its writing is the rest
        but the statistics."""
        seconds = dict(self.seconds)
        seconds["compare"] = seconds.get("compare", 0.0) + seconds.get("weigh", 0.0)
        seconds["write"] = seconds["apply"] - seconds["compare"] - seconds.get("statistics", 0.0)
        return seconds


def instrument(clock: Clock) -> None:
    """Time the steps of every inventory run from now on."""
    handling = engine.HANDLING[Reads.INVENTORY]
    labels = {
        "refreshing health findings": "findings",
        "pruning old changes": "prune",
        "pruning old events": "prune",
    }
    engine.HANDLING[Reads.INVENTORY] = dataclasses.replace(
        handling,
        apply=clock.timed("apply", handling.apply),
        after=tuple((doing, clock.timed(labels[doing], step)) for doing, step in handling.after),
    )
    apply._refresh_statistics = clock.timed("statistics", apply._refresh_statistics)
    apply.plan_scope = clock.timed("compare", apply.plan_scope)
    apply.row_index = clock.timed("weigh", apply.row_index)


@contextmanager
def fresh_database(backend: str, args: argparse.Namespace, workdir: Path) -> Iterator[Database]:
    """A migrated, empty database of ``backend``, gone afterwards."""
    if backend == "sqlite":
        path = Path(tempfile.mkdtemp(dir=workdir)) / "iroa.db"
        db = Database(f"sqlite:///{path}")
        upgrade(db.engine)
        try:
            yield db
        finally:
            db.dispose()
        return
    url, drop = postgres_database(args.postgres_url)
    try:
        db = Database(url)
        upgrade(db.engine)
        try:
            yield db
        finally:
            db.dispose()
    finally:
        drop()


def new_integration(db: Database) -> int:
    return add_integration(
        db, SecretBox("bench"), IntegrationInput("vcenter", "bench", "https://vc.example")
    ).id


def insert_raw(db: Database, integration_id: int, snapshot: Snapshot) -> float:
    """Seconds to write the snapshot's rows bare, as the apply writes new rows, in one
    transaction: ids given and references resolved beforehand."""
    now = utcnow()
    ids: dict[str, dict[str, int]] = {}
    tables = []
    for tf in TYPE_FIELDS:
        records = getattr(snapshot, tf.type.plural)
        if not records:
            continue
        external_ids = [record.external_id for record in records]
        row_ids = range(1, len(records) + 1)
        ids[tf.type.table.name] = dict(zip(external_ids, row_ids, strict=True))
        rows = [values for _, values in tf.values_of(Rows.of(records))]
        columns = [list(column) for column in zip(*rows, strict=True)]
        for pos, target in tf.refs:
            columns[pos] = [ids[target].get(ref) for ref in columns[pos]]
        tables.append((tf, [row_ids, external_ids, *columns]))
    start = time.perf_counter()
    with db.engine.connect() as conn, large_write(conn, len(snapshot.vms)), conn.begin():
        for tf, columns in tables:
            BulkInsert(
                conn,
                tf.type.table,
                ("id", "external_id", *tf.columns),
                {"integration_id": integration_id, "first_seen_at": now, "last_seen_at": now},
            ).send(columns)
    return time.perf_counter() - start


def timed_sync(db: Database, integration_id: int, snapshot: Snapshot, clock: Clock) -> dict:
    clock.reset()
    event.listen(db.engine, "before_cursor_execute", clock.count)
    start = time.perf_counter()
    result = run_sync(db, integration_id, SnapshotConnector(snapshot), progress=clock)
    elapsed = time.perf_counter() - start
    event.remove(db.engine, "before_cursor_execute", clock.count)
    assert result.succeeded, result.error
    return {**clock.steps(), "run_sync": elapsed, "stmts": clock.statements}


def bench_round(
    backend: str, snapshot: Snapshot, args: argparse.Namespace, workdir: Path, clock: Clock
) -> dict[str, dict]:
    with fresh_database(backend, args, workdir) as db:
        raw_s = insert_raw(db, new_integration(db), snapshot)
    with fresh_database(backend, args, workdir) as db:
        integration_id = new_integration(db)
        empty = timed_sync(db, integration_id, snapshot, clock)
        unchanged = timed_sync(db, integration_id, snapshot, clock)
    print(
        f"  {backend}: raw insert {raw_s:.1f} s, apply into an empty database "
        f"{empty['apply']:.1f} s, again unchanged {unchanged['apply']:.1f} s",
        flush=True,
    )
    return {"empty": {**empty, "raw insert": raw_s}, "unchanged": unchanged}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--vms", type=int, default=100_000)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--backends", default="sqlite,postgresql")
    parser.add_argument(
        "--postgres-url", default="postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
    )
    args = parser.parse_args()
    backends = args.backends.split(",")
    for backend in backends:
        if backend not in ("sqlite", "postgresql"):
            raise SystemExit(f"unknown backend {backend!r}: sqlite or postgresql")
    snapshot = generate_estate(args.vms)
    clock = Clock()
    instrument(clock)
    rounds: dict[str, list[dict[str, dict]]] = {backend: [] for backend in backends}
    with tempfile.TemporaryDirectory(prefix="iroa-bench-") as tmp:
        for n in range(args.rounds):
            print(f"round {n + 1} of {args.rounds}", flush=True)
            for backend in backends:
                rounds[backend].append(bench_round(backend, snapshot, args, Path(tmp), clock))
    print()
    print(
        f"Applying {args.vms:,} VMs with a disk and NIC each: seconds, "
        f"best of {args.rounds} rounds (± worst minus best)"
    )
    header = (
        f"{'backend':<11}{'apply':<24}{'apply':>6}{'±':>6}{'compare':>9}{'write':>7}"
        f"{'stats':>7}{'stmts':>7}{'findings':>10}{'prune':>7}{'run_sync':>10}"
        f"{'raw insert':>12}  target"
    )
    print(header)
    print("-" * len(header))
    missed = 0
    for backend in backends:
        for case, label in CASES.items():
            runs = [r[case] for r in rounds[backend]]
            best = min(runs, key=lambda r: r["apply"])
            spread = max(r["apply"] for r in runs) - best["apply"]
            target = TARGET_S[(backend, case)]
            ok = best["apply"] <= target
            missed += not ok
            raw = min((r["raw insert"] for r in runs), default=None) if case == "empty" else None
            print(
                f"{backend:<11}{label:<24}{best['apply']:>6.1f}{spread:>6.1f}"
                f"{best['compare']:>9.1f}{best['write']:>7.1f}{best.get('statistics', 0.0):>7.1f}"
                f"{best['stmts']:>7}{best['findings']:>10.1f}{best['prune']:>7.1f}"
                f"{best['run_sync']:>10.1f}{'' if raw is None else f'{raw:.1f}':>12}"
                f"  <= {target:.0f} s {'met' if ok else 'MISSED'}"
            )
    print(
        "\napply = compare + write + stats, as run_sync applies: compare reads what is stored "
        "and plans; write is the rows, change rows, run record and KPIs, and the commit; "
        "stats refreshes the planner's statistics after a large write. findings and prune "
        "follow the run; run_sync is all of it. raw insert: the same rows written bare."
    )
    if missed:
        raise SystemExit(f"{missed} target(s) missed")


if __name__ == "__main__":
    main()
