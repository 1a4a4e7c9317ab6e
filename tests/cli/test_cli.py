"""The ``iroa`` command as users run it: a real process against a simulator and a database."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from tests.peers import vsphere_ops as ops
from tests.peers.vcsim import Topology, VcsimServer
from tests.peers.vsphere_tags import Tagging

CONTRACT_VM_KEYS = {
    "name",
    "power_state",
    "num_cpu",
    "memory_mib",
    "host",
    "cluster",
    "datacenter",
    "integration",
    "external_id",
    "uuid",
    "ip_addresses",
    "guest_os",
}


class Iroa:
    """Runs ``iroa`` in a subprocess with its own data dir and database."""

    def __init__(self, data_dir: Path, database_url: str) -> None:
        self.env = {
            **os.environ,
            "IROA_DATA_DIR": str(data_dir),
            "IROA_DATABASE_URL": database_url,
            "COLUMNS": "200",
        }

    def command(self, *args: str) -> list[str]:
        return [sys.executable, "-m", "iroa", *args]

    def __call__(
        self, *args: str, stdin: str | None = None, ok: bool = True
    ) -> subprocess.CompletedProcess[str]:
        proc = subprocess.run(
            self.command(*args),
            check=False,
            input=stdin,
            capture_output=True,
            text=True,
            env=self.env,
            timeout=300,
        )
        if ok:
            assert proc.returncode == 0, f"iroa {' '.join(args)}: {proc.stderr}"
        return proc

    def json(self, *args: str) -> Any:
        return json.loads(self(*args, "--json").stdout)


@pytest.fixture
def iroa(tmp_path: Path, db_url: str) -> Iroa:
    return Iroa(tmp_path / "data", db_url)


def add_vcenter(iroa: Iroa, server: VcsimServer, name: str = "vc", *extra: str) -> None:
    iroa(
        "integration",
        "add",
        "vcenter",
        name,
        "--url",
        server.url,
        "--username",
        server.username,
        "--password-stdin",
        *extra,
        stdin=server.password + "\n",
    )


def one_line_error(proc: subprocess.CompletedProcess[str]) -> str:
    assert proc.returncode != 0
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    return lines[0]


def test_add_sync_get_lists_exactly_the_simulators_vms(iroa: Iroa, vcsim: Any) -> None:
    server = vcsim(Topology(vms_per_host=2), tls=True)
    add_vcenter(iroa, server, "vc", "--ca-file", str(server.ca_file))
    listed = iroa.json("integration", "list")
    assert [(i["name"], i["kind"], i["has_secret"]) for i in listed] == [("vc", "vcenter", True)]
    assert server.password not in json.dumps(listed)

    tested = iroa("integration", "test", "vc")
    assert tested.stdout.startswith("ok: ")
    assert f"{server.topology.vm_count} vms" in tested.stdout

    (run,) = iroa.json("sync", "vc")
    assert run["status"] == "succeeded" and run["integration"] == "vc"
    assert run["totals"]["vms"] == server.topology.vm_count

    vms = iroa.json("get", "vms")
    assert sorted(v["name"] for v in vms) == ops.list_vm_names(ops.connect(server))
    assert all(set(v) >= CONTRACT_VM_KEYS for v in vms)
    assert {v["power_state"] for v in vms} <= {"on", "off", "suspended", "unknown"}
    for kind in ("hosts", "clusters", "datacenters", "datastores", "networks"):
        assert iroa.json("get", kind, "--integration", "vc"), kind

    history = iroa.json("history", "vc")
    assert [h["status"] for h in history] == ["succeeded"]
    human = iroa("get", "vms")
    assert "DC0_H0_VM0" in human.stdout

    iroa("integration", "remove", "vc")
    assert iroa.json("get", "vms") == []


def test_get_filters_by_vsphere_tag(iroa: Iroa, vcsim: Any) -> None:
    server = vcsim(Topology(vms_per_host=2), tls=True)
    add_vcenter(iroa, server, "vc", "--ca-file", str(server.ca_file))
    iroa.json("sync", "vc")
    (vm,) = [v for v in iroa.json("get", "vms") if v["name"] == "DC0_H0_VM1"]
    with Tagging(server) as tagging:
        tagging.attach(tagging.tag("Owner", "team-a"), "VirtualMachine", vm["external_id"])
    (run,) = iroa.json("sync", "vc")
    assert run["status"] == "succeeded" and not run["warnings"]

    tagged = iroa.json("get", "vms", "--tag", "Owner:team-a")
    assert [v["name"] for v in tagged] == ["DC0_H0_VM1"]
    assert iroa.json("get", "hosts", "--tag", "Owner:team-a") == []
    error = one_line_error(iroa("get", "vms", "--tag", "team-a", ok=False))
    assert "tag must be Category:Name" in error


def test_errors_are_one_line_and_change_nothing(iroa: Iroa, vcsim: Any) -> None:
    server = vcsim(Topology(vms_per_host=1), tls=True)
    assert "no integration named 'nope'" in one_line_error(iroa("sync", "nope", ok=False))
    assert "invalid URL" in one_line_error(
        iroa("integration", "add", "vcenter", "bad", "--url", "vcenter.example.com", ok=False)
    )
    add_vcenter(iroa, server, "vc")  # no CA file: the simulator's certificate is untrusted
    assert "already exists" in one_line_error(
        iroa("integration", "add", "vcenter", "vc", "--url", server.url, ok=False)
    )
    assert "certificate" in one_line_error(iroa("integration", "test", "vc", ok=False))
    failed = iroa("sync", "vc", ok=False)
    assert failed.returncode == 1 and "certificate" in failed.stderr
    assert [h["status"] for h in iroa.json("history")] == ["failed"]
    assert iroa.json("get", "vms") == []

    iroa(
        "integration",
        "add",
        "vcenter",
        "wrong",
        "--url",
        server.url,
        "--username",
        server.username,
        "--password-stdin",
        "--ca-file",
        str(server.ca_file),
        stdin="not-the-password\n",
    )
    message = one_line_error(iroa("integration", "test", "wrong", ok=False))
    assert "password" in message.lower() and "not-the-password" not in message


def test_two_concurrent_syncs_of_one_integration_give_one_run(iroa: Iroa, vcsim: Any) -> None:
    # Slow enough that the first sync is still collecting when the second starts.
    server = vcsim(Topology(retrieve_delay_ms=500))
    add_vcenter(iroa, server)
    first = subprocess.Popen(
        iroa.command("sync", "vc"),
        env=iroa.env,
        text=True,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if [h["status"] for h in iroa.json("history")] == ["running"]:
            break
        time.sleep(0.1)
    else:
        first.kill()
        pytest.fail("the first sync never started")
    second = iroa("sync", "vc", ok=False)
    assert "already running" in one_line_error(second)
    assert first.wait(timeout=300) == 0, first.stderr.read() if first.stderr else ""
    assert [h["status"] for h in iroa.json("history")] == ["succeeded"]


def test_db_upgrade_creates_the_schema(tmp_path: Path) -> None:
    data = tmp_path / "fresh"
    iroa = Iroa(data, f"sqlite:///{data / 'iroa.db'}")
    assert "database is at revision" in iroa("db", "upgrade").stdout
    assert iroa.json("get", "vms") == []
    assert (data / "iroa.db").exists()
