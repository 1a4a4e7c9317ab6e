"""Benchmark: a vCenter watcher at 10,000 VMs — its delay, its idle cost, a burst, its memory.

Starts VMware's simulator with about 10,000 VMs and ``iroa watch`` on it in a
process of its own (SQLite in a temporary directory), then, once it is live:

- ``delay``: one change at a time (a rename of a random VM), each timed from the
  end of its task in the simulator to its row in the database (read by this
  process): p50 and p95 over ``--changes`` changes;
- ``quiet CPU``: the watcher process' CPU seconds over ``--quiet-s`` seconds
  with nothing changing, as a share of one core;
- ``burst``: ``--burst`` renames made as fast as the simulator takes them (8 at a
  time), timed from the end of the last one to the last row in the database;
- ``peak RSS``: the watcher process' high-water mark, baseline included.

The simulator's own CPU (it compares every object on each wait) is not counted.
Usage: ``python benchmarks/watch_vcenter.py [--vms-per-cluster 500] [--changes 50]
[--quiet-s 60] [--burst 1000]``. Exits non-zero if a target is missed.
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

TARGET_P95_DELAY_S = 2.0
TARGET_QUIET_CPU_SHARE = 0.02
TARGET_BURST_S = 10.0
TARGET_RSS_MB = 250.0
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS  # utime + stime


def peak_rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def name_in_db(db: Any, external_id: str) -> str | None:
    from sqlalchemy import select

    from iroa.inventory.models import Vm

    with db.engine.connect() as conn:
        return conn.execute(  # type: ignore[no-any-return]
            select(Vm.name).where(Vm.external_id == external_id)
        ).scalar_one_or_none()


def count_named(db: Any, prefix: str) -> int:
    from sqlalchemy import func, select

    from iroa.inventory.models import Vm

    with db.engine.connect() as conn:
        return int(
            conn.execute(
                select(func.count()).where(Vm.name.startswith(prefix), Vm.removed_at.is_(None))
            ).scalar_one()
        )


def wait_until(check: Any, timeout: float, every_s: float = 0.02) -> float:
    """Seconds until ``check()`` holds, or infinity after ``timeout``."""
    start = time.monotonic()
    while not check():
        if time.monotonic() - start > timeout:
            return float("inf")
        time.sleep(every_s)
    return time.monotonic() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--vms-per-cluster", type=int, default=500)
    parser.add_argument("--changes", type=int, default=50)
    parser.add_argument("--quiet-s", type=float, default=60.0)
    parser.add_argument("--burst", type=int, default=1000)
    args = parser.parse_args()

    from pyVmomi import vim

    from iroa.config import Settings
    from iroa.crypto import SecretBox, load_secret_key
    from iroa.db.engine import Database
    from iroa.db.migrate import upgrade
    from iroa.integrations.service import IntegrationInput, add_integration
    from tests.peers import vsphere_ops as ops
    from tests.peers.vcsim import VcsimServer, bench_topology, build_vcsim

    topology = bench_topology(args.vms_per_cluster)
    print(f"starting the simulator with {topology.vm_count} VMs…", flush=True)
    with (
        VcsimServer(build_vcsim(), topology, start_timeout=600) as server,
        tempfile.TemporaryDirectory(prefix="iroa-watch-bench-") as tmp,
    ):
        settings = Settings(data_dir=Path(tmp), database_url=f"sqlite:///{tmp}/iroa.db")
        db = Database(settings.resolved_database_url)
        upgrade(db.engine)
        box = SecretBox(load_secret_key(settings))
        add_integration(
            db,
            box,
            IntegrationInput(
                "vcenter",
                "bench",
                server.url,
                username=server.username,
                password=server.password,
                interval_seconds=0,
            ),
        )
        env = {
            **os.environ,
            "IROA_DATA_DIR": tmp,
            "IROA_DATABASE_URL": settings.resolved_database_url,
            "PYTHONPATH": str(ROOT / "src"),
        }
        watcher = subprocess.Popen(
            [sys.executable, "-m", "iroa", "watch", "bench"],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        try:
            started = time.monotonic()
            live = threading.Event()
            printed: list[str] = []

            def read(stream: Any) -> None:  # drained to the end, so the watcher never blocks
                for line in stream:
                    printed.append(line.rstrip())
                    if ": live" in line:
                        live.set()

            threading.Thread(target=read, args=(watcher.stdout,), daemon=True).start()
            while not live.wait(1):
                if watcher.poll() is not None:
                    raise SystemExit("the watcher ended: " + " / ".join(printed[-5:]))
            baseline_s = time.monotonic() - started
            si = ops.connect(server)
            vms = {row["obj"]._moId: row["obj"] for row in ops.retrieve(si, vim.VirtualMachine)}
            print(f"live after a baseline of {baseline_s:.1f} s; {len(vms)} VMs", flush=True)
            pick = random.Random(42)

            delays = []
            for n in range(args.changes):
                external_id = pick.choice(sorted(vms))
                new_name = f"renamed-{n}"
                ops.wait_for_task(vms[external_id].Rename_Task(newName=new_name))
                delays.append(
                    wait_until(lambda e=external_id, m=new_name: name_in_db(db, e) == m, 30)
                )
            p50 = statistics.median(delays)
            p95 = statistics.quantiles(delays, n=20)[-1]

            time.sleep(2)
            cpu_before = cpu_seconds(watcher.pid)
            time.sleep(args.quiet_s)
            quiet_share = (cpu_seconds(watcher.pid) - cpu_before) / args.quiet_s

            chosen = pick.sample(sorted(vms), min(args.burst, len(vms)))
            wanted = {external_id: f"burst-{external_id}" for external_id in chosen}

            def rename(external_id: str) -> None:
                ops.wait_for_task(vms[external_id].Rename_Task(newName=wanted[external_id]))

            issued = time.monotonic()
            with ThreadPoolExecutor(8) as pool:
                list(pool.map(rename, chosen))
            issue_s = time.monotonic() - issued

            burst_s = wait_until(lambda: count_named(db, "burst-") == len(wanted), 120, 0.1)
            rss = peak_rss_mb(watcher.pid)
        finally:
            watcher.terminate()
            watcher.wait(30)

    print()
    print(f"watch of {len(vms)} VMs (simulator), SQLite; baseline {baseline_s:.1f} s")
    rows = [
        ("delay p50", f"{p50:.2f} s", ""),
        ("delay p95", f"{p95:.2f} s", f"≤ {TARGET_P95_DELAY_S:g} s", p95 <= TARGET_P95_DELAY_S),
        (
            "quiet CPU",
            f"{quiet_share:.1%} of a core",
            f"≤ {TARGET_QUIET_CPU_SHARE:.0%}",
            quiet_share <= TARGET_QUIET_CPU_SHARE,
        ),
        (
            f"burst of {len(wanted)}",
            f"{burst_s:.1f} s after the last ({issue_s:.1f} s to make them)",
            f"≤ {TARGET_BURST_S:g} s",
            burst_s <= TARGET_BURST_S,
        ),
        ("peak RSS", f"{rss:.0f} MB", f"≤ {TARGET_RSS_MB:g} MB", rss <= TARGET_RSS_MB),
    ]
    missed = 0
    for name, value, target, *met in rows:
        verdict = ("met" if met[0] else "MISSED") if met else ""
        missed += bool(met) and not met[0]
        print(f"{name:<16} {value:<44} {target:<10} {verdict}")
    sys.exit(1 if missed else 0)


if __name__ == "__main__":
    main()
