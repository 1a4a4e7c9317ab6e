"""Benchmark: a full vCenter sync against its floor, measured side by side in one run.

Starts VMware's simulator with about 10,000 VMs, then in separate processes
(so each peak RSS is its own):

- ``sync``: a full sync into an empty database (connector + reconcile + writes),
- ``resync``: a second sync with nothing changed (must write 0 inventory rows),
- ``retrieve``: the bare pyVmomi PropertyCollector retrieval of the same
  properties, in one RetrievePropertiesEx per type (the floor of collection),
- ``insert``: a raw bulk insert of the same rows (the floor of writing).

Prints the times, the ratio sync / (retrieve + insert) and each peak RSS.
Usage: ``python benchmarks/sync_vcenter.py [--vms-per-cluster 500] [--rounds 2]
[--database-url URL]`` (default: a SQLite file in a temporary directory).
"""

from __future__ import annotations

import argparse
import json
import resource
import ssl
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

TARGET_RATIO = 1.5
TARGET_RSS_MB = 250


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def options(url: str, username: str, password: str) -> Any:
    from iroa.connectors.base import ConnectionOptions

    return ConnectionOptions(url=url, username=username, password=password)


def fresh_database(database_url: str | None, workdir: Path, name: str) -> Any:
    from iroa.db.engine import Database
    from iroa.db.migrate import upgrade

    path = workdir / f"{name}.db"
    for stale in (path, path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")):
        stale.unlink(missing_ok=True)
    url = database_url or f"sqlite:///{path}"
    db = Database(url)
    if database_url:
        from iroa.models import Base

        Base.metadata.drop_all(db.engine)
        with db.engine.begin() as conn:
            conn.exec_driver_sql("DROP TABLE IF EXISTS alembic_version")
    upgrade(db.engine)
    return db


def child_sync(args: argparse.Namespace) -> dict[str, Any]:
    """Full sync, then (same database) an unchanged re-sync counting inventory writes."""
    from sqlalchemy import event

    from iroa.connectors.vcenter.connector import VCenterConnector
    from iroa.crypto import SecretBox
    from iroa.integrations.service import IntegrationInput, add_integration
    from iroa.sync.engine import run_sync
    from iroa.sync.policy import SyncPolicy

    db = fresh_database(args.database_url, Path(args.workdir), "sync")
    integration = add_integration(
        db, SecretBox("bench"), IntegrationInput("vcenter", "bench", args.url)
    )
    connector = VCenterConnector(options(args.url, args.username, args.password))
    start = time.perf_counter()
    result = run_sync(db, integration.id, connector, policy=SyncPolicy())
    elapsed = time.perf_counter() - start
    assert result.succeeded, result.error
    out: dict[str, Any] = {"sync_s": elapsed, "rss_mb": peak_rss_mb(), "totals": result.totals}
    if args.phase == "resync":
        writes = []
        inventory = {
            t.table.name
            for t in __import__("iroa.inventory.types", fromlist=["OBJECT_TYPES"]).OBJECT_TYPES
        }

        @event.listens_for(db.engine, "before_cursor_execute")
        def _count(conn: Any, cursor: Any, statement: str, *rest: Any) -> None:
            words = statement.split(None, 3)
            if words and words[0] in ("INSERT", "UPDATE", "DELETE"):
                table = words[1] if words[0] == "UPDATE" else words[2]
                if table.strip('"') in inventory:
                    writes.append(table)

        start = time.perf_counter()
        again = run_sync(db, integration.id, connector, policy=SyncPolicy())
        out["resync_s"] = time.perf_counter() - start
        assert again.succeeded, again.error
        out["resync_inventory_writes"] = len(writes)
        out["rss_mb"] = peak_rss_mb()
    db.dispose()
    return out


def child_retrieve(args: argparse.Namespace) -> dict[str, Any]:
    """Bare PropertyCollector retrieval of the connector's property set, one call per type."""
    from pyVim.connect import Disconnect, SmartConnect
    from pyVmomi import vim, vmodl

    from iroa.connectors.vcenter.properties import PROPERTIES

    pc = vmodl.query.PropertyCollector
    host, port = args.url.split("://")[1].split(":")
    si = SmartConnect(
        protocol=args.url.split("://")[0],
        host=host,
        port=int(port),
        user=args.username,
        pwd=args.password,
        sslContext=ssl.create_default_context(),
    )
    start = time.perf_counter()
    content = si.RetrieveContent()
    objects = 0
    for type_name, paths in PROPERTIES.items():
        vim_type = getattr(vim, type_name)
        view = content.viewManager.CreateContainerView(content.rootFolder, [vim_type], True)
        spec = pc.FilterSpec(
            objectSet=[
                pc.ObjectSpec(
                    obj=view,
                    skip=True,
                    selectSet=[
                        pc.TraversalSpec(path="view", skip=False, type=vim.view.ContainerView)
                    ],
                )
            ],
            propSet=[pc.PropertySpec(type=vim_type, pathSet=list(paths))],
        )
        result = content.propertyCollector.RetrievePropertiesEx([spec], pc.RetrieveOptions())
        while result is not None:
            objects += len(result.objects)
            token = result.token
            result = (
                content.propertyCollector.ContinueRetrievePropertiesEx(token) if token else None
            )
        view.Destroy()
    elapsed = time.perf_counter() - start
    Disconnect(si)
    return {"retrieve_s": elapsed, "objects": objects, "rss_mb": peak_rss_mb()}


def child_insert(args: argparse.Namespace) -> dict[str, Any]:
    """Raw bulk insert of the rows a sync writes: no diff, no references, no change rows."""
    from datetime import UTC, datetime

    from sqlalchemy import insert

    from iroa.connectors.base import NullProgress
    from iroa.connectors.vcenter.connector import VCenterConnector
    from iroa.crypto import SecretBox
    from iroa.integrations.service import IntegrationInput, add_integration
    from iroa.inventory.types import OBJECT_TYPES

    snapshot = VCenterConnector(options(args.url, args.username, args.password)).collect(
        NullProgress()
    )
    db = fresh_database(args.database_url, Path(args.workdir), "insert")
    integration = add_integration(
        db, SecretBox("bench"), IntegrationInput("vcenter", "bench", args.url)
    )
    now = datetime.now(UTC)
    tables = []
    for object_type in OBJECT_TYPES:
        columns = [c.name for c in object_type.data_columns if c.name not in object_type.refs]
        rows = [
            {
                **{c: getattr(r, c) for c in columns},
                "integration_id": integration.id,
                "external_id": r.external_id,
                "first_seen_at": now,
                "last_seen_at": now,
            }
            for r in getattr(snapshot, object_type.plural)
        ]
        tables.append((object_type.table, rows))
    start = time.perf_counter()
    with db.engine.begin() as conn:
        for table, rows in tables:
            if rows:
                conn.execute(insert(table), rows)
    elapsed = time.perf_counter() - start
    db.dispose()
    return {"insert_s": elapsed, "rows": sum(len(r) for _, r in tables)}


CHILDREN = {
    "sync": child_sync,
    "resync": child_sync,
    "retrieve": child_retrieve,
    "insert": child_insert,
}


def run_child(
    phase: str, args: argparse.Namespace, url: str, username: str, password: str, workdir: Path
) -> dict[str, Any]:
    command = [
        sys.executable,
        __file__,
        "--child",
        phase,
        "--url",
        url,
        "--username",
        username,
        "--password",
        password,
        "--workdir",
        str(workdir),
    ]
    if args.database_url:
        command += ["--database-url", args.database_url]
    proc = subprocess.run(command, capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        raise SystemExit(f"{phase} failed:\n{proc.stderr}")
    return json.loads(proc.stdout.strip().splitlines()[-1])  # type: ignore[no-any-return]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--vms-per-cluster", type=int, default=500)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--database-url")
    parser.add_argument("--child", choices=sorted(CHILDREN))
    parser.add_argument("--url")
    parser.add_argument("--username")
    parser.add_argument("--password")
    parser.add_argument("--workdir")
    args = parser.parse_args()
    if args.child:
        args.phase = args.child
        print(json.dumps(CHILDREN[args.child](args)))
        return

    from tests.peers.vcsim import VcsimServer, bench_topology, build_vcsim

    topology = bench_topology(args.vms_per_cluster)
    print(
        f"starting the simulator with {topology.vm_count} VMs on {topology.host_count} hosts…",
        flush=True,
    )
    results: dict[str, list[dict[str, Any]]] = {p: [] for p in CHILDREN}
    with (
        VcsimServer(build_vcsim(), topology, start_timeout=600) as server,
        tempfile.TemporaryDirectory(prefix="iroa-bench-") as tmp,
    ):
        for round_ in range(args.rounds):
            for phase in ("retrieve", "insert", "sync", "resync"):
                result = run_child(
                    phase, args, server.url, server.username, server.password, Path(tmp)
                )
                results[phase].append(result)
                print(
                    f"round {round_ + 1} {phase}: "
                    + ", ".join(
                        f"{k}={v:.2f}" if isinstance(v, float) else f"{k}={v}"
                        for k, v in result.items()
                        if k != "totals"
                    ),
                    flush=True,
                )

    retrieve = min(r["retrieve_s"] for r in results["retrieve"])
    raw_insert = min(r["insert_s"] for r in results["insert"])
    full = min(r["sync_s"] for r in results["sync"])
    resync = min(r["resync_s"] for r in results["resync"])
    writes = max(r["resync_inventory_writes"] for r in results["resync"])
    rss = max(r["rss_mb"] for r in results["sync"] + results["resync"])
    floor = retrieve + raw_insert
    ratio = full / floor
    totals = results["sync"][0]["totals"]
    print()
    print(
        f"inventory: {totals['vms']} VMs, {totals['vm_disks']} disks, {totals['vm_nics']} NICs, "
        f"{totals['hosts']} hosts; database: {args.database_url or 'SQLite'}"
    )
    print(f"bare retrieval        {retrieve:7.2f} s")
    print(f"raw bulk insert       {raw_insert:7.2f} s")
    print(
        f"full sync             {full:7.2f} s   ratio to (retrieval + insert): {ratio:.2f}"
        f"  (target ≤ {TARGET_RATIO})"
    )
    print(f"no-change re-sync     {resync:7.2f} s   inventory rows written: {writes}  (target 0)")
    print(f"sync peak RSS         {rss:7.0f} MB  (target ≤ {TARGET_RSS_MB})")
    ok = ratio <= TARGET_RATIO and writes == 0 and rss <= TARGET_RSS_MB
    print("all targets met" if ok else "TARGETS MISSED")
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
