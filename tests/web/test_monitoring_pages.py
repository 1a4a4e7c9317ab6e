"""Monitoring on the dashboard against real Prometheus and Zabbix peers (both backends)."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import event

from iroa.crypto import SecretBox
from tests.monitoring.estate import (
    HOSTNAME_VM,
    LONELY_VM,
    MEASURED_HOST,
    NAMED_VM,
    Estate,
    build_estate,
)
from tests.monitoring.fixtures import ORPHAN, PROBLEM_NAME, ZabbixEstate
from tests.monitoring.test_prometheus import SERIES, add_prometheus
from tests.monitoring.test_prometheus import sync as sync_prometheus
from tests.monitoring.test_zabbix import add_zabbix
from tests.monitoring.test_zabbix import sync as sync_zabbix
from tests.peers.prometheus import PASSWORD as prom_password
from tests.peers.prometheus import USERNAME as prom_user
from tests.peers.prometheus import PrometheusPeer
from tests.web.support import Web, log_in, start

HISTORY = {
    "label": "vm",
    "join": "name",
    "queries": {"cpu_pct": "test_vm_cpu", "memory_pct": "test_vm_mem"},
    "history_hours": 1,
    "history_step_s": 60,
}


@dataclass
class Monitored:
    web: Web
    estate: Estate
    zabbix: ZabbixEstate


@pytest.fixture
def bare(db_url: str, tmp_path: Path) -> Iterator[Web]:
    yield from start(db_url, tmp_path, estate=False)


@pytest.fixture
def monitored(
    bare: Web, vcsim: Any, prometheus: PrometheusPeer, zabbix_estate: ZabbixEstate
) -> Monitored:
    prometheus.set_series(SERIES)
    box: SecretBox = bare.client.app.state.runtime.box  # type: ignore[attr-defined]
    estate = build_estate(bare.db, box, vcsim)
    prom = add_prometheus(bare.db, box, prometheus, "prom", HISTORY)
    zbx = add_zabbix(bare.db, box, zabbix_estate.peer.url)
    assert sync_prometheus(bare.db, box, prom).succeeded
    assert sync_zabbix(bare.db, box, zbx).succeeded
    return Monitored(bare, estate, zabbix_estate)


def statements(web: Web, path: str) -> tuple[str, int]:
    seen: list[str] = []

    def count(conn: object, cursor: object, statement: str, *args: object) -> None:
        reads = statement.lstrip().upper().startswith(("SELECT", "WITH"))
        if reads and "api_tokens" not in statement:
            seen.append(statement)

    event.listen(web.db.engine, "before_cursor_execute", count)
    try:
        response = web.client.get(path)
    finally:
        event.remove(web.db.engine, "before_cursor_execute", count)
    assert response.status_code == 200, response.text
    return response.text, len(seen)


def test_vm_page_shows_utilization_zabbix_status_and_findings(monitored: Monitored) -> None:
    m = monitored
    log_in(m.web.client, "viewer")
    html, queries = statements(m.web, f"/vms/{m.estate.vm_ids[NAMED_VM]}")
    panel = html.split('aria-labelledby="monitoring-title"', 1)[1].split("</section>", 1)[0]

    assert re.search(r"<th scope=\"row\">CPU</th><td class=\"num\">12\.5 %</td>", panel)
    assert '<td class="num">40.0 %</td>' in panel
    assert '<svg class="spark"' in panel or "no history" in panel
    zabbix_id = m.zabbix.host_ids[NAMED_VM]
    assert f"id {zabbix_id}, matched by host" in panel
    assert f'href="{m.zabbix.peer.url}/zabbix.php?action=problem.view' in panel
    assert "Interface availability" in panel
    assert PROBLEM_NAME in panel and '<span class="zseverity zseverity-4">high</span>' in panel
    assert "VM with active Zabbix problems" in html  # its findings panel
    # the page's 10 without monitoring (its vCenter events among them; 11 for a VM that is
    # off: who powered it off), and 3 for the panel (metrics, Zabbix hosts with their
    # problems, whether a monitoring integration exists): none grows with the data shown
    assert queries == 13


def test_pages_without_data_say_what_is_missing(monitored: Monitored) -> None:
    m = monitored
    log_in(m.web.client, "viewer")
    lonely = m.web.client.get(f"/vms/{m.estate.vm_ids[LONELY_VM]}").text
    assert "No Prometheus series for this VM" in lonely
    assert "Not monitored in Zabbix" in lonely
    assert "VM not monitored in Zabbix" in lonely and "VM with no Prometheus metrics" in lonely
    host = m.web.client.get(f"/hosts/{m.estate.host_ids[MEASURED_HOST]}").text
    assert "esx-by-visible-name" in host and '<td class="num">55.0 %</td>' in host


def test_overview_and_monitoring_page_show_coverage_and_gaps(monitored: Monitored) -> None:
    m = monitored
    log_in(m.web.client, "viewer")
    overview = m.web.client.get("/").text
    coverage = overview.split('id="coverage-title"', 1)[1].split("</section>", 1)[0]
    assert "VMs monitored in Zabbix</dt><dd>75 %" in coverage, coverage
    assert "VMs with Prometheus metrics</dt><dd>25 %" in coverage
    assert '<a href="/monitoring#not-in-zabbix">1 not</a>' in coverage
    assert '<a href="/monitoring#no-metrics">3 without</a>' in coverage

    page = m.web.client.get("/monitoring").text
    not_in_zabbix = page.split('id="not-in-zabbix"', 1)[1].split("</section>", 1)[0]
    assert f">{LONELY_VM}</a>" in not_in_zabbix and f">{NAMED_VM}</a>" not in not_in_zabbix
    no_metrics = page.split('id="no-metrics"', 1)[1].split("</section>", 1)[0]
    assert f">{HOSTNAME_VM}</a>" in no_metrics and f">{NAMED_VM}</a>" not in no_metrics
    unmatched = page.split('id="unmatched"', 1)[1].split("</section>", 1)[0]
    assert f">{ORPHAN}</a>" in unmatched


def test_without_monitoring_integrations_the_pages_say_how_to_add_one(bare: Web) -> None:
    log_in(bare.client, "admin")
    html = bare.client.get("/monitoring").text
    assert "No Prometheus or Zabbix integration yet" in html
    assert "iroa integration add prometheus|zabbix" in html
    assert 'id="not-in-zabbix"' not in html and 'id="unmatched"' not in html


def test_the_add_form_takes_prometheus_and_zabbix_settings(
    bare: Web, prometheus: PrometheusPeer, zabbix_estate: ZabbixEstate
) -> None:
    csrf = log_in(bare.client, "admin")
    form = bare.client.get("/integrations").text
    assert '<option value="prometheus">Prometheus</option>' in form
    assert '<option value="zabbix">Zabbix</option>' in form
    assert 'name="token"' in form and 'name="preset"' in form and 'name="match"' in form

    def add(**fields: str) -> Any:
        return bare.client.post("/integrations", data={"csrf_token": csrf, **fields})

    wrong = add(
        kind="prometheus",
        name="prom",
        url=prometheus.url,
        username=prom_user,
        password="not-the-password",
    )
    assert wrong.status_code == 422 and "rejected the credentials" in wrong.text
    assert (
        add(
            kind="prometheus",
            name="prom",
            url=prometheus.url,
            username=prom_user,
            password=prom_password,
            preset="windows_exporter",
        ).status_code
        == 201
    )
    assert (
        add(
            kind="zabbix",
            name="zbx",
            url=zabbix_estate.peer.url,
            password=zabbix_estate.token,
            token="on",
            match="host, ip",
        ).status_code
        == 201
    )
    stored = {i["name"]: i for i in bare.client.get("/api/v1/integrations").json()["items"]}
    assert stored["prom"]["monitoring"]["preset"] == "windows_exporter"
    assert stored["zbx"]["token"] is True
    assert stored["zbx"]["monitoring"]["match"] == ["host", "ip"]
    listing = bare.client.get("/integrations").text
    assert 'aria-label="Sync zbx now"' in listing

    started = bare.client.post(
        f"/integrations/{stored['zbx']['id']}/sync", data={"csrf_token": csrf}
    )
    assert started.status_code == 303 and started.headers["location"].startswith("/syncs/")
    run_id = started.headers["location"].rsplit("/", 1)[1]
    deadline = time.monotonic() + 60
    while (run := bare.client.get(f"/api/v1/syncs/{run_id}").json())["status"] == "running":
        assert time.monotonic() < deadline, run
        time.sleep(0.2)
    assert run["status"] == "succeeded", run
    assert run["totals"]["zabbix_hosts"] == 6
    edit = bare.client.get(f"/integrations/{stored['zbx']['id']}/edit").text
    assert "Match order <code>host,ip</code>" in edit and 'id="token" name="token"' in edit


def test_sparkline_scales_history_between_its_low_and_high() -> None:
    from iroa.web.charts import sparkline

    spark = sparkline([["t0", 10], ["t1", 30], ["t2", None], ["t3", 20]])
    assert spark is not None
    assert (spark.low, spark.high, spark.count) == (10.0, 30.0, 3)
    assert spark.points == "2.0,30.0 80.0,2.0 158.0,16.0"
    assert sparkline([["t0", 5]]) is None and sparkline(None) is None
    flat = sparkline([["t0", 7], ["t1", 7]])
    assert flat is not None and flat.points == "2.0,30.0 158.0,30.0"
