"""Benchmark: a full vCenter sync as a user runs it, beside the fastest bare pyVmomi retrieval.

Starts VMware's simulator with about 10,000 VMs and measures, each in a process
of its own, side by side in one run:

- ``pyVmomi retrieval``: every property the connector reads, of every type,
  decoded by pyVmomi, done the two fastest ways pyVmomi allows — a ContainerView
  traversal per type in ``RetrievePropertiesEx`` pages of 1,000, and explicit
  objects in batches of 1,000 — the faster is the floor;
- ``lean retrieval``: the same view traversals, decoded by IROA's lean decoder;
- ``iroa sync``: the command a user runs (process start included) into an empty
  SQLite database, then again with nothing changed (it must write nothing).

Then it starts a simulator with about 20,000 VMs and measures the peak RSS of
``iroa sync`` there. Targets: the full sync in at most half the pyVmomi floor;
no row written by the unchanged re-sync; at most 150 MB at 20,000 VMs.
Usage: ``python benchmarks/sync_vcenter.py [--vms-per-cluster 500] [--rounds 2]
[--rss-vms-per-cluster 1000]``. Exits non-zero if a target is missed.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

TARGET_SYNC_SHARE = 0.5
TARGET_RSS_MB = 150.0
PAGE = 1000


def session(args: argparse.Namespace, *, lean: bool) -> Any:
    from iroa.connectors.base import ConnectionOptions
    from iroa.connectors.vcenter.client import open_session

    return open_session(
        ConnectionOptions(
            url=args.url, username=args.username, password=args.password, lean_decoding=lean
        )
    )


def retrieve(args: argparse.Namespace, way: str) -> dict[str, Any]:
    """Every property the connector reads, of every type; ``way``: ``view`` (a ContainerView
    traversal per type, pages of 1,000), ``objects`` (batches of 1,000 listed objects) or
    ``lean`` (the view traversal, decoded by IROA)."""
    from pyVmomi import vim, vmodl
    from pyVmomi.VmomiSupport import GetWsdlType

    from iroa.connectors.vcenter.properties import KEPT, PROPERTIES, paths_for
    from iroa.connectors.vcenter.retrieval import list_objects, retrieve_batches, retrieve_pages

    pc = vmodl.query.PropertyCollector
    started = time.perf_counter()
    objects = 0
    with session(args, lean=way == "lean") as s:
        content = s.content
        for type_name in PROPERTIES:
            vim_type = GetWsdlType("urn:vim25", type_name)
            paths = list(paths_for(type_name, s.api_version))
            if way == "objects":
                listed = list_objects(content, vim_type)
                for batch in retrieve_batches(
                    content.propertyCollector, listed, vim_type, paths, PAGE, prefetch=False
                ):
                    objects += len(batch)
                continue
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
                propSet=[pc.PropertySpec(type=vim_type, pathSet=paths)],
            )
            for page in retrieve_pages(
                content.propertyCollector, spec, PAGE, s.decoder, KEPT.get(type_name)
            ):
                objects += len(page)
            view.Destroy()
    return {"seconds": time.perf_counter() - started, "objects": objects}


def run_measured(command: list[str], env: dict[str, str]) -> dict[str, Any]:
    """Run ``command`` (in this wrapper process, so RUSAGE_CHILDREN is its alone)."""
    started = time.perf_counter()
    proc = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
    seconds = time.perf_counter() - started
    if proc.returncode != 0:
        raise SystemExit(f"{' '.join(command)} failed:\n{proc.stdout}\n{proc.stderr}")
    rss = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    return {"seconds": seconds, "rss_mb": rss}


def child(args: argparse.Namespace) -> dict[str, Any]:
    if args.child == "sync":
        env = {**os.environ, "IROA_DATA_DIR": args.workdir, "PYTHONPATH": str(ROOT / "src")}
        return run_measured([sys.executable, "-m", "iroa", "sync", "bench"], env)
    return retrieve(args, args.child)


def in_child(kind: str, server: Any, workdir: Path | None = None) -> dict[str, Any]:
    command = [sys.executable, __file__, "--child", kind, "--url", server.url]
    command += ["--username", server.username, "--password", server.password]
    if workdir is not None:
        command += ["--workdir", str(workdir)]
    proc = subprocess.run(command, capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        raise SystemExit(f"{kind} failed:\n{proc.stderr}")
    return json.loads(proc.stdout.strip().splitlines()[-1])  # type: ignore[no-any-return]


def new_estate(server: Any, workdir: Path) -> None:
    """An empty data directory with one vCenter integration, ``bench``, on ``server``."""
    workdir.mkdir()
    env = {**os.environ, "IROA_DATA_DIR": str(workdir), "PYTHONPATH": str(ROOT / "src")}
    add = ["integration", "add", "vcenter", "bench", "--url", server.url, "--no-watch"]
    add += ["--username", server.username, "--password-stdin", "--interval", "0"]
    subprocess.run(
        [sys.executable, "-m", "iroa", *add],
        input=server.password + "\n",
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )


def last_run(workdir: Path) -> tuple[int, int, int, int]:
    """The last run's added, modified and removed counts, and how many change rows exist."""
    with sqlite3.connect(workdir / "iroa.db") as db:
        added, modified, removed = db.execute(
            "SELECT added, modified, removed FROM sync_runs ORDER BY id DESC LIMIT 1"
        ).fetchone()
        (changes,) = db.execute("SELECT count(*) FROM changes").fetchone()
    return added, modified, removed, changes


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--vms-per-cluster", type=int, default=500)
    parser.add_argument("--rss-vms-per-cluster", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--child", choices=("view", "objects", "lean", "sync"))
    parser.add_argument("--url")
    parser.add_argument("--username")
    parser.add_argument("--password")
    parser.add_argument("--workdir")
    args = parser.parse_args()
    if args.child:
        print(json.dumps(child(args)))
        return

    from tests.peers.vcsim import VcsimServer, bench_topology, build_vcsim

    topology = bench_topology(args.vms_per_cluster)
    print(f"starting the simulator with {topology.vm_count} VMs…", flush=True)
    seconds: dict[str, list[float]] = {}
    rss: list[float] = []
    written: list[tuple[int, int]] = []
    with (
        VcsimServer(build_vcsim(), topology, start_timeout=600) as server,
        tempfile.TemporaryDirectory(prefix="iroa-bench-") as tmp,
    ):
        for round_ in range(args.rounds):
            for way in ("view", "objects", "lean"):
                result = in_child(way, server)
                seconds.setdefault(way, []).append(result["seconds"])
                print(f"round {round_ + 1}: {way} retrieval {result['seconds']:.2f} s", flush=True)
            workdir = Path(tmp) / f"round-{round_}"
            new_estate(server, workdir)
            for phase in ("sync", "no-change sync"):
                changes_before = last_run(workdir)[3] if phase != "sync" else 0
                result = in_child("sync", server, workdir)
                seconds.setdefault(phase, []).append(result["seconds"])
                rss.append(result["rss_mb"])
                print(f"round {round_ + 1}: iroa {phase} {result['seconds']:.2f} s", flush=True)
            added, modified, removed, changes_after = last_run(workdir)
            written.append((added + modified + removed, changes_after - changes_before))

    big = bench_topology(args.rss_vms_per_cluster)
    print(f"starting the simulator with {big.vm_count} VMs…", flush=True)
    with (
        VcsimServer(build_vcsim(), big, start_timeout=900) as server,
        tempfile.TemporaryDirectory(prefix="iroa-bench-") as tmp,
    ):
        workdir = Path(tmp) / "big"
        new_estate(server, workdir)
        big_sync = in_child("sync", server, workdir)

    best = {name: min(values) for name, values in seconds.items()}
    floor = min(best["view"], best["objects"])
    share = best["sync"] / floor
    changed = max(objects + changes for objects, changes in written)
    ok = share <= TARGET_SYNC_SHARE and changed == 0 and big_sync["rss_mb"] <= TARGET_RSS_MB
    print()
    print(f"{topology.vm_count:,} VMs (simulator), SQLite, best of {args.rounds}")
    print(f"{'pyVmomi retrieval, view pages of 1,000':<44} {best['view']:6.2f} s")
    print(f"{'pyVmomi retrieval, batches of 1,000':<44} {best['objects']:6.2f} s")
    print(
        f"{'lean retrieval, view pages of 1,000':<44} {best['lean']:6.2f} s"
        f"   {floor / best['lean']:.1f}x faster"
    )
    print(
        f"{'iroa sync (process start included)':<44} {best['sync']:6.2f} s"
        f"   {share:.2f} of pyVmomi's   target <= {TARGET_SYNC_SHARE}"
    )
    print(
        f"{'iroa sync, nothing changed':<44} {best['no-change sync']:6.2f} s"
        f"   objects and change rows written: {changed}   target 0"
    )
    print(f"{'iroa sync peak RSS':<44} {max(rss):6.0f} MB")
    print(
        f"{f'iroa sync peak RSS at {big.vm_count:,} VMs':<44} {big_sync['rss_mb']:6.0f} MB"
        f"   target <= {TARGET_RSS_MB:g} ({big_sync['seconds']:.1f} s)"
    )
    print("all targets met" if ok else "TARGETS MISSED")
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
