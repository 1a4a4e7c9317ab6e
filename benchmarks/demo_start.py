"""Benchmark: how long ``make demo`` takes to show both platforms, and to stop.

Runs what ``make demo`` runs (``python -m demo``) ``--runs`` times on a temporary data
directory and a free port, each until its banner (``IROA demo: …``): by then the
simulators are up, both integrations are synced, and ``iroa serve`` answers, so the
overview shows both platforms. Then it checks that through the API (both platforms
have VMs) and stops the demo with SIGINT, as Ctrl-C does, timing its exit.

On a fresh clone ``make demo`` first installs Debian's Go and govmomi, makes the
virtualenv and builds the simulator (cached after): ``--install`` times those steps
from nothing (a new clone's virtualenv, an empty Go cache; the Debian packages only if
missing) and adds them to the first run. Targets: a run within 30 s; a first run, installs
included, within 3 minutes. Usage: ``python benchmarks/demo_start.py [--runs 2]
[--install]``. Exits non-zero if a target is missed.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TARGET_RUN_S = 30.0
TARGET_FIRST_S = 180.0


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def api(base: str, path: str, token: str | None = None, body: object = None) -> object:
    request = urllib.request.Request(f"{base}{path}")
    if body is not None:
        request.data = json.dumps(body).encode()
        request.add_header("Content-Type", "application/json")
    if token is not None:
        request.add_header("Authorization", f"Bearer {token}")
    with urllib.request.urlopen(request, timeout=30) as answer:
        return json.loads(answer.read())


def one_run(data_dir: Path) -> tuple[float, float, dict[str, int]]:
    """Seconds to the banner, seconds to stop, and VMs per platform the API reports."""
    port = free_port()
    started = time.monotonic()
    demo = subprocess.Popen(
        [sys.executable, "-m", "demo", "--port", str(port), "--data-dir", str(data_dir)],
        cwd=ROOT,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    assert demo.stdout is not None
    try:
        for line in demo.stdout:
            found = re.match(r"IROA demo: (\S+)  \(log in as admin, password (\S+)\)", line)
            if found:
                break
        else:
            raise SystemExit(f"the demo exited before its banner (code {demo.wait()})")
        shown = time.monotonic() - started
        base, password = found.groups()
        token = api(base, "/api/v1/auth/token", body={"username": "admin", "password": password})
        assert isinstance(token, dict)
        vms: dict[str, int] = {}
        for platform in ("vcenter", "hyperv"):
            page = api(base, f"/api/v1/vms?platform={platform}&limit=1", token["token"])
            assert isinstance(page, dict)
            vms[platform] = int(page["total"])
    finally:
        stopping = time.monotonic()
        demo.send_signal(signal.SIGINT)
        demo.wait(120)
    return shown, time.monotonic() - stopping, vms


def install_s() -> dict[str, float]:
    """Seconds each of ``make demo``'s first-run steps takes, from nothing: Debian's Go
    and govmomi (nothing to do where installed), a fresh clone's virtualenv, and the
    simulator built with an empty Go cache."""
    steps: dict[str, float] = {}
    with tempfile.TemporaryDirectory(prefix="iroa-demo-install-") as tmp:
        started = time.monotonic()
        subprocess.run(
            ["bash", "tests/peers/install.sh", "golang-go", "golang-github-vmware-govmomi-dev"],
            cwd=ROOT,
            check=True,
        )
        steps["apt"] = time.monotonic() - started
        clone = Path(tmp) / "iroa"
        subprocess.run(["git", "clone", "-q", str(ROOT), str(clone)], check=True)
        started = time.monotonic()
        subprocess.run(
            ["make", ".venv/.installed-stamp"], cwd=clone, check=True, capture_output=True
        )
        steps["venv"] = time.monotonic() - started
        started = time.monotonic()
        build = "from tests.peers.vcsim import build_vcsim; build_vcsim()"
        subprocess.run(
            [sys.executable, "-c", build],
            cwd=ROOT,
            env={**os.environ, "XDG_CACHE_HOME": str(Path(tmp) / "cache"), "PYTHONPATH": "."},
            check=True,
        )
        steps["vcsim"] = time.monotonic() - started
    return steps


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=2)
    parser.add_argument("--install", action="store_true", help="time the install steps first")
    args = parser.parse_args()
    installing = install_s() if args.install else None
    rows = []
    with tempfile.TemporaryDirectory(prefix="iroa-demo-bench-") as tmp:
        for run in range(args.runs):
            rows.append(one_run(Path(tmp) / f"run{run}"))
    missed = 0
    print("make demo: seconds from start to both platforms shown, and to stop on Ctrl-C")
    print(f"{'run':<10}{'shown':>8}{'stop':>8}  {'VMs (vCenter / Hyper-V)':<36}target")
    print("-" * 76)
    for run, (shown, stop, vms) in enumerate(rows, 1):
        met = shown <= TARGET_RUN_S and vms["vcenter"] > 0 and vms["hyperv"] > 0
        missed += not met
        counts = f"{vms['vcenter']} / {vms['hyperv']}"
        verdict = f"<= {TARGET_RUN_S:g} s " + ("met" if met else "MISSED")
        print(f"{run:<10}{shown:>8.1f}{stop:>8.1f}  {counts:<36}{verdict}")
    if installing is not None:
        first = sum(installing.values()) + rows[0][0]
        met = first <= TARGET_FIRST_S
        missed += not met
        verdict = f"<= {TARGET_FIRST_S:g} s " + ("met" if met else "MISSED")
        parts = " + ".join(f"{name} {s:.0f}" for name, s in installing.items())
        print(f"{'first run':<10}{first:>8.1f}{'':>8}  {parts + ' + run 1':<36}{verdict}")
    if missed:
        raise SystemExit(f"{missed} target(s) missed")


if __name__ == "__main__":
    main()
