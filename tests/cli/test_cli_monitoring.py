"""``iroa integration add prometheus|zabbix``, ``test`` and ``sync`` as users run them."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.cli.test_cli import Iroa, add_vcenter, one_line_error
from tests.monitoring.estate import NAMED_VM, TOPOLOGY
from tests.monitoring.fixtures import ZabbixEstate
from tests.monitoring.test_prometheus import SERIES
from tests.peers import zabbix as zabbix_peer
from tests.peers.prometheus import PASSWORD, USERNAME, PrometheusPeer, free_port


@pytest.fixture
def iroa(tmp_path: Path, db_url: str) -> Iroa:
    return Iroa(tmp_path / "data", db_url)


def test_prometheus_and_zabbix_from_the_command_line(
    iroa: Iroa, vcsim: Any, prometheus: PrometheusPeer, zabbix_estate: ZabbixEstate
) -> None:
    prometheus.set_series(SERIES)
    server = vcsim(TOPOLOGY)
    add_vcenter(iroa, server)
    iroa("sync", "vc")
    iroa(
        "integration",
        "add",
        "prometheus",
        "prom",
        "--url",
        prometheus.url,
        "--username",
        USERNAME,
        "--password-stdin",
        "--label",
        "vm",
        "--join",
        "name",
        "--query",
        "cpu_pct=test_vm_cpu",
        "--query",
        "memory_pct=test_vm_mem",
        "--history-hours",
        "1",
        "--history-step",
        "300",
        stdin=PASSWORD + "\n",
    )
    iroa(
        "integration",
        "add",
        "zabbix",
        "zbx",
        "--url",
        zabbix_estate.peer.url,
        "--token-stdin",
        "--match",
        "host,ip",
        stdin=zabbix_estate.token + "\n",
    )
    listed = {i["name"]: i for i in iroa.json("integration", "list")}
    assert listed["prom"]["monitoring"]["queries"] == {
        "cpu_pct": "test_vm_cpu",
        "memory_pct": "test_vm_mem",
    }
    assert listed["zbx"]["token"] is True and listed["zbx"]["monitoring"]["match"] == ["host", "ip"]
    assert zabbix_estate.token not in str(listed) and PASSWORD not in str(listed)

    assert iroa("integration", "test", "prom").stdout.startswith("ok: ")
    assert "Zabbix (6.0" in iroa("integration", "test", "zbx").stdout

    (prom_run,) = iroa.json("sync", "prom")
    assert prom_run["status"] == "succeeded"
    assert prom_run["totals"]["vms_with_metrics"] == 1
    human = iroa("sync", "zbx").stdout
    assert "succeeded" in human and "1 vms monitored" in human  # by name; no guest IPs here
    history = iroa.json("history", "zbx")
    assert [h["status"] for h in history] == ["succeeded"]
    assert NAMED_VM in iroa("get", "vms").stdout


def test_wrong_url_or_password_is_one_line_and_keeps_inventory(
    iroa: Iroa, vcsim: Any, prometheus: PrometheusPeer, zabbix_estate: ZabbixEstate
) -> None:
    server = vcsim(TOPOLOGY)
    add_vcenter(iroa, server)
    iroa("sync", "vc")
    vms_before = iroa.json("get", "vms")
    closed = f"http://127.0.0.1:{free_port()}"
    iroa("integration", "add", "prometheus", "down", "--url", closed)
    iroa(
        "integration",
        "add",
        "zabbix",
        "zbx-bad",
        "--url",
        zabbix_estate.peer.url,
        "--username",
        zabbix_peer.USERNAME,
        "--password-stdin",
        stdin="not-the-password\n",
    )

    down = one_line_error(iroa("integration", "test", "down", ok=False))
    bad = one_line_error(iroa("integration", "test", "zbx-bad", ok=False))
    failed_sync = iroa("sync", "zbx-bad", ok=False)
    failed = failed_sync.stderr.strip().splitlines()[-1]  # after the progress phases

    assert f"cannot connect to {closed}" in down
    assert "rejected the login" in bad and "not-the-password" not in bad
    assert failed_sync.returncode == 1 and failed.startswith("error: sync of 'zbx-bad' failed: ")
    assert "rejected the login" in failed and "not-the-password" not in failed_sync.stderr
    assert iroa.json("get", "vms") == vms_before

    iroa(
        "integration",
        "add",
        "prometheus",
        "prom-bad",
        "--url",
        prometheus.url,
        "--username",
        USERNAME,
        "--password-stdin",
        stdin="not-the-password\n",
    )
    iroa("integration", "add", "zabbix", "zbx-down", "--url", closed, "--username", "x")
    for name, expected in (
        ("prom-bad", "rejected the credentials (HTTP 401)"),
        ("zbx-down", f"cannot connect to Zabbix at {closed}"),
    ):
        assert expected in one_line_error(iroa("integration", "test", name, ok=False)), name
    for name, expected in (
        ("down", f"cannot connect to {closed}"),
        ("prom-bad", "rejected the credentials (HTTP 401)"),
        ("zbx-down", f"cannot connect to Zabbix at {closed}"),
    ):
        run = iroa("sync", name, ok=False)
        last = run.stderr.strip().splitlines()[-1]
        assert run.returncode == 1 and last.startswith(f"error: sync of '{name}' failed: "), name
        assert expected in last and "not-the-password" not in run.stderr, (name, last)
    assert [h["status"] for h in iroa.json("history", "prom-bad")] == ["failed"]
    assert iroa.json("get", "vms") == vms_before
    assert "no monitoring settings" in one_line_error(
        iroa("integration", "add", "vcenter", "x", "--url", "https://vc", "--match", "ip", ok=False)
    )
    assert "unknown preset" in one_line_error(
        iroa("integration", "add", "prometheus", "p", "--url", closed, "--preset", "nope", ok=False)
    )
