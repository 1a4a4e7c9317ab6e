"""Integrations over the API: validation, write-only secrets, updates and the audit trail."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from iroa.crypto import SecretBox
from iroa.integrations.models import Integration
from tests.api.fixtures import Api

VCENTER = {
    "kind": "vcenter",
    "name": "vc-lab",
    "url": "https://vcenter.example.com",
    "username": "administrator@vsphere.local",
    "password": "first-secret",
}


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
    response = api.client.patch(url, json={"url": "https://vc2.example.com"}, headers=admin)
    assert response.status_code == 200
    assert response.json()["url"] == "https://vc2.example.com"
    assert response.json()["has_secret"] is True
    assert stored_secret(api, created["id"]) == "first-secret"

    # An update with one replaces it, and still never shows it.
    response = api.client.patch(url, json={"password": "second-secret"}, headers=admin)
    assert response.status_code == 200
    assert "second-secret" not in response.text
    assert stored_secret(api, created["id"]) == "second-secret"

    response = api.client.patch(
        url, json={"insecure": True, "interval_seconds": 600}, headers=admin
    )
    assert response.json()["insecure"] is True
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
