"""The Findings page, the overview's counts and the detail pages' findings, on both backends."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest

from tests.api.inventory_fixtures import empty_database_url
from tests.web.support import Web, log_in, start


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def estate_web(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Web]:
    directory = tmp_path_factory.mktemp("web-findings")
    yield from start(empty_database_url(request, directory), directory, estate=True)


@pytest.fixture
def web(estate_web: Web) -> Web:
    estate_web.client.cookies.clear()
    log_in(estate_web.client, "viewer")
    return estate_web


def rows(html: str) -> list[str]:
    """The rows of the findings table (not of the rule table above it)."""
    body = (
        html.split('<table class="list">', 1)[1]
        .split("<tbody>", 1)[1]
        .split("</tbody>", maxsplit=1)[0]
    )
    return re.findall(r"<tr>(.*?)</tr>", body, re.S)


def test_findings_page_lists_open_findings_with_severity_in_words(web: Web) -> None:
    response = web.client.get("/findings")
    assert response.status_code == 200
    html = response.text
    assert '<a href="/findings" aria-current="page">Findings</a>' in html
    assert "7 open findings" in html
    found = rows(html)
    assert len(found) == 7
    assert 'class="severity severity-critical">critical</span>' in found[0]
    assert "esx4.standalone" in found[0] and "Host disconnected" in found[0]
    assert re.search(r'href="/hosts/\d+">esx4.standalone</a>', found[0])
    assert all(re.search(r">(critical|warning|info)</span>", row) for row in found)


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("severity=warning", 5),
        ("rule=guest_tools_not_running", 4),
        ("object_type=host", 2),
        ("integration=vc1", 3),
        ("q=snapshot", 1),
        ("status=resolved", 0),
    ],
)
def test_findings_page_filters(web: Web, query: str, expected: int) -> None:
    html = web.client.get(f"/findings?{query}").text
    if expected:
        assert len(rows(html)) == expected
    else:
        assert "No findings match these filters" in html
    assert 'href="/findings">Clear</a>' in html


def test_findings_page_sorts_pages_and_refuses_bad_input(
    web: Web, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("iroa.web.findings.PAGE_SIZE", 3)
    first = web.client.get("/findings?sort=object_name")
    assert 'aria-sort="ascending"' in first.text
    names: list[str] = []
    html = first.text
    for _ in range(5):
        # The first cell that starts with text or a link is the object's name.
        names += [re.findall(r"<td>(?:<a [^>]+>)?([^<]+)", row)[0] for row in rows(html)]
        following = re.search(r'rel="next" href="([^"]+)"', html)
        if not following:
            break
        html = web.client.get(following.group(1).replace("&amp;", "&")).text
    assert names == sorted(names) and len(names) == 7
    bad = web.client.get("/findings?severity=fatal")
    assert bad.status_code == 400 and "unknown severity" in bad.text


def test_overview_counts_open_findings_per_severity(web: Web) -> None:
    html = web.client.get("/").text
    assert "Open health findings" in html
    for severity, count in (("critical", 1), ("warning", 5), ("info", 1)):
        assert (
            f'<a href="/findings?severity={severity}" aria-label="{count} {severity} findings">'
            in html
        )
    assert "All 7 open findings" in html


def test_detail_pages_show_their_open_findings(web: Web) -> None:
    hosts = web.client.get("/hosts?q=esx4").text
    host_path = re.search(r'href="(/hosts/\d+)"', hosts.split("<tbody>")[1]).group(1)  # type: ignore[union-attr]
    html = web.client.get(host_path).text
    assert "Health findings (1 open)" in html
    assert 'severity-critical">critical</span> <strong>Host disconnected</strong>' in html
    vms = web.client.get("/vms?q=App-00").text
    vm_path = re.search(r'href="(/vms/\d+)"', vms.split("<tbody>")[1]).group(1)  # type: ignore[union-attr]
    assert "Old VM snapshot" in web.client.get(vm_path).text
    for plural in ("clusters", "datastores"):
        listing = web.client.get(f"/{plural}").text
        path = re.search(rf'href="(/{plural}/\d+)"', listing.split("<tbody>")[1]).group(1)  # type: ignore[union-attr]
        assert "Health findings (0 open)" in web.client.get(path).text


def test_findings_page_explains_each_rule(web: Web) -> None:
    html = web.client.get("/findings").text
    rules = html.split("<details>", 1)[1].split("</details>", 1)[0]
    assert "<code>snapshot_too_old</code>" in rules
    assert "oldest snapshot older than 7 days" in rules
    assert "<code>vm_not_in_zabbix</code>" in rules
    assert "once an enabled Zabbix integration has synced" in rules
