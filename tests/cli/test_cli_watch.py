"""``iroa watch NAME`` as users run it: a real process following a simulator until Ctrl-C."""

from __future__ import annotations

import signal
import subprocess
import threading
import time
from collections.abc import Callable
from typing import Any

import pytest

from tests.cli.test_cli import Iroa, add_vcenter, iroa  # noqa: F401  (fixture)
from tests.peers import vsphere_ops as ops
from tests.peers.vcsim import Topology, VcsimServer

# Asserts on wall-clock delays: runs after the parallel tests, alone (see the Makefile).
pytestmark = pytest.mark.serial


class Lines:
    """The lines a process prints, read as they come."""

    def __init__(self, stream: Any) -> None:
        self.lines: list[str] = []
        self._thread = threading.Thread(target=self._read, args=(stream,), daemon=True)
        self._thread.start()

    def _read(self, stream: Any) -> None:
        for line in stream:
            self.lines.append(line.rstrip("\n"))

    def wait_for(self, check: Callable[[str], bool], timeout: float) -> str:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            found = next((line for line in self.lines if check(line)), None)
            if found is not None:
                return found
            time.sleep(0.05)
        raise AssertionError(f"not printed within {timeout} s; printed: {self.lines}")


def test_watch_follows_changes_until_ctrl_c(iroa: Iroa, vcsim: Any) -> None:  # noqa: F811
    server: VcsimServer = vcsim(Topology(vms_per_host=1))
    add_vcenter(iroa, server)
    vm = ops.list_vm_names(ops.connect(server))[0]
    proc = subprocess.Popen(
        iroa.command("watch", "vc"),
        env=iroa.env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        out = Lines(proc.stdout)
        out.wait_for(lambda line: "watch of 'vc': live" in line, timeout=60)
        ops.power_off(ops.connect(server), vm)
        out.wait_for(lambda line: "0 added, 1 modified, 0 removed" in line, timeout=10)
        powered = {row["name"]: row["power_state"] for row in iroa.json("get", "vms")}
        assert powered[vm] == "off"
        proc.send_signal(signal.SIGINT)
        assert proc.wait(timeout=30) == 0
        out.wait_for(lambda line: "watch of 'vc': stopped" in line, timeout=5)
        assert not any("Traceback" in line for line in out.lines), out.lines
    finally:
        if proc.poll() is None:
            proc.kill()
    history = iroa.json("history")
    assert {run["trigger"] for run in history} == {"watch"}
    assert {run["status"] for run in history} == {"succeeded"}


def test_watch_of_a_kind_without_a_change_feed_is_refused_in_one_line(
    iroa: Iroa,  # noqa: F811
) -> None:
    iroa("integration", "add", "prometheus", "prom", "--url", "http://127.0.0.1:9")
    failed = iroa("watch", "prom", ok=False)
    assert failed.returncode == 1
    assert failed.stderr.strip().splitlines() == [
        "error: prometheus integrations have no change feed to watch"
    ]


def test_integration_add_takes_watch_and_list_shows_it(iroa: Iroa) -> None:  # noqa: F811
    iroa("integration", "add", "vcenter", "watched", "--url", "https://vc1.example.com")
    iroa("integration", "add", "vcenter", "quiet", "--url", "https://vc2.example.com", "--no-watch")
    listed = {i["name"]: i for i in iroa.json("integration", "list")}
    assert listed["watched"]["watch"] is True and listed["quiet"]["watch"] is False
    assert {i["watch_state"] for i in listed.values()} == {"off"}
    refused = iroa(
        "integration", "add", "prometheus", "p", "--url", "http://127.0.0.1:9", "--watch", ok=False
    )
    assert refused.stderr.strip() == "error: prometheus integrations have no change feed to watch"
