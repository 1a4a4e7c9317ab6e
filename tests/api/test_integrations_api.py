"""Integrations over the API: validation, write-only secrets, updates and the audit trail."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from iroa.crypto import SecretBox
from iroa.integrations import service
from iroa.integrations.models import Integration
from tests.api.fixtures import Api
from tests.peers.certs import generate_certs
from tests.peers.echoing import echoing_server

VCENTER = {
    "kind": "vcenter",
    "name": "vc-lab",
    "url": "https://vcenter.example.com",
    "username": "administrator@vsphere.local",
    "password": "first-secret",
}

EMPTY_CHECK = {"name": None, "product": None, "version": None, "build": None, "object_counts": {}}


def create(api: Api, **overrides: Any) -> dict[str, Any]:
    response = api.client.post(
        "/api/v1/integrations", json={**VCENTER, **overrides}, headers=api.headers("admin")
    )
    assert response.status_code == 201, response.text
    return response.json()


def stored_secret(api: Api, integration_id: int) -> str:
    with api.db.session() as session:
        encrypted = session.scalar(
            select(Integration.secret_encrypted).where(Integration.id == integration_id)
        )
    assert encrypted is not None
    box: SecretBox = api.app.state.runtime.box
    return box.decrypt(encrypted)


def test_create_read_update_delete(api: Api) -> None:
    created = create(api)
    assert created["has_secret"] is True
    assert "password" not in created and "secret_encrypted" not in created
    admin = api.headers("admin")
    url = f"/api/v1/integrations/{created['id']}"

    listed = api.client.get("/api/v1/integrations", headers=api.headers("viewer")).json()
    assert [i["name"] for i in listed["items"]] == ["vc-lab"]
    assert api.client.get(url, headers=api.headers("viewer")).json() == listed["items"][0]

    # An update without a password keeps the stored one.
    response = api.client.patch(url, json={"username": "reader"}, headers=admin)
    assert response.status_code == 200
    assert response.json()["username"] == "reader"
    assert response.json()["has_secret"] is True
    assert stored_secret(api, created["id"]) == "first-secret"

    # An update with one replaces it, and still never shows it.
    response = api.client.patch(url, json={"password": "second-secret"}, headers=admin)
    assert response.status_code == 200
    assert "second-secret" not in response.text
    assert stored_secret(api, created["id"]) == "second-secret"

    response = api.client.patch(url, json={"interval_seconds": 600}, headers=admin)
    assert response.json()["interval_seconds"] == 600
    assert stored_secret(api, created["id"]) == "second-secret"

    assert api.client.delete(url, headers=admin).status_code == 204
    assert api.client.get(url, headers=admin).status_code == 404
    assert api.client.delete(url, headers=admin).status_code == 404


def test_integration_without_secret(api: Api) -> None:
    created = create(api, password=None, username=None)
    assert created["has_secret"] is False


BAD_INPUT: list[tuple[dict[str, Any], str]] = [
    ({"url": "ftp://vcenter.example.com"}, "invalid URL"),
    ({"url": "not a url"}, "invalid URL"),
    ({"url": "https://vc.example.com:99999"}, "bad port"),
    ({"url": "http://[::1"}, "invalid URL"),
    ({"kind": "mainframe"}, "kind"),
    ({"kind": "zabbix", "monitoring": {"join": "ip"}}, "zabbix integrations do not take join"),
    ({"kind": "prometheus", "monitoring": {"queries": {"load": "x"}}}, "queries"),
    ({"token": True}, "token authentication is for prometheus and zabbix"),
    ({"monitoring": {"match": ["ip"]}}, "take no monitoring settings"),
    ({"interval_seconds": 5}, "interval"),
    ({"interval_seconds": 10**9}, "interval_seconds"),
    ({"name": ""}, "name"),
    ({"name": "two\nlines"}, "one line"),
    ({"transport": "telnet"}, "transport"),
    ({"insecure": True, "ca_file": "/nonexistent.pem"}, "exclude each other"),
    ({"ca_file": "/nonexistent/ca.pem"}, "cannot use CA file"),
    ({"surprise": 1}, "surprise"),
]


def test_bad_input_is_a_clear_422(api: Api) -> None:
    wrong = []
    for overrides, fragment in BAD_INPUT:
        response = api.client.post(
            "/api/v1/integrations", json={**VCENTER, **overrides}, headers=api.headers("admin")
        )
        detail = response.json()["detail"]
        if response.status_code != 422 or not isinstance(detail, str) or fragment not in detail:
            wrong.append(f"{overrides}: {response.status_code} {detail!r}")
        assert "first-secret" not in response.text
    assert wrong == []
    assert api.client.get("/api/v1/integrations", headers=api.headers("admin")).json() == {
        "items": []
    }


def test_duplicate_names_and_bad_updates(api: Api) -> None:
    first = create(api)
    create(api, name="vc-other")
    admin = api.headers("admin")
    response = api.client.post("/api/v1/integrations", json=VCENTER, headers=admin)
    assert response.status_code == 422
    assert "already exists" in response.json()["detail"]
    url = f"/api/v1/integrations/{first['id']}"
    response = api.client.patch(url, json={"name": "vc-other"}, headers=admin)
    assert response.status_code == 422
    assert "already exists" in response.json()["detail"]
    response = api.client.patch(url, json={"url": "gopher://x"}, headers=admin)
    assert response.status_code == 422
    assert api.client.get(url, headers=admin).json()["url"] == VCENTER["url"]
    assert api.client.get("/api/v1/integrations/abc", headers=admin).status_code == 422


def test_changes_are_audited_with_secrets_masked(api: Api) -> None:
    created = create(api)
    admin = api.headers("admin")
    url = f"/api/v1/integrations/{created['id']}"
    api.client.patch(url, json={"password": "second-secret", "enabled": False}, headers=admin)
    api.client.delete(url, headers=admin)

    entries = api.client.get(
        "/api/v1/audit", params={"target_type": "integration"}, headers=admin
    ).json()["items"]
    assert [e["action"] for e in entries] == [
        "integration.delete",
        "integration.update",
        "integration.create",
    ]
    assert all(e["actor"] == "admin-user" for e in entries)
    assert all(e["target_name"] == "vc-lab" for e in entries)
    update = entries[1]
    assert update["before"]["enabled"] is True
    assert update["after"]["enabled"] is False
    assert update["after"]["password"] == "***"
    # The log outlives the integration it names.
    assert entries[0]["target_id"] == created["id"]


def test_audit_is_read_only_and_for_admins(api: Api) -> None:
    create(api)
    assert api.client.get("/api/v1/audit", headers=api.headers("operator")).status_code == 403
    for method in ("POST", "PUT", "PATCH", "DELETE"):
        response = api.client.request(method, "/api/v1/audit", headers=api.headers("admin"))
        assert response.status_code == 405
        response = api.client.request(method, "/api/v1/audit/1", headers=api.headers("admin"))
        assert response.status_code in (404, 405)


def test_connection_test_reports_a_clear_error(api: Api) -> None:
    created = create(api, url="http://127.0.0.1:9")
    response = api.client.post(
        f"/api/v1/integrations/{created['id']}/test", headers=api.headers("operator")
    )
    assert response.status_code == 200
    body = response.json()
    assert body["ok"] is False
    assert body["error"]
    assert "first-secret" not in response.text


def test_values_no_database_can_store_are_422(api: Api) -> None:
    admin = api.headers("admin")
    for body in (VCENTER | {"name": "nul\x00name"}, VCENTER | {"username": "a\x00"}):
        response = api.client.post("/api/v1/integrations", json=body, headers=admin)
        assert response.status_code == 422
        assert "NUL" in response.json()["detail"]
    lone_surrogate = '{"kind": "vcenter", "name": "x\\ud800", "url": "https://vc.example.com"}'
    response = api.client.post(
        "/api/v1/integrations",
        content=lone_surrogate,
        headers=admin | {"Content-Type": "application/json"},
    )
    assert response.status_code == 422
    login = {"username": "ada\x00", "password": "whatever"}
    assert api.client.post("/api/v1/auth/token", json=login).status_code == 422
    for path in ("/api/v1/integrations/", "/api/v1/users/", "/api/v1/syncs/"):
        response = api.client.get(path + str(2**70), headers=admin)
        assert response.status_code == 422, path


def test_watching_is_on_for_vcenter_can_be_turned_off_and_shows_its_state(api: Api) -> None:
    created = create(api)
    assert created["watch"] is True
    assert created["watch_state"] == "off"  # nothing watches it in this test
    assert created["interval_seconds"] == 86400  # the daily full sync under the watcher
    assert create(api, name="vc-off", interval_seconds=0)["interval_seconds"] is None
    url = f"/api/v1/integrations/{created['id']}"
    response = api.client.patch(url, json={"watch": False}, headers=api.headers("admin"))
    assert response.status_code == 200 and response.json()["watch"] is False
    quiet = create(api, name="vc-quiet", watch=False)
    assert quiet["watch"] is False and quiet["interval_seconds"] is None


def test_a_kind_without_a_change_feed_cannot_be_watched(api: Api) -> None:
    body = {"kind": "prometheus", "name": "prom", "url": "http://prometheus:9090", "watch": True}
    response = api.client.post("/api/v1/integrations", json=body, headers=api.headers("admin"))
    assert response.status_code == 422
    assert response.json()["detail"] == "prometheus integrations have no change feed to watch"
    del body["watch"]
    created = api.client.post("/api/v1/integrations", json=body, headers=api.headers("admin"))
    assert created.status_code == 201 and created.json()["watch"] is False


CA_BUNDLE = "/etc/ssl/certs/ca-certificates.crt"
MOVES: list[dict[str, Any]] = [
    {"url": "https://collector.attacker.example"},
    {"url": "http://vcenter.example.com"},
    {"url": "https://vcenter.example.com:8443"},
    {"url": "https://vcenter.example.com/elsewhere"},
    {"insecure": True},
    {"ca_file": CA_BUNDLE},
]
"""Changes that would send the stored password somewhere it was not entered for."""


def test_a_stored_secret_goes_only_where_it_was_entered_for(api: Api) -> None:
    created = create(api)
    admin = api.headers("admin")
    url = f"/api/v1/integrations/{created['id']}"
    for change in MOVES:
        response = api.client.patch(url, json=change, headers=admin)
        assert response.status_code == 422, (change, response.text)
        detail = response.json()["detail"]
        assert "needs the password again" in detail and "\n" not in detail, detail
    response = api.client.patch(
        url, json={"url": "https://x.example", "insecure": True}, headers=admin
    )
    assert response.json()["detail"] == (
        "changing the URL and the insecure setting needs the password again: "
        "a stored password is only sent where it was entered for"
    )
    assert api.client.get(url, headers=admin).json()["url"] == VCENTER["url"]
    updates = api.client.get(
        "/api/v1/audit", params={"action": "integration.update"}, headers=admin
    ).json()["items"]
    assert updates == []

    # Spelling the same place differently moves nothing; other fields never do.
    same = {"url": "https://VCENTER.example.com/", "name": "vc-renamed", "username": "reader"}
    assert api.client.patch(url, json=same, headers=admin).status_code == 200
    # With the password given again, it may go anywhere.
    moved = {"url": "https://vc2.example.com:8443", "ca_file": CA_BUNDLE, "password": "again"}
    response = api.client.patch(url, json=moved, headers=admin)
    assert response.status_code == 200, response.text
    assert response.json()["url"] == "https://vc2.example.com:8443"
    assert stored_secret(api, created["id"]) == "again"


def test_a_token_and_a_winrm_transport_are_held_to_the_same_rule(api: Api) -> None:
    admin = api.headers("admin")
    prometheus = create(
        api, kind="prometheus", name="prom", url="https://prom.example.com", token=True
    )
    response = api.client.patch(
        f"/api/v1/integrations/{prometheus['id']}",
        json={"url": "https://prom.example.com/other"},
        headers=admin,
    )
    assert response.status_code == 422
    assert "changing the URL needs the token again" in response.json()["detail"]

    hyperv = create(api, kind="hyperv", name="hv", url="https://hv.example.com")
    hv_url = f"/api/v1/integrations/{hyperv['id']}"
    response = api.client.patch(hv_url, json={"transport": "basic"}, headers=admin)
    assert response.status_code == 422
    assert "changing the WinRM transport needs the password again" in response.json()["detail"]
    # ntlm is what an integration without a transport uses already.
    assert api.client.patch(hv_url, json={"transport": "ntlm"}, headers=admin).status_code == 200


def test_an_integration_without_a_secret_moves_freely(api: Api) -> None:
    created = create(api, password=None)
    response = api.client.patch(
        f"/api/v1/integrations/{created['id']}",
        json={"url": "https://vc2.example.com", "insecure": True},
        headers=api.headers("admin"),
    )
    assert response.status_code == 200, response.text


URL_SECRET = "url-s3cret-42"


def test_credentials_in_a_url_are_refused_for_every_kind_and_never_repeated(api: Api) -> None:
    admin = api.headers("admin")
    for kind in ("vcenter", "hyperv", "prometheus", "zabbix"):
        for url in (
            f"https://reader:{URL_SECRET}@{kind}.example.com",
            f"https://{URL_SECRET}@{kind}.example.com",
        ):
            body = {**VCENTER, "kind": kind, "name": kind, "url": url}
            response = api.client.post("/api/v1/integrations", json=body, headers=admin)
            assert response.status_code == 422, (kind, response.text)
            assert response.json()["detail"] == (
                "invalid URL: put credentials in username and password, not in the URL"
            )
    for url in (f"ftp://reader:{URL_SECRET}@x.example", f"https://r:{URL_SECRET}@x:99999"):
        response = api.client.post(
            "/api/v1/integrations", json={**VCENTER, "url": url}, headers=admin
        )
        assert response.status_code == 422 and "invalid URL" in response.text
        assert URL_SECRET not in response.text
    created = create(api)
    response = api.client.patch(
        f"/api/v1/integrations/{created['id']}",
        json={"url": f"https://reader:{URL_SECRET}@vcenter.example.com", "password": "x"},
        headers=admin,
    )
    assert response.status_code == 422 and URL_SECRET not in response.text


def test_a_url_stored_with_credentials_is_never_shown_with_them(api: Api) -> None:
    """Rows stored before such URLs were refused: reads, audit entries and the fix omit them."""
    created = create(api)
    with api.db.write_session() as session:
        row = session.get_one(Integration, created["id"])
        row.url = f"https://reader:{URL_SECRET}@vcenter.example.com"
    admin = api.headers("admin")
    url = f"/api/v1/integrations/{created['id']}"
    assert api.client.get(url, headers=admin).json()["url"] == VCENTER["url"]
    assert URL_SECRET not in api.client.get("/api/v1/integrations", headers=admin).text
    refused = api.client.patch(url, json={"interval_seconds": 600}, headers=admin)
    assert refused.status_code == 422 and URL_SECRET not in refused.text
    # The host stays the same: dropping the credentials needs no password.
    fixed = api.client.patch(url, json={"url": VCENTER["url"]}, headers=admin)
    assert fixed.status_code == 200, fixed.text
    audit = api.client.get("/api/v1/audit", headers=admin).text
    assert "integration.update" in audit and URL_SECRET not in audit


def test_a_connection_test_never_returns_the_secret_the_server_repeats(api: Api) -> None:
    with echoing_server() as server:
        for kind in ("prometheus", "zabbix"):
            created = create(api, kind=kind, name=kind, url=server, password=URL_SECRET)
            response = api.client.post(
                f"/api/v1/integrations/{created['id']}/test", headers=api.headers("operator")
            )
            assert response.json()["ok"] is False
            assert "***" in response.json()["error"], response.text
            assert URL_SECRET not in response.text


@pytest.mark.parametrize("kind", ["vcenter", "hyperv", "prometheus", "zabbix"])
def test_a_ca_file_gone_since_it_was_added_is_a_clear_error_of_the_connection_test(
    api: Api, tmp_path: Path, kind: str
) -> None:
    ca_file = generate_certs(tmp_path / "certs").ca
    created = create(
        api, kind=kind, name=f"{kind}-1", url="https://127.0.0.1:9", ca_file=str(ca_file)
    )
    ca_file.unlink()
    response = api.client.post(
        f"/api/v1/integrations/{created['id']}/test", headers=api.headers("operator")
    )
    assert response.status_code == 200, response.text
    assert response.json() | {"error": None} == {"ok": False, "error": None, **EMPTY_CHECK}
    assert response.json()["error"] == f"cannot load CA file {ca_file}: No such file or directory"


def test_control_characters_in_names_and_text_fields_are_422(api: Api) -> None:
    admin = api.headers("admin")
    for field, what in (("name", "the name"), ("username", "the username"), ("url", "the URL")):
        for text in ("\x1b[2J", "\x07", "\x7f", "\x9b"):
            value = f"https://vc.example.com/{text}" if field == "url" else f"vc{text}"
            body = VCENTER | {field: value}
            response = api.client.post("/api/v1/integrations", json=body, headers=admin)
            assert response.status_code == 422, (field, text)
            assert response.json()["detail"] == (
                f"{what} must not contain control characters (tabs, line breaks, escapes …)"
            )
    assert api.client.get("/api/v1/integrations", headers=admin).json()["items"] == []
    created = create(api)
    response = api.client.patch(
        f"/api/v1/integrations/{created['id']}", json={"name": "vc\x1b"}, headers=admin
    )
    assert response.status_code == 422
    assert api.client.get(f"/api/v1/integrations/{created['id']}", headers=admin).json() == created


def test_kerberos_delegation_is_off_unless_asked_for_and_only_over_kerberos(api: Api) -> None:
    admin = api.headers("admin")
    hyperv = {"kind": "hyperv", "url": "https://hv01.corp.example.com", "transport": "kerberos"}
    plain = create(api, **hyperv, name="hv-plain")
    assert plain["kerberos_delegation"] is False
    cluster = create(api, **hyperv, name="hv-cluster", kerberos_delegation=True)
    assert cluster["kerberos_delegation"] is True
    box: SecretBox = api.app.state.runtime.box
    for created, delegates in ((plain, False), (cluster, True)):
        integration = service.get_integration_by_id(api.db, created["id"])
        assert service.connection_options(integration, box).kerberos_delegation is delegates

    for body in (
        hyperv | {"name": "hv-ntlm", "transport": "ntlm", "kerberos_delegation": True},
        VCENTER | {"name": "vc-2", "kerberos_delegation": True},
    ):
        response = api.client.post("/api/v1/integrations", json=body, headers=admin)
        assert response.status_code == 422, response.text
        assert response.json()["detail"] == (
            "Kerberos delegation is for Hyper-V integrations with the kerberos transport"
        )
    path = f"/api/v1/integrations/{cluster['id']}"
    off = api.client.patch(path, json={"kerberos_delegation": False}, headers=admin)
    assert off.status_code == 200 and off.json()["kerberos_delegation"] is False
    on = api.client.patch(path, json={"kerberos_delegation": True}, headers=admin)
    assert on.json()["kerberos_delegation"] is True
    moved = api.client.patch(path, json={"transport": "ntlm", "password": "p"}, headers=admin)
    assert moved.status_code == 200 and moved.json()["kerberos_delegation"] is False
