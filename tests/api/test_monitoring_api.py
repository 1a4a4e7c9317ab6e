"""Monitoring over the API, against real Prometheus, Zabbix and vCenter simulator peers."""

from __future__ import annotations

import time
from typing import Any

from tests.api.fixtures import Api
from tests.api.test_sync_api import read_events
from tests.monitoring.estate import (
    IP_VM,
    IP_VM_ADDRESS,
    LONELY_VM,
    MEASURED_HOST,
    NAMED_VM,
    TOPOLOGY,
)
from tests.monitoring.fixtures import ORPHAN, PROBLEM_NAME, ZabbixEstate
from tests.monitoring.test_prometheus import BY_NAME, SERIES
from tests.peers import vsphere_ops as ops
from tests.peers import zabbix as zabbix_peer
from tests.peers.prometheus import PASSWORD, USERNAME, PrometheusPeer


def post(api: Api, path: str, body: dict[str, Any] | None = None, role: str = "admin") -> Any:
    response = api.client.post(path, json=body, headers=api.headers(role))
    assert response.status_code in (200, 201, 202), response.text
    return response.json()


def get(api: Api, path: str, **params: Any) -> Any:
    response = api.client.get(path, params=params, headers=api.headers("viewer"))
    assert response.status_code == 200, response.text
    return response.json()


def sync(api: Api, integration_id: int) -> dict[str, Any]:
    run = post(api, f"/api/v1/integrations/{integration_id}/sync", role="operator")
    events = read_events(api, run["id"])
    assert events[-1][0] == "result"
    result: dict[str, Any] = events[-1][1]
    return result


def test_monitoring_over_the_api(
    api: Api, vcsim: Any, prometheus: PrometheusPeer, zabbix_estate: ZabbixEstate
) -> None:
    prometheus.set_series(SERIES)
    server = vcsim(TOPOLOGY)
    ops.set_guest_info(ops.connect(server), IP_VM, ip=IP_VM_ADDRESS)
    vcenter = post(
        api,
        "/api/v1/integrations",
        {
            "kind": "vcenter",
            "name": "vc",
            "url": server.url,
            "username": server.username,
            "password": server.password,
        },
    )
    assert sync(api, vcenter["id"])["status"] == "succeeded"
    prom = post(
        api,
        "/api/v1/integrations",
        {
            "kind": "prometheus",
            "name": "prom",
            "url": prometheus.url,
            "username": USERNAME,
            "password": PASSWORD,
            "monitoring": BY_NAME,
        },
    )
    zbx = post(
        api,
        "/api/v1/integrations",
        {
            "kind": "zabbix",
            "name": "zbx",
            "url": zabbix_estate.peer.url,
            "username": zabbix_peer.USERNAME,
            "password": zabbix_peer.PASSWORD,
            "monitoring": {"match": ["host", "ip"]},
        },
    )
    assert PASSWORD not in str(prom) and "password" not in prom and "password" not in zbx
    assert prom["monitoring"]["queries"] == BY_NAME["queries"]
    assert prom["monitoring"]["join"] == "name" and prom["has_secret"] is True
    assert zbx["monitoring"] == {"match": ["host", "ip"]}
    assert post(api, f"/api/v1/integrations/{prom['id']}/test", role="operator")["ok"] is True

    prom_run = sync(api, prom["id"])
    zbx_run = sync(api, zbx["id"])

    assert prom_run["status"] == "succeeded", prom_run
    assert prom_run["totals"]["vms_with_metrics"] == 1
    assert zbx_run["status"] == "succeeded", zbx_run
    assert zbx_run["totals"]["vms_monitored"] == 2  # by name and by IP; not by DNS here
    vms = {vm["name"]: vm["id"] for vm in get(api, "/api/v1/vms")["items"]}
    named = get(api, f"/api/v1/vms/{vms[NAMED_VM]}")["monitoring"]
    assert named["has_metrics"] is True
    cpu = next(m for m in named["metrics"] if m["metric"] == "cpu_pct")
    assert cpu["integration"] == "prom" and cpu["value"] == 12.5 and cpu["history"]
    [zhost] = named["zabbix"]
    assert zhost["integration"] == "zbx" and zhost["url"].startswith(zabbix_estate.peer.url)
    assert [(p["name"], p["severity_name"]) for p in zhost["problems"]] == [(PROBLEM_NAME, "high")]
    lonely = get(api, f"/api/v1/vms/{vms[LONELY_VM]}")["monitoring"]
    assert (lonely["has_metrics"], lonely["zabbix_monitored"]) == (False, False)
    hosts = {h["name"]: h["id"] for h in get(api, "/api/v1/hosts")["items"]}
    measured = get(api, f"/api/v1/hosts/{hosts[MEASURED_HOST]}")["monitoring"]
    # Its Zabbix host matches by visible name, which this integration's order leaves out.
    assert measured["has_metrics"] is True and measured["zabbix_monitored"] is False
    other = next(i for name, i in hosts.items() if name != MEASURED_HOST)
    assert get(api, f"/api/v1/hosts/{other}")["monitoring"]["zabbix"] == []

    coverage = get(api, "/api/v1/monitoring/coverage")
    assert coverage["vms"]["zabbix_pct"] == 50.0 and coverage["vms"]["metrics_pct"] == 25.0
    assert coverage["unmatched_zabbix_hosts"] == 4
    unmatched = get(api, "/api/v1/monitoring/zabbix/unmatched-hosts")["items"]
    assert ORPHAN in {h["host"] for h in unmatched}
    no_metrics = get(api, "/api/v1/monitoring/no-metrics", type="vm")["items"]
    assert LONELY_VM in {r["name"] for r in no_metrics} and NAMED_VM not in {
        r["name"] for r in no_metrics
    }
    not_in_zabbix = get(api, "/api/v1/monitoring/not-in-zabbix", type="vm")["items"]
    assert {r["name"] for r in not_in_zabbix} == set(vms) - {NAMED_VM, IP_VM}

    # An inventory sync refreshes every monitoring integration afterwards (trigger "api").
    runs_before = len(get(api, "/api/v1/syncs", limit=100)["items"])
    assert sync(api, vcenter["id"])["status"] == "succeeded"
    deadline = time.time() + 60
    while time.time() < deadline:
        runs = get(api, "/api/v1/syncs", limit=100)["items"]
        finished = [r for r in runs[: len(runs) - runs_before] if r["status"] != "running"]
        if len(finished) == 3:
            break
        time.sleep(0.5)
    names = sorted(r["integration"] for r in finished)
    assert names == ["prom", "vc", "zbx"], finished
    assert all(r["status"] == "succeeded" for r in finished)


def test_wrong_password_is_one_clear_line_over_the_api(
    api: Api, prometheus: PrometheusPeer
) -> None:
    prom = post(
        api,
        "/api/v1/integrations",
        {
            "kind": "prometheus",
            "name": "prom",
            "url": prometheus.url,
            "username": USERNAME,
            "password": "wrong",
        },
    )
    assert prom["monitoring"]["preset"] == "node_exporter"

    checked = post(api, f"/api/v1/integrations/{prom['id']}/test", role="operator")
    run = sync(api, prom["id"])

    assert checked == {
        "ok": False,
        "error": f"{prometheus.url} rejected the credentials (HTTP 401)",
        "name": None,
        "product": None,
        "version": None,
        "build": None,
        "object_counts": {},
    }
    assert run["status"] == "failed"
    assert run["error"] == f"{prometheus.url} rejected the credentials (HTTP 401)"
