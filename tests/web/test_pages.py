"""Server-side tests of every dashboard page on SQLite and PostgreSQL: status, content, links,
roles and CSRF."""

from __future__ import annotations

import re
from collections.abc import Iterator
from html import escape

import pytest
from sqlalchemy import event, select

from iroa.connectors.base import DiskScan, OrphanedDiskRecord
from iroa.db.base import utcnow
from iroa.inventory.models import Datastore
from iroa.sync.orphans import store_orphaned_disks
from iroa.web.formatting import format_value
from tests.api.inventory_fixtures import empty_database_url
from tests.web.support import Web, csrf_of, log_in, start

NAVIGATION = ("Virtual machines", "Hosts", "Clusters", "Datastores", "Networks", "Integrations")
LISTS = ("vms", "hosts", "clusters", "datastores", "networks")


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def estate_web(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Web]:
    """The app on a database holding the test estate, and users of each role, per backend.

    Built once per module: the tests here only read the estate (a failed add saves nothing).
    """
    directory = tmp_path_factory.mktemp("web")
    yield from start(empty_database_url(request, directory), directory, estate=True)


@pytest.fixture
def web(estate_web: Web) -> Web:
    """The shared estate, seen by a client that is not logged in."""
    estate_web.client.cookies.clear()
    return estate_web


def links(html: str) -> list[str]:
    return re.findall(r'href="([^"]+)"', html)


def test_pages_redirect_to_login_without_a_session(web: Web) -> None:
    for path in ("/", "/vms", "/vms/1", "/integrations", "/syncs/1"):
        response = web.client.get(path)
        assert response.status_code == 303
        assert response.headers["location"].startswith("/login?next=")
    login = web.client.get("/login")
    assert 'name="username"' in login.text
    assert 'type="password"' in login.text
    assert "Log out" not in login.text


def test_login_needs_the_right_password_and_csrf(web: Web) -> None:
    form = web.client.get("/login")
    token = csrf_of(form.text)
    wrong = web.client.post(
        "/login",
        data={"csrf_token": token, "username": "viewer-user", "password": "nope-nope"},
    )
    assert wrong.status_code == 401
    assert "invalid username or password" in wrong.text
    forged = web.client.post(
        "/login",
        data={"csrf_token": "forged", "username": "viewer-user", "password": "x"},
    )
    assert forged.status_code == 403
    log_in(web.client, "viewer")
    assert web.client.get("/").status_code == 200
    assert web.client.get("/login").status_code == 303  # already logged in


def test_login_goes_back_to_the_page_asked_for_but_never_offsite(web: Web) -> None:
    for target, expected in (("//evil.example/x", "/"), ("/hosts?q=esx", "/hosts?q=esx")):
        web.client.cookies.clear()
        form = web.client.get("/login?next=/hosts")
        assert 'value="/hosts"' in form.text
        response = web.client.post(
            "/login",
            data={
                "csrf_token": csrf_of(form.text),
                "username": "viewer-user",
                "password": "correct horse battery",
                "next": target,
            },
        )
        assert response.status_code == 303
        assert response.headers["location"] == expected


def test_the_session_is_the_api_session(web: Web) -> None:
    csrf = log_in(web.client, "operator")
    me = web.client.get("/api/v1/auth/me").json()
    assert me["username"] == "operator-user"
    assert me["via"] == "session"
    assert web.client.cookies.get("iroa_csrf") == csrf


def test_logout_ends_the_session_and_needs_csrf(web: Web) -> None:
    csrf = log_in(web.client, "viewer")
    assert web.client.post("/logout", data={"csrf_token": "wrong"}).status_code == 403
    assert web.client.get("/").status_code == 200
    response = web.client.post("/logout", data={"csrf_token": csrf})
    assert response.status_code == 303
    assert web.client.get("/").status_code == 303
    assert web.client.get("/api/v1/auth/me").status_code == 401


def test_overview_shows_kpis_last_syncs_changes_and_trend(web: Web) -> None:
    log_in(web.client, "viewer")
    page = web.client.get("/")
    assert page.status_code == 200
    html = page.text
    for label in NAVIGATION:
        assert f">{label}</a>" in html
    assert "vc1" in html and "hv1" in html
    assert "vCenter" in html and "Hyper-V" in html
    assert "succeeded" in html
    assert "Recent changes" in html and "modified" in html and "removed" in html
    assert "<svg" in html and "<polyline" in html
    assert "/vms/" in html  # changes link to their objects


def test_every_list_has_search_filters_sorting_and_linked_names(web: Web) -> None:
    log_in(web.client, "viewer")
    for plural in LISTS:
        page = web.client.get(f"/{plural}")
        assert page.status_code == 200, plural
        html = page.text
        assert 'name="q"' in html
        assert 'name="platform"' in html and 'name="integration"' in html
        assert "Platform</th>" in html and "Integration</th>" in html
        assert 'aria-sort="ascending"' in html
        detail_links = [h for h in links(html) if re.fullmatch(rf"/{plural}/\d+", h)]
        assert detail_links, plural
        for href in detail_links[:3]:
            assert web.client.get(href).status_code == 200, href


def test_vm_list_searches_filters_sorts_and_pages(web: Web) -> None:
    log_in(web.client, "viewer")
    found = web.client.get("/vms", params={"q": "app-0"}).text
    assert "App-03" in found and "web-01" not in found
    hyperv = web.client.get("/vms", params={"platform": "hyperv"}).text
    assert "vc1" not in re.sub(r"<select.*?</select>", "", hyperv, flags=re.S)
    on = web.client.get("/vms", params={"power_state": "suspended"}).text
    assert "state-on" not in on and "state-suspended" in on
    by_memory = web.client.get("/vms", params={"sort": "-memory_mib"}).text
    assert 'aria-sort="descending"' in by_memory
    assert web.client.get("/vms", params={"sort": "nonsense"}).status_code == 400
    empty = web.client.get("/vms", params={"q": "no-such-vm-anywhere"}).text
    assert "Clear the filters" in empty


def test_vm_list_pages_with_the_cursor(web: Web, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("iroa.web.inventory.PAGE_SIZE", 10)
    log_in(web.client, "viewer")
    seen: list[str] = []
    path = "/vms?sort=-num_cpu"
    for _ in range(10):
        html = web.client.get(path).text
        seen += re.findall(r'href="/vms/\d+">([^<]+)<', html)
        following = re.findall(r'rel="next" href="([^"]+)"', html)
        if not following:
            break
        assert "First page" in web.client.get(following[0].replace("&amp;", "&")).text
        path = following[0].replace("&amp;", "&")
    total = web.client.get("/api/v1/vms", params={"limit": 1}).json()["total"]
    assert len(seen) == len(set(seen)) == total


def test_vm_detail_shows_relations_snapshots_tags_and_timeline(web: Web) -> None:
    log_in(web.client, "viewer")
    listing = web.client.get("/vms", params={"q": "web-01"}).text
    vm_href = re.search(r'href="(/vms/\d+)">web-01<', listing).group(1)  # type: ignore[union-attr]
    html = web.client.get(vm_href).text
    for heading in ("General", "Disks", "Network adapters", "Snapshots", "Changes"):
        assert f"<h2>{heading}" in html
    assert re.search(r'href="/hosts/\d+"', html)
    assert re.search(r'href="/datastores/\d+"', html)
    assert re.search(r'href="/networks/\d+"', html)
    assert "added" in html


def test_a_modified_vm_shows_old_and_new_values(web: Web) -> None:
    log_in(web.client, "viewer")
    changes = web.client.get("/api/v1/changes", params={"action": "modified", "object_type": "vm"})
    change = changes.json()["items"][0]
    html = web.client.get(f"/vms/{change['object_id']}").text
    field, (old, new) = next(iter(change["fields"].items()))
    assert f"<code>{field}</code>" in html
    shown = f'<span class="old">{escape(format_value(old))}</span> → '
    assert shown + f'<span class="new">{escape(format_value(new))}</span>' in html


def test_host_cluster_datastore_and_network_details(web: Web) -> None:
    log_in(web.client, "viewer")
    for plural, heading in (
        ("hosts", "Virtual machines"),
        ("clusters", "Totals"),
        ("datastores", "Capacity"),
        ("networks", "Virtual machines on it"),
    ):
        listing = web.client.get(f"/{plural}").text
        href = next(h for h in links(listing) if re.fullmatch(rf"/{plural}/\d+", h))
        html = web.client.get(href).text
        assert f"<h2>{heading}" in html, plural
    datastore = web.client.get("/datastores").text
    href = next(h for h in links(datastore) if re.fullmatch(r"/datastores/\d+", h))
    assert 'class="bar"' in web.client.get(href).text


def test_a_datastore_page_lists_the_disks_on_it_no_vm_uses(web: Web) -> None:
    log_in(web.client, "viewer")
    with web.db.session() as session:
        ds = session.execute(
            select(Datastore.id, Datastore.integration_id, Datastore.external_id, Datastore.name)
            .where(Datastore.removed_at.is_(None))
            .order_by(Datastore.id)
        ).first()
    assert ds is not None
    scan = DiskScan(
        frozenset({ds.external_id}),
        (OrphanedDiskRecord(ds.external_id, f"[{ds.name}] old/old.vmdk", 3 << 30),),
    )
    with web.db.engine.begin() as conn:
        store_orphaned_disks(conn, ds.integration_id, scan, {ds.external_id}, utcnow())
    try:
        html = web.client.get(f"/datastores/{ds.id}").text
        assert "<h2>Orphaned disks (1)" in html
        assert f"<td>[{escape(ds.name)}] old/old.vmdk</td>" in html
        detail = web.client.get(f"/api/v1/datastores/{ds.id}").json()
        assert [(d["path"], d["size_bytes"]) for d in detail["orphaned_disks"]] == [
            (f"[{ds.name}] old/old.vmdk", 3 << 30)
        ]
    finally:
        with web.db.engine.begin() as conn:
            store_orphaned_disks(conn, ds.integration_id, None, {ds.external_id}, utcnow())
    assert "Orphaned disks" not in web.client.get(f"/datastores/{ds.id}").text


def test_unknown_objects_answer_404(web: Web) -> None:
    log_in(web.client, "viewer")
    for path in ("/vms/987654", "/hosts/987654", "/syncs/987654"):
        response = web.client.get(path)
        assert response.status_code == 404
        assert "There is no" in response.text


@pytest.mark.parametrize("role", ["viewer", "operator", "admin"])
def test_integrations_page_shows_only_the_buttons_a_role_can_use(web: Web, role: str) -> None:
    log_in(web.client, role)
    html = web.client.get("/integrations").text
    assert "vc1" in html and "hv1" in html
    assert ("Sync now" in html) == (role != "viewer")
    assert ("Test connection" in html) == (role != "viewer")
    assert ("Add an integration" in html) == (role == "admin")


def test_viewer_cannot_post_actions(web: Web) -> None:
    csrf = log_in(web.client, "viewer")
    assert (
        web.client.post(
            f"/integrations/{web.ids.vcenter_id}/sync",
            data={"csrf_token": csrf},  # type: ignore[union-attr]
        ).status_code
        == 403
    )
    assert (
        web.client.post(
            "/integrations",
            data={"csrf_token": csrf, "kind": "vcenter", "name": "x", "url": "http://x"},
        ).status_code
        == 403
    )


def test_operator_cannot_add_integrations(web: Web) -> None:
    csrf = log_in(web.client, "operator")
    response = web.client.post(
        "/integrations",
        data={"csrf_token": csrf, "kind": "vcenter", "name": "x", "url": "http://x"},
    )
    assert response.status_code == 403


def test_forms_without_csrf_are_rejected(web: Web) -> None:
    log_in(web.client, "admin")
    vc = web.ids.vcenter_id  # type: ignore[union-attr]
    for path in (
        f"/integrations/{vc}/sync",
        f"/integrations/{vc}/test",
        "/integrations",
        "/logout",
    ):
        response = web.client.post(path, data={"kind": "vcenter", "name": "x", "url": "http://x"})
        assert response.status_code == 403, path
        assert "CSRF" in response.text


def test_add_form_shows_errors_inline_and_keeps_no_secret(web: Web) -> None:
    csrf = log_in(web.client, "admin")
    bad_url = web.client.post(
        "/integrations",
        data={
            "csrf_token": csrf,
            "kind": "vcenter",
            "name": "new-vc",
            "url": "not a url",
            "username": "u",
            "password": "top-secret-value",
        },
    )
    assert bad_url.status_code == 422
    assert "invalid URL" in bad_url.text
    assert "top-secret-value" not in bad_url.text
    assert 'value="new-vc"' in bad_url.text
    unreachable = web.client.post(
        "/integrations",
        data={
            "csrf_token": csrf,
            "kind": "vcenter",
            "name": "new-vc",
            "url": "http://127.0.0.1:9",
            "username": "u",
            "password": "top-secret-value",
        },
    )
    assert unreachable.status_code == 422
    assert "connection test failed" in unreachable.text
    assert "top-secret-value" not in unreachable.text
    names = [i["name"] for i in web.client.get("/api/v1/integrations").json()["items"]]
    assert "new-vc" not in names


def test_sync_page_of_a_finished_run_shows_its_counts(web: Web) -> None:
    log_in(web.client, "viewer")
    runs = web.client.get("/api/v1/syncs").json()["items"]
    html = web.client.get(f"/syncs/{runs[0]['id']}").text
    assert "succeeded" in html
    assert "added" in html and "modified" in html and "removed" in html
    assert 'src="/static/sync.js"' in html


def test_static_assets_are_served_without_login(web: Web) -> None:
    css = web.client.get("/static/iroa.css")
    assert css.status_code == 200 and "text/css" in css.headers["content-type"]
    assert web.client.get("/static/sync.js").status_code == 200


def test_pages_fetch_nothing_from_outside(web: Web) -> None:
    log_in(web.client, "admin")
    for path in ("/", "/vms", "/integrations", "/login"):
        html = web.client.get(path).text
        assert not re.search(r'(src|href)="(https?:)?//', html), path


LIST_PAGE_QUERY_COUNTS = {
    "/vms": 2,  # the API's page (with its total and placements) and the integration names
    "/hosts": 2,
    "/clusters": 2,
    "/datastores": 2,
    "/networks": 2,
}


@pytest.mark.parametrize(("path", "expected"), LIST_PAGE_QUERY_COUNTS.items())
def test_list_page_query_count_is_pinned(web: Web, path: str, expected: int) -> None:
    """Statements per list page besides the session lookup: none grows with the rows shown."""
    log_in(web.client, "viewer")
    seen: list[str] = []

    def count(conn: object, cursor: object, statement: str, *args: object) -> None:
        reads = statement.lstrip().upper().startswith(("SELECT", "WITH"))
        if reads and "api_tokens" not in statement:
            seen.append(statement)

    engine = web.db.engine
    event.listen(engine, "before_cursor_execute", count)
    try:
        assert web.client.get(path).status_code == 200
    finally:
        event.remove(engine, "before_cursor_execute", count)
    assert len(seen) == expected, "\n\n".join(seen)
