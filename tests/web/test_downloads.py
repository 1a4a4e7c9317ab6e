"""List downloads (the current view as CSV), the operators' exports and the datacenter pages,
on SQLite and PostgreSQL."""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterator
from html import unescape

import pytest
from openpyxl import load_workbook
from sqlalchemy import event

from tests.api.inventory_fixtures import empty_database_url
from tests.web.support import Web, log_in, start


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def estate_web(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Web]:
    directory = tmp_path_factory.mktemp("web-downloads")
    yield from start(empty_database_url(request, directory), directory, estate=True)


@pytest.fixture
def web(estate_web: Web) -> Web:
    estate_web.client.cookies.clear()
    return estate_web


def rows_of(text: str) -> list[list[str]]:
    return list(csv.reader(io.StringIO(text)))


def test_a_list_downloads_its_current_view_as_csv(web: Web) -> None:
    log_in(web.client, "viewer")
    page = web.client.get("/vms", params={"q": "app-0", "sort": "-memory_mib"}).text
    found = re.search(r'href="(/vms\.csv\?[^"]+)" download>Download this view', page)
    assert found is not None
    href = unescape(found.group(1))
    assert "q=app-0" in href and "sort=-memory_mib" in href
    response = web.client.get(href)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/csv")
    assert 'attachment; filename="iroa-vms-view-' in response.headers["content-disposition"]
    header, *rows = rows_of(response.text)
    api = web.client.get(
        "/api/v1/vms", params={"q": "app-0", "sort": "-memory_mib", "limit": 1000}
    ).json()
    assert header == list(api["items"][0])
    assert [r[header.index("name")] for r in rows] == [i["name"] for i in api["items"]]
    assert len(rows) == api["total"] > 1
    assert "Full export" not in page  # a viewer downloads what the lists show, no exports


def test_the_view_csv_has_every_row_once_in_the_lists_order(
    web: Web, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("iroa.exports.csv.CHUNK_SIZE", 4)  # several chunks of placements
    log_in(web.client, "viewer")
    header, *rows = rows_of(web.client.get("/vms.csv", params={"sort": "-num_cpu"}).text)
    ids = [r[header.index("id")] for r in rows]
    total = web.client.get("/api/v1/vms", params={"limit": 1}).json()["total"]
    assert len(ids) == len(set(ids)) == total > 4
    cpus = [int(r[header.index("num_cpu")] or 0) for r in rows]
    assert cpus == sorted(cpus, reverse=True)
    api = web.client.get("/api/v1/vms", params={"sort": "-num_cpu", "limit": 1000}).json()
    assert ids == [str(item["id"]) for item in api["items"]]
    placed = [r[header.index("datastores")] for r in rows]  # placements in every chunk
    assert placed == ["; ".join(item["datastores"]) for item in api["items"]]
    assert sum(1 for p in placed if p) > 4


def test_a_bad_view_is_refused_before_any_file(web: Web) -> None:
    log_in(web.client, "viewer")
    response = web.client.get("/vms.csv", params={"sort": "nonsense"})
    assert response.status_code == 400
    assert "Cannot download this view" in response.text and "sort" in response.text
    assert web.client.get("/hosts.csv", params={"datacenter_id": "x"}).status_code == 400


def test_operators_download_the_workbook_and_per_type_csv(web: Web) -> None:
    log_in(web.client, "operator")
    page = web.client.get("/hosts").text
    assert 'href="/export/hosts.csv"' in page and 'href="/export.xlsx"' in page
    workbook = web.client.get("/export.xlsx")
    assert workbook.status_code == 200
    assert workbook.headers["content-type"].startswith(
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    )
    sheets = load_workbook(io.BytesIO(workbook.content), read_only=True).sheetnames
    assert "vInfo" in sheets and "vHealth" in sheets
    everything = rows_of(web.client.get("/export/vms.csv").text)
    view = rows_of(web.client.get("/vms.csv").text)
    assert everything[0] == view[0] and sorted(everything[1:]) == sorted(view[1:])
    vinfo = web.client.get("/export/vInfo.csv")
    assert vinfo.status_code == 200 and len(rows_of(vinfo.text)) > 1
    assert web.client.get("/export/nope.csv").status_code == 404


def test_the_overview_links_the_exports_for_operators(web: Web) -> None:
    log_in(web.client, "operator")
    page = web.client.get("/").text
    links = re.findall(r'href="(/export[^"]*)" download', page)
    assert "/export.xlsx" in links and "/export/vms.csv" in links and "/export/vHealth.csv" in links
    for link in links:
        response = web.client.get(link)
        assert response.status_code == 200, link
        assert response.headers["content-disposition"].startswith("attachment"), link


def test_viewers_get_no_exports(web: Web) -> None:
    log_in(web.client, "viewer")
    assert "/export" not in web.client.get("/").text
    for path in ("/export.xlsx", "/export/vms.csv", "/export/vInfo.csv"):
        response = web.client.get(path)
        assert response.status_code == 403, path
        assert "This needs the operator role" in response.text
    web.client.cookies.clear()
    assert web.client.get("/export.xlsx").status_code == 303  # to the login page


def test_datacenters_list_and_detail_with_counts_and_filtered_lists(web: Web) -> None:
    log_in(web.client, "viewer")
    listing = web.client.get("/datacenters")
    assert listing.status_code == 200 and ">Datacenters</a>" in listing.text
    href = re.search(r'href="(/datacenters/\d+)">', listing.text)
    assert href is not None
    detail = web.client.get(href.group(1)).text
    assert "In this datacenter" in detail and "<h2>Clusters" in detail
    datacenter_id = href.group(1).rsplit("/", 1)[1]
    api = web.client.get(href.group(1).replace("/datacenters", "/api/v1/datacenters")).json()
    assert api["counts"]["vms"] > 0 and api["counts"]["hosts"] > 0
    for plural in ("clusters", "hosts", "vms", "datastores", "networks"):
        link = f'<a href="/{plural}?datacenter_id={datacenter_id}">{api["counts"][plural]}</a>'
        assert link in detail, plural
        shown = web.client.get(f"/{plural}", params={"datacenter_id": datacenter_id}).text
        assert f"{api['counts'][plural]} " in re.search(
            r'<p class="count"[^>]*>([^<]*)', shown
        ).group(1)  # type: ignore[union-attr]
    clusters = web.client.get("/clusters").text
    assert f'href="/datacenters/{datacenter_id}"' in clusters  # clusters link their datacenter


def test_datacenter_list_query_count_is_pinned(web: Web) -> None:
    log_in(web.client, "viewer")
    seen: list[str] = []

    def count(conn: object, cursor: object, statement: str, *args: object) -> None:
        if statement.lstrip().upper().startswith("SELECT") and "api_tokens" not in statement:
            seen.append(statement)

    event.listen(web.db.engine, "before_cursor_execute", count)
    try:
        assert web.client.get("/datacenters").status_code == 200
    finally:
        event.remove(web.db.engine, "before_cursor_execute", count)
    assert len(seen) == 2, "\n\n".join(seen)  # the page with its total, integration names
