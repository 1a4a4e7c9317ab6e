"""The dashboard in a real headless Chromium against a real ``iroa serve`` and a vCenter simulator.

Debian's chromium, driven by Python Playwright (never a downloaded browser);
screenshots of each page go to ``artifacts/screenshots/``. The flow: log in, add
the simulator through the form (a wrong password first), test it, sync now and
follow the live progress bar to the end, find a VM, change it in the simulator,
sync again and read the change in its timeline; on the integration's page read
the run history, edit the interval (a refused value first), disable and enable
it; download a list's view as CSV; remove most VMs so that the next run is held,
check that a viewer sees no admin controls, and force the run after confirming.
"""

from __future__ import annotations

import csv
import io
import re
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import uvicorn

from iroa.config import Settings
from iroa.db.engine import Database
from iroa.db.migrate import upgrade
from iroa.server import create_app
from tests.api.fixtures import PASSWORD
from tests.peers import vsphere_ops as ops
from tests.peers.plugin import StartVcsim, missing_peer
from tests.peers.vcsim import Topology
from tests.web.support import add_users

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
SCREENSHOTS = Path(__file__).resolve().parents[2] / "artifacts" / "screenshots"
TIMEOUT_MS = 20_000

pytestmark = pytest.mark.slow


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@pytest.fixture
def served(tmp_path: Path) -> Iterator[str]:
    """``iroa serve``'s application under uvicorn on a free loopback port; its base URL."""
    settings = Settings(
        data_dir=tmp_path / "data",
        secret_key="browser-test-key",
        mass_removal_min_objects=2,  # so that removing 4 of the simulator's 6 VMs is held
    )
    settings.data_dir.mkdir()
    db = Database(settings.resolved_database_url)
    upgrade(db.engine)
    add_users(db)
    db.dispose()
    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(create_app(settings), host="127.0.0.1", port=port, log_level="warning")
    )
    thread = threading.Thread(target=server.run, name="iroa-serve", daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("iroa serve did not start")
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(10)


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        missing_peer("playwright is not installed: pip install -e '.[dev]'")
    if not CHROMIUM.exists():
        missing_peer(f"{CHROMIUM} is missing: run tests/peers/install.sh as root")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True
        )
        try:
            yield browser
        finally:
            browser.close()


def shot(page: Any, name: str) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)


def refused_by_policy(page: Any) -> list[str]:
    """What Chromium reports on ``page``'s console as refused by the Content-Security-Policy
    (an inline script or style, a source from elsewhere), from now on."""
    refused: list[str] = []

    def note(message: Any) -> None:
        if "Content Security Policy" in message.text:
            refused.append(message.text)

    page.on("console", note)
    return refused


def log_in(browser: Any, base: str, role: str) -> Any:
    context = browser.new_context(base_url=base, viewport={"width": 1366, "height": 900})
    context.set_default_timeout(TIMEOUT_MS)
    page = context.new_page()
    page.goto("/vms")
    assert page.url.startswith(f"{base}/login?next=")
    page.fill("input[name=username]", f"{role}-user")
    page.fill("input[name=password]", PASSWORD)
    if role == "admin":
        shot(page, "login")
    page.click("button[type=submit]")
    page.wait_for_url(f"{base}/vms")
    return page


def test_admin_adds_syncs_finds_and_opens_a_vm_and_a_viewer_sees_no_controls(
    browser: Any, served: str, vcsim: StartVcsim
) -> None:
    sim = vcsim(Topology(clusters=1, hosts_per_cluster=2, standalone_hosts=1, vms_per_host=2))
    page = log_in(browser, served, "admin")
    refused = refused_by_policy(page)
    nav = page.get_by_role("navigation", name="Main")
    for label in ("Overview", "Virtual machines", "Hosts", "Clusters", "Datastores", "Networks"):
        assert nav.get_by_role("link", name=label, exact=True).is_visible()
    assert "No virtual machines yet" in page.content()

    nav.get_by_role("link", name="Integrations").click()
    page.select_option("select[name=kind]", "vcenter")
    page.fill("input[name=name]", "lab-vc")
    page.fill("input[name=url]", sim.url)
    page.fill("#int-username", sim.username)
    page.fill("#int-password", "not-the-password")
    page.get_by_role("button", name="Add integration").click()
    error = page.get_by_role("alert")
    error.wait_for()
    assert "connection test failed" in error.inner_text()
    assert page.input_value("input[name=name]") == "lab-vc"
    assert page.input_value("#int-password") == ""
    shot(page, "integrations-error")

    page.fill("#int-password", sim.password)
    page.get_by_role("button", name="Add integration").click()
    page.get_by_text("Added lab-vc").wait_for()
    assert sim.password not in page.content()
    page.get_by_role("button", name="Test the connection to lab-vc").click()
    page.get_by_text("lab-vc: connected to").wait_for()

    page.get_by_role("button", name="Sync lab-vc now").click()
    page.wait_for_url(re.compile(r".*/syncs/\d+$"))
    result = page.locator("#sync-result")
    result.get_by_text("removed").wait_for()
    assert "succeeded" in result.inner_text()
    assert page.eval_on_selector("#sync-bar", "bar => bar.value === bar.max")
    assert page.locator("#sync-steps li").count() >= 1 or "Finished" in page.content()
    shot(page, "sync")

    page.goto("/")
    assert "lab-vc" in page.content() and "succeeded" in page.content()
    shot(page, "overview")

    nav.get_by_role("link", name="Virtual machines").click()
    total_vms = sim.topology.vm_count
    assert f"{total_vms} virtual machines" in page.content()
    shot(page, "vms")
    first_name = page.locator("table.list tbody tr td a").first.inner_text()
    page.fill("input[name=q]", first_name)
    page.press("input[name=q]", "Enter")
    page.wait_for_url(re.compile(r".*/vms\?q="))
    rows = page.locator("table.list tbody tr")
    assert rows.count() >= 1
    page.get_by_role("link", name=first_name, exact=True).click()
    page.wait_for_url(re.compile(r".*/vms/\d+$"))
    assert page.get_by_role("heading", level=1).inner_text().startswith(first_name)
    for heading in ("Disks", "Network adapters", "Snapshots", "Changes"):
        assert page.get_by_role("heading", name=heading).is_visible()
    vm_url = page.url

    si = ops.connect(sim)
    ops.reconfigure_vm(si, first_name, num_cpu=4, memory_mib=2048)
    ops.create_snapshot(si, first_name, "before-upgrade")
    page.goto("/integrations")
    page.get_by_role("button", name="Sync lab-vc now").click()
    page.locator("#sync-result").get_by_text("removed").wait_for()
    assert re.search(r"succeeded in .*: \d+ added, [1-9]\d* modified", page.inner_text("#sync"))
    page.goto(vm_url)
    timeline = page.locator("ol.timeline").inner_text()
    assert re.search(r"num_cpu: 1 → 4", timeline), timeline
    assert re.search(r"memory_mib: 32 → 2048", timeline), timeline
    assert "before-upgrade" in page.locator("section", has_text="Snapshots").inner_text()
    shot(page, "vm")
    page.locator("a[href^='/hosts/']").first.click()
    page.wait_for_url(re.compile(r".*/hosts/\d+$"))
    shot(page, "host")
    page.goto("/datastores")
    page.locator("table.list tbody a").first.click()
    assert page.locator(".bar").is_visible()
    filled = page.locator(".bar rect").first.bounding_box()  # an SVG bar: no inline style
    assert filled is not None and filled["width"] > 0
    shot(page, "datastore")

    # The integration's page: run history, edit the interval (a refused value first), disable.
    page.goto("/integrations")
    page.get_by_role("link", name="lab-vc", exact=True).click()
    page.wait_for_url(re.compile(r".*/integrations/\d+$"))
    integration_url = page.url
    history = page.locator("table.runs tbody tr")
    assert history.count() == 2
    assert "succeeded" in history.first.inner_text()
    shot(page, "integration")
    page.get_by_role("link", name="Edit settings").click()
    page.fill("#interval_seconds", "30")
    page.get_by_role("button", name="Save").click()
    assert "the interval must be 0 (off) or 60" in page.get_by_role("alert").inner_text()
    assert page.input_value("#int-password") == ""
    shot(page, "integration-edit-error")
    page.fill("#interval_seconds", "120")
    page.get_by_role("button", name="Save").click()
    page.get_by_text("Saved.").wait_for()
    assert "every 120 s" in page.inner_text("dl.fields")
    page.get_by_role("button", name="Disable").click()
    page.get_by_text("Disabled:").wait_for()
    assert page.locator("h1 .badge", has_text="disabled").is_visible()
    page.get_by_role("button", name="Enable").click()
    page.get_by_text("Enabled:").wait_for()
    assert page.locator("h1 .badge").count() == 0

    # Download the current view of a list as CSV.
    page.goto("/vms?sort=-num_cpu")
    with page.expect_download() as download:
        page.get_by_role("link", name="Download this view (CSV)").click()
    rows = list(csv.DictReader(io.StringIO(Path(download.value.path()).read_text())))
    assert len(rows) == total_vms
    assert (rows[0]["name"], rows[0]["num_cpu"]) == (first_name, "4")
    assert page.get_by_role("link", name="workbook (XLSX)").is_visible()

    # Most VMs vanish: the run is held; a viewer sees why but no controls; an admin forces it.
    gone = [name for name in ops.list_vm_names(si) if name != first_name][:4]
    for name in gone:
        ops.destroy_vm(si, name)
    page.goto(integration_url)
    page.get_by_role("button", name="Sync now").click()
    page.locator("#sync-result").get_by_text("removed").wait_for()
    assert "held" in page.inner_text("#sync-result")
    page.goto(integration_url)
    assert "The last run was held" in page.inner_text("main")

    viewer = log_in(browser, served, "viewer")
    refused_for_viewer = refused_by_policy(viewer)
    viewer.keyboard.press("Tab")  # the keyboard starts at the skip link, with a visible ring
    focused = "document.activeElement"
    assert viewer.evaluate(f"{focused}.textContent") == "Skip to content"
    assert viewer.evaluate(f"getComputedStyle({focused}).outlineStyle") == "solid"
    assert viewer.get_by_role("link", name="Download this view (CSV)").is_visible()
    assert viewer.get_by_text("Full export").count() == 0
    viewer.goto("/integrations")
    assert "lab-vc" in viewer.content()
    assert viewer.get_by_role("button", name=re.compile("Sync")).count() == 0
    assert viewer.get_by_role("button", name=re.compile("Test")).count() == 0
    assert viewer.get_by_text("Add an integration").count() == 0
    shot(viewer, "integrations-viewer")
    viewer.goto(integration_url)
    assert "The last run was held" in viewer.inner_text("main")
    assert viewer.locator("main button").count() == 0
    assert viewer.get_by_role("link", name=re.compile("Edit|force")).count() == 0
    shot(viewer, "integration-viewer")
    viewer.get_by_role("button", name="Log out").click()
    viewer.wait_for_url(f"{served}/login")

    page.get_by_role("link", name="force a sync").click()
    page.wait_for_url(re.compile(r".*/force$"))
    shot(page, "force")
    page.get_by_role("button", name="Yes, start a forced sync").click()
    page.wait_for_url(re.compile(r".*/syncs/\d+$"))
    page.locator("#sync-result").get_by_text("removed").wait_for()
    forced = re.search(
        r"succeeded in .*: 0 added, \d+ modified, (\d+) removed", page.inner_text("#sync")
    )
    assert forced is not None and int(forced.group(1)) >= len(gone)
    page.goto(integration_url)
    assert page.locator("table.runs tbody tr").count() == 4
    assert "forced" in page.locator("table.runs tbody tr").first.inner_text()

    page.goto("/datacenters")
    page.locator("table.list tbody a").first.click()
    page.wait_for_url(re.compile(r".*/datacenters/\d+$"))
    assert page.get_by_role("heading", name="In this datacenter").is_visible()
    shot(page, "datacenter")
    for name, width, height in (("laptop", 1280, 800), ("wide", 1920, 1080)):
        page.set_viewport_size({"width": width, "height": height})
        for path in ("/", "/vms"):
            page.goto(path)
            overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
            assert overflow <= 0, (path, width)
            shot(page, f"{path.strip('/') or 'overview'}-{name}")
    assert refused == [] and refused_for_viewer == [], refused + refused_for_viewer


def test_reading_pages_work_without_javascript(browser: Any, served: str) -> None:
    context = browser.new_context(base_url=served, java_script_enabled=False)
    page = context.new_page()
    page.goto("/login")
    page.fill("input[name=username]", "viewer-user")
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(f"{served}/")
    for path in ("/vms", "/hosts", "/datacenters", "/integrations"):
        page.goto(path)
        assert page.get_by_role("heading", level=1).is_visible()
    context.close()
