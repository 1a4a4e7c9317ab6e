"""Logging in, tokens, users and the dashboard session over HTTP."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import pytest
from fastapi.testclient import TestClient

from iroa.config import Settings
from tests.api.fixtures import PASSWORD, Api, FrozenClock, start_api


@pytest.fixture
def clocked_api(settings: Settings, frozen_clock: FrozenClock) -> Iterator[Api]:
    yield from start_api(settings, frozen_clock)


def login(api: Api, password: str, username: str = "viewer-user") -> tuple[int, dict[str, str]]:
    response = api.client.post(
        "/api/v1/auth/token", json={"username": username, "password": password}
    )
    return response.status_code, dict(response.headers) | {"body": response.text}


def test_login_is_throttled_after_five_failures(
    clocked_api: Api, frozen_clock: FrozenClock
) -> None:
    api = clocked_api
    for _ in range(5):
        assert login(api, "wrong password")[0] == 401
        frozen_clock.advance(seconds=30)
    status, headers = login(api, PASSWORD)
    assert status == 429
    assert int(headers["retry-after"]) == 300 - 150
    assert "too many failed logins" in headers["body"]
    # Other accounts are not affected.
    assert login(api, PASSWORD, username="admin-user")[0] == 201
    frozen_clock.advance(seconds=149)
    assert login(api, PASSWORD)[0] == 429
    frozen_clock.advance(seconds=1)
    status, headers = login(api, PASSWORD)
    assert status == 201


def test_concurrent_wrong_passwords_cannot_overtake_the_throttle(api: Api) -> None:
    """On SQLite and PostgreSQL: each attempt is counted before its password is checked,
    so of twelve at once, five are checked and the seven past the limit get 429."""
    attempts = 12
    ready = threading.Barrier(attempts)

    def attempt(_: int) -> int:
        ready.wait()
        return login(api, "wrong password")[0]

    with ThreadPoolExecutor(attempts) as pool:
        statuses = sorted(pool.map(attempt, range(attempts)))
    assert statuses == [401] * 5 + [429] * 7


def test_a_stranger_cannot_lock_a_user_out_from_elsewhere(api: Api) -> None:
    """On SQLite and PostgreSQL: failures count per username and client address."""
    stranger = TestClient(api.app, client=("198.51.100.7", 40000))
    user = TestClient(api.app, client=("203.0.113.20", 40000))
    credentials = {"username": "admin-user", "password": PASSWORD}
    wrong = credentials | {"password": "guess"}
    statuses = [stranger.post("/api/v1/auth/token", json=wrong).status_code for _ in range(6)]
    assert statuses == [401] * 5 + [429]
    assert user.post("/api/v1/auth/token", json=credentials).status_code == 201
    assert user.post("/api/v1/auth/session", json=credentials).status_code == 200
    refused = stranger.post("/api/v1/auth/token", json=credentials)
    assert refused.status_code == 429 and "from your address" in refused.json()["detail"]


def test_token_lifecycle(clocked_api: Api, frozen_clock: FrozenClock) -> None:
    api = clocked_api
    response = api.client.post(
        "/api/v1/auth/token",
        json={"username": "operator-user", "password": PASSWORD, "expires_in_s": 3600},
    )
    assert response.status_code == 201
    token = response.json()["token"]
    assert token.startswith("iroa_")
    bearer = {"Authorization": f"Bearer {token}"}
    me = api.client.get("/api/v1/auth/me", headers=bearer).json()
    assert me["username"] == "operator-user" and me["role"] == "operator"

    mine = api.client.get("/api/v1/tokens", headers=bearer).json()["items"]
    assert {t["name"] for t in mine} == {"tests", "login"}
    assert all(token not in str(t) for t in mine)
    login_token = next(t for t in mine if t["name"] == "login")
    assert login_token["last_used_at"] is not None

    # Only admins see everyone's tokens or issue tokens for others.
    assert api.client.get("/api/v1/tokens?all=true", headers=bearer).status_code == 403
    everyone = api.client.get("/api/v1/tokens?all=true", headers=api.headers("admin")).json()
    assert {t["username"] for t in everyone["items"]} >= {"viewer-user", "operator-user"}
    for_viewer = {"name": "x", "user_id": api.user_ids["viewer"]}
    assert api.client.post("/api/v1/tokens", json=for_viewer, headers=bearer).status_code == 403
    response = api.client.post("/api/v1/tokens", json=for_viewer, headers=api.headers("admin"))
    assert response.status_code == 201 and response.json()["username"] == "viewer-user"

    # Someone else's token is invisible; your own can be revoked.
    viewer_token_id = response.json()["id"]
    assert api.client.delete(f"/api/v1/tokens/{viewer_token_id}", headers=bearer).status_code == 404
    assert (
        api.client.delete(f"/api/v1/tokens/{login_token['id']}", headers=bearer).status_code == 204
    )
    assert api.client.get("/api/v1/auth/me", headers=bearer).status_code == 401

    # Expiry follows the (frozen) clock.
    response = api.client.post(
        "/api/v1/tokens",
        json={"name": "short", "expires_at": (frozen_clock.now.replace(hour=10)).isoformat()},
        headers=api.headers("operator"),
    )
    short = {"Authorization": f"Bearer {response.json()['token']}"}
    assert api.client.get("/api/v1/auth/me", headers=short).status_code == 200
    frozen_clock.advance(hours=1)
    assert api.client.get("/api/v1/auth/me", headers=short).status_code == 401
    past = {"name": "past", "expires_at": "2000-01-01T00:00:00Z"}
    response = api.client.post("/api/v1/tokens", json=past, headers=api.headers("operator"))
    assert response.status_code == 422

    actions = [
        e["action"]
        for e in api.client.get("/api/v1/audit", headers=api.headers("admin")).json()["items"]
    ]
    assert actions.count("token.revoke") == 1
    assert actions.count("token.create") >= 3


def test_users_crud(api: Api) -> None:
    admin = api.headers("admin")
    response = api.client.post(
        "/api/v1/users",
        json={"username": "carol", "role": "viewer", "password": "carols passphrase"},
        headers=admin,
    )
    assert response.status_code == 201
    carol = response.json()
    assert "password" not in carol and "password_hash" not in carol
    duplicate = {"username": "carol", "role": "viewer", "password": "carols passphrase"}
    assert api.client.post("/api/v1/users", json=duplicate, headers=admin).status_code == 409
    short = {"username": "dave", "role": "viewer", "password": "Xq7!z"}
    response = api.client.post("/api/v1/users", json=short, headers=admin)
    assert response.status_code == 422 and "password" in response.json()["detail"]
    assert "Xq7!z" not in response.text

    url = f"/api/v1/users/{carol['id']}"
    response = api.client.patch(url, json={"role": "operator"}, headers=admin)
    assert response.json()["role"] == "operator"
    assert login(api, "carols passphrase", "carol")[0] == 201
    api.client.patch(url, json={"password": "a new passphrase"}, headers=admin)
    assert login(api, "carols passphrase", "carol")[0] == 401
    assert login(api, "a new passphrase", "carol")[0] == 201

    me = api.user_ids["admin"]
    response = api.client.patch(f"/api/v1/users/{me}", json={"role": "viewer"}, headers=admin)
    assert response.status_code == 409
    assert api.client.delete(f"/api/v1/users/{me}", headers=admin).status_code == 409
    assert api.client.delete(url, headers=admin).status_code == 204
    assert api.client.get(url, headers=admin).status_code == 404
    names = [u["username"] for u in api.client.get("/api/v1/users", headers=admin).json()["items"]]
    assert "carol" not in names

    audit = api.client.get("/api/v1/audit?target_type=user", headers=admin).json()["items"]
    assert [e["action"] for e in audit][:4] == [
        "user.delete",
        "user.update",
        "user.update",
        "user.create",
    ]
    assert all("carols passphrase" not in str(e) for e in audit)


def test_dashboard_session_needs_the_csrf_token_to_change_things(api: Api) -> None:
    client = api.client
    response = client.post(
        "/api/v1/auth/session", json={"username": "admin-user", "password": PASSWORD}
    )
    assert response.status_code == 200
    csrf = response.json()["csrf_token"]
    assert "httponly" in response.headers["set-cookie"].lower()
    assert client.get("/api/v1/auth/me").json()["via"] == "session"
    body = {"kind": "vcenter", "name": "vc", "url": "https://vc.example.com"}
    response = client.post("/api/v1/integrations", json=body)
    assert response.status_code == 403 and "CSRF" in response.json()["detail"]
    wrong = {"X-CSRF-Token": "0" * 64}
    assert client.post("/api/v1/integrations", json=body, headers=wrong).status_code == 403
    ok = {"X-CSRF-Token": csrf}
    assert client.post("/api/v1/integrations", json=body, headers=ok).status_code == 201
    assert client.delete("/api/v1/auth/session", headers=ok).status_code == 204
    client.cookies.clear()
    assert client.get("/api/v1/auth/me").status_code == 401


@pytest.mark.parametrize("expires_at", ["9999-12-31T23:59:59-14:00", "9999-12-31T12:00:00-12:00"])
def test_an_expiry_past_what_a_timestamp_holds_is_a_clear_422(api: Api, expires_at: str) -> None:
    response = api.client.post(
        "/api/v1/tokens",
        json={"name": "far", "expires_at": expires_at},
        headers=api.headers("viewer"),
    )
    assert response.status_code == 422, response.text
    assert response.json()["detail"].startswith("a token's expiry must be before the year 10000")
    latest = api.client.post(
        "/api/v1/tokens",
        json={"name": "far", "expires_at": "9999-12-31T23:59:59+00:00"},
        headers=api.headers("viewer"),
    )
    assert latest.status_code == 201, latest.text
    past = api.client.post(
        "/api/v1/tokens",
        json={"name": "far", "expires_at": "0001-01-01T00:00:00+14:00"},
        headers=api.headers("viewer"),
    )
    assert past.status_code == 422
    assert past.json()["detail"] == "a token's expiry must be in the future"


def test_a_token_name_with_control_characters_is_a_422(api: Api) -> None:
    for name in ("ci\x1b[2J", "ci\x07", "ci\x9b"):
        response = api.client.post(
            "/api/v1/tokens", json={"name": name}, headers=api.headers("viewer")
        )
        assert response.status_code == 422, name
        assert response.json()["detail"] == (
            "a token name must not contain control characters (tabs, line breaks, escapes …)"
        )
