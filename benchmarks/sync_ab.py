"""Benchmark: ``iroa sync`` of a 10,000-VM simulator at this checkout beside an earlier commit.

What an issue that reads more of vCenter may cost a full sync is bounded against
the sync before it (for instance "within 15 % of the figure before this issue").
This starts VMware's simulator once with about 10,000 VMs, checks the baseline
commit out into a temporary worktree, and then, ``--rounds`` times, alternating
which goes first, runs the command a user runs (``iroa sync``, process start
included) from each source tree into an empty SQLite data directory: the same
simulator, the same machine, minutes apart. Both use this checkout's virtualenv.

Prints the best of each and their ratio; exits non-zero if this checkout's best is
more than ``--limit`` (default 1.15) times the baseline's. Usage: ``python
benchmarks/sync_ab.py --baseline REV [--rounds 3] [--vms-per-cluster 500]``.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def iroa(tree: Path, data_dir: Path, *args: str, stdin: str = "") -> float:
    """Run ``iroa`` from ``tree``'s sources on ``data_dir``; its wall-clock seconds."""
    env = {**os.environ, "IROA_DATA_DIR": str(data_dir), "PYTHONPATH": str(tree / "src")}
    env = {k: v for k, v in env.items() if not k.startswith("IROA_") or k == "IROA_DATA_DIR"}
    started = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-m", "iroa", *args],
        input=stdin,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    seconds = time.perf_counter() - started
    if done.returncode != 0:
        raise SystemExit(f"iroa {' '.join(args)} ({tree}) failed:\n{done.stdout}\n{done.stderr}")
    return seconds


def one_sync(tree: Path, data_dir: Path, server: object) -> float:
    """A new data directory with one vCenter integration, then its first sync, timed."""
    data_dir.mkdir()
    url, username, password = (getattr(server, name) for name in ("url", "username", "password"))
    add = ["integration", "add", "vcenter", "bench", "--url", url, "--no-watch"]
    add += ["--username", username, "--password-stdin", "--interval", "0"]
    iroa(tree, data_dir, *add, stdin=password + "\n")
    return iroa(tree, data_dir, "sync", "bench")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--baseline", required=True, help="the commit to compare with")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--vms-per-cluster", type=int, default=500)
    parser.add_argument("--limit", type=float, default=1.15)
    args = parser.parse_args()

    from tests.peers.vcsim import VcsimServer, bench_topology, build_vcsim

    base_rev = subprocess.run(
        ["git", "-C", str(ROOT), "rev-parse", "--short", args.baseline],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    head_rev = subprocess.run(
        ["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    topology = bench_topology(args.vms_per_cluster)
    seconds: dict[str, list[float]] = {"baseline": [], "this checkout": []}
    with tempfile.TemporaryDirectory(prefix="iroa-sync-ab-") as tmp:
        baseline = Path(tmp) / "baseline"
        subprocess.run(
            ["git", "-C", str(ROOT), "worktree", "add", "--detach", "-q", str(baseline), base_rev],
            check=True,
        )
        try:
            print(f"starting the simulator with {topology.vm_count} VMs…", flush=True)
            with VcsimServer(build_vcsim(), topology, start_timeout=600) as server:
                for round_ in range(args.rounds):
                    order = [("baseline", baseline), ("this checkout", ROOT)]
                    for name, tree in order if round_ % 2 == 0 else order[::-1]:
                        took = one_sync(
                            tree, Path(tmp) / f"{name}-{round_}".replace(" ", "-"), server
                        )
                        seconds[name].append(took)
                        print(f"round {round_ + 1}: {name} {took:.2f} s", flush=True)
        finally:
            subprocess.run(
                ["git", "-C", str(ROOT), "worktree", "remove", "--force", str(baseline)],
                check=False,
            )
    best = {name: min(values) for name, values in seconds.items()}
    ratio = best["this checkout"] / best["baseline"]
    print()
    print(f"iroa sync of {topology.vm_count:,} VMs (simulator, SQLite), best of {args.rounds}")
    print(f"{'commit':<28}{'seconds':>8}{'spread':>8}")
    print("-" * 44)
    for name, rev in (("baseline", base_rev), ("this checkout", head_rev)):
        spread = max(seconds[name]) - best[name]
        print(f"{f'{name} ({rev})':<28}{best[name]:>8.2f}{spread:>8.2f}")
    verdict = "met" if ratio <= args.limit else "MISSED"
    print(f"ratio {ratio:.2f} (limit {args.limit:.2f}): {verdict}")
    if ratio > args.limit:
        raise SystemExit(1)


if __name__ == "__main__":
    main()
