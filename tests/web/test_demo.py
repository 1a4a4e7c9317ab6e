"""``make demo`` as an evaluator meets it: ``python -m demo`` (what the target runs) started
as a process, its server in a real Chromium, a change of its driver on the VM's page, and
Ctrl-C leaving nothing running."""

from __future__ import annotations

import re
import signal
import socket
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from demo.driver import OPERATOR
from tests.cli.test_cli_watch import Lines
from tests.web.test_browser import TIMEOUT_MS, browser, free_port, shot  # noqa: F401 (fixture)

REPO = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.slow


def answers(port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(1)
        return sock.connect_ex(("127.0.0.1", port)) == 0


def test_the_demo_shows_both_platforms_and_its_changes_then_stops_everything(
    browser: Any,  # noqa: F811
    vcsim_binary: Path,
    tmp_path: Path,
) -> None:
    port = free_port()
    demo = subprocess.Popen(
        [sys.executable, "-m", "demo", "--port", str(port), "--data-dir", str(tmp_path / "demo")],
        cwd=REPO,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    out = Lines(demo.stdout)
    try:
        banner = out.wait_for(lambda line: line.startswith("IROA demo: "), timeout=240)
        found = re.fullmatch(r"IROA demo: (\S+)  \(log in as admin, password (\S+)\)", banner)
        assert found is not None, banner
        base, password = found.groups()

        context = browser.new_context(base_url=base, viewport={"width": 1366, "height": 900})
        context.set_default_timeout(TIMEOUT_MS)
        page = context.new_page()
        page.goto("/")
        page.fill("input[name=username]", "admin")
        page.fill("input[name=password]", password)
        page.click("button[type=submit]")
        for platform in ("vCenter", "Hyper-V"):
            page.get_by_role("heading", name=platform, exact=True).wait_for()
        shot(page, "demo-overview")

        # The driver's next power-off after the pages are up, on that VM's page.
        seen = len(out.lines)
        line = out.wait_for(
            lambda line: " powered off " in line and out.lines.index(line) >= seen, timeout=60
        )
        vm = line.rsplit(" ", 1)[1]
        page.goto(f"/vms?q={vm}")
        page.get_by_role("link", name=vm, exact=True).click()
        timeline = page.locator("ol.timeline")
        # The watcher applies it within seconds, with the simulator's event saying who.
        who = f"powered off by {OPERATOR}"
        for _ in range(100):
            text = timeline.inner_text()
            if re.search(r"power_state: on → off", text) and who in text:
                break
            page.wait_for_timeout(200)
            page.reload()
        else:
            raise AssertionError(f"{vm}'s page does not say who powered it off: {text}")
        shot(page, "demo-vm")
        context.close()
    finally:
        if demo.poll() is None:
            demo.send_signal(signal.SIGINT)
        code = demo.wait(60)
    assert code == 0, out.lines[-20:]
    out.wait_for(lambda line: line.startswith("demo stopped"), timeout=5)
    simulators = [
        int(re.search(r"https://127\.0\.0\.1:(\d+)", line)[1])  # type: ignore[index]
        for line in out.lines
        if line.startswith(("  vCenter simulator: ", "  WS-Management endpoint: "))
    ]
    assert len(simulators) == 2, out.lines[:10]
    for listening in (port, *simulators):
        assert not answers(listening), f"something still answers on port {listening}"
