"""vCenter's usage figures on the dashboard, on SQLite and PostgreSQL: sortable list columns,
and the detail pages' monitoring panel beside Prometheus's and Zabbix's figures."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from iroa.sync.engine import run_sync
from tests.api.inventory_fixtures import empty_database_url
from tests.findings.estate import StaticConnector
from tests.sync.test_usage import add_integration, estate
from tests.web.support import Web, log_in, start


@pytest.fixture(params=["sqlite", "postgresql"])
def web(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Web]:
    yield from start(empty_database_url(request, tmp_path), tmp_path, estate=False)


def names_in(html: str) -> list[str]:
    return re.findall(r'href="/vms/\d+">([^<]+)<', html)


def test_lists_show_and_sort_the_usage_figures(web: Web) -> None:
    vc = add_integration(web.db)
    cpu = {"vm-a": 300, "vm-b": None, "vm-c": 1500, "vm-d": 200}
    assert run_sync(web.db, vc, StaticConnector(estate(cpu))).succeeded
    log_in(web.client, "viewer")
    html = web.client.get("/vms", params={"sort": "-cpu_used_mhz"}).text
    assert names_in(html) == ["VM-C", "VM-A", "VM-D", "VM-B"]
    assert 'aria-sort="descending"' in html
    for field in ("guest_memory_used_mib", "host_memory_used_mib", "uptime_s"):
        assert f"sort={field}" in html, field  # each column header sorts
    assert "1.5 GHz" in html and "300 MHz" in html and "50 min" in html  # uptime of vm-a: 3,000 s
    hosts = web.client.get("/hosts", params={"sort": "uptime_s"}).text
    assert "2.0 GHz" in hosts and "Memory used" in hosts  # 2,000 MHz in use on esx1


def test_details_show_the_usage_figures_beside_monitoring(web: Web) -> None:
    vc = add_integration(web.db)
    assert run_sync(web.db, vc, StaticConnector(estate({"vm-a": 300, "vm-b": None}))).succeeded
    log_in(web.client, "viewer")
    listing = web.client.get("/vms").text
    ids = dict(zip(names_in(listing), re.findall(r'href="/vms/(\d+)">', listing), strict=True))
    html = web.client.get(f"/vms/{ids['VM-A']}").text
    panel = html[html.index('id="monitoring-title"') :]
    assert "Usage, as vCenter last reported it" in panel
    assert "300 MHz" in panel and "301.0 MiB" in panel and "302.0 MiB" in panel
    assert "of 4.0 GiB (7 %)" in panel  # guest memory of the configured 4,096 MiB
    assert re.search(r"<dt>Read</dt><dd>\d{4}-\d\d-\d\d \d\d:\d\d UTC", panel)
    assert "No Prometheus or Zabbix integration yet" in panel
    without = web.client.get(f"/vms/{ids['VM-B']}").text
    assert "Usage, as vCenter last reported it" not in without
    host_href = re.search(r'href="(/hosts/\d+)"', html).group(1)  # type: ignore[union-attr]
    host = web.client.get(host_href).text
    assert "300 MHz" in host and "of 16.0 GHz (2 %)" in host  # 8 cores at 2,000 MHz
    assert "of 64.0 GiB (0 %)" in host and "1 day" in host
