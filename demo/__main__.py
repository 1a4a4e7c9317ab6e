"""``make demo``: IROA on a simulated vCenter and a recorded Hyper-V cluster, with changes.

Starts, all on loopback:

1. VMware's vCenter simulator (the test suite's vcsim) over TLS, with the estate
   of :mod:`demo.estate`;
2. the WS-Management endpoint of the test suite, over TLS, answering IROA's
   inventory script with a recorded two-node Hyper-V cluster;
3. IROA itself, as a user runs it: ``iroa integration add`` for both (named
   ``vcenter-simulator`` and ``hyperv-simulator``), a first ``iroa sync`` of
   each, then ``iroa serve`` on its own data directory (``./demo-data``, made
   anew on each run), which watches the vCenter;

then prints the address and the admin login, and has :mod:`demo.driver` change
the simulator every few seconds until Ctrl-C, which stops everything it started.
Nothing here is part of IROA: it has no demo mode and no sample data.
"""

from __future__ import annotations

import argparse
import ctypes
import os
import secrets
import shutil
import signal
import subprocess
import sys
import threading
import time
import urllib.request
from contextlib import ExitStack
from pathlib import Path

from demo.driver import OPERATOR, Driver
from demo.estate import TOPOLOGY, furnish, tag
from tests.peers import vsphere_ops as ops
from tests.peers.certs import generate_certs
from tests.peers.vcsim import VcsimServer, build_vcsim
from tests.peers.winrm.server import DEFAULT_PASSWORD as WINRM_PASSWORD
from tests.peers.winrm.server import DEFAULT_USERNAME as WINRM_USERNAME
from tests.peers.winrm.server import WinrmServer, envelope_reply

MARKER = ".iroa-demo"
"""In a data directory the demo made: only such a directory is removed on the next run."""
READER = "iroa-reader@vsphere.local"
"""Who IROA logs in to the simulator as (it takes any login)."""


class DemoError(RuntimeError):
    """The demo cannot start; the message says why, in one line."""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8001)
    parser.add_argument("--data-dir", type=Path, default=Path("demo-data"))
    parser.add_argument("--every", type=float, default=5.0, help="seconds between changes")
    args = parser.parse_args()
    # Ctrl-C reaches every process of the terminal's group; the servers started here run
    # in sessions of their own and are stopped in order, after the driver.
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    try:
        run(args, stop)
    except DemoError as exc:
        print(f"error: {exc}", file=sys.stderr)
        sys.exit(1)
    except KeyboardInterrupt:
        pass
    print("demo stopped: the simulators and IROA are down", flush=True)


def run(args: argparse.Namespace, stop: threading.Event) -> None:
    data_dir: Path = args.data_dir.resolve()
    fresh_data_dir(data_dir)
    with ExitStack() as running:
        say("starting the vCenter simulator (1,000 VMs) …")
        vcenter = VcsimServer(build_vcsim(), TOPOLOGY, tls=True, username="", password="")
        vcenter.start()
        running.callback(vcenter.stop)
        operator = ops.connect(vcenter, username=OPERATOR, password="demo")
        done = furnish(operator)
        # The simulator takes any login: the REST session logs in as the operator too.
        vcenter.username, vcenter.password = OPERATOR, "demo"
        done["with vSphere tags"] = tag(vcenter, operator)
        say(f"  vCenter simulator: {vcenter.url} (CA: {vcenter.ca_file}; any login)")
        say("  " + ", ".join(f"{count} VMs {what}" for what, count in done.items()))

        say("starting the WS-Management endpoint (a recorded two-node Hyper-V cluster) …")
        hyperv = WinrmServer(certs=generate_certs(data_dir / "winrm-tls"))
        hyperv.reply = envelope_reply("cluster")
        hyperv.start()
        running.callback(hyperv.stop)
        say(f"  WS-Management endpoint: {hyperv.url}")

        # IROA's settings from the caller's environment (a production IROA_DATABASE_URL, say)
        # never reach the demo: it runs on its own data directory and defaults alone.
        inherited = {k: v for k, v in os.environ.items() if not k.startswith("IROA_")}
        env = {**inherited, "IROA_DATA_DIR": str(data_dir)}
        assert vcenter.ca_file is not None and hyperv.ca_file is not None
        iroa(env, "db", "upgrade")
        iroa(
            env, "integration", "add", "vcenter", "vcenter-simulator", "--url", vcenter.url,
            "--username", READER, "--password-stdin", "--ca-file", str(vcenter.ca_file),
            "--watch", stdin="simulator\n",
        )  # fmt: skip
        iroa(
            env, "integration", "add", "hyperv", "hyperv-simulator", "--url", hyperv.url,
            "--username", WINRM_USERNAME, "--password-stdin", "--transport", "basic",
            "--ca-file", str(hyperv.ca_file), stdin=f"{WINRM_PASSWORD}\n",
        )  # fmt: skip
        say("first syncs …")
        iroa(env, "sync", "vcenter-simulator")
        iroa(env, "sync", "hyperv-simulator")

        password = secrets.token_urlsafe(12)
        base = f"http://{args.host}:{args.port}"
        serve = subprocess.Popen(
            [sys.executable, "-m", "iroa", "serve", "--host", args.host, "--port", str(args.port)],
            env={**env, "IROA_ADMIN_PASSWORD": password},
            stdin=subprocess.DEVNULL,
            start_new_session=True,
            preexec_fn=_die_with_parent,  # noqa: PLW1509 - only calls prctl(2)
        )
        running.callback(stop_process, serve)
        wait_until_healthy(base, serve)
        say("")
        say(f"IROA demo: {base}  (log in as admin, password {password})")
        say(f"The simulator changes every {args.every:g} s as {OPERATOR}; Ctrl-C stops it all.")
        say("")

        driver = Driver(operator)
        driver.run(args.every, stop, say)


def fresh_data_dir(data_dir: Path) -> None:
    """An empty ``data_dir`` marked as the demo's, replacing the demo's previous one."""
    if data_dir.exists():
        if not (data_dir / MARKER).exists():
            raise DemoError(
                f"{data_dir} exists and was not made by the demo: remove it or give --data-dir"
            )
        shutil.rmtree(data_dir)
    data_dir.mkdir(parents=True)
    (data_dir / MARKER).write_text("made by `make demo`; removed by its next run\n")


def iroa(env: dict[str, str], *args: str, stdin: str = "") -> None:
    """Run the ``iroa`` CLI as a user would; its output goes to the terminal."""
    done = subprocess.run(
        [sys.executable, "-m", "iroa", *args], env=env, input=stdin, text=True, check=False
    )
    if done.returncode != 0:
        raise DemoError(f"`iroa {' '.join(args)}` failed with exit code {done.returncode}")


def wait_until_healthy(base: str, serve: subprocess.Popen[bytes], timeout_s: float = 60) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if serve.poll() is not None:
            raise DemoError(f"`iroa serve` exited with code {serve.returncode}")
        try:
            with urllib.request.urlopen(f"{base}/api/v1/health", timeout=2) as answer:
                if answer.status == 200:
                    return
        except OSError:
            time.sleep(0.2)
    raise DemoError(f"`iroa serve` did not answer on {base} within {timeout_s:g} s")


def stop_process(process: subprocess.Popen[bytes], timeout_s: float = 20) -> None:
    """SIGINT (as Ctrl-C would), then SIGKILL if it has not exited within ``timeout_s``."""
    if process.poll() is None:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(timeout_s)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def say(line: str) -> None:
    print(line, flush=True)


def _die_with_parent() -> None:
    # Runs in the child before exec: if the demo is killed, its `iroa serve` goes too.
    pr_set_pdeathsig = 1
    ctypes.CDLL(None, use_errno=True).prctl(pr_set_pdeathsig, signal.SIGKILL)


if __name__ == "__main__":
    main()
