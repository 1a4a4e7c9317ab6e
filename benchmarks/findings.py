"""Benchmark: refreshing the health findings of a 100,000-VM integration.

For each backend (a SQLite file, and a PostgreSQL database it creates and drops)
it syncs the generated estate of ``estate.py`` with health problems mixed in
(snapshots, silent and outdated tools, powered-off VMs, full datastores, hosts
disconnected or in maintenance, overcommitted clusters) through the sync engine,
then times :func:`refresh_findings` on it: once more with nothing changed (the
steady state after every sync), once with every finding resolved, once with
every finding opened again. Also times each rule's query alone.

Usage: ``python benchmarks/findings.py [--vms 100000] [--backends sqlite,postgresql]``.
"""

from __future__ import annotations

import argparse
import dataclasses
import random
import tempfile
import time
from datetime import timedelta
from pathlib import Path

from estate import SnapshotConnector, generate_estate, postgres_database

from iroa.connectors.base import Snapshot, VmSnapshotRecord
from iroa.db.base import utcnow
from iroa.db.engine import Database
from iroa.db.migrate import upgrade
from iroa.findings.catalog import RULES
from iroa.findings.rules import Context, Thresholds
from iroa.findings.service import refresh_findings
from iroa.integrations.models import Integration
from iroa.sync import engine
from iroa.sync.engine import run_sync


def with_problems(snapshot: Snapshot, seed: int = 7) -> Snapshot:
    """The estate with a realistic share of each problem."""
    rng = random.Random(seed)
    now = utcnow()
    vms, snapshots = [], []
    for vm in snapshot.vms:
        roll = rng.random()
        tools = "toolsOk"
        if roll < 0.03:
            tools = "toolsNotRunning"
        elif roll < 0.10:
            tools = "toolsOld"
        vms.append(dataclasses.replace(vm, tools_status=tools))
        if rng.random() < 0.15:
            for n in range(rng.choice((1, 1, 2, 5))):
                snapshots.append(
                    VmSnapshotRecord(
                        f"{vm.external_id}:snap-{n}",
                        vm.external_id,
                        f"snap {n}",
                        created_at=now - timedelta(days=rng.choice((1, 3, 20, 90))),
                    )
                )
    datastores = [
        dataclasses.replace(ds, free_bytes=(ds.capacity_bytes or 0) // rng.choice((2, 7, 15)))
        for ds in snapshot.datastores
    ]
    hosts = [
        dataclasses.replace(
            host,
            connection_state="notResponding" if i % 97 == 0 else "connected",
            in_maintenance=i % 89 == 0,
            cpu_cores=8 if i % 16 == 0 else host.cpu_cores,
        )
        for i, host in enumerate(snapshot.hosts)
    ]
    return dataclasses.replace(
        snapshot, vms=vms, vm_snapshots=snapshots, datastores=datastores, hosts=hosts
    )


def fixed(snapshot: Snapshot) -> Snapshot:
    """The same estate with every problem gone."""
    return dataclasses.replace(
        snapshot,
        vms=[
            dataclasses.replace(vm, tools_status="toolsOk", power_state="on") for vm in snapshot.vms
        ],
        vm_snapshots=[],
        datastores=[
            dataclasses.replace(ds, free_bytes=ds.capacity_bytes) for ds in snapshot.datastores
        ],
        hosts=[
            dataclasses.replace(h, connection_state="connected", in_maintenance=False, cpu_cores=64)
            for h in snapshot.hosts
        ],
    )


def timed(label: str, fn: object) -> float:
    start = time.perf_counter()
    result = fn()  # type: ignore[operator]
    elapsed = time.perf_counter() - start
    print(f"  {label:<52}{elapsed * 1000:>9.0f} ms   {result}")
    return elapsed


def bench(name: str, url: str, vm_count: int) -> None:
    db = Database(url)
    upgrade(db.engine)
    with db.write_session() as session:
        integration = Integration(kind="vcenter", name="bench", url="https://bench", options={})
        session.add(integration)
        session.flush()
        integration_id = integration.id
    estate = with_problems(generate_estate(vm_count))
    thresholds = Thresholds()
    print(f"{name}: {vm_count:,} VMs, {len(estate.vm_snapshots):,} snapshots")
    # Syncs here leave findings alone, so that each refresh below is timed on its own.
    engine.refresh_findings = lambda *args, **kwargs: None  # type: ignore[assignment]
    timed(
        "first sync (inventory only)",
        lambda: run_sync(db, integration_id, SnapshotConnector(estate)).status,
    )
    timed("refresh: every finding new", lambda: refresh_findings(db, integration_id, thresholds))
    timed("refresh: nothing changed", lambda: refresh_findings(db, integration_id, thresholds))
    later = utcnow() + timedelta(days=45)
    timed(
        "refresh 45 days on: powered-off VMs open too",
        lambda: refresh_findings(db, integration_id, thresholds, now=later),
    )
    run_sync(db, integration_id, SnapshotConnector(fixed(estate)))
    timed(
        "refresh after a sync that fixed everything",
        lambda: refresh_findings(db, integration_id, thresholds, now=later),
    )
    run_sync(db, integration_id, SnapshotConnector(estate))
    timed(
        "refresh after a sync that broke it all again",
        lambda: refresh_findings(db, integration_id, thresholds, now=later),
    )
    with db.engine.connect() as conn:
        context = Context(integration_id, "vcenter", later, thresholds)
        for rule in RULES:
            if rule.active:
                timed(
                    f"rule {rule.id} alone",
                    lambda rule=rule: len(list(rule.evaluate(conn, context))),
                )
    db.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--vms", type=int, default=100_000)
    parser.add_argument("--backends", default="sqlite,postgresql")
    parser.add_argument(
        "--postgres-url", default="postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
    )
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="iroa-bench-") as tmp:
        for backend in args.backends.split(","):
            if backend == "sqlite":
                bench(backend, f"sqlite:///{Path(tmp) / 'iroa.db'}", args.vms)
            else:
                url, drop = postgres_database(args.postgres_url)
                try:
                    bench(backend, url, args.vms)
                finally:
                    drop()


if __name__ == "__main__":
    main()
