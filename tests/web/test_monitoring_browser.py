"""A VM's utilization, Zabbix status and findings in a real headless Chromium, without
JavaScript, against the real Prometheus and Zabbix peers; then the coverage page."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from iroa.config import Settings
from iroa.crypto import SecretBox, load_secret_key
from iroa.db.engine import Database
from tests.api.fixtures import PASSWORD
from tests.monitoring.estate import LONELY_VM, NAMED_VM, build_estate
from tests.monitoring.fixtures import PROBLEM_NAME, ZabbixEstate
from tests.monitoring.test_prometheus import SERIES, add_prometheus
from tests.monitoring.test_prometheus import sync as sync_prometheus
from tests.monitoring.test_zabbix import add_zabbix
from tests.monitoring.test_zabbix import sync as sync_zabbix
from tests.peers.prometheus import PrometheusPeer
from tests.web.test_browser import browser, served, shot  # noqa: F401 (fixtures)
from tests.web.test_monitoring_pages import HISTORY

pytestmark = pytest.mark.slow


def test_vm_page_shows_utilization_zabbix_status_and_findings(
    browser: Any,  # noqa: F811
    served: str,  # noqa: F811
    tmp_path: Path,
    vcsim: Any,
    prometheus: PrometheusPeer,
    zabbix_estate: ZabbixEstate,
) -> None:
    settings = Settings(data_dir=tmp_path / "data", secret_key="browser-test-key")
    box = SecretBox(load_secret_key(settings))
    db = Database(settings.resolved_database_url)
    prometheus.set_series(SERIES)
    estate = build_estate(db, box, vcsim)
    assert sync_prometheus(db, box, add_prometheus(db, box, prometheus, "prom", HISTORY)).succeeded
    assert sync_zabbix(db, box, add_zabbix(db, box, zabbix_estate.peer.url)).succeeded
    db.dispose()

    context = browser.new_context(
        base_url=served, java_script_enabled=False, viewport={"width": 1366, "height": 900}
    )
    page = context.new_page()
    page.goto(f"/login?next=/vms/{estate.vm_ids[NAMED_VM]}")
    page.fill("input[name=username]", "viewer-user")
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(f"{served}/vms/{estate.vm_ids[NAMED_VM]}")

    panel = page.locator("section.monitoring")
    cpu = panel.get_by_role("row", name="CPU")
    assert "12.5 %" in cpu.inner_text() and "prom" in cpu.inner_text()
    assert "40.0 %" in panel.get_by_role("row", name="Memory").inner_text()
    zabbix_link = panel.get_by_role("link", name="Named VM")
    assert zabbix_link.get_attribute("href").startswith(  # type: ignore[union-attr]
        f"{zabbix_estate.peer.url}/zabbix.php?action=problem.view"
    )
    problem = panel.get_by_role("row", name=PROBLEM_NAME)
    assert "high" in problem.inner_text()
    assert "Interface availability" in panel.inner_text()
    findings = page.locator("section.findings").inner_text()
    assert "VM with active Zabbix problems" in findings and PROBLEM_NAME in findings
    shot(page, "vm-monitoring")

    page.goto("/")
    page.get_by_role("link", name="1 not").click()
    page.wait_for_url(f"{served}/monitoring#not-in-zabbix")
    assert page.locator("#not-in-zabbix").get_by_role("link", name=LONELY_VM).is_visible()
    assert page.locator("#unmatched").get_by_role("link", name="orphan-box").is_visible()
    shot(page, "monitoring")
    context.close()
