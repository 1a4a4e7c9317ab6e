"""The integration page: settings, run history, editing, enable/disable and forcing a held run,
each shown only to the roles that may use it (SQLite and PostgreSQL)."""

from __future__ import annotations

import dataclasses
import re
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import event

from iroa.audit.service import list_entries
from iroa.connectors.base import SkippedObject
from iroa.integrations import service
from iroa.sync.engine import run_sync
from iroa.sync.history import get_run
from tests.api.inventory_estate import StaticConnector, vcenter_snapshot
from tests.web.support import Web, log_in, start


@pytest.fixture
def web(db_url: str, tmp_path: Path) -> Iterator[Web]:
    yield from start(db_url, tmp_path, estate=True)


def vc(web: Web) -> int:
    assert web.ids is not None
    return web.ids.vcenter_id


def hold_a_run(web: Web) -> int:
    """A real run of the sync engine that the mass-removal safeguard holds: 22 of 24 VMs gone."""
    full = vcenter_snapshot()
    kept = {v.external_id for v in full.vms[:2]}

    def mine(records: object) -> list[object]:
        return [r for r in records if getattr(r, "vm_external_id", None) in kept]  # type: ignore[attr-defined]

    snapshot = dataclasses.replace(
        full,
        vms=[v for v in full.vms if v.external_id in kept],
        vm_disks=mine(full.vm_disks),
        vm_nics=mine(full.vm_nics),
        vm_snapshots=mine(full.vm_snapshots),
        vm_datastores=mine(full.vm_datastores),
        vm_networks=mine(full.vm_networks),
        tags=[t for t in full.tags if t.object_type != "vm" or t.object_external_id in kept],
        warnings=[SkippedObject("vm", "vm-99", "ValueError: no name")],
    )
    result = run_sync(web.db, vc(web), StaticConnector(snapshot))  # type: ignore[arg-type]
    assert result.status == "held", result
    return result.run_id


@pytest.mark.parametrize("role", ["viewer", "operator", "admin"])
def test_integration_page_shows_settings_history_and_only_usable_controls(
    web: Web, role: str
) -> None:
    log_in(web.client, role)
    listing = web.client.get("/integrations").text
    assert f'href="/integrations/{vc(web)}"' in listing
    page = web.client.get(f"/integrations/{vc(web)}")
    assert page.status_code == 200
    html = page.text
    assert "<h1>vc1" in html and "https://vc1.example" in html
    assert "Run history" in html
    rows = re.findall(r'<a href="/syncs/(\d+)">#', html)
    assert len(rows) == 3  # the estate synced vc1 three times
    assert "succeeded" in html and "<td>manual</td>" in html
    assert ("Sync now" in html) == (role != "viewer")
    assert ("Test connection" in html) == (role != "viewer")
    assert ("Edit settings" in html) == (role == "admin")
    assert (">Disable<" in html) == (role == "admin")


def test_unknown_integration_answers_404(web: Web) -> None:
    log_in(web.client, "admin")
    for path in ("/integrations/987654", "/integrations/987654/edit", "/integrations/0/force"):
        response = web.client.get(path)
        assert response.status_code == 404, path
        assert "There is no integration" in response.text


def test_admin_edits_an_integration_with_inline_errors_and_a_write_only_secret(
    web: Web,
) -> None:
    csrf = log_in(web.client, "admin")
    path = f"/integrations/{vc(web)}/edit"
    form = web.client.get(path).text
    assert 'value="vc1"' in form and 'value="https://vc1.example"' in form
    password = re.search(r'<input id="int-password"[^>]*>', form)
    assert password is not None and "value=" not in password.group(0)
    base = {"csrf_token": csrf, "name": "vc1", "url": "https://vc1.example", "enabled": "on"}

    too_often = web.client.post(path, data={**base, "interval_seconds": "30"})
    assert too_often.status_code == 422
    assert "the interval must be 0 (off) or 60-604800 seconds" in too_often.text
    assert 'value="30"' in too_often.text
    not_a_number = web.client.post(path, data={**base, "interval_seconds": "soon"})
    assert not_a_number.status_code == 422 and "whole number" in not_a_number.text
    bad_url = web.client.post(path, data={**base, "url": "ftp://x", "password": "s3cret-pw"})
    assert bad_url.status_code == 422 and "invalid URL" in bad_url.text
    assert "s3cret-pw" not in bad_url.text
    taken = web.client.post(path, data={**base, "name": "hv1"})
    assert taken.status_code == 422 and "already exists" in taken.text
    assert service.get_integration_by_id(web.db, vc(web)).interval_seconds is None

    saved = web.client.post(
        path,
        data={**base, "name": "vc-prod", "interval_seconds": "3600", "password": "s3cret-pw"},
    )
    assert saved.status_code == 303
    assert saved.headers["location"] == f"/integrations/{vc(web)}?notice=saved"
    page = web.client.get(saved.headers["location"]).text
    assert "Saved." in page and "<h1>vc-prod" in page and "every 3600 s" in page
    assert "set (never shown)" in page and "s3cret-pw" not in page
    stored = service.get_integration_by_id(web.db, vc(web))
    secret = stored.secret_encrypted
    assert secret and stored.interval_seconds == 3600

    # An empty password keeps the stored one; 0 turns auto-sync off.
    again = web.client.post(path, data={**base, "name": "vc-prod", "interval_seconds": "0"})
    assert again.status_code == 303
    stored = service.get_integration_by_id(web.db, vc(web))
    assert stored.secret_encrypted == secret and stored.interval_seconds is None
    updates = list_entries(web.db, action="integration.update")
    assert updates[0]["actor"] == "admin-user" and updates[0]["target_name"] == "vc-prod"
    assert "s3cret-pw" not in str(updates)


def test_admin_disables_and_enables_an_integration(web: Web) -> None:
    csrf = log_in(web.client, "admin")
    path = f"/integrations/{vc(web)}/enabled"
    off = web.client.post(path, data={"csrf_token": csrf, "enabled": "false"})
    assert off.status_code == 303
    page = web.client.get(off.headers["location"]).text
    assert "Disabled:" in page and '<span class="badge">disabled</span>' in page
    assert ">Enable<" in page
    assert not service.get_integration_by_id(web.db, vc(web)).enabled
    on = web.client.post(path, data={"csrf_token": csrf, "enabled": "true"})
    assert "Enabled:" in web.client.get(on.headers["location"]).text
    assert service.get_integration_by_id(web.db, vc(web)).enabled
    changes = [e["after"]["enabled"] for e in list_entries(web.db, action="integration.update")]
    assert changes[:2] == [True, False]


@pytest.mark.parametrize("role", ["viewer", "operator"])
def test_only_admins_may_edit_disable_or_force(web: Web, role: str) -> None:
    csrf = log_in(web.client, role)
    base = f"/integrations/{vc(web)}"
    assert web.client.get(f"{base}/edit").status_code == 403
    assert web.client.get(f"{base}/force").status_code == 403
    for action, data in (
        ("edit", {"name": "x", "url": "https://x.example"}),
        ("enabled", {"enabled": "false"}),
        ("force", {"confirm": "yes"}),
    ):
        response = web.client.post(f"{base}/{action}", data={"csrf_token": csrf, **data})
        assert response.status_code == 403, action
        assert "This needs the admin role" in response.text
    assert service.get_integration_by_id(web.db, vc(web)).name == "vc1"
    assert not list_entries(web.db, action="sync.force")
    for action in ("edit", "enabled", "force"):
        assert web.client.post(f"{base}/{action}", data={"enabled": "false"}).status_code == 403


def test_a_held_run_shows_why_and_an_admin_forces_a_sync_after_confirming(web: Web) -> None:
    held_id = hold_a_run(web)
    log_in(web.client, "viewer")
    viewer_page = web.client.get(f"/integrations/{vc(web)}").text
    assert "The last run was held" in viewer_page and "it would remove 22 of 24 vms" in viewer_page
    assert "/force" not in viewer_page
    assert "1 warning" in viewer_page and "vm-99" in viewer_page and "no name" in viewer_page

    held_page = web.client.get(f"/syncs/{held_id}").text
    assert f'href="/integrations/{vc(web)}">vc1</a>' in held_page
    assert "Nothing was changed" in held_page and "/force" not in held_page
    web.client.cookies.clear()
    csrf = log_in(web.client, "admin")
    assert f'href="/integrations/{vc(web)}/force"' in web.client.get(f"/syncs/{held_id}").text
    page = web.client.get(f"/integrations/{vc(web)}").text
    assert f'href="/integrations/{vc(web)}/force"' in page
    confirm = web.client.get(f"/integrations/{vc(web)}/force").text
    assert f'href="/syncs/{held_id}"' in confirm and "Yes, start a forced sync" in confirm
    unconfirmed = web.client.post(f"/integrations/{vc(web)}/force", data={"csrf_token": csrf})
    assert unconfirmed.status_code == 303
    assert unconfirmed.headers["location"] == f"/integrations/{vc(web)}/force"
    assert not list_entries(web.db, action="sync.force")

    # The stored integration points at a closed port: the forced run starts, is audited, fails.
    service.update_integration(
        web.db,
        web.client.app.state.runtime.box,
        vc(web),
        service.IntegrationUpdate(url="http://127.0.0.1:9"),  # type: ignore[attr-defined]
    )
    forced = web.client.post(
        f"/integrations/{vc(web)}/force", data={"csrf_token": csrf, "confirm": "yes"}
    )
    assert forced.status_code == 303
    run_id = int(forced.headers["location"].removeprefix("/syncs/"))
    run = get_run(web.db, run_id)
    assert run is not None and run["forced"] and run["trigger"] == "manual"
    entry = list_entries(web.db, action="sync.force")[0]
    assert entry["actor"] == "admin-user" and entry["after"] == {"run_id": run_id, "force": True}
    deadline = time.monotonic() + 30  # let the background run end before the database goes
    while run["status"] == "running" and time.monotonic() < deadline:
        time.sleep(0.05)
        run = get_run(web.db, run_id)
        assert run is not None
    assert run["status"] == "failed" and "127.0.0.1:9" in (run["error"] or "")


def test_run_history_pages_back(web: Web, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("iroa.web.integrations.RUNS_PAGE_SIZE", 2)
    log_in(web.client, "viewer")
    path: str | None = f"/integrations/{vc(web)}"
    seen: list[int] = []
    pages = 0
    while path is not None:
        html = web.client.get(path).text
        shown = [int(n) for n in re.findall(r'<a href="/syncs/(\d+)">#', html)]
        assert 1 <= len(shown) <= 2
        seen += shown
        assert ("Newest runs" in html) == (pages > 0)
        older = re.search(r'rel="next" href="([^"]+)"', html)
        path = older.group(1).replace("&amp;", "&") if older else None
        pages += 1
    assert pages == 2 and seen == sorted(seen, reverse=True) and len(set(seen)) == 3
    huge = web.client.get(f"/integrations/{vc(web)}", params={"before": 2**64})
    assert huge.status_code == 200 and len(re.findall(r'<a href="/syncs/(\d+)">#', huge.text)) == 2


def test_integration_page_query_count_is_pinned(web: Web) -> None:
    log_in(web.client, "admin")
    seen: list[str] = []

    def count(conn: object, cursor: object, statement: str, *args: object) -> None:
        if statement.lstrip().upper().startswith("SELECT") and "api_tokens" not in statement:
            seen.append(statement)

    event.listen(web.db.engine, "before_cursor_execute", count)
    try:
        assert web.client.get(f"/integrations/{vc(web)}").status_code == 200
    finally:
        event.remove(web.db.engine, "before_cursor_execute", count)
    assert len(seen) == 2, "\n\n".join(seen)  # the integration, a page of its runs


def test_testing_from_the_integration_page_comes_back_to_it(web: Web) -> None:
    service.update_integration(
        web.db,
        web.client.app.state.runtime.box,  # type: ignore[attr-defined]
        vc(web),
        service.IntegrationUpdate(url="http://127.0.0.1:9"),
    )
    csrf = log_in(web.client, "operator")
    response = web.client.post(
        f"/integrations/{vc(web)}/test", data={"csrf_token": csrf, "back": "detail"}
    )
    assert response.status_code == 200
    assert "Connection test failed" in response.text and "Run history" in response.text


def test_every_field_of_the_integration_forms_has_a_label(web: Web) -> None:
    log_in(web.client, "admin")
    for path in ("/integrations", f"/integrations/{vc(web)}/edit", "/vms", "/datacenters"):
        html = web.client.get(path).text
        fields = re.findall(r"<(?:input|select)\b(?![^>]*type=\"hidden\")[^>]*>", html)
        assert fields, path
        for field in fields:
            found = re.search(r'\bid="([^"]+)"', field)
            assert found is not None, (path, field)
            assert f'<label for="{found.group(1)}"' in html, (path, field)


def test_a_ca_file_and_insecure_together_are_refused_in_words_of_the_form(web: Web) -> None:
    csrf = log_in(web.client, "admin")
    response = web.client.post(
        f"/integrations/{vc(web)}/edit",
        data={
            "csrf_token": csrf,
            "name": "vc1",
            "url": "https://vc1.example",
            "ca_file": "/etc/ssl/certs/ca-certificates.crt",
            "insecure": "on",
        },
    )
    assert response.status_code == 422
    assert (
        "a CA file and insecure (no certificate verification) exclude each other" in response.text
    )
    assert "--" not in re.sub(
        r"<!--.*?-->", "", response.text.split("<main", 1)[1].split("</main>")[0]
    )


def test_admin_turns_watching_off_and_on_for_a_vcenter_only(web: Web) -> None:
    csrf = log_in(web.client, "admin")
    path = f"/integrations/{vc(web)}/edit"
    form = web.client.get(path).text
    assert re.search(r'<input id="watch" name="watch" type="checkbox" checked>', form)
    page = web.client.get(f"/integrations/{vc(web)}").text
    assert re.search(r"<dt>Watching</dt>\s*<dd>on, no watcher running</dd>", page)
    base = {"csrf_token": csrf, "name": "vc1", "url": "https://vc1.example", "enabled": "on"}
    assert web.client.post(path, data=base).status_code == 303  # the box left unticked
    assert service.get_integration_by_id(web.db, vc(web)).options["watch"] is False
    page = web.client.get(f"/integrations/{vc(web)}").text
    assert re.search(r"<dt>Watching</dt>\s*<dd>off</dd>", page)
    assert 'id="watch"' in web.client.get(path).text
    assert 'id="watch" name="watch" type="checkbox" checked' not in web.client.get(path).text
    assert web.client.post(path, data={**base, "watch": "on"}).status_code == 303
    assert service.is_watched(service.get_integration_by_id(web.db, vc(web)))
    assert web.ids is not None
    assert 'id="watch"' not in web.client.get(f"/integrations/{web.ids.hyperv_id}/edit").text


def test_moving_a_stored_password_asks_for_it_again_and_saves_nothing(web: Web) -> None:
    csrf = log_in(web.client, "admin")
    path = f"/integrations/{vc(web)}/edit"
    base = {"csrf_token": csrf, "name": "vc1", "url": "https://vc1.example", "enabled": "on"}
    assert web.client.post(path, data={**base, "password": "s3cret-pw"}).status_code == 303
    form = web.client.get(path).text
    assert "a new URL, CA file, insecure setting or transport needs it again" in form

    moved = web.client.post(path, data={**base, "url": "https://collector.example", "name": "x"})
    assert moved.status_code == 422
    assert (
        "changing the URL needs the password again: "
        "a stored password is only sent where it was entered for"
    ) in moved.text
    password = re.search(r'<input id="int-password"[^>]*>', moved.text)
    assert password is not None
    assert 'aria-invalid="true"' in password.group(0) and "autofocus" in password.group(0)
    assert 'value="https://collector.example"' in moved.text
    stored = service.get_integration_by_id(web.db, vc(web))
    assert (stored.name, stored.url) == ("vc1", "https://vc1.example")
    insecure = web.client.post(path, data={**base, "insecure": "on"})
    assert insecure.status_code == 422 and "insecure setting needs the password" in insecure.text

    again = {**base, "url": "https://collector.example", "password": "s3cret-pw"}
    assert web.client.post(path, data=again).status_code == 303
    assert service.get_integration_by_id(web.db, vc(web)).url == "https://collector.example"


def test_a_url_with_credentials_is_refused_and_not_shown_back(web: Web) -> None:
    csrf = log_in(web.client, "admin")
    url = "https://reader:url-s3cret-42@vc9.example"
    added = web.client.post(
        "/integrations",
        data={"csrf_token": csrf, "kind": "prometheus", "name": "p", "url": url},
    )
    assert added.status_code == 422
    assert "put credentials in username and password, not in the URL" in added.text
    assert "url-s3cret-42" not in added.text and 'value="https://vc9.example"' in added.text
    edited = web.client.post(
        f"/integrations/{vc(web)}/edit",
        data={"csrf_token": csrf, "name": "vc1", "url": url, "enabled": "on"},
    )
    assert edited.status_code == 422
    assert "put credentials in username and password" in edited.text
    assert "url-s3cret-42" not in edited.text
    assert service.get_integration_by_id(web.db, vc(web)).url == "https://vc1.example"


def test_an_admin_turns_kerberos_delegation_on_for_a_hyperv_over_kerberos(web: Web) -> None:
    assert web.ids is not None
    hv = web.ids.hyperv_id
    csrf = log_in(web.client, "admin")
    form = web.client.get(f"/integrations/{hv}/edit")
    assert 'id="kerberos_delegation"' in form.text
    assert 'id="kerberos_delegation"' not in web.client.get(f"/integrations/{vc(web)}/edit").text
    stored = service.integration_view(web.db, hv)
    data = {"csrf_token": csrf, "name": stored["name"], "url": stored["url"]}
    data |= {"interval_seconds": "0", "kerberos_delegation": "on"}
    refused = web.client.post(f"/integrations/{hv}/edit", data=data | {"transport": "ntlm"})
    assert refused.status_code == 422
    assert "Kerberos delegation is for Hyper-V integrations with the kerberos" in refused.text
    assert service.integration_view(web.db, hv)["kerberos_delegation"] is False
    saved = web.client.post(f"/integrations/{hv}/edit", data=data | {"transport": "kerberos"})
    assert saved.status_code == 303, saved.text
    assert service.integration_view(web.db, hv)["kerberos_delegation"] is True
    assert (
        "checked"
        in web.client.get(f"/integrations/{hv}/edit")
        .text.split('id="kerberos_delegation"', 1)[1]
        .split(">", 1)[0]
    )
