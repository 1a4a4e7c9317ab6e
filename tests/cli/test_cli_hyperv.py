"""``iroa`` with Hyper-V integrations against the loopback WinRM endpoint and a database.

The side-by-side test runs ``iroa`` as a real process, as tests/cli/test_cli.py
does; the others call the same entry point (``iroa.cli.main:main``) in this
process, because each interpreter start costs more than the whole command.
"""

from __future__ import annotations

import io
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from rich.console import Console

from iroa.cli import output
from iroa.cli.main import main
from tests.cli.test_cli import CONTRACT_VM_KEYS, Iroa, add_vcenter, one_line_error
from tests.peers import vsphere_ops as ops
from tests.peers.prometheus import free_port
from tests.peers.vcsim import Topology
from tests.peers.winrm.server import WinrmServer, powershell_error


class InProcessIroa:
    """``iroa`` run through its entry point in this process: same arguments, streams, exit code."""

    def __init__(
        self,
        data_dir: Path,
        database_url: str,
        monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str],
    ) -> None:
        monkeypatch.setenv("IROA_DATA_DIR", str(data_dir))
        monkeypatch.setenv("IROA_DATABASE_URL", database_url)
        monkeypatch.setenv("COLUMNS", "200")
        self.monkeypatch = monkeypatch
        self.capsys = capsys

    def __call__(
        self, *args: str, stdin: str | None = None, ok: bool = True
    ) -> subprocess.CompletedProcess[str]:
        self.monkeypatch.setattr(sys, "argv", ["iroa", *args])
        self.monkeypatch.setattr(sys, "stdin", io.StringIO(stdin or ""))
        # Rich fixes a console's width when it is made (pytest-xdist's workers start with
        # COLUMNS set): a console per run sees this run's COLUMNS.
        self.monkeypatch.setattr(output, "console", Console())
        self.capsys.readouterr()
        code: int = 0
        try:
            main()
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else 0 if exc.code is None else 1
        out, err = self.capsys.readouterr()
        if ok:
            assert code == 0, f"iroa {' '.join(args)}: {err}"
        return subprocess.CompletedProcess(list(args), code, out, err)

    def json(self, *args: str) -> Any:
        return json.loads(self(*args, "--json").stdout)


@pytest.fixture
def iroa(
    tmp_path: Path, db_url: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> InProcessIroa:
    return InProcessIroa(tmp_path / "data", db_url, monkeypatch, capsys)


@pytest.fixture
def iroa_process(tmp_path: Path, db_url: str) -> Iroa:
    return Iroa(tmp_path / "data", db_url)


def add_hyperv(
    iroa: Iroa | InProcessIroa,
    server: WinrmServer,
    name: str = "hv",
    *extra: str,
    password: str | None = None,
) -> None:
    iroa(
        "integration",
        "add",
        "hyperv",
        name,
        # No path: the connector adds /wsman, as it adds :5986 to a bare https://host.
        "--url",
        server.url.removesuffix("/wsman"),
        "--username",
        server.username,
        "--transport",
        "basic",
        "--password-stdin",
        *extra,
        stdin=(password or server.password) + "\n",
    )


def test_add_test_sync_get_a_hyperv_cluster(iroa: InProcessIroa, winrm: Any) -> None:
    server = winrm("cluster", tls=True)
    add_hyperv(iroa, server, "hv", "--ca-file", str(server.ca_file))

    tested = iroa("integration", "test", "hv")
    assert tested.stdout.startswith("ok: HVCL01 — Microsoft Hyper-V failover cluster")
    assert "6 vms" in tested.stdout and "2 hosts" in tested.stdout

    (run,) = iroa.json("sync", "hv")
    assert (run["status"], run["integration"]) == ("succeeded", "hv")
    assert run["totals"]["vms"] == 6 and run["totals"]["hosts"] == 2

    vms = iroa.json("get", "vms")
    assert all(set(vm) >= CONTRACT_VM_KEYS for vm in vms)
    assert {vm["platform"] for vm in vms} == {"hyperv"}
    assert {vm["name"]: (vm["power_state"], vm["host"], vm["cluster"]) for vm in vms} == {
        "cl-app01": ("off", "HV-N2.corp.example.com", "HVCL01"),
        "cl-file01": ("suspended", "HV-N2.corp.example.com", "HVCL01"),
        "cl-sql01": ("on", "HV-N1.corp.example.com", "HVCL01"),
        "cl-web01": ("on", "HV-N1.corp.example.com", "HVCL01"),
        "cl-web02": ("on", "HV-N2.corp.example.com", "HVCL01"),
        "n1-scratch": ("on", "HV-N1.corp.example.com", "HVCL01"),
    }
    guests = {vm["name"]: vm for vm in vms}
    sql = guests["cl-sql01"]
    assert (sql["guest_os"], sql["guest_os_version"], sql["guest_hostname"]) == (
        "Windows Server 2022 Standard",
        "10.0.20348",
        "cl-sql01.corp.example.com",
    )
    assert sql["ip_addresses"] == ["10.30.1.21", "10.30.1.22"]
    assert (guests["cl-app01"]["guest_os"], guests["cl-app01"]["ip_addresses"]) == (None, [])
    hosts = iroa.json("get", "hosts", "--integration", "hv")
    assert {h["name"]: (h["cluster"], h["platform"]) for h in hosts} == {
        "HV-N1.corp.example.com": ("HVCL01", "hyperv"),
        "HV-N2.corp.example.com": ("HVCL01", "hyperv"),
    }
    datastores = {d["name"]: d["type"] for d in iroa.json("get", "datastores")}
    assert datastores == {
        "Cluster Disk 1": "CSV",
        "Cluster Disk 2": "CSV",
        "HV-N1 C:": "NTFS",
        "HV-N1 D: (LocalVMs)": "NTFS",
        "HV-N2 C:": "NTFS",
    }


def test_hyperv_errors_are_one_line_and_change_nothing(iroa: InProcessIroa, winrm: Any) -> None:
    server = winrm("standalone", tls=True)
    add_hyperv(
        iroa, server, "wrong", "--ca-file", str(server.ca_file), password="Not-the-password-7"
    )
    message = one_line_error(iroa("integration", "test", "wrong", ok=False))
    assert "rejected the login" in message and "Not-the-password-7" not in message

    add_hyperv(iroa, server, "hv", "--ca-file", str(server.ca_file))
    server.reply = powershell_error("Get-VM : Hyper-V was not found on computer 'HV-STD01'.")
    failed = iroa("sync", "hv", ok=False)
    assert failed.returncode == 1
    last = failed.stderr.strip().splitlines()[-1]  # earlier lines are the progress display
    assert last.startswith("error: sync of 'hv' failed: PowerShell on 127.0.0.1")
    assert last.endswith("Get-VM : Hyper-V was not found on computer 'HV-STD01'.")
    assert [h["status"] for h in iroa.json("history", "hv")] == ["failed"]
    assert iroa.json("get", "vms") == []


# Each `iroa` process costs ~1.5 s of start-up: this one runs on PostgreSQL only (the in-process
# tests above and tests/sync/test_hyperv_sync.py run on both backends).
@pytest.mark.parametrize("db_url", ["postgresql"], indirect=True)
def test_vcenter_and_hyperv_side_by_side(iroa_process: Iroa, vcsim: Any, winrm: Any) -> None:
    iroa = iroa_process
    vcenter = vcsim(Topology(clusters=1, hosts_per_cluster=2, standalone_hosts=1, vms_per_host=2))
    hyperv = winrm("cluster", tls=True)
    add_vcenter(iroa, vcenter, "vc")
    add_hyperv(iroa, hyperv, "hv", "--ca-file", str(hyperv.ca_file))
    assert iroa.json("sync", "vc")[0]["status"] == "succeeded"
    assert iroa.json("sync", "hv")[0]["status"] == "succeeded"

    vms = iroa.json("get", "vms")
    assert {vm["platform"] for vm in vms} == {"vcenter", "hyperv"}
    by_platform: dict[str, dict[str, dict[str, Any]]] = {}
    for vm in vms:
        by_platform.setdefault(vm["platform"], {})[vm["name"]] = vm
    assert sorted(by_platform["vcenter"]) == ops.list_vm_names(ops.connect(vcenter))
    assert all(vm["integration"] == "vc" for vm in by_platform["vcenter"].values())
    assert by_platform["vcenter"]["DC0_C0_RP0_VM0"]["cluster"] == "DC0_C0"
    assert by_platform["vcenter"]["DC0_H0_VM0"]["host"] == "DC0_H0"
    assert by_platform["vcenter"]["DC0_H0_VM0"]["datacenter"] == "DC0"
    web = by_platform["hyperv"]["cl-web01"]
    assert (web["integration"], web["host"], web["cluster"], web["datacenter"]) == (
        "hv",
        "HV-N1.corp.example.com",
        "HVCL01",
        None,
    )
    assert by_platform["hyperv"]["n1-scratch"]["cluster"] == "HVCL01"

    names = {vm["name"]: vm["datastores"] for vm in vms}
    assert names["cl-web01"] == ["Cluster Disk 1"]  # a VM on a CSV: that CSV is its datastore
    assert names["cl-sql01"] == ["Cluster Disk 2"]
    assert names["n1-scratch"] == ["HV-N1 D: (LocalVMs)"]
    assert all(names[name] == ["LocalDS_0"] for name in by_platform["vcenter"])
    datastores = {(d["integration"], d["name"]): d["type"] for d in iroa.json("get", "datastores")}
    assert datastores[("hv", "Cluster Disk 1")] == "CSV"
    assert ("vc", "LocalDS_0") in datastores


def test_a_cli_sync_refreshes_monitoring_as_every_other_sync_does(
    iroa: InProcessIroa, winrm: Any
) -> None:
    """`iroa sync` takes the one path every sync takes: after an inventory run that succeeded,
    each enabled monitoring integration is synced against the new inventory."""
    server = winrm("standalone", tls=True)
    add_hyperv(iroa, server, "hv", "--ca-file", str(server.ca_file))
    iroa("integration", "add", "prometheus", "prom", "--url", f"http://127.0.0.1:{free_port()}")
    (run,) = iroa.json("sync", "hv")
    assert run["status"] == "succeeded"
    (monitoring_run,) = iroa.json("history", "prom")
    assert monitoring_run["status"] == "failed"  # nothing listens there: a run, recorded
    assert "cannot connect" in monitoring_run["error"]
