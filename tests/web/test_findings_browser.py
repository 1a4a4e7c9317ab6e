"""The Findings page in a real headless Chromium, without JavaScript: filter, sort, follow."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from iroa.db.engine import Database
from tests.api.fixtures import PASSWORD
from tests.api.inventory_estate import build_estate
from tests.web.test_browser import browser, served, shot  # noqa: F401 (fixtures)

pytestmark = pytest.mark.slow


def test_findings_page_filters_and_links_without_javascript(
    browser: Any,  # noqa: F811
    served: str,  # noqa: F811
    tmp_path: Path,
) -> None:
    db = Database(f"sqlite:///{tmp_path / 'data' / 'iroa.db'}")
    build_estate(db)
    db.dispose()
    context = browser.new_context(
        base_url=served, java_script_enabled=False, viewport={"width": 1366, "height": 900}
    )
    page = context.new_page()
    page.goto("/login?next=/findings")
    page.fill("input[name=username]", "viewer-user")
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(f"{served}/findings")
    assert page.get_by_role("heading", level=1).inner_text() == "Findings"
    assert page.locator("table.list tbody tr").count() == 7
    first = page.locator("table.list tbody tr").first
    assert first.locator(".severity").inner_text().lower() == "critical"
    shot(page, "findings")

    page.select_option("select#severity", "warning")
    page.get_by_role("button", name="Apply").click()
    page.wait_for_url(re.compile(r"/findings\?.*severity=warning"))
    assert page.locator("table.list tbody tr").count() == 5
    page.get_by_role("link", name="Object").click()
    assert "sort=-object_name" in page.url
    names = page.locator("table.list tbody tr td:nth-child(2)").all_inner_texts()
    assert names == sorted(names, reverse=True)

    page.goto("/findings?object_type=host&severity=critical")
    page.get_by_role("link", name="esx4.standalone").click()
    assert page.get_by_role("heading", name="Health findings (1 open)").is_visible()
    assert "Host disconnected" in page.locator("section.findings").inner_text()
    shot(page, "host-findings")

    page.goto("/")
    page.get_by_role("link", name="1 critical findings").click()
    assert page.locator("table.list tbody tr").count() == 1
    context.close()
