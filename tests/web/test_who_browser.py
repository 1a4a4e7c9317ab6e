"""Who did it, in a real headless Chromium without JavaScript: a VM powered off by alice says
so in its header and timeline, and VM and host pages list their vCenter events."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from iroa.crypto import SecretBox
from iroa.db.engine import Database
from iroa.integrations.service import IntegrationInput, add_integration
from iroa.inventory.history import clear_snapshots
from tests.api.fixtures import PASSWORD
from tests.inventory.events_estate import seed_events
from tests.inventory.history_estate import run_sequence
from tests.web.test_browser import browser, served, shot  # noqa: F401 (fixtures)

pytestmark = pytest.mark.slow


def test_vm_and_host_pages_say_who_did_it(
    browser: Any,  # noqa: F811
    served: str,  # noqa: F811
    tmp_path: Path,
) -> None:
    clear_snapshots()
    db = Database(f"sqlite:///{tmp_path / 'data' / 'iroa.db'}")
    box = SecretBox("browser-test-key")
    integration_id = add_integration(db, box, IntegrationInput("vcenter", "vc1", "https://vc1")).id
    seed_events(db, integration_id, run_sequence(db, integration_id))
    db.dispose()
    context = browser.new_context(
        base_url=served, java_script_enabled=False, viewport={"width": 1366, "height": 900}
    )
    page = context.new_page()
    page.goto("/login?next=/vms")
    page.fill("input[name=username]", "viewer-user")
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(f"{served}/vms")

    page.get_by_role("link", name="vm0-final", exact=True).click()
    page.wait_for_url(re.compile(r".*/vms/\d+$"))
    header = page.locator("p.powered-by")
    assert header.is_visible()
    assert re.match(r"Powered off by alice at \d{4}-\d\d-\d\d \d\d:\d\d UTC", header.inner_text())
    timeline = page.locator("ol.timeline").inner_text()
    assert "powered off by alice" in timeline and "(VmPoweredOffEvent)" in timeline
    assert timeline.count(" by ") == 1
    events = page.locator("section.events")
    assert events.get_by_role("heading", name="Events").is_visible()
    row = events.get_by_role("row", name=re.compile("VmPoweredOffEvent"))
    assert "alice" in row.inner_text() and "is powered off" in row.inner_text()
    assert events.locator("tbody tr").count() == 1
    shot(page, "vm-who")

    page.goto("/hosts")
    page.get_by_role("link", name="esx1b", exact=True).click()
    page.wait_for_url(re.compile(r".*/hosts/\d+$"))
    host_events = page.locator("section.events")
    assert "EnteredMaintenanceModeEvent" in host_events.inner_text()
    assert "bob" in host_events.inner_text()
    shot(page, "host-events")

    page.goto("/")
    recent = page.locator("section", has_text="Recent changes").inner_text()
    assert "powered off by alice" in recent
    context.close()
    clear_snapshots()
